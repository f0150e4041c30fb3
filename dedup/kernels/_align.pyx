# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled loops of alignment and labels (``dedup.align``, ``dedup.label``), each the bits of the numpy code it
stands in for (``kernels.native("align")``; ``DEDUP_KERNELS=numpy`` runs the numpy code):

- ``pair_runs``: every pair's diagonal runs of shared shingles (``align._batch_runs`` of ``align._batch_seeds``),
  found pair by pair with a hash table over one side's shingles, where the numpy code sorts every shingle of
  the batch twice (a dense rank of each hash, then by article) and merges both sides' keys;
- ``positions``: ``direction.positions``, the position features of a batch's pair sides, side by side, where
  the numpy code lays every side's tokens end to end in temporaries of a few words a token;
- ``contains``: ``label.FingerprintSet.contains``, each value looked up in its slot of the directory;
- ``union_sorted``, ``minus``: ``label._union`` of spans in order of start and ``label._minus`` of two unions,
  one sweep each where the numpy code sorts (``_minus``: ``np.unique`` of every end point);
- ``decode_tokens``, ``shingle_rows``: what phase 2's ``Loaded`` makes of a batch's stored tokens
  (``featurestore.tokens.decode``, ``shingle.shingle``), one pass each where the numpy code makes a dozen.

Each runs without the GIL.
"""

import numpy as np

from libc.stdint cimport int64_t, uint32_t, uint64_t, uint8_t
from libc.stdlib cimport free, malloc, qsort, realloc
from libc.string cimport memcpy

from .mixing cimport GOLDEN, mix64


cdef struct Run:
    int64_t i0
    int64_t i1
    int64_t j0
    int64_t j1


cdef int _by_diagonal(const void* u, const void* v) noexcept nogil:
    """Runs by diagonal (j - i), then by i: ``_batch_runs``' order within a pair."""
    cdef const Run* a = <const Run*>u
    cdef const Run* b = <const Run*>v
    cdef int64_t da = a.j0 - a.i0
    cdef int64_t db = b.j0 - b.i0
    if da != db:
        return -1 if da < db else 1
    if a.i0 != b.i0:
        return -1 if a.i0 < b.i0 else 1
    return 0


cdef inline uint64_t _slot(uint64_t h, int bits) noexcept nogil:
    return (h * <uint64_t>0x9E3779B97F4A7C15) >> (64 - bits)


cdef struct Scratch:
    # the hash table over b's shingles (``cap`` slots) and what each slot holds
    int64_t cap
    uint64_t* keys
    int64_t* stamp  # the pair that last used the slot (no clearing between pairs)
    int64_t* head  # b's first shingle with the slot's hash; the rest follow through ``nxt``
    int64_t* count_b
    int64_t* count_a
    # per shingle of b (``nxt``) and of a (``slot_of``); ``nb_cap``/``na_cap`` entries
    int64_t nb_cap
    int64_t* nxt
    int64_t na_cap
    int64_t* slot_of
    # the seeds of the shingle before (j and its run) and of this one: at most max_repeats (and b's length) each
    int64_t seeds_cap
    int64_t* prev_j
    int64_t* prev_run
    int64_t* cur_j
    int64_t* cur_run
    # the pair's runs
    int64_t runs_cap
    Run* runs


cdef int _grow(void** buf, int64_t* cap, int64_t need, size_t item) noexcept nogil:
    """Make ``*buf`` hold at least ``need`` items (doubling); 0 on success, -1 when out of memory."""
    cdef int64_t size
    cdef void* p
    if need <= cap[0]:
        return 0
    size = cap[0] * 2 if cap[0] > 0 else 16
    while size < need:
        size *= 2
    p = realloc(buf[0], <size_t>size * item)
    if p == NULL:
        return -1
    buf[0] = p
    cap[0] = size
    return 0


