"""What Tandem posts into partner spaces: the intro card, welcome, goodbye and closing notes. Pure.

A `SpaceMessage` is plain data; bot/spaces.py turns it into a Discord message (an embed, with the
partners mentioned in the content so that they are notified; user-written text is never a ping).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.space_plan import intro_marker
from bot.timezones import local_time_text
from bot.topics.library import TopicText
from bot.validation import country_name

FIELD_LIMIT = 1024
DESCRIPTION_LIMIT = 4096
REPLY_WITHIN = "a week"


@dataclass(frozen=True)
class Partner:
    member_id: int
    name: str
    country: str
    timezone: str


@dataclass(frozen=True)
class SpaceMessage:
    content: str
    title: str = ""
    description: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    footer: str = ""
    mention_ids: tuple[int, ...] = ()  # the only members this message may notify
    marker: str = ""  # how a resumed launch recognises the message

    @property
    def total_length(self) -> int:
        return (
            len(self.title)
            + len(self.description)
            + len(self.footer)
            + sum(len(a) + len(b) for a, b in self.fields)
        )


@dataclass(frozen=True)
class IntroDetails:
    match_id: int
    round_name: str
    partners: Sequence[Partner]
    reasons: Sequence[str]
    first_topic: TopicText | None
    coordinators_can_see: bool = False
    newcomer: Partner | None = None  # set when someone joins an existing match
    extra: Sequence[str] = field(default_factory=tuple)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def mentions(ids: Sequence[int]) -> str:
    return " ".join(f"<@{i}>" for i in ids)


def partner_line(partner: Partner, now: datetime) -> str:
    return f"{country_name(partner.country)} · {local_time_text(partner.timezone, now)} ({partner.timezone})"


def privacy_line(coordinators_can_see: bool) -> str:
    if coordinators_can_see:
        return (
            "This space is private to you and the programme's coordinators, who may read it "
            "(the programme is set up that way)."
        )
    return (
        "This space is private: only you can read it. Coordinators see whether a space is active, "
        "never what you write."
    )


def intro_card(details: IntroDetails, now: datetime) -> SpaceMessage:
    """The card that opens a space: who, where and what time it is there, why, and what to do first."""
    partners = list(details.partners)
    ids = tuple(p.member_id for p in partners)
    names = [p.name for p in partners]
    if details.newcomer is not None:
        title = f"{details.newcomer.name} joins this space"
        content = f"{mentions(ids)} please welcome your new partner!"
    else:
        title = "Meet your partner" if len(partners) == 2 else "Meet your partners"
        content = f"{mentions(ids)} welcome to your partner space!"
    description = (
        f"Welcome to **{details.round_name}**, {_join(names)}. {privacy_line(details.coordinators_can_see)}"
    )
    fields: list[tuple[str, str]] = [
        (clip(p.name, 256), clip(partner_line(p, now), FIELD_LIMIT)) for p in partners
    ]
    if details.reasons:
        reasons = "\n".join(f"• {reason}" for reason in details.reasons)
        fields.append(("Why you were matched", clip(reasons, FIELD_LIMIT)))
    fields.append(
        (
            "First steps",
            "1. Say hello and tell each other a little about your work.\n"
            "2. Agree how you will meet (here, by video call, by email) and how often.\n"
            f"3. Please answer each other within {REPLY_WITHIN}: a short reply keeps the conversation going.",
        )
    )
    if details.first_topic is not None:
        topic = details.first_topic
        fields.append((clip(f"First topic: {topic.title}", 256), clip(topic.body, FIELD_LIMIT)))
    for line in details.extra:
        fields.append(("Note", clip(line, FIELD_LIMIT)))
    return SpaceMessage(
        content=content,
        title=clip(title, 256),
        description=clip(description, DESCRIPTION_LIMIT),
        fields=tuple(fields[:25]),
        footer=intro_marker(details.match_id),
        mention_ids=ids,
        marker=intro_marker(details.match_id),
    )


def partner_left_note(leaver: str, remaining: Sequence[Partner]) -> SpaceMessage:
    ids = tuple(p.member_id for p in remaining)
    alone = len(remaining) == 1
    text = f"{leaver} has left the programme. Thank you for the conversations you had together. " + (
        "The coordinators know, and will find you a new partner soon; this space stays open meanwhile."
        if alone
        else "The coordinators know; your space carries on with the two of you."
    )
    return SpaceMessage(content=f"{mentions(ids)} {text}", mention_ids=ids)


def moved_out_note(mover: str, remaining: Sequence[Partner]) -> SpaceMessage:
    ids = tuple(p.member_id for p in remaining)
    text = f"{mover} has moved to another partner space, at the coordinators' suggestion."
    if len(remaining) == 1:
        text += " The coordinators will find you a new partner soon."
    return SpaceMessage(content=f"{mentions(ids)} {text}".strip(), mention_ids=ids)


def closing_note(round_name: str, partners: Sequence[Partner], deleted_after: str | None) -> SpaceMessage:
    ids = tuple(p.member_id for p in partners)
    keep = (
        f"This space is now read-only, and will be deleted in {deleted_after}: "
        "copy anything you want to keep."
        if deleted_after
        else "This space is now read-only; you can still read it."
    )
    text = (
        f"**{round_name}** has ended. Thank you for taking part, and for what you shared with each "
        f"other. {keep} We hope you stay in touch."
    )
    return SpaceMessage(content=f"{mentions(ids)} {text}".strip(), mention_ids=ids, marker="Tandem · closing")


def _join(names: Sequence[str]) -> str:
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
