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
from .phase1.banal import banal_tokens
from .phase1.normalise import Tokens
from .phase1.shingle import Shingles


@dataclass
class Side:
    """One side of a pair: its shingles (hash, first and last token, document-relative), its tokens'
    character spans and its paragraphs'."""

    hashes: np.ndarray
    first: np.ndarray  # first token of each shingle, document-relative
    last: np.ndarray
    starts: np.ndarray  # token character offsets
    ends: np.ndarray
    para_starts: np.ndarray
    para_ends: np.ndarray
    # Per token, whether it is a banal word (a number or calendar word, ``phase1.banal``): evidence of nothing,
    # so a passage never grows or bridges over banal words alone (a month archive two blogs both list). None:
    # not known (no token is banal).
    banal: np.ndarray | None = None

    def banal_run(self, lo: int, hi: int) -> bool:
        """Whether tokens [lo, hi) are all banal (an empty range is not)."""
        return self.banal is not None and hi > lo and bool(self.banal[lo:hi].all())


def _doc(corpus: Corpus, tokens: Tokens, sh: Shingles, i: int) -> Side:
    s, t = sh.doc(i), tokens.doc(i)
    base = tokens.offsets[i]
    paras = corpus.paragraphs(i)
    return Side(
        hashes=sh.hashes[s],
        first=sh.first[s] - base,
        last=sh.last[s] - base,
        starts=tokens.starts[t],
        ends=tokens.ends[t],
        para_starts=paras[:, 0],
        para_ends=paras[:, 1],
        banal=banal_tokens(tokens.hashes[t]),
    )


def _seeds(a: Side, b: Side, max_repeats: int) -> tuple[np.ndarray, np.ndarray]:
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


def _select(runs: np.ndarray, a: Side, b: Side) -> list[tuple[int, int, int, int]]:
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


def _holds_paragraph(d: Side, start: int, end: int) -> bool:
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


def _alike(text_a: str, text_b: str, lo_a: int, hi_a: int, lo_b: int, hi_b: int, least: float) -> bool:
    """Whether text_a[lo_a:hi_a] and text_b[lo_b:hi_b] read alike character by character (edit distance,
    case folded, at least ``least`` of the longer one's length in common)."""
    from rapidfuzz.distance import Levenshtein

    sa, sb = text_a[lo_a:hi_a].lower(), text_b[lo_b:hi_b].lower()
    return Levenshtein.normalized_similarity(sa, sb, score_cutoff=least) >= least


def _bridge(
    chosen: list[tuple[int, int, int, int]], a: Side, b: Side, params: AlignParams, text_a: str, text_b: str
) -> list[list[int]]:
    """Runs that follow each other in both texts, joined across small gaps (``max_gap`` tokens) that hold no
    paragraph of their own, and across gaps of up to ``chain_gap`` tokens whose two sides read alike
    character by character (the same words with wrong letters: OCR noise, a respelt word)."""
    merged: list[list[int]] = []
    for a0, a1, b0, b1 in chosen:
        if merged:
            p = merged[-1]
            gap_a, gap_b = a0 - p[1], b0 - p[3]
            lo_a, hi_a = int(a.ends[p[1] - 1]), int(a.starts[a0]) if a0 < len(a.starts) else int(a.ends[-1])
            lo_b, hi_b = int(b.ends[p[3] - 1]), int(b.starts[b0]) if b0 < len(b.starts) else int(b.ends[-1])
            near = 0 <= gap_a <= params.max_gap and 0 <= gap_b <= params.max_gap
            if (near and not _holds_paragraph(a, lo_a, hi_a) and not _holds_paragraph(b, lo_b, hi_b)) or (
                0 <= gap_a <= params.chain_gap
                and 0 <= gap_b <= params.chain_gap
                and not (a.banal_run(p[1], a0) or b.banal_run(p[3], b0))
                and _alike(text_a, text_b, lo_a, hi_a, lo_b, hi_b, params.chain_identity)
            ):
                p[1], p[3] = a1, b1
                continue
        merged.append([a0, a1, b0, b1])
    return merged


