"""Terminal and file output of a scan: rich tables, progress, and written results.

Every piece of user data (file names, article text) goes into ``rich.text.Text``
objects, never into markup strings, so it prints as inert text.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
from rich.console import Console, Group
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from .normalise import normalise_text
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


LABEL_STYLE = {"syndicated": "green", "wrapper": "magenta", "boilerplate": "yellow", "original": "blue"}
ELIDE_KEEP = 280  # characters kept at each end of a long shared passage
NARROW = 100  # below this terminal width, the diff is stacked instead of side by side
_WORD = re.compile(r"\w+(?:['’]\w+)*")


def _tag(label: str) -> Text:
    return Text(f"[{label}]", style=f"bold {LABEL_STYLE.get(label, '')}".strip())


def _changed_spans(a: str, b: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Character spans of the words that differ between two aligned passages."""
    wa, wb = list(_WORD.finditer(a)), list(_WORD.finditer(b))
    na = [normalise_text(m.group()) for m in wa]
    nb = [normalise_text(m.group()) for m in wb]
    spans_a: list[tuple[int, int]] = []
    spans_b: list[tuple[int, int]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, na, nb, autojunk=False).get_opcodes():
        if op != "equal":
            spans_a += [(wa[k].start(), wa[k].end()) for k in range(i1, i2)]
            spans_b += [(wb[k].start(), wb[k].end()) for k in range(j1, j2)]
    return spans_a, spans_b


def _styled(text: str, lo: int, hi: int, spans: list[tuple[int, int]], style: str, marked: str) -> Text:
    """``text[lo:hi]`` made inert, with ``spans`` (absolute offsets) in the ``marked`` style."""
    out = Text()
    pos = lo
    for s, e in sorted(spans):
        s, e = max(s, lo), min(e, hi)
        if s >= e or s < pos:
            continue
        out.append(inert(text[pos:s]), style=style)
        out.append(inert(text[s:e]), style=f"{style} {marked}")
        pos = e
    out.append(inert(text[pos:hi]), style=style)
    return out


def _passage_text(text: str, changed: list[tuple[int, int]], full: bool) -> Text:
    """A shared passage, changed words marked, the middle elided when long unless ``full``."""
    if full or len(text) <= 3 * ELIDE_KEEP:
        return _styled(text, 0, len(text), changed, "green", "bold reverse")
    out = _styled(text, 0, ELIDE_KEEP, changed, "green", "bold reverse")
    hidden = len(text) - 2 * ELIDE_KEEP
    out.append(f" … [{hidden:,} more shared characters; --full shows them] … ", style="dim italic")
    out.append_text(_styled(text, len(text) - ELIDE_KEEP, len(text), changed, "green", "bold reverse"))
    return out


def _unshared(result: ScanResult, doc: int, paras: list[dict]) -> Text:
    text = result.corpus.texts[doc]
    out = Text()
    for n, p in enumerate(paras):
        if n:
            out.append("\n")
        out.append_text(_tag(p["label"]))
        out.append(" ")
        out.append(inert(text[p["start"] : p["end"]]), style=LABEL_STYLE.get(p["label"], ""))
    return out


def _mostly_inside(start: int, end: int, spans: np.ndarray) -> bool:
    if len(spans) == 0:
        return False
    overlap = np.clip(np.minimum(spans[:, 1], end) - np.maximum(spans[:, 0], start), 0, None).sum()
    return overlap * 2 > max(end - start, 1)


