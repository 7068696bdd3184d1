"""Where a round's spaces go and what they are called. Pure: no Discord, no database.

Discord allows 500 channels per guild (categories included) and 50 channels per category, and
1,000 active threads per guild. A round gets private text channels in categories of its own when
they fit in what the guild has left (with some headroom for the server's own channels) and the
round is not large (`AUTO_CHANNEL_LIMIT` spaces), and private threads in one parent channel
otherwise, or when the coordinator asks for threads.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from bot.errors import UserFacingError

GUILD_CHANNEL_LIMIT = 500
CATEGORY_LIMIT = 50
ACTIVE_THREAD_LIMIT = 1000
CHANNEL_HEADROOM = 10  # channels left free for the server after a launch in channels
# Beyond this many spaces "auto" picks threads even when channels would fit: a channel list of
# hundreds is hard to use, and an ended round's read-only channels would leave no room for the next.
AUTO_CHANNEL_LIMIT = 200
NAME_LIMIT = 100

CHANNEL = "channel"
THREAD = "thread"
AUTO = "auto"
SPACE_KINDS = (AUTO, CHANNEL, THREAD)


@dataclass(frozen=True)
class SpacePlan:
    kind: str  # channel or thread
    spaces: int
    categories: int  # categories to create (channels); 0 for threads
    reason: str  # in words, for the coordinator

    @property
    def description(self) -> str:
        if self.kind == CHANNEL:
            cats = f"{self.categories} categor{'y' if self.categories == 1 else 'ies'}"
            return f"{self.spaces} private channel{'s' if self.spaces != 1 else ''} in {cats}"
        return f"{self.spaces} private thread{'s' if self.spaces != 1 else ''} in one channel"


def categories_needed(spaces: int, limit: int = CATEGORY_LIMIT) -> int:
    return math.ceil(spaces / limit) if spaces > 0 else 0


def category_index(position: int, limit: int = CATEGORY_LIMIT) -> int:
    """The category (0-based) of the space at `position` in the round's launch order."""
    return position // limit


def channels_fit(spaces: int, channels_in_guild: int, headroom: int = CHANNEL_HEADROOM) -> bool:
    needed = spaces + categories_needed(spaces)
    return channels_in_guild + needed + headroom <= GUILD_CHANNEL_LIMIT


def plan_spaces(requested: str, spaces: int, channels_in_guild: int, active_threads: int) -> SpacePlan:
    """Choose channels or threads; raise UserFacingError when the round fits in neither."""
    if requested not in SPACE_KINDS:
        raise ValueError(f"unknown space kind {requested!r}")
    left = GUILD_CHANNEL_LIMIT - channels_in_guild
    fits = channels_fit(spaces, channels_in_guild)
    if requested == CHANNEL and not fits:
        raise UserFacingError(
            f"{spaces} channels (plus {categories_needed(spaces)} categories) do not fit: the server has "
            f"room for {left} more channels (Discord allows {GUILD_CHANNEL_LIMIT}, and Tandem keeps "
            f"{CHANNEL_HEADROOM} free). Launch with threads instead."
        )
    if requested == CHANNEL or (requested == AUTO and fits and spaces <= AUTO_CHANNEL_LIMIT):
        reason = "you asked for channels" if requested == CHANNEL else "they fit in the server's channels"
        return SpacePlan(CHANNEL, spaces, categories_needed(spaces), reason)
    if active_threads + spaces > ACTIVE_THREAD_LIMIT:
        raise UserFacingError(
            f"{spaces} threads do not fit: the server already has {active_threads} active threads, and "
            f"Discord allows {ACTIVE_THREAD_LIMIT}. Archive some threads first."
        )
    if requested == THREAD:
        reason = "you asked for threads"
    elif fits:
        reason = (
            f"{spaces} channels would crowd the server (Tandem uses channels for up to "
            f"{AUTO_CHANNEL_LIMIT} spaces, so the next round fits too)"
        )
    else:
        reason = f"{spaces} channels would not fit in the {left} channels the server has left"
    return SpacePlan(THREAD, spaces, 0, reason)


def category_name(round_name: str, index: int, count: int) -> str:
    base = f"{round_name} · spaces"
    suffix = f" {index + 1}" if count > 1 else ""
    return base[: NAME_LIMIT - len(suffix)] + suffix


def parent_channel_name(round_name: str) -> str:
    return f"{name_part(round_name, NAME_LIMIT - 7)}-spaces"


def name_part(text: str, limit: int = NAME_LIMIT) -> str:
    """A display name as Discord channel names allow it: ASCII, lowercase, words joined by dashes."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    part = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")
    return part[:limit].strip("-")


def space_name(names: Sequence[str], limit: int = NAME_LIMIT) -> str:
    """`ana-kenji` from the partners' display names (in the order given), at most `limit` chars."""
    parts = [name_part(n) or "partner" for n in names]
    room = limit - (len(parts) - 1)
    share = max(room // max(len(parts), 1), 1)
    return "-".join(p[:share].strip("-") or "partner" for p in parts)[:limit]


def space_names(groups: Sequence[Sequence[str]]) -> list[str]:
    """One unique name per group of display names: repeats get `-2`, `-3`, ..."""
    seen: set[str] = set()
    names = []
    for group in groups:
        base = space_name(sorted(group, key=lambda n: name_part(n) or "partner"))
        name, number = base, 1
        while name in seen:
            number += 1
            suffix = f"-{number}"
            name = base[: NAME_LIMIT - len(suffix)] + suffix
        seen.add(name)
        names.append(name)
    return names


def space_marker(match_id: int) -> str:
    """Written into a channel's topic, so that a resumed launch recognises a space it made."""
    return f"Tandem partner space · match {match_id}"


def intro_marker(match_id: int) -> str:
    return f"Tandem · match {match_id} · introduction"


def parent_marker(round_id: int) -> str:
    return f"Tandem partner spaces · round {round_id}. Each pair has a private thread here."
