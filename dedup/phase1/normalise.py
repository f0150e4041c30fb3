"""Normalise and tokenise a batch of texts into word tokens with character offsets.

Two texts that differ only by Unicode compatibility forms, case, typographic
quotes, dashes, no-break spaces or letters OCR reads for one another
(``tolerant.ocr_fold``: a scanned copy keeps most of its words) give the same
token hashes. Each token also has an exact hash, of its normalised form without
the OCR fold: equal exact hashes mean the same words literally ("man" and "men"
differ), and the content hash (``features.content_hashes``, the ``exact``
relation) is taken over them. Offsets always
point into the text as read, never into a normalised copy.

The hot path is vectorised over the whole batch: the batch is one array of
UTF-16 code units (half the memory traffic of code points; astral characters,
rare, are mapped back to code-point offsets), one look-up in a packed table gives
each character's class and fold, word boundaries come from one comparison, and
each distinct token (the vocabulary, a hash table) is normalised and hashed with
xxhash once, however often it occurs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import numpy as np
import xxhash

from ..excerpt import ALL_MARKS, word_marks
from ..hashing import mix64_inplace
from ..kernels import compiled, native, writable_cache
from ..kernels import forced as kernels_forced
from ..kernels import load as load_kernels
from .tolerant import ocr_fold

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


# Space separators (category Zs; all in the BMP) become a plain space.
_FOLD_SPACES = {**_FOLD, **{c: " " for c in range(0x10000) if unicodedata.category(chr(c)) == "Zs"}}


def normalise_text(text: str) -> str:
    """NFKC, casefold, and fold typographic quotes, dashes and spaces to ASCII."""
    if text.isascii():  # NFKC and the folds leave ASCII alone; casefold is lower
        return text.lower()
    return unicodedata.normalize("NFKC", text).casefold().translate(_FOLD_SPACES)


def _token_hashes(tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``token_hash`` and ``exact_token_hash`` of each token, normalising them all in one call.

    NUL is never part of a token and is a boundary that NFKC, casefolding and the folds
    neither cross nor produce, so normalising the NUL-joined tokens and splitting gives
    each token's own normal form.
    """
    normal = normalise_text("\0".join(tokens))
    folded_joined = ocr_fold(normal).encode("utf-8", "surrogatepass")
    exact_joined = normal.encode("utf-8", "surrogatepass")
    n = len(tokens)
    # Encoded once and split as bytes (a NUL byte is only ever a NUL): no encode call per token.
    kernel = native("read")
    if kernel is not None:  # each piece of the joined bytes hashed in C, no bytes object per token
        hashes = np.empty(n, dtype=np.uint64), np.empty(n, dtype=np.uint64)
        if all(
            kernel.nul_split_hashes(np.frombuffer(joined, dtype=np.uint8), out) == n
            for joined, out in zip((folded_joined, exact_joined), hashes, strict=True)
        ):
            return hashes
    folded = folded_joined.split(b"\0")
    exact = exact_joined.split(b"\0")
    if len(exact) != n or len(folded) != n:  # cannot happen; be safe
        exact = [normalise_text(t).encode("utf-8", "surrogatepass") for t in tokens]
        folded = [ocr_fold(normalise_text(t)).encode("utf-8", "surrogatepass") for t in tokens]
    digest = xxhash.xxh3_64_intdigest
    return (
        np.fromiter(map(digest, folded), dtype=np.uint64, count=n),
        np.fromiter(map(digest, exact), dtype=np.uint64, count=n),
    )


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
def _bmp_table() -> np.ndarray:
    """Class and 1:1 fold of every Basic Multilingual Plane code point, one uint32 each (see ``_pack``).

    Building it takes a quarter of a second (65,536 characters through ``unicodedata``), paid by every process
    that tokenises: it is kept in dedup's cache folder under a name that changes with this module's code and
    the Unicode version, so any change to the rules builds it afresh."""
    path = _table_path()
    if path is not None:
        try:
            table = np.load(path, allow_pickle=False)
            if table.dtype == np.uint32 and table.shape == (0x10000,):
                return table
        except (OSError, ValueError, EOFError):
            pass
    table = _build_bmp_table()
    if path is not None:
        try:
            with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".table-", suffix=".npy", delete=False) as f:
                np.save(f, table, allow_pickle=False)
            os.replace(f.name, path)
        except OSError:
            with contextlib.suppress(OSError, NameError):
                os.unlink(f.name)
    return table


def _table_path() -> Path | None:
    """Where the cached character table is (see ``_bmp_table``), or None when there is no cache folder."""
    try:
        code = Path(__file__).read_bytes()
    except OSError:
        return None
    folder = writable_cache("tables")
    if folder is None:
        return None
    key = hashlib.sha256(code + f"|{unicodedata.unidata_version}|{sys.version_info[:2]}".encode()).hexdigest()
    return folder / f"chars-{key[:24]}.npy"


