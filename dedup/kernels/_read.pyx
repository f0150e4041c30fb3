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
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcpy, memset

import numpy as np

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


# What ``_lines`` needs of a character below 256: 1 white space (``Py_UNICODE_ISSPACE``), 3 a line break too
# (``Py_UNICODE_ISLINEBREAK``: every line break is white space); filled from those functions at import.
cdef uint8_t LATIN[256]
for _c in range(256):
    LATIN[_c] = (1 if Py_UNICODE_ISSPACE(_c) else 0) | (2 if Py_UNICODE_ISLINEBREAK(_c) else 0)


cdef inline uint8_t _space_class(uint32_t c) noexcept nogil:
    """0 for a character that is not white space, 1 for white space, 3 for a line break (``LATIN``)."""
    if c < 256:
        return LATIN[c]
    if not Py_UNICODE_ISSPACE(c):
        return 0
    return 3 if Py_UNICODE_ISLINEBREAK(c) else 1


cdef Py_ssize_t _lines(const chars_t *data, Py_ssize_t start, Py_ssize_t end, int64_t *out) noexcept nogil:
    """The trimmed non-blank lines of ``data[start:end]`` as (first, end) pairs into ``out``; returns how
    many (``line_spans``)."""
    cdef Py_ssize_t i = start, first, last, n = 0
    cdef uint8_t f
    while i < end:
        first = -1
        last = -1
        while i < end:
            f = _space_class(data[i])
            i += 1
            if f == 0:
                if first < 0:
                    first = i - 1
                last = i - 1
            elif f == 3:
                break
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


# ------------------------------------------------------------------------------------------------------------------
# One call per batch of plain text files (``ingest.batch``): open, read, sniff, decode, paragraphs.

cdef extern from "<fcntl.h>" nogil:
    int open(const char *path, int flags)
    int O_RDONLY, O_NONBLOCK, O_CLOEXEC, O_NOCTTY, O_NOFOLLOW

cdef extern from "<unistd.h>" nogil:
    ssize_t read(int fd, void *buf, size_t count)
    int close(int fd)

cdef extern from "<sys/stat.h>" nogil:
    ctypedef long off_t
    struct stat:
        unsigned int st_mode
        off_t st_size
    int fstat(int fd, stat *buf)
    bint S_ISREG(unsigned int mode)

cdef extern from "<stdlib.h>" nogil:
    void qsort(void *base, size_t n, size_t size, int (*compar)(const void *, const void *))

cdef extern from "<string.h>" nogil:
    int memcmp(const void *a, const void *b, size_t n)


cdef inline bint _starts(const char *data, Py_ssize_t size, const char *prefix, Py_ssize_t n) noexcept nogil:
    return size >= n and memcmp(data, prefix, n) == 0


cdef bint _plain_bytes(const char *data, Py_ssize_t size) noexcept nogil:
    """Whether ``data`` is text every sniff of ``ingest`` passes without a second look: no C0 control byte but
    tab, LF, VT, FF and CR (so no NUL: no UTF-16/32 reading, no binary count), no DEL, no byte-order mark, and
    no start that one of ``sniff._SIGNATURES`` made of text bytes could match (``%PDF-``, ``GIF8``, ``RIFF``,
    ``BZh``, ``fLaC``, ``wOF``, ``PAR1``, ``....ftyp``) nor ``MZ`` (``sniff._is_pe``). Every other signature
    holds a control byte or a byte that is never UTF-8, which the other tests or the decode refuse. A file
    that fails any of this is read by the Python path, which decides."""
    cdef Py_ssize_t i
    cdef unsigned char c
    for i in range(size):
        c = <unsigned char>data[i]
        if (c < 32 and not (9 <= c <= 13)) or c == 127:
            return False
    if (
        _starts(data, size, "%PDF-", 5) or _starts(data, size, "GIF8", 4) or _starts(data, size, "RIFF", 4)
        or _starts(data, size, "BZh", 3) or _starts(data, size, "fLaC", 4) or _starts(data, size, "wOF", 3)
        or _starts(data, size, "PAR1", 4) or _starts(data, size, "MZ", 2)
        or _starts(data, size, "\xef\xbb\xbf", 3) or _starts(data, size, "\xff\xfe", 2)
        or _starts(data, size, "\xfe\xff", 2)
    ):
        return False
    if size >= 8 and memcmp(data + 4, "ftyp", 4) == 0:
        return False
    return True


