"""The augmenting-path search reaches a maximum-cardinality matching on any graph."""

from __future__ import annotations

import numpy as np
import rustworkx as rx
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.matching.cardinality import augment_to_maximum


@st.composite
def graphs_with_a_matching(draw):
    n = draw(st.integers(0, 16))
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    edges = draw(st.sets(st.sampled_from(pairs), max_size=40)) if pairs else set()
    # a random (not necessarily maximal) starting matching from the edges
    mate = np.full(n, -1, dtype=np.int64)
    for a, b in draw(st.permutations(sorted(edges))):
        if mate[a] < 0 and mate[b] < 0 and draw(st.booleans()):
            mate[a], mate[b] = b, a
    return n, edges, mate


@settings(max_examples=150, deadline=None)
@given(graphs_with_a_matching())
def test_augmenting_reaches_the_maximum_cardinality(case) -> None:
    n, edges, mate = case
    adjacency = np.zeros((n, n), dtype=bool)
    for a, b in edges:
        adjacency[a, b] = adjacency[b, a] = True
    augment_to_maximum(mate, lambda v: adjacency[v], adjacency.any(axis=1))
    for a, b in enumerate(mate.tolist()):
        if b >= 0:
            assert mate[b] == a
            assert adjacency[a, b]
    graph = rx.PyGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from_no_data(sorted(edges))
    best = len(rx.max_weight_matching(graph, max_cardinality=True))
    assert int((mate >= 0).sum()) == 2 * best


def test_an_odd_cycle_needs_a_blossom() -> None:
    # A 5-cycle 0-1-2-3-4 with a tail 4-5; 1=2 and 3=4 matched, 0 and 5 free: the only augmenting
    # path (0-1=2-3=4-5... through the blossom) needs contraction to be found.
    n = 6
    adjacency = np.zeros((n, n), dtype=bool)
    for a, b in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0), (4, 5)]:
        adjacency[a, b] = adjacency[b, a] = True
    mate = np.array([-1, 2, 1, 4, 3, -1])
    assert augment_to_maximum(mate, lambda v: adjacency[v], adjacency.any(axis=1)) == 1
    assert (mate >= 0).all()
