"""Hard constraints: a pair that breaks one is never proposed.

Partners live in different countries, share at least one language, were not partners in an earlier
round, are on neither one's do-not-match list and were not kept apart by a coordinator. (Being
enrolled in the round is the request's business: only enrolled members are applicants.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from enum import Enum

import numpy as np

from bot.matching.model import Applicant, MatchInputError, MatchRequest, pair_key
from bot.validation import country_in_sentence

__all__ = ["Constraints", "FeasibilityMatrix", "Rule", "check_pins"]


class Rule(Enum):
    """Why a pair is not allowed, most basic first."""

    SAME_PERSON = "same person"
    SAME_COUNTRY = "same country"
    NO_LANGUAGE = "no shared language"
    HISTORY = "partners in an earlier round"
    DO_NOT_MATCH = "do-not-match list"
    FORBIDDEN = "kept apart by a coordinator"


class Constraints:
    """The hard rules of one request, pair by pair."""

    def __init__(self, request: MatchRequest) -> None:
        self.by_id = {a.member_id: a for a in request.applicants}
        self.history = request.history_pairs
        self.forbidden = request.forbidden_pairs
        dnm = set()
        for person in request.applicants:
            for other in person.do_not_match:
                if other != person.member_id:
                    dnm.add(pair_key(person.member_id, other))
        self.do_not_match = frozenset(dnm)

    def broken_rules(self, a: Applicant, b: Applicant) -> list[Rule]:
        rules = []
        if a.member_id == b.member_id:
            return [Rule.SAME_PERSON]
        if a.country == b.country:
            rules.append(Rule.SAME_COUNTRY)
        if not a.languages & b.languages:
            rules.append(Rule.NO_LANGUAGE)
        key = pair_key(a.member_id, b.member_id)
        if key in self.history:
            rules.append(Rule.HISTORY)
        if key in self.do_not_match:
            rules.append(Rule.DO_NOT_MATCH)
        if key in self.forbidden:
            rules.append(Rule.FORBIDDEN)
        return rules

    def allowed(self, a: Applicant, b: Applicant) -> bool:
        return not self.broken_rules(a, b)

    def blocked_pairs(self) -> set[tuple[int, int]]:
        """Pairs ruled out by a person or a coordinator rather than by country or language."""
        return set(self.history) | set(self.do_not_match) | set(self.forbidden)


def describe_rule(rule: Rule, a: Applicant, b: Applicant) -> str:
    names = f"{a.name} and {b.name}"
    match rule:
        case Rule.SAME_PERSON:
            return f"{a.name} is pinned to themselves"
        case Rule.SAME_COUNTRY:
            return f"{names} both live in {country_in_sentence(a.country)}"
        case Rule.NO_LANGUAGE:
            return f"{names} share no language"
        case Rule.HISTORY:
            return f"{names} were partners in an earlier round"
        case Rule.DO_NOT_MATCH:
            return f"{names} are on a do-not-match list"
        case Rule.FORBIDDEN:
            return f"{names} are kept apart by a coordinator"


def check_pins(request: MatchRequest, constraints: Constraints) -> None:
    """Raise `MatchInputError` listing every pinned pair that cannot be honoured."""
    problems = []
    seen: dict[int, tuple[int, int]] = {}
    by_id = constraints.by_id
    for pair in request.pinned_pairs:
        a_id, b_id = pair
        missing = [m for m in pair if m not in by_id]
        if missing:
            ids = ", ".join(str(m) for m in missing)
            problems.append(f"pinned pair {a_id} and {b_id}: {ids} is not enrolled in this round")
            continue
        a, b = by_id[a_id], by_id[b_id]
        for member in pair:
            if member in seen:
                other = seen[member]
                problems.append(
                    f"{by_id[member].name} is pinned twice ({_pair_names(other, by_id)} and "
                    f"{_pair_names(pair, by_id)})"
                )
            seen[member] = pair
        for rule in constraints.broken_rules(a, b):
            problems.append(f"pinned pair cannot be matched: {describe_rule(rule, a, b)}")
    if problems:
        raise MatchInputError(problems)


def _pair_names(pair: tuple[int, int], by_id: dict[int, Applicant]) -> str:
    return " and ".join(by_id[m].name for m in pair)


class FeasibilityMatrix:
    """The allowed-pair relation over a fixed list of people, row by row or block by block."""

    def __init__(self, people: Sequence[Applicant], blocked: Iterable[tuple[int, int]]) -> None:
        self.n = len(people)
        countries: dict[str, int] = {}
        self.country = np.asarray([countries.setdefault(p.country, len(countries)) for p in people], np.int32)
        languages: dict[str, int] = {}
        for person in people:
            for code in sorted(person.languages):
                languages.setdefault(code, len(languages))
        words = max(1, (len(languages) + 63) // 64)
        bits = np.zeros((len(people), words), dtype=np.uint64)
        for index, person in enumerate(people):
            for code in person.languages:
                bit = languages[code]
                bits[index, bit // 64] |= np.uint64(1) << np.uint64(bit % 64)
        self.language_bits = bits
        index_of = {p.member_id: i for i, p in enumerate(people)}
        excluded: dict[int, list[int]] = defaultdict(list)
        for a, b in blocked:
            if a in index_of and b in index_of:
                excluded[index_of[a]].append(index_of[b])
                excluded[index_of[b]].append(index_of[a])
        self.excluded = {i: np.asarray(sorted(set(js)), dtype=np.intp) for i, js in excluded.items()}

    def block(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.intp)
        allowed = self.country[rows][:, None] != self.country[None, :]
        shared = np.zeros_like(allowed)
        for word in range(self.language_bits.shape[1]):
            column = self.language_bits[:, word]
            shared |= (column[rows][:, None] & column[None, :]) != 0
        allowed &= shared
        for local, person in enumerate(rows.tolist()):
            excluded = self.excluded.get(person)
            if excluded is not None:
                allowed[local, excluded] = False
        return allowed

    def row(self, person: int) -> np.ndarray:
        return self.block(np.asarray([person], dtype=np.intp))[0]
