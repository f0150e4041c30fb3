"""One label for every paragraph of every document.

- syndicated: most of its characters lie in passages shared with another
  member of its cluster;
- boilerplate: otherwise, when nearly all of it (80% of its characters) is
  boilerplate shingles (text found in documents of three or more groups of
  copies: templates, disclaimers, prompts), so a sentence built on a stock
  phrase is not;
- wrapper: in a copy, anything else (the republisher's headline, intro, promo);
- original: in a source or an unclustered document, anything else.
"""

from __future__ import annotations

import numpy as np

from .normalise import Tokens
from .options import LabelParams
from .shingle import Shingles

LABELS = ("syndicated", "wrapper", "original", "boilerplate")
SYNDICATED, WRAPPER, ORIGINAL, BOILERPLATE = range(4)


def _mask(length: int, spans: np.ndarray) -> np.ndarray:
    """Character mask of the union of (start, end) rows."""
    marks = np.zeros(length + 1, dtype=np.int64)
    if len(spans):
        np.add.at(marks, spans[:, 0], 1)
        np.add.at(marks, spans[:, 1], -1)
    return np.cumsum(marks[:-1]) > 0


def _prefix(mask: np.ndarray) -> np.ndarray:
    """Prefix sums of a character mask, for the covered share of any span."""
    return np.concatenate(([0], np.cumsum(mask)))


def _share(prefix: np.ndarray, paras: np.ndarray) -> np.ndarray:
    size = np.maximum(paras[:, 1] - paras[:, 0], 1)
    return (prefix[paras[:, 1]] - prefix[paras[:, 0]]) / size


def label_document(
    length: int,
    paras: np.ndarray,
    is_copy: bool,
    boiler_spans: np.ndarray,
    shared_spans: np.ndarray,
    params: LabelParams | None = None,
) -> np.ndarray:
    """Label code (index into LABELS) of each paragraph of one document.

    ``boiler_spans``: character spans of its boilerplate shingles; ``shared_spans``: its side of
    the passages it shares with other members of its cluster, as (start, end, by_all) rows, where
    by_all marks a pair related by everything it shares (an excerpt and the page it was cut from).
    A passage's boilerplate characters show a shared site template, not copied text, unless its
    pair is related by everything it shares.
    """
    params = params or LabelParams()
    base = np.full(len(paras), WRAPPER if is_copy else ORIGINAL, dtype=np.int8)
    if len(paras) == 0:
        return base
    boiler = _mask(length, boiler_spans)
    base[_share(_prefix(boiler), paras) >= params.near_identical] = BOILERPLATE
    if len(shared_spans):
        # Copied text is what the pair shares beyond a template, unless the pair is related by everything
        # it shares (an excerpt, whose story may recur like a template): then it is all of it.
        shared = _mask(length, shared_spans[shared_spans[:, 2] == 0, :2]) & ~boiler
        shared |= _mask(length, shared_spans[shared_spans[:, 2] != 0, :2])
        base[_share(_prefix(shared), paras) > params.majority] = SYNDICATED
    return base


def shared_spans(
    cluster_of: np.ndarray, pair_a: np.ndarray, pair_b: np.ndarray, by_all: np.ndarray, passages: list[np.ndarray]
) -> dict[int, np.ndarray]:
    """Per document, its side of the passages shared with other members of its cluster:
    (start, end, by_all) rows (see ``label_document``)."""
    out: dict[int, list[np.ndarray]] = {}
    for a, b, flag, p in zip(pair_a.tolist(), pair_b.tolist(), by_all.tolist(), passages):
        if cluster_of[a] >= 0 and cluster_of[a] == cluster_of[b] and len(p):
            mark = np.full((len(p), 1), int(flag), dtype=np.int64)
            out.setdefault(a, []).append(np.hstack([p[:, 0:2], mark]))
            out.setdefault(b, []).append(np.hstack([p[:, 2:4], mark]))
    return {d: np.concatenate(v) for d, v in out.items()}


def boiler_spans(tokens: Tokens, sh: Shingles, i: int, boilerplate_shingle: np.ndarray) -> np.ndarray:
    """Character spans of document i's shingles flagged in ``boilerplate_shingle`` (one flag per shingle)."""
    s = sh.doc(i)
    boiler = np.flatnonzero(boilerplate_shingle[s])
    if not boiler.size:
        return np.zeros((0, 2), dtype=np.int64)
    return np.stack([tokens.starts[sh.first[s][boiler]], tokens.ends[sh.last[s][boiler]]], axis=1)
