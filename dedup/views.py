"""Terminal views of articles: two side by side (``dedup diff``) and one labelled (``dedup show``).

Article text is data: it goes into ``rich.text.Text`` through ``inert``, so markup,
ANSI escapes and control characters in it print as visible, harmless text.
"""

from __future__ import annotations

import difflib
import re

import numpy as np
from rich.console import Group
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from .normalise import normalise_text
from .report import RELATION_STYLE
from .result import ScanResult
from .text import inert

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


def diff_view(
    result: ScanResult, i: int, j: int, width: int, full: bool = False, names: tuple[str, str] | None = None
) -> Group:
    """Two documents with their shared passages aligned row by row, side by side or stacked.

    ``names`` are what to call them (the paths as the user gave them); their ids by default.
    """
    ids, texts = result.corpus.ids, result.corpus.texts
    cmp = result.compare(i, j)
    passages = cmp["passages"]
    passages = passages[np.argsort(passages[:, 0], kind="stable")] if len(passages) else passages
    relation = cmp["relation"] or "unrelated"
    header = Text()
    name_a, name_b = names or (ids[i], ids[j])
    header.append(inert(name_a), style="bold")
    header.append("  vs  ")
    header.append(inert(name_b), style="bold")
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
        table.add_column(Text("A: " + inert(name_a)), ratio=6, overflow="fold")
        table.add_column(Text("B: " + inert(name_b)), ratio=6, overflow="fold")
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
