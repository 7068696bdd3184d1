"""The soft score of a possible match.

Scores are whole numbers of *centipoints* (hundredths of a point) so that the solver works with
exact integers; with the default weights a pair scores from 0 to 100 points. A pair's score is the
sum of five parts, each worth up to its weight in points (see `MatchWeights`):

- shared interests: the shared interests' rarity values ``1 + ln(N / holders)`` (in tenths) are
  summed to ``s``, and the part is ``weight * s / (s + 2)``: a shared rare interest counts for
  more than a common one, and each further shared interest adds a little less;
- preference: half for each partner, ``s / (s + 2)`` for `interests`, the career-stage closeness
  for `career_stage`, full for `open` (anyone suits them, so it is neutral between partners);
- career stage: 1 for the same stage, 1/2 for a neighbouring stage;
- waking hours: the minutes their local windows share, full marks from `full_overlap_hours`;
- sector: the same sector (mode "similar") or different sectors (mode "varied").

`score_pair` scores one pair and keeps the parts for the explanations; `PairScorer` computes the
same integers for whole blocks of pairs with numpy, for the solver's candidate search.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from bot.matching.hours import common_hours, minutes, utc_offset_minutes
from bot.matching.model import Applicant, MatchWeights
from bot.validation import DEFAULT_CAREER_STAGES

__all__ = ["PairScore", "PairScorer", "ScoringContext", "score_pair"]

IDF_SCALE = 10
INTEREST_HALF = 2 * IDF_SCALE  # a shared-interest value of 2 (two universal interests) gives half marks


@dataclass(frozen=True)
class ScoringContext:
    """What a score depends on besides the two people: the round's interest counts, the weights,
    the reference date for time zones and the programme's order of career stages."""

    weights: MatchWeights
    interest_counts: dict[str, int]
    population: int
    reference_date: date | None = None
    career_stages: tuple[str, ...] = DEFAULT_CAREER_STAGES

    @classmethod
    def build(
        cls,
        applicants: Iterable[Applicant],
        weights: MatchWeights | None = None,
        reference_date: date | None = None,
        career_stages: Sequence[str] = DEFAULT_CAREER_STAGES,
    ) -> ScoringContext:
        applicants = list(applicants)
        counts = Counter(interest for a in applicants for interest in a.interests)
        return cls(
            weights=weights or MatchWeights(),
            interest_counts=dict(counts),
            population=max(len(applicants), 1),
            reference_date=reference_date,
            career_stages=tuple(career_stages),
        )

    def interest_value(self, interest: str) -> int:
        """Rarity value of one interest in tenths: 10 for an interest everyone has."""
        count = max(self.interest_counts.get(interest, 1), 1)
        return round(IDF_SCALE * (1 + math.log(max(self.population, count) / count)))

    def offset(self, zone: str) -> int:
        return utc_offset_minutes(zone, self.reference_date)

    def common_hours(self, zones: Iterable[str]) -> tuple[tuple[int, int], ...]:
        w = self.weights
        offsets = tuple(sorted(self.offset(zone) for zone in zones))
        return common_hours(offsets, w.day_start_hour, w.day_end_hour)

    def stage_closeness(self, first: str, second: str) -> int:
        """2 for the same career stage, 1 for neighbouring stages, otherwise 0."""
        if first == second:
            return 2
        stages = self.career_stages
        if first in stages and second in stages:
            return max(2 - abs(stages.index(first) - stages.index(second)), 0)
        return 0

    def rare_interest(self, interest: str) -> bool:
        """Held by few in this round: at most a tenth of it, and at most 2% of a large one."""
        count = self.interest_counts.get(interest, 0)
        return count >= 2 and count * 10 <= self.population and count <= max(3, self.population // 50)


@dataclass(frozen=True, slots=True)
class PairScore:
    total: int
    interests: int
    preference: int
    career_stage: int
    overlap: int
    sector: int
    shared_interests: tuple[str, ...]
    """Rarest first."""
    overlap_minutes: int

    @property
    def points(self) -> float:
        return self.total / 100


def _share(points_x100: int, value: int) -> int:
    return points_x100 * value // (value + INTEREST_HALF)


def overlap_points(weights: MatchWeights, overlap: int) -> int:
    full = weights.full_overlap_hours * 60
    return weights.waking_overlap * 100 * min(overlap, full) // full


def interest_points(weights: MatchWeights, value: int) -> int:
    """The shared-interests part for a shared-interest value."""
    return _share(weights.shared_interests * 100, value)


def interest_preference_points(weights: MatchWeights, value: int) -> int:
    """Half the preference part, for a partner who asked to be matched by interests."""
    return _share(weights.preference * 50, value)


def profile_points(
    weights: MatchWeights, closeness: int, first: tuple[str, str], second: tuple[str, str]
) -> int:
    """Career stage, sector and the preference halves that do not depend on interests, for two
    (match_preference, sector) profiles whose career stages have the given closeness."""

    def half(preference: str) -> int:
        if preference == "career_stage":
            return weights.preference * 25 * closeness
        if preference == "open":
            return weights.preference * 50
        return 0  # "interests": see interest_preference_points

    same_sector = first[1] == second[1]
    sector = weights.sector * 100 if same_sector == (weights.sector_mode == "similar") else 0
    return weights.career_stage * 50 * closeness + half(first[0]) + half(second[0]) + sector


def score_pair(a: Applicant, b: Applicant, ctx: ScoringContext) -> PairScore:
    w = ctx.weights
    shared = sorted(a.interests & b.interests, key=lambda i: (-ctx.interest_value(i), i))
    value = sum(ctx.interest_value(i) for i in shared)
    closeness = ctx.stage_closeness(a.career_stage, b.career_stage)
    wanting = (a.match_preference == "interests") + (b.match_preference == "interests")
    interests = interest_points(w, value)
    interest_preference = wanting * interest_preference_points(w, value)
    profiles = profile_points(w, closeness, (a.match_preference, a.sector), (b.match_preference, b.sector))
    career = w.career_stage * 50 * closeness
    same_sector = a.sector == b.sector
    sector = w.sector * 100 if same_sector == (w.sector_mode == "similar") else 0
    overlap = minutes(ctx.common_hours((a.timezone, b.timezone)))
    hours = overlap_points(w, overlap)
    return PairScore(
        total=interests + interest_preference + profiles + hours,
        interests=interests,
        preference=interest_preference + profiles - career - sector,
        career_stage=career,
        overlap=hours,
        sector=sector,
        shared_interests=tuple(shared),
        overlap_minutes=overlap,
    )


class PairScorer:
    """`score_pair(...).total` for blocks of pairs at once, over a fixed list of people.

    Every part but the shared interests depends on a few categories of each person (time-zone
    offset; career stage, preference and sector), so it is read from small tables built with the
    same functions `score_pair` uses; the shared-interest value is summed per interest holder and
    turned into points through a table too. The results are identical to `score_pair`.
    """

    def __init__(self, people: Sequence[Applicant], ctx: ScoringContext) -> None:
        w = ctx.weights
        self.n = len(people)
        interest_ids: dict[str, int] = {}
        holders: list[list[int]] = []
        self.person_interests: list[list[int]] = []
        for index, person in enumerate(people):
            mine = []
            for interest in sorted(person.interests):
                t = interest_ids.setdefault(interest, len(interest_ids))
                if t == len(holders):
                    holders.append([])
                holders[t].append(index)
                mine.append(t)
            self.person_interests.append(mine)
        self.holders = [np.asarray(h, dtype=np.intp) for h in holders]
        values = [0] * len(interest_ids)
        for interest, t in interest_ids.items():
            values[t] = ctx.interest_value(interest)
        self.interest_values = np.asarray(values, dtype=np.int32)
        max_value = max((sum(values[t] for t in mine) for mine in self.person_interests), default=0)

        # shared-interest value -> points, for 0, 1 or 2 partners who asked for interests
        span = max_value + 1
        table = np.zeros(3 * span, dtype=np.int64)
        for value in range(span):
            base, extra = interest_points(w, value), interest_preference_points(w, value)
            for wanting in range(3):
                table[wanting * span + value] = base + wanting * extra
        self.interest_table = table
        wants = np.asarray([p.match_preference == "interests" for p in people], dtype=np.int32)
        self.wants_offset = wants * span

        # (career stage, preference, sector) profiles
        profile_ids: dict[tuple[str, str, str], int] = {}
        self.profile = np.asarray(
            [
                profile_ids.setdefault((p.career_stage, p.match_preference, p.sector), len(profile_ids))
                for p in people
            ],
            dtype=np.intp,
        )
        profiles = list(profile_ids)
        profile_table = np.zeros((len(profiles), len(profiles)), dtype=np.int64)
        for i, first in enumerate(profiles):
            for j, second in enumerate(profiles):
                closeness = ctx.stage_closeness(first[0], second[0])
                profile_table[i, j] = profile_points(w, closeness, first[1:], second[1:])

        # time-zone offsets
        offsets = [ctx.offset(p.timezone) for p in people]
        distinct = sorted(set(offsets))
        offset_ids = {o: i for i, o in enumerate(distinct)}
        self.offset_id = np.asarray([offset_ids[o] for o in offsets], dtype=np.intp)
        overlap_table = np.zeros((len(distinct), len(distinct)), dtype=np.int64)
        for i, first in enumerate(distinct):
            for j, second in enumerate(distinct):
                pieces = common_hours(tuple(sorted((first, second))), w.day_start_hour, w.day_end_hour)
                overlap_table[i, j] = overlap_points(w, minutes(pieces))

        top = int(table.max(initial=0) + profile_table.max(initial=0) + overlap_table.max(initial=0))
        self.dtype = np.int16 if top < np.iinfo(np.int16).max else np.int32
        self.interest_table = table.astype(self.dtype)
        self.profile_columns = profile_table[:, self.profile].astype(self.dtype)  # profiles x people
        self.overlap_columns = overlap_table[:, self.offset_id].astype(self.dtype)  # offsets x people

    def interest_sums(self, rows: np.ndarray) -> np.ndarray:
        """Sum of shared-interest values for rows x everyone."""
        sums = np.zeros((len(rows), self.n), dtype=np.int32)
        by_interest: dict[int, list[int]] = {}
        for local, person in enumerate(rows.tolist()):
            for t in self.person_interests[person]:
                by_interest.setdefault(t, []).append(local)
        for t, locals_ in by_interest.items():
            holders = self.holders[t]
            value = self.interest_values[t]
            if len(locals_) == 1:
                sums[locals_[0], holders] += value
            else:
                sums[np.ix_(np.asarray(locals_, dtype=np.intp), holders)] += value
        return sums

    def block(self, rows: np.ndarray) -> np.ndarray:
        """Scores (centipoints) of rows x everyone; the diagonal is meaningless."""
        rows = np.asarray(rows, dtype=np.intp)
        index = self.interest_sums(rows)
        index += self.wants_offset[rows][:, None]
        index += self.wants_offset[None, :]
        total = self.interest_table.take(index)
        total += self.profile_columns[self.profile[rows]]
        total += self.overlap_columns[self.offset_id[rows]]
        return total
