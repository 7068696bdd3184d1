"""Hard constraints, pair by pair and for pinned pairs."""

from __future__ import annotations

import numpy as np
import pytest

from bot.matching import Constraints, MatchInputError, MatchRequest, Rule
from bot.matching.constraints import FeasibilityMatrix, check_pins
from tests.benchmarks.cohort import make_applicant

ANA = make_applicant(1, name="Ana", country="CL", languages={"es"})
BEA = make_applicant(2, name="Bea", country="CL", languages={"es", "en"})
CAL = make_applicant(3, name="Cal", country="MX", languages={"es"}, do_not_match={4})
DEV = make_applicant(4, name="Dev", country="IN", languages={"en", "es"})
EVE = make_applicant(5, name="Eve", country="GB", languages={"en"})


def request(**kwargs) -> MatchRequest:
    return MatchRequest(applicants=(ANA, BEA, CAL, DEV, EVE), **kwargs)


def test_every_rule_is_recognised() -> None:
    constraints = Constraints(request(history_pairs={(2, 5)}, forbidden_pairs={(1, 4)}))
    assert constraints.broken_rules(ANA, BEA) == [Rule.SAME_COUNTRY]
    assert constraints.broken_rules(ANA, EVE) == [Rule.NO_LANGUAGE]
    assert constraints.broken_rules(BEA, EVE) == [Rule.HISTORY]
    assert constraints.broken_rules(DEV, CAL) == [Rule.DO_NOT_MATCH]  # either side's list counts
    assert constraints.broken_rules(ANA, DEV) == [Rule.FORBIDDEN]
    assert constraints.allowed(ANA, CAL)
    assert constraints.broken_rules(ANA, ANA) == [Rule.SAME_PERSON]


def test_past_trios_make_every_two_members_past_partners() -> None:
    req = request(history_pairs=[(1, 3, 4)])
    assert req.history_pairs == {(1, 3), (1, 4), (3, 4)}


def test_pins_that_break_a_rule_or_repeat_a_person_are_refused_with_every_problem() -> None:
    req = request(pinned_pairs=[(1, 2), (3, 4), (4, 5), (1, 99)])
    with pytest.raises(MatchInputError) as excinfo:
        check_pins(req, Constraints(req))
    problems = excinfo.value.problems
    assert "pinned pair cannot be matched: Ana and Bea both live in Chile" in problems
    assert "pinned pair cannot be matched: Cal and Dev are on a do-not-match list" in problems
    assert "Dev is pinned twice (Cal and Dev and Dev and Eve)" in problems
    assert "pinned pair 1 and 99: 99 is not enrolled in this round" in problems


def test_the_feasibility_matrix_matches_the_rules() -> None:
    people = [ANA, BEA, CAL, DEV, EVE]
    constraints = Constraints(request(history_pairs={(2, 5)}, forbidden_pairs={(1, 4)}))
    matrix = FeasibilityMatrix(people, constraints.blocked_pairs())
    block = matrix.block(np.arange(5))
    for i, a in enumerate(people):
        for j, b in enumerate(people):
            assert bool(block[i, j]) == constraints.allowed(a, b), (a.name, b.name)


def test_more_than_64_languages_still_work() -> None:
    codes = [f"l{i:02d}" for i in range(70)]
    people = [make_applicant(i, country=f"C{i}", languages={codes[i]}) for i in range(70)]
    people.append(make_applicant(99, country="ZZ", languages={codes[69], codes[0]}))
    matrix = FeasibilityMatrix(people, ())
    assert np.flatnonzero(matrix.row(70)).tolist() == [0, 69]
