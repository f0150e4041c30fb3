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

from .cluster import Clusters
from .normalise import Tokens
from .read import Corpus
from .shingle import Shingles

LABELS = ("syndicated", "wrapper", "original", "boilerplate")
SYNDICATED, WRAPPER, ORIGINAL, BOILERPLATE = range(4)
MAJORITY = 0.5
NEAR_IDENTICAL = 0.8  # share of a paragraph that must recur for it to be boilerplate


def _covered(length: int, spans: np.ndarray) -> np.ndarray:
    """Prefix sums of a character coverage mask built from (start, end) rows."""
    marks = np.zeros(length + 1, dtype=np.int64)
    if len(spans):
        np.add.at(marks, spans[:, 0], 1)
        np.add.at(marks, spans[:, 1], -1)
    mask = np.cumsum(marks[:-1]) > 0
    return np.concatenate(([0], np.cumsum(mask)))


def _share(prefix: np.ndarray, paras: np.ndarray) -> np.ndarray:
    size = np.maximum(paras[:, 1] - paras[:, 0], 1)
    return (prefix[paras[:, 1]] - prefix[paras[:, 0]]) / size


def label(
    corpus: Corpus,
    tokens: Tokens,
    sh: Shingles,
    boilerplate_shingle: np.ndarray,
    clusters: Clusters,
    pair_a: np.ndarray,
    pair_b: np.ndarray,
    passages: list[np.ndarray],
) -> np.ndarray:
    """Label code (index into LABELS) of each paragraph, aligned with ``corpus.para_starts``."""
    n = len(corpus)
    shared: list[list[np.ndarray]] = [[] for _ in range(n)]
    cl = clusters.cluster
    for a, b, p in zip(pair_a.tolist(), pair_b.tolist(), passages):
        if cl[a] >= 0 and cl[a] == cl[b] and len(p):
            shared[a].append(p[:, 0:2])
            shared[b].append(p[:, 2:4])
    out = np.empty(len(corpus.para_starts), dtype=np.int8)
    for i in range(n):
        lo, hi = int(corpus.para_offsets[i]), int(corpus.para_offsets[i + 1])
        if hi == lo:
            continue
        paras = corpus.paragraphs(i)
        length = len(corpus.texts[i])
        base = np.full(hi - lo, WRAPPER if clusters.role[i] == "copy" else ORIGINAL, dtype=np.int8)
        s = sh.doc(i)
        boiler = np.flatnonzero(boilerplate_shingle[s])
        if boiler.size:
            spans = np.stack([tokens.starts[sh.first[s][boiler]], tokens.ends[sh.last[s][boiler]]], axis=1)
            base[_share(_covered(length, spans), paras) >= NEAR_IDENTICAL] = BOILERPLATE
        if shared[i]:  # shared with a copy of it: syndicated, even where the text also recurs elsewhere
            syndicated = _share(_covered(length, np.concatenate(shared[i])), paras) > MAJORITY
            base[syndicated] = SYNDICATED
        out[lo:hi] = base
    return out
