"""Terminal output of a scan: the progress bar and the table of clusters.

Every piece of user data (file names, article text) goes into ``rich.text.Text``
objects, never into markup strings, so it prints as inert text.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import polars as pl
from rich.console import Console, Group
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from .pipeline import STAGES
from .pipeline import Progress as ProgressFn
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
    table = Table(
        title="Clusters of copies",
        title_justify="left",
        caption="in src: share of the member's text found in the source; src in: share of the source in the member",
        caption_justify="left",
    )
    table.add_column("#", justify="right")
    table.add_column("member", overflow="fold")
    table.add_column("to source")
    for name in ("Jaccard", "in src", "src in"):
        table.add_column(name, justify="right", width=7)
    for cid, (src, members) in enumerate(zip(result.clusters.sources, result.clusters.members)):
        for n, m in enumerate([src] + [m for m in members if m != src]):
            first = Text(str(cid)) if n == 0 else Text("")
            name = Text(inert(ids[m]), style="bold" if m == src else "")
            if m == src:
                table.add_row(first, name, Text("source", style="bold"), "", "", "")
                continue
            pair = pairs.get((m, src))
            if pair is None:
                table.add_row(first, name, Text("via others", style="dim"))
                continue
            mine = pair["a"] == m
            m_in_src, src_in_m = (pair["a_in_b"], pair["b_in_a"]) if mine else (pair["b_in_a"], pair["a_in_b"])
            relation = pair["relation"]
            if relation == "contains":
                relation = "contains it" if mine else "inside it"
            table.add_row(
                first,
                name,
                Text(relation, style=RELATION_STYLE.get(pair["relation"], "")),
                f"{pair['jaccard']:.2f}",
                f"{m_in_src:.2f}",
                f"{src_in_m:.2f}",
                end_section=m == members[-1] or (m == src and len(members) == 1),
            )
        table.rows[-1].end_section = True
    parts = [table] if result.clusters.sources else []
    partial = result.pairs.filter(pl.col("relation") == "partial")
    if partial.height:
        pt = Table(title="Shared passages outside clusters (partial)", title_justify="left")
        for name in ("a", "b", "Jaccard", "a in b", "b in a"):
            pt.add_column(name, justify="left" if name in "ab" else "right")
        for r in partial.iter_rows(named=True):
            pt.add_row(
                Text(inert(ids[r["a"]])),
                Text(inert(ids[r["b"]])),
                f"{r['jaccard']:.2f}",
                f"{r['a_in_b']:.2f}",
                f"{r['b_in_a']:.2f}",
            )
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