cdef int _table(Scratch* s, int64_t nb) noexcept nogil:
    """A table of at least twice ``nb`` slots, its stamps cleared when it is (re)made."""
    cdef int64_t cap = 16, k
    while cap < 2 * nb:
        cap *= 2
    if cap <= s.cap:
        return 0
    free(s.keys); free(s.stamp); free(s.head); free(s.count_b); free(s.count_a)
    s.keys = <uint64_t*>malloc(cap * sizeof(uint64_t))
    s.stamp = <int64_t*>malloc(cap * sizeof(int64_t))
    s.head = <int64_t*>malloc(cap * sizeof(int64_t))
    s.count_b = <int64_t*>malloc(cap * sizeof(int64_t))
    s.count_a = <int64_t*>malloc(cap * sizeof(int64_t))
    if s.keys == NULL or s.stamp == NULL or s.head == NULL or s.count_b == NULL or s.count_a == NULL:
        s.cap = 0
        return -1
    for k in range(cap):
        s.stamp[k] = -1
    s.cap = cap
    return 0


cdef void _init(Scratch* s) noexcept nogil:
    """Empty scratch: everything is allocated as the pairs need it."""
    s.cap = 0
    s.keys = NULL; s.stamp = NULL; s.head = NULL; s.count_b = NULL; s.count_a = NULL
    s.nb_cap = 0; s.nxt = NULL
    s.na_cap = 0; s.slot_of = NULL
    s.seeds_cap = 0; s.prev_j = NULL; s.prev_run = NULL; s.cur_j = NULL; s.cur_run = NULL
    s.runs_cap = 0; s.runs = NULL


cdef void _release(Scratch* s) noexcept nogil:
    free(s.keys); free(s.stamp); free(s.head); free(s.count_b); free(s.count_a)
    free(s.nxt); free(s.slot_of); free(s.prev_j); free(s.prev_run); free(s.cur_j); free(s.cur_run); free(s.runs)


cdef int _seeds_room(Scratch* s, int64_t need) noexcept nogil:
    """Room for ``need`` seeds of one shingle in each of the four seed arrays; -1 when out of memory."""
    cdef int64_t size
    cdef int64_t* p
    cdef int64_t** arrays[4]
    cdef int k
    if need <= s.seeds_cap:
        return 0
    size = need if need > 2 * s.seeds_cap else 2 * s.seeds_cap
    arrays[0] = &s.prev_j
    arrays[1] = &s.prev_run
    arrays[2] = &s.cur_j
    arrays[3] = &s.cur_run
    for k in range(4):
        p = <int64_t*>realloc(arrays[k][0], size * sizeof(int64_t))
        if p == NULL:
            return -1
        arrays[k][0] = p
    s.seeds_cap = size
    return 0


