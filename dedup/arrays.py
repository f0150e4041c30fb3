"""Small array idioms the core shares (numpy only, no other import of the package)."""

from __future__ import annotations

import numpy as np


def run_index(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The indices of the runs ``starts[i], ..., starts[i] + lengths[i] - 1`` laid end to end (int64): what
    ``np.concatenate([np.arange(s, s + n) for s, n in zip(starts, lengths)])`` gives, as a gather index.

    Built in one int64 array (a step of 1 everywhere, each run's first entry the jump from the previous run's
    last, then summed in place), where ``np.repeat(...) + np.arange(...)`` held two of the result's size."""
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    if len(lengths) and lengths.min() <= 0:  # empty runs take no place (negative lengths: none either)
        keep = lengths > 0
        starts, lengths = starts[keep], lengths[keep]
    total = int(lengths.sum())
    out = np.ones(total, dtype=np.int64)
    if not total:
        return out
    out[0] = starts[0]
    if len(lengths) > 1:
        first = np.cumsum(lengths[:-1])  # where each run after the first begins
        out[first] = starts[1:] - (starts[:-1] + lengths[:-1] - 1)
    np.cumsum(out, out=out)
    return out
