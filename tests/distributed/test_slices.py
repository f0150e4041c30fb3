"""A shuffle's slice files (``partitioned._write_slices``): each reader's rows of every column in one block, read
alone by the reader (``_read_slice``: header, bounds, one ``preadv``) or whole by a merge (``_read_whole``), give back
exactly the rows written, whatever the columns' dtypes and the readers' bounds."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.distributed.partitioned import _read_slice, _read_whole, _write_slices

# Up to 10 columns: a header of more than 8 dtypes is read again whole (past the first 80 bytes).
_KINDS = [np.uint64, np.int64, np.int32, np.float32, np.int8, np.uint16]
_DTYPES = st.lists(st.sampled_from(_KINDS), min_size=1, max_size=10)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 40), st.integers(1, 6), _DTYPES, st.data())
def test_each_reader_gets_its_rows_of_every_column_and_a_merge_all(tmp_path_factory, rows, readers, dtypes, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, rows), min_size=readers - 1, max_size=readers - 1)))
    first = data.draw(st.integers(0, 3))  # rows before the first reader's are not any reader's
    bounds = [first + c for c in [0, *cuts, rows]]
    rng = np.random.default_rng(rows + readers)
    columns = [(rng.integers(0, 100, first + rows + 2) * 3).astype(dt) for dt in dtypes]
    path = tmp_path_factory.mktemp("slices") / "file.bin"
    _write_slices(path, columns, bounds)
    for t in range(readers):
        got = _read_slice(path, t)
        assert len(got) == len(columns)
        for g, c in zip(got, columns):
            assert g.dtype == c.dtype and np.array_equal(g, c[bounds[t] : bounds[t + 1]])
    whole, at = _read_whole(path)
    assert np.array_equal(at, np.asarray(bounds) - bounds[0])
    for w, c in zip(whole, columns):
        assert w.dtype == c.dtype and np.array_equal(w, c[bounds[0] : bounds[-1]])
