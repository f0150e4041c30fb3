"""The compact stored form of a shard's word tokens: about 4 bytes a token instead of 16.

Phase 2 builds shingles, passages and labels from each article's tokens (a 64-bit hash and a character
span each). Stored as they are computed (8 + 2 * 4 bytes) they made a store nearly twice as large; here
each token is one uint32:

- the high 24 bits: the token's hash as an index into the shard's vocabulary (its distinct hashes,
  sorted; a shard of one batch holds far fewer than 2**24 distinct words, and a shard that would not is
  stored without tokens, which phase 2 then reads from the text);
- the low 8 bits: the gap from the previous token's end (or the text's start) and the token's length,
  4 bits each, when both are at most 14; else 0xFF, and the token's span is the next row of the
  shard's ``wide`` spans (uint32 start, end): a long word, a long run of punctuation or space.

Decoding is exact: ``decode(encode(...))`` gives back the same hashes, starts and ends (a test holds it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hashing import KeyTable, distinct
from ..kernels import native

WIDE = 0xFF  # the low byte of a token whose span is in the wide table
MAX_SMALL = 14  # the largest gap or length a token's low byte holds
MAX_VOCAB = 1 << 24  # distinct hashes a shard's vocabulary may hold


@dataclass
class Encoded:
    """A shard's tokens in the compact form: ``index`` (n + 1, 2) int64, article i's tokens at rows
    index[i, 0]:index[i + 1, 0] of ``words`` and its wide spans at rows index[i, 1]:index[i + 1, 1] of
    ``wide``; ``words`` uint32 (t,); ``vocab`` uint64 (v,) sorted distinct; ``wide`` uint32 (w, 2)."""

    index: np.ndarray
    words: np.ndarray
    vocab: np.ndarray
    wide: np.ndarray


def encode(
    offsets: np.ndarray,
    hashes: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    words: np.ndarray | None = None,
) -> Encoded | None:
    """The compact form of the tokens of n articles (``offsets``: CSR, n + 1), or None when the shard's
    vocabulary is over ``MAX_VOCAB`` or a span is beyond uint32 (then no tokens are stored). ``words``: each
    token's number in the tokeniser's vocabulary (``Tokens.words``), when known: the vocabulary and each
    token's place in it then come from the few distinct numbers, not from every token's hash."""
    offsets = np.asarray(offsets, dtype=np.int64)
    hashes = np.asarray(hashes, dtype=np.uint64)
    kernel = native("read")
    if kernel is not None and isinstance(starts, np.ndarray) and starts.dtype == ends.dtype == np.uint32:
        return _packed(kernel, offsets, hashes, starts, ends, words)  # a spans array's columns, as they are
    starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    if words is not None and len(words) == len(hashes) and len(words):
        vocab, ids = _numbered(np.asarray(words, dtype=np.int64), hashes)
    else:
        vocab = distinct(hashes)  # np.unique's sort of every token was 4-6 % of a scan
        ids = None
    if len(vocab) > MAX_VOCAB or (len(ends) and (int(ends.max()) >= 1 << 32 or int(starts.min()) < 0)):
        return None
    if ids is None:
        # Each token's place in the sorted vocabulary by a hash table: a binary search of every token was ~7
        # times slower (a tenth of phase 1's CPU), return_inverse's argsort slower still.
        ids = KeyTable(vocab).find(hashes)
    prev_end = np.zeros(len(ends), dtype=np.int64)
    prev_end[1:] = ends[:-1]
    firsts = offsets[:-1][np.diff(offsets) > 0]
    prev_end[firsts] = 0
    gap, length = starts - prev_end, ends - starts
    small = (gap >= 0) & (gap <= MAX_SMALL) & (length >= 0) & (length <= MAX_SMALL)
    low = np.where(small, (gap << 4) | length, WIDE).astype(np.uint32)
    words = (ids.astype(np.uint32) << np.uint32(8)) | low
    wide_rows = np.flatnonzero(~small)
    wide = np.stack([starts[wide_rows], ends[wide_rows]], axis=1).astype(np.uint32)
    index = np.zeros((len(offsets), 2), dtype=np.int64)
    index[:, 0] = offsets
    index[:, 1] = np.searchsorted(wide_rows, offsets)
    return Encoded(index, words, vocab, wide)


def _packed(
    kernel, offsets: np.ndarray, hashes: np.ndarray, starts: np.ndarray, ends: np.ndarray, words: np.ndarray | None
) -> Encoded | None:
    """``encode`` of uint32 spans by the compiled kernel (``_read.pack_tokens``): the same arrays, the words
    packed in one pass without the int64 copies and temporaries of every token."""
    if words is not None and len(words) == len(hashes) and len(words):
        vocab, ids = _numbered(np.asarray(words, dtype=np.int64), hashes)
    else:
        vocab = distinct(hashes)
        ids = None
    if len(vocab) > MAX_VOCAB:
        return None
    if ids is None:
        ids = KeyTable(vocab).find(hashes)
    packed = np.empty(len(hashes), dtype=np.uint32)
    small = np.empty(len(hashes), dtype=np.uint8)
    kernel.pack_tokens(offsets, starts, ends, np.ascontiguousarray(ids, dtype=np.int64), MAX_SMALL, WIDE, packed, small)
    wide_rows = np.flatnonzero(small == 0)
    wide = np.stack([starts[wide_rows], ends[wide_rows]], axis=1).astype(np.uint32)
    index = np.zeros((len(offsets), 2), dtype=np.int64)
    index[:, 0] = offsets
    index[:, 1] = np.searchsorted(wide_rows, offsets)
    return Encoded(index, packed, vocab, wide)


def _numbered(words: np.ndarray, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct ``hashes`` and each token's place among them, from the tokens' vocabulary numbers
    (``words``; equal numbers have equal hashes): one hash per number, then only the numbers used are
    sorted (a batch's ~30k of its ~1.3 M tokens)."""
    size = int(words.max()) + 1
    by_number = np.zeros(size, dtype=np.uint64)
    by_number[words] = hashes
    used = np.zeros(size, dtype=bool)
    used[words] = True
    numbers = np.flatnonzero(used)
    vocab, place = np.unique(by_number[numbers], return_inverse=True)  # numbers can share a hash (OCR fold)
    rank = np.zeros(size, dtype=np.int64)
    rank[numbers] = place
    return vocab, rank[words]


