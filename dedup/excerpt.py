"""Whether an article is an excerpt: text cut short ("…" then "Continue reading", or a link to the rest).

Phase 1 records where each article is cut (``excerpt_cut``); an excerpt is never chosen as a cluster's
source while a full text is there, and its pairs are checked to run on past the cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import islice
from operator import itemgetter

import numpy as np

from .longtext import LongText

_STRONG = (
    "continue reading",
    "keep reading",
    "read the full",
    "read the rest",
    "read the whole",
    "full story",
    "full article",
)
_MORE = (*_STRONG, "read more")  # each holds "read" or "full" (``_maybe_cut`` looks for those first)
_ELLIPSES = ("…", "...", "[…]", "[...]")


# The phrases' words as marks on a tokeniser's words (``word_marks``): the first word of a phrase as a word's
# end ("bread" before "more" holds "read more"), its last as a word's start, a middle one as the whole word.
_PHRASE_WORDS = tuple(tuple(p.split(" ")) for p in _MORE)
_MARK_BITS: dict[tuple[str, str], int] = {}
for _words in _PHRASE_WORDS:
    for _j, _w in enumerate(_words):
        _kind = "end" if _j == 0 else "start" if _j == len(_words) - 1 else "is"
        _MARK_BITS.setdefault((_kind, _w), 1 << len(_MARK_BITS))
ALL_MARKS = (1 << len(_MARK_BITS)) - 1  # 12 marks: a uint16 each

_PIECE = 1 << 20  # characters lowered at a time
_BLOCK = 1 << 16  # paragraphs whose last characters are looked at a time


def _maybe_cut(text: str) -> bool:
    """Whether the text has an ellipsis or a "read more" phrase anywhere (substring tests: a regular
    expression of the alternatives was a quarter of phase 1's time), lowered a piece at a time."""
    if "…" in text or "..." in text:
        return True
    reach = max(map(len, _MORE)) - 1  # pieces overlap by this: a phrase across two is in one
    for at in range(0, max(len(text), 1), _PIECE):
        low = text[at : at + _PIECE + reach].lower()
        if ("read" in low or "full" in low) and any(phrase in low for phrase in _MORE):
            return True
    return False


_WIDTH = 8  # bytes of a word's start and end compared: the longest phrase word ("continue") has 8
assert max(len(w) for _, w in _MARK_BITS) <= _WIDTH


def word_marks(folded: bytes) -> np.ndarray:
    """The marks (``_MARK_BITS``, uint16) of words whose characters are folded one by one as the tokeniser
    folds them (an ASCII letter's fold: its lower case), given as their UTF-8 joined by NUL bytes: which
    phrase words each ends with, starts with or is. Vectorised: each word's first and last 8 bytes as one
    little-endian uint64 each, compared under a mask with each phrase word's bytes."""
    buf = np.frombuffer(folded, dtype=np.uint8)
    seps = np.flatnonzero(buf == 0)
    starts = np.concatenate([[0], seps + 1])
    ends = np.concatenate([seps, [len(buf)]])
    lengths = ends - starts
    padded = np.concatenate([np.zeros(_WIDTH, np.uint8), buf, np.zeros(_WIDTH, np.uint8)])
    cols = np.arange(_WIDTH)
    head = np.ascontiguousarray(padded[(starts + _WIDTH)[:, None] + cols]).view("<u8").ravel()
    tail = np.ascontiguousarray(padded[ends[:, None] + cols]).view("<u8").ravel()  # the 8 bytes before its end
    out = np.zeros(len(starts), dtype=np.uint16)
    for (kind, w), bit in _MARK_BITS.items():
        n = len(w)
        value = np.uint64(int.from_bytes(w.encode("ascii"), "little"))
        if kind == "end":  # the last n bytes: the high ones
            hit = (lengths >= n) & ((tail >> np.uint64(8 * (_WIDTH - n))) == value)
        else:
            mask = np.uint64((1 << (8 * n)) - 1)
            hit = ((lengths >= n) if kind == "start" else (lengths == n)) & ((head & mask) == value)
        out[hit] |= np.uint16(bit)
    return out


def phrase_docs(offsets: np.ndarray, starts: np.ndarray, ends: np.ndarray, marks: np.ndarray) -> np.ndarray:
    """Per document of a batch of tokens (CSR ``offsets``; spans; ``word_marks`` of each), whether some phrase
    of ``_MORE`` may be in its lowered text: its words' marks on consecutive tokens one character apart.

    A phrase in the lowered text is made of ASCII letters and single spaces; the characters that lower to an
    ASCII letter (the letter in either case, the Kelvin sign) are word characters the tokeniser folds to that
    letter, and a space is a separator, so the phrase's first word ends a token, its last starts the token one
    character after, a middle one is a token: a document without such a run holds no phrase."""
    n = len(marks)
    offsets = np.asarray(offsets, dtype=np.int64)
    firsts = np.zeros(n + 1, dtype=bool)  # a document's first token: no run crosses into it
    firsts[offsets[:-1]] = True
    # The tokens that end with some phrase's first word (few): each phrase is looked for from them only.
    ending = np.bitwise_or.reduce([_MARK_BITS["end", words[0]] for words in _PHRASE_WORDS])
    at = np.flatnonzero(marks & np.uint16(ending))
    hit = np.zeros(len(at), dtype=bool)
    for words in _PHRASE_WORDS:
        m = len(words)
        ok = (marks[at] & np.uint16(_MARK_BITS["end", words[0]])) != 0
        ok &= at + m <= n
        for j in range(1, m):
            kind = "start" if j == m - 1 else "is"
            nxt = np.minimum(at + j, n - 1)
            ok &= (marks[nxt] & np.uint16(_MARK_BITS[kind, words[j]])) != 0
            ok &= starts[nxt] - ends[nxt - 1] == 1
            ok &= ~firsts[nxt]
        hit |= ok
    docs = np.searchsorted(offsets, at[hit], side="right") - 1
    out = np.zeros(len(offsets) - 1, dtype=bool)
    out[docs] = True
    return out


def maybe_cut_from_tokens(text: str, body_start: int, phrase: bool) -> bool:
    """False only where ``_maybe_cut(text)`` is False (its gate, without lowering the text), given ``phrase``:
    whether the body's tokens may hold a phrase (``phrase_docs`` of the tokens of ``text[body_start:]``).
    Only the ellipses and the text before the body (with the phrases that start there) are looked for in
    the text itself; a phrase that starts in the body is in its tokens' marks."""
    if phrase or "…" in text or "..." in text:
        return True
    reach = max(map(len, _MORE)) - 1
    return body_start > 0 and _maybe_cut(text[: body_start + reach])


def _last(text: str, s: int, e: int, chars: str | None = None) -> str:
    """The last character of ``text[s:e].rstrip(chars)`` ("" if none), without copying a long paragraph."""
    pos, step = e, 64
    while pos > s:
        lo = max(s, pos - step)
        piece = text[lo:pos].rstrip(chars)
        if piece:
            return piece[-1]
        pos, step = lo, 2 * step
    return ""


def _cut(text: str, s: int, e: int) -> bool:
    """Paragraph ``text[s:e]`` stops on an ellipsis in mid-sentence: "... a medical st…", "comes with […]"."""
    for mark in _ELLIPSES:
        if text.endswith(mark, s, e) and e - s >= len(mark):
            return _last(text, s, e - len(mark)).isalnum()
    return False


def _link_line(text: str, s: int, e: int) -> bool:
    """Paragraph ``text[s:e]`` is a short line that is not a sentence: "More at example.com (Site)", "Continue
    at …" (at most 12 words, as ``str.split`` counts them, not ending in a stop)."""
    words = _words_upto(text, s, e, 13)
    return words <= 12 and _last(text, s, e, "\"'”’)") not in (".", "!", "?")


_WORDS = re.compile(r"\S+")


def _words_upto(text: str | LongText, s: int, e: int, most: int) -> int:
    """How many words ``text[s:e]`` holds, counted up to ``most``; a ``LongText``'s paragraph is looked at in
    stretches that double, never copied whole (a stretch's words are at most the paragraph's)."""
    if isinstance(text, str):
        return sum(1 for _ in islice(_WORDS.finditer(text, s, e), most))
    size = 256
    while True:
        hi = min(e, s + size)
        found = sum(1 for _ in islice(_WORDS.finditer(text[s:hi]), most))
        if found >= most or hi == e:
            return found
        size *= 2


def _codes(chars: str) -> np.ndarray:
    return np.frombuffer(chars.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _find_all(text: str, mark: str) -> Iterator[int]:
    """Where ``mark`` occurs in ``text`` (``str.find``: a fast search, where a regular expression steps)."""
    at = text.find(mark)
    while at >= 0:
        yield at
        at = text.find(mark, at + len(mark))


def _ending(text: str, at: np.ndarray) -> np.ndarray:
    """Which of the paragraphs ending at ``at`` may end on one of ``_ELLIPSES`` (on "…", "..." or "]")."""
    if isinstance(text, LongText):
        last, dot2, dot3 = np.split(text.codes_at(np.concatenate([np.maximum(at - j, 0) for j in (1, 2, 3)])), 3)
    else:
        chars = (itemgetter(*np.maximum(at - j, 0).tolist(), 0)(text)[:-1] for j in (1, 2, 3))  # always a tuple
        last, dot2, dot3 = (_codes("".join(c)) for c in chars)
    dot = ord(".")
    return np.flatnonzero((last == ord("…")) | (last == ord("]")) | ((last == dot) & (dot2 == dot) & (dot3 == dot)))


def _candidates(text: str, paragraphs: np.ndarray) -> np.ndarray:
    """The paragraphs where ``excerpt_cut`` can stop, in order (a long text has a million; few can):
    one that may end on one of ``_ELLIPSES`` (on "…", "..." or "]"), the one after it, one holding an
    ellipsis, and the last 8."""
    n = len(paragraphs)
    if n <= 16:
        return np.arange(n)
    ends = np.concatenate([_ending(text, paragraphs[i : i + _BLOCK, 1]) + i for i in range(0, n, _BLOCK)])
    if isinstance(text, LongText):  # one walk over its blocks for both marks
        marks = np.array([at for found in text.find_all(("…", "...")) for at in found], dtype=np.int64)
    else:
        marks = np.array([*_find_all(text, "…"), *_find_all(text, "...")], dtype=np.int64)
    holding = np.searchsorted(paragraphs[:, 0], marks, side="right") - 1
    found = np.concatenate([ends, ends + 1, holding, np.arange(n - 8, n)])
    return np.unique(found[(found >= 0) & (found < n)])


def is_excerpt(text: str, paragraphs: np.ndarray) -> bool:
    """Whether the document reads as cut short (see ``excerpt_cut``)."""
    return excerpt_cut(text, paragraphs) >= 0


def excerpt_cut(text: str, paragraphs: np.ndarray) -> int:
    """Where the document's copied text is cut short (the end of the cut paragraph), or -1.

    Either a "Continue reading"-style line that follows text stopped on an ellipsis,
    carries one itself ("Read more…") or, for the unambiguous phrases, comes among the
    last paragraphs; or a paragraph stopped in mid-sentence on an ellipsis followed by a
    short line that is not a sentence (a link to the rest). Neither a trailing ellipsis alone (an
    original may end on one) nor a bare "Read more:" link to a related story is enough.
    """
    if not _maybe_cut(text):  # neither an ellipsis nor a "read more" phrase: no cut (the common case)
        return -1
    n = len(paragraphs)

    def span(k: int) -> tuple[int, int]:
        return int(paragraphs[k, 0]), int(paragraphs[k, 1])

    for k in _candidates(text, paragraphs).tolist():
        s, e = span(k)
        # a paragraph cut in mid-sentence (not a headline that ends on an ellipsis) then a link line
        if k + 1 < n and _cut(text, s, e) and not _link_line(text, s, e) and _link_line(text, *span(k + 1)):
            return e
        head = text[s : min(e, s + 40)].lstrip(" \t\"'“‘([-—–→»>*#").lower()
        if not head.startswith(_MORE) or k == 0:
            continue
        after_cut = _cut(text, *span(k - 1))
        held = text.find("…", s, e) >= 0 or text.find("...", s, e) >= 0
        if after_cut or held or (head.startswith(_STRONG) and k >= n - 8):
            return span(k - 1)[1]
    return -1
