"""Verification's story rounds by pair partition (``distributed.partitioned.StoredPairs.derived``): the (document,
partner, shared) rows met by article partition, the ranking's look-ups asked back of the pair partitions, give
``verify._derived_from``'s edges over all the pairs at once, in its order, whatever the pair and article partitions;
each task of the shuffle writes one file (O(partitions) files a wave, not one a pair of partitions)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.distributed import partitioned
from dedup.distributed.partitioned import PartitionedEvidence, _StoredPart, doc_cuts
from dedup.options import VerifyParams
from dedup.verify import _derived_from
from tests.support.executors import Pickling


@st.composite
def pair_sets(draw):
    """Up to 24 articles, distinct pairs among them with what each shares (around the thresholds: ``min_shared``
    8, ``derived_min_shared`` 25), the articles' sizes, own text and groups, and a partition count."""
    n = draw(st.integers(2, 24))
    codes = draw(st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=120))
    pairs = np.array(sorted({(min(a, b), max(a, b)) for a, b in codes if a != b}), dtype=np.int64).reshape(-1, 2)
    shared = np.array(draw(st.lists(st.integers(0, 90), min_size=len(pairs), max_size=len(pairs))), dtype=np.int64)
    sizes = np.array(draw(st.lists(st.integers(20, 160), min_size=n, max_size=n)), dtype=np.int64)
    own = np.array([draw(st.integers(0, int(s))) for s in sizes], dtype=np.int64)
    leader = draw(st.lists(st.integers(0, n - 1), min_size=n, max_size=n))
    groups = np.minimum(np.arange(n), np.array(leader, dtype=np.int64))  # a label at or below each article
    return n, pairs, shared, sizes, own, groups, draw(st.integers(1, 7)), draw(st.integers(1, 40))


@settings(max_examples=25, deadline=None)
@given(pair_sets())
def test_derived_from_by_partition_is_the_global_one(tmp_path_factory, case):
    n, pairs, shared, sizes, own, groups, parts, doc_rows = case
    work = tmp_path_factory.mktemp("pairs")
    first = np.searchsorted(pairs[:, 0], doc_cuts(n, parts)) if len(pairs) else np.zeros(parts - 1, dtype=np.int64)
    bounds = [0, *first.tolist(), len(pairs)]
    counts = []
    for r in range(parts):  # the pair partitions as lists_and_evidence leaves them: by first article's range
        mine = pairs[bounds[r] : bounds[r + 1]]
        empty = np.zeros(0, dtype=np.int64)
        np.savez(work / f"pairs-{r:05d}.npz", pairs=mine, entry_pair=empty, entry_list=empty)
        _StoredPart(work, r).set("shared", shared[bounds[r] : bounds[r + 1]])
        counts.append((len(mine), 0))
    run = Pickling()
    params = VerifyParams()
    written = []

    def write(path, table, bounds):
        written.append(path.name)
        return real(path, table, bounds)

    real = partitioned._write_slices
    with pytest.MonkeyPatch.context() as mp:  # article partitions of doc_rows rows: from one to one a row
        mp.setattr(partitioned, "DOC_ROWS", doc_rows)
        mp.setattr(partitioned, "_write_slices", write)
        found = PartitionedEvidence(work, counts, n, run).parts().derived("shared", groups, sizes, own, params)
        docs = partitioned.doc_parts(2 * len(pairs))
    expected = _derived_from(pairs, shared, groups, sizes, own, params)
    assert found.shape == expected.shape and np.array_equal(found, expected)
    for step in ("_derived_rows_task", "_derived_answer_task"):
        assert run.calls.count(step) == parts
    for step in ("_derived_ask_task", "_derived_take_task"):
        assert run.calls.count(step) == docs
    assert len(written) == len(set(written)) == 2 * parts + docs  # one file a task that writes
    assert not list(work.glob("rows-*")) and not list(work.glob("ask-*")) and not list(work.glob("answer-*"))