cdef int64_t _pair(
    Scratch* s,
    const uint64_t* ha,
    int64_t na,
    const uint64_t* hb,
    int64_t nb,
    int64_t max_repeats,
    int64_t stamp,
) noexcept nogil:
    """The diagonal runs of one pair into ``s.runs``, in ``_batch_runs``' order; their number, or -1 when out of
    memory. Seeds: (i, j) with shingle i of a equal to shingle j of b, unless a or b holds that hash more than
    ``max_repeats`` times; a run: seeds (i, j), (i + 1, j + 1), ... one after the other."""
    cdef int64_t i, j, k, slot, mask, n_runs = 0, n_prev = 0, n_cur = 0, r
    cdef int bits = 0
    cdef uint64_t h
    cdef int64_t* swap
    if _table(s, nb) < 0:
        return -1
    if _grow(<void**>&s.nxt, &s.nb_cap, nb, sizeof(int64_t)) < 0:
        return -1
    if _grow(<void**>&s.slot_of, &s.na_cap, na, sizeof(int64_t)) < 0:
        return -1
    if _seeds_room(s, (max_repeats if max_repeats < nb else nb) + 1) < 0:
        return -1
    k = s.cap
    while k > 1:
        k >>= 1
        bits += 1
    mask = s.cap - 1
    # b's shingles into the table, last first: each slot's chain then lists its shingles in order
    for j in range(nb - 1, -1, -1):
        h = hb[j]
        slot = <int64_t>_slot(h, bits)
        while s.stamp[slot] == stamp and s.keys[slot] != h:
            slot = (slot + 1) & mask
        if s.stamp[slot] != stamp:
            s.stamp[slot] = stamp
            s.keys[slot] = h
            s.head[slot] = -1
            s.count_b[slot] = 0
            s.count_a[slot] = 0
        s.nxt[j] = s.head[slot]
        s.head[slot] = j
        s.count_b[slot] += 1
    # a's shingles looked up: their slot (-1: not in b) and how often a holds each hash b holds
    for i in range(na):
        h = ha[i]
        slot = <int64_t>_slot(h, bits)
        while s.stamp[slot] == stamp and s.keys[slot] != h:
            slot = (slot + 1) & mask
        if s.stamp[slot] == stamp:
            s.count_a[slot] += 1
            s.slot_of[i] = slot
        else:
            s.slot_of[i] = -1
    # the seeds, i ascending: a seed extends the run of the seed (i - 1, j - 1) when there is one
    for i in range(na):
        slot = s.slot_of[i]
        n_cur = 0
        if slot >= 0 and s.count_a[slot] <= max_repeats and s.count_b[slot] <= max_repeats:
            j = s.head[slot]
            while j >= 0:
                r = -1
                for k in range(n_prev):
                    if s.prev_j[k] == j - 1:
                        r = s.prev_run[k]
                        break
                if r >= 0:
                    s.runs[r].i1 = i
                    s.runs[r].j1 = j
                else:
                    if _grow(<void**>&s.runs, &s.runs_cap, n_runs + 1, sizeof(Run)) < 0:
                        return -1
                    r = n_runs
                    s.runs[r].i0 = i
                    s.runs[r].i1 = i
                    s.runs[r].j0 = j
                    s.runs[r].j1 = j
                    n_runs += 1
                s.cur_j[n_cur] = j
                s.cur_run[n_cur] = r
                n_cur += 1
                j = s.nxt[j]
        swap = s.prev_j; s.prev_j = s.cur_j; s.cur_j = swap
        swap = s.prev_run; s.prev_run = s.cur_run; s.cur_run = swap
        n_prev = n_cur
    if n_runs > 1:
        qsort(s.runs, <size_t>n_runs, sizeof(Run), _by_diagonal)
    return n_runs


def pair_runs(
    const uint64_t[::1] hashes,
    const int64_t[::1] offsets,
    const int64_t[::1] x,
    const int64_t[::1] y,
    int64_t max_repeats,
):
    """``align._batch_runs(*align._batch_seeds(...))``: rows (p, i0, i1, j0, j1) of every pair (x[p], y[p]),
    documents' shingles ``hashes[offsets[d]:offsets[d + 1]]``, shingle indices relative to each document
    (inclusive), each pair's runs by diagonal then i, pairs in order."""
    cdef Scratch s
    cdef int64_t p, n, total = 0, cap = 0, k, failed = 0
    cdef int64_t* out = NULL
    cdef int64_t[:, ::1] view
    _init(&s)
    with nogil:
        for p in range(x.shape[0]):
            n = _pair(
                &s,
                &hashes[0] + offsets[x[p]] if hashes.shape[0] else NULL,
                offsets[x[p] + 1] - offsets[x[p]],
                &hashes[0] + offsets[y[p]] if hashes.shape[0] else NULL,
                offsets[y[p] + 1] - offsets[y[p]],
                max_repeats,
                p,
            )
            if n < 0 or _grow(<void**>&out, &cap, 5 * (total + n), sizeof(int64_t)) < 0:
                failed = 1
                break
            for k in range(n):
                out[5 * total] = p
                out[5 * total + 1] = s.runs[k].i0
                out[5 * total + 2] = s.runs[k].i1
                out[5 * total + 3] = s.runs[k].j0
                out[5 * total + 4] = s.runs[k].j1
                total += 1
        _release(&s)
    if failed:
        free(out)
        raise MemoryError("pair_runs: out of memory")
    rows = np.empty((total, 5), dtype=np.int64)
    if total:
        view = rows
        memcpy(&view[0, 0], out, <size_t>(5 * total) * sizeof(int64_t))
    free(out)
    return rows