def _word_alike(wa: str, wb: str, least: float) -> bool:
    """Two words that are one with a wrong letter or two (``least`` of the longer in common)."""
    from rapidfuzz.distance import Levenshtein

    return wa == wb or Levenshtein.normalized_similarity(wa.lower(), wb.lower(), score_cutoff=least) >= least


def _extend(
    m: list[int],
    a: Side,
    b: Side,
    text_a: str,
    text_b: str,
    used_a: tuple[int, int],
    used_b: tuple[int, int],
    params: AlignParams,
) -> list[int]:
    """A passage grown word by word at both ends while the next words on either side are alike
    (``_word_alike``): a noisy copy's first words, before its first intact shingle, belong to the passage.
    ``used_*``: the token ranges it may not grow into (the passages before and after it)."""
    a0, a1, b0, b1 = m
    least = params.word_identity
    for _ in range(params.chain_gap):
        if a0 <= used_a[0] or b0 <= used_b[0]:
            break
        wa = text_a[int(a.starts[a0 - 1]) : int(a.ends[a0 - 1])]
        wb = text_b[int(b.starts[b0 - 1]) : int(b.ends[b0 - 1])]
        if a.banal_run(a0 - 1, a0) or b.banal_run(b0 - 1, b0) or not _word_alike(wa, wb, least):
            break
        a0, b0 = a0 - 1, b0 - 1
    for _ in range(params.chain_gap):
        if a1 >= used_a[1] or b1 >= used_b[1]:
            break
        wa = text_a[int(a.starts[a1]) : int(a.ends[a1])]
        wb = text_b[int(b.starts[b1]) : int(b.ends[b1])]
        if a.banal_run(a1, a1 + 1) or b.banal_run(b1, b1 + 1) or not _word_alike(wa, wb, least):
            break
        a1, b1 = a1 + 1, b1 + 1
    return [a0, a1, b0, b1]


def _grown(merged: list[list[int]], a: Side, b: Side, text_a: str, text_b: str, params: AlignParams) -> list[list[int]]:
    """Each passage ``_extend``-ed, never into its neighbours in either text."""
    out = []
    for m in merged:
        prev_a = max([p[1] for p in merged if p[1] <= m[0]], default=0)
        next_a = min([p[0] for p in merged if p[0] >= m[1]], default=len(a.starts))
        prev_b = max([p[3] for p in merged if p[3] <= m[2]], default=0)
        next_b = min([p[2] for p in merged if p[2] >= m[3]], default=len(b.starts))
        out.append(_extend(m, a, b, text_a, text_b, (prev_a, next_a), (prev_b, next_b), params))
    return out


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
        for a0, a1, b0, b1 in _grown(_bridge(chosen, da, db, params, ta, tb), da, db, ta, tb, params)
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


# ------------------------------------------------------------------------------ sparse, collinear evidence


def _run_tokens(a: Side, b: Side, max_repeats: int) -> np.ndarray:
    """The pair's diagonal runs of shared shingles as token ranges (a0, a1, b0, b1), half-open, sorted by a0."""
    i, j = _seeds(a, b, max_repeats)
    if not len(i):
        return np.zeros((0, 4), dtype=np.int64)
    runs = _runs(i, j)
    out = np.stack([a.first[runs[:, 0]], a.last[runs[:, 1]] + 1, b.first[runs[:, 2]], b.last[runs[:, 3]] + 1], axis=1)
    return out[np.argsort(out[:, 0], kind="stable")].astype(np.int64)


def _chained(runs: np.ndarray, params: AlignParams) -> tuple[np.ndarray, np.ndarray]:
    """Which runs lie on a chain of others (``chain_gap``, ``chain_drift``) and where chains start.

    A run is kept when another run lies within ``chain_gap`` tokens of it on nearly its diagonal (a noisy
    copy's shared shingles come in many short runs along one diagonal); an isolated run (a stock phrase
    elsewhere in the other text) is dropped. Kept runs, in order, continue one chain while the next starts
    within ``chain_gap`` tokens in both texts on nearly the same diagonal. Returns (kept, chain start flags
    of the kept runs)."""
    n = len(runs)
    diag = runs[:, 2] - runs[:, 0]
    kept = np.zeros(n, dtype=bool)
    for step in range(1, params.chain_look + 1):  # neighbours in a order, a few on either side
        if step >= n:
            break
        near = (runs[step:, 0] - runs[:-step, 1] <= params.chain_gap) & (
            np.abs(diag[step:] - diag[:-step]) <= params.chain_drift
        )
        kept[step:] |= near
        kept[:-step] |= near
    r, d = runs[kept], diag[kept]
    start = np.ones(len(r), dtype=bool)
    if len(r) > 1:
        gap_a, gap_b = r[1:, 0] - r[:-1, 1], r[1:, 2] - r[:-1, 3]
        go_on = (gap_a <= params.chain_gap) & (gap_b <= params.chain_gap) & (gap_b >= -params.chain_drift)
        go_on &= np.abs(d[1:] - d[:-1]) <= params.chain_drift
        start[1:] = ~go_on
    return kept, start


