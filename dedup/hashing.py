"""Stable 64-bit mixing functions on numpy arrays.

Everything here is plain unsigned 64-bit arithmetic with wrap-around, so the
results are identical on every machine, process and numpy version. Python's
``hash()`` is never used: it is salted per process.
"""

from __future__ import annotations

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a bijection on uint64 with full avalanche."""
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = x ^ (x >> _S30)
        z = z * _M1
        z ^= z >> _S27
        z *= _M2
        z ^= z >> _S31
    return z


def mix64_inplace(z: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
    """``mix64`` computed in place on a uint64 array (no full-size temporaries kept); returns ``z``.

    ``scratch``, a uint64 array of ``z``'s shape, takes the shifted values instead of fresh arrays.
    """
    with np.errstate(over="ignore"):
        if scratch is None:
            z ^= z >> _S30
            z *= _M1
            z ^= z >> _S27
            z *= _M2
            z ^= z >> _S31
            return z
        z ^= np.right_shift(z, _S30, out=scratch)
        z *= _M1
        z ^= np.right_shift(z, _S27, out=scratch)
        z *= _M2
        z ^= np.right_shift(z, _S31, out=scratch)
    return z


def seeded(x: np.ndarray, seed: int) -> np.ndarray:
    """Mix ``x`` with a seed, giving an independent-looking hash family member."""
    salt = mix64(np.array([seed], dtype=np.uint64) + GOLDEN)[0]
    return mix64(np.asarray(x, dtype=np.uint64) ^ salt)


def combine(acc: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Order-sensitive combination of two hash arrays (for k-grams)."""
    with np.errstate(over="ignore"):
        return mix64(acc * GOLDEN + x)


class KeyTable:
    """An open-addressing hash table (linear probing, load ≤ 1/4) over distinct uint64 ``keys``: ``find``
    gives each hash's row in ``keys`` (or -1) with a few gathers over a cache-sized table, where a binary
    search (``np.searchsorted``) of millions of unsorted hashes was a tenth of a scan's CPU."""

    def __init__(self, keys: np.ndarray) -> None:
        keys = np.asarray(keys, dtype=np.uint64)
        self.keys = keys
        self._shift = np.uint64(64 - max(4, (4 * len(keys)).bit_length()))
        self._mask = (1 << (64 - int(self._shift))) - 1
        size = self._mask + 1
        self._slot_keys = np.zeros(size, dtype=np.uint64)
        self._owner = np.full(size, -1, dtype=np.int64)
        pending = np.arange(len(keys), dtype=np.int64)
        slot = self._home(keys)
        while len(pending):  # each round, every key still pending tries its current slot; one wins a free slot
            free = np.flatnonzero(self._owner[slot] < 0)
            self._owner[slot[free]] = pending[free]
            won = free[self._owner[slot[free]] == pending[free]]
            go = np.ones(len(pending), dtype=bool)
            go[won] = False
            pending, slot = pending[go], (slot[go] + 1) & self._mask
        placed = self._owner >= 0
        self._slot_keys[placed] = keys[self._owner[placed]]

    def _home(self, h: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return ((h * GOLDEN) >> self._shift).astype(np.intp)

    def find(self, hashes: np.ndarray) -> np.ndarray:
        """Each hash's row in ``keys`` (int64), -1 for a hash not among them."""
        h = np.asarray(hashes, dtype=np.uint64)
        slot = self._home(h)
        owner = self._owner[slot]
        hit = self._slot_keys[slot] == h
        out = np.where(hit, owner, -1)
        rest = np.flatnonzero(~hit & (owner >= 0))  # the slot holds another key: probe on
        slot = (slot[rest] + 1) & self._mask
        while len(rest):
            owner = self._owner[slot]
            hit = self._slot_keys[slot] == h[rest]
            out[rest[hit]] = owner[hit]
            go = ~hit & (owner >= 0)
            rest, slot = rest[go], (slot[go] + 1) & self._mask
        return out


def distinct(hashes: np.ndarray) -> np.ndarray:
    """``np.unique(hashes)`` (sorted distinct uint64) for many hashes with few distinct values (a shard's
    tokens: ~1.3M of ~30k words): a direct-mapped table keeps one hash per slot, so only the slots' hashes
    and the tokens whose slot went to another hash are sorted, not every token (3-5 times faster)."""
    h = np.asarray(hashes, dtype=np.uint64)
    if len(h) < 1 << 12:
        return np.unique(h)
    bits = max(12, (len(h) // 8).bit_length())
    with np.errstate(over="ignore"):
        slot = ((h * GOLDEN) >> np.uint64(64 - bits)).astype(np.intp)
    table = np.zeros(1 << bits, dtype=np.uint64)
    used = np.zeros(1 << bits, dtype=bool)
    table[slot] = h  # one of each slot's hashes stays
    used[slot] = True
    lost = h[table[slot] != h]  # every token of a hash that holds no slot
    return np.unique(np.concatenate([table[used], lost]))
