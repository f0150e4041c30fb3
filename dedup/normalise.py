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

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import xxhash

from .hashing import GOLDEN, mix64

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
    if ch in "'\u2019\u02bc":
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


def _surface_keys(fold: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """A 64-bit key per token from its folded characters, to find the distinct tokens."""
    lengths = ends - starts
    order = np.argsort(-lengths, kind="stable")
    sorted_len = lengths[order]
    keys = np.zeros(len(starts), dtype=np.uint64)
    fast_len = int(min(sorted_len[0], _MAX_FAST_TOKEN)) if len(order) else 0
    active = len(order)
    with np.errstate(over="ignore"):
        for j in range(fast_len):
            # tokens longer than j form a prefix of ``order`` (sorted by length, descending)
            while active and sorted_len[active - 1] <= j:
                active -= 1
            idx = order[:active]
            keys[idx] = keys[idx] * GOLDEN + fold[starts[idx] + j].astype(np.uint64) + np.uint64(1)
        keys = mix64(keys ^ lengths.astype(np.uint64))
    return keys


def tokenise(texts: Sequence[str], batch_chars: int = 1 << 23) -> Tokens:
    """Tokenise texts, batching so memory stays bounded whatever the corpus size."""
    parts, counts = [], []
    batch, size = [], 0
    for text in texts:
        batch.append(text)
        size += len(text) + 1
        if size >= batch_chars:
            parts.append(_tokenise_batch(batch))
            batch, size = [], 0
    if batch or not parts:
        parts.append(_tokenise_batch(batch))
    for p in parts:
        counts.append(np.diff(p.offsets))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.concatenate(counts), out=offsets[1:])
    return Tokens(
        offsets=offsets,
        starts=np.concatenate([p.starts for p in parts]),
        ends=np.concatenate([p.ends for p in parts]),
        hashes=np.concatenate([p.hashes for p in parts]),
    )


def _tokenise_batch(texts: Sequence[str]) -> Tokens:
    n = len(texts)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Tokens(np.zeros(1, dtype=np.int64), empty, empty, np.zeros(0, dtype=np.uint64))
    big = "\n".join(texts)  # "\n" is a separator, so no token crosses two documents
    cp = np.frombuffer(big.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    doc_starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum([len(t) + 1 for t in texts], out=doc_starts[1:])
    cls, fold = _classify(cp)
    starts, ends = _spans(cls)
    keys = _surface_keys(fold, starts, ends)
    long_tokens = np.flatnonzero(ends - starts > _MAX_FAST_TOKEN)
    # The vocabulary: each distinct token is normalised and hashed once.
    vocab, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    vocab_hash = np.fromiter(
        (token_hash(big[s:e]) for s, e in zip(starts[first].tolist(), ends[first].tolist())),
        dtype=np.uint64,
        count=len(vocab),
    )
    hashes = vocab_hash[inverse]
    if long_tokens.size:
        hashes[long_tokens] = [token_hash(big[starts[i] : ends[i]]) for i in long_tokens.tolist()]
    doc_of = np.searchsorted(doc_starts, starts, side="right") - 1
    offsets = np.searchsorted(doc_of, np.arange(n + 1), side="left").astype(np.int64)
    base = doc_starts[doc_of]
    return Tokens(offsets=offsets, starts=starts - base, ends=ends - base, hashes=hashes)
