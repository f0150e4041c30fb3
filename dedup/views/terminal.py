"""The terminal's views: progress on stderr, the table of clusters (``scan``) and of a query's answers, two
articles side by side (``dedup diff``) and one labelled (``dedup show``), all as ``rich`` renderables.

The diff and show views read a scan as ``data.ScanData`` and its passages as ``diff.passage_pieces``.
Without colour (piped, or ``NO_COLOR``) changed words are marked in the text itself, wdiff style:
``[-words only in A-]`` and ``{+words only in B+}``.

Every piece of user data (file names, article text) goes into ``rich.text.Text`` objects through
``escape.name`` / ``escape.text`` (a result's ids and paths arrive escaped, as the JSON contract shows them), never
into markup strings, so it prints as inert text.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
from rich.console import Console, Group
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from .. import escape
from ..wording import MEASURE_NOTE, MEASURES, pair_words
from .counts import contract_counts, counts_line, plural
from .data import ScanData, relation_phrase, unshared_slots
from .diff import Piece, passage_pieces

RELATION_STYLE = {"exact": "bold green", "near-duplicate": "green", "contains": "cyan", "partial": "yellow"}
PHASE_UNITS = {"read": "files", "match": "steps", "align": "pairs", "label": "articles"}

LABEL_STYLE = {"syndicated": "green", "wrapper": "magenta", "boilerplate": "yellow", "original": "blue"}
NARROW = 100  # below this terminal width, the diff is stacked instead of side by side
MARKS = (("[-", "-]"), ("{+", "+}"))  # plain-text marks of changed words in A and in B
TABLE_ROWS = 2000  # clusters, and partial pairs, the terminal table lists at most (it says how many more there are)


class _Rate(ProgressColumn):
    """Items a second, with the phase's unit."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        unit = task.fields.get("unit", "")
        return Text(f"{speed:,.0f} {unit}/s" if speed else "", style="dim")


