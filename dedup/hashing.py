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
