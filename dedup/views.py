"""Terminal views of articles: two side by side (``dedup diff``) and one labelled (``dedup show``).

Both read a scan's result as the JSON contract (``ScanData``), whether it was just computed or saved
with ``-o result.json``, so they speak the scan's vocabulary — its relations, labels and clusters — and
agree with it. Article text is data: it goes into ``rich.text.Text`` through ``escape.text`` and
names through ``escape.name``, so markup, ANSI escapes and control characters print as harmless text.

Without colour (piped, or ``NO_COLOR``) changed words are marked in the text itself, wdiff style:
``[-words only in A-]`` and ``{+words only in B+}``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Group
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from . import escape
from .normalise import normalise_text
from .report import RELATION_STYLE
from .tables import mostly_inside, shared_with, sharers_by_document

LABEL_STYLE = {"syndicated": "green", "wrapper": "magenta", "boilerplate": "yellow", "original": "blue"}
ELIDE_KEEP = 280  # characters kept at each end of a long shared passage (to the nearest word)
NARROW = 100  # below this terminal width, the diff is stacked instead of side by side
MARKS = (("[-", "-]"), ("{+", "+}"))  # plain-text marks of changed words in A and in B
_WORD = re.compile(r"\w+(?:['’]\w+)*")
_BREAK = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")


class ViewError(Exception):
    """A saved scan that cannot be shown (stale or missing files); one line."""


# ---------------------------------------------------------------- the scan as the views see it


@dataclass
class ScanData:
    """A scan result as the JSON contract, with a way to get each article's text.

    ``measure(i, j)`` (a live scan only) measures a pair the scan did not list, for information.
    """

    data: dict[str, Any]
    read_text: Callable[[int], str]
    measure: Callable[[int, int], dict[str, Any]] | None = None
    _texts: dict[int, str] = field(default_factory=dict)
    _pairs: dict[tuple[str, str], dict] | None = None
    _sharers: dict[str, list] | None = None

    @property
    def documents(self) -> list[dict[str, Any]]:
        return self.data["documents"]

    def doc_id(self, i: int) -> str:
        return self.documents[i]["id"]

    def text(self, i: int) -> str:
        if i not in self._texts:
            self._texts[i] = self.read_text(i)
        return self._texts[i]

    def find(self, given: str | Path, root: Path | None = None) -> int | None:
        """The index of a document named by path (as given by the user) or id; None if the scan has none."""
        given_path = Path(given)
        wanted = {escape.name(str(given))}  # a saved result shows ids escaped
        if root is not None:
            with contextlib.suppress(ValueError):
                wanted.add(escape.name(given_path.resolve().relative_to(root.resolve()).as_posix()))
        resolved = given_path.resolve()
        for i, doc in enumerate(self.documents):
            if doc["id"] in wanted:
                return i
        for i, doc in enumerate(self.documents):
            path = doc.get("path")
            if path and Path(escape.unname(path)).resolve() == resolved:
                return i
        return None

    def paragraphs(self, i: int) -> list[dict[str, Any]]:
        return self.documents[i].get("paragraphs") or []

    def pair(self, i: int, j: int) -> dict[str, Any] | None:
        """The scan's pair of documents i and j, oriented as asked (A = i), or None when it lists none.

        ``container`` is "A" or "B" for a contains pair: the side that holds the other.
        """
        if self._pairs is None:
            self._pairs = {}
            for r in self.data["pairs"]:
                self._pairs[(r["a"], r["b"])] = r
        a, b = self.doc_id(i), self.doc_id(j)
        if i == j:
            n = len(self.text(i))
            return {
                "relation": "exact",
                "container": None,
                "jaccard": 1.0,
                "a_in_b": 1.0,
                "b_in_a": 1.0,
                "passages": np.array([[0, n, 0, n]], dtype=np.int64),
            }
        r, swap = self._pairs.get((a, b)), False
        if r is None:
            r, swap = self._pairs.get((b, a)), True
        if r is None:
            return None
        passages = np.array(
            [[p["a_start"], p["a_end"], p["b_start"], p["b_end"]] for p in r.get("passages") or []], dtype=np.int64
        ).reshape(-1, 4)
        a_in_b, b_in_a = r["a_in_b"], r["b_in_a"]
        if swap:
            passages = passages[:, [2, 3, 0, 1]]
            a_in_b, b_in_a = b_in_a, a_in_b
        container = None
        if r["relation"] == "contains":
            container = "B" if swap else "A"  # in the scan's pair, a holds b
        passages = passages[np.argsort(passages[:, 0], kind="stable")]
        return {
            "relation": r["relation"],
            "container": container,
            "jaccard": r["jaccard"],
            "a_in_b": a_in_b,
            "b_in_a": b_in_a,
            "passages": passages,
        }

    def shared_with(self, i: int) -> list[list[str]]:
        """Per paragraph of document i, the cluster co-members that share most of it."""
        paras = self.paragraphs(i)
        if paras and all("shared_with" in p for p in paras):
            return [list(p["shared_with"] or []) for p in paras]
        if self._sharers is None:
            self._sharers = sharers_by_document(self.data)
        return shared_with([(p["start"], p["end"]) for p in paras], self._sharers.get(self.doc_id(i), []))


def from_result(result: Any) -> ScanData:
    """The views' data from a scan just run (``ScanResult``)."""
    from .output import result_dict

    data = result_dict(result)
    corpus = getattr(result, "corpus", None)
    texts = getattr(corpus, "texts", None)

    def read_text(i: int) -> str:
        if texts is not None:
            return texts[i]
        return _read_document(data["documents"][i], Path.cwd(), data)

    def measure(i: int, j: int) -> dict[str, Any]:
        return result.compare(i, j)

    return ScanData(data, read_text, measure if hasattr(result, "compare") else None)