@contextlib.contextmanager
def progress_reporter(console: Console, show_bar: bool, verbose: bool = False) -> Iterator[Progress | None]:
    """A ``progress(phase, done, total)`` callback drawing one bar per phase on ``console`` (stderr).

    ``show_bar``: a live bar (only sensible when stderr is a terminal); ``verbose``: one plain line as
    each phase starts, one with the time it took as it ends, and the total at the end, terminal or not.
    Neither: no callback at all.
    """
    if not show_bar and not verbose:
        yield None
        return
    started = time.perf_counter()
    phases: dict[str, Any] = {}
    running: list[tuple[str, float]] = []  # the phase under way and when it began (``verbose`` times it)

    def took() -> None:
        if running:
            phase, began = running.pop()
            console.print(f"dedup: {phase} took {time.perf_counter() - began:.2f} s")

    bar = (
        Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            _Rate(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        if show_bar
        else None
    )

    def update(phase: str, done: int, total: int | None) -> None:
        if phase not in phases:
            if verbose:
                took()
            for task in phases.values():  # the previous phase is over
                if bar is not None and task is not None:
                    t = bar.tasks[task]
                    bar.update(task, completed=t.total if t.total is not None else t.completed, total=t.total)
            if phase == "done":
                return
            running.append((phase, time.perf_counter()))
            if verbose:
                console.print(f"dedup: {phase}" + (f" ({total:,} {PHASE_UNITS.get(phase, 'items')})" if total else ""))
            phases[phase] = (
                bar.add_task(phase, total=total, unit=PHASE_UNITS.get(phase, "")) if bar is not None else None
            )
        task = phases[phase]
        if bar is not None and task is not None:
            bar.update(task, completed=done, total=total)

    with bar if bar is not None else contextlib.nullcontext():
        yield update
    if verbose:
        took()
        console.print(f"dedup: scanned in {time.perf_counter() - started:.2f} s")


def _name(doc_id: str, style: str = "") -> Text:
    return Text(doc_id, style=style)  # ids arrive as the JSON contract shows them: escaped


def clusters_table(data: dict[str, Any]) -> Group:
    """Clusters with their members, source, relation to the source, Jaccard and containment.

    ``data`` is the JSON contract (``ScanResult.to_dict()``), so the table says what the JSON says, or a
    bounded part of it (``data.terminal_extract``: the first clusters, their pairs, the first ``partial``
    pairs and the ``counts`` of everything), and the table says how many more there are.
    """
    pairs: dict[tuple[str, str], dict] = {}
    for r in data["pairs"]:
        pairs[(r["a"], r["b"])] = pairs[(r["b"], r["a"])] = r
    table = Table(
        title="Clusters of copies",
        title_justify="left",
        caption=f"A: the member, B: its cluster's source. {MEASURE_NOTE}",
        caption_justify="left",
    )
    table.add_column("#", justify="right")
    table.add_column("member (A)", overflow="fold")
    table.add_column("relation")
    for name in MEASURES.values():
        table.add_column(name, justify="right", width=7)
    for cluster in data["clusters"]:
        src, members = cluster["source"], cluster["members"]
        ordered = [src] + [m for m in members if m != src]
        for n, m in enumerate(ordered):
            first = Text(str(cluster["id"])) if n == 0 else Text("")
            last = n == len(ordered) - 1
            if m == src:
                said = "source (B)" if cluster.get("source_known", True) else "source (B), direction unknown"
                table.add_row(first, _name(m, "bold"), Text(said, style="bold"), "", "", "", end_section=last)
                continue
            pair = pairs.get((m, src))
            if pair is None:
                table.add_row(first, _name(m), Text("via others", style="dim"), end_section=last)
                continue
            mine = pair["a"] == m
            m_in_src, src_in_m = (pair["a_in_b"], pair["b_in_a"]) if mine else (pair["b_in_a"], pair["a_in_b"])
            table.add_row(
                first,
                _name(m),
                Text(pair_words(pair, swap=not mine), style=RELATION_STYLE.get(pair["relation"], "")),
                f"{pair['jaccard']:.2f}",
                f"{m_in_src:.2f}",
                f"{src_in_m:.2f}",
                end_section=last,
            )
    counts = contract_counts(data)
    parts: list = [table] if data["clusters"] else []
    if counts["clusters"] > len(data["clusters"]):
        more = counts["clusters"] - len(data["clusters"])
        parts.append(Text(f"... and {more} more clusters (all of them: --format json, or -o FILE)", style="dim"))
    partial = data["partial"] if "partial" in data else [r for r in data["pairs"] if r["relation"] == "partial"]
    if partial:
        pt = Table(title="Shared passages outside clusters (partial)", title_justify="left", caption=MEASURE_NOTE)
        for name in ("A", "B", *MEASURES.values()):
            pt.add_column(name, justify="left" if name in "AB" else "right", overflow="fold")
        for r in partial:
            pt.add_row(_name(r["a"]), _name(r["b"]), f"{r['jaccard']:.2f}", f"{r['a_in_b']:.2f}", f"{r['b_in_a']:.2f}")
        parts.append(pt)
    if counts["partial"] > len(partial):
        more = counts["partial"] - len(partial)
        parts.append(Text(f"... and {more} more partial pairs (all of them: --format json, or -o FILE)", style="dim"))
    parts.append(Text(counts_line(counts)))
    return Group(*parts)


def query_table(data: dict[str, Any]) -> Group:
    """What each query article copies, is copied by or shares passages with among the indexed articles.

    ``data`` is a query result's JSON contract (``dedup query --format json``): pairs name the query
    article (``query``) and the indexed one (``indexed``); ids arrive escaped, as the JSON shows them.
    """
    table = Table(
        title="Query articles against the index",
        title_justify="left",
        caption=f"A: the query article, B: the indexed one. {MEASURE_NOTE}",
        caption_justify="left",
    )
    table.add_column("query (A)", overflow="fold")
    table.add_column("relation")
    table.add_column("indexed article (B)", overflow="fold")
    for name in (*MEASURES.values(), "passages"):
        table.add_column(name, justify="right")
    by_query: dict[str, list[dict]] = {}
    for p in data["pairs"]:
        by_query.setdefault(p["query"], []).append(p)
    queries = [d["id"] for d in data["documents"] if not d.get("indexed")]
    for q in queries:
        pairs = by_query.get(q, [])
        if not pairs:
            table.add_row(_name(q), Text("no match", style="dim"), end_section=True)
            continue
        for n, p in enumerate(pairs):
            query_is_a = p["b"] == p["indexed"]
            q_in_ix, ix_in_q = (p["a_in_b"], p["b_in_a"]) if query_is_a else (p["b_in_a"], p["a_in_b"])
            table.add_row(
                _name(q) if n == 0 else Text(""),
                Text(pair_words(p, swap=not query_is_a), style=RELATION_STYLE.get(p["relation"], "")),
                _name(p["indexed"]),
                f"{p['jaccard']:.2f}",
                f"{q_in_ix:.2f}",
                f"{ix_in_q:.2f}",
                str(len(p.get("passages") or [])),
                end_section=n == len(pairs) - 1,
            )
    matched = sum(q in by_query for q in queries)
    n_pairs = len(data["pairs"])
    partial = sum(p["relation"] == "partial" for p in data["pairs"])
    summary = Text(
        f"{plural(len(queries), 'query article')}, {matched} with indexed articles in common, "
        f"{plural(n_pairs, 'related pair')} ({partial} partial)."
    )
    return Group(*([table] if queries else []), summary)


# ---------------------------------------------------------------- two articles, and one


def _tag(label: str) -> Text:
    return Text(f"[{label}]", style=f"bold {LABEL_STYLE.get(label, '')}".strip())


def _side(pieces: list[Piece], marks: tuple[str, str] | None) -> Text:
    """One side of a row of ``diff.passage_pieces``: shared text in green, changed words reversed, or
    bracketed when ``marks``."""
    out = Text()
    for piece in pieces:
        if piece.kind == "same":
            out.append(piece.text, style="green")
        elif marks:
            out.append(marks[0] + piece.text + marks[1], style="green bold")
        else:
            out.append(piece.text, style="green bold reverse")
    return out


def passage_rows(a: str, b: str, full: bool, marks: bool) -> list[tuple[Text, Text]]:
    """A shared passage as rows of aligned ``Text``: the middle elided (on word boundaries) unless ``full``."""
    mark_a, mark_b = (MARKS[0], MARKS[1]) if marks else (None, None)
    rows: list[tuple[Text, Text]] = []
    for left, right in passage_pieces(a, b, full):
        if left and left[0].kind == "elided":
            a_hidden, words, b_hidden = left[0].chars, left[0].words, right[0].chars
            note = Text(f"… {a_hidden:,} more shared characters ({words:,} words); --full shows them …", "dim italic")
            rows.append((note, Text(f"… {b_hidden:,} more shared characters …", "dim italic")))
        else:
            rows.append((_side(left, mark_a), _side(right, mark_b)))
    return rows


def _unshared(data: ScanData, doc: int, paras: list[dict]) -> Text:
    text = data.text(doc)
    out = Text()
    for n, p in enumerate(paras):
        if n:
            out.append("\n")
        out.append_text(_tag(p["label"]))
        out.append(" ")
        out.append(escape.text(text[p["start"] : p["end"]]), style=LABEL_STYLE.get(p["label"], ""))
    return out


def diff_view(
    data: ScanData,
    i: int,
    j: int,
    width: int,
    full: bool = False,
    names: tuple[str, str] | None = None,
    marks: bool = False,
) -> Group:
    """Two documents with their shared passages aligned row by row, side by side or stacked.

    ``names``: what to call them (the paths as the user gave them; their ids by default). ``marks``:
    bracket changed words in the text (for output without colour) instead of reversing them.
    """
    pair = data.pair(i, j)
    passages = pair["passages"] if pair is not None else np.zeros((0, 4), dtype=np.int64)
    name_a, name_b = names or (data.doc_id(i), data.doc_id(j))
    header = Text()
    header.append("A: " + escape.name(name_a), style="bold")
    header.append("\nB: " + escape.name(name_b), style="bold")
    relation = relation_phrase(pair)
    header.append("\nrelation: ")
    header.append(relation, style=RELATION_STYLE.get(pair["relation"], "bold") if pair else "dim")
    measures = pair
    if pair is None:
        header.append("   (the scan lists no pair for these two)", style="dim")
        if data.measure is not None:
            measures = data.measure(i, j)
    if measures is not None:
        header.append(
            f"   Jaccard {measures['jaccard']:.2f}   A in B {measures['a_in_b']:.2f}   B in A {measures['b_in_a']:.2f}"
        )
    if pair is not None:
        header.append(f"   {len(passages)} shared passage{'s' * (len(passages) != 1)}")
    slots = unshared_slots(data, i, j, passages)
    blocks: list[tuple[Text, list[tuple[Text, Text]]]] = []
    text_a, text_b = data.text(i), data.text(j)
    for k in range(len(passages) + 1):
        if slots[0][k] or slots[1][k]:
            pieces = [(_unshared(data, i, slots[0][k]), _unshared(data, j, slots[1][k]))]
            blocks.append((Text("not shared", style="dim"), pieces))
        if k < len(passages):
            a0, a1, b0, b1 = passages[k].tolist()
            label = Text(f"shared {k + 1}", style="bold green")
            label.append(f"\nA {a0}-{a1}\nB {b0}-{b1}", style="dim")
            blocks.append((label, passage_rows(text_a[a0:a1], text_b[b0:b1], full, marks)))
    legend = Text("legend: ", style="dim")
    for name in ("syndicated", "wrapper", "boilerplate", "original"):
        legend.append_text(_tag(name))
        legend.append(" ")
    legend.append("shared text in green, ", style="dim")
    if marks:
        legend.append("changed words marked [-in A-] and {+in B+}", style="dim")
    else:
        legend.append("changed words", style="green bold reverse")
        legend.append(" reversed", style="dim")
    if width >= NARROW:
        table = Table(show_lines=False, expand=True)
        table.add_column("", ratio=1, overflow="fold")
        table.add_column(Text("A: " + escape.name(name_a)), ratio=6, overflow="fold")
        table.add_column(Text("B: " + escape.name(name_b)), ratio=6, overflow="fold")
        for label, pieces in blocks:
            for n, (left, right) in enumerate(pieces):
                table.add_row(label if n == 0 else Text(""), left, right, end_section=n == len(pieces) - 1)
        return Group(header, table, legend)
    parts: list = [header]
    for label, pieces in blocks:
        parts.append(Rule(label.plain.split("\n")[0], style="dim"))
        for side, column in (("A", 0), ("B", 1)):
            body = Text("\n").join(piece[column] for piece in pieces if piece[column].plain)
            if body.plain:
                line = Text(f"{side}: ", style="bold")
                line.append_text(body)
                parts.append(line)
    parts.append(legend)
    return Group(*parts)


def show_view(data: ScanData, i: int) -> Group:
    """One article, each paragraph's label in the margin and the cluster members that share it."""
    doc = data.documents[i]
    text = data.text(i)
    header = Text(doc["id"], style="bold")  # a scan's ids are escaped once, when stored
    cluster = doc.get("cluster")
    if cluster is not None:
        source = next((c["source"] for c in data.data["clusters"] if c["id"] == cluster), None)
        header.append(f"\ncluster {cluster}, {doc.get('role')}; source: ")
        header.append(source or "?", style="bold")
    else:
        header.append("\nin no cluster")
    table = Table(show_lines=False, expand=True, box=None, padding=(0, 1))
    table.add_column("label", no_wrap=True)
    table.add_column("paragraph", ratio=5, overflow="fold")
    table.add_column("shared with", ratio=2, overflow="fold")
    for p, who in zip(data.paragraphs(i), data.shared_with(i)):
        table.add_row(
            _tag(p["label"]),
            Text(escape.text(text[p["start"] : p["end"]]), style=LABEL_STYLE.get(p["label"], "")),
            Text(", ".join(who), style="dim"),
        )
    related = Table(title="Related articles", title_justify="left", caption=f"A: this article. {MEASURE_NOTE}")
    related.add_column("related article (B)", overflow="fold")
    related.add_column("relation")
    for name in MEASURES.values():
        related.add_column(name, justify="right")
    for r in data.data["pairs"]:
        if doc["id"] in (r["a"], r["b"]):
            mine = r["a"] == doc["id"]
            related.add_row(
                _name(r["b"] if mine else r["a"]),
                Text(pair_words(r, swap=not mine), style=RELATION_STYLE.get(r["relation"], "")),
                f"{r['jaccard']:.2f}",
                f"{r['a_in_b'] if mine else r['b_in_a']:.2f}",
                f"{r['b_in_a'] if mine else r['a_in_b']:.2f}",
            )
    parts = [header, Text(""), related, Text("")] if related.row_count else [header, Text("")]
    return Group(*parts, table)
