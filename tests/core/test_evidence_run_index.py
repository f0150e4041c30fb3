"""``arrays.run_index``: the indices of runs laid end to end, as the concatenation of their ranges."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.arrays import run_index

runs = st.lists(st.tuples(st.integers(0, 10**12), st.integers(0, 6)), max_size=40)


@settings(max_examples=100, deadline=None)
@given(runs)
def test_run_index_is_the_concatenated_ranges(pairs: list[tuple[int, int]]) -> None:
    starts = np.array([s for s, _ in pairs], dtype=np.int64)
    lengths = np.array([n for _, n in pairs], dtype=np.int64)
    naive = np.concatenate([np.arange(s, s + n, dtype=np.int64) for s, n in pairs] or [np.zeros(0, np.int64)])
    got = run_index(starts, lengths)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, naive)
    # The inline idiom it replaces gives the same (where it was written with np.repeat and np.arange).
    inline = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))
    np.testing.assert_array_equal(got, inline)


def test_run_index_gathers_runs_of_a_csr() -> None:
    """The members of chosen rows of a CSR array, in the order asked (repeats and empty rows included)."""
    offsets = np.array([0, 3, 3, 7, 9])
    values = np.arange(100, 109)
    rows = np.array([2, 0, 1, 2, 3])
    got = values[run_index(offsets[rows], offsets[rows + 1] - offsets[rows])]
    assert got.tolist() == [103, 104, 105, 106, 100, 101, 102, 103, 104, 105, 106, 107, 108]