def chains(a: Side, b: Side, params: AlignParams) -> np.ndarray:
    """Stretches of a and b that one chain of shared shingles runs through: rows (a0, a1, b0, b1, runs),
    token ranges half-open, ``runs`` the diagonal runs it holds.

    A copy with a few wrong letters in every sentence shares only scattered shingles with its source, but
    they all lie on one diagonal, a few words apart, from one end of the copy to the other; two articles
    that quote the same sentence share one dense run, and another far away if they share two.
    """
    runs = _run_tokens(a, b, params.max_repeats)
    if not len(runs):
        return np.zeros((0, 5), dtype=np.int64)
    kept, start = _chained(runs, params)
    r = runs[kept]
    if not len(r):
        return np.zeros((0, 5), dtype=np.int64)
    at = np.flatnonzero(start)
    count = np.diff(np.append(at, len(r)))
    return np.stack(
        [
            r[at, 0],
            np.maximum.reduceat(r[:, 1], at),
            np.minimum.reduceat(r[:, 2], at),
            np.maximum.reduceat(r[:, 3], at),
            count,
        ],
        axis=1,
    )


def _covered(lo: np.ndarray, hi: np.ndarray) -> int:
    """Tokens in the union of the ranges [lo, hi)."""
    if not len(lo):
        return 0
    order = np.argsort(lo, kind="stable")
    lo, hi = lo[order], np.maximum.accumulate(hi[order])
    start = np.maximum(lo, np.r_[0, hi[:-1]])
    return int(np.maximum(hi - start, 0).sum())


def chain_identity(
    text_a: str, text_b: str, a: Side, b: Side, chain: np.ndarray, words_a: np.ndarray, words_b: np.ndarray
) -> tuple[float, float]:
    """How alike the two stretches a chain runs through are, by characters and by words: 1 - their edit
    distance over the longer one's length, on the case-folded characters and on the word hashes (compiled,
    bit-parallel: rapidfuzz). A copy with a wrong letter in every ten reads about 0.9 by characters; a light
    paraphrase (a third of the words swapped, clauses turned round) about 0.65 by characters and 0.6 by words;
    two articles listing the same venues or names in the same order, their own words between them, about 0.5
    and 0.45. A chain longer than ``IDENTITY_WORDS`` words is read in ``IDENTITY_WINDOWS`` windows spread
    along it (the cost stays linear in the chain, whatever its length)."""
    a0, a1, b0, b1 = (int(x) for x in chain[:4])
    n_a, n_b = a1 - a0, b1 - b0
    if max(n_a, n_b) <= IDENTITY_WORDS:
        return _identity(text_a, text_b, a, b, words_a, words_b, a0, a1, b0, b1)
    step = IDENTITY_WORDS // IDENTITY_WINDOWS
    found = []
    for k in range(IDENTITY_WINDOWS):  # windows at the same relative place of both stretches
        wa = a0 + (n_a - step) * k // max(IDENTITY_WINDOWS - 1, 1)
        wb = b0 + (n_b - step) * k // max(IDENTITY_WINDOWS - 1, 1)
        found.append(_identity(text_a, text_b, a, b, words_a, words_b, wa, wa + step, wb, wb + step))
    return float(np.mean([f[0] for f in found])), float(np.mean([f[1] for f in found]))


IDENTITY_WORDS = 4096  # a chain this long at most is compared whole (edit distance: quadratic / 64)
IDENTITY_WINDOWS = 8