def contains(const uint64_t[::1] values, const int64_t[::1] starts, int shift, const uint64_t[::1] x):
    """``label.FingerprintSet.contains``: whether each of ``x`` is among ``values`` (sorted), whose entries with
    top bits t (``x >> shift``) are ``values[starts[t]:starts[t + 1]]``."""
    cdef Py_ssize_t n = x.shape[0], k
    cdef int64_t at, end, slot, n_slots = starts.shape[0]
    cdef uint64_t v
    out = np.zeros(n, dtype=np.bool_)
    cdef uint8_t[::1] found = out.view(np.uint8)
    with nogil:
        for k in range(n):
            v = x[k]
            slot = <int64_t>(v >> shift)
            if slot + 1 >= n_slots:  # above the set's width: not in it
                continue
            at = starts[slot]
            end = starts[slot + 1]
            while at < end and values[at] < v:
                at += 1
            found[k] = at < end and values[at] == v
    return out


cdef int _cmp_u64(const void* u, const void* v) noexcept nogil:
    cdef uint64_t a = (<const uint64_t*>u)[0]
    cdef uint64_t b = (<const uint64_t*>v)[0]
    return -1 if a < b else (1 if a > b else 0)


def positions(
    const int64_t[::1] starts,
    const int64_t[::1] ends,
    const uint64_t[::1] hashes,
    const int64_t[::1] offsets,
    const int64_t[::1] docs,
    const int64_t[::1] span_at,
    const int64_t[::1] span_start,
    const int64_t[::1] span_reach,
    int64_t min_run,
    int64_t content_chars,
):
    """``direction._positions``: the position features of every side u (document ``docs[u]``, its tokens
    ``offsets[d]:[d + 1]``), side by side. Side u's spans are rows ``span_at[u]:[u + 1]`` of ``span_start``
    (ascending) and ``span_reach`` (the furthest end of the spans up to each); a token is inside when the
    furthest end of the spans starting at or before it reaches its end."""
    cdef Py_ssize_t n_sides = docs.shape[0]
    out = np.zeros((n_sides, 5), dtype=np.float64)
    cdef double[:, ::1] res = out
    cdef int64_t u, d, base, n, t, lo, hi, mid, k, first, last, shared, inner, run, tail_words, held, n_story
    cdef int64_t cap = 0, failed = 0, s, e
    cdef uint8_t* inside = NULL
    cdef uint64_t* story = NULL
    cdef uint64_t h
    with nogil:
        for u in range(n_sides):
            d = docs[u]
            base = offsets[d]
            n = offsets[d + 1] - base
            if n == 0 or span_at[u + 1] == span_at[u]:
                continue
            if n > cap:
                free(inside); free(story)
                inside = <uint8_t*>malloc(n * sizeof(uint8_t))
                story = <uint64_t*>malloc(n * sizeof(uint64_t))
                if inside == NULL or story == NULL:
                    failed = 1
                    break
                cap = n
            shared = 0
            first = -1
            last = -1
            for t in range(n):
                s = starts[base + t]
                e = ends[base + t]
                lo = span_at[u]
                hi = span_at[u + 1]
                while lo < hi:  # the first span starting after s
                    mid = (lo + hi) >> 1
                    if span_start[mid] <= s:
                        lo = mid + 1
                    else:
                        hi = mid
                inside[t] = lo > span_at[u] and span_reach[lo - 1] >= e
                if inside[t]:
                    shared += 1
                    if first < 0:
                        first = t
                    last = t
            if shared == 0:
                continue
            inner = 0
            run = 0
            for t in range(first, last + 1):
                if inside[t]:
                    if run >= min_run:
                        inner += run
                    run = 0
                else:
                    run += 1
            n_story = 0
            tail_words = 0
            for t in range(n):
                if inside[t] and ends[base + t] - starts[base + t] >= content_chars:
                    story[n_story] = hashes[base + t]
                    n_story += 1
            for t in range(last + 1, n):
                if ends[base + t] - starts[base + t] >= content_chars:
                    tail_words += 1
            held = 0
            if tail_words and n_story:
                qsort(story, <size_t>n_story, sizeof(uint64_t), _cmp_u64)
                for t in range(last + 1, n):
                    if ends[base + t] - starts[base + t] >= content_chars:
                        h = hashes[base + t]
                        lo = 0
                        hi = n_story
                        while lo < hi:
                            mid = (lo + hi) >> 1
                            if story[mid] < h:
                                lo = mid + 1
                            else:
                                hi = mid
                        if lo < n_story and story[lo] == h:
                            held += 1
            res[u, 0] = shared
            res[u, 1] = first
            res[u, 2] = inner
            res[u, 3] = n - last - 1
            res[u, 4] = (<double>held) / tail_words if tail_words else 0.0
        free(inside)
        free(story)
    if failed:
        raise MemoryError("positions: out of memory")
    return out


