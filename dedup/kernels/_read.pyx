# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Phase 1's per-character and per-token loops, compiled (``dedup.kernels.native("read")``).

Each gives exactly the bits of the numpy code it stands for (wrap-around uint64 arithmetic, the same order of
operations; a test compares them on random Unicode text), and each runs without the GIL, so a process's threads
use every core:

- ``spans_keys``: a batch's tokens straight from its ``str`` objects (``normalise._spans`` over the packed
  characters, then ``_surface_keys`` and ``_mix_key``), with code-point offsets into each text: no joined copy
  of the batch, no UTF-16/32 array, no packed-character array, no prefix sums;
- ``probe``: the vocabulary's linear probing (``normalise._Vocabulary._find``);
- ``window_hashes``: every full k-gram's hash (``shingle._window_hashes``);
- ``raw_signatures``: MinHash bins before densification (``sign._signatures``' ``np.minimum.at``);
- ``line_spans``: the trimmed non-blank lines of a text (``ingest.model.split_paragraphs``).
"""

from cpython.unicode cimport PyUnicode_DATA, PyUnicode_KIND, PyUnicode_GET_LENGTH
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc

from .mixing cimport GOLDEN, mix64

cdef extern from "Python.h":
    Py_UCS4 PyUnicode_READ(int kind, void *data, Py_ssize_t index) nogil
    bint Py_UNICODE_ISSPACE(Py_UCS4 ch) nogil
    bint Py_UNICODE_ISLINEBREAK(Py_UCS4 ch) nogil

cdef uint64_t POLY = 0x9E3779B97F4A7C15ULL  # normalise._POLY
cdef uint32_t FOLD_MASK = (1 << 21) - 1
cdef uint32_t WORD = 1, SINGLE = 2, APOS = 3


cdef inline uint32_t packed_of(
    Py_UCS4 c, const uint32_t[::1] table, const uint32_t[::1] wide, const uint32_t[::1] wide_packed
) noexcept nogil:
    """The packed class and fold of code point ``c``: the table's in the BMP, else found in the sorted
    ``wide`` code points (every astral character of the batch)."""
    cdef Py_ssize_t lo = 0, hi = wide.shape[0], mid
    if c < 0x10000:
        return table[c]
    while lo < hi:
        mid = (lo + hi) >> 1
        if wide[mid] < c:
            lo = mid + 1
        else:
            hi = mid
    if lo < wide.shape[0] and wide[lo] == c:
        return wide_packed[lo]
    return 0  # not given: a separator (the caller gives every astral character of its texts)


ctypedef fused chars_t:
    uint8_t
    uint16_t
    uint32_t


cdef Py_ssize_t _doc_tokens(
    const chars_t *data,
    Py_ssize_t i,
    Py_ssize_t size,
    Py_ssize_t m,
    Py_ssize_t cap,
    const uint32_t[::1] table,
    const uint32_t[::1] wide,
    const uint32_t[::1] wide_packed,
    int64_t[::1] starts,
    int64_t[::1] ends,
    uint64_t[::1] keys,
) noexcept nogil:
    """The tokens of one text (from ``i``) appended at ``m``, for each way Python stores a ``str`` (one, two
    or four bytes a character); returns the new count, -1 when they overflow ``cap``."""
    cdef uint32_t p, cls, q
    cdef uint64_t key, power
    cdef Py_ssize_t start
    while i < size:
        p = packed_of(data[i], table, wide, wide_packed)
        cls = (p >> 24) & 3
        if cls == SINGLE or cls == WORD:
            if m >= cap:
                return -1  # the buffers are full: the caller gives larger ones
        if cls == SINGLE:
            starts[m] = i
            ends[m] = i + 1
            keys[m] = mix64(<uint64_t>(p & FOLD_MASK) ^ 1)
            if keys[m] == 0:
                keys[m] = 1
            m += 1
            i += 1
        elif cls == WORD:
            start = i
            key = 0
            power = 1
            while True:  # p: the packed character at i, a WORD one or a joining apostrophe
                key += <uint64_t>(p & FOLD_MASK) * power
                power *= POLY
                i += 1
                if i >= size:
                    break
                p = packed_of(data[i], table, wide, wide_packed)
                cls = (p >> 24) & 3
                if cls == WORD:
                    continue
                if cls == APOS and i + 1 < size:
                    q = packed_of(data[i + 1], table, wide, wide_packed)
                    if (q >> 24) & 3 == WORD:
                        continue
                break
            starts[m] = start
            ends[m] = i
            keys[m] = mix64(key ^ <uint64_t>(i - start))
            if keys[m] == 0:
                keys[m] = 1
            m += 1
        else:
            i += 1
    return m


def spans_keys(
    list texts,
    const int64_t[::1] body_starts,
    const uint32_t[::1] table,
    const uint32_t[::1] wide,
    const uint32_t[::1] wide_packed,
    int64_t[::1] starts,
    int64_t[::1] ends,
    uint64_t[::1] keys,
    int64_t[::1] counts,
):
    """The tokens of ``texts`` (each from ``body_starts[i]``): written to ``starts``/``ends`` (code-point
    offsets into the token's own text) and ``keys`` (``normalise._surface_keys``, mixed with the length),
    document i's ``counts[i]`` of them in order. Returns the number of tokens, or -1 when they are more than
    the buffers hold. A token is a run of WORD characters (an apostrophe between two WORD characters
    joins them) or one SINGLE character; ``wide``/``wide_packed``: the batch's astral code points, sorted,
    and their packed characters (``normalise._packed_wide``)."""
    cdef Py_ssize_t n = len(texts), d, size, at, before
    cdef int kind
    cdef void *data
    cdef Py_ssize_t m = 0, cap = min(starts.shape[0], ends.shape[0], keys.shape[0])
    cdef int *kinds = <int *>malloc(max(n, 1) * sizeof(int))
    cdef void **datas = <void **>malloc(max(n, 1) * sizeof(void *))
    cdef Py_ssize_t *sizes = <Py_ssize_t *>malloc(max(n, 1) * sizeof(Py_ssize_t))
    if kinds == NULL or datas == NULL or sizes == NULL:
        free(kinds)
        free(datas)
        free(sizes)
        raise MemoryError()
    try:
        for d in range(n):
            text = texts[d]
            if not isinstance(text, str):
                raise TypeError("spans_keys wants str texts")
            kinds[d] = PyUnicode_KIND(text)
            datas[d] = PyUnicode_DATA(text)
            sizes[d] = PyUnicode_GET_LENGTH(text)
        with nogil:
            for d in range(n):
                kind, data, size = kinds[d], datas[d], sizes[d]
                at = body_starts[d] if body_starts[d] > 0 else 0
                before = m
                if kind == 1:
                    m = _doc_tokens(<const uint8_t *>data, at, size, m, cap, table, wide, wide_packed, starts, ends, keys)
                elif kind == 2:
                    m = _doc_tokens(<const uint16_t *>data, at, size, m, cap, table, wide, wide_packed, starts, ends, keys)
                else:
                    m = _doc_tokens(<const uint32_t *>data, at, size, m, cap, table, wide, wide_packed, starts, ends, keys)
                if m < 0:
                    break
                counts[d] = m - before
    finally:
        free(kinds)
        free(datas)
        free(sizes)
    return m


cdef inline uint64_t _slot(const uint64_t[::1] table, uint64_t mask, int bits, uint64_t k, uint8_t *hit) noexcept nogil:
    """The slot of ``k`` in the open-addressing ``table`` (linear probing from its top ``bits``): where it is
    (``hit`` 1) or the empty one it would take (``hit`` 0)."""
    cdef uint64_t s = k >> (64 - bits), held
    while True:
        held = table[s]
        if held == k:
            hit[0] = 1
            return s
        if held == 0:
            hit[0] = 0
            return s
        s = (s + 1) & mask


def probe(const uint64_t[::1] table, int bits, const uint64_t[::1] keys, int64_t[::1] slot, uint8_t[::1] hit):
    """Each key's slot in the vocabulary's open-addressing ``table`` (linear probing from the key's top
    ``bits``), and whether the key is there (else the slot is the empty one it would take): ``_find``'s."""
    cdef Py_ssize_t n = keys.shape[0], j
    cdef uint64_t mask = (<uint64_t>1 << bits) - 1
    with nogil:
        for j in range(n):
            slot[j] = <int64_t>_slot(table, mask, bits, keys[j], &hit[j])


def window_hashes(const uint64_t[::1] h, int k, uint64_t[::1] out):
    """The hash of every full k-gram window of ``h`` (``shingle._window_hashes``) into ``out`` (n - k + 1)."""
    cdef Py_ssize_t n = h.shape[0] - k + 1, i, j
    cdef uint64_t acc
    with nogil:
        for i in range(n):
            acc = mix64(h[i])
            for j in range(1, k):
                acc = mix64(acc * GOLDEN + h[i + j])
            out[i] = mix64(acc ^ <uint64_t>k)


def raw_signatures(
    const uint64_t[::1] hashes, const int64_t[::1] offsets, int num_perm, uint64_t salt, int shift, uint32_t[::1] sig
):
    """MinHash bins of each set ``offsets[s]:offsets[s + 1]`` of ``hashes``, into ``sig`` (sets × num_perm,
    filled with EMPTY by the caller): ``sign._signatures`` before densification. ``shift``: 64 - log2(num_perm)
    when num_perm is a power of two, else 0."""
    cdef Py_ssize_t n_sets = offsets.shape[0] - 1, s, j
    cdef uint64_t y, b
    cdef uint32_t v
    cdef Py_ssize_t base
    with nogil:
        for s in range(n_sets):
            base = s * num_perm
            for j in range(offsets[s], offsets[s + 1]):
                y = mix64(hashes[j] ^ salt)
                if shift:
                    b = y >> shift
                else:
                    b = ((y >> 32) * <uint64_t>num_perm) >> 32
                v = <uint32_t>y
                if v > <uint32_t>0xFFFFFFFE:
                    v = <uint32_t>0xFFFFFFFE
                if v < sig[base + b]:
                    sig[base + b] = v


cdef inline bint _ascii_break(uint32_t c) noexcept nogil:
    return c == 10 or c == 13 or c == 11 or c == 12 or 28 <= c <= 30


cdef inline bint _ascii_space(uint32_t c) noexcept nogil:
    return c == 32 or 9 <= c <= 13 or 28 <= c <= 31


cdef Py_ssize_t _lines(const chars_t *data, Py_ssize_t start, Py_ssize_t end, int64_t *out) noexcept nogil:
    """The trimmed non-blank lines of ``data[start:end]`` as (first, end) pairs into ``out``; returns how
    many (``line_spans``)."""
    cdef Py_ssize_t i = start, first, last, n = 0
    cdef uint32_t c
    cdef bint brk, space
    while i < end:
        first = -1
        last = -1
        while i < end:
            c = data[i]
            i += 1
            if c < 128:  # ASCII: no function calls
                brk, space = _ascii_break(c), _ascii_space(c)
            else:
                brk, space = Py_UNICODE_ISLINEBREAK(c), Py_UNICODE_ISSPACE(c)
            if brk:
                break
            if not space:
                if first < 0:
                    first = i - 1
                last = i - 1
        if first >= 0:
            out[2 * n] = first
            out[2 * n + 1] = last + 1
            n += 1
    return n


def line_spans(str text, Py_ssize_t start, Py_ssize_t end):
    """The spans of the non-blank lines of ``text[start:end]`` trimmed of white space (``split_paragraphs``:
    lines end at what ``str.splitlines`` breaks at, every one of them white space, and are trimmed of what
    ``str.strip`` removes)."""
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    cdef Py_ssize_t n, j
    cdef int64_t *spans
    if end > PyUnicode_GET_LENGTH(text):
        end = PyUnicode_GET_LENGTH(text)
    if start >= end:
        return []
    spans = <int64_t *>malloc((end - start + 1) * sizeof(int64_t))  # a line takes two characters at least
    if spans == NULL:
        raise MemoryError()
    try:
        with nogil:
            if kind == 1:
                n = _lines(<const uint8_t *>data, start, end, spans)
            elif kind == 2:
                n = _lines(<const uint16_t *>data, start, end, spans)
            else:
                n = _lines(<const uint32_t *>data, start, end, spans)
        return [(spans[2 * j], spans[2 * j + 1]) for j in range(n)]
    finally:
        free(spans)


def astral(list texts):
    """The distinct astral code points of ``texts``, sorted (as uint32 in a bytes-like array): only texts
    Python stores four bytes a character hold any."""
    cdef set found = set()
    cdef Py_ssize_t i, size
    cdef void *data
    cdef Py_UCS4 c
    for text in texts:
        if PyUnicode_KIND(text) != 4:
            continue
        data = PyUnicode_DATA(text)
        size = PyUnicode_GET_LENGTH(text)
        for i in range(size):
            c = (<Py_UCS4 *>data)[i]
            if c > 0xFFFF:
                found.add(<long>c)
    return sorted(found)


def lookup(
    const uint64_t[::1] table,
    int bits,
    const uint64_t[::1] hashes,
    const uint64_t[::1] exact,
    const int32_t[::1] number,
    const uint64_t[::1] keys,
    uint64_t[::1] out_hashes,
    uint64_t[::1] out_exact,
    int32_t[::1] out_number,
    int64_t[::1] slot,
    uint8_t[::1] hit,
):
    """``probe``, and each key's entry gathered (``_Vocabulary.lookup``'s hits): its hashes and number where
    the key is in the table, the empty slot's zeros where not. Returns the number of keys not found."""
    cdef Py_ssize_t n = keys.shape[0], j, missed = 0
    cdef uint64_t mask = (<uint64_t>1 << bits) - 1, s
    with nogil:
        for j in range(n):
            s = _slot(table, mask, bits, keys[j], &hit[j])
            missed += 1 - hit[j]
            slot[j] = <int64_t>s
            out_hashes[j] = hashes[s]
            out_exact[j] = exact[s]
            out_number[j] = number[s]
    return missed


cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object o)


cdef Py_ssize_t _wide_bytes(const chars_t *data, Py_ssize_t size) noexcept nogil:
    """The bytes beyond one a character that UTF-8 takes for ``data``."""
    cdef Py_ssize_t i, extra = 0
    cdef Py_UCS4 c
    for i in range(size):
        c = data[i]
        if c >= 0x80:
            extra += 1 if c < 0x800 else (2 if c < 0x10000 else 3)
    return extra


def utf8_sizes(list texts):
    """Bytes of each ``str`` of ``texts`` in UTF-8, lone surrogates three bytes each (``surrogatepass``), as
    ``features._utf8_size`` counts them, without encoding any."""
    cdef list out = []
    cdef Py_ssize_t i, size, total
    cdef int kind
    cdef void *data
    cdef Py_UCS4 c
    for text in texts:
        size = PyUnicode_GET_LENGTH(text)
        if PyUnicode_IS_ASCII(text):
            out.append(size)
            continue
        kind = PyUnicode_KIND(text)
        data = PyUnicode_DATA(text)
        total = size
        with nogil:
            if kind == 1:
                total += _wide_bytes(<const uint8_t *>data, size)
            elif kind == 2:
                total += _wide_bytes(<const uint16_t *>data, size)
            else:
                total += _wide_bytes(<const uint32_t *>data, size)
        out.append(total)
    return out


def pack_tokens(
    const int64_t[::1] offsets,
    const uint32_t[:] starts,
    const uint32_t[:] ends,
    const int64_t[::1] ids,
    int max_small,
    uint32_t wide,
    uint32_t[::1] words,
    uint8_t[::1] small,
):
    """The store's word of each token (``featurestore.tokens.encode``): its place in the vocabulary over a low
    byte holding its gap from the last token's end (0 at an article's first) and its length, each at most
    ``max_small``, else ``wide``; ``small[j]`` says which. ``starts``/``ends`` may be strided (a spans
    array's columns). Returns the number of wide tokens."""
    cdef Py_ssize_t n_docs = offsets.shape[0] - 1, d, j, n_wide = 0
    cdef int64_t prev, gap, length
    with nogil:
        for d in range(n_docs):
            prev = 0
            for j in range(offsets[d], offsets[d + 1]):
                gap = <int64_t>starts[j] - prev
                length = <int64_t>ends[j] - <int64_t>starts[j]
                if 0 <= gap <= max_small and 0 <= length <= max_small:
                    words[j] = (<uint32_t>ids[j] << 8) | <uint32_t>((gap << 4) | length)
                    small[j] = 1
                else:
                    words[j] = (<uint32_t>ids[j] << 8) | wide
                    small[j] = 0
                    n_wide += 1
                prev = ends[j]
    return n_wide
