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

from .mixing cimport GOLDEN, mix64

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


cdef struct _Keyed:
    uint64_t h
    int64_t i


cdef int _by_hash(const void *a, const void *b) noexcept nogil:
    cdef const _Keyed *x = <const _Keyed *>a
    cdef const _Keyed *y = <const _Keyed *>b
    if x.h != y.h:
        return -1 if x.h < y.h else 1
    return (x.i > y.i) - (x.i < y.i)


def posting_lists(const int64_t[::1] fp, const int64_t[::1] member, int64_t n_fps, const uint8_t[::1] apart):
    """``service._lists``' arrays from (fingerprint, member) pairs: (hashes, offsets, members, weight, known,
    list_of), exactly as its numpy code (``_lists_numpy``) makes them: fingerprints held by two members or
    more (one, when ``apart``) grouped by their members' set (``list_hash``), lists sorted by hash, each list's
    members those of its first fingerprint, ascending. None when no fingerprint is listed. ``fp`` in
    [0, ``n_fps``) and ``member`` >= 0 (the caller checks)."""
    cdef Py_ssize_t n = fp.shape[0], i, j, k, L = 0, total = 0, u, d, s
    cdef int64_t n_members = 0, f
    cdef uint64_t summed, h
    held_a = np.zeros(n_fps + 1, dtype=np.int64)
    cdef int64_t[::1] held = held_a
    with nogil:
        for i in range(n):
            held[fp[i]] += 1
            if member[i] + 1 > n_members:
                n_members = member[i] + 1
        for f in range(n_fps):
            if held[f] >= (1 if apart[f] else 2):
                L += 1
                total += held[f]
    if not L:
        return None
    # each listed fingerprint's members, grouped by a counting pass, ascending within a group
    start_a = np.full(n_fps + 1, -1, dtype=np.int64)  # a listed fingerprint's first member slot (-1: not listed)
    fill_a = np.zeros(n_fps, dtype=np.int64)
    ids_a = np.empty(L, dtype=np.int64)
    members_a = np.empty(total, dtype=np.int64)
    mixed_a = np.empty(n_members, dtype=np.uint64)
    keyed_a = np.empty(L * 2, dtype=np.uint64)  # L (hash, index) records
    cdef int64_t[::1] start = start_a, fill = fill_a, ids = ids_a, members = members_a
    cdef uint64_t[::1] mixed = mixed_a
    cdef _Keyed *keyed = <_Keyed *><size_t>keyed_a.ctypes.data
    with nogil:
        k = 0
        s = 0
        for f in range(n_fps):
            if held[f] >= (1 if apart[f] else 2):
                ids[k] = f
                start[f] = s
                s += held[f]
                k += 1
        for i in range(n):
            f = fp[i]
            if start[f] >= 0:
                members[start[f] + fill[f]] = member[i]
                fill[f] += 1
        for i in range(n_members):
            mixed[i] = mix64(<uint64_t>i + 1)
        for k in range(L):
            f = ids[k]
            s = start[f]
            for j in range(s + 1, s + held[f]):
                if members[j] < members[j - 1]:
                    qsort(&members[s], held[f], sizeof(int64_t), _compare)
                    break
            summed = 0
            for j in range(s, s + held[f]):
                summed += mixed[members[j]]
            h = mix64(summed ^ (<uint64_t>held[f] * GOLDEN))
            if apart[f]:
                h = mix64(h ^ GOLDEN)
            keyed[k].h = h
            keyed[k].i = k
        qsort(keyed, L, sizeof(_Keyed), _by_hash)
        d = 0
        for k in range(L):
            if k == 0 or keyed[k].h != keyed[k - 1].h:
                d += 1
    hashes_a = np.empty(d, dtype=np.uint64)
    weight_a = np.zeros(d, dtype=np.int64)
    known_a = np.zeros(d, dtype=bool)
    offsets_a = np.zeros(d + 1, dtype=np.int64)
    list_of_a = np.full(n_fps, -1, dtype=np.int64)
    cdef uint64_t[::1] hashes = hashes_a
    cdef int64_t[::1] weight = weight_a, offsets = offsets_a, list_of = list_of_a
    cdef uint8_t[::1] known = known_a.view(np.uint8)
    with nogil:
        u = -1
        for k in range(L):
            if k == 0 or keyed[k].h != keyed[k - 1].h:
                u += 1
                hashes[u] = keyed[k].h
                f = ids[keyed[k].i]  # the list's first fingerprint: its members are the list's
                offsets[u + 1] = offsets[u] + held[f]
                known[u] = apart[f] != 0
            weight[u] += 1
            list_of[ids[keyed[k].i]] = u
    out_a = np.empty(offsets_a[d], dtype=np.int64)
    cdef int64_t[::1] out = out_a
    with nogil:
        u = -1
        for k in range(L):
            if k == 0 or keyed[k].h != keyed[k - 1].h:
                u += 1
                f = ids[keyed[k].i]
                for j in range(held[f]):
                    out[offsets[u] + j] = members[start[f] + j]
    return hashes_a, offsets_a, out_a, weight_a, known_a, list_of_a
