"""Tolerant word forms: a word that OCR or a narrow column broke across a line end with a hyphen is one word.

"recog-\\nnised" is "recognised" set in a column: the hyphen and the line break are the typesetter's, not the
author's. ``line_end_hyphens`` finds them (a letter, ``-``, the line break with any spaces around it, then a
lower-case letter: "Franco-\\nGerman" keeps its hyphen), ``joined_words`` merges the word spans either side of
each into one span, and ``word_form`` gives a span's text with the break taken out. Offsets always point into
the text as read.
"""

from __future__ import annotations

import re

# The hyphen and the line break (with spaces or tabs around it) of a word split at a line end. The literal
# hyphen first, so a scan skips to it; the letters either side are checked on each hit.
_BREAK = re.compile(r"-[ \t]*\r?\n[ \t]*")


def line_end_hyphens(text: str) -> list[tuple[int, int]]:
    """The (start, end) spans of the hyphen-and-line-break of every word split across a line end."""
    out = []
    for m in _BREAK.finditer(text):
        s, e = m.span()
        if s > 0 and e < len(text) and text[s - 1].isalpha() and text[e].isalpha() and text[e].islower():
            out.append((s, e))
    return out


def joined_words(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Word ``spans`` (sorted) with the two halves of each word split across a line end made one span."""
    breaks = {s: e for s, e in line_end_hyphens(text)}
    if not breaks:
        return spans
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out and breaks.get(out[-1][1]) == s:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def word_form(text: str, start: int, end: int) -> str:
    """``text[start:end]`` with the hyphen and line break of a word split across a line end taken out."""
    word = text[start:end]
    return _BREAK.sub("", word) if "\n" in word else word


# Letters and digits that OCR reads for one another, each class folded to its first member: a word read with
# one of them wrong keeps its key. Only 1:1 look-alikes; "rn" read for "m" and dropped or doubled letters are
# left to alignment.
OCR_CLASSES = ("oace0", "l1ij", "nubh", "tf", "s5", "gq9", "vy", "z2")
OCR_FOLD = str.maketrans({c: cls[0] for cls in OCR_CLASSES for c in cls[1:]})


def ocr_fold(normal: str) -> str:
    """A normalised (case-folded) word's OCR-tolerant form (``OCR_CLASSES``)."""
    return normal.translate(OCR_FOLD)
