"""Connected components by a tree of tasks (``dedup.distributed.components``) are ``cluster.components`` over all
the edges at once, however the edges are split and however many maps a task merges."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.cluster import components
from dedup.distributed.components import tree_components
from tests.support.executors import Pickling


@st.composite
def split_edges(draw):
    """A graph of up to 60 nodes, its edges (self-loops and repeats too), each edge's partition and a fan-in."""
    n = draw(st.integers(1, 60))
    node = st.integers(0, n - 1)
    edges = draw(st.lists(st.tuples(node, node), max_size=120))
    parts = draw(st.integers(1, 12))
    where = draw(st.lists(st.integers(0, parts - 1), min_size=len(edges), max_size=len(edges)))
    return n, np.asarray(edges, dtype=np.int64).reshape(-1, 2), np.asarray(where, dtype=np.int64), parts


@settings(max_examples=150, deadline=None)
@given(split_edges(), st.integers(2, 5))
def test_tree_merged_union_find_is_one_union_find_over_all_edges(graph, fan_in):
    n, edges, where, parts = graph
    chunks = [edges[where == k] for k in range(parts)]  # some partitions empty
    run = Pickling()
    found = tree_components(n, chunks, run, fan_in=fan_in)
    assert np.array_equal(found, components(n, edges))
    assert run.calls.count("_leaf") == parts
    if parts > 1:
        assert "_merge" in run.calls
