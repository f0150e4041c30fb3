"""The scan pipeline: read → normalise → shingle → sign → index → verify → cluster → align → label.

Each stage is a function of the previous stages' arrays; this module only
wires them together and times them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .align import AlignParams, align, drop_template_pairs
from .cluster import cluster, excerpt_cut
from .index import IndexParams, candidate_pairs
from .label import label
from .normalise import tokenise
from .read import Corpus, build_corpus, read_folder
from .result import ScanResult
from .shingle import DEFAULT_K, shingle
from .sign import DEFAULT_NUM_PERM, DEFAULT_SEED, signatures
from .verify import CLUSTERING, VerifyParams, content_hashes, shingle_sets, verify

Progress = Callable[[str, int, int], None]
STAGES = ("read", "normalise", "shingle", "sign", "index", "verify", "cluster", "align", "label")


@dataclass(frozen=True)
class ScanOptions:
    """Parameters of a scan; the defaults are the documented behaviour."""

    k: int = DEFAULT_K
    num_perm: int = DEFAULT_NUM_PERM
    seed: int = DEFAULT_SEED
    index: IndexParams = field(default_factory=IndexParams)
    verify: VerifyParams = field(default_factory=VerifyParams)
    align: AlignParams = field(default_factory=AlignParams)


def scan(
    source: str | os.PathLike[str] | Corpus,
    options: ScanOptions | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    """Find the copies in a folder of articles (or an in-memory ``Corpus``)."""
    options = options or ScanOptions()
    timings: dict[str, float] = {}
    report = progress or (lambda stage, done, total: None)

    def timed(stage: str, fn, *args):
        report(stage, STAGES.index(stage), len(STAGES))
        t0 = time.perf_counter()
        out = fn(*args)
        timings[stage] = time.perf_counter() - t0
        return out

    corpus = source if isinstance(source, Corpus) else timed("read", read_folder, source)
    corpus = _sorted(corpus)
    tokens = timed("normalise", tokenise, corpus.bodies())
    sh = timed("shingle", shingle, tokens, options.k)
    sig = timed("sign", signatures, sh.hashes, sh.offsets, options.num_perm, options.seed)
    candidates = timed("index", candidate_pairs, sh, options.index)

    # Where each document is cut short (-1: it is not an excerpt); verify and cluster both use it.
    cuts = np.array([excerpt_cut(t, corpus.paragraphs(i)) for i, t in enumerate(corpus.texts)], dtype=np.int64)

    def _verify():
        sets = shingle_sets(sh)
        has_text = np.diff(tokens.offsets) > 0
        excerpts = _excerpt_ends(cuts, tokens, sh, sets)
        return sets, verify(sets, candidates, content_hashes(tokens), has_text, options.verify, excerpts)

    sets, verified = timed("verify", _verify)
    clusters = timed("cluster", cluster, corpus, verified.pairs, CLUSTERING, verified.syndicated, cuts >= 0)
    pair_a, pair_b = verified.pairs["a"].to_numpy(), verified.pairs["b"].to_numpy()
    passages = timed("align", align, corpus, tokens, sh, pair_a, pair_b, options.align)
    keep = drop_template_pairs(corpus, verified.pairs["relation"].to_numpy(), pair_a, pair_b, passages)
    if len(keep) < len(passages):
        verified.pairs = verified.pairs[keep]
        passages = [passages[p] for p in keep.tolist()]
        pair_a, pair_b = pair_a[keep], pair_b[keep]
    boilerplate_shingle = verified.boilerplate[sets.dense]
    labels = timed("label", label, corpus, tokens, sh, boilerplate_shingle, clusters, pair_a, pair_b, passages)
    report("done", len(STAGES), len(STAGES))
    return ScanResult(
        corpus=corpus,
        tokens=tokens,
        shingles=sh,
        signatures=sig,
        sets=sets,
        boilerplate=verified.boilerplate,
        pairs=verified.pairs,
        clusters=clusters,
        passages=passages,
        labels=labels,
        candidates=len(candidates),
        timings=timings,
        options=options,
    )


def _excerpt_ends(cuts: np.ndarray, tokens, sh, sets, last: int = 5) -> dict[int, np.ndarray]:
    """For each document cut short, the dense ids of its last ``last`` shingles before the cut."""
    out = {}
    for i in np.flatnonzero(cuts >= 0).tolist():
        cut = cuts[i]
        s = sh.doc(i)
        before = np.flatnonzero(tokens.ends[sh.last[s]] <= cut)
        out[i] = sets.dense[s][before[-last:]]
    return out


def _sorted(corpus: Corpus) -> Corpus:
    """The corpus in id order, so that results never depend on the order files came in."""
    order = sorted(range(len(corpus)), key=corpus.ids.__getitem__)
    if order == list(range(len(corpus))):
        return corpus
    out = build_corpus(
        [corpus.ids[i] for i in order],
        [corpus.texts[i] for i in order],
        [corpus.paths[i] for i in order],
        [corpus.dates[i] for i in order],
    )
    out.errors = corpus.errors
    return out
