# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled loops of match's posting lists (``evidence._partition_lists``): one pass over a partition's sorted
posting keys for what numpy builds in a dozen full-size temporaries. The GIL is released: the partitions run on
threads. The numpy code in ``evidence`` is the fallback and gives the same bits (tests/core/test_families.py)."""

from libc.stdint cimport int32_t, int64_t, uint64_t

from .mixing cimport GOLDEN, mix64

ctypedef fused doc_t:
    int32_t
    int64_t


cdef inline Py_ssize_t _run_end(const uint64_t[::1] keys, Py_ssize_t i, int bits, int64_t *size) noexcept nogil:
    """The end of the fingerprint run of ``keys`` that starts at ``i``, and (in ``size``) its distinct keys."""
    cdef Py_ssize_t n = keys.shape[0], j = i + 1
    cdef uint64_t fp = keys[i] >> bits
    size[0] = 1
    while j < n and (keys[j] >> bits) == fp:
        if keys[j] != keys[j - 1]:
            size[0] += 1
        j += 1
    return j


def count_shared(const uint64_t[::1] keys, int bits):
    """(runs, members) of the shared fingerprints of ``keys`` (ascending posting keys, fingerprint above the
    low ``bits``): a fingerprint's run counts when it holds two or more distinct keys."""
    cdef Py_ssize_t n = keys.shape[0], i = 0, j
    cdef int64_t runs = 0, members = 0, size
    with nogil:
        while i < n:
            j = _run_end(keys, i, bits, &size)
            if size >= 2:
                runs += 1
                members += size
            i = j
    return runs, members


def fill_shared(
    const uint64_t[::1] keys,
    int bits,
    doc_t[::1] docs,
    int64_t[::1] sizes,
    uint64_t[::1] run_fp,
    uint64_t[::1] hashes,
):
    """Per shared fingerprint of ``keys`` (``count_shared``'s), in order: its documents (the distinct keys' low
    ``bits``) into ``docs``, their number into ``sizes``, the fingerprint into ``run_fp`` and the list's hash
    (``evidence.list_hash``) into ``hashes``."""
    cdef Py_ssize_t n = keys.shape[0], i = 0, j, r = 0, m = 0, at
    cdef int64_t size
    cdef uint64_t fp, mask = (<uint64_t>1 << bits) - 1, summed
    with nogil:
        while i < n:
            fp = keys[i] >> bits
            j = _run_end(keys, i, bits, &size)
            if size >= 2:
                summed = 0
                at = i
                while at < j:
                    if at == i or keys[at] != keys[at - 1]:
                        docs[m] = <doc_t>(keys[at] & mask)
                        summed += mix64((keys[at] & mask) + 1)
                        m += 1
                    at += 1
                sizes[r] = size
                run_fp[r] = fp
                hashes[r] = mix64(summed ^ (<uint64_t>size * GOLDEN))
                r += 1
            i = j


def distinct_first(const uint64_t[::1] hashes, int64_t[::1] first, int64_t[::1] count):
    """The distinct values of ``hashes`` (well-mixed: their low bits index an open-addressing table), in the
    order each first appears: how many there are (``d``); ``first[:d]`` gets each one's first index and
    ``count[:d]`` how many times it appears. One pass, where a stable argsort of every hash cost ~10x more."""
    cdef Py_ssize_t n = hashes.shape[0], i, slot, d = 0
    cdef Py_ssize_t cap = 16
    while cap < 2 * n:
        cap *= 2
    cdef uint64_t mask = cap - 1
    cdef int64_t[::1] table = _filled(cap)
    cdef uint64_t h
    cdef int64_t at
    with nogil:
        for i in range(n):
            h = hashes[i]
            slot = <Py_ssize_t>(h & mask)
            while True:
                at = table[slot]
                if at < 0:
                    table[slot] = d
                    first[d] = i
                    count[d] = 1
                    d += 1
                    break
                if hashes[first[at]] == h:
                    count[at] += 1
                    break
                slot = <Py_ssize_t>((slot + 1) & mask)
    return d


cdef int64_t[::1] _filled(Py_ssize_t n):
    import numpy as np

    return np.full(n, -1, dtype=np.int64)


def family_keys(
    const doc_t[::1] members, const int64_t[::1] starts, const int64_t[::1] sizes, uint64_t[::1] out
):
    """Per run ``members[starts[i]:starts[i] + sizes[i]]`` (each non-empty), ``evidence._family_keys``' key: two
    min-hashes of its members, mixed; read in place, without gathering the runs."""
    cdef Py_ssize_t r, j, n = starts.shape[0]
    cdef uint64_t x, first, second, a, b
    with nogil:
        for r in range(n):
            first = 0xFFFFFFFFFFFFFFFFULL
            second = 0xFFFFFFFFFFFFFFFFULL
            for j in range(starts[r], starts[r] + sizes[r]):
                x = <uint64_t>members[j]
                a = mix64(x * 3 + 7)
                b = mix64(x * 5 + 11)
                if a < first:
                    first = a
                if b < second:
                    second = b
            out[r] = mix64(first ^ mix64(second))


