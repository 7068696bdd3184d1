"""The matching engine's inputs and outputs: plain frozen dataclasses, free of database and Discord.

The database layer converts its rows to `Applicant`s and a `MatchRequest`, calls
`bot.matching.propose_matches`, and stores the `MatchResult` it gets back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import Any

from bot.validation import DEFAULT_CAREER_STAGES, MATCH_PREFERENCES

__all__ = [
    "Applicant",
    "CountryCounts",
    "MatchInputError",
    "MatchRequest",
    "MatchResult",
    "MatchWeights",
    "ProposedMatch",
    "RoundQuality",
    "Unmatched",
    "pair_key",
]

SECTOR_MODES = ("similar", "varied")
MAX_WEIGHT = 1000


def pair_key(a: int, b: int) -> tuple[int, int]:
    """The canonical (smaller, larger) form of an unordered pair of member ids."""
    return (a, b) if a < b else (b, a)


class MatchInputError(ValueError):
    """The request cannot be solved as given (a pinned pair breaks a rule, an id is unknown...).
    `problems` lists every problem in words a coordinator can act on."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True, slots=True)
class Applicant:
    """One enrolled participant, as the matcher sees them (already validated)."""

    member_id: int
    name: str
    country: str  # ISO 3166-1 alpha-2
    timezone: str  # IANA name
    languages: frozenset[str]  # ISO 639-1 (or 639-3) codes
    sector: str
    career_stage: str
    interests: frozenset[str] = frozenset()
    goals: str = ""
    match_preference: str = "interests"  # "interests" | "career_stage" | "open"
    do_not_match: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if self.match_preference not in MATCH_PREFERENCES:
            raise ValueError(f"match_preference must be one of {', '.join(MATCH_PREFERENCES)}")
        # Accept any iterable for the set fields, keep them frozen.
        for name in ("languages", "interests", "do_not_match"):
            value = getattr(self, name)
            if not isinstance(value, frozenset):
                object.__setattr__(self, name, frozenset(value))


@dataclass(frozen=True, slots=True)
class MatchWeights:
    """How much each part of the soft score counts, in points (the defaults add up to 100).

    Stored as JSON in the programme settings: `MatchWeights.from_dict(json.loads(text))` and
    `json.dumps(weights.to_dict())`.
    """

    shared_interests: int = 35
    """Points for shared interests; a rare shared interest counts for more than a common one."""
    preference: int = 25
    """Points for giving each partner what they asked for (half each): shared interests for
    `interests`, a similar career stage for `career_stage`; `open` is satisfied by anyone."""
    waking_overlap: int = 20
    """Points for overlapping waking hours, full marks from `full_overlap_hours` on."""
    sector: int = 10
    """Points for the same sector (`sector_mode` "similar") or different sectors ("varied")."""
    career_stage: int = 10
    """Points for the same career stage (half for a neighbouring stage), whatever the preference."""
    sector_mode: str = "similar"
    day_start_hour: int = 8
    day_end_hour: int = 22
    full_overlap_hours: int = 4

    def __post_init__(self) -> None:
        for name in ("shared_interests", "preference", "waking_overlap", "sector", "career_stage"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_WEIGHT:
                raise ValueError(f"weight {name} must be a whole number from 0 to {MAX_WEIGHT}")
        if self.sector_mode not in SECTOR_MODES:
            raise ValueError(f"sector_mode must be one of {', '.join(SECTOR_MODES)}")
        if not (0 <= self.day_start_hour < self.day_end_hour <= 24):
            raise ValueError("waking hours must satisfy 0 <= day_start_hour < day_end_hour <= 24")
        if not 1 <= self.full_overlap_hours <= 24:
            raise ValueError("full_overlap_hours must be from 1 to 24")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MatchWeights:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown match weight settings: {', '.join(unknown)}")
        return cls(**dict(data))


def _pairs(value: Iterable[Iterable[int]]) -> frozenset[tuple[int, int]]:
    pairs = set()
    for item in value:
        ids = sorted(set(item))
        if len(ids) < 2:
            continue
        # A past trio (or larger group) makes every two of its members past partners.
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                pairs.add((a, b))
    return frozenset(pairs)


@dataclass(frozen=True)
class MatchRequest:
    """One round to solve. `applicants` are the members enrolled in the round."""

    applicants: tuple[Applicant, ...]
    history_pairs: frozenset[tuple[int, int]] = frozenset()
    pinned_pairs: tuple[tuple[int, int], ...] = ()
    forbidden_pairs: frozenset[tuple[int, int]] = frozenset()
    seed: int = 0
    weights: MatchWeights = field(default_factory=MatchWeights)
    group_size: int = 2
    reference_date: date | None = None
    """The date whose UTC offsets are used for waking hours (the round's start date); None uses
    each zone's standard (winter) time, so the result never depends on the day it is computed."""
    career_stages: tuple[str, ...] = DEFAULT_CAREER_STAGES
    """The programme's career stages in order, so that neighbouring stages can be recognised."""
    candidates_per_person: int = 20
    """How many best partners per person the solver keeps (a tuning knob; 20 is plenty)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "applicants", tuple(self.applicants))
        object.__setattr__(self, "history_pairs", _pairs(self.history_pairs))
        object.__setattr__(self, "forbidden_pairs", _pairs(self.forbidden_pairs))
        pinned = tuple(pair_key(*pair) for pair in (tuple(p) for p in self.pinned_pairs) if len(pair) == 2)
        if len(pinned) != len(tuple(self.pinned_pairs)):
            raise MatchInputError(["each pinned pair must name exactly two members"])
        object.__setattr__(self, "pinned_pairs", tuple(sorted(set(pinned))))
        object.__setattr__(self, "career_stages", tuple(self.career_stages))
        if self.candidates_per_person < 1:
            raise ValueError("candidates_per_person must be at least 1")


@dataclass(frozen=True, slots=True)
class ProposedMatch:
    """A proposed partnership (two members, or three when a trio absorbs an odd participant)."""

    member_ids: tuple[int, ...]
    score: float
    """0-100 with the default weights: the pair score, or for a trio the mean of its three pairs."""
    reasons: tuple[str, ...]
    """Plain-language reasons, readable by every member of the match (joined with "; ")."""
    pinned: bool = False


@dataclass(frozen=True, slots=True)
class Unmatched:
    member_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class CountryCounts:
    matched: int
    unmatched: int


@dataclass(frozen=True)
class RoundQuality:
    """The figures a coordinator sees in the preview."""

    participants: int
    matched: int
    unmatched: int
    matches: int
    trios: int
    mean_score: float | None
    worst_score: float | None
    no_shared_interest: int
    """Matches in which no two members share an interest."""
    per_country: Mapping[str, CountryCounts]
    """ISO alpha-2 code -> matched and unmatched participants from that country."""
    total_score: float


@dataclass(frozen=True)
class MatchResult:
    matches: tuple[ProposedMatch, ...]
    unmatched: tuple[Unmatched, ...]
    quality: RoundQuality
