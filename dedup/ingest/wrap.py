"""Hard-wrapped plain text (wire copy, e-mail, plain-text exports, OCR): lines joined into paragraphs.

Text wrapped at a fixed width has one paragraph over many lines, so the one-paragraph-a-line rule
would label it by the 72-column line. ``text_paragraphs`` tells wrapped text from the text itself and
then forms paragraphs as spans over the unchanged text (from the first non-space character of a
paragraph's first line to the last of its last line); any other text keeps ``split_paragraphs``.

Wrapped: a third of the lines end within 20 columns of a common width (the 98th percentile of their
lengths), and most lines that run on into the next one were broken because the next word would not have
fit, i.e. ``len(line) + 1 + len(next line's first word) > width``, where the width is the 98th
percentile of the line lengths (at least 25 columns); at least 2 such lines and half of the lines
that run on; and not verse, whose lines mostly end in punctuation or are followed by a capital (under
70% of either). One paragraph a line, blank-line paragraphs of long lines, lists and verse fail this.

In wrapped text a paragraph ends at a blank line; at a short line, one after which the next word
would have fit (a wrapper would have put it there, so the break was the writer's: a sentence end, a
heading, a byline, a menu item); around a line well over the width (no wrap made it: a long title, an
unwrapped paragraph); before a line indented by a tab or 2+ spaces more than the least indented
line; before a bullet (``•``, ``¶``, ``▪``...); and before a dash, ``*``, ``+``, ``#`` or number
marker (``-- ``, ``- ``, ``1. ``) after a line ending a sentence (a mid-sentence ``--`` dash can start
a wrapped line). OCR text, not wrapped by a program, may so stay split at some short lines, as before.

Cost: one regex pass over the text gives each line's offsets (Python touches each line's match, never
a character); the first and last characters of all lines come in one ``itemgetter`` call; the rest
is numpy over the line arrays. A text over ``_SAMPLE_CHARS`` is tested on four windows of 512 lines
first, so text that is not wrapped costs a few milliseconds on top of ``split_paragraphs``.
"""

from __future__ import annotations

import re
from itertools import chain, islice
from operator import itemgetter

import numpy as np

from ..longtext import LongText
from .model import split_paragraphs

_LB = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"  # line breaks as str.splitlines() knows them
_BREAK = rf"(?:\r\n|\r(?!\n)|[{_LB.replace(chr(13), '')}])"
_HS = rf"[^\S{_LB}]"  # horizontal space
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"  # Chinese and Japanese wrap anywhere; Korean at spaces
# One non-blank line: indentation, first word (one CJK character counts as a word), the rest up to the
# last non-space. Group 2 starts where split_paragraphs' span starts, and the match ends where it ends.
_LINE = re.compile(rf"({_HS}*)([{_CJK}]|[^\s{_CJK}]+)(?:[^{_LB}]*\S)?")
_BLANK = re.compile(rf"{_BREAK}(?:{_HS}*{_BREAK})+")  # two line breaks with only spaces between
_WEAK = re.compile(r"--?|[*+#]|\d{1,3}[.)]|\(\d{1,3}\)")  # a first word that may start a list item or wire paragraph


def _codes(chars: str) -> np.ndarray:
    return np.frombuffer(chars.encode("utf-32-le", "surrogatepass"), np.uint32)


# Character classes as bit flags in a table over the BMP (all their characters are in it): one lookup
# classifies the first or last characters of all lines (np.isin sorts, and costs more on small texts).
_PUNCT, _SENTENCE, _CLOSER, _STRONG, _WEAK_FIRST = 1, 2, 4, 8, 16
_CLASS = np.zeros(0x10000, np.uint8)
for _flag, _chars in (
    (_PUNCT, ".!?…:;,。！？；：，、"),
    (_SENTENCE, ".!?…:;。！？；："),
    (_CLOSER, "\"'”’»)]"),
    (_STRONG, "¶§•◦‣▪■□●○◆◇►▶⁃·"),  # bullets: never inside a sentence
    (_WEAK_FIRST, "-*+#(0123456789"),
):
    _CLASS[_codes(_chars)] |= _flag
_IS_BREAK = np.zeros(0x10000, bool)
_IS_BREAK[_codes(_LB)] = True
# What ``_block_lines`` needs of a character, as bit flags over the BMP: not a space (``\S``), a line break,
# CJK (``_CJK``), and a space or CJK.
_SOLID, _BREAKS, _CJK_CHAR, _STOPS = 1, 2, 4, 8
_KIND = np.zeros(0x10000, np.uint8)
_SPACE = np.array([chr(c).isspace() for c in range(0x10000)])
_KIND[~_SPACE] |= _SOLID
_KIND[_IS_BREAK] |= _BREAKS
_IS_CJK = np.zeros(0x10000, bool)
for _lo, _hi in re.findall(r"(.)-(.)", _CJK):
    _IS_CJK[ord(_lo) : ord(_hi) + 1] = True
