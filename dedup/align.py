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

import re
from dataclasses import dataclass
from functools import cached_property
from types import ModuleType

import numpy as np

from .arrays import run_index
from .corpus import Corpus
from .kernels import native
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
    j = order[run_index(lo, count)]
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
    if not len(order):
        return []
    chosen = _pick_arrays(ta0[order].tolist(), tb0[order].tolist(), length[order].tolist())
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
    """Passages of every pair (a[p], b[p]): ``align_pair`` of each, found for all of them at once
    (``align_batch``)."""
    return align_batch(corpus, tokens, sh, np.asarray(a), np.asarray(b), params or AlignParams())


# ------------------------------------------------------------------------------ a batch of pairs at once

_ENTRIES = 1 << 21  # shingle entries (both sides of every pair) a pass over pairs sorts at a time


class Batch:
    """What ``align_batch`` reads of a batch's documents, each made once for all their pairs: shingles'
    document-relative first and last tokens, a dense rank of each shingle's hash (so a (pair, hash) key is
    one integer), which shingles recur in another document (only those can seed), and the paragraphs on one
    axis of characters (document d's character c at ``base[d] + c``)."""

    def __init__(self, corpus: Corpus, tokens: Tokens, sh: Shingles) -> None:
        self.corpus, self.tokens, self.sh = corpus, tokens, sh
        n = len(sh.offsets) - 1
        doc = np.repeat(np.arange(n, dtype=np.int64), np.diff(sh.offsets))
        self.first = sh.first - tokens.offsets[doc]
        self.last = sh.last - tokens.offsets[doc]
        self._doc = doc
        lengths = np.asarray([len(t) for t in corpus.texts], dtype=np.int64)
        self.base = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths + 1, out=self.base[1:])
        pdoc = np.repeat(np.arange(n, dtype=np.int64), np.diff(corpus.para_offsets))
        self.para_starts = corpus.para_starts + self.base[pdoc]
        self.para_ends = corpus.para_ends + self.base[pdoc]

    @cached_property
    def _ranked(self) -> tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]:
        """The numpy seeds' index (``_batch_seeds``), made on first use: the compiled kernel
        (``kernels.native("align")``, ``pair_runs``) needs none of it."""
        sh, doc = self.sh, self._doc
        n = len(sh.offsets) - 1
        # A dense rank of each shingle's hash (one sort; ``np.unique``'s inverse and a two-key ``lexsort``
        # were a third of align), how many shingles share it, and each document's shingles sorted by it
        # (``by_rank_all``; a radix sort by document of the hash-sorted order: the rank order within each).
        m = len(sh.hashes)
        by_hash = np.argsort(sh.hashes)
        ordered = sh.hashes[by_hash]
        new = np.ones(m, dtype=bool)
        np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
        rank = np.empty(m, dtype=np.int64)
        rank[by_hash] = np.cumsum(new) - 1
        count = np.diff(np.r_[np.flatnonzero(new), m])
        docs = doc[by_hash]
        by_rank_all = by_hash[np.argsort(docs.astype(np.int16) if n < 1 << 15 else docs, kind="stable")]
        # Of them, those whose hash another shingle of the batch has (``shared``, document d's at
        # ``shared_at[d]:[d + 1]``): only those can seed.
        shared = by_rank_all[count[rank[by_rank_all]] > 1]
        shared_at = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(doc[shared], minlength=n), out=shared_at[1:])
        return rank, max(len(count), 1), by_rank_all, shared, shared_at

    @property
    def rank(self) -> np.ndarray:
        return self._ranked[0]

    @property
    def ranks(self) -> int:
        return self._ranked[1]

    @property
    def by_rank_all(self) -> np.ndarray:
        return self._ranked[2]

    @property
    def shared(self) -> np.ndarray:
        return self._ranked[3]

    @property
    def shared_at(self) -> np.ndarray:
        return self._ranked[4]

    def banal(self, g: np.ndarray) -> np.ndarray:
        """Whether each token (batch rows ``g``) is banal: looked up only for the tokens a step asks about
        (the words around a gap or a passage's ends), not for every token of the batch."""
        return banal_tokens(self.tokens.hashes[g])

    def tokens_of(self, d: np.ndarray) -> np.ndarray:
        """How many tokens each document of ``d`` has."""
        return self.tokens.offsets[d + 1] - self.tokens.offsets[d]


