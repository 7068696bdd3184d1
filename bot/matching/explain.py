"""Reasons in plain words: why a match was made (shown in the preview and in the intro message in
the partners' space, so it must read well for every member of a pair or trio) and why someone was
left out (specific enough to act on)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.matching.hours import format_hours, minutes
from bot.matching.model import Applicant
from bot.matching.scoring import ScoringContext, score_pair
from bot.validation import country_in_sentence, language_name

__all__ = ["PartnerOptions", "join_words", "match_reasons", "unmatched_reason"]

MAX_NAMED_INTERESTS = 3

_SECTOR_PHRASES = {
    "academic": "academic libraries",
    "public": "public libraries",
    "school": "school libraries",
    "special": "special libraries",
    "government": "government libraries",
}
_STAGE_PHRASES = {"student": "students", "early": "early-career", "mid": "mid-career", "senior": "senior"}


def join_words(words: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _sector_phrase(sector: str) -> str:
    return _SECTOR_PHRASES.get(sector, f"the {sector} sector")


def _stage_phrase(stage: str) -> str:
    return _STAGE_PHRASES.get(stage, f"at the {stage} career stage")


def _interest_list(interests: Sequence[str], ctx: ScoringContext) -> str:
    named = list(interests[:MAX_NAMED_INTERESTS])
    if named and ctx.rare_interest(named[0]):
        named[0] = f"{named[0]} (rare in this round)"
    extra = len(interests) - len(named)
    if extra:
        named.append(f"{extra} more interest{'s' if extra > 1 else ''}")
    return join_words(named)


def match_reasons(members: Sequence[Applicant], ctx: ScoringContext, pinned: bool = False) -> tuple[str, ...]:
    """Reasons for a pair or a trio, written to all of its members ("you both..." / "you all...")."""
    members = list(members)
    both = "both" if len(members) == 2 else "all"
    reasons = []
    if pinned:
        reasons.append("chosen for you by a coordinator")

    # shared interests
    pair_scores = {
        (a.member_id, b.member_id): score_pair(a, b, ctx)
        for i, a in enumerate(members)
        for b in members[i + 1 :]
    }
    common = set.intersection(*(set(p.interests) for p in members))
    common_sorted = sorted(common, key=lambda t: (-ctx.interest_value(t), t))
    if common_sorted:
        reasons.append(f"you {both} work on {_interest_list(common_sorted, ctx)}")
    if len(members) > 2:
        for a_index, a in enumerate(members):
            for b in members[a_index + 1 :]:
                pair_shared = pair_scores[(a.member_id, b.member_id)].shared_interests
                shared = [t for t in pair_shared if t not in common]
                if shared:
                    names = f"{a.name} and {b.name}"
                    reasons.append(f"{names} both work on {_interest_list(shared, ctx)}")
    if not any(score.shared_interests for score in pair_scores.values()):
        reasons.append("you have no listed interest in common, so your goals are a good place to start")

    # career stage
    stages = {p.career_stage for p in members}
    wants_stage = any(p.match_preference == "career_stage" for p in members)
    if len(stages) == 1:
        reasons.append(f"you are {both} {_stage_phrase(members[0].career_stage)}")
    elif (
        wants_stage
        and len(stages) == 2
        and all(ctx.stage_closeness(a.career_stage, b.career_stage) >= 1 for a in members for b in members)
    ):
        ordered = [s for s in ctx.career_stages if s in stages] or sorted(stages)
        phrases = join_words([_stage_phrase(s) for s in ordered])
        reasons.append(f"you are at neighbouring career stages ({phrases})")

    # sector
    sectors = {p.sector for p in members}
    if ctx.weights.sector_mode == "similar":
        if len(sectors) == 1 and members[0].sector != "other":
            reasons.append(f"you {both} work in {_sector_phrase(members[0].sector)}")
    elif len(sectors) == len(members):
        ordered = sorted(sectors)
        phrases = join_words([_sector_phrase(s) for s in ordered])
        reasons.append(f"you bring different sectors together ({phrases})")

    # waking hours
    hours = ctx.common_hours(p.timezone for p in members)
    if minutes(hours):
        reasons.append(f"your waking hours overlap {format_hours(hours)}")
    else:
        every = "your" if len(members) == 2 else "all three of your"
        reasons.append(f"{every} waking hours do not overlap, so you will mostly write rather than call")

    # languages
    languages = set.intersection(*(set(p.languages) for p in members))
    names = sorted(language_name(code) for code in languages)
    if names:
        reasons.append(f"you {both} speak {join_words(names)}")
    return tuple(reasons)


@dataclass(frozen=True, slots=True)
class PartnerOptions:
    """Who, among the rest of the round, could or could not have been this person's partner."""

    others: int
    """Everyone else in the round."""
    abroad: int
    """... of whom live in another country."""
    share_language: int
    """... and also share a language."""
    history: int
    """... but were a partner in an earlier round."""
    do_not_match: int
    forbidden: int
    pinned_elsewhere: tuple[str, ...]
    """Names of those who are pinned by a coordinator to someone else."""
    available: int
    """Allowed partners who were free to be matched."""


def _people(count: int) -> str:
    return "1 person" if count == 1 else f"{count} people"


def unmatched_reason(person: Applicant, options: PartnerOptions) -> str:
    """Why this person has no match, addressed to them."""
    country = country_in_sentence(person.country)
    languages = join_words(sorted(language_name(code) for code in person.languages))
    if options.others == 0:
        return "you are the only participant in this round"
    if options.abroad == 0:
        return f"everyone else in this round also lives in {country}"
    if options.share_language == 0:
        return f"no one outside {country} shares a language with you ({languages})"
    if options.available == 0:
        who = (
            f"the only person outside {country} who shares a language with you ({languages})"
            if options.share_language == 1
            else f"everyone outside {country} who shares a language with you ({languages})"
        )
        # (count, how one of them was ruled out, how several were)
        causes: list[tuple[int, str, str]] = []
        if options.history:
            causes.append(
                (
                    options.history,
                    "was your partner in an earlier round",
                    "were your partners in an earlier round",
                )
            )
        if options.do_not_match:
            causes.append(
                (
                    options.do_not_match,
                    "is on a do-not-match list with you",
                    "are on a do-not-match list with you",
                )
            )
        if options.forbidden:
            causes.append(
                (
                    options.forbidden,
                    "was kept apart from you by a coordinator",
                    "were kept apart from you by a coordinator",
                )
            )
        if options.pinned_elsewhere:
            names = join_words(options.pinned_elsewhere)
            causes.append(
                (
                    len(options.pinned_elsewhere),
                    f"is pinned by a coordinator to someone else ({names})",
                    f"are pinned by a coordinator to others ({names})",
                )
            )
        if not causes:  # pragma: no cover - available == 0 always has a cause
            return f"no one who shares a language with you outside {country} could be matched with you"
        if len(causes) == 1:
            return f"{who} {causes[0][1]}"
        parts = [f"{count} {one if count == 1 else several}" for count, one, several in causes]
        return f"{who} is ruled out: {join_words(parts)}"
    return (
        "left over: a partner could not be found without leaving someone else out "
        f"({_people(options.available)} could be matched with you, and all are needed by others), "
        "and no match could take you as a third member"
    )
