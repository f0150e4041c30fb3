"""Terminal and file output of a scan: rich tables, progress, and written results.

Every piece of user data (file names, article text) goes into ``rich.text.Text``
objects, never into markup strings, so it prints as inert text.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl
from rich.console import Console, Group
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from .pipeline import STAGES, Progress as ProgressFn
from .result import ScanResult
from .text import inert

RELATION_STYLE = {"exact": "bold green", "near-duplicate": "green", "contains": "cyan", "partial": "yellow"}


@contextlib.contextmanager
def progress_bar(console: Console, enabled: bool) -> Iterator[ProgressFn | None]:
    """A stage progress bar on ``console`` (stderr), or nothing when disabled."""
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("{task.description:<10}"), BarColumn(), TimeElapsedColumn(), console=console, transient=True
    ) as bar:
        task = bar.add_task("scan", total=len(STAGES))

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        yield update


def _pair_lookup(result: ScanResult) -> dict[tuple[int, int], dict]:
    rows = result.pairs.to_dicts()
    return {(r["a"], r["b"]): r for r in rows} | {(r["b"], r["a"]): r for r in rows}


def clusters_table(result: ScanResult) -> Group:
    """Clusters with their members, source, relation to the source, Jaccard and containment."""
    ids = result.corpus.ids
    pairs = _pair_lookup(result)
    table = Table(title="Clusters of copies", title_justify="left", show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("member", overflow="fold", ratio=3)
    for name in ("role", "relation to source"):
        table.add_column(name, ratio=1)
    for name in ("Jaccard", "in source", "source in it"):
        table.add_column(name, justify="right", ratio=1)
    for cid, (src, members) in enumerate(zip(result.clusters.sources, result.clusters.members)):
        cells: list[list[Text]] = [[] for _ in range(6)]
        for m in [src] + [m for m in members if m != src]:
            cells[0].append(Text(inert(ids[m]), style="bold" if m == src else ""))
            cells[1].append(Text("source" if m == src else "copy", style="bold" if m == src else "dim"))
            pair = pairs.get((m, src))
            if m == src or pair is None:
                cells[2].append(Text("" if m == src else "(via other members)", style="dim"))
                cells[3].append(Text(""))
                cells[4].append(Text(""))
                cells[5].append(Text(""))
                continue
            m_in_src, src_in_m = (pair["a_in_b"], pair["b_in_a"]) if pair["a"] == m else (pair["b_in_a"], pair["a_in_b"])
            relation = pair["relation"]
            if relation == "contains":
                relation = "contains source" if pair["a"] == m else "inside source"
            cells[2].append(Text(relation, style=RELATION_STYLE.get(pair["relation"], "")))
            cells[3].append(Text(f"{pair['jaccard']:.2f}"))
            cells[4].append(Text(f"{m_in_src:.2f}"))
            cells[5].append(Text(f"{src_in_m:.2f}"))
        table.add_row(str(cid), *(Text("\n").join(c) for c in cells))
    parts = [table] if result.clusters.sources else []
    partial = result.pairs.filter(pl.col("relation") == "partial")
    if partial.height:
        pt = Table(title="Shared passages outside clusters (partial)", title_justify="left")
        for name in ("a", "b", "Jaccard", "a in b", "b in a"):
            pt.add_column(name, justify="left" if name in "ab" else "right")
        for r in partial.iter_rows(named=True):
            pt.add_row(Text(inert(ids[r["a"]])), Text(inert(ids[r["b"]])), f"{r['jaccard']:.2f}",
                       f"{r['a_in_b']:.2f}", f"{r['b_in_a']:.2f}")
        parts.append(pt)
    n_docs, n_clusters = len(ids), len(result.clusters.sources)
    in_clusters = int((result.clusters.cluster >= 0).sum())
    parts.append(
        Text(
            f"{n_docs} documents, {n_clusters} cluster{'s' * (n_clusters != 1)} covering {in_clusters} documents, "
            f"{result.pairs.height} related pair{'s' * (result.pairs.height != 1)} ({partial.height} partial)."
        )
    )
    return Group(*parts)


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