def union_sorted(const int64_t[::1] starts, const int64_t[::1] ends):
    """``label._union`` of (start, end) spans given in order of start: the disjoint intervals (starts, ends) their
    non-empty ones cover, spans that touch or overlap joined; one sweep."""
    cdef Py_ssize_t n = starts.shape[0], k, m = 0
    lo = np.empty(n, dtype=np.int64)
    hi = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] out_lo = lo, out_hi = hi
    cdef int64_t s, e
    with nogil:
        for k in range(n):
            s = starts[k]
            e = ends[k]
            if e <= s:
                continue
            if m and s <= out_hi[m - 1]:
                if e > out_hi[m - 1]:
                    out_hi[m - 1] = e
            else:
                out_lo[m] = s
                out_hi[m] = e
                m += 1
    return lo[:m].copy(), hi[:m].copy()


def minus(const int64_t[::1] a_lo, const int64_t[::1] a_hi, const int64_t[::1] b_lo, const int64_t[::1] b_hi):
    """The stretches of union a outside union b (each disjoint intervals in order) as (start, end) rows: the
    points ``label._minus`` finds, the stretches between them that lie in a and not in b joined; one merge."""
    cdef Py_ssize_t na = a_lo.shape[0], nb = b_lo.shape[0], i, j = 0, m = 0
    rows = np.empty((na + nb, 2), dtype=np.int64)
    cdef int64_t[:, ::1] out = rows
    cdef int64_t s, e
    with nogil:
        for i in range(na):
            s = a_lo[i]
            e = a_hi[i]
            while j < nb and b_hi[j] <= s:  # b's intervals wholly before what is left of a's
                j += 1
            while s < e:
                if j >= nb or b_lo[j] >= e:  # nothing of b in [s, e)
                    out[m, 0] = s
                    out[m, 1] = e
                    m += 1
                    break
                if b_lo[j] > s:
                    out[m, 0] = s
                    out[m, 1] = b_lo[j]
                    m += 1
                s = b_hi[j] if b_hi[j] > s else s
                if b_hi[j] <= e:
                    j += 1
                else:
                    break
    return rows[:m].copy()


def decode_tokens(
    const uint32_t[::1] words,
    const int64_t[::1] counts,
    const uint64_t[::1] vocab,
    const int64_t[:, ::1] wide,
    const int64_t[::1] n_wide,
    const int64_t[::1] limit,
):
    """``featurestore.tokens.decode``: (hashes, starts, ends) of consecutive articles' stored token words, one
    pass (each token's end runs on from the last one's in its article, from 0 at its start, or from a wide
    token's stored span), with ``Shard.tokens``' checks when ``n_wide`` (each article's wide spans) and ``limit``
    (each article's text length) have a row an article (empty: not checked). Returns (status, article, hashes,
    starts, ends), the checks in the numpy code's order: status 3 when an article's wide tokens are not its wide
    spans (``article``: the first such), 1 when a word names a word outside ``vocab``, 2 when the wide tokens and
    ``wide``'s rows do not match, 4 when a token lies outside its article's text (``article``: the first token's),
    else 0."""
    cdef Py_ssize_t n = words.shape[0], n_art = counts.shape[0], n_vocab = vocab.shape[0], a, t, end_t
    cdef Py_ssize_t total_wide = wide.shape[0], w = 0, own
    cdef bint check_wide = n_wide.shape[0] == n_art, check_limit = limit.shape[0] == n_art, outside_vocab = False
    cdef uint32_t word, low
    cdef int64_t e
    cdef int status = 0
    cdef Py_ssize_t article = -1
    hashes_arr = np.empty(n, dtype=np.uint64)
    starts_arr = np.empty(n, dtype=np.int64)
    ends_arr = np.empty(n, dtype=np.int64)
    cdef uint64_t[::1] hashes = hashes_arr
    cdef int64_t[::1] starts = starts_arr
    cdef int64_t[::1] ends = ends_arr
    with nogil:
        t = 0
        for a in range(n_art):
            own = 0
            end_t = t + counts[a]
            while t < end_t and t < n:
                if <Py_ssize_t>(words[t] >> 8) >= n_vocab:
                    outside_vocab = True
                if (words[t] & 0xFF) == 0xFF:
                    own += 1
                t += 1
            w += own
            if check_wide and own != n_wide[a] and article < 0:
                article = a
        while t < n:  # words past the articles' counts (the numpy code decodes them too)
            if <Py_ssize_t>(words[t] >> 8) >= n_vocab:
                outside_vocab = True
            if (words[t] & 0xFF) == 0xFF:
                w += 1
            t += 1
        if article >= 0:
            status = 3
        elif outside_vocab:
            status = 1
        elif w != total_wide:
            status = 2
        if status == 0:
            t = 0
            w = 0
            for a in range(n_art):
                e = 0
                end_t = t + counts[a]
                while t < end_t and t < n:
                    word = words[t]
                    hashes[t] = vocab[word >> 8]
                    low = word & 0xFF
                    if low == 0xFF:  # WIDE: the span is stored
                        starts[t] = wide[w, 0]
                        e = wide[w, 1]
                        w += 1
                    else:
                        e += (low >> 4) + (low & 15)
                        starts[t] = e - (low & 15)
                    ends[t] = e
                    if check_limit and status == 0 and (e > limit[a] or starts[t] < 0 or starts[t] > e):
                        status = 4
                        article = a
                    t += 1
    return status, article, hashes_arr, starts_arr, ends_arr