def from_file(path: Path) -> ScanData:
    """The views' data from a saved scan (``dedup scan DIR -o result.json``); texts are read from the files it names."""
    try:
        data = json.loads(path.read_bytes())
    except OSError as e:
        raise ViewError(f"{escape.name(str(path))}: {e.strerror or e}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ViewError(f"{escape.name(str(path))}: not a dedup JSON result ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list) or "pairs" not in data:
        raise ViewError(f"{escape.name(str(path))}: not a dedup JSON result (no documents and pairs)")
    base = path.resolve().parent
    return ScanData(data, lambda i: _read_document(data["documents"][i], base, data))


def _ingest_options(data: dict[str, Any]) -> Any:
    """The reading options the saved scan used (its ``meta.parameters``), so a text is extracted the same way."""
    from .ingest import IngestOptions

    params = (data.get("meta") or {}).get("parameters") or {}
    names = {f.name for f in dataclasses.fields(IngestOptions)}
    given = {k.removeprefix("ingest."): v for k, v in params.items() if k.startswith("ingest.")}
    return IngestOptions(**{k: v for k, v in given.items() if k in names})


def _read_document(doc: dict[str, Any], base: Path, data: dict[str, Any] | None = None) -> str:
    """The text a scan read for ``doc``: its file read again by the same readers (HTML extracted, a record
    picked out of its file), checked against the length the scan recorded."""
    from .ingest import Skipped, read_file

    shown = doc.get("path") or doc["id"]  # as the saved result shows it: escaped
    path = Path(escape.unname(shown))
    candidates = [path] if path.is_absolute() else [path, base / path]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        raise ViewError(f"{shown}: no such file (named by the saved scan; rerun the scan or use --corpus)")
    articles = [a for a in read_file(found, _ingest_options(data or {})) if not isinstance(a, Skipped)]
    doc_id, _, record = doc["id"].partition("#")
    match = [a for a in articles if record and escape.name(a.id).partition("#")[2] == record]
    match = match or [a for a in articles if escape.name(a.id) == doc["id"] or a.url == doc.get("url") and a.url]
    if not match and len(articles) == 1:
        match = articles
    if not match:
        raise ViewError(f"{doc['id']}: not found in {shown} any more; rescan")  # both shown escaped
    text = match[0].text
    if doc.get("chars") is not None and len(text) != doc["chars"]:
        raise ViewError(
            f"{shown}: {len(text):,} characters now, {doc['chars']:,} when scanned (changed since the scan); rescan"
        )
    return text


# ---------------------------------------------------------------- changed words


def _tag(label: str) -> Text:
    return Text(f"[{label}]", style=f"bold {LABEL_STYLE.get(label, '')}".strip())