class Corrupt(Exception):
    """The stored words do not decode (an index outside the vocabulary, wide spans that do not match)."""


def compiled(vocab: np.ndarray, counts: np.ndarray, n_words: int) -> bool:
    """Whether ``_align.decode_tokens`` decodes these words: built, and the counts cover the words exactly."""
    return native("align") is not None and vocab.dtype == np.uint64 and int(counts.sum()) == n_words


def kernel_args(
    words: np.ndarray, counts: np.ndarray, vocab: np.ndarray, wide: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``decode``'s arrays as ``_align.decode_tokens`` takes them (contiguous; the wide spans as int64 rows)."""
    return (
        np.ascontiguousarray(words, dtype=np.uint32),
        np.ascontiguousarray(counts, dtype=np.int64),
        np.ascontiguousarray(vocab),
        np.ascontiguousarray(np.asarray(wide, dtype=np.int64).reshape(-1, 2)),
    )


def decode(
    words: np.ndarray, counts: np.ndarray, vocab: np.ndarray, wide: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hashes, starts, ends) of consecutive articles' tokens: ``words`` their rows, ``counts`` each one's
    number of tokens, ``wide`` their wide spans (in order). Raises ``Corrupt`` when they do not fit."""
    words = np.asarray(words, dtype=np.uint32)
    counts = np.asarray(counts, dtype=np.int64)
    if compiled(vocab, counts, len(words)):  # the same arrays in one pass (``_align.decode_tokens``)
        none = np.zeros(0, dtype=np.int64)
        status, _, hashes, starts, ends = native("align").decode_tokens(
            *kernel_args(words, counts, vocab, wide), none, none
        )
        if status == 1:
            raise Corrupt("token words name a word outside the shard's vocabulary")
        if status == 2:
            raise Corrupt("token words and wide spans do not match")
        return hashes, starts, ends
    ids = words >> np.uint32(8)
    if len(ids) and int(ids.max()) >= len(vocab):
        raise Corrupt("token words name a word outside the shard's vocabulary")
    low = words & np.uint32(0xFF)
    at = np.flatnonzero(low == WIDE)
    if len(at) != len(wide):
        raise Corrupt("token words and wide spans do not match")
    length = (low & np.uint32(15)).astype(np.int64)
    inc = (low >> np.uint32(4)).astype(np.int64)
    inc += length
    length[at] = 0
    inc[at] = 0
    ends = np.cumsum(inc)
    # Each token's end counts from its anchor: the last wide token at or before it (whose end is stored), or
    # the start of its article (end 0 before its first token). The anchor's offset at every token is the
    # running sum of a jump at each anchor (no gathers by anchor).
    counts = np.asarray(counts, dtype=np.int64)
    firsts = (np.cumsum(counts) - counts)[counts > 0]
    offset = np.zeros(len(words), dtype=np.int64)
    anchor = np.zeros(len(words), dtype=bool)
    offset[firsts] = inc[firsts] - ends[firsts]
    anchor[firsts] = True
    wide64 = np.asarray(wide, dtype=np.int64).reshape(-1, 2)
    offset[at] = wide64[:, 1] - ends[at]  # a wide first token: its stored end
    anchor[at] = True
    anchors = np.flatnonzero(anchor)
    jump = np.zeros(len(words), dtype=np.int64)
    jump[anchors] = np.diff(offset[anchors], prepend=0)
    ends += np.cumsum(jump)
    starts = ends - length
    starts[at] = wide64[:, 0]
    return vocab[ids], starts, ends
