"""Label's shared spans cut batch by batch from an index of the pairs (``phase2._SharedSides``), as a cluster's
driver sends them, are each article's sides of the passages it shares within its cluster, in pair order: what
the driver once built for every article at once (a dict of arrays, one an article)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.phase2 import _para_index, _SharedSides


def _expected(cluster, a, b, by_all, passages) -> dict[int, np.ndarray]:
    """Per article, its (start, end, by_all) rows, pair by pair (the rule, written plainly)."""
    out: dict[int, list[np.ndarray]] = {}
    for x, y, flag, p in zip(a.tolist(), b.tolist(), by_all.tolist(), passages):
        if cluster[x] >= 0 and cluster[x] == cluster[y] and len(p):
            mark = np.full((len(p), 1), int(flag), dtype=np.int64)
            out.setdefault(x, []).append(np.hstack([p[:, 0:2], mark]))
            out.setdefault(y, []).append(np.hstack([p[:, 2:4], mark]))
    return {d: np.concatenate(v) for d, v in out.items()}


@st.composite
def scans(draw):
    n = draw(st.integers(2, 12))
    cluster = np.array(draw(st.lists(st.integers(-1, 2), min_size=n, max_size=n)), dtype=np.int64)
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] < p[1])))
    a = np.array([p[0] for p in pairs], dtype=np.int64)
    b = np.array([p[1] for p in pairs], dtype=np.int64)
    by_all = np.array(draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs))), dtype=bool)
    passages = [
        np.array(
            draw(st.lists(st.lists(st.integers(0, 99), min_size=4, max_size=4), max_size=3)), dtype=np.int64
        ).reshape(-1, 4)
        for _ in pairs
    ]
    cuts = sorted(draw(st.sets(st.integers(1, n - 1))))
    return n, cluster, a, b, by_all, passages, cuts


@settings(max_examples=60, deadline=None)
@given(scans())
def test_each_batch_gets_its_articles_sides_in_pair_order(scan):
    n, cluster, a, b, by_all, passages, cuts = scan
    expected = _expected(cluster, a, b, by_all, passages)
    sides = _SharedSides.of(cluster, a, b, by_all, passages)
    assert np.flatnonzero(sides.touched(n)).tolist() == sorted(expected)
    for docs in np.split(np.arange(n), cuts):  # batches: ascending runs of articles, as ``_doc_batches`` cuts them
        rows = sides.rows(docs, passages)
        assert rows.shape[1] == 4
        for j, d in enumerate(docs.tolist()):
            mine = rows[rows[:, 0] == j, 1:]
            assert np.array_equal(mine, expected.get(d, np.zeros((0, 3), dtype=np.int64)))
        assert np.array_equal(rows[:, 0], np.sort(rows[:, 0], kind="stable"))  # by article


def test_paragraph_positions_of_some_articles():
    offsets = np.array([0, 2, 2, 5, 6])
    assert _para_index(offsets, np.array([0, 2, 3])).tolist() == [0, 1, 2, 3, 4, 5]
    assert _para_index(offsets, np.array([1, 3])).tolist() == [5]
    assert _para_index(offsets, np.zeros(0, dtype=np.int64)).tolist() == []
