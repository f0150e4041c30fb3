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

from .kernels import native
from .options import LabelParams
from .phase1.normalise import Tokens
from .phase1.shingle import Shingles

LABELS = ("syndicated", "wrapper", "original", "boilerplate")
SYNDICATED, WRAPPER, ORIGINAL, BOILERPLATE = range(4)


def _union(spans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The union of (start, end) rows as disjoint sorted intervals (starts, ends)."""
    kernel = native("align")
    if kernel is not None:  # one sweep, compiled, over the rows in order of start (boilerplate's come so)
        lo, hi = spans[:, 0], spans[:, 1]
        if len(lo) > 1 and not (lo[1:] >= lo[:-1]).all():
            order = np.argsort(lo, kind="stable")
            lo, hi = lo[order], hi[order]
        return kernel.union_sorted(np.ascontiguousarray(lo, dtype=np.int64), np.ascontiguousarray(hi, dtype=np.int64))
    spans = spans[spans[:, 1] > spans[:, 0]]
    if not len(spans):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    spans = spans[np.argsort(spans[:, 0], kind="stable")]
    reach = np.maximum.accumulate(spans[:, 1])
    head = np.flatnonzero(np.r_[True, spans[1:, 0] > reach[:-1]])
    return spans[head, 0], reach[np.r_[head[1:] - 1, len(spans) - 1]]


def _inside(union: tuple[np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Whether each point lies in the union (disjoint sorted intervals)."""
    starts, ends = union
    k = np.searchsorted(starts, x, side="right")
    return (k > 0) & (ends[np.maximum(k - 1, 0)] > x) if len(starts) else np.zeros(len(x), dtype=bool)


def _covered(union: tuple[np.ndarray, np.ndarray], lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """How much of each [lo, hi) the union covers (an integer: the characters a mask would count)."""
    starts, ends = union
    if not len(starts):
        return np.zeros(len(lo), dtype=np.int64)
    total = np.r_[0, np.cumsum(ends - starts)]

    def before(x: np.ndarray) -> np.ndarray:  # covered length below x
        k = np.searchsorted(starts, x, side="left")
        return total[k] - np.where(k > 0, np.maximum(ends[np.maximum(k - 1, 0)] - x, 0), 0)

    return before(hi) - before(lo)


def _minus(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The stretches of union ``a`` outside union ``b``, as (start, end) rows (compiled: one merge of the two,
    the stretches of one interval of ``a`` between two of ``b`` in one row, not cut at every end point; the
    same characters, which is all ``_union`` reads of them)."""
    kernel = native("align")
    if kernel is not None:
        return kernel.minus(*(np.ascontiguousarray(v, dtype=np.int64) for v in (*a, *b)))
    points = np.unique(np.concatenate([*a, *b]))
    if len(points) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    lo, hi = points[:-1], points[1:]
    keep = _inside(a, lo) & ~_inside(b, lo)
    return np.stack([lo[keep], hi[keep]], axis=1)


def label_batch(
    lengths: np.ndarray,
    para_offsets: np.ndarray,
    paras: np.ndarray,
    is_copy: np.ndarray,
    boiler: np.ndarray,
    shared: np.ndarray,
    params: LabelParams | None = None,
) -> np.ndarray:
    """Label code (index into LABELS) of every paragraph of a batch of documents, in ``para_offsets`` order.

    ``lengths``: each document's length; ``paras``: (start, end) rows of their paragraphs, document i's
    at ``para_offsets[i]:[i+1]``; ``boiler``: (document, start, end) rows, the character spans of their
    boilerplate shingles; ``shared``: (document, start, end, by_all) rows, their side of the passages shared
    with other members of their cluster, where by_all marks a pair related by everything it shares (an
    excerpt and the page it was cut from). A passage's boilerplate characters show a shared site template,
    not copied text, unless its pair is related by everything it shares. The documents are laid end to end
    on one axis and every mask is a set of intervals: no per-document or per-character work.
    """
    params = params or LabelParams()
    lengths = np.asarray(lengths, dtype=np.int64)
    at = np.zeros(len(lengths) + 1, dtype=np.int64)  # where each document starts on the batch's axis
    np.cumsum(lengths + 1, out=at[1:])
    counts = np.diff(para_offsets)
    doc = np.repeat(np.arange(len(lengths)), counts)
    lo, hi = paras[:, 0] + at[doc], paras[:, 1] + at[doc]
    size = np.maximum(paras[:, 1] - paras[:, 0], 1)
    codes = np.where(np.asarray(is_copy, dtype=bool)[doc], WRAPPER, ORIGINAL).astype(np.int8)
    boiler = np.asarray(boiler, dtype=np.int64).reshape(-1, 3)
    b = _union(boiler[:, 1:] + at[boiler[:, :1]])
    codes[_covered(b, lo, hi) / size >= params.near_identical] = BOILERPLATE
    shared = np.asarray(shared, dtype=np.int64).reshape(-1, 4)
    if len(shared):
        # Copied text is what the pair shares beyond a template, unless the pair is related by everything
        # it shares (an excerpt, whose story may recur like a template): then it is all of it.
        rows = shared[:, 1:3] + at[shared[:, :1]]
        by_all = shared[:, 3] != 0
        copied = _union(np.concatenate([_minus(_union(rows[~by_all]), b), rows[by_all]]))
        has = np.zeros(len(lengths), dtype=bool)
        has[shared[:, 0]] = True
        codes[has[doc] & (_covered(copied, lo, hi) / size > params.majority)] = SYNDICATED
    return codes


def label_document(
    length: int,
    paras: np.ndarray,
    is_copy: bool,
    boiler_spans: np.ndarray,
    shared_spans: np.ndarray,
    params: LabelParams | None = None,
) -> np.ndarray:
    """Label code (index into LABELS) of each paragraph of one document (``label_batch`` of one):
    ``boiler_spans`` (start, end) rows, ``shared_spans`` (start, end, by_all) rows."""
    paras = np.asarray(paras, dtype=np.int64).reshape(-1, 2)
    boiler = np.asarray(boiler_spans, dtype=np.int64).reshape(-1, 2)
    shared = np.asarray(shared_spans, dtype=np.int64).reshape(-1, 3)
    return label_batch(
        np.array([length]),
        np.array([0, len(paras)]),
        paras,
        np.array([is_copy]),
        np.hstack([np.zeros((len(boiler), 1), dtype=np.int64), boiler]),
        np.hstack([np.zeros((len(shared), 1), dtype=np.int64), shared]),
        params,
    )


def boiler_rows(tokens: Tokens, sh: Shingles, boilerplate_shingle: np.ndarray) -> np.ndarray:
    """(document, start, end) rows: the character spans of the shingles flagged in ``boilerplate_shingle``
    (one flag per shingle), with the document (row of ``tokens``) each is in."""
    flagged = np.flatnonzero(boilerplate_shingle)
    doc = np.searchsorted(sh.offsets, flagged, side="right") - 1  # the flagged ones' only, not every shingle's
    return np.stack([doc, tokens.starts[sh.first[flagged]], tokens.ends[sh.last[flagged]]], axis=1).astype(np.int64)


class FingerprintSet:
    """A sorted set of fingerprints (uint64, below 2**``width``) with a directory by their top bits, so that
    whether each of many values is in it takes a look-up or two each, without sorting the values: labels ask
    it of every shingle of every article holding boilerplate, batch by batch, and the set grows with the
    corpus (text recurring in ever more articles)."""

    def __init__(self, values: np.ndarray, width: int) -> None:
        self.values = np.ascontiguousarray(values, dtype=np.uint64)
        bits = max(1, min(width, int(len(self.values)).bit_length()))  # about one value a slot
        self.shift = np.uint64(width - bits)
        edges = np.arange((1 << bits) + 1, dtype=np.uint64) << self.shift if bits < 64 else None
        self.starts = np.searchsorted(self.values, edges[:-1]).astype(np.int64) if edges is not None else None
        if self.starts is not None:
            self.starts = np.append(self.starts, len(self.values))

    def contains(self, x: np.ndarray) -> np.ndarray:
        """Whether each of ``x`` (uint64, below 2**``width``) is in the set."""
        x = np.asarray(x, dtype=np.uint64)
        if not len(self.values) or not len(x) or self.starts is None:
            return np.zeros(len(x), dtype=bool)
        kernel = native("align")
        if kernel is not None:  # the same look-ups, compiled: no temporaries a value
            return kernel.contains(self.values, self.starts, int(self.shift), np.ascontiguousarray(x))
        slot = (x >> self.shift).astype(np.int64)
        at, end = self.starts[slot], self.starts[slot + 1]
        out = (at < end) & (self.values[np.minimum(at, len(self.values) - 1)] == x)  # most slots hold one
        rows = np.flatnonzero((end - at > 1) & ~out)
        while len(rows):
            at_rows = at[rows] + 1
            keep = at_rows < end[rows]
            rows, at_rows = rows[keep], at_rows[keep]
            at[rows] = at_rows
            out[rows] |= self.values[at_rows] == x[rows]
            rows = rows[~out[rows]]
        return out
