"""Whether an article is an excerpt: text cut short ("…" then "Continue reading", or a link to the rest).

Phase 1 records where each article is cut (``excerpt_cut``); an excerpt is never chosen as a cluster's
source while a full text is there, and its pairs are checked to run on past the cut.
"""

from __future__ import annotations

from collections.abc import Iterator
from operator import itemgetter

import numpy as np

_STRONG = (
    "continue reading",
    "keep reading",
    "read the full",
    "read the rest",
    "read the whole",
    "full story",
    "full article",
)
_MORE = (*_STRONG, "read more")
_ELLIPSES = ("…", "...", "[…]", "[...]")


def _maybe_cut(text: str) -> bool:
    """Whether the text has an ellipsis or a "read more" phrase anywhere (substring tests: a regular
    expression of the alternatives was a quarter of phase 1's time)."""
    if "…" in text or "..." in text:
        return True
    low = text.lower()
    return any(phrase in low for phrase in _MORE)


def _cut(paragraph: str) -> bool:
    """Stops on an ellipsis in mid-sentence: "... a medical st…", "comes with […]"."""
    for mark in _ELLIPSES:
        if paragraph.endswith(mark):
            before = paragraph[: -len(mark)].rstrip()
            return bool(before) and before[-1].isalnum()
    return False


def _link_line(paragraph: str) -> bool:
    """A short line that is not a sentence: "More at example.com (Site)", "Continue at …"."""
    return len(paragraph.split()) <= 12 and not paragraph.rstrip("\"'”’)").endswith((".", "!", "?"))


def _codes(chars: str) -> np.ndarray:
    return np.frombuffer(chars.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _find_all(text: str, mark: str) -> Iterator[int]:
    """Where ``mark`` occurs in ``text`` (``str.find``: a fast search, where a regular expression steps)."""
    at = text.find(mark)
    while at >= 0:
        yield at
        at = text.find(mark, at + len(mark))


def _candidates(text: str, paragraphs: np.ndarray) -> np.ndarray:
    """The paragraphs where ``excerpt_cut`` can stop, in order (a long text has a million; few can):
    one that may end on one of ``_ELLIPSES`` (on "…", "..." or "]"), the one after it, one holding an
    ellipsis, and the last 8."""
    n = len(paragraphs)
    if n <= 16:
        return np.arange(n)
    at = paragraphs[:, 1]
    last, dot2, dot3 = (_codes("".join(itemgetter(*np.maximum(at - j, 0).tolist())(text))) for j in (1, 2, 3))
    dot = ord(".")
    ends = np.flatnonzero((last == ord("…")) | (last == ord("]")) | ((last == dot) & (dot2 == dot) & (dot3 == dot)))
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
    spans = paragraphs.tolist()
    for k in _candidates(text, paragraphs).tolist():
        s, e = spans[k]
        line = text[s:e]
        # a paragraph cut in mid-sentence (not a headline that ends on an ellipsis) then a link line
        if (
            k + 1 < len(spans)
            and _cut(line)
            and not _link_line(line)
            and _link_line(text[spans[k + 1][0] : spans[k + 1][1]])
        ):
            return e
        head = line[:40].lstrip(" \t\"'“‘([-—–→»>*#").lower()
        if not head.startswith(_MORE) or k == 0:
            continue
        after_cut = _cut(text[spans[k - 1][0] : spans[k - 1][1]])
        if after_cut or "…" in line or "..." in line or (head.startswith(_STRONG) and k >= len(spans) - 8):
            return spans[k - 1][1]
    return -1
