"""The round as a whole: rules never broken, as many people matched as possible, one trio for an
odd count, pins and forbidden pairs honoured, and the same result for the same input and seed."""

from __future__ import annotations

import random
from datetime import date
from unittest import mock

import pytest
import rustworkx as rx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.matching import (
    Constraints,
    MatchInputError,
    MatchRequest,
    MatchResult,
    ScoringContext,
    propose_matches,
    score_pair,
)
from bot.matching import solver as solver_module
from tests.benchmarks.cohort import generate_cohort, make_applicant

COUNTRIES = ["CL", "MX", "ES", "GB", "IN", "JP"]
LANGUAGES = ["en", "es", "ja"]
ZONES = ["America/Santiago", "Europe/London", "Asia/Tokyo", "Pacific/Auckland", "America/New_York"]
INTERESTS = ["open access", "cataloguing", "archives", "zines", "metadata"]


@st.composite
def requests(draw, max_size: int = 14, pins: bool = True):
    ids = draw(st.lists(st.integers(1, 10**6), max_size=max_size, unique=True))
    people = []
    for member_id in ids:
        people.append(
            make_applicant(
                member_id,
                country=draw(st.sampled_from(COUNTRIES)),
                timezone=draw(st.sampled_from(ZONES)),
                languages=draw(st.frozensets(st.sampled_from(LANGUAGES), min_size=1, max_size=2)),
                sector=draw(st.sampled_from(["academic", "public"])),
                career_stage=draw(st.sampled_from(["early", "mid", "senior"])),
                interests=draw(st.frozensets(st.sampled_from(INTERESTS), max_size=3)),
                match_preference=draw(st.sampled_from(["interests", "career_stage", "open"])),
                do_not_match=draw(st.frozensets(st.sampled_from(ids), max_size=1))
                if draw(st.booleans())
                else (),
            )
        )
    pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]]
    history = draw(st.sets(st.sampled_from(pairs), max_size=6)) if pairs else set()
    forbidden = draw(st.sets(st.sampled_from(pairs), max_size=3)) if pairs else set()
    base = MatchRequest(applicants=tuple(people), history_pairs=history, forbidden_pairs=forbidden)
    pinned = []
    if pins and pairs:
        constraints = Constraints(base)
        by_id = {p.member_id: p for p in people}
        used: set[int] = set()
        for a, b in draw(st.lists(st.sampled_from(pairs), max_size=2)):
            if a not in used and b not in used and constraints.allowed(by_id[a], by_id[b]):
                pinned.append((a, b))
                used |= {a, b}
    return MatchRequest(
        applicants=tuple(people),
        history_pairs=history,
        forbidden_pairs=forbidden,
        pinned_pairs=tuple(pinned),
        seed=draw(st.integers(0, 3)),
        candidates_per_person=draw(st.sampled_from([1, 2, 20])),
        reference_date=date(2025, 3, 1),
    )


def max_cardinality(people, constraints) -> int:
    graph = rx.PyGraph()
    graph.add_nodes_from(range(len(people)))
    graph.add_edges_from_no_data(
        [
            (i, j)
            for i, a in enumerate(people)
            for j in range(i + 1, len(people))
            if constraints.allowed(a, people[j])
        ]
    )
    return len(rx.max_weight_matching(graph, max_cardinality=True))


def check_rules(request: MatchRequest, result: MatchResult) -> None:
    constraints = Constraints(request)
    by_id = {p.member_id: p for p in request.applicants}
    placed = [m for match in result.matches for m in match.member_ids]
    left = [u.member_id for u in result.unmatched]
    assert sorted(placed + left) == sorted(by_id), "everyone is matched or reported, once"
    for match in result.matches:
        assert len(match.member_ids) in (2, 3)
        members = [by_id[m] for m in match.member_ids]
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                assert constraints.allowed(a, b), constraints.broken_rules(a, b)
        assert match.reasons
        assert all(isinstance(reason, str) and reason for reason in match.reasons)
    for unmatched in result.unmatched:
        assert unmatched.reason
    pinned = {tuple(sorted(m.member_ids)) for m in result.matches if m.pinned}
    assert pinned == set(request.pinned_pairs)


