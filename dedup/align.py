"""Shared passages of a pair of documents, as character offsets into both texts.

Seeds are the shingles the two documents share. Seeds on one diagonal
(the same shift between the two texts) that follow each other form a run;
runs are picked longest first so that each stretch of either text is used at
most once (a headline printed twice cannot yield two passages onto one
stretch); then runs that follow each other in both texts are bridged across
small gaps (an edited word, a dropped sentence) unless the gap holds a whole
paragraph of its own (an inserted promo line is not part of the passage).
Reordered paragraphs stay separate passages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .corpus import Corpus
from .options import AlignParams
from .phase1.normalise import Tokens
from .phase1.shingle import Shingles


@dataclass
class _Doc:
    hashes: np.ndarray
    first: np.ndarray  # first token of each shingle, document-relative
    last: np.ndarray
    starts: np.ndarray  # token character offsets
    ends: np.ndarray
    para_starts: np.ndarray
    para_ends: np.ndarray


def _doc(corpus: Corpus, tokens: Tokens, sh: Shingles, i: int) -> _Doc:
    s, t = sh.doc(i), tokens.doc(i)
    base = tokens.offsets[i]
    paras = corpus.paragraphs(i)
    return _Doc(
        hashes=sh.hashes[s],
        first=sh.first[s] - base,
        last=sh.last[s] - base,
        starts=tokens.starts[t],
        ends=tokens.ends[t],
        para_starts=paras[:, 0],
        para_ends=paras[:, 1],
    )


def _seeds(a: _Doc, b: _Doc, max_repeats: int) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j) with shingle i of a equal to shingle j of b, skipping over-repeated shingles."""
    order = np.argsort(b.hashes, kind="stable")
    sb = b.hashes[order]
    lo = np.searchsorted(sb, a.hashes, "left")
    # Only a's shingles that b holds go on (a huge article beside a short one: a few of its millions).
    held = np.flatnonzero(sb[np.minimum(lo, max(len(sb) - 1, 0))] == a.hashes) if len(sb) else lo[:0]
    count = np.zeros(len(a.hashes), dtype=np.int64)
    count[held] = np.searchsorted(sb, a.hashes[held], "right") - lo[held]
    # Every repeat of a shingle b holds is among them, so these are its repeats in all of a.
    _, inv, reps_a = np.unique(a.hashes[held], return_inverse=True, return_counts=True)
    count[held[(count[held] > max_repeats) | (reps_a[inv] > max_repeats)]] = 0
    i = np.repeat(np.arange(len(a.hashes)), count)
    j = order[np.repeat(lo - (np.cumsum(count) - count), count) + np.arange(int(count.sum()))]
    return i, j