_KIND[_IS_CJK] |= _CJK_CHAR
_KIND[_SPACE | _IS_CJK] |= _STOPS
_MIN_WIDTH = 25
_NEAR = 20  # columns under the common width that a wrapped line's end falls within
_VERSE = 0.7  # share of forced breaks ending in punctuation, or before a capital, that marks verse
_SAMPLE_CHARS = 1 << 18
_WINDOW_LINES = 512


def _classes(codes: np.ndarray) -> np.ndarray:
    """The class flags of each code point (0 beyond the BMP)."""
    return _CLASS[np.minimum(codes, 0xFFFF)] * (codes <= 0xFFFF)


def _chars_at(text: str, at: np.ndarray) -> np.ndarray:
    """The code points of ``text`` at the positions ``at`` (one C call, not a Python loop)."""
    if not len(at):
        return np.zeros(0, np.uint32)
    got = itemgetter(*at.tolist())(text)
    return _codes(got if len(at) == 1 else "".join(got))


def _line_matches(text: str, lo: int, hi: int, limit: int | None = None) -> np.ndarray:
    """(line, start, word, end) of each ``_LINE`` match in ``text[lo:hi]`` (at most ``limit``): 4 rows."""
    matches = islice(_LINE.finditer(text, lo, hi), limit)
    flat = np.fromiter(chain.from_iterable((m.start(), m.start(2), m.end(2), m.end()) for m in matches), np.int64)
    return flat.reshape(-1, 4).T


_CHUNK = 1 << 20  # characters per block of ``_line_arrays``


def _line_arrays(text: str, lo: int, hi: int) -> np.ndarray:
    """``_line_matches`` of a long text from ``lo``, a line start, to ``hi``, the text's end, in numpy: blocks
    of whole lines looked up in character tables (a regular expression steps through every character, in
    Python per line). A line is the stretch between two line breaks; a line with a non-space character
    is a match: from the line's start, its first non-space character and the end of its first word (one
    CJK character, else up to a space or a CJK character), to its last non-space character. A line longer
    than two blocks is left to the regular expression."""
    out = []
    a = lo
    while a < hi:
        brk = _next_break(text, min(a + _CHUNK, hi))
        b = hi if brk < 0 else brk + 1
        if b - a > 2 * _CHUNK:  # a very long line: its matches are few
            out.append(_line_matches(text, a, b))
        else:
            out.append(_block_lines(text[a:b]) + a)
        a = b
    return np.concatenate(out, axis=1) if out else np.zeros((4, 0), np.int64)


def _block_lines(block: str) -> np.ndarray:
    """``_line_matches`` of a block that starts at a line start and ends after a line break or at the text's
    end. Only line ends and first words are looked at: a line that starts or ends with a space (rare in
    wrapped text) is matched by the regular expression."""
    kind = _KIND[_bmp(block)]
    breaks = np.flatnonzero(kind & _BREAKS)
    line, stop = np.r_[0, breaks + 1], np.r_[breaks, len(block)]  # each line: [line, stop)
    keep = stop > line
    line, stop = line[keep], stop[keep]
    trim = ((kind[line] & kind[stop - 1]) & _SOLID) == 0  # a space first or last (or a blank line)
    rows = [np.stack([line, line, line, stop])[:, ~trim]]
    rows += [_line_matches(block, int(a), int(b)) for a, b in zip(line[trim].tolist(), stop[trim].tolist())]
    out = np.concatenate(rows, axis=1) if len(rows) > 1 else rows[0]
    if len(rows) > 1:
        out = out[:, np.argsort(out[0], kind="stable")]
    stops = np.flatnonzero(kind & _STOPS)  # a space or a CJK character ends a first word
    start = out[1]
    out[2] = np.where(
        kind[start] & _CJK_CHAR, start + 1, np.r_[stops, len(block)][np.searchsorted(stops, start, "right")]
    )
    return out.astype(np.int64)