def check_cardinality(request: MatchRequest, result: MatchResult) -> None:
    pinned_ids = {m for pair in request.pinned_pairs for m in pair}
    pool = [p for p in sorted(request.applicants, key=lambda a: a.member_id) if p.member_id not in pinned_ids]
    best = max_cardinality(pool, Constraints(request))
    placed = sum(len(m.member_ids) for m in result.matches if not m.pinned)
    assert placed >= 2 * best, "never fewer people matched than a maximum-cardinality matching"
    if 2 * best == len(pool):
        assert not result.unmatched, "a perfect matching exists, so everyone is matched"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_no_rule_is_ever_broken_and_nobody_matchable_is_left_out(request: MatchRequest) -> None:
    result = propose_matches(request)
    check_rules(request, result)
    check_cardinality(request, result)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_the_large_round_strategy_keeps_the_same_guarantees(request: MatchRequest) -> None:
    pytest.importorskip("scipy")
    with (
        mock.patch.object(solver_module, "BLOSSOM_LIMIT", 0),
        mock.patch.object(solver_module, "WINDOW_LIMIT", 4),
    ):
        result = propose_matches(request)
    check_rules(request, result)
    check_cardinality(request, result)


@settings(max_examples=60, deadline=None)
@given(requests(pins=False), st.randoms(use_true_random=False))
def test_the_same_input_and_seed_give_the_same_matches(request: MatchRequest, rng: random.Random) -> None:
    first = propose_matches(request)
    people = list(request.applicants)
    rng.shuffle(people)
    reordered = MatchRequest(
        applicants=tuple(people),
        history_pairs={(b, a) for a, b in request.history_pairs},
        forbidden_pairs=request.forbidden_pairs,
        seed=request.seed,
        candidates_per_person=request.candidates_per_person,
        reference_date=request.reference_date,
    )
    assert propose_matches(reordered) == first


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8).map(lambda k: 2 * k + 1), st.integers(0, 5), st.sampled_from([1, 3, 20]))
def test_an_odd_cohort_that_can_all_be_placed_forms_exactly_one_trio(size: int, seed: int, k: int) -> None:
    countries = [
        "AU",
        "BR",
        "CA",
        "DE",
        "EG",
        "FR",
        "GH",
        "IN",
        "JP",
        "KE",
        "MX",
        "NZ",
        "PE",
        "SE",
        "TZ",
        "US",
        "ZA",
    ]
    people = [
        make_applicant(100 + i, country=countries[i], interests={INTERESTS[i % 5]}, languages={"en"})
        for i in range(size)
    ]
    result = propose_matches(MatchRequest(applicants=tuple(people), seed=seed, candidates_per_person=k))
    assert not result.unmatched
    assert [len(m.member_ids) for m in result.matches].count(3) == 1
    assert result.quality.trios == 1


@settings(max_examples=40, deadline=None)
@given(requests(max_size=10, pins=False))
def test_the_total_score_is_the_exact_optimum_for_small_rounds(request: MatchRequest) -> None:
    people = sorted(request.applicants, key=lambda a: a.member_id)
    constraints = Constraints(request)
    ctx = ScoringContext.build(people, request.weights, request.reference_date)
    solved = solver_module.solve_pool(people, ctx, constraints, request.seed, 20)
    graph = rx.PyGraph()
    graph.add_nodes_from(range(len(people)))
    big = 10**9  # cardinality first, then score
    graph.add_edges_from(
        [
            (i, j, big + score_pair(a, people[j], ctx).total)
            for i, a in enumerate(people)
            for j in range(i + 1, len(people))
            if constraints.allowed(a, people[j])
        ]
    )
    exact = rx.max_weight_matching(graph, max_cardinality=True, weight_fn=int)
    exact_score = sum(score_pair(people[a], people[b], ctx).total for a, b in exact)
    assert solved.pair_weight == exact_score


def test_a_generated_cohort_is_solved_the_same_way_by_both_strategies() -> None:
    pytest.importorskip("scipy")
    cohort = generate_cohort(300, seed=4)
    request = cohort.request(seed=4)
    blossom = propose_matches(request)
    with mock.patch.object(solver_module, "BLOSSOM_LIMIT", 0):
        relaxed = propose_matches(request)
    check_rules(request, relaxed)
    assert relaxed.quality.matched == blossom.quality.matched
    assert relaxed.quality.total_score >= 0.999 * blossom.quality.total_score


# --------------------------------------------------------------------------------------------------
# examples


def test_someone_with_no_shared_language_abroad_is_reported_with_the_reason() -> None:
    people = [
        make_applicant(1, name="Sofía", country="CL", languages={"es"}),
        make_applicant(2, name="Pablo", country="CL", languages={"es", "en"}),
        make_applicant(3, country="GB"),
        make_applicant(4, country="US"),
    ]
    result = propose_matches(MatchRequest(applicants=people))
    assert [(u.member_id, u.reason) for u in result.unmatched] == [
        (1, "no one outside Chile shares a language with you (Spanish)")
    ]
    assert result.quality.trios == 1  # Pablo joins the pair of the other two


