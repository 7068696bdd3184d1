"""Maximum-cardinality repair on the full allowed graph, which is never built.

The solver matches on a sparse candidate graph (each person's best partners). That graph may hold
fewer matchable people than the full allowed graph does. Berge's theorem says a matching is of
maximum cardinality exactly when no augmenting path exists, so `augment_to_maximum` searches for
augmenting paths with Edmonds' blossom algorithm (a forest grown from every free person at once),
asking `neighbours(v)` for a person's allowed partners as a boolean numpy row. Each path found is
applied; when the search finishes without one, the matching is certified maximum.

One search costs O(n) row look-ups plus O(n) vectorised work per contraction, so it stays well
under a second at 10,000 people even when the forest spans the whole cohort.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

__all__ = ["augment_to_maximum"]

Neighbours = Callable[[int], np.ndarray]


def augment_to_maximum(mate: np.ndarray, neighbours: Neighbours, active: np.ndarray) -> int:
    """Augment `mate` (partner index or -1, changed in place) until it is a maximum-cardinality
    matching of the graph given by `neighbours`. `active` marks the people with at least one
    allowed partner. Returns the number of augmenting paths applied."""
    applied = 0
    while True:
        roots = np.flatnonzero((mate < 0) & active)
        if len(roots) < 2:
            return applied
        path = _find_augmenting_path(mate, neighbours, roots)
        if path is None:
            return applied
        for first, second in zip(path[0::2], path[1::2], strict=True):
            mate[first] = second
            mate[second] = first
        applied += 1


def _find_augmenting_path(mate: np.ndarray, neighbours: Neighbours, roots: np.ndarray) -> list[int] | None:
    n = len(mate)
    even = np.zeros(n, dtype=bool)
    odd = np.zeros(n, dtype=bool)
    base = np.arange(n)
    parent = np.full(n, -1, dtype=np.int64)
    even[roots] = True
    queue = deque(roots.tolist())

    def walk(v: int) -> list[int]:
        """The alternating path from an even vertex to the root of its tree."""
        path = [v]
        while mate[v] >= 0:
            m = int(mate[v])
            v = int(parent[m])
            path.extend((m, v))
        return path

    def lowest_common_base(a: int, b: int) -> int:
        seen = set()
        while True:
            a = int(base[a])
            seen.add(a)
            if mate[a] < 0:
                break
            a = int(parent[mate[a]])
        while True:
            b = int(base[b])
            if b in seen:
                return b
            if mate[b] < 0:
                return -1
            b = int(parent[mate[b]])

    def mark_path(v: int, top: int, child: int, in_blossom: np.ndarray) -> None:
        while base[v] != top:
            m = int(mate[v])
            in_blossom[base[v]] = True
            in_blossom[base[m]] = True
            parent[v] = child
            child = m
            v = int(parent[m])

    while queue:
        v = queue.popleft()
        allowed = neighbours(v)
        for to in np.flatnonzero(allowed & ~even & ~odd).tolist():
            if even[to] or odd[to]:
                continue
            if mate[to] < 0:  # a free vertex that is not a root: only if `active` was incomplete
                return [*walk(v)[::-1], to]
            parent[to] = v
            odd[to] = True
            m = int(mate[to])
            even[m] = True
            queue.append(m)
        # Even neighbours outside v's blossom: another tree (an augmenting path) or a new blossom.
        # After a contraction most of them join v's blossom, so the candidates are looked up again.
        while True:
            candidates = np.flatnonzero(allowed & even & (base != base[v]))
            if mate[v] >= 0:
                candidates = candidates[candidates != mate[v]]
            if not len(candidates):
                break
            to = int(candidates[0])
            top = lowest_common_base(v, to)
            if top < 0:
                return walk(v)[::-1] + walk(to)
            in_blossom = np.zeros(n, dtype=bool)
            mark_path(v, top, to, in_blossom)
            mark_path(to, top, v, in_blossom)
            members = np.flatnonzero(in_blossom[base])
            base[members] = top
            newly_even = members[~even[members]]
            even[newly_even] = True
            queue.extend(newly_even.tolist())
    return None