def family_distinct(
    const doc_t[::1] base,
    const int64_t[::1] base_offsets,
    const doc_t[::1] adds,
    const int64_t[::1] add_offsets,
    const doc_t[::1] lacks,
    const int64_t[::1] lack_offsets,
    const int64_t[::1] values,
    const int64_t[::1] by_family,
    const int64_t[::1] family_start,
    int64_t f0,
    int64_t f1,
    int32_t[::1] counter,
    int64_t[::1] stamp,
    int64_t[::1] seen,
    int64_t[::1] order,
    int64_t[::1] bucket,
    int64_t[::1] distinct,
    int64_t[::1] most,
):
    """``evidence._distinct_in_families`` for the families ``f0`` to ``f1 - 1`` at once, without a sort: per list l
    of these families (``by_family[family_start[f]:family_start[f + 1]]`` are family f's lists), how many distinct
    ``values[member]`` its members (its family's base, without its lacks, with its adds) have, into
    ``distinct[l]``, and how many members share the most common one, into ``most[l]``. A family's base is
    counted once (``counter``, one slot a value, zero on entry and on return), its distinct values ordered by
    count (a counting sort into ``order``; ``bucket`` holds a count's place, one more than the largest base);
    each list then changes the counts its exceptions touch (``stamp[value] = l``) and puts them back. Scratch
    arrays (``counter``/``stamp``: one slot a value, ``stamp`` -1 on entry; ``seen``/``order``: the largest base)
    are the caller's, one set a thread: no allocation here, the GIL released, so two threads run two ranges
    of families side by side."""
    cdef int64_t f, i, k, l, v, d, c, top, pos, tmp, nd, mx
    cdef int64_t a0, a1, x0, x1
    with nogil:
        for f in range(f0, f1):
            if family_start[f] == family_start[f + 1]:
                continue
            d = 0
            top = 0
            for i in range(base_offsets[f], base_offsets[f + 1]):
                v = values[base[i]]
                if counter[v] == 0:
                    seen[d] = v
                    d += 1
                counter[v] += 1
                if counter[v] > top:
                    top = counter[v]
            # The distinct values by count, most first (a counting sort: counts are at most the base's size).
            for c in range(top + 1):
                bucket[c] = 0
            for i in range(d):
                bucket[counter[seen[i]]] += 1
            pos = 0
            c = top
            while c >= 1:
                tmp = bucket[c]
                bucket[c] = pos
                pos += tmp
                c -= 1
            for i in range(d):
                v = seen[i]
                c = counter[v]
                order[bucket[c]] = v
                bucket[c] += 1
            for k in range(family_start[f], family_start[f + 1]):
                l = by_family[k]
                a0, a1 = add_offsets[l], add_offsets[l + 1]
                x0, x1 = lack_offsets[l], lack_offsets[l + 1]
                nd = d
                for i in range(a0, a1):  # adds first: no count goes below zero (a lack is a base member)
                    v = values[adds[i]]
                    stamp[v] = l
                    counter[v] += 1
                    if counter[v] == 1:
                        nd += 1
                for i in range(x0, x1):
                    v = values[lacks[i]]
                    stamp[v] = l
                    counter[v] -= 1
                    if counter[v] == 0:
                        nd -= 1
                mx = 0
                for i in range(a0, a1):
                    v = values[adds[i]]
                    if counter[v] > mx:
                        mx = counter[v]
                for i in range(x0, x1):
                    v = values[lacks[i]]
                    if counter[v] > mx:
                        mx = counter[v]
                for i in range(d):  # the most common value no exception touched: the first untouched by count
                    v = order[i]
                    if stamp[v] != l:
                        if counter[v] > mx:
                            mx = counter[v]
                        break
                for i in range(a0, a1):
                    counter[values[adds[i]]] -= 1
                for i in range(x0, x1):
                    counter[values[lacks[i]]] += 1
                distinct[l] = nd
                most[l] = mx
            for i in range(d):
                counter[seen[i]] = 0


def list_exceptions(
    const doc_t[::1] members,
    const int64_t[::1] starts,
    const int64_t[::1] sizes,
    const doc_t[::1] bases,
    const int64_t[::1] base_starts,
    const int64_t[::1] base_sizes,
    doc_t[::1] adds,
    int64_t[::1] add_n,
    doc_t[::1] lacks,
    int64_t[::1] lack_n,
):
    """Per list k (its members ``members[starts[k]:starts[k] + sizes[k]]`` and its family's base
    ``bases[base_starts[k]:base_starts[k] + base_sizes[k]]``, each ascending and distinct): the members not in the
    base into ``adds`` (from the sum of the sizes before k on: ``sizes[k]`` room each), their number into
    ``add_n[k]``, and the base's members not in the list into ``lacks`` (from the sum of the base sizes before k
    on), their number into ``lack_n[k]``: one merge of the two ascending runs a list
    (``evidence.sorted_differences`` of every list at once, without its sort)."""
    cdef Py_ssize_t k, n = starts.shape[0]
    cdef int64_t i, j, ie, je, a, x, ao = 0, xo = 0
    with nogil:
        for k in range(n):
            i, ie = starts[k], starts[k] + sizes[k]
            j, je = base_starts[k], base_starts[k] + base_sizes[k]
            a = 0
            x = 0
            while i < ie and j < je:
                if members[i] < bases[j]:
                    adds[ao + a] = members[i]
                    a += 1
                    i += 1
                elif members[i] > bases[j]:
                    lacks[xo + x] = bases[j]
                    x += 1
                    j += 1
                else:
                    i += 1
                    j += 1
            while i < ie:
                adds[ao + a] = members[i]
                a += 1
                i += 1
            while j < je:
                lacks[xo + x] = bases[j]
                x += 1
                j += 1
            add_n[k] = a
            lack_n[k] = x
            ao += sizes[k]
            xo += base_sizes[k]