def _ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The integers of every range [lo[r], hi[r]) end to end, and the range each belongs to."""
    n = np.maximum(hi - lo, 0)
    row = np.repeat(np.arange(len(n), dtype=np.int64), n)
    at = np.zeros(len(n) + 1, dtype=np.int64)
    np.cumsum(n, out=at[1:])
    return lo[row] + np.arange(int(at[-1]), dtype=np.int64) - at[row], row


def _batch_seeds(bt: Batch, x: np.ndarray, y: np.ndarray, max_repeats: int) -> tuple[np.ndarray, ...]:
    """``_seeds`` of every pair (x[p], y[p]) at once: (p, i, j) with shingle i of x[p] equal to shingle j of
    y[p], a hash held more than ``max_repeats`` times by either side skipped. Each document's recurring
    shingles are kept sorted by hash rank, so both sides' (pair, rank) keys come out sorted, laid end to end
    pair after pair: one merge (``searchsorted``) of the two finds every pair's seeds, no sort."""
    if np.any(x == y):  # a document against itself: its shingles found once in the batch are seeds too
        ga, pa = _ranges(bt.sh.offsets[x], bt.sh.offsets[x + 1])
        gb, pb = _ranges(bt.sh.offsets[y], bt.sh.offsets[y + 1])
        ga, gb = bt.by_rank_all[ga], bt.by_rank_all[gb]
    else:
        ga, pa = _ranges(bt.shared_at[x], bt.shared_at[x + 1])
        gb, pb = _ranges(bt.shared_at[y], bt.shared_at[y + 1])
        ga, gb = bt.shared[ga], bt.shared[gb]
    key_a = pa * bt.ranks + bt.rank[ga]
    key_b = pb * bt.ranks + bt.rank[gb]
    lo = np.searchsorted(key_b, key_a, "left")
    cb = np.searchsorted(key_b, key_a, "right") - lo
    # How often each A entry's hash is in its own side: the length of its run of equal keys.
    head = np.flatnonzero(np.r_[True, key_a[1:] != key_a[:-1]])
    size = np.diff(np.r_[head, len(key_a)])
    ca = np.repeat(size, size)
    cb[(cb > max_repeats) | (ca > max_repeats)] = 0
    e, t = _ranges(np.zeros(len(cb), dtype=np.int64), cb)
    ea = t
    eb = lo[t] + e
    p = pa[ea]
    return p, ga[ea] - bt.sh.offsets[x[p]], gb[eb] - bt.sh.offsets[y[p]]


def _batch_runs(p: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """``_runs`` of every pair at once: rows (p, i0, i1, j0, j1), each pair's in ``_runs``' order (by
    diagonal, then i)."""
    diag = j - i
    top = int(max(i.max(initial=0), j.max(initial=0))) + 1
    if (len(p) and int(p.max()) + 1) * (2 * top + 1) * top < 1 << 62:  # one integer key
        order = np.argsort((p * (2 * top + 1) + diag + top) * top + i)
    else:
        order = np.lexsort((i, diag, p))
    p, i, j, diag = p[order], i[order], j[order], diag[order]
    new = np.ones(len(i), dtype=bool)
    new[1:] = (p[1:] != p[:-1]) | (diag[1:] != diag[:-1]) | (i[1:] != i[:-1] + 1)
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(i)) - 1
    return np.stack([p[starts], i[starts], i[ends], j[starts], j[ends]], axis=1)


