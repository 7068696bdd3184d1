"""The quality of a whole round, as the preview reports it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from bot.matching.model import Applicant, CountryCounts, ProposedMatch, RoundQuality, Unmatched
from bot.matching.scoring import ScoringContext
from bot.validation import country_name

__all__ = ["format_quality", "round_quality"]


def round_quality(
    matches: Sequence[ProposedMatch],
    unmatched: Sequence[Unmatched],
    by_id: Mapping[int, Applicant],
    ctx: ScoringContext | None = None,
) -> RoundQuality:
    scores = [m.score for m in matches]
    matched_ids = [m for match in matches for m in match.member_ids]
    no_shared = 0
    for match in matches:
        members = [by_id[m] for m in match.member_ids]
        if not any(a.interests & b.interests for i, a in enumerate(members) for b in members[i + 1 :]):
            no_shared += 1
    matched_by_country = Counter(by_id[m].country for m in matched_ids)
    unmatched_by_country = Counter(by_id[u.member_id].country for u in unmatched)
    countries = sorted(set(matched_by_country) | set(unmatched_by_country))
    return RoundQuality(
        participants=len(matched_ids) + len(unmatched),
        matched=len(matched_ids),
        unmatched=len(unmatched),
        matches=len(matches),
        trios=sum(1 for m in matches if len(m.member_ids) == 3),
        mean_score=round(sum(scores) / len(scores), 2) if scores else None,
        worst_score=min(scores) if scores else None,
        no_shared_interest=no_shared,
        per_country={c: CountryCounts(matched_by_country[c], unmatched_by_country[c]) for c in countries},
        total_score=round(sum(scores), 2),
    )


def format_quality(quality: RoundQuality) -> list[str]:
    """The preview's figures as lines of text."""
    q = quality
    pairs = q.matches - q.trios
    shape = f"{pairs} pair{'s' if pairs != 1 else ''}"
    if q.trios:
        shape += f", {q.trios} trio{'s' if q.trios != 1 else ''}"
    lines = [
        f"Participants: {q.participants}",
        f"Matched: {q.matched} in {q.matches} match{'es' if q.matches != 1 else ''} ({shape})",
        f"Unmatched: {q.unmatched}",
    ]
    if q.mean_score is not None:
        lines.append(f"Match score: mean {q.mean_score:.1f}, worst {q.worst_score:.1f} (out of 100)")
    lines.append(f"Matches sharing no interest: {q.no_shared_interest}")
    by_name = sorted(q.per_country.items(), key=lambda item: country_name(item[0]))
    parts = []
    for code, counts in by_name:
        text = f"{country_name(code)} {counts.matched}"
        if counts.unmatched:
            text += f" (+{counts.unmatched} unmatched)"
        parts.append(text)
    lines.append(f"Matched per country ({len(by_name)} countries): " + ", ".join(parts))
    return lines