def _build_bmp_table() -> np.ndarray:
    cls = np.fromiter((_char_class(c) for c in range(0x10000)), dtype=np.uint32, count=0x10000)
    fold = np.fromiter((_char_fold(c) for c in range(0x10000)), dtype=np.uint32, count=0x10000)
    return _pack(cls, fold)


# A packed character, uint32: the fold (a code point, < 2**21) in the low bits, the class at bit 24,
# and two flags so that one comparison finds them: bit 30, not SEP; bit 31, SINGLE or APOS (rare).
_CLASS_SHIFT = 24
_FOLD_MASK = (1 << 21) - 1
_NOT_SEP = 1 << 30
_SPECIAL = 1 << 31


def _pack(cls: np.ndarray, fold: np.ndarray) -> np.ndarray:
    cls = np.asarray(cls, dtype=np.uint32)
    flags = np.where(cls != SEP, _NOT_SEP, 0) | np.where(cls >= SINGLE, _SPECIAL, 0)
    return (cls << _CLASS_SHIFT) | np.asarray(fold, dtype=np.uint32) | flags.astype(np.uint32)


def _packed_wide(values: np.ndarray) -> np.ndarray:
    """Packed class and fold of astral code points."""
    distinct, inverse = np.unique(values, return_inverse=True)
    cls = [_char_class(int(c)) for c in distinct]
    fold = [_char_fold(int(c)) for c in distinct]
    return _pack(cls, fold)[inverse]


def _units(text: str) -> tuple[np.ndarray, _Astral | None]:
    """The text as an array with one element per position, and where its astral characters are.

    UTF-16 (half the memory traffic of UTF-32) when every surrogate pair in it is one astral
    character whose class is not APOS; positions are then UTF-16 units, an astral character
    taking two (see ``_Astral``). Otherwise UTF-32: one element per code point.
    """
    units = np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype="<u2")
    n_astral = len(units) - len(text)
    if n_astral == 0:
        return units, None
    high = np.flatnonzero((units[:-1] & 0xFC00) == 0xD800)
    high = high[(units[high + 1] & 0xFC00) == 0xDC00]  # a high surrogate followed by a low one
    if len(high) == n_astral:  # else a lone high and a lone low surrogate sit side by side in the text
        values = 0x10000 + ((units[high].astype(np.int64) - 0xD800) << 10) + (units[high + 1] - 0xDC00)
        astral = _Astral(high, values)
        if not (astral.cls == APOS).any():
            return units, astral
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4"), None


class _Astral:
    """Astral characters of a UTF-16 batch: ``high[j]`` is the unit position of character j's high
    surrogate, its low surrogate is at ``high[j] + 1``; code point ``values[j]``, class ``cls[j]``."""

    def __init__(self, high: np.ndarray, values: np.ndarray) -> None:
        self.high, self.values = high, values
        self.packed = _packed_wide(values)
        self.cls = ((self.packed >> _CLASS_SHIFT) & 3).astype(np.uint8)

    def code_point_positions(self, pos: np.ndarray) -> np.ndarray:
        """Code-point positions of sorted unit positions (each low surrogate before ``pos`` is one less)."""
        after = np.searchsorted(pos, self.high + 1, side="right")  # positions past each low surrogate
        return pos - np.repeat(np.arange(len(after) + 1), np.diff(after, prepend=0, append=len(pos)))


def _characters(cp: np.ndarray, astral: _Astral | None) -> np.ndarray:
    """Packed class and fold (uint32, see ``_pack``) of every position of ``cp`` (UTF-16 units or code points).

    At an astral character of a UTF-16 batch, the high surrogate holds the character's class and
    fold, the low one the same class if it is a word character (so the word runs on), else SEP.
    """
    table = _bmp_table()
    if cp.dtype == np.uint16:
        out = table[cp]
        if astral is not None:
            out[astral.high] = astral.packed
            out[astral.high + 1] = _pack(np.where(astral.cls == WORD, WORD, SEP), 0)
        return out
    out = table[np.minimum(cp, 0xFFFF)]
    wide = np.flatnonzero(cp > 0xFFFF)
    if wide.size:  # rare: emoji, historic scripts, CJK extensions
        out[wide] = _packed_wide(cp[wide])
    return out