def test_past_partners_are_never_matched_again_and_the_reason_says_so() -> None:
    people = [
        make_applicant(1, country="CL", languages={"es"}),
        make_applicant(2, country="MX", languages={"es"}),
        make_applicant(3, country="GB"),
        make_applicant(4, country="US"),
    ]
    result = propose_matches(MatchRequest(applicants=people, history_pairs={(1, 2)}))
    assert {u.member_id: u.reason for u in result.unmatched} == {
        1: "the only person outside Chile who shares a language with you (Spanish) was your partner in an "
        "earlier round",
        2: "the only person outside Mexico who shares a language with you (Spanish) was your partner in an "
        "earlier round",
    }


def test_pinned_and_forbidden_pairs_hold_and_the_solver_fills_in_the_rest() -> None:
    people = [
        make_applicant(i, country=c, interests={"zines"} if i < 3 else set())
        for i, c in enumerate(["AU", "BR", "CA", "DE", "EG", "FR"], start=1)
    ]
    result = propose_matches(MatchRequest(applicants=people, pinned_pairs=[(3, 1)], forbidden_pairs={(2, 4)}))
    groups = {m.member_ids: m for m in result.matches}
    assert (1, 3) in groups
    assert groups[(1, 3)].pinned
    assert groups[(1, 3)].reasons[0] == "chosen for you by a coordinator"
    assert not any({2, 4} <= set(ids) for ids in groups)
    assert not result.unmatched


def test_someone_whose_only_partners_are_pinned_elsewhere_is_told_so() -> None:
    people = [
        make_applicant(1, name="Ana", country="CL", languages={"es"}),
        make_applicant(2, name="Bo", country="MX", languages={"es", "en"}),
        make_applicant(3, name="Cy", country="GB"),
    ]
    result = propose_matches(MatchRequest(applicants=people, pinned_pairs=[(2, 3)]))
    assert result.unmatched[0].reason == (
        "the only person outside Chile who shares a language with you (Spanish) is pinned by a coordinator "
        "to someone else (Bo)"
    )


def test_a_person_left_over_by_cardinality_gets_a_specific_reason() -> None:
    chileans = [make_applicant(i, country="CL", languages={"es"}) for i in (1, 2, 3)]
    bridges = [
        make_applicant(4, country="MX", languages={"es", "en"}),
        make_applicant(5, country="ES", languages={"es", "en"}),
    ]
    english = [make_applicant(6, country="GB"), make_applicant(7, country="US")]
    result = propose_matches(MatchRequest(applicants=(*chileans, *bridges, *english)))
    assert len(result.unmatched) == 1
    assert result.unmatched[0].reason.startswith(
        "left over: a partner could not be found without leaving someone "
        "else out (2 people could be matched with you"
    )
    assert result.quality.matched == 6


def test_a_leftover_can_take_a_partners_place_so_that_everyone_is_placed() -> None:
    # x speaks only Spanish, so a is x's only possible partner; a and b are a great pair, so x is the
    # one left over; x takes b's place and b joins c and d.
    x = make_applicant(1, country="CL", languages={"es"})
    a = make_applicant(2, country="MX", languages={"es", "en"}, interests={"zines", "maps"})
    b = make_applicant(3, country="GB", interests={"zines", "maps"})
    c = make_applicant(4, country="US")
    d = make_applicant(5, country="IN", timezone="Asia/Kolkata")
    result = propose_matches(MatchRequest(applicants=(x, a, b, c, d)))
    assert not result.unmatched
    assert sorted(m.member_ids for m in result.matches) == [(1, 2), (3, 4, 5)]


def test_requests_that_cannot_be_honoured_are_refused_with_clear_problems() -> None:
    a, b = make_applicant(1, country="CL"), make_applicant(2, country="CL")
    with pytest.raises(MatchInputError, match="both live in Chile"):
        propose_matches(MatchRequest(applicants=(a, b), pinned_pairs=[(1, 2)]))
    with pytest.raises(MatchInputError, match="enrolled twice"):
        propose_matches(MatchRequest(applicants=(a, a)))
    with pytest.raises(MatchInputError, match="group size of 2"):
        propose_matches(MatchRequest(applicants=(a, b), group_size=3))
    with pytest.raises(MatchInputError, match="exactly two members"):
        MatchRequest(applicants=(a, b), pinned_pairs=[(1, 2, 3)])


def test_empty_and_tiny_rounds() -> None:
    assert propose_matches(MatchRequest(applicants=())).matches == ()
    alone = propose_matches(MatchRequest(applicants=(make_applicant(1),)))
    assert alone.unmatched[0].reason == "you are the only participant in this round"
    same = propose_matches(MatchRequest(applicants=(make_applicant(1), make_applicant(2))))
    assert same.unmatched[0].reason == "everyone else in this round also lives in the United Kingdom"
