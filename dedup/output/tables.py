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
        "copy": pl.Utf8(),
        "direction_by": pl.Utf8(),
        "direction_confidence": pl.Float64(),
        "phrase": pl.Utf8(),
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


def covering(
    offsets: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    span_doc: np.ndarray,
    span_start: np.ndarray,
    span_end: np.ndarray,
    span_other: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``shared_with`` of many documents at once, vectorised: document d's paragraphs are
    ``starts/ends[offsets[d]:offsets[d+1]]``; span k lies in document ``span_doc[k]`` and is shared with
    ``span_other[k]``. Returns (paragraph, other) for every paragraph more than half of which lies in that
    other's spans (``mostly_inside``: overlaps summed over its spans), sorted by paragraph then other."""
    span_doc = np.asarray(span_doc, dtype=np.int64)
    per = offsets[span_doc + 1] - offsets[span_doc]  # each span meets every paragraph of its document
    rep = np.repeat(np.arange(len(span_doc)), per)
    para = np.repeat(offsets[span_doc], per) + np.arange(int(per.sum())) - np.repeat(np.cumsum(per) - per, per)
    overlap = np.minimum(span_end[rep], ends[para]) - np.maximum(span_start[rep], starts[para])
    overlap = np.clip(overlap, 0, None).astype(np.int64)
    if not len(para):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    width = int(np.max(span_other)) + 1
    keys, inverse = np.unique(para * width + np.asarray(span_other, dtype=np.int64)[rep], return_inverse=True)
    total = np.zeros(len(keys), dtype=np.int64)
    np.add.at(total, inverse, overlap)
    para, other = keys // width, keys % width
    keep = total * 2 > np.maximum(ends[para] - starts[para], 1)
    return para[keep], other[keep]


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


# What a query result (``dedup query``) adds to each table, after the documented columns: whether a
# document is an indexed one, and for a pair (and its passages) the query article and the indexed one.
QUERY_COLUMNS: dict[str, dict[str, pl.DataType]] = {
    "documents": {"indexed": pl.Boolean()},
    "pairs": {"query": pl.Utf8(), "indexed": pl.Utf8()},
    "paragraphs": {"indexed": pl.Boolean()},
    "passages": {"query": pl.Utf8(), "indexed": pl.Utf8()},
}


def tables_from_dict(data: dict[str, Any], extra: dict[str, dict[str, pl.DataType]] | None = None) -> dict:
    """The four tables built from a result dict (the JSON contract), each in its documented schema followed
    by the ``extra`` columns (``QUERY_COLUMNS`` for a query result) that the dict's rows carry.

    A document is known by (``indexed``, id): a query article and an indexed one may share an id. Ids and
    paths are taken as the dict shows them (already escaped)."""
    extra = extra or {t: {} for t in TABLES}
    docs = data["documents"]
    sources = {c["id"]: c["source"] for c in data["clusters"]}
    key = {id(d): (bool(d.get("indexed")), d["id"]) for d in docs}
    cluster = {key[id(d)]: d.get("cluster") for d in docs}
    sharers: dict[tuple[bool, str], list[tuple[str, np.ndarray]]] = {}
    pair_rows, passage_rows = [], []
    for p in data["pairs"]:
        a_key, b_key = _pair_keys(p)
        spans = np.array(
            [[s["a_start"], s["a_end"], s["b_start"], s["b_end"]] for s in p.get("passages") or []], dtype=np.int64
        ).reshape(-1, 4)
        if cluster.get(a_key) is not None and cluster.get(a_key) == cluster.get(b_key):
            sharers.setdefault(a_key, []).append((p["b"], spans[:, 0:2]))
            sharers.setdefault(b_key, []).append((p["a"], spans[:, 2:4]))
        pair_rows.append({c: p.get(c) for c in (*SCHEMAS["pairs"], *extra["pairs"])})
        own = {c: p.get(c) for c in extra["passages"]}
        offsets = ("a_start", "a_end", "b_start", "b_end")
        passage_rows.extend({"a": p["a"], "b": p["b"], **dict(zip(offsets, s)), **own} for s in spans.tolist())
    doc_rows, para_rows = [], []
    for d in docs:
        row = {c: d.get(c) for c in (*SCHEMAS["documents"], *extra["documents"])}
        row["source"] = sources.get(d.get("cluster"))
        doc_rows.append(row)
        paras = [(p["start"], p["end"]) for p in d.get("paragraphs") or []]
        shared = shared_with(paras, sharers.get(key[id(d)], []))
        own = {c: d.get(c) for c in extra["paragraphs"]}
        for p, who in zip(d.get("paragraphs") or [], shared):
            para_rows.append(
                {"doc": d["id"], "start": p["start"], "end": p["end"], "label": p["label"], "shared_with": who, **own}
            )
    rows = {"documents": doc_rows, "pairs": pair_rows, "paragraphs": para_rows, "passages": passage_rows}
    return {t: conform(pl.DataFrame(rows[t], schema=SCHEMAS[t] | extra[t]), t) for t in TABLES}


def _pair_keys(pair: dict[str, Any]) -> tuple[tuple[bool, str], tuple[bool, str]]:
    """The (indexed, id) of a pair's two documents: in a query result one side is the indexed article."""
    indexed = pair.get("indexed")
    if indexed is None:
        return (False, pair["a"]), (False, pair["b"])
    b_indexed = pair["b"] == indexed  # an article queried against its own indexed copy: a is the query
    return (not b_indexed, pair["a"]), (b_indexed, pair["b"])
