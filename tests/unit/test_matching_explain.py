"""Reasons in plain words, for the preview and the intro message (both partners read them)."""

from __future__ import annotations

from datetime import date

from bot.matching import MatchWeights, ScoringContext, match_reasons
from bot.matching.explain import PartnerOptions, join_words, unmatched_reason
from tests.benchmarks.cohort import make_applicant

WINTER = date(2025, 1, 15)


def reasons(people, weights=None, pinned=False, everyone=None):
    ctx = ScoringContext.build(everyone or people, weights, reference_date=WINTER)
    return "; ".join(match_reasons(people, ctx, pinned=pinned))


def test_a_pair_reads_like_the_issue_example() -> None:
    ana = make_applicant(
        1,
        country="GB",
        timezone="Europe/London",
        interests={"open access", "digital preservation"},
        career_stage="early",
        sector="public",
    )
    bo = make_applicant(
        2,
        country="US",
        timezone="America/New_York",
        interests={"open access", "digital preservation"},
        career_stage="senior",
        sector="academic",
        languages={"en", "es"},
    )
    assert reasons([ana, bo]) == (
        "you both work on digital preservation and open access; "
        "your waking hours overlap 13:00 to 22:00 UTC; you both speak English"
    )


def test_rare_interests_stage_and_sector_are_named() -> None:
    everyone = [make_applicant(i, interests={"outreach"}) for i in range(10, 40)]
    ana = make_applicant(
        1,
        country="CL",
        timezone="America/Santiago",
        languages={"es"},
        interests={"zines", "outreach"},
        career_stage="mid",
        sector="school",
    )
    bo = make_applicant(
        2,
        country="MX",
        timezone="America/Mexico_City",
        languages={"es", "en"},
        interests={"zines", "outreach"},
        career_stage="mid",
        sector="school",
    )
    text = reasons([ana, bo], everyone=[ana, bo, *everyone])
    assert text == (
        "you both work on zines (rare in this round) and outreach; you are both mid-career; "
        "you both work in school libraries; your waking hours overlap 14:00 to 01:00 UTC; "
        "you both speak Spanish"
    )


def test_no_shared_interest_is_said_kindly_and_a_pin_comes_first() -> None:
    ana = make_applicant(1, country="CL", interests={"zines"})
    bo = make_applicant(2, country="MX", interests={"maps"}, sector="other")
    text = reasons([ana, bo], pinned=True)
    assert text.startswith(
        "chosen for you by a coordinator; you have no listed interest in common, "
        "so your goals are a good place to start; you are both mid-career"
    )


def test_neighbouring_stages_are_mentioned_when_someone_asked_for_career_stage() -> None:
    ana = make_applicant(1, career_stage="early", match_preference="career_stage")
    bo = make_applicant(2, country="IE", career_stage="mid")
    assert "you are at neighbouring career stages (early-career and mid-career)" in reasons([ana, bo])


def test_sector_variety_is_explained_in_varied_mode() -> None:
    ana = make_applicant(1, sector="public")
    bo = make_applicant(2, country="IE", sector="academic")
    text = reasons([ana, bo], weights=MatchWeights(sector_mode="varied"))
    assert "you bring different sectors together (academic libraries and public libraries)" in text


def test_a_trio_reads_well_for_all_three() -> None:
    ana = make_applicant(1, name="Ana", country="CL", interests={"zines", "maps"}, languages={"en", "es"})
    bo = make_applicant(
        2, name="Bo", country="NZ", interests={"zines", "archives"}, timezone="Pacific/Auckland"
    )
    cy = make_applicant(3, name="Cy", country="IN", interests={"zines", "maps"}, timezone="Asia/Kolkata")
    text = reasons([ana, bo, cy])
    assert text.startswith(
        "you all work on zines; Ana and Cy both work on maps; you are all mid-career; "
        "you all work in academic libraries; "
    )
    assert text.endswith("you all speak English")


def test_hours_that_never_meet_are_said_plainly() -> None:
    ana = make_applicant(1, timezone="Europe/London")
    bo = make_applicant(2, country="NZ", timezone="Pacific/Auckland")
    text = reasons([ana, bo], weights=MatchWeights(day_start_hour=9, day_end_hour=17))
    assert "your waking hours do not overlap, so you will mostly write rather than call" in text


def options(**kwargs) -> PartnerOptions:
    values = {
        "others": 10,
        "abroad": 8,
        "share_language": 3,
        "history": 0,
        "do_not_match": 0,
        "forbidden": 0,
        "pinned_elsewhere": (),
        "available": 0,
    }
    values.update(kwargs)
    return PartnerOptions(**values)


def test_unmatched_reasons_are_specific() -> None:
    sofia = make_applicant(1, country="CL", languages={"es"})
    assert unmatched_reason(sofia, options(share_language=0)) == (
        "no one outside Chile shares a language with you (Spanish)"
    )
    assert unmatched_reason(sofia, options(history=3)) == (
        "everyone outside Chile who shares a language with you (Spanish) was your partner in an earlier round"
    )
    assert unmatched_reason(sofia, options(share_language=1, do_not_match=1)) == (
        "the only person outside Chile who shares a language with you (Spanish) "
        "is on a do-not-match list with you"
    )
    assert unmatched_reason(sofia, options(forbidden=3)) == (
        "everyone outside Chile who shares a language with you (Spanish) "
        "was kept apart from you by a coordinator"
    )
    assert unmatched_reason(sofia, options(history=2, pinned_elsewhere=("Bo",))) == (
        "everyone outside Chile who shares a language with you (Spanish) is ruled out: "
        "2 were your partners in an earlier round and 1 is pinned by a coordinator to someone else (Bo)"
    )
    assert unmatched_reason(sofia, options(available=2)).startswith("left over: ")
    assert unmatched_reason(sofia, options(abroad=0)) == "everyone else in this round also lives in Chile"
    assert unmatched_reason(sofia, options(others=0)) == "you are the only participant in this round"


def test_join_words() -> None:
    assert join_words([]) == ""
    assert join_words(["a"]) == "a"
    assert join_words(["a", "b", "c"]) == "a, b and c"
