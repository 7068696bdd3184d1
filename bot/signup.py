"""The /signup form's rules: what each step accepts and how the answers become a profile. Pure.

The form has two steps because a Discord modal holds at most five inputs. Step one is typed text
(country, time zone, languages, goals) and the members to avoid; step two is choices from the
programme's lists. Every problem in a step is reported at once, so people fix them in one go.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from bot.matching.model import Applicant
from bot.participants import RoundPlace
from bot.timezones import country_zones
from bot.validation import (
    MAX_INTERESTS,
    FieldOptions,
    ValidationError,
    country_name,
    language_name,
    parse_career_stage,
    parse_country,
    parse_goals,
    parse_interests,
    parse_languages,
    parse_match_preference,
    parse_sector,
    parse_timezone,
    split_list,
)

MAX_OWN_INTERESTS = 3
MAX_AVOIDED_MEMBERS = 10
# Discord shows at most 25 options in a select menu.
MAX_SELECT_OPTIONS = 25

MATCH_PREFERENCE_LABELS = {
    "interests": "By shared interests",
    "career_stage": "By career stage",
    "open": "Open to anyone",
}


@dataclass(frozen=True)
class StepOne:
    """What the member typed in step one; kept so a form with a mistake reopens as they left it."""

    country: str = ""
    timezone: str = ""
    languages: str = ""
    goals: str = ""
    do_not_match: frozenset[int] = frozenset()


@dataclass(frozen=True)
class StepOneAnswers:
    country: str
    timezone: str | None  # None: the country has several zones and the member has to pick one
    languages: frozenset[str]
    goals: str
    do_not_match: frozenset[int]

    @property
    def zone_choices(self) -> tuple[str, ...]:
        return country_zones(self.country) if self.timezone is None else ()


@dataclass(frozen=True)
class StepTwo:
    sector: str = ""
    career_stage: str = ""
    match_preference: str = ""
    interests: tuple[str, ...] = ()
    own_interests: str = ""


@dataclass
class FormProblems(Exception):
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(self.problems)


def check_step_one(typed: StepOne, member_id: int) -> StepOneAnswers:
    """Validate step one; raise FormProblems listing every problem."""
    problems: list[str] = []
    country = _check(problems, parse_country, typed.country)
    timezone: str | None = None
    if typed.timezone.strip():
        timezone = _check(problems, parse_timezone, typed.timezone)
    elif country:
        zones = country_zones(country)
        if len(zones) == 1:
            timezone = zones[0]
        elif len(zones) > MAX_SELECT_OPTIONS:
            problems.append(
                f"timezone: {country_name(country)} has many time zones; type yours, like {zones[0]}"
            )
        elif not zones:
            problems.append("timezone: is required (an IANA time zone such as Europe/London)")
    languages = _check(problems, parse_languages, typed.languages)
    goals = _check(problems, parse_goals, typed.goals)
    if member_id in typed.do_not_match:
        problems.append("do_not_match: you can't avoid yourself; leave yourself out of that list")
    if len(typed.do_not_match) > MAX_AVOIDED_MEMBERS:
        problems.append(f"do_not_match: at most {MAX_AVOIDED_MEMBERS} members, please")
    if problems:
        raise FormProblems(problems)
    assert country is not None
    assert languages is not None
    assert goals is not None
    return StepOneAnswers(country, timezone, languages, goals, typed.do_not_match)


def choose_timezone(answers: StepOneAnswers, zone: str) -> StepOneAnswers:
    if zone not in answers.zone_choices:
        raise FormProblems([f"timezone: {zone} is not one of {country_name(answers.country)}'s time zones"])
    return replace(answers, timezone=zone)


def check_step_two(typed: StepTwo, options: FieldOptions) -> tuple[str, str, str, frozenset[str]]:
    """Validate step two: (sector, career stage, match preference, interests)."""
    problems: list[str] = []
    sector = _check(problems, parse_sector, typed.sector, options.sectors)
    stage = _check(problems, parse_career_stage, typed.career_stage, options.career_stages)
    preference = _check(problems, parse_match_preference, typed.match_preference)
    listed = [item for item in typed.interests if item in options.interests]
    if len(listed) != len(typed.interests):
        problems.append("interests: pick them from the programme's list")
    if not listed:
        problems.append("interests: pick at least one from the list")
    own = split_list(typed.own_interests)
    if len(own) > MAX_OWN_INTERESTS:
        problems.append(f"interests: at most {MAX_OWN_INTERESTS} of your own words, separated by commas")
    interests = _check(
        problems, parse_interests, [*listed, *own], options.interests, MAX_INTERESTS + MAX_OWN_INTERESTS
    )
    if problems:
        raise FormProblems(problems)
    assert sector
    assert stage
    assert preference
    assert interests is not None
    return sector, stage, preference, interests


def build_applicant(
    member_id: int, name: str, one: StepOneAnswers, two: tuple[str, str, str, frozenset[str]]
) -> Applicant:
    if one.timezone is None:
        raise FormProblems(["timezone: pick your time zone first"])
    sector, stage, preference, interests = two
    return Applicant(
        member_id=member_id,
        name=name,
        country=one.country,
        timezone=one.timezone,
        languages=one.languages,
        sector=sector,
        career_stage=stage,
        interests=interests,
        goals=one.goals,
        match_preference=preference,
        do_not_match=one.do_not_match,
    )


def prefill_step_one(applicant: Applicant | None) -> StepOne:
    if applicant is None:
        return StepOne()
    return StepOne(
        country=country_name(applicant.country),
        timezone=applicant.timezone,
        languages=", ".join(sorted(language_name(code) for code in applicant.languages)),
        goals=applicant.goals,
        do_not_match=applicant.do_not_match,
    )


def prefill_step_two(applicant: Applicant | None, options: FieldOptions) -> StepTwo:
    if applicant is None:
        return StepTwo(match_preference="interests")
    listed = tuple(i for i in sorted(applicant.interests) if i in options.interests)
    own = [i for i in sorted(applicant.interests) if i not in options.interests]
    return StepTwo(
        sector=applicant.sector,
        career_stage=applicant.career_stage,
        match_preference=applicant.match_preference,
        interests=listed,
        own_interests=", ".join(own),
    )


def place_text(place: RoundPlace | None) -> str:
    """What a member's place in the open round means for them, in one or two sentences."""
    if place is None:
        return (
            "No round is open for signups right now. Your profile is kept, "
            "and we'll ask you when the next one opens."
        )
    if place.status == "enrolled":
        return f"You're enrolled in **{place.round_name}**. You'll meet your partner when the round launches."
    return (
        f"**{place.round_name}** has reached its limit for people from your country, so you're on its "
        f"waiting list (number {place.waitlist_position}). You'll move up as places free, and we'll tell you."
    )


def _check(problems: list[str], parse: object, *args: object) -> object:
    try:
        return parse(*args)  # type: ignore[operator]
    except ValidationError as error:
        problems.append(str(error))
        return None


def profile_lines(applicant: Applicant, local_time: str | None = None) -> list[tuple[str, str]]:
    """The profile as (label, value) lines, in the words people used."""
    zone = applicant.timezone + (f" (now {local_time})" if local_time else "")
    return [
        ("Country", country_name(applicant.country)),
        ("Time zone", zone),
        ("Languages", ", ".join(sorted(language_name(c) for c in applicant.languages))),
        ("Sector", applicant.sector),
        ("Career stage", applicant.career_stage),
        ("Interests", ", ".join(sorted(applicant.interests)) or "none"),
        ("Matched", MATCH_PREFERENCE_LABELS.get(applicant.match_preference, applicant.match_preference)),
        ("Goals", applicant.goals or "not given"),
        ("Not to be matched with", _mentions(applicant.do_not_match) or "nobody"),
    ]


def _mentions(member_ids: Iterable[int]) -> str:
    return ", ".join(f"<@{member_id}>" for member_id in sorted(member_ids))
