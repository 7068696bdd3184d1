"""The soft score: rarity, preferences, waking hours, sector; the numpy scorer agrees exactly."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.matching import MatchWeights, ScoringContext, score_pair
from bot.matching.scoring import PairScorer
from tests.benchmarks.cohort import make_applicant

ZONES = [
    "Europe/London",
    "America/New_York",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Pacific/Auckland",
    "Africa/Lagos",
]
INTERESTS = ["open access", "cataloguing", "archives", "zines", "metadata", "outreach"]


def test_a_shared_rare_interest_counts_for_more_than_a_shared_common_one() -> None:
    common = [make_applicant(i, interests={"open access"}) for i in range(1, 9)]
    rare = [make_applicant(20, interests={"zines", "open access"}), make_applicant(21, interests={"zines"})]
    ctx = ScoringContext.build(common + rare)
    assert ctx.interest_value("zines") > ctx.interest_value("open access")
    assert score_pair(rare[0], rare[1], ctx).interests > score_pair(common[0], common[1], ctx).interests
    assert score_pair(rare[0], rare[1], ctx).shared_interests == ("zines",)


def test_more_shared_interests_score_more_but_each_adds_less() -> None:
    people = [make_applicant(i, interests={"a1", "b2", "c3"}) for i in range(1, 5)]
    people += [make_applicant(9, interests={"a1"}), make_applicant(10, interests={"a1", "b2"})]
    ctx = ScoringContext.build(people)
    one = score_pair(people[0], people[4], ctx).interests
    two = score_pair(people[0], people[5], ctx).interests
    three = score_pair(people[0], people[1], ctx).interests
    assert 0 < one < two < three <= MatchWeights().shared_interests * 100
    assert two - one > three - two or ctx.interest_value("c3") < ctx.interest_value("b2")


def test_career_stage_preference_prefers_the_same_or_a_neighbouring_stage() -> None:
    asker = make_applicant(1, career_stage="early", match_preference="career_stage")
    same = make_applicant(2, career_stage="early", match_preference="open")
    next_stage = make_applicant(3, career_stage="mid", match_preference="open")
    far = make_applicant(4, career_stage="senior", match_preference="open")
    ctx = ScoringContext.build([asker, same, next_stage, far])
    scores = [score_pair(asker, other, ctx).total for other in (same, next_stage, far)]
    assert scores[0] > scores[1] > scores[2]


def test_open_preference_is_neutral_between_partners() -> None:
    open_person = make_applicant(1, match_preference="open")
    a = make_applicant(2, career_stage="senior", match_preference="open", interests={"x"})
    b = make_applicant(3, career_stage="senior", match_preference="open", interests={"y"})
    ctx = ScoringContext.build([open_person, a, b], MatchWeights(career_stage=0, shared_interests=0))
    assert score_pair(open_person, a, ctx).total == score_pair(open_person, b, ctx).total


def test_waking_hours_overlap_earns_points_up_to_full_marks() -> None:
    london = make_applicant(1)
    lagos = make_applicant(2, timezone="Africa/Lagos")
    new_york = make_applicant(3, timezone="America/New_York")
    auckland = make_applicant(4, timezone="Pacific/Auckland")
    ctx = ScoringContext.build(
        [london, lagos, new_york, auckland],
        MatchWeights(day_start_hour=9, day_end_hour=17),
        reference_date=date(2025, 1, 15),
    )
    assert score_pair(london, lagos, ctx).overlap == 2000
    assert score_pair(london, new_york, ctx).overlap_minutes == 3 * 60
    assert score_pair(london, new_york, ctx).overlap == 2000 * 3 // 4
    assert score_pair(london, auckland, ctx).overlap == 0


def test_sector_mode_rewards_similarity_or_variety() -> None:
    a = make_applicant(1, sector="public")
    b = make_applicant(2, sector="public")
    c = make_applicant(3, sector="school")
    similar = ScoringContext.build([a, b, c])
    varied = ScoringContext.build([a, b, c], MatchWeights(sector_mode="varied"))
    assert score_pair(a, b, similar).sector == 1000
    assert score_pair(a, c, similar).sector == 0
    assert score_pair(a, b, varied).sector == 0
    assert score_pair(a, c, varied).sector == 1000


def test_weights_round_trip_through_json_and_are_checked() -> None:
    weights = MatchWeights(shared_interests=50, sector_mode="varied")
    assert MatchWeights.from_dict(json.loads(json.dumps(weights.to_dict()))) == weights
    with pytest.raises(ValueError, match="unknown match weight settings: colour"):
        MatchWeights.from_dict({"colour": 1})
    with pytest.raises(ValueError, match="whole number"):
        MatchWeights(preference=-1)
    with pytest.raises(ValueError, match="sector_mode"):
        MatchWeights(sector_mode="random")
    with pytest.raises(ValueError, match="waking hours"):
        MatchWeights(day_start_hour=22, day_end_hour=8)


def test_the_default_score_is_out_of_100() -> None:
    a = make_applicant(1, interests={"zines"}, career_stage="early")
    b = make_applicant(2, interests={"zines"}, career_stage="early", timezone="Europe/Paris")
    filler = [make_applicant(i, interests={"other"}) for i in range(3, 40)]
    ctx = ScoringContext.build([a, b, *filler])
    score = score_pair(a, b, ctx)
    assert 75 < score.points <= 100
    assert (
        score.total == score.interests + score.preference + score.career_stage + score.overlap + score.sector
    )


people_strategy = st.lists(
    st.builds(
        make_applicant,
        member_id=st.just(0),
        timezone=st.sampled_from(ZONES),
        sector=st.sampled_from(["academic", "public", "museum"]),
        career_stage=st.sampled_from(["student", "early", "mid", "senior", "emeritus"]),
        interests=st.frozensets(st.sampled_from(INTERESTS), max_size=4),
        match_preference=st.sampled_from(["interests", "career_stage", "open"]),
    ),
    min_size=1,
    max_size=12,
)
weights_strategy = st.builds(
    MatchWeights,
    shared_interests=st.integers(0, 1000),
    preference=st.integers(0, 1000),
    waking_overlap=st.integers(0, 1000),
    sector=st.integers(0, 1000),
    career_stage=st.integers(0, 1000),
    sector_mode=st.sampled_from(["similar", "varied"]),
)


@settings(max_examples=60, deadline=None)
@given(people=people_strategy, weights=weights_strategy, on=st.one_of(st.none(), st.dates()))
def test_the_block_scorer_agrees_exactly_with_score_pair(people, weights, on) -> None:
    ctx = ScoringContext.build(people, weights, reference_date=on)
    scorer = PairScorer(people, ctx)
    block = scorer.block(np.arange(len(people)))
    for i, a in enumerate(people):
        for j, b in enumerate(people):
            if i != j:
                assert int(block[i, j]) == score_pair(a, b, ctx).total
                assert score_pair(a, b, ctx).total == score_pair(b, a, ctx).total
