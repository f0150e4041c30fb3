"""The word-level diff every view shows: two aligned passages matched word by word, cut into rows at every
paragraph break of either side, the middle of a long passage elided, as plain pieces (``passage_pieces``).

The terminal (``terminal.py``) and the web (``html.py``) render the same pieces, each in its own medium;
neither reads the other's output back.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from .. import escape
from ..phase1.normalise import normalise_text
from ..phase1.tolerant import joined_words, word_form

ELIDE_KEEP = 280  # characters kept at each end of a long shared passage (to the nearest word)
_WORD = re.compile(r"\w+(?:['’]\w+)*")
_BREAK = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")


Row = tuple[list["Piece"], list["Piece"]]  # the pieces of side A and of side B


@dataclass(frozen=True)
class Piece:
    """A piece of one side of a row: ``same`` or ``changed`` text (shown: escaped, on one line), or the
    ``elided`` middle of a long passage (``chars`` hidden on this side; ``words`` on side A, else 0)."""

    kind: Literal["same", "changed", "elided"]
    text: str = ""
    chars: int = 0
    words: int = 0
    # An elided piece of side A: the rows it stands for, when asked (``passage_pieces(keep_elided=True)``), so
    # that a view can offer them (the HTML views, in a ``<details>``).
    rows: tuple[Row, ...] = ()


class WordAlignment:
    """Words of two aligned passages matched by difflib on their normalised forms. A word split across a line
    end with a hyphen (a column of a scanned page: "recog-\nnised") is one word, so a noisy copy's passage
    shows its wrong letters as changed words, not its line breaks."""

    def __init__(self, a: str, b: str) -> None:
        self.wa = joined_words(a, [m.span() for m in _WORD.finditer(a)])
        self.wb = joined_words(b, [m.span() for m in _WORD.finditer(b)])
        na = [normalise_text(word_form(a, s, e)) for s, e in self.wa]
        nb = [normalise_text(word_form(b, s, e)) for s, e in self.wb]
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


def _has_break(text: str, lo: int, hi: int) -> bool:
    return _BREAK.search(text, lo, hi) is not None


def _segments(al: WordAlignment, a: str, b: str, lo: tuple[int, int], hi: tuple[int, int]) -> list[tuple[int, ...]]:
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


def _shown(text: str) -> str:
    """Article text made inert (``escape.text``) and kept on one line: each row is one paragraph's worth."""
    return _BREAK.sub(" ", escape.text(text))


def _side(text: str, lo: int, hi: int, changed: list[tuple[int, int]]) -> list[Piece]:
    """``text[lo:hi]`` as same and changed pieces (``changed``: spans in absolute offsets)."""
    out: list[Piece] = []
    pos = lo
    for s, e in sorted(changed):
        s, e = max(s, lo), min(e, hi)
        if s >= e or s < pos:
            continue
        if s > pos:
            out.append(Piece("same", _shown(text[pos:s])))
        out.append(Piece("changed", _shown(text[s:e])))
        pos = e
    if hi > pos:
        out.append(Piece("same", _shown(text[pos:hi])))
    return out


def passage_pieces(a: str, b: str, full: bool = False, keep_elided: bool = False) -> Iterator[Row]:
    """A shared passage (its text in A and in B) as rows of aligned pieces, cut at every paragraph break of
    either side; the middle elided on word boundaries (one row of ``elided`` pieces) unless ``full``.
    ``keep_elided``: the elided piece of side A holds the rows of the middle (``Piece.rows``)."""
    al = WordAlignment(a, b)
    ca, cb = al.changed()
    end = (len(al.wa), len(al.wb))
    elide = not full and max(len(a), len(b)) > 3 * ELIDE_KEEP and len(al.wa) > 2
    if elide:
        ka_head = max(1, al.word_at_a(ELIDE_KEEP))
        ka_tail = al.word_at_a(len(a) - ELIDE_KEEP)
        head, tail = (ka_head, al.a_to_b(ka_head)), (ka_tail, al.a_to_b(ka_tail))
        elide = ka_tail > ka_head and tail[1] >= head[1]
    spans = [((0, 0), head), (tail, end)] if elide else [((0, 0), end)]
    for n, (lo, hi) in enumerate(spans):
        if n:
            a_hidden = al.char_a(tail[0]) - al.char_a(head[0])
            b_hidden = al.char_b(tail[1]) - al.char_b(head[1])
            middle: tuple[Row, ...] = ()
            if keep_elided:
                middle = tuple(_rows(al, a, b, head, tail, ca, cb))
            words = tail[0] - head[0]
            yield [Piece("elided", chars=a_hidden, words=words, rows=middle)], [Piece("elided", chars=b_hidden)]
        yield from _rows(al, a, b, lo, hi, ca, cb)


def _rows(al: WordAlignment, a: str, b: str, lo: tuple[int, int], hi: tuple[int, int], ca: Any, cb: Any):
    """The aligned rows of the passage between word cuts ``lo`` and ``hi``."""
    for a0, a1, b0, b1 in _segments(al, a, b, lo, hi):
        a0, a1 = _strip(a, a0, a1)
        b0, b1 = _strip(b, b0, b1)
        yield _side(a, a0, a1, ca), _side(b, b0, b1, cb)
