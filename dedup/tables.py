"""The four tables of a scan result with fixed column types: documents, pairs, paragraphs, passages, and
who shares each paragraph.

These are what the tabular exports (``.jsonl``, ``.csv``, ``.parquet``) hold, one file each
(``ScanResult.tables``). The
types are fixed here, not inferred from the data, so a column that happens to be all null (a corpus
without dates) or a table with no rows still reads back with the documented types.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import polars as pl

TABLES = ("documents", "pairs", "paragraphs", "passages")

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "documents": {
        "id": pl.Utf8(),
        "path": pl.Utf8(),
        "chars": pl.Int64(),
        "bytes": pl.Int64(),
        "date": pl.Utf8(),
        "cluster": pl.Int64(),
        "role": pl.Utf8(),
        "source": pl.Utf8(),
        "title": pl.Utf8(),
        "url": pl.Utf8(),
        "site": pl.Utf8(),
        "encoding": pl.Utf8(),
    },
    "pairs": {
        "a": pl.Utf8(),
        "b": pl.Utf8(),
        "relation": pl.Utf8(),
        "jaccard": pl.Float64(),
        "a_in_b": pl.Float64(),
        "b_in_a": pl.Float64(),
    },
    "paragraphs": {
        "doc": pl.Utf8(),
        "start": pl.Int64(),
        "end": pl.Int64(),
        "label": pl.Utf8(),
        "shared_with": pl.List(pl.Utf8()),
    },
    "passages": {
        "a": pl.Utf8(),
        "b": pl.Utf8(),
        "a_start": pl.Int64(),
        "a_end": pl.Int64(),
        "b_start": pl.Int64(),
        "b_end": pl.Int64(),
    },
}


def csv_schema(table: str) -> dict[str, pl.DataType]:
    """The schema to read a CSV export back with: nested columns are JSON text there."""
    return {c: pl.Utf8() if isinstance(t, pl.List | pl.Struct) else t for c, t in SCHEMAS[table].items()}


def conform(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """``frame`` with the table's documented columns first, in their types (missing ones all null).

    Columns a newer result adds beyond the schema are kept after them; one whose type is Null
    (nothing known for any row) becomes text, so it never reads back as type Null.
    """
    schema = SCHEMAS[table]
    cols = [
        (pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype=dtype)).alias(name)
        for name, dtype in schema.items()
    ]
    extra = [
        pl.col(name).cast(pl.Utf8) if dtype == pl.Null else pl.col(name)
        for name, dtype in frame.schema.items()
        if name not in schema
    ]
    return frame.select(cols + extra)


def shared_with(paragraphs: Sequence[tuple[int, int]], sharers: Iterable[tuple[str, np.ndarray]]) -> list[list[str]]:
    """For each paragraph (start, end), the ids whose shared passages (spans in this text) cover most of it."""
    sharers = list(sharers)
    out: list[list[str]] = []
    for start, end in paragraphs:
        out.append([other for other, spans in sharers if mostly_inside(start, end, spans)])
    return out


def mostly_inside(start: int, end: int, spans: np.ndarray) -> bool:
    """Whether more than half of ``[start, end)`` lies in the (n, 2) ``spans``."""
    if len(spans) == 0:
        return False
    overlap = np.clip(np.minimum(spans[:, 1], end) - np.maximum(spans[:, 0], start), 0, None).sum()
    return overlap * 2 > max(end - start, 1)


def sharers_by_document(data: dict[str, Any]) -> dict[str, list[tuple[str, np.ndarray]]]:
    """From a result dict (the JSON contract): per document, the cluster co-members it shares passages with.

    Only pairs inside one cluster count, as in the paragraph labels: text shared with an article of
    another cluster (a partial pair) is not what makes a paragraph syndicated.
    """
    cluster = {d["id"]: d.get("cluster") for d in data["documents"]}
    out: dict[str, list[tuple[str, np.ndarray]]] = {}
    for pair in data["pairs"]:
        a, b = pair["a"], pair["b"]
        if cluster.get(a) is None or cluster.get(a) != cluster.get(b):
            continue
        rows = pair.get("passages") or []
        spans = np.array([[p["a_start"], p["a_end"], p["b_start"], p["b_end"]] for p in rows], dtype=np.int64)
        spans = spans.reshape(-1, 4)
        out.setdefault(a, []).append((b, spans[:, 0:2]))
        out.setdefault(b, []).append((a, spans[:, 2:4]))
    return out
