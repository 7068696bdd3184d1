"""Tandem's matching engine: pure Python (numpy and rustworkx), no Discord and no database.

    from bot.matching import Applicant, MatchRequest, propose_matches
    result = propose_matches(MatchRequest(applicants=people, history_pairs=past, seed=7))

Modules: `model` (inputs and outputs), `constraints` (hard rules), `scoring` (soft score),
`hours` (waking-hours overlap), `solver` (the round as a whole), `cardinality` (maximum-cardinality
repair), `explain` (reasons in plain words), `quality` (the round's figures).
"""

from bot.matching.constraints import Constraints, Rule
from bot.matching.explain import match_reasons
from bot.matching.model import (
    Applicant,
    CountryCounts,
    MatchInputError,
    MatchRequest,
    MatchResult,
    MatchWeights,
    ProposedMatch,
    RoundQuality,
    Unmatched,
    pair_key,
)
from bot.matching.quality import format_quality, round_quality
from bot.matching.scoring import PairScore, ScoringContext, score_pair
from bot.matching.solver import propose_matches

__all__ = [
    "Applicant",
    "Constraints",
    "CountryCounts",
    "MatchInputError",
    "MatchRequest",
    "MatchResult",
    "MatchWeights",
    "PairScore",
    "ProposedMatch",
    "RoundQuality",
    "Rule",
    "ScoringContext",
    "Unmatched",
    "format_quality",
    "match_reasons",
    "pair_key",
    "propose_matches",
    "round_quality",
    "score_pair",
]