def shingle_rows(const uint64_t[::1] h, const int64_t[::1] offsets, const uint8_t[::1] banal, int k):
    """``shingle.shingle`` of a batch's tokens (hashes ``h``, articles' CSR ``offsets``, ``banal`` per token):
    each article's full k-grams that hold a word not banal, or one shingle of all its tokens when it has fewer
    than k, in one pass. Returns (hashes, first, last, shingle offsets per article)."""
    cdef Py_ssize_t n = h.shape[0], n_art = offsets.shape[0] - 1, d, i, e, lo, hi, size, last_nb, out_n = 0, j
    cdef uint64_t acc
    out_h_arr = np.empty(n, dtype=np.uint64)
    first_arr = np.empty(n, dtype=np.int64)
    last_arr = np.empty(n, dtype=np.int64)
    off_arr = np.empty(n_art + 1, dtype=np.int64)
    cdef uint64_t[::1] out_h = out_h_arr
    cdef int64_t[::1] first = first_arr
    cdef int64_t[::1] last = last_arr
    cdef int64_t[::1] off = off_arr
    with nogil:
        for d in range(n_art):
            off[d] = out_n
            lo = offsets[d]
            hi = offsets[d + 1]
            size = hi - lo
            if size <= 0:
                continue
            if size < k:  # one shingle of all its tokens, the last repeated to k, if any is not banal
                last_nb = -1
                for i in range(lo, hi):
                    if not banal[i]:
                        last_nb = i
                        break
                if last_nb < 0:
                    continue
                acc = mix64(h[lo])
                for j in range(1, k):
                    acc = mix64(acc * GOLDEN + h[lo + j if j < size else hi - 1])
                out_h[out_n] = mix64(acc ^ <uint64_t>size)
                first[out_n] = lo
                last[out_n] = hi - 1
                out_n += 1
                continue
            last_nb = lo - 1  # the last token not banal at or before the window's end
            for e in range(lo, lo + k - 1):
                if not banal[e]:
                    last_nb = e
            for e in range(lo + k - 1, hi):
                if not banal[e]:
                    last_nb = e
                i = e - k + 1
                if last_nb < i:
                    continue
                acc = mix64(h[i])
                for j in range(1, k):
                    acc = mix64(acc * GOLDEN + h[i + j])
                out_h[out_n] = mix64(acc ^ <uint64_t>k)
                first[out_n] = i
                last[out_n] = e
                out_n += 1
        off[n_art] = out_n
    return out_h_arr[:out_n], first_arr[:out_n], last_arr[:out_n], off_arr  # views: ~all of each is used