class _Lines:
    """The non-blank lines of a stretch of text as arrays, and what starts and ends each.

    ``line``/``start``/``word``/``end``: where the line, its text and its first word start, and where
    its text ends; then per line: a blank line before it, indented (a tab or 2+ spaces more than the
    least indented line), a bullet or a weak marker first, punctuation or a sentence end last.
    """

    def __init__(self, text: str, lo: int, hi: int, limit: int | None = None) -> None:
        if limit is None and hi - lo > _SAMPLE_CHARS:
            self.line, self.start, self.word, self.end = _line_arrays(text, lo, hi)
        else:
            self.line, self.start, self.word, self.end = _line_matches(text, lo, hi, limit)
        self.n = n = len(self.start)
        # A blank line before a line: only a gap longer than one line break (LF, CR LF...) can hold one.
        gap = np.r_[0, self.line[1:] - self.end[:-1]]
        crlf = np.flatnonzero(gap == 2)
        cr_lf = (_chars_at(text, self.end[crlf - 1]) == ord("\r")) & (
            _chars_at(text, self.end[crlf - 1] + 1) == ord("\n")
        )
        gap[crlf[cr_lf]] = 1
        maybe = np.flatnonzero(gap > 1).tolist()
        self.blank_before = np.zeros(n, bool)
        self.blank_before[[i for i in maybe if _BLANK.search(text, self.end[i - 1], self.line[i])]] = True
        self.first = _chars_at(text, self.start)
        first = _classes(self.first)
        last = _classes(_chars_at(text, self.end - 1))
        closed = np.flatnonzero((last & _CLOSER).astype(bool) & (self.end - self.start > 1))
        last[closed] = _classes(_chars_at(text, self.end[closed] - 2))  # the mark before a closing quote
        self.punct = (last & _PUNCT).astype(bool)
        self.sentence = (last & _SENTENCE).astype(bool)
        self.strong = (first & _STRONG).astype(bool)
        self.weak = np.zeros(n, bool)
        maybe = np.flatnonzero((first & _WEAK_FIRST).astype(bool) & (self.word < self.end)).tolist()
        self.weak[[i for i in maybe if _WEAK.fullmatch(text, self.start[i], self.word[i])]] = True
        indent = self.start - self.line
        self.indented = indent >= (int(indent.min()) + 2 if n else 0)
        single = np.flatnonzero(indent == 1)
        self.indented[single[_chars_at(text, self.line[single]) == ord("\t")]] = True

    def width(self) -> np.ndarray:
        """Each line's length from its line start (indentation included) to its last non-space."""
        return self.end - self.line


def _starts(lines: _Lines) -> np.ndarray:
    """Lines that surely start a paragraph in any text: after a blank line, indented, or bulleted."""
    return lines.blank_before | lines.indented | lines.strong | (lines.weak & np.r_[True, lines.sentence[:-1]])


def _mostly_even(lengths: list[int]) -> bool:
    """Whether at least 3 lines and a third of them end near a common width (within ``_NEAR`` of
    the 98th percentile of their trimmed lengths): the cheap first test, on ``split_paragraphs``' spans
    of a short text (so text that is not wrapped builds no line arrays) or on the sampled lines."""
    if len(lengths) < 3:
        return False
    ranked = sorted(lengths)
    top = ranked[int(0.98 * (len(ranked) - 1))]
    return sum(top - _NEAR <= n <= top for n in ranked) >= max(2, len(ranked) / 3)


def _wrap_width(text: str, samples: list[_Lines]) -> int | None:
    """The width the sampled lines were hard-wrapped at, or None when they are not hard-wrapped."""
    widths = np.concatenate([s.width() for s in samples if s.n])
    lengths = np.concatenate([s.end - s.start for s in samples if s.n])
    if len(widths) < 3 or not _mostly_even(lengths.tolist()):
        return None
    width = int(np.sort(widths)[int(0.98 * (len(widths) - 1))])  # the 98th percentile (lower rank)
    if width < _MIN_WIDTH:
        return None
    forced = run_on = punct = upper = 0
    for s in samples:
        if s.n < 2:
            continue
        w = s.width()[:-1]
        on = ~_starts(s)[1:]  # line i runs on into line i + 1 (no blank line, indent or bullet between)
        next_word = (s.word - s.start)[1:]
        hit = on & (w <= width) & (w + 1 + next_word > width)
        forced += int(hit.sum())
        run_on += int(on.sum())
        punct += int((hit & s.punct[:-1]).sum())
        upper += sum(chr(c).isupper() for c in s.first[1:][hit].tolist())
    verse = punct >= _VERSE * forced or upper >= _VERSE * forced  # verse: lines end in punctuation, start upper
    return width if forced >= 2 and forced >= 0.5 * run_on and not verse else None


def _bmp(chars: str) -> np.ndarray:
    """One table index per character: its code point, U+FFFF beyond the BMP (in every table here that is
    neither a space, a line break nor CJK, as the astral characters are). UTF-16 when nothing is astral."""
    units = np.frombuffer(chars.encode("utf-16-le", "surrogatepass"), np.uint16)
    return units if len(units) == len(chars) else np.minimum(_codes(chars), 0xFFFF)


