# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The served query's per-posting loop, compiled (``dedup.kernels.native("query")``): one big shard's look-up of
a query's fingerprints (``index.shards.shard_lookup``), where numpy made a dozen temporaries of the
fingerprints' and gathered postings' size per shard and per query: the Bloom filter's probes, the directory's
slot, the slot's postings compared, a crowded slot narrowed by binary search. The GIL is released (a server's
reader threads look up at once). Exactly the numpy code's answer, in its order and dtypes (a hypothesis test
compares them: tests/index/test_query_kernel.py)."""

import numpy as np

from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint64_t

from libc.stdlib cimport qsort

from .mixing cimport mix64

ctypedef fused slot_t:
    int32_t
    int64_t


cdef inline bint _may_hold(const uint8_t[::1] packed, uint64_t fp, uint64_t mask, int probes) noexcept nogil:
    """``bloom.may_hold`` of one fingerprint: every probe's bit set."""
    cdef uint64_t h1 = (fp >> 16) & mask, h2 = mix64(fp) | 1, p
    cdef int i
    for i in range(probes):
        p = (h1 + <uint64_t>i * h2) & mask
        if not ((packed[p >> 3] >> (p & 7)) & 1):
            return False
    return True


cdef inline Py_ssize_t _lower(const uint64_t[::1] a, Py_ssize_t lo, Py_ssize_t hi, uint64_t x) noexcept nogil:
    """The first index of ``a[lo:hi]`` (sorted) whose value is not below ``x`` (``searchsorted`` left)."""
    cdef Py_ssize_t mid
    while lo < hi:
        mid = lo + (hi - lo) // 2
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline Py_ssize_t _upper(const uint64_t[::1] a, Py_ssize_t lo, Py_ssize_t hi, uint64_t x) noexcept nogil:
    """The first index of ``a[lo:hi]`` (sorted) whose value is above ``x`` (``searchsorted`` right)."""
    cdef Py_ssize_t mid
    while lo < hi:
        mid = lo + (hi - lo) // 2
        if a[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def shard_lookup(
    const uint64_t[::1] postings,
    const slot_t[::1] slots,
    int bits,
    const uint8_t[::1] packed,
    uint64_t mask,
    int probes,
    const uint64_t[::1] fps,
    int64_t wide_limit,
):
    """(pos, at, mine, w, wlo, whi) of ``fps`` in one shard, as ``shards._shard_lookup_numpy`` gives them: the
    position in ``fps`` and posting index of every posting equal to a fingerprint the filter (``packed``,
    ``mask`` = its bits - 1, ``probes``) lets through, by position then posting; each fingerprint's holders
    (``mine``); the fingerprints whose directory slot holds more than ``wide_limit`` postings, with their
    run's bounds (``w``, ``wlo``, ``whi``; None when there is none), never gathered."""
    cdef Py_ssize_t n = fps.shape[0], i, j, lo, hi, found = 0, wides = 0, k = 0, m = 0
    cdef int shift = 64 - bits
    cdef uint64_t f
    mine_a = np.zeros(n, dtype=np.int64)
    lo_a = np.zeros(n, dtype=np.int64)
    hi_a = np.zeros(n, dtype=np.int64)
    kind_a = np.zeros(n, dtype=np.int8)  # 0: not here (filter), 1: a slot to compare, 2: a crowded slot
    cdef int64_t[::1] mine = mine_a, los = lo_a, his = hi_a
    cdef int8_t[::1] kind = kind_a
    with nogil:
        for i in range(n):
            f = fps[i]
            if not _may_hold(packed, f, mask, probes):
                continue
            j = <Py_ssize_t>(f >> shift)
            lo, hi = <Py_ssize_t>slots[j], <Py_ssize_t>slots[j + 1]
            if hi - lo > wide_limit:
                los[i] = _lower(postings, lo, hi, f)
                his[i] = _upper(postings, lo, hi, f)
                mine[i] = his[i] - los[i]
                kind[i] = 2
                wides += 1
            else:
                los[i], his[i], kind[i] = lo, hi, 1
                for j in range(lo, hi):
                    if postings[j] == f:
                        mine[i] += 1
                found += mine[i]
    pos_a = np.empty(found, dtype=np.int64)
    at_a = np.empty(found, dtype=np.int64)
    w_a = np.empty(wides, dtype=np.int64)
    wlo_a = np.empty(wides, dtype=np.int64)
    whi_a = np.empty(wides, dtype=np.int64)
    cdef int64_t[::1] pos = pos_a, at = at_a, w = w_a, wlo = wlo_a, whi = whi_a
    with nogil:
        for i in range(n):
            if kind[i] == 1 and mine[i]:
                f = fps[i]
                for j in range(los[i], his[i]):
                    if postings[j] == f:
                        pos[k] = i
                        at[k] = j
                        k += 1
            elif kind[i] == 2:
                w[m], wlo[m], whi[m] = i, los[i], his[i]
                m += 1
    if not wides:
        return pos_a, at_a, mine_a, None, None, None
    return pos_a, at_a, mine_a, w_a, wlo_a, whi_a


ctypedef fused pos_t:
    int32_t
    int64_t


cdef int _compare(const void *a, const void *b) noexcept nogil:
    cdef int64_t x = (<const int64_t *>a)[0], y = (<const int64_t *>b)[0]
    return (x > y) - (x < y)


def by_position(const pos_t[::1] pos, const int64_t[::1] refs, int64_t n_refs):
    """``shards.by_position``'s answer (the pairs sorted by position, then ref) by one counting pass over the
    positions, each position's refs then sorted where they did not come ascending (equal pairs are the same
    values: any order of them is the stable sort's); None where a ref is outside [0, ``n_refs``), a position
    is negative, or the positions spread far beyond the pairs' number (the caller's stable sort then runs).
    Linear for the look-ups' pairs (a few runs, each in order), where the sort was several passes over
    full-size temporaries."""
    cdef Py_ssize_t n = pos.shape[0], i, j, group = 0
    cdef int64_t top = -1, p
    cdef bint ok = True, unsorted = False
    with nogil:
        for i in range(n):
            if pos[i] < 0 or refs[i] < 0 or refs[i] >= n_refs:
                ok = False
                break
            if pos[i] > top:
                top = pos[i]
    if not ok or top > 4 * n + 1024:
        return None
    starts_a = np.zeros(top + 2, dtype=np.int64)
    out_pos_a = np.empty(n, dtype=np.asarray(pos).dtype)
    out_refs_a = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] starts = starts_a, out_refs = out_refs_a
    cdef pos_t[::1] out_pos = out_pos_a
    with nogil:
        for i in range(n):
            starts[pos[i] + 1] += 1
        for i in range(1, top + 2):
            starts[i] += starts[i - 1]
        for i in range(n):
            p = pos[i]
            j = starts[p]
            starts[p] += 1
            out_pos[j] = pos[i]
            out_refs[j] = refs[i]
        for j in range(1, n + 1):
            if j == n or out_pos[j] != out_pos[j - 1]:  # the group [group, j) ends
                if unsorted:
                    qsort(&out_refs[group], j - group, sizeof(int64_t), _compare)
                group, unsorted = j, False
            elif out_refs[j] < out_refs[j - 1]:
                unsorted = True
    return out_pos_a, out_refs_a