def diff_view(result: ScanResult, i: int, j: int, width: int, full: bool = False) -> Group:
    """Two documents with their shared passages aligned row by row, side by side or stacked."""
    ids, texts = result.corpus.ids, result.corpus.texts
    cmp = result.compare(i, j)
    passages = cmp["passages"]
    passages = passages[np.argsort(passages[:, 0], kind="stable")] if len(passages) else passages
    relation = cmp["relation"] or "unrelated"
    header = Text()
    header.append(inert(ids[i]), style="bold")
    header.append("  vs  ")
    header.append(inert(ids[j]), style="bold")
    header.append(f"\nrelation: {relation}", style=RELATION_STYLE.get(relation, "bold"))
    header.append(
        f"   Jaccard {cmp['jaccard']:.2f}   A in B {cmp['a_in_b']:.2f}   B in A {cmp['b_in_a']:.2f}"
        f"   {len(passages)} shared passage{'s' * (len(passages) != 1)}"
    )
    # Unshared paragraphs go into the slot before the passage that follows them in their own text.
    slots_a: list[list[dict]] = [[] for _ in range(len(passages) + 1)]
    slots_b: list[list[dict]] = [[] for _ in range(len(passages) + 1)]
    for doc, cols, slots in ((i, (0, 1), slots_a), (j, (2, 3), slots_b)):
        spans = passages[:, list(cols)] if len(passages) else np.zeros((0, 2), dtype=np.int64)
        for p in result.paragraphs(doc):
            if _mostly_inside(p["start"], p["end"], spans):
                continue
            after = np.flatnonzero(spans[:, 0] >= p["end"]) if len(spans) else np.zeros(0, dtype=np.int64)
            slot = int(after[np.argmin(spans[after, 0])]) if after.size else len(passages)
            slots[slot].append(p)
    rows: list[tuple[Text, Text, Text]] = []
    for k in range(len(passages) + 1):
        if slots_a[k] or slots_b[k]:
            rows.append(
                (Text("not shared", style="dim"), _unshared(result, i, slots_a[k]), _unshared(result, j, slots_b[k]))
            )
        if k < len(passages):
            a0, a1, b0, b1 = passages[k].tolist()
            ta, tb = texts[i][a0:a1], texts[j][b0:b1]
            ca, cb = _changed_spans(ta, tb)
            label = Text(f"shared {k + 1}", style="bold green")
            label.append(f"\nA {a0}-{a1}\nB {b0}-{b1}", style="dim")
            rows.append((label, _passage_text(ta, ca, full), _passage_text(tb, cb, full)))
    legend = Text("legend: ", style="dim")
    for name in ("syndicated", "wrapper", "boilerplate", "original"):
        legend.append_text(_tag(name))
        legend.append(" ")
    legend.append("shared text in green, ", style="dim")
    legend.append("changed words", style="green bold reverse")
    legend.append(" reversed", style="dim")
    if width >= NARROW:
        table = Table(show_lines=True, expand=True)
        table.add_column("", ratio=1, overflow="fold")
        table.add_column(Text("A: " + inert(ids[i])), ratio=6, overflow="fold")
        table.add_column(Text("B: " + inert(ids[j])), ratio=6, overflow="fold")
        for row in rows:
            table.add_row(*row)
        return Group(header, table, legend)
    parts: list = [header]
    for label, left, right in rows:
        parts.append(Rule(label.plain.split("\n")[0], style="dim"))
        for side, body in (("A", left), ("B", right)):
            if body.plain:
                line = Text(f"{side}: ", style="bold")
                line.append_text(body)
                parts.append(line)
    parts.append(legend)
    return Group(*parts)


def show_view(result: ScanResult, i: int) -> Group:
    """One article, each paragraph's label in the margin and the cluster members that share it."""
    ids, text = result.corpus.ids, result.corpus.texts[i]
    cluster = int(result.clusters.cluster[i])
    header = Text(inert(ids[i]), style="bold")
    if cluster >= 0:
        source = result.clusters.sources[cluster]
        header.append(f"\ncluster {cluster}, {result.clusters.role[i]}; source: ", style="")
        header.append(inert(ids[source]), style="bold")
    else:
        header.append("\nin no cluster")
    sharers: list[tuple[int, np.ndarray]] = []
    for row, (a, b) in enumerate(zip(result.pairs["a"].to_list(), result.pairs["b"].to_list())):
        if i in (a, b):
            other = b if a == i else a
            if cluster >= 0 and result.clusters.cluster[other] == cluster:
                p = result.passages[row]
                sharers.append((other, p[:, 0:2] if a == i else p[:, 2:4]))
    table = Table(show_lines=False, expand=True, box=None, padding=(0, 1))
    table.add_column("label", no_wrap=True)
    table.add_column("paragraph", ratio=5, overflow="fold")
    table.add_column("shared with", ratio=2, overflow="fold")
    for p in result.paragraphs(i):
        who = [ids[o] for o, spans in sharers if _mostly_inside(p["start"], p["end"], spans)]
        table.add_row(
            _tag(p["label"]),
            Text(inert(text[p["start"] : p["end"]]), style=LABEL_STYLE.get(p["label"], "")),
            Text(inert(", ".join(who)), style="dim"),
        )
    return Group(header, Text(""), table)
