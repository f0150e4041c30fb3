"""Normalise and tokenise a batch of texts into word tokens with character offsets.

Two texts that differ only by Unicode compatibility forms, case, typographic
quotes, dashes or no-break spaces give the same token hashes. Offsets always
point into the text as read, never into a normalised copy.

The hot path is vectorised over the whole batch: the batch is one array of
code points, word boundaries come from table look-ups, and each distinct token
(the vocabulary) is normalised and hashed with xxhash once, however often it
occurs.
"""

from __future__ import annotations

import os
import threading
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl
import xxhash

from .hashing import mix64

SEP, WORD, SINGLE, APOS = 0, 1, 2, 3

_QUOTES = "\u2018\u2019\u201a\u201b\u2032\u2035\u02bc\uff07"
_DQUOTES = "\u201c\u201d\u201e\u201f\u2033\u2036\u00ab\u00bb\uff02"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63\uff0d"
_FOLD = str.maketrans({**dict.fromkeys(_QUOTES, "'"), **dict.fromkeys(_DQUOTES, '"'), **dict.fromkeys(_DASHES, "-")})
# Scripts written without spaces between words: each character is a token.
_SINGLE_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)
_MAX_FAST_TOKEN = 64  # longer tokens (rare: URLs, base64) are hashed one by one


def normalise_text(text: str) -> str:
    """NFKC, casefold, and fold typographic quotes, dashes and spaces to ASCII."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_FOLD)
    return "".join(" " if unicodedata.category(c) == "Zs" else c for c in text) if not text.isascii() else text


def _char_class(c: int) -> int:
    ch = chr(c)
    if normalise_text(ch) == "'":  # any form of apostrophe or single quote, the left quote included
        return APOS
    cat = unicodedata.category(ch)
    if cat[0] not in "LNM":
        return SEP
    return SINGLE if any(lo <= c <= hi for lo, hi in _SINGLE_RANGES) else WORD


def _char_fold(c: int) -> int:
    folded = normalise_text(chr(c))
    return ord(folded) if len(folded) == 1 else c


@lru_cache(maxsize=1)
def _bmp_tables() -> tuple[np.ndarray, np.ndarray]:
    """Class and 1:1 fold of every Basic Multilingual Plane code point."""
    cls = np.fromiter((_char_class(c) for c in range(0x10000)), dtype=np.uint8, count=0x10000)
    fold = np.fromiter((_char_fold(c) for c in range(0x10000)), dtype=np.uint32, count=0x10000)
    return cls, fold


def _classify(cp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cls_t, fold_t = _bmp_tables()
    bmp = np.minimum(cp, 0xFFFF)
    cls, fold = cls_t[bmp], fold_t[bmp]
    astral = np.flatnonzero(cp > 0xFFFF)
    if astral.size:  # rare: emoji, historic scripts, CJK extensions
        values, inverse = np.unique(cp[astral], return_inverse=True)
        cls[astral] = np.array([_char_class(int(c)) for c in values], dtype=np.uint8)[inverse]
        fold[astral] = np.array([_char_fold(int(c)) for c in values], dtype=np.uint32)[inverse]
    return cls, fold


@dataclass
class Tokens:
    """Word tokens of a batch in CSR layout: ``offsets[i]:offsets[i+1]`` are document i's.

    ``starts``/``ends`` are code-point offsets into each document's own text;
    ``hashes`` are xxh3-64 hashes of the normalised token text.
    """

    offsets: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    hashes: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def doc(self, i: int) -> slice:
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))


def token_hash(token: str) -> int:
    """The stable 64-bit hash of one token (xxh3-64 of its normalised UTF-8 form)."""
    return xxhash.xxh3_64_intdigest(normalise_text(token).encode("utf-8", "surrogatepass"))


def _spans(cls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end positions of tokens given the character classes of the batch."""
    word = (cls == WORD) | (cls == SINGLE)
    # An apostrophe between two word characters joins them: "don't", "Durov's".
    apos = np.flatnonzero(cls[1:-1] == APOS) + 1
    if apos.size:
        joins = apos[(cls[apos - 1] == WORD) & (cls[apos + 1] == WORD)]
        word[joins] = True
    single = cls == SINGLE
    prev_word = np.concatenate(([False], word[:-1]))
    next_word = np.concatenate((word[1:], [False]))
    prev_single = np.concatenate(([False], single[:-1]))
    next_single = np.concatenate((single[1:], [False]))
    starts = np.flatnonzero(word & (~prev_word | single | prev_single))
    ends = np.flatnonzero(word & (~next_word | single | next_single)) + 1
    return starts, ends


_POLY = 0x9E3779B97F4A7C15  # odd, so invertible modulo 2**64
_POLY_INV = pow(_POLY, -1, 1 << 64)
_powers_lock = threading.Lock()
_powers: tuple[np.ndarray, np.ndarray] = (np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64))