def _next_break(text: str, lo: int) -> int:
    """Where the first line break at or after ``lo`` is, or -1: looked up in windows that double (a regular
    expression would step through a line of 200 MB a character at a time)."""
    size = 1 << 12
    while lo < len(text):
        hi = min(lo + size, len(text))
        found = np.flatnonzero(_IS_BREAK[_bmp(text[lo:hi])])
        if found.size:
            return lo + int(found[0])
        lo, size = hi, min(2 * size, 1 << 20)
    return -1


def _windows(text: str, start: int) -> tuple[list[_Lines], bool]:
    """Lines to test, and whether they are all the text's: all of a short text; else four windows of
    ``_WINDOW_LINES`` lines from its start and from a quarter, half and three quarters of the way."""
    size = len(text) - start
    if size <= _SAMPLE_CHARS:
        return [_Lines(text, start, len(text))], True
    out = []
    brk = -1
    for k in range(4):
        lo = start + k * size // 4
        if k:
            if brk < lo:  # else the break found for the window before is the first after lo too
                brk = _next_break(text, lo)
            if brk < 0:
                break
            lo = brk + 1 + text.startswith("\r\n", brk)  # as _BREAK: CR LF is one break
        out.append(_Lines(text, lo, len(text), _WINDOW_LINES))
    return out, False


def _window_lines(text: LongText, lo: int) -> _Lines | None:
    """``_Lines(text, lo, len(text), _WINDOW_LINES)`` of a ``LongText``, from a stretch decoded from ``lo`` that
    ends after a line break and holds all those lines (doubled until it does); None past ``_MAX_WINDOW``."""
    size = 1 << 16
    while size <= _MAX_WINDOW:
        hi = min(len(text), lo + size)
        piece = text[lo:hi]
        if hi < len(text):
            breaks = np.flatnonzero(_IS_BREAK[_bmp(piece)])
            piece = piece[: int(breaks[-1]) + 1] if breaks.size else ""
        if piece or hi == len(text):
            lines = _Lines(piece, 0, len(piece), _WINDOW_LINES)
            if lines.n >= _WINDOW_LINES or hi == len(text):
                return lines
        size *= 2
    return None


_MAX_WINDOW = 1 << 26  # characters of a ``LongText`` decoded to find a window's lines


def wrapped(text: LongText, start: int = 0) -> bool:
    """Whether ``text_paragraphs`` would join lines of this ``LongText`` from ``start`` (its windows tested as
    ``_windows`` takes them from a ``str``), or cannot tell from windows of it (a line of more than
    ``_MAX_WINDOW`` characters); either way its paragraphs then need the whole text."""
    size = len(text) - start
    if size <= _SAMPLE_CHARS:
        return True
    samples = []
    brk = -1
    for k in range(4):
        lo = start + k * size // 4
        if k:
            if brk < lo:
                brk = _next_break(text, lo)  # type: ignore[arg-type]
            if brk < 0:
                break
            lo = brk + 1 + text.startswith("\r\n", brk)
        lines = _window_lines(text, lo)
        if lines is None:
            return True
        samples.append(lines)
    return _wrap_width(text, samples) is not None  # type: ignore[arg-type]


def _join(lines: _Lines, width: int) -> list[tuple[int, int]]:
    """Paragraph spans of hard-wrapped lines: a run of lines until the next paragraph start."""
    w = lines.width()
    next_word = np.r_[(lines.word - lines.start)[1:], 0]
    fits = w + 1 + next_word <= width
    long = w > width + max(8, width // 10)  # a line no wrap made (a long title, an unwrapped paragraph)
    ends = fits | long
    first = _starts(lines) | long | np.r_[True, ends[:-1]]
    first[0] = True
    heads = np.flatnonzero(first)
    lasts = np.r_[heads[1:] - 1, lines.n - 1]
    return list(zip(lines.start[heads].tolist(), lines.end[lasts].tolist(), strict=True))


def text_paragraphs(text: str, start: int = 0) -> list[tuple[int, int]]:
    """Paragraph spans of a plain text from ``start``: hard-wrapped lines joined, else one a line."""
    if len(text) - start <= _SAMPLE_CHARS:
        spans = split_paragraphs(text, start)
        if not _mostly_even([e - s for s, e in spans]):
            return spans
    samples, whole = _windows(text, start)
    width = _wrap_width(text, samples)
    if width is None:
        return split_paragraphs(text, start)
    lines = samples[0] if whole else _Lines(text, start, len(text))
    return _join(lines, width) if lines.n else []
