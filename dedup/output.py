"""Write a scan result to a file, by the file's suffix (JSON contract or tables via polars)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

import polars as pl

from .result import ScanResult


def _tabular(result: ScanResult) -> tuple[pl.DataFrame, pl.DataFrame]:
    docs = result.documents_frame
    sources = result.clusters_frame.select(cluster="id", source="source")
    docs = docs.join(sources, on="cluster", how="left", maintain_order="left")
    return docs, result.pairs_frame


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, so a failure never leaves half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _write_frame(frame: pl.DataFrame, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        _atomic_write(path, frame.write_parquet)
        return
    if suffix == ".jsonl":
        _atomic_write(path, frame.write_ndjson)
        return
    # CSV has no nested values: lists and structs go in as JSON text.
    nested = [c for c, t in frame.schema.items() if isinstance(t, pl.List | pl.Struct)]
    flat = frame.with_columns(
        pl.Series(c, [json.dumps(v, ensure_ascii=False) for v in frame[c].to_list()]) for c in nested
    )
    _atomic_write(path, flat.write_csv)


def write_output(result: ScanResult, path: Path) -> list[Path]:
    """Write the result by ``path``'s suffix; return the files written.

    ``.json`` holds the whole output contract. The tabular formats (``.jsonl``,
    ``.csv``, ``.parquet``) hold one row per document in ``path`` and one row per
    pair beside it in ``<stem>.pairs<suffix>``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        text = json.dumps(result.to_dict(), ensure_ascii=False, indent=1) + "\n"
        _atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))
        return [path]
    docs, pairs = _tabular(result)
    pairs_path = path.with_name(f"{path.stem}.pairs{path.suffix}")
    _write_frame(docs, path)
    _write_frame(pairs, pairs_path)
    return [path, pairs_path]