@dataclass
class Tokens:
    """Word tokens of a batch in CSR layout: ``offsets[i]:offsets[i+1]`` are document i's.

    ``starts``/``ends`` are code-point offsets into each document's own text;
    ``hashes`` are xxh3-64 hashes of the normalised, OCR-folded token text (``token_hash``: what
    shingles, signatures and evidence are made of); ``exact`` the same without the OCR fold
    (``exact_token_hash``: what the content hash is made of), None for tokens read back from a store;
    ``words``: each token's number in the tokeniser's vocabulary (equal numbers, equal tokens: the store's
    token form is built from them without hashing every token again), None where some token has none;
    ``marks``: the excerpt phrases' words each token's word ends with, starts with or is (``excerpt``), so
    the excerpt test need not lower the text of an article whose tokens hold no phrase.
    """

    offsets: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    hashes: np.ndarray
    exact: np.ndarray | None = None
    words: np.ndarray | None = None
    marks: np.ndarray | None = None  # uint16 per token: its word's ``excerpt.word_marks``, None where unknown

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def doc(self, i: int) -> slice:
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))


def token_hash(token: str) -> int:
    """The stable 64-bit hash of one token (xxh3-64 of its normalised, OCR-folded UTF-8 form)."""
    return xxhash.xxh3_64_intdigest(ocr_fold(normalise_text(token)).encode("utf-8", "surrogatepass"))


def exact_token_hash(token: str) -> int:
    """The stable 64-bit hash of one token's normalised UTF-8 form, not OCR-folded ("man" and "men" differ)."""
    return xxhash.xxh3_64_intdigest(normalise_text(token).encode("utf-8", "surrogatepass"))


