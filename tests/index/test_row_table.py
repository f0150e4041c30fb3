"""A query's table made from its rows as dicts (``service._RowTable``) is the table phase 2 gets from a frame of
those rows (``DocTable(pl.DataFrame(rows, schema=DOC_SCHEMA))``): the same per-article columns, sites, frame,
and the same after ``take`` (the answer's rows)."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.featurestore import DOC_SCHEMA
from dedup.index.service import _RowTable
from dedup.phase2 import DocTable

_TEXT = st.one_of(st.none(), st.text(max_size=6))
_ROW = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=8),
        "path": st.text(max_size=8),
        "kind": st.sampled_from(["text", "html"]),
        "title": _TEXT,
        "url": _TEXT,
        "site": st.one_of(st.none(), st.sampled_from(["a.example", "b.example", "ä.example", ""])),
        "date": st.one_of(st.none(), st.sampled_from(["2024-01-02", "2023-12-31"])),
        "encoding": st.one_of(st.none(), st.just("utf-8")),
        "chars": st.integers(0, 2**40),
        "bytes": st.integers(0, 2**40),
        "body_start": st.integers(0, 2**20),
        "content_hash": st.integers(0, 2**64 - 1),
        "n_shingles": st.integers(0, 2**31),
        "has_text": st.booleans(),
        "cut": st.integers(-1, 2**20),
    }
)


def _same(a: DocTable, b: DocTable) -> None:
    assert a.ids == b.ids and a.dates == b.dates
    for name in ("sizes", "content", "has_text", "cut", "body_start", "chars"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    assert np.array_equal(a.site_codes(), b.site_codes())
    assert a.frame.equals(b.frame, null_equal=True) and a.frame.schema == b.frame.schema


@settings(max_examples=30, deadline=None)
@given(rows=st.lists(_ROW, min_size=1, max_size=12), data=st.data())
def test_a_table_from_row_dicts_is_the_table_from_their_frame(rows, data):
    polars_table = DocTable(pl.DataFrame(rows, schema=DOC_SCHEMA))
    row_table = _RowTable(rows)
    _same(row_table, polars_table)
    keep = np.asarray(sorted(data.draw(st.sets(st.integers(0, len(rows) - 1), min_size=1))), dtype=np.int64)
    _same(row_table.take(keep), polars_table.take(keep))
