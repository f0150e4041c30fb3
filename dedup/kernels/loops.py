"""The numba kernels (imported only by ``dedup.kernels.load()``). Each releases the GIL, so the
threads of one process run them on every core, and each gives exactly the bits of the numpy code it replaces:
wrap-around uint64 arithmetic, the same order of operations."""

from __future__ import annotations

import numba
import numpy as np

_POLY = np.uint64(0x9E3779B97F4A7C15)  # normalise._POLY
_FOLD_MASK = np.uint32((1 << 21) - 1)  # normalise._FOLD_MASK
_WORD, _SINGLE, _APOS = 1, 2, 3  # normalise's classes (SEP is 0)


def _jit(fn):
    """``njit(nogil=True)`` with numba's on-disk cache, or without it where no cache folder can be written
    (numba refuses ``cache=True`` then)."""
    try:
        return numba.njit(nogil=True, cache=True)(fn)
    except RuntimeError:
        return numba.njit(nogil=True)(fn)


@_jit
def _cls(c):
    return (c >> np.uint32(24)) & np.uint32(3)


@_jit
def spans_keys(chars, starts, ends, keys):
    """The tokens of a batch's packed characters (``normalise._spans`` and ``_surface_keys`` in one pass):
    written to ``starts``/``ends`` (positions) and ``keys`` (the polynomial of the folded characters, before
    ``_mix_key``); the buffers hold at least ``len(chars)`` entries. Returns the number of tokens.

    A token is a run of WORD characters, an apostrophe between two WORD characters joining them, or one
    SINGLE character."""
    n = len(chars)
    m = 0
    i = 0
    while i < n:
        c = _cls(chars[i])
        if c == _SINGLE:
            starts[m] = i
            ends[m] = i + 1
            keys[m] = np.uint64(chars[i] & _FOLD_MASK)
            m += 1
            i += 1
        elif c == _WORD:
            start = i
            key = np.uint64(0)
            power = np.uint64(1)
            while i < n:  # in a run the character before an apostrophe is a WORD one (the run joins no other)
                c = _cls(chars[i])
                if not (c == _WORD or (c == _APOS and i + 1 < n and _cls(chars[i + 1]) == _WORD)):
                    break
                key += np.uint64(chars[i] & _FOLD_MASK) * power
                power *= _POLY
                i += 1
            starts[m] = start
            ends[m] = i
            keys[m] = key
            m += 1
        else:
            i += 1
    return m


def warm() -> None:
    """Compile (or load from the cache) every kernel for the types the scan gives them."""
    chars = np.array([(1 << 24) | (1 << 30) | 97, 0, (2 << 24) | (1 << 30) | (1 << 31) | 0x4E00], dtype=np.uint32)
    starts, ends = np.empty(3, dtype=np.int64), np.empty(3, dtype=np.int64)
    keys = np.empty(3, dtype=np.uint64)
    spans_keys(chars, starts, ends, keys)