cdef int _cmp_int64(const void *a, const void *b) noexcept nogil:
    cdef int64_t x = (<const int64_t *>a)[0], y = (<const int64_t *>b)[0]
    return (x > y) - (x < y)


cdef bint _mostly_even(const int64_t *spans, Py_ssize_t n, int64_t near, int64_t *work) noexcept nogil:
    """``wrap._mostly_even`` of the lengths of ``n`` spans (``work``: room for ``n`` lengths)."""
    cdef Py_ssize_t j, hits = 0
    cdef int64_t top
    if n < 3:
        return False
    for j in range(n):
        work[j] = spans[2 * j + 1] - spans[2 * j]
    qsort(work, n, sizeof(int64_t), _cmp_int64)
    top = work[<Py_ssize_t>(0.98 * (n - 1))]
    for j in range(n):
        if top - near <= work[j] <= top:
            hits += 1
    return hits >= 2 and hits >= n / 3.0


cdef Py_ssize_t _read_whole(const char *path, Py_ssize_t most, char **out) noexcept nogil:
    """The bytes of the regular file ``path`` (not a symlink) into a new buffer ``*out``, with ``files._FLAGS``
    and ``O_NOFOLLOW``; -1 (and no buffer) for anything else: not openable, not a regular file, over ``most``
    bytes, a read error, or a size that changed while it was read (the Python path then reads it and says why)."""
    cdef int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW)
    cdef stat st
    cdef Py_ssize_t size, got = 0
    cdef ssize_t r
    cdef char *buf
    out[0] = NULL
    if fd < 0:
        return -1
    if fstat(fd, &st) != 0 or not S_ISREG(st.st_mode) or st.st_size > most:
        close(fd)
        return -1
    size = st.st_size
    buf = <char *>malloc(size + 1)
    if buf == NULL:
        close(fd)
        return -1
    while got <= size:
        r = read(fd, buf + got, size + 1 - got)
        if r <= 0:
            break
        got += r
    close(fd)
    if r < 0 or got != size:
        free(buf)
        return -1
    out[0] = buf
    return size


def read_plain(list paths, Py_ssize_t most):
    """The common case of ``ingest.files.read_bytes``, ``sniff.binary_reason`` and ``encoding.decode`` for a batch
    of files (``bytes`` paths), in one call: each file opened and read whole without the GIL, its bytes sniffed
    (``_plain_bytes``) and decoded as UTF-8. Returns each file's ``str``, or None where the Python path must
    read it: not a plain UTF-8 regular file of at most ``most`` bytes, or any error (it then says which)."""
    cdef Py_ssize_t n = len(paths), i
    cdef char **bufs = <char **>malloc((n + 1) * sizeof(char *))
    cdef Py_ssize_t *sizes = <Py_ssize_t *>malloc((n + 1) * sizeof(Py_ssize_t))
    cdef const char **names = <const char **>malloc((n + 1) * sizeof(char *))
    cdef list texts = [None] * n
    if bufs == NULL or sizes == NULL or names == NULL:
        free(bufs)
        free(sizes)
        free(names)
        raise MemoryError()
    for i in range(n):
        bufs[i] = NULL
    try:
        for i in range(n):
            names[i] = <const char *>(<bytes>paths[i])
        with nogil:
            for i in range(n):
                sizes[i] = _read_whole(names[i], most, &bufs[i])
                if bufs[i] != NULL and not _plain_bytes(bufs[i], sizes[i]):
                    free(bufs[i])
                    bufs[i] = NULL
        for i in range(n):
            if bufs[i] == NULL:
                continue
            try:
                texts[i] = bufs[i][: sizes[i]].decode("utf-8")
            except UnicodeDecodeError:
                pass
            free(bufs[i])
            bufs[i] = NULL
        return texts
    finally:
        for i in range(n):
            if bufs[i] != NULL:
                free(bufs[i])
        free(bufs)
        free(sizes)
        free(names)