def _spans(chars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end positions of tokens given the packed characters of the batch.

    A token is a run of WORD characters (an apostrophe between two WORD characters
    joins them: "don't", "Durov's"), or one SINGLE character.
    """
    n = len(chars)
    joined = np.zeros(n + 2, dtype=bool)  # WORD or joining apostrophe, padded with False at both ends
    np.greater_equal(chars, np.uint32(_NOT_SEP), out=joined[1:-1])
    special = np.flatnonzero(chars >= np.uint32(_SPECIAL))  # SINGLE and APOS: rare
    single = special
    if special.size:
        joined[special + 1] = False  # now joined[i + 1] is: position i is WORD
        kind = (chars[special] >> _CLASS_SHIFT) & 3
        single = special[kind == SINGLE]
        apos = special[kind == APOS]
        apos = apos[(apos > 0) & (apos < n - 1)]
        if apos.size:
            apos = apos[joined[apos] & joined[apos + 2]]  # joined[i + 1] is position i
            joined[apos + 1] = True
    edges = np.flatnonzero(joined[1:] != joined[:-1])  # runs alternate: start, end, start, end, ...
    starts, ends = edges[0::2], edges[1::2]
    if single.size:  # each SINGLE character is a token of its own, between the runs
        at = np.searchsorted(starts, single)
        starts = np.insert(starts, at, single)
        ends = np.insert(ends, at, single + 1)
    return starts, ends


_POLY = 0x9E3779B97F4A7C15  # odd, so invertible modulo 2**64
_POLY_INV = pow(_POLY, -1, 1 << 64)
_powers_lock = threading.Lock()
_powers: tuple[np.ndarray, np.ndarray] = (np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64))


def _poly_powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``B**t`` and ``B**-t`` modulo 2**64 for t < n (cached, grown on demand).

    Grown by doubling (``x[m:2m] = x[:m] * x[m]``, exact in wrap-around uint64 arithmetic):
    a few vectorised multiplies instead of a sequential ``cumprod``. A batch may exceed
    ``batch_chars`` by its last document, so the table is grown with an eighth to spare.
    """
    global _powers
    with _powers_lock:
        pw, inv = _powers
        if len(pw) < n:
            size = max(n + n // 8, 1 << 16)
            pw, inv = _powers_of(_POLY, size), _powers_of(_POLY_INV, size)
            _powers = (pw, inv)
        return pw, inv


def _powers_of(base: int, size: int) -> np.ndarray:
    out = np.empty(size, dtype=np.uint64)
    out[0], m = 1, 1
    with np.errstate(over="ignore"):
        while m < size:
            step = min(m, size - m)
            np.multiply(out[:step], np.uint64(pow(base, m, 1 << 64)), out=out[m : m + step])
            m += step
    return out


def _surface_keys(
    chars: np.ndarray, starts: np.ndarray, ends: np.ndarray, lengths: np.ndarray, scratch: threading.local | None = None
) -> np.ndarray:
    """A 64-bit key per token from its folded characters, to find the distinct tokens.

    A polynomial hash of the folded code points modulo 2**64, taken from prefix sums
    over the whole batch (so no loop over token positions), then mixed with the length
    (in code points). The hash of ``starts:ends`` does not depend on where the token is.
    """
    n = len(chars)
    pw, inv = _poly_powers(n + 1)
    prefix = getattr(scratch, "prefix", None)
    if prefix is None or len(prefix) < n + 1:  # reused across a call's batches: no fresh pages each time
        prefix = np.empty(n + 1 + n // 8, dtype=np.uint64)
        if scratch is not None:
            scratch.prefix = prefix
    prefix = prefix[: n + 1]
    prefix[0] = 0
    with np.errstate(over="ignore"):
        np.bitwise_and(chars, _FOLD_MASK, out=chars)  # the folds (in place: the classes are no longer needed)
        np.multiply(chars, pw[:n], out=prefix[1:], dtype=np.uint64)
        np.cumsum(prefix[1:], out=prefix[1:])
        keys = prefix[ends]
        keys -= prefix[starts]
        keys *= inv[starts]
    return _mix_key(keys, lengths)


def _compiled_spans_keys(
    loops: ModuleType, chars: np.ndarray, scratch: threading.local | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``_spans`` and the unmixed ``_surface_keys`` of ``chars`` by the compiled kernel, into the thread's
    buffers (reused from batch to batch: no fresh pages each time), copied out at their length."""
    n = len(chars)
    held = getattr(scratch, "spans", None)
    if held is None or len(held[0]) < n:
        size = n + n // 8
        held = (np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64), np.empty(size, dtype=np.uint64))
        if scratch is not None:
            scratch.spans = held
    m = loops.spans_keys(chars, *held)
    return held[0][:m].copy(), held[1][:m].copy(), held[2][:m].copy()


def _mix_key(keys: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    keys ^= lengths.astype(np.uint64)
    mix64_inplace(keys)
    keys[keys == 0] = 1  # 0 marks an empty slot of the vocabulary table
    return keys


def _astral_keys(tokens: list[str]) -> np.ndarray:
    """``_surface_keys`` of tokens given as text, one by one (for the rare tokens holding astral characters)."""
    mask = (1 << 64) - 1
    keys = []
    for token in tokens:
        key, power = 0, 1
        for ch in token:
            key = (key + _char_fold(ord(ch)) * power) & mask
            power = (power * _POLY) & mask
        keys.append(key)
    return _mix_key(np.array(keys, dtype=np.uint64), np.array([len(t) for t in tokens], dtype=np.int64))


@lru_cache(maxsize=1)
def _letter_folds() -> dict[int, str]:
    """The characters of the Basic Multilingual Plane the tokeniser folds to an ASCII letter, other than the
    letter itself: "A" to "a", the Kelvin sign and the fullwidth "Ｋ" to "k" (for ``str.translate``)."""
    fold = _bmp_table() & np.uint32(_FOLD_MASK)
    at = np.flatnonzero((fold >= ord("a")) & (fold <= ord("z")) & (fold != np.arange(0x10000)))
    return {int(c): chr(int(fold[c])) for c in at.tolist()}


@lru_cache(maxsize=1)
def _other_letters() -> re.Pattern:
    """The characters beyond ASCII that ``_letter_folds`` folds to a letter, as one character class."""
    return re.compile("[" + "".join(re.escape(chr(c)) for c in _letter_folds() if c >= 128) + "]")


_ODD = re.compile(r"[\ud800-\udfff\U00010000-\U0010ffff]")  # astral characters, surrogates


def _word_marks(surfaces: list[str]) -> np.ndarray:
    """``excerpt.word_marks`` of new vocabulary words, each folded to ASCII letters character by character as
    its surface key was (so every surface of a key has the marks its first one got); a word with an astral
    character or a surrogate (its key made otherwise) gets every mark."""
    joined = "\0".join(surfaces)  # NUL is never part of a token
    if _other_letters().search(joined):  # a character beyond ASCII folds to a letter: the whole table
        folded = joined.translate(_letter_folds()).encode("utf-8", "surrogatepass")
    else:  # only "A"-"Z" fold to a letter they are not: ``bytes.lower`` (~10 times faster than the table)
        folded = joined.encode("utf-8", "surrogatepass").lower()
    marks = word_marks(folded)
    odd = [m.start() for m in _ODD.finditer(joined)]
    if odd:
        starts = np.cumsum([0] + [len(s) + 1 for s in surfaces[:-1]])
        marks[np.searchsorted(starts, odd, side="right") - 1] = ALL_MARKS
    return marks


class _Vocabulary:
    """Token hashes (folded and exact) of the distinct tokens seen so far, by surface key.

    An open-addressing hash table (linear probing) probed for a whole batch of keys at
    once, kept at most half full; a 0 in ``keys`` marks an empty slot (surface keys
    are never 0, see ``_surface_keys``). Every token of a batch is looked up directly,
    so no separate pass finds the batch's distinct tokens first.
    """

    def __init__(self, bits: int = 16) -> None:
        self.bits = bits
        self.keys = np.zeros(1 << bits, dtype=np.uint64)
        self.hashes = np.zeros(1 << bits, dtype=np.uint64)
        self.exact = np.zeros(1 << bits, dtype=np.uint64)
        self.number = np.zeros(1 << bits, dtype=np.int32)  # each key's number, in the order they came
        self.marks = np.zeros(1 << 10, dtype=np.uint16)  # by number: the word's ``excerpt.word_marks`` (room for more)
        self.count = 0
        self.lock = threading.Lock()

    def _home(self, keys: np.ndarray) -> np.ndarray:
        return (keys >> np.uint64(64 - self.bits)).astype(np.int64)

    def _find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each key's slot, and whether the key is there (else the slot is the empty one it would take)."""
        kernel = native("read")
        if kernel is not None:
            slot, hit = np.empty(len(keys), dtype=np.int64), np.empty(len(keys), dtype=np.uint8)
            kernel.probe(self.keys, self.bits, keys, slot, hit)
            return slot, hit.view(bool)
        mask = (1 << self.bits) - 1
        slot = self._home(keys)
        held = self.keys[slot]
        hit = held == keys
        probe = np.flatnonzero(~hit & (held != 0))  # the slot holds another key: try the next
        while probe.size:
            slot[probe] = (slot[probe] + 1) & mask
            held = self.keys[slot[probe]]
            hit[probe[held == keys[probe]]] = True
            probe = probe[(held != keys[probe]) & (held != 0)]
        return slot, hit

    def lookup(self, keys: np.ndarray, text_of) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Folded and exact hashes of ``keys`` (one per token), each key's number (``Tokens.words``) and its
        word's marks (``Tokens.marks``); ``text_of(indices)`` gives the texts of the tokens at those indices,
        called for the first occurrence of each key not seen before."""
        with self.lock:
            kernel = native("read")
            if kernel is not None:  # the probe and the gathers in one compiled pass
                n = len(keys)
                out, exact, number = np.empty(n, np.uint64), np.empty(n, np.uint64), np.empty(n, np.int32)
                slot, hit = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.uint8)
                missed = kernel.lookup(self.keys, self.bits, self.hashes, self.exact, self.number, keys, out, exact,
                                       number, slot, hit)  # fmt: skip
                miss = np.flatnonzero(hit == 0) if missed else np.zeros(0, dtype=np.int64)
            else:
                slot, hit = self._find(keys)
                out, exact, number = self.hashes[slot], self.exact[slot], self.number[slot]
                miss = np.flatnonzero(~hit)
            if miss.size:  # new tokens: normalise and hash the first occurrence of each
                missed = keys[miss]
                # numpy, not polars: this runs in forked workers, where polars' thread pool does not exist
                first = np.sort(np.unique(missed, return_index=True)[1])  # each new key's first, in order
                surfaces = text_of(miss[first])
                fresh, fresh_exact = _token_hashes(surfaces)
                self._add(missed[first], fresh, fresh_exact)  # numbered count, count + 1, ... in this order
                if self.count > len(self.marks):  # grown by doubling: a long-lived vocabulary adds a few words a call
                    self.marks = np.concatenate([self.marks, np.zeros(max(self.count, len(self.marks)), np.uint16)])
                self.marks[self.count - len(surfaces) : self.count] = _word_marks(surfaces)
                at = self._find(missed)[0]
                out[miss], exact[miss], number[miss] = self.hashes[at], self.exact[at], self.number[at]
            return out, exact, number, self.marks[number]

    def _add(self, keys: np.ndarray, hashes: np.ndarray, exact: np.ndarray) -> None:
        """Insert distinct keys not in the table yet."""
        if 2 * (self.count + len(keys)) > len(self.keys):
            held = np.flatnonzero(self.keys)
            old = self.keys[held], self.hashes[held], self.exact[held], self.number[held]
            self.bits = max(self.bits, int(4 * (self.count + len(keys))).bit_length())
            self.keys = np.zeros(1 << self.bits, dtype=np.uint64)
            self.hashes = np.zeros(1 << self.bits, dtype=np.uint64)
            self.exact = np.zeros(1 << self.bits, dtype=np.uint64)
            self.number = np.zeros(1 << self.bits, dtype=np.int32)
            self.count = 0
            self._place(*old)
        self._place(keys, hashes, exact, np.arange(self.count, self.count + len(keys), dtype=np.int32))

    def _place(self, keys: np.ndarray, hashes: np.ndarray, exact: np.ndarray, number: np.ndarray) -> None:
        mask = (1 << self.bits) - 1
        slot = self._home(keys)
        pending = np.arange(len(keys))
        while pending.size:
            s = slot[pending]
            taken = self.keys[s] != 0
            slot[pending[taken]] = (s[taken] + 1) & mask
            free = np.flatnonzero(~taken)
            if free.size:  # of the keys that want the same free slot, the first takes it
                _, first = np.unique(s[free], return_index=True)
                won = pending[free[first]]
                self.keys[slot[won]] = keys[won]
                self.hashes[slot[won]] = hashes[won]
                self.exact[slot[won]] = exact[won]
                self.number[slot[won]] = number[won]
                keep = np.ones(pending.size, dtype=bool)
                keep[free[first]] = False
                pending = pending[keep]
        self.count += len(keys)


class TokenCache:
    """What consecutive ``tokenise`` calls may share (the pieces of one long text): the vocabulary, so a
    distinct token is normalised and hashed once for all of them, and each thread's work buffers."""

    def __init__(self) -> None:
        self.vocab = _Vocabulary()
        self.scratch = threading.local()


# Characters tokenised at once. Each batch's work arrays (code units, packed characters, spans, prefix sums,
# the powers table) are ~60 bytes a character: at 1 M they are reused from the heap batch after batch, where 8 M
# batches mapped and first-touched ~0.5 GB of fresh pages each (phase 1 of 5,000 articles: system CPU 0.56-1.09 s
# -> 0.16-0.21 s, peak 519 -> 319 MB, user CPU the same; benchmarks/README.md).
TOKEN_BATCH_CHARS = 1 << 20


NATIVE_BATCH_CHARS = 1 << 23  # characters the compiled pass tokenises at once (its buffers: ~50 MB)


def tokenise(
    texts: Sequence[str],
    batch_chars: int = TOKEN_BATCH_CHARS,
    threads: int | None = None,
    cache: TokenCache | None = None,
    body_starts: Sequence[int] | None = None,
) -> Tokens:
    """Tokenise texts, batching so memory stays bounded whatever the corpus size.

    Batches run on a small thread pool (numpy and the compiled kernel release the GIL); each distinct token
    is normalised and hashed once for the whole call, however many batches it is in (for every call given the
    same ``cache``). ``body_starts``: each text's tokens from there on (``bodies``' blanking, without the copy).
    """
    if any(len(t) > batch_chars for t in texts):
        if body_starts is not None:
            texts = bodies(texts, body_starts)
        return _tokenise_pieces(texts, batch_chars, threads, cache)
    return _batched(texts, batch_chars, threads, cache, body_starts)


def _batched(
    texts: Sequence[str],
    batch_chars: int,
    threads: int | None,
    cache: TokenCache | None,
    body_starts: Sequence[int] | None = None,
) -> Tokens:
    batches: list[tuple[int, int]] = []
    lo, size = 0, 0
    for i, text in enumerate(texts):
        size += len(text) + 1
        if size >= batch_chars:
            batches.append((lo, i + 1))
            lo, size = i + 1, 0
    if lo < len(texts) or not batches:
        batches.append((lo, len(texts)))
    cache = cache or TokenCache()
    vocab, scratch = cache.vocab, cache.scratch  # scratch: per-thread work buffers
    kernel = native("read")

    if kernel is not None:  # no work arrays per character: one batch a thread (fewer, larger pieces to join),
        total = sum(map(len, texts))  # each at most NATIVE_BATCH_CHARS (its token buffers: ~6 bytes a character)
        parts = max(min(threads or _default_threads(), total // batch_chars), -(-total // NATIVE_BATCH_CHARS), 1)
        batches = _even(texts, parts)

    def one(bounds: tuple[int, int]) -> Tokens:
        a, b = bounds
        starts = body_starts[a:b] if body_starts is not None else None
        if kernel is not None:
            return _native_batch(kernel, list(texts[a:b]), starts, vocab, scratch)
        part = texts[a:b] if starts is None else bodies(texts[a:b], starts)
        return _tokenise_batch(part, vocab, scratch)

    workers = min(threads or _default_threads(), len(batches))
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(one, batches))
    else:
        parts = [one(b) for b in batches]
    if len(parts) == 1:
        return parts[0]
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.concatenate([np.diff(p.offsets) for p in parts]), out=offsets[1:])
    return Tokens(
        offsets=offsets,
        starts=np.concatenate([p.starts for p in parts]),
        ends=np.concatenate([p.ends for p in parts]),
        hashes=np.concatenate([p.hashes for p in parts]),
        exact=np.concatenate([p.exact for p in parts]),
        words=np.concatenate([p.words for p in parts]) if all(p.words is not None for p in parts) else None,
        marks=np.concatenate([p.marks for p in parts]) if all(p.marks is not None for p in parts) else None,
    )


def _even(texts: Sequence[str], parts: int) -> list[tuple[int, int]]:
    """``texts`` cut into at most ``parts`` runs of about equal characters, as (start, end) bounds."""
    if parts <= 1 or len(texts) <= 1:
        return [(0, len(texts))]
    ends = np.cumsum([len(t) + 1 for t in texts])
    cuts = np.searchsorted(ends, ends[-1] * np.arange(1, parts) / parts, side="right")
    bounds = np.unique(np.concatenate([[0], cuts, [len(texts)]])).tolist()
    return list(zip(bounds[:-1], bounds[1:]))


_WHITESPACE = re.compile(r"\s")


def segments(text: str, start: int = 0, size: int = 1 << 21) -> Iterator[str]:
    """``text`` from ``start`` in pieces of about ``size`` characters, each cut just after white space: no
    token crosses a cut, so the pieces' tokens are the text's."""
    pos = start
    while pos < len(text):
        m = _WHITESPACE.search(text, min(pos + size, len(text)))
        end = m.end() if m else len(text)
        yield text[pos:end]
        pos = end


def _tokenise_pieces(texts: Sequence[str], batch_chars: int, threads: int | None, cache: TokenCache | None) -> Tokens:
    """``tokenise`` of texts some of which are longer than a batch: those are tokenised in ``segments`` (the
    work buffers of one batch, not of the whole text) and their tokens put back together."""
    pieces: list[str] = []
    owner: list[int] = []
    base: list[int] = []
    for i, text in enumerate(texts):
        at = 0
        for piece in segments(text, 0, batch_chars // 2) if len(text) > batch_chars else (text,):
            pieces.append(piece)
            owner.append(i)
            base.append(at)
            at += len(piece)
    part = _batched(pieces, batch_chars, threads, cache)
    n_piece = np.diff(part.offsets)
    shift = np.repeat(np.asarray(base, dtype=np.int64), n_piece)
    counts = np.bincount(np.asarray(owner, dtype=np.int64), weights=n_piece, minlength=len(texts)).astype(np.int64)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return Tokens(
        offsets=offsets,
        starts=part.starts + shift,
        ends=part.ends + shift,
        hashes=part.hashes,
        exact=part.exact,
        words=part.words,
        marks=part.marks,
    )


def _default_threads() -> int:
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def _tokenise_batch(
    texts: Sequence[str], vocab: _Vocabulary | None = None, scratch: threading.local | None = None
) -> Tokens:
    n = len(texts)
    if n == 0:
        empty, none = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
        return Tokens(
            np.zeros(1, dtype=np.int64), empty, empty, none, none, np.zeros(0, dtype=np.int32), np.zeros(0, np.uint16)
        )
    vocab = vocab or _Vocabulary()
    big = "\n".join(texts)  # "\n" is a separator, so no token crosses two documents
    cp, astral = _units(big)
    doc_starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum([len(t) + 1 for t in texts], out=doc_starts[1:])
    chars = _characters(cp, astral)
    del cp
    loops = compiled()
    raw = None
    if loops is not None:  # spans and keys in one compiled pass (no powers table, no prefix sums)
        unit_starts, unit_ends, raw = _compiled_spans_keys(loops, chars, scratch)
    else:
        unit_starts, unit_ends = _spans(chars)
    if astral is None:
        starts, ends = unit_starts, unit_ends
    else:  # offsets are code-point offsets
        starts, ends = astral.code_point_positions(unit_starts), astral.code_point_positions(unit_ends)
    lengths = ends - starts
    keys = _mix_key(raw, lengths) if raw is not None else _surface_keys(chars, unit_starts, unit_ends, lengths, scratch)
    del chars
    if astral is not None:  # a token holding an astral character: its key from its code points
        held = np.searchsorted(unit_starts, astral.high, side="right") - 1  # the token each could be in
        held = np.unique(held[held >= 0])
        held = held[unit_ends[held] > astral.high[np.searchsorted(astral.high, unit_starts[held])]]
        if held.size:
            keys[held] = _astral_keys([big[s:e] for s, e in zip(starts[held].tolist(), ends[held].tolist())])
    del unit_starts, unit_ends
    long_tokens = np.flatnonzero(lengths > _MAX_FAST_TOKEN)
    # The vocabulary: each distinct token is normalised and hashed once.
    hashes, exact, words, marks = vocab.lookup(
        keys, lambda idx: [big[s:e] for s, e in zip(starts[idx].tolist(), ends[idx].tolist())]
    )
    if long_tokens.size:  # hashed one by one, not by their vocabulary entry (a key of many characters)
        alone = np.array([token_hash(big[starts[i] : ends[i]]) for i in long_tokens.tolist()], dtype=np.uint64)
        if not np.array_equal(alone, hashes[long_tokens]):  # two long tokens' keys met: no numbers to trust
            words = marks = None
        hashes[long_tokens] = alone
        exact[long_tokens] = [exact_token_hash(big[starts[i] : ends[i]]) for i in long_tokens.tolist()]
    # Tokens never cross a document boundary, so document i's are those starting in its range.
    offsets = np.searchsorted(starts, doc_starts, side="left").astype(np.int64)
    base = np.repeat(doc_starts[:-1], np.diff(offsets))
    return Tokens(
        offsets=offsets, starts=starts - base, ends=ends - base, hashes=hashes, exact=exact, words=words, marks=marks
    )


def _scratch(scratch: threading.local | None, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The thread's token buffers (starts, ends, keys) for a batch of ``n`` characters: reused from batch to
    batch, so no fresh pages are mapped and first touched each time."""
    held = getattr(scratch, "tokens", None)
    if held is None or len(held[0]) < n:
        size = max(n + n // 8, 1 << 12)
        held = (np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64), np.empty(size, dtype=np.uint64))
        if scratch is not None:
            scratch.tokens = held
    return held


def _native_batch(
    kernel: ModuleType,
    texts: list[str],
    body_starts: Sequence[int] | None,
    vocab: _Vocabulary,
    scratch: threading.local | None,
) -> Tokens:
    """``_tokenise_batch`` by the compiled kernel (``kernels/_read.pyx``): the spans and surface keys in one
    pass over the texts themselves (code-point offsets into each, whatever its characters), then the same
    vocabulary; the same tokens, bit for bit."""
    n = len(texts)
    vocab = vocab or _Vocabulary()
    total = sum(map(len, texts))
    wide = np.asarray(kernel.astral(texts), dtype=np.uint32)
    wide_packed = _packed_wide(wide) if len(wide) else np.zeros(0, dtype=np.uint32)
    counts = np.empty(n, dtype=np.int64)
    body = np.zeros(n, dtype=np.int64) if body_starts is None else np.asarray(body_starts, dtype=np.int64)
    m = -1
    for room in (total // 4 + 64, total + 1):  # a token a character at most; about one in six in prose
        starts_buf, ends_buf, keys_buf = _scratch(scratch, room)
        m = kernel.spans_keys(texts, body, _bmp_table(), wide, wide_packed, starts_buf, ends_buf, keys_buf, counts)
        if m >= 0:
            break
    starts, ends, keys = starts_buf[:m].copy(), ends_buf[:m].copy(), keys_buf[:m].copy()
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])

    def text_of(idx: np.ndarray) -> list[str]:
        docs = (np.searchsorted(offsets, idx, side="right") - 1).tolist()
        return [texts[d][s:e] for d, s, e in zip(docs, starts[idx].tolist(), ends[idx].tolist())]

    hashes, exact, words, marks = vocab.lookup(keys, text_of)
    long_tokens = np.flatnonzero(ends - starts > _MAX_FAST_TOKEN)
    if long_tokens.size:  # hashed one by one, not by their vocabulary entry (a key of many characters)
        surfaces = text_of(long_tokens)
        alone = np.array([token_hash(t) for t in surfaces], dtype=np.uint64)
        if not np.array_equal(alone, hashes[long_tokens]):  # two long tokens' keys met: no numbers to trust
            words = marks = None
        hashes[long_tokens] = alone
        exact[long_tokens] = [exact_token_hash(t) for t in surfaces]
    return Tokens(offsets=offsets, starts=starts, ends=ends, hashes=hashes, exact=exact, words=words, marks=marks)


def prepare() -> None:
    """Load what every tokenising process needs once, here: the character table and, with
    ``DEDUP_KERNELS=numba``, the compiled kernels. A scan calls it before forking its workers, which then share
    them instead of each loading them again.

    The kernels are not loaded by default: with ``TOKEN_BATCH_CHARS`` batches the numpy code takes the same CPU
    as the compiled pass (the kernel's saving, ~45 ms per 8 M characters, is within the noise of a batch), while
    loading numba costs ~0.6 s of CPU and ~120 MB of resident memory in every process (figures:
    benchmarks/README.md)."""
    _bmp_table()
    if kernels_forced():
        load_kernels()


def bodies(texts: Sequence[str], body_starts: Sequence[int]) -> list[str]:
    """The texts with any front matter blanked out (same lengths, so offsets still hold)."""
    return [t if b == 0 else " " * b + t[b:] for t, b in zip(texts, body_starts)]