def _runs(i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Maximal diagonal runs of seeds as rows (i0, i1, j0, j1), shingle indices inclusive."""
    diag = j - i
    order = np.lexsort((i, diag))
    i, j, diag = i[order], j[order], diag[order]
    new = np.ones(len(i), dtype=bool)
    new[1:] = (diag[1:] != diag[:-1]) | (i[1:] != i[:-1] + 1)
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(i)) - 1
    return np.stack([i[starts], i[ends], j[starts], j[ends]], axis=1)


def _select(runs: np.ndarray, a: _Doc, b: _Doc) -> list[tuple[int, int, int, int]]:
    """Token ranges (a0, a1, b0, b1), half-open, using each token of either text at most once."""
    ta0, ta1 = a.first[runs[:, 0]], a.last[runs[:, 1]] + 1
    tb0 = b.first[runs[:, 2]]
    length = ta1 - ta0
    diag = tb0 - ta0
    main = int(np.median(np.repeat(diag, length))) if len(diag) else 0
    order = np.lexsort((ta0, np.abs(diag - main), -length))
    used_a = np.zeros(len(a.starts) + 1, dtype=bool)
    used_b = np.zeros(len(b.starts) + 1, dtype=bool)
    chosen = []
    for r in order.tolist():
        a0, n, b0 = int(ta0[r]), int(length[r]), int(tb0[r])
        free = ~(used_a[a0 : a0 + n] | used_b[b0 : b0 + n])
        if not free.any():
            continue
        if not free.all():  # keep the longest free stretch of this run
            edges = np.flatnonzero(np.diff(np.concatenate(([0], free.view(np.int8), [0]))))
            lo, hi = edges[0::2], edges[1::2]
            k = int(np.argmax(hi - lo))
            a0, b0, n = a0 + int(lo[k]), b0 + int(lo[k]), int(hi[k] - lo[k])
        used_a[a0 : a0 + n] = True
        used_b[b0 : b0 + n] = True
        chosen.append((a0, a0 + n, b0, b0 + n))
    chosen.sort()
    return chosen


def _holds_paragraph(d: _Doc, start: int, end: int) -> bool:
    """Whether the character range [start, end) holds most of some paragraph of the document.

    "Most", not "all": a run may reach a word or two into the next paragraph when
    the paragraph that follows in the other text happens to start the same way.
    """
    lo = int(np.searchsorted(d.para_ends, start, "right"))
    hi = int(np.searchsorted(d.para_starts, end, "left"))
    if hi <= lo:
        return False
    s, e = d.para_starts[lo:hi], d.para_ends[lo:hi]
    inside = np.minimum(e, end) - np.maximum(s, start)
    return bool(np.any(inside * 2 > e - s))


def _bridge(chosen: list[tuple[int, int, int, int]], a: _Doc, b: _Doc, max_gap: int) -> list[list[int]]:
    merged: list[list[int]] = []
    for a0, a1, b0, b1 in chosen:
        if merged:
            p = merged[-1]
            gap_a, gap_b = a0 - p[1], b0 - p[3]
            if (
                0 <= gap_a <= max_gap
                and 0 <= gap_b <= max_gap
                and not _holds_paragraph(a, int(a.ends[p[1] - 1]), int(a.starts[a0]))
                and not _holds_paragraph(b, int(b.ends[p[3] - 1]), int(b.starts[b0]))
            ):
                p[1], p[3] = a1, b1
                continue
        merged.append([a0, a1, b0, b1])
    return merged


def _widen(text: str, start: int, end: int, reach: int = 3) -> tuple[int, int]:
    """Take in the punctuation that hugs a passage (closing stops and quotes, opening quotes)."""

    def hugging(c: str) -> bool:
        return not c.isspace() and not c.isalnum()

    lo = start
    while lo > 0 and start - lo < reach and hugging(text[lo - 1]):
        lo -= 1
    hi = end
    while hi < len(text) and hi - end < reach and hugging(text[hi]):
        hi += 1
    return lo, hi


def align_pair(corpus: Corpus, tokens: Tokens, sh: Shingles, a: int, b: int, params: AlignParams) -> np.ndarray:
    """Shared passages of documents a and b: rows (a_start, a_end, b_start, b_end) in characters."""
    da, db = _doc(corpus, tokens, sh, a), _doc(corpus, tokens, sh, b)
    i, j = _seeds(da, db, params.max_repeats)
    if len(i) == 0:
        return np.zeros((0, 4), dtype=np.int64)
    chosen = _select(_runs(i, j), da, db)
    ta, tb = corpus.texts[a], corpus.texts[b]
    passages = [
        _widen(ta, int(da.starts[a0]), int(da.ends[a1 - 1])) + _widen(tb, int(db.starts[b0]), int(db.ends[b1 - 1]))
        for a0, a1, b0, b1 in _bridge(chosen, da, db, params.max_gap)
        if min(a1 - a0, b1 - b0) >= params.min_tokens
    ]
    return np.array(passages, dtype=np.int64).reshape(-1, 4)


def align(
    corpus: Corpus, tokens: Tokens, sh: Shingles, a: np.ndarray, b: np.ndarray, params: AlignParams | None = None
) -> list[np.ndarray]:
    """Passages of every pair (a[p], b[p])."""
    params = params or AlignParams()
    return [align_pair(corpus, tokens, sh, int(x), int(y), params) for x, y in zip(a.tolist(), b.tolist())]


def _edge(text: str, paras: np.ndarray, covered: np.ndarray, start: int, end: int, short: int) -> str | None:
    """Whether [start, end) sits at the top or bottom of the text: only shared or short lines (``short``
    words at most) beside it."""

    def clear(rows: np.ndarray) -> bool:
        return all(covered[k] or len(text[s:e].split()) <= short for k, (s, e) in rows)

    before = [(k, (s, e)) for k, (s, e) in enumerate(paras.tolist()) if e <= start]
    after = [(k, (s, e)) for k, (s, e) in enumerate(paras.tolist()) if s >= end]
    if clear(before):
        return "top"
    if clear(after):
        return "bottom"
    return None


def template_like(corpus: Corpus, a: int, b: int, passages: np.ndarray, params: AlignParams) -> bool:
    """Whether two documents share only blocks at the same edge of both (a site's header and footer
    around two different articles), each document keeping long text of its own between them.

    Boilerplate is found by recurrence in three or more documents; this catches the two-document case.
    """
    if len(passages) == 0:
        return False
    sides = []
    for doc, cols in ((a, (0, 1)), (b, (2, 3))):
        text, paras = corpus.texts[doc], corpus.paragraphs(doc)
        spans = passages[:, list(cols)]
        inside = np.zeros(len(paras), dtype=bool)
        for s, e in spans.tolist():
            inside |= (paras[:, 0] >= s) & (paras[:, 1] <= e)
        own = [text[s:e] for (s, e), c in zip(paras.tolist(), inside) if not c]
        if sum(len(t.split()) > params.edge_line_words for t in own) == 0:
            return False  # nothing of its own beyond short lines: a copy, not a template around another text
        sides.append([_edge(text, paras, inside, s, e, params.edge_line_words) for s, e in spans.tolist()])
    return all(x is not None and x == y for x, y in zip(*sides))