class _WordAlignment:
    """Words of two aligned passages matched by difflib on their normalised forms."""

    def __init__(self, a: str, b: str) -> None:
        self.wa = [m.span() for m in _WORD.finditer(a)]
        self.wb = [m.span() for m in _WORD.finditer(b)]
        na = [normalise_text(a[s:e]) for s, e in self.wa]
        nb = [normalise_text(b[s:e]) for s, e in self.wb]
        self.ops = difflib.SequenceMatcher(None, na, nb, autojunk=False).get_opcodes()
        self.a, self.b = a, b

    def changed(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Character spans of the runs of words that differ, in A and in B (one span per run)."""
        spans_a, spans_b = [], []
        for op, i1, i2, j1, j2 in self.ops:
            if op == "equal":
                continue
            if i2 > i1:
                spans_a.append((self.wa[i1][0], self.wa[i2 - 1][1]))
            if j2 > j1:
                spans_b.append((self.wb[j1][0], self.wb[j2 - 1][1]))
        return spans_a, spans_b

    def a_to_b(self, k: int) -> int:
        """The word of B matching word k of A (or where B's differing run starts)."""
        for op, i1, i2, j1, _ in self.ops:
            if i1 <= k < i2:
                return j1 + (k - i1) if op == "equal" else j1
        return len(self.wb)

    def b_to_a(self, k: int) -> int:
        for op, i1, _, j1, j2 in self.ops:
            if j1 <= k < j2:
                return i1 + (k - j1) if op == "equal" else i1
        return len(self.wa)

    def char_a(self, k: int) -> int:
        """Where a piece starting at word k of A starts: after the space that ends word k-1, so
        punctuation before the word (an opening quote) goes with it."""
        return self._cut(self.a, self.wa, k)

    def char_b(self, k: int) -> int:
        return self._cut(self.b, self.wb, k)

    @staticmethod
    def _cut(text: str, words: list[tuple[int, int]], k: int) -> int:
        if k <= 0:
            return 0
        if k >= len(words):
            return len(text)
        pos = words[k - 1][1]
        while pos < words[k][0] and not text[pos].isspace():
            pos += 1
        while pos < words[k][0] and text[pos].isspace():
            pos += 1
        return pos

    def word_at_a(self, offset: int) -> int:
        """The first word of A starting at or after ``offset``."""
        return next((k for k, (s, _) in enumerate(self.wa) if s >= offset), len(self.wa))


def _styled(
    text: str, lo: int, hi: int, spans: list[tuple[int, int]], style: str, marks: tuple[str, str] | None
) -> Text:
    """``text[lo:hi]`` made inert, changed ``spans`` (absolute offsets) reversed, or bracketed when ``marks``."""
    out = Text()
    pos = lo
    for s, e in sorted(spans):
        s, e = max(s, lo), min(e, hi)
        if s >= e or s < pos:
            continue
        out.append(escape.text(text[pos:s]), style=style)
        if marks:
            out.append(marks[0] + escape.text(text[s:e]) + marks[1], style=f"{style} bold")
        else:
            out.append(escape.text(text[s:e]), style=f"{style} bold reverse")
        pos = e
    out.append(escape.text(text[pos:hi]), style=style)
    return out


def _has_break(text: str, lo: int, hi: int) -> bool:
    return _BREAK.search(text, lo, hi) is not None


def _segments(al: _WordAlignment, a: str, b: str, lo: tuple[int, int], hi: tuple[int, int]) -> list[tuple[int, ...]]:
    """Pieces (a0, a1, b0, b1) of the passage between word cuts ``lo`` and ``hi``, cut at every paragraph
    break of either side and at the matching word of the other, so the two columns stay in step."""
    cuts: set[tuple[int, int]] = set()
    for k in range(lo[0] + 1, hi[0]):
        if _has_break(a, al.wa[k - 1][1], al.wa[k][0]):
            cuts.add((k, al.a_to_b(k)))
    for k in range(lo[1] + 1, hi[1]):
        if _has_break(b, al.wb[k - 1][1], al.wb[k][0]):
            cuts.add((al.b_to_a(k), k))
    points = [lo]
    for ka, kb in sorted(cuts):
        inside = lo[0] <= ka <= hi[0] and lo[1] <= kb <= hi[1]
        if inside and ka >= points[-1][0] and kb >= points[-1][1] and (ka, kb) != points[-1]:
            points.append((ka, kb))
    if points[-1] != hi:
        points.append(hi)
    out = []
    for (ka0, kb0), (ka1, kb1) in zip(points, points[1:]):
        out.append((al.char_a(ka0), al.char_a(ka1), al.char_b(kb0), al.char_b(kb1)))
    return out


def _strip(text: str, lo: int, hi: int) -> tuple[int, int]:
    while lo < hi and text[lo].isspace():
        lo += 1
    while hi > lo and text[hi - 1].isspace():
        hi -= 1
    return lo, hi


def _one_line(piece: Text) -> Text:
    """Line breaks inside a piece become spaces: each piece is one paragraph's worth of a row."""
    plain = piece.plain
    if not _BREAK.search(plain):
        return piece
    out = piece.copy()
    out.plain = _BREAK.sub(" ", plain)
    return out


def _passage_rows(a: str, b: str, full: bool, marks: bool) -> list[tuple[Text, Text]]:
    """A shared passage as rows of aligned pieces; the middle elided (on word boundaries) unless ``full``."""
    al = _WordAlignment(a, b)
    ca, cb = al.changed()
    mark_a, mark_b = (MARKS[0], MARKS[1]) if marks else (None, None)
    end = (len(al.wa), len(al.wb))
    elide = not full and max(len(a), len(b)) > 3 * ELIDE_KEEP and len(al.wa) > 2
    if elide:
        ka_head = max(1, al.word_at_a(ELIDE_KEEP))
        ka_tail = al.word_at_a(len(a) - ELIDE_KEEP)
        head, tail = (ka_head, al.a_to_b(ka_head)), (ka_tail, al.a_to_b(ka_tail))
        elide = ka_tail > ka_head and tail[1] >= head[1]
    spans = [((0, 0), head), (tail, end)] if elide else [((0, 0), end)]
    rows: list[tuple[Text, Text]] = []
    for n, (lo, hi) in enumerate(spans):
        if n:
            a_hidden = al.char_a(tail[0]) - al.char_a(head[0])
            words = tail[0] - head[0]
            note = Text(f"… {a_hidden:,} more shared characters ({words:,} words); --full shows them …", "dim italic")
            b_hidden = al.char_b(tail[1]) - al.char_b(head[1])
            rows.append((note, Text(f"… {b_hidden:,} more shared characters …", "dim italic")))
        for a0, a1, b0, b1 in _segments(al, a, b, lo, hi):
            a0, a1 = _strip(a, a0, a1)
            b0, b1 = _strip(b, b0, b1)
            rows.append(
                (_one_line(_styled(a, a0, a1, ca, "green", mark_a)), _one_line(_styled(b, b0, b1, cb, "green", mark_b)))
            )
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


def relation_phrase(pair: dict[str, Any] | None) -> str:
    """The scan's word for a pair, as the header prints it: ``contains (A contains B)``, ``no relation``."""
    if pair is None:
        return "no relation"
    if pair["relation"] == "contains" and pair.get("container") in ("A", "B"):
        holder = pair["container"]
        return f"contains ({holder} contains {'B' if holder == 'A' else 'A'})"
    return pair["relation"]


def diff_summary(data: ScanData, i: int, j: int) -> dict[str, Any]:
    """The pair as the scan has it, for ``dedup diff --format json``."""
    pair = data.pair(i, j)
    out: dict[str, Any] = {"a": data.doc_id(i), "b": data.doc_id(j)}
    if pair is None:
        return out | {"relation": None, "container": None, "passages": []}
    keys = ("a_start", "a_end", "b_start", "b_end")
    out |= {k: pair[k] for k in ("relation", "container", "jaccard", "a_in_b", "b_in_a")}
    return out | {"passages": [dict(zip(keys, p)) for p in pair["passages"].tolist()]}


def unshared_slots(data: ScanData, i: int, j: int, passages: np.ndarray) -> list[list[list[dict]]]:
    """Per side (A, B), per slot (before passage k; the last after all), the paragraphs not mostly inside a
    shared passage: each goes into the slot before the passage that follows it in its own text."""
    slots: list[list[list[dict]]] = [[[] for _ in range(len(passages) + 1)] for _ in range(2)]
    for side, doc, cols in ((0, i, (0, 1)), (1, j, (2, 3))):
        spans = passages[:, list(cols)]
        for p in data.paragraphs(doc):
            if mostly_inside(p["start"], p["end"], spans):
                continue
            after = np.flatnonzero(spans[:, 0] >= p["end"])
            slot = int(after[np.argmin(spans[after, 0])]) if after.size else len(passages)
            slots[side][slot].append(p)
    return slots


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
            blocks.append((label, _passage_rows(text_a[a0:a1], text_b[b0:b1], full, marks)))
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
    return Group(header, Text(""), table)
