"""The round's figures, as the preview reports them."""

from __future__ import annotations

from bot.matching import MatchRequest, format_quality, propose_matches
from tests.benchmarks.cohort import make_applicant


def test_the_quality_summary_counts_what_a_coordinator_asks_about() -> None:
    people = [
        make_applicant(1, country="CL", languages={"es"}),  # nobody else speaks Spanish
        make_applicant(2, country="AU", interests={"zines"}),
        make_applicant(3, country="BR", interests={"zines"}),
        make_applicant(4, country="CA", interests={"maps"}),
        make_applicant(5, country="DE", interests={"archives"}),
        make_applicant(6, country="EG"),
    ]
    result = propose_matches(MatchRequest(applicants=people))
    q = result.quality
    assert (q.participants, q.matched, q.unmatched, q.matches, q.trios) == (6, 5, 1, 2, 1)
    assert q.no_shared_interest == 1
    assert q.worst_score == min(m.score for m in result.matches)
    assert q.mean_score == round(sum(m.score for m in result.matches) / 2, 2)
    assert q.per_country["CL"].unmatched == 1
    assert q.per_country["CL"].matched == 0
    assert q.per_country["AU"].matched == 1
    lines = format_quality(q)
    assert lines[:3] == ["Participants: 6", "Matched: 5 in 2 matches (1 pair, 1 trio)", "Unmatched: 1"]
    assert lines[-1].startswith(
        "Matched per country (6 countries): Australia 1, Brazil 1, Canada 1, Chile 0 (+1 unmatched)"
    )


def test_an_empty_round_has_no_scores() -> None:
    q = propose_matches(MatchRequest(applicants=())).quality
    assert q.mean_score is None
    assert q.worst_score is None
    assert format_quality(q)[:3] == ["Participants: 0", "Matched: 0 in 0 matches (0 pairs)", "Unmatched: 0"]