def _overlapping(p: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per row, whether its range [lo, hi) overlaps another row's of the same pair p."""
    order = np.lexsort((lo, p))
    sp, slo, shi = p[order], lo[order], hi[order]
    span = int(shi.max(initial=0)) + 1
    reach = np.maximum.accumulate(sp * span + shi) - sp * span  # the furthest end so far in the pair
    same = sp[1:] == sp[:-1]
    hit = np.zeros(len(sp), dtype=bool)
    hit[1:] |= same & (slo[1:] < reach[:-1])  # an earlier range reaches past its start
    hit[:-1] |= same & (slo[1:] < shi[:-1])  # the next range starts before its end
    out = np.zeros(len(p), dtype=bool)
    out[order] = hit
    return out


_BITSET_SPAN = 1 << 15  # runs spread over more tokens than this are picked on arrays (a shift costs the span)


def _pick(ta0: list[int], tb0: list[int], length: list[int]) -> list[tuple[int, int, int, int]]:
    """``_select``'s loop over runs already in its order (token starts in a and b, lengths), with the
    tokens taken so far as bits of two integers (runs spread over a long text: ``_pick_arrays``): each run's
    longest free stretch."""
    ends_a = [a + n for a, n in zip(ta0, length)]
    ends_b = [b + n for b, n in zip(tb0, length)]
    if max(ends_a) - min(ta0) > _BITSET_SPAN or max(ends_b) - min(tb0) > _BITSET_SPAN:
        return _pick_arrays(ta0, tb0, length)
    used_a = used_b = 0
    chosen = []
    for a0, b0, n in zip(ta0, tb0, length):
        full = (1 << n) - 1
        taken = ((used_a >> a0) | (used_b >> b0)) & full
        if taken == full:
            continue
        if taken:  # keep the longest free stretch of this run (the first of the longest)
            bits = format(full & ~taken, "b").zfill(n)[::-1]  # bit t: token t of the run is free
            best = max(re.finditer("1+", bits), key=lambda m: m.end() - m.start())
            a0, b0, n = a0 + best.start(), b0 + best.start(), best.end() - best.start()
        mask = (1 << n) - 1
        used_a |= mask << a0
        used_b |= mask << b0
        chosen.append((a0, a0 + n, b0, b0 + n))
    return chosen


def _pick_arrays(ta0: list[int], tb0: list[int], length: list[int]) -> list[tuple[int, int, int, int]]:
    """``_pick`` with the tokens taken as two boolean arrays (``_select``'s own loop): each run costs its
    length, not the text's."""
    used_a = np.zeros(max(a + n for a, n in zip(ta0, length)) + 1, dtype=bool)
    used_b = np.zeros(max(b + n for b, n in zip(tb0, length)) + 1, dtype=bool)
    chosen = []
    for a0, b0, n in zip(ta0, tb0, length):
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
    return chosen


def _batch_select(bt: Batch, x: np.ndarray, y: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """``_select`` of every pair at once: rows (p, a0, a1, b0, b1), sorted. A run that overlaps no other run
    of its pair in either text is kept whole, whatever the order runs are picked in (most runs: done at
    once); the others are picked in ``_select``'s order, pair by pair (``_pick``)."""
    p = runs[:, 0]
    ta0 = bt.first[bt.sh.offsets[x[p]] + runs[:, 1]]
    ta1 = bt.last[bt.sh.offsets[x[p]] + runs[:, 2]] + 1
    tb0 = bt.first[bt.sh.offsets[y[p]] + runs[:, 3]]
    n = ta1 - ta0
    hard = _overlapping(p, ta0, ta1) | _overlapping(p, tb0, tb0 + n)
    easy = ~hard
    out = [np.stack([p[easy], ta0[easy], ta1[easy], tb0[easy], tb0[easy] + n[easy]], axis=1)]
    if hard.any():
        # Each pair's main diagonal: the median of its runs' diagonals weighted by length (``_select``'s
        # ``np.median(np.repeat(diag, length))``, without the repeat), for all pairs at once.
        diag = tb0 - ta0
        order = np.lexsort((diag, p))
        sp, sd, sn = p[order], diag[order], n[order]
        upto = np.cumsum(sn)
        pairs, head = np.unique(sp, return_index=True)
        before = np.r_[0, upto][head]  # tokens of the runs of earlier pairs
        total = np.add.reduceat(sn, head)
        lo_at = np.searchsorted(upto, before + (total - 1) // 2, "right")
        hi_at = np.searchsorted(upto, before + total // 2, "right")
        main = np.zeros(len(x), dtype=np.int64)
        main[pairs] = [int((u + v) / 2) for u, v in zip(sd[lo_at].tolist(), sd[hi_at].tolist())]
        r = np.flatnonzero(hard)
        r = r[np.lexsort((ta0[r], np.abs(diag[r] - main[p[r]]), -n[r], p[r]))]
        q = p[r]
        cut = np.flatnonzero(np.r_[True, q[1:] != q[:-1]])
        a0s, b0s, ns = ta0[r].tolist(), tb0[r].tolist(), n[r].tolist()
        for lo, hi in zip(cut.tolist(), np.r_[cut[1:], len(r)].tolist()):
            chosen = _pick(a0s[lo:hi], b0s[lo:hi], ns[lo:hi])
            out.append(np.array([(int(q[lo]), *c) for c in chosen], dtype=np.int64).reshape(-1, 5))
    rows = np.concatenate(out)
    return rows[np.lexsort((rows[:, 4], rows[:, 3], rows[:, 2], rows[:, 1], rows[:, 0]))]


def _holds_paragraphs(bt: Batch, d: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """``_holds_paragraph`` of many character ranges [start, end) of documents ``d`` at once."""
    s, e = start + bt.base[d], end + bt.base[d]
    lo = np.searchsorted(bt.para_ends, s, "right")
    hi = np.searchsorted(bt.para_starts, e, "left")
    k, row = _ranges(lo, hi)
    ps, pe = bt.para_starts[k], bt.para_ends[k]
    inside = np.minimum(pe, e[row]) - np.maximum(ps, s[row])
    out = np.zeros(len(d), dtype=bool)
    out[row[inside * 2 > pe - ps]] = True
    return out


def _banal_runs(bt: Batch, d: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``Side.banal_run`` of many token ranges [lo, hi) of documents ``d`` at once."""
    n = bt.tokens_of(d)
    g, row = _ranges(bt.tokens.offsets[d] + np.maximum(lo, 0), bt.tokens.offsets[d] + np.minimum(hi, n))
    plain = np.bincount(row[~bt.banal(g)], minlength=len(d))  # tokens in the range that are not banal
    return (hi > lo) & (plain == 0)


def _batch_bridge(bt: Batch, x: np.ndarray, y: np.ndarray, rows: np.ndarray, params: AlignParams) -> np.ndarray:
    """``_bridge`` of every pair at once. Whether a row joins the one before it depends only on the two (the
    passage it would join ends where the row before it ends), so every join is decided at once; only the
    gaps left to the character comparison are compared one by one."""
    if not len(rows):
        return rows
    p, a0, a1, b0, b1 = rows.T
    follows = np.r_[False, p[1:] == p[:-1]]
    k = np.flatnonzero(follows)
    xa, yb = x[p[k]], y[p[k]]
    pa1, pb1 = a1[k - 1], b1[k - 1]
    gap_a, gap_b = a0[k] - pa1, b0[k] - pb1
    ta, tb = bt.tokens.offsets[xa], bt.tokens.offsets[yb]
    na, nb = bt.tokens_of(xa), bt.tokens_of(yb)
    ends, starts = bt.tokens.ends, bt.tokens.starts
    lo_a = ends[ta + pa1 - 1]
    hi_a = np.where(a0[k] < na, starts[ta + np.minimum(a0[k], na - 1)], ends[ta + na - 1])
    lo_b = ends[tb + pb1 - 1]
    hi_b = np.where(b0[k] < nb, starts[tb + np.minimum(b0[k], nb - 1)], ends[tb + nb - 1])
    near = (gap_a >= 0) & (gap_a <= params.max_gap) & (gap_b >= 0) & (gap_b <= params.max_gap)
    join = np.zeros(len(k), dtype=bool)
    look = np.flatnonzero(near)
    join[look] = ~_holds_paragraphs(bt, xa[look], lo_a[look], hi_a[look]) & ~_holds_paragraphs(
        bt, yb[look], lo_b[look], hi_b[look]
    )
    maybe = ~join & (gap_a >= 0) & (gap_a <= params.chain_gap) & (gap_b >= 0) & (gap_b <= params.chain_gap)
    look = np.flatnonzero(maybe)  # gaps of at most chain_gap tokens: their words looked up
    maybe[look] = ~_banal_runs(bt, xa[look], pa1[look], a0[k][look]) & ~_banal_runs(
        bt, yb[look], pb1[look], b0[k][look]
    )
    texts = bt.corpus.texts
    for r in np.flatnonzero(maybe).tolist():
        join[r] = _alike(
            texts[int(xa[r])],
            texts[int(yb[r])],
            int(lo_a[r]),
            int(hi_a[r]),
            int(lo_b[r]),
            int(hi_b[r]),
            params.chain_identity,
        )
    joined = np.zeros(len(rows), dtype=bool)
    joined[k] = join
    head = np.flatnonzero(~joined)
    tail = np.r_[head[1:], len(rows)] - 1
    return np.stack([p[head], a0[head], a1[tail], b0[head], b1[tail]], axis=1)


def _neighbour(p: np.ndarray, values: np.ndarray, at: np.ndarray, below: bool, default: np.ndarray) -> np.ndarray:
    """Per row, the largest of its pair's ``values`` at most ``at`` (``below``), or the smallest at least
    ``at``; ``default`` where there is none."""
    order = np.lexsort((values, p))
    sp, sv = p[order], values[order]
    span = int(max(values.max(initial=0), at.max(initial=0))) + 2
    keys = sp * span + sv
    q = p * span + at
    if below:
        k = np.searchsorted(keys, q, "right") - 1
        ok = (k >= 0) & (sp[np.maximum(k, 0)] == p)
    else:
        k = np.searchsorted(keys, q, "left")
        ok = (k < len(keys)) & (sp[np.minimum(k, len(keys) - 1)] == p)
    return np.where(ok, sv[np.clip(k, 0, len(keys) - 1)], default)


def _batch_grown(bt: Batch, x: np.ndarray, y: np.ndarray, merged: np.ndarray, params: AlignParams) -> np.ndarray:
    """``_grown`` of every pair at once: the room each passage has (its neighbours in either text) found
    for all at once, and ``_extend`` run only on the passages whose next word on some end may join them."""
    if not len(merged):
        return merged
    p, a0, a1, b0, b1 = (c.copy() for c in merged.T)
    xa, yb = x[p], y[p]
    na, nb = bt.tokens_of(xa), bt.tokens_of(yb)
    zero = np.zeros(len(p), dtype=np.int64)
    prev_a = _neighbour(p, a1, a0, True, zero)
    next_a = _neighbour(p, a0, a1, False, na)
    prev_b = _neighbour(p, b1, b0, True, zero)
    next_b = _neighbour(p, b0, b1, False, nb)
    ta, tb = bt.tokens.offsets[xa], bt.tokens.offsets[yb]
    left = (a0 > prev_a) & (b0 > prev_b)
    left[left] &= ~bt.banal(ta[left] + a0[left] - 1) & ~bt.banal(tb[left] + b0[left] - 1)
    right = (a1 < next_a) & (b1 < next_b)
    right[right] &= ~bt.banal(ta[right] + a1[right]) & ~bt.banal(tb[right] + b1[right])
    texts, starts, ends = bt.corpus.texts, bt.tokens.starts, bt.tokens.ends
    least = params.word_identity

    def alike(u: str, v: str, g: int, h: int) -> bool:  # token g of text u and token h of text v
        if bt.banal(np.array([g, h])).any():
            return False
        return _word_alike(u[starts[g] : ends[g]], v[starts[h] : ends[h]], least)

    for r in np.flatnonzero(left | right).tolist():  # ``_extend``, on the batch's token arrays
        u, v, oa, ob = texts[int(xa[r])], texts[int(yb[r])], int(ta[r]), int(tb[r])
        lo_a, lo_b, hi_a, hi_b = int(a0[r]), int(b0[r]), int(a1[r]), int(b1[r])
        for _ in range(params.chain_gap):
            if lo_a <= prev_a[r] or lo_b <= prev_b[r] or not alike(u, v, oa + lo_a - 1, ob + lo_b - 1):
                break
            lo_a, lo_b = lo_a - 1, lo_b - 1
        for _ in range(params.chain_gap):
            if hi_a >= next_a[r] or hi_b >= next_b[r] or not alike(u, v, oa + hi_a, ob + hi_b):
                break
            hi_a, hi_b = hi_a + 1, hi_b + 1
        a0[r], a1[r], b0[r], b1[r] = lo_a, hi_a, lo_b, hi_b
    return np.stack([p, a0, a1, b0, b1], axis=1)


def align_batch(
    corpus: Corpus,
    tokens: Tokens,
    sh: Shingles,
    a: np.ndarray,
    b: np.ndarray,
    params: AlignParams,
    batch: Batch | None = None,
) -> list[np.ndarray]:
    """``align_pair`` of every pair (a[p], b[p]) (rows of the corpus), the same passages, found for many pairs
    at once: seeds, runs, the choice of runs where none overlap, the bridges and the room to grow in a few
    numpy passes over the whole batch; what stays a loop (runs that overlap, gaps and words compared
    character by character) runs only where it is needed. ``batch``: the documents' ``Batch``, when the
    caller has it already."""
    bt = batch or Batch(corpus, tokens, sh)
    kernel = native("align")
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    out: list[np.ndarray] = [np.zeros((0, 4), dtype=np.int64)] * len(a)
    at = bt.sh.offsets if kernel is not None else bt.shared_at  # the kernel reads all shingles, one pair at a time
    size = np.cumsum((at[a + 1] - at[a]) + (at[b + 1] - at[b]))
    lo = 0
    while lo < len(a):  # pairs in chunks of about _ENTRIES shingles (one pair may pass it alone)
        done = int(size[lo - 1]) if lo else 0
        hi = max(int(np.searchsorted(size, done + _ENTRIES, "right")), lo + 1)
        for p, found in _align_chunk(bt, a[lo:hi], b[lo:hi], params, kernel).items():
            out[lo + p] = found
        lo = hi
    return out


def _align_chunk(
    bt: Batch, x: np.ndarray, y: np.ndarray, params: AlignParams, kernel: ModuleType | None = None
) -> dict[int, np.ndarray]:
    """``align_batch`` of some pairs: the passages of each that has any, by its place in ``x``/``y``.
    ``kernel``: the compiled ``_align`` module, whose ``pair_runs`` finds the runs the numpy seeds and runs give."""
    if kernel is not None:
        runs = kernel.pair_runs(
            np.ascontiguousarray(bt.sh.hashes, dtype=np.uint64),
            np.ascontiguousarray(bt.sh.offsets, dtype=np.int64),
            x,
            y,
            params.max_repeats,
        )
    else:
        p, i, j = _batch_seeds(bt, x, y, params.max_repeats)
        runs = _batch_runs(p, i, j)
    if not len(runs):
        return {}
    rows = _batch_grown(bt, x, y, _batch_bridge(bt, x, y, _batch_select(bt, x, y, runs), params), params)
    p, a0, a1, b0, b1 = rows.T
    rows = rows[np.minimum(a1 - a0, b1 - b0) >= params.min_tokens]
    out: dict[int, list[tuple[int, int, int, int]]] = {}
    starts, ends, texts = bt.tokens.starts, bt.tokens.ends, bt.corpus.texts
    for q, u0, u1, v0, v1 in rows.tolist():
        u, v = int(x[q]), int(y[q])
        ta, tb = int(bt.tokens.offsets[u]), int(bt.tokens.offsets[v])
        out.setdefault(q, []).append(
            _widen(texts[u], int(starts[ta + u0]), int(ends[ta + u1 - 1]))
            + _widen(texts[v], int(starts[tb + v0]), int(ends[tb + v1 - 1]))
        )
    return {q: np.array(found, dtype=np.int64).reshape(-1, 4) for q, found in out.items()}


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


def _edges(text: str, paras: np.ndarray, covered: np.ndarray, spans: np.ndarray, short: int) -> list[str | None]:
    """``_edge`` of every span [start, end) of ``spans`` at once: each paragraph's words counted once, not once
    a span (a long article's many passages against its many paragraphs)."""
    if not len(spans):
        return []
    ok = covered | np.array([len(text[s:e].split()) <= short for s, e in paras.tolist()], dtype=bool)
    bad = paras[~ok].reshape(-1, 2)
    # Every paragraph ending by ``start`` is clear iff the first end of an unclear one is past it; every
    # paragraph starting from ``end`` is clear iff the last start of an unclear one is before it.
    first_end = int(bad[:, 1].min()) if len(bad) else None
    last_start = int(bad[:, 0].max()) if len(bad) else None
    out: list[str | None] = []
    for s, e in spans.tolist():
        if first_end is None or first_end > s:
            out.append("top")
        elif last_start < e:
            out.append("bottom")
        else:
            out.append(None)
    return out


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
        sides.append(_edges(text, paras, inside, spans, params.edge_line_words))
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