def paragraph_spans(list texts, const int64_t[::1] starts, Py_ssize_t sample_chars, int64_t near):
    """``split_paragraphs(text, start)`` of each of ``texts`` at most ``sample_chars`` characters long after its
    start, with ``wrap._mostly_even`` tested on its lines (``wrap.text_paragraphs``' first test), in one call.

    Returns (spans, counts, even): ``spans`` an (m, 2) int64 array of every text's line spans in order,
    ``counts[i]`` how many are text ``i``'s; ``even[i]`` 1 when text ``i``'s lines may be hard-wrapped, or it
    is longer than ``sample_chars`` (its spans are then not given): ``text_paragraphs`` must decide those."""
    cdef Py_ssize_t n = len(texts), i, size, start, k, m, cap_spans = 0, used = 0
    cdef int64_t *spans = NULL
    cdef int64_t *work = NULL
    cdef int64_t *grown
    cdef int kind
    cdef void *data
    cdef int64_t[:, ::1] c_out
    counts = np.zeros(n, dtype=np.int64)
    even = np.zeros(n, dtype=np.uint8)
    cdef int64_t[::1] c_counts = counts
    cdef uint8_t[::1] c_even = even
    try:
        for i in range(n):
            text = texts[i]
            size = PyUnicode_GET_LENGTH(<str>text)
            start = min(max(starts[i], 0), size)
            if size - start > sample_chars:
                c_even[i] = 1
                continue
            if used + size - start + 2 > cap_spans:  # a line takes two characters at least
                cap_spans = max(2 * cap_spans, used + size - start + 2, 1 << 16)
                grown = <int64_t *>realloc(spans, cap_spans * sizeof(int64_t))
                if grown == NULL:
                    raise MemoryError()
                spans = grown
                grown = <int64_t *>realloc(work, (cap_spans // 2 + 1) * sizeof(int64_t))
                if grown == NULL:
                    raise MemoryError()
                work = grown
            kind = PyUnicode_KIND(<str>text)
            data = PyUnicode_DATA(<str>text)
            with nogil:
                if kind == 1:
                    m = _lines(<const uint8_t *>data, start, size, spans + used)
                elif kind == 2:
                    m = _lines(<const uint16_t *>data, start, size, spans + used)
                else:
                    m = _lines(<const uint32_t *>data, start, size, spans + used)
                if _mostly_even(spans + used, m, near, work):
                    c_even[i] = 1
            c_counts[i] = m
            used += 2 * m
        out = np.empty((used // 2, 2), dtype=np.int64)
        c_out = out
        with nogil:
            for k in range(used // 2):
                c_out[k, 0] = spans[2 * k]
                c_out[k, 1] = spans[2 * k + 1]
        return out, counts, even
    finally:
        free(spans)
        free(work)


# ------------------------------------------------------------------------------------------------------------------
# New vocabulary words hashed in C: xxHash's own XXH3 (the header the ``xxhash`` package is built from, vendored in
# ``xxhash/``, BSD 2-clause), so every hash is ``xxhash.xxh3_64_intdigest``'s.

cdef extern from *:
    """
    #define XXH_INLINE_ALL
    #include "xxhash/xxhash.h"
    """
    uint64_t XXH3_64bits(const void *data, size_t length) nogil


cdef extern from "<string.h>" nogil:
    const void *memchr(const void *s, int c, size_t n)


def nul_split_hashes(const uint8_t[::1] joined, uint64_t[::1] out):
    """``xxh3_64_intdigest`` of each NUL-separated piece of ``joined`` into ``out`` (``normalise._token_hashes``:
    a batch's new words, normalised and encoded as one); returns how many pieces there were (``len(out)`` is
    filled only when it is that many)."""
    cdef Py_ssize_t size = joined.shape[0], n = out.shape[0], at = 0, k = 0
    cdef const uint8_t *data = &joined[0] if size else NULL
    cdef const uint8_t *stop
    with nogil:
        while True:
            stop = <const uint8_t *>memchr(data + at, 0, size - at) if size > at else NULL
            if k < n:
                out[k] = XXH3_64bits(data + at if size else NULL, (stop - data if stop != NULL else size) - at)
            k += 1
            if stop == NULL:
                break
            at = stop - data + 1
    return k


# ------------------------------------------------------------------------------------------------------------------
# The postings' sort (``features.sorted_keys``): radix sorts of 64-bit keys.

cdef enum:
    RADIX = 256  # 8-bit digits
    DIGITS = 8


cdef uint64_t *_lsd(uint64_t *src, uint64_t *dst, Py_ssize_t n, int digits, int64_t *counts) noexcept nogil:
    """Least-significant-digit radix sort of ``src[:n]`` by its low ``digits`` bytes, ``dst`` the other buffer
    (``counts``: room for ``digits * RADIX``); returns the buffer that holds the sorted keys. All the counts are
    taken in one read; a byte every key shares is skipped."""
    cdef Py_ssize_t i
    cdef int d, shift
    cdef uint64_t v
    cdef uint64_t *tmp
    cdef int64_t total, c
    memset(counts, 0, digits * RADIX * sizeof(int64_t))
    for i in range(n):
        v = src[i]
        for d in range(digits):
            counts[d * RADIX + ((v >> (8 * d)) & 255)] += 1
    for d in range(digits):
        shift = 8 * d
        if counts[d * RADIX + ((src[0] >> shift) & 255)] == n:
            continue  # every key has this byte: the order stands
        total = 0
        for i in range(RADIX):  # counts -> each byte's first place
            c = counts[d * RADIX + i]
            counts[d * RADIX + i] = total
            total += c
        for i in range(n):
            v = src[i]
            c = counts[d * RADIX + ((v >> shift) & 255)]
            dst[c] = v
            counts[d * RADIX + ((v >> shift) & 255)] = c + 1
        tmp = src
        src = dst
        dst = tmp
    return src


def radix_sort(uint64_t[::1] keys):
    """Sort ``keys`` in place (``np.sort``'s result: the values alone say the order). A short array: a
    least-significant-digit sort of its eight bytes. A long one: first scattered by its top byte into 256
    buckets (one pass over memory), then each bucket, small enough for the cache, sorted by its other seven
    bytes; two passes over the whole array where eight were, the rest in cache."""
    cdef Py_ssize_t n = keys.shape[0], i, lo, hi
    cdef uint64_t *spare
    cdef uint64_t *out
    cdef uint64_t v
    cdef int64_t *counts
    cdef int64_t starts[RADIX + 1]
    cdef int64_t total, c
    if n < 2:
        return
    spare = <uint64_t *>malloc(n * sizeof(uint64_t))
    counts = <int64_t *>malloc(DIGITS * RADIX * sizeof(int64_t))
    if spare == NULL or counts == NULL:
        free(spare)
        free(counts)
        raise MemoryError()
    with nogil:
        if n < (1 << 14):
            out = _lsd(&keys[0], spare, n, DIGITS, counts)
            if out != &keys[0]:
                memcpy(&keys[0], out, n * sizeof(uint64_t))
        else:
            memset(counts, 0, RADIX * sizeof(int64_t))
            for i in range(n):
                counts[keys[i] >> 56] += 1
            total = 0
            for i in range(RADIX):
                starts[i] = total
                total += counts[i]
            starts[RADIX] = total
            for i in range(RADIX):
                counts[i] = starts[i]
            for i in range(n):
                v = keys[i]
                c = counts[v >> 56]
                spare[c] = v
                counts[v >> 56] = c + 1
            for i in range(RADIX):
                lo = starts[i]
                hi = starts[i + 1]
                if hi - lo < 2:
                    if hi > lo:
                        keys[lo] = spare[lo]
                    continue
                out = _lsd(spare + lo, &keys[0] + lo, hi - lo, DIGITS - 1, counts)
                if out != &keys[0] + lo:
                    memcpy(&keys[0] + lo, out, (hi - lo) * sizeof(uint64_t))
    free(spare)
    free(counts)
