"""Who gets a place in a round: the optional country cap, first come, first served. Pure.

ILN capped any one country at 20% of a round. The round's size is not known while signups are
open, so the cap is measured against the places taken so far, with a small floor so the first
members of a country are never turned away. A member over the cap waits; as the round grows (or
someone withdraws) the cap is checked again and the waiting list moves up in arrival order.
A place once given is never taken back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

ENROLLED = "enrolled"
WAITLISTED = "waitlisted"
WITHDRAWN = "withdrawn"

# However small the round, this many members of one country always fit.
CAP_FLOOR = 2


@dataclass(frozen=True)
class Place:
    participant_id: int
    country: str
    status: str  # enrolled, waitlisted or withdrawn; entries come in arrival order


def country_limit(percent: int, enrolled_total: int) -> int:
    """How many members of one country the round can hold once one more person is enrolled."""
    return max(CAP_FLOOR, (percent * (enrolled_total + 1)) // 100)


def admits(counts: Counter[str], enrolled_total: int, country: str, percent: int | None) -> bool:
    if percent is None:
        return True
    return counts[country] + 1 <= country_limit(percent, enrolled_total)


def promotions(places: Sequence[Place], percent: int | None) -> list[int]:
    """The waitlisted participants who now fit, in arrival order."""
    enrolled = [p for p in places if p.status == ENROLLED]
    counts = Counter(p.country for p in enrolled)
    total = len(enrolled)
    promoted: list[int] = []
    waiting = [p for p in places if p.status == WAITLISTED]
    changed = True
    while changed:  # each promotion raises the limit, which may let an earlier waiter in
        changed = False
        for place in waiting:
            if place.participant_id in promoted:
                continue
            if admits(counts, total, place.country, percent):
                promoted.append(place.participant_id)
                counts[place.country] += 1
                total += 1
                changed = True
                break
    return promoted