def _poly_powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``B**t`` and ``B**-t`` modulo 2**64 for t < n (cached, grown on demand)."""
    global _powers
    with _powers_lock:
        pw, inv = _powers
        if len(pw) < n:
            size = max(n, 2 * len(pw), 1 << 16)
            with np.errstate(over="ignore"):
                pw = np.full(size, _POLY, dtype=np.uint64)
                pw[0] = 1
                pw = np.cumprod(pw, dtype=np.uint64)
                inv = np.full(size, _POLY_INV, dtype=np.uint64)
                inv[0] = 1
                inv = np.cumprod(inv, dtype=np.uint64)
            _powers = (pw, inv)
        return pw, inv


def _surface_keys(fold: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """A 64-bit key per token from its folded characters, to find the distinct tokens.

    A polynomial hash of the folded code points modulo 2**64, taken from prefix sums
    over the whole batch (so no loop over token positions), then mixed with the length.
    """
    n = len(fold)
    pw, inv = _poly_powers(n + 1)
    prefix = np.zeros(n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        weighted = fold.astype(np.uint64)
        weighted *= pw[:n]
        np.cumsum(weighted, out=prefix[1:])
        del weighted
        keys = prefix[ends]
        keys -= prefix[starts]
        keys *= inv[starts]
    return mix64(keys ^ (ends - starts).astype(np.uint64))


class _Vocabulary:
    """Token hashes of the distinct tokens seen so far, by surface key (sorted arrays)."""

    def __init__(self) -> None:
        self.keys = np.zeros(0, dtype=np.uint64)
        self.hashes = np.zeros(0, dtype=np.uint64)
        self.lock = threading.Lock()

    def lookup(self, keys: np.ndarray, text_of) -> np.ndarray:
        """Hashes of ``keys``; ``text_of(indices)`` gives the texts of the keys not seen before."""
        with self.lock:
            pos = np.searchsorted(self.keys, keys)
            found = pos < len(self.keys)
            found[found] = self.keys[pos[found]] == keys[found]
            out = np.empty(len(keys), dtype=np.uint64)
            out[found] = self.hashes[pos[found]]
            new = np.flatnonzero(~found)
            if new.size:
                fresh = np.fromiter((token_hash(t) for t in text_of(new)), dtype=np.uint64, count=new.size)
                out[new] = fresh
                order = np.argsort(keys[new])
                at = np.searchsorted(self.keys, keys[new][order])
                self.keys = np.insert(self.keys, at, keys[new][order])
                self.hashes = np.insert(self.hashes, at, fresh[order])
            return out


def tokenise(texts: Sequence[str], batch_chars: int = 1 << 23, threads: int | None = None) -> Tokens:
    """Tokenise texts, batching so memory stays bounded whatever the corpus size.

    Batches run on a small thread pool (numpy releases the GIL); each distinct token
    is normalised and hashed once for the whole call, however many batches it is in.
    """
    batches: list[Sequence[str]] = []
    lo, size = 0, 0
    for i, text in enumerate(texts):
        size += len(text) + 1
        if size >= batch_chars:
            batches.append(texts[lo : i + 1])
            lo, size = i + 1, 0
    if lo < len(texts) or not batches:
        batches.append(texts[lo:])
    vocab = _Vocabulary()
    workers = min(threads or _default_threads(), len(batches))
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(lambda b: _tokenise_batch(b, vocab), batches))
    else:
        parts = [_tokenise_batch(b, vocab) for b in batches]
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.concatenate([np.diff(p.offsets) for p in parts]), out=offsets[1:])
    return Tokens(
        offsets=offsets,
        starts=np.concatenate([p.starts for p in parts]),
        ends=np.concatenate([p.ends for p in parts]),
        hashes=np.concatenate([p.hashes for p in parts]),
    )


def _default_threads() -> int:
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def _factorise(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First-occurrence index of each distinct key and each key's distinct-key number."""
    s = pl.Series(keys, dtype=pl.UInt64)
    first = s.arg_unique().to_numpy()
    inverse = s.replace_strict(
        pl.Series(keys[first], dtype=pl.UInt64), pl.Series(np.arange(len(first))), return_dtype=pl.Int64
    ).to_numpy()
    return first, inverse


def _tokenise_batch(texts: Sequence[str], vocab: _Vocabulary | None = None) -> Tokens:
    n = len(texts)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Tokens(np.zeros(1, dtype=np.int64), empty, empty, np.zeros(0, dtype=np.uint64))
    vocab = vocab or _Vocabulary()
    big = "\n".join(texts)  # "\n" is a separator, so no token crosses two documents
    cp = np.frombuffer(big.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    doc_starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum([len(t) + 1 for t in texts], out=doc_starts[1:])
    cls, fold = _classify(cp)
    del cp
    starts, ends = _spans(cls)
    del cls
    keys = _surface_keys(fold, starts, ends)
    del fold
    long_tokens = np.flatnonzero(ends - starts > _MAX_FAST_TOKEN)
    # The vocabulary: each distinct token is normalised and hashed once.
    first, inverse = _factorise(keys)
    s_first, e_first = starts[first], ends[first]
    vocab_hash = vocab.lookup(
        keys[first], lambda idx: [big[s:e] for s, e in zip(s_first[idx].tolist(), e_first[idx].tolist())]
    )
    hashes = vocab_hash[inverse]
    if long_tokens.size:
        hashes[long_tokens] = [token_hash(big[starts[i] : ends[i]]) for i in long_tokens.tolist()]
    doc_of = np.searchsorted(doc_starts, starts, side="right") - 1
    offsets = np.searchsorted(doc_of, np.arange(n + 1), side="left").astype(np.int64)
    base = doc_starts[doc_of]
    return Tokens(offsets=offsets, starts=starts - base, ends=ends - base, hashes=hashes)