def _identity(
    text_a: str,
    text_b: str,
    a: Side,
    b: Side,
    words_a: np.ndarray,
    words_b: np.ndarray,
    a0: int,
    a1: int,
    b0: int,
    b1: int,
) -> tuple[float, float]:
    """``chain_identity`` of the token ranges [a0, a1) and [b0, b1), read whole."""
    from rapidfuzz.distance import Levenshtein

    sa = text_a[int(a.starts[a0]) : int(a.ends[a1 - 1])].lower()
    sb = text_b[int(b.starts[b0]) : int(b.ends[b1 - 1])].lower()
    chars = float(Levenshtein.normalized_similarity(sa, sb))
    words = float(Levenshtein.normalized_similarity(words_a[a0:a1].tolist(), words_b[b0:b1].tolist()))
    return chars, words


def _alike_chain(identity: tuple[float, float], params: AlignParams) -> bool:
    """A chain whose stretches read alike: by characters (``chain_identity``), or fairly by characters
    (``chain_identity_low``) with most words (``chain_words``) the same."""
    chars, words = identity
    return chars >= params.chain_identity or (chars >= params.chain_identity_low and words >= params.chain_words)


def spread_cover(
    text_a: str, a: Side, words_a: np.ndarray, text_b: str, b: Side, words_b: np.ndarray, params: AlignParams
) -> tuple[float, float]:
    """The shares of a's and b's tokens that chains of scattered shared shingles run through (``chains``):
    chains of ``chain_runs`` runs or more whose stretches read alike (``chain_identity``, ``_alike_chain``).
    ``a``/``b``: the shingles (hash, first and last token, document-relative) and token spans of each side;
    ``words_*``: its token hashes."""
    found = chains(a, b, params)
    ok = np.array(
        [
            r >= params.chain_runs and _alike_chain(chain_identity(text_a, text_b, a, b, c, words_a, words_b), params)
            for c, r in zip(found, found[:, 4])
        ],
        dtype=bool,
    )
    found = _joined(found, ok, a, b, text_a, text_b, params)
    if len(found):  # each grown at its ends while the words either side are alike (a sentence's first words)
        found = np.array(_grown(found.tolist(), a, b, text_a, text_b, params), dtype=np.int64).reshape(-1, 4)
    if not len(found):
        return 0.0, 0.0
    n_a, n_b = len(a.starts), len(b.starts)
    return _covered(found[:, 0], found[:, 1]) / max(n_a, 1), _covered(found[:, 2], found[:, 3]) / max(n_b, 1)


def _joined(
    found: np.ndarray, ok: np.ndarray, a: Side, b: Side, text_a: str, text_b: str, params: AlignParams
) -> np.ndarray:
    """The chains that read alike (``ok``), each joined with the chains that follow it in both texts (alike or
    not: a short one, a lone run) across gaps of up to ``chain_far`` tokens whose two sides read alike
    character by character: a noisy copy's chains, broken where its letters are worst, are one text."""
    out: list[list[int]] = []
    current: list[int] | None = None
    for row, good in zip(found.tolist(), ok.tolist()):
        if current is not None:
            gap_a, gap_b = row[0] - current[1], row[2] - current[3]
            if (
                -params.chain_drift <= gap_a <= params.chain_far
                and -params.chain_drift <= gap_b <= params.chain_far
                and abs(gap_a - gap_b) <= params.chain_drift + max(gap_a, gap_b) // 4
                and _alike(
                    text_a,
                    text_b,
                    int(a.ends[current[1] - 1]),
                    int(a.starts[max(row[0], current[1])]) if max(row[0], current[1]) < len(a.starts) else len(text_a),
                    int(b.ends[current[3] - 1]),
                    int(b.starts[max(row[2], current[3])]) if max(row[2], current[3]) < len(b.starts) else len(text_b),
                    params.chain_identity,
                )
            ):
                current[1], current[3] = max(current[1], row[1]), max(current[3], row[3])
                continue
            out.append(current)
            current = None
        if good:
            current = [row[0], row[1], row[2], row[3]]
    if current is not None:
        out.append(current)
    return np.array(out, dtype=np.int64).reshape(-1, 4)
