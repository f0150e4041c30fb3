"""Phase 2, step 1 (``phase2`` names the steps): the candidate pairs of a store and what they share, in
one of two modes.

``exact`` (the default): every posting list of the store (``evidence.posting_lists``); the pairs and their
shared counts come from the lists in ``phase2.match`` (``evidence.pair_evidence``). Holds about 8 bytes a
distinct shingle an article while the lists are built.

``lsh``: the pairs whose MinHash signatures (kept per article by phase 1, ``signatures.npy``) agree on
a whole band (``CandidateParams``); each band is one uint64 key an article, grouped with a sort, band by
band, so the candidate step holds a few dozen bytes an article. Then only the candidate pairs are measured,
exactly: each pair's shared fingerprints are the intersection of its two articles' fingerprint sets, read
from the store. A shared fingerprint's list holds every article of the store holding it (one more pass over
the postings, keeping only those fingerprints), so the lists are the exact mode's lists that hold a candidate
pair, and verification, boilerplate, clustering, alignment and labels run on them unchanged: text that
candidate pairs share and that recurs across the corpus (a template, stock sentences) is boilerplate as in
the exact mode. Lists that hold no candidate pair are not built: a template that a candidate article shares
only with articles that are no candidates of it still counts in that article's size.

``find`` is the one entry point (a scan, a scan with an index, or an engine running phase 2 elsewhere): it
takes the shards and returns what ``phase2`` needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .arrays import run_index
from .evidence import Evidence, Lists, doc_bits, posting_lists
from .featurestore import Shard, bucket_bounds
from .lsh import band_keys, grouped_pairs, sorted_distinct, union_pairs
from .options import ScanOptions
from .phase1.features import FP_LOW_BITS
from .verify import exact_pairs
from .workers import Executor

SIGNATURE_ROWS = 1 << 12  # signatures read at once (2 MB at 128 permutations)
POSTING_ROWS = 1 << 22  # postings read at once when gathering candidates' fingerprints
ENTRY_ROWS = 1 << 23  # fingerprints of the pairs intersected at once

Progress = Callable[[int, int], None]


@dataclass
class Candidates:
    """What phase 2 starts from: posting lists, and in ``lsh`` mode the candidate pairs' evidence (in
    ``exact`` mode ``None``: ``phase2.match`` derives it from the lists)."""

    lists: Lists
    evidence: Evidence | None


def find(
    shards: Sequence[Shard],
    bases: np.ndarray,
    sizes: np.ndarray,
    content: np.ndarray,
    has_text: np.ndarray,
    options: ScanOptions,
    spill: Path,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> Candidates:
    """The candidates of the articles of ``shards`` (``bases``: each shard's first global article; ``sizes``,
    ``content``, ``has_text``: per article, its distinct shingles, text hash and whether it has a word) in
    ``options.candidates.mode``. ``spill``: an empty working folder, kept until the boilerplate is known
    (``evidence.list_fingerprints`` reads it). ``executor``: where the exact mode's partitions are sorted (the
    LSH mode runs here); one with a ``lists_and_evidence`` (``distributed.partitioned.Partitioned``) builds the
    lists and the pair evidence itself, in partitioned tasks."""
    n = len(sizes)
    if options.candidates.mode == "exact":
        partitioned = getattr(executor, "lists_and_evidence", None)
        if partitioned is not None:  # a cluster's executor: no process holds every list or pair
            exact = exact_pairs(content, has_text)
            return Candidates(*partitioned(shards, bases, sizes, exact, options.verify, spill, progress=progress))
        # Lists too big to enumerate are stored by family (``evidence.ListGrouper``): a recurring sentence's
        # near-equal big lists hold its members once, not once a shingle.
        above = options.verify.max_enumerate
        lists = posting_lists(shards, bases, n, spill, progress=progress, executor=executor, group_above=above)
        return Candidates(lists, None)
    params = options.candidates
    bands, rows = params.banding(options.num_perm)
    steps = bands + 2
    pairs = lsh_pairs(shards, bases, sizes > 0, bands, rows, params.max_bucket, spill, progress, steps)
    extra = [exact_pairs(content, has_text)]
    if params.containment > 0:
        extra.append(containment_pairs(shards, bases, sizes, params.sample, params.containment, params.max_bucket))
    extra = [p for p in extra if len(p)]
    if extra:
        pairs = _unique_pairs(np.concatenate([pairs, *extra]))
    bits = doc_bits(n)
    entry_pair, entry_fp = shared_fingerprints(shards, bases, pairs, bits)
    keys = holders(shards, bases, sorted_distinct(entry_fp), bits)
    if progress:
        progress(bands + 1, steps)
    lists, ev = restricted_lists(pairs, entry_pair, entry_fp, keys, n, bits, spill)
    if progress:
        progress(steps, steps)
    return Candidates(lists, ev)


# ---------------------------------------------------------------------------------------------- banding


def lsh_pairs(
    shards: Sequence[Shard],
    bases: np.ndarray,
    banded: np.ndarray,
    bands: int,
    rows: int,
    max_bucket: int,
    work: Path,
    progress: Progress | None = None,
    steps: int | None = None,
) -> np.ndarray:
    """Pairs (a < b, sorted) of the articles flagged ``banded`` whose signatures agree on a whole band.

    The band keys are written to ``work``, one file a band, as the signatures are read shard by shard;
    each band is then grouped alone (a sort of one uint64 an article) and its buckets paired, a bucket
    of more than ``max_bucket`` articles as a star and a chain (``lsh.bucket_pairs``)."""
    files = [work / f"band-{b:03d}.u64" for b in range(bands)]
    owners = work / "band-owners.i64"
    handles = [open(f, "wb") for f in (*files, owners)]  # noqa: SIM115 - closed below, together
    try:
        for shard, base in zip(shards, bases.tolist()):
            for lo in range(0, shard.n, SIGNATURE_ROWS):
                hi = min(lo + SIGNATURE_ROWS, shard.n)
                keep = np.flatnonzero(banded[base + lo : base + hi])
                if not len(keep):
                    continue
                keys = band_keys(shard.rows("signatures", lo, hi)[keep], bands, rows)
                for b in range(bands):
                    handles[b].write(np.ascontiguousarray(keys[:, b]).tobytes())
                handles[-1].write((keep + base + lo).astype(np.int64).tobytes())
    finally:
        for h in handles:
            h.close()
    owner = np.fromfile(owners, dtype=np.int64)
    owners.unlink()

    def per_band() -> Iterator[np.ndarray]:
        for b, path in enumerate(files):
            keys = np.fromfile(path, dtype=np.uint64)
            path.unlink()
            yield keys
            if progress:
                progress(b + 1, steps or bands)

    return union_pairs(per_band(), owner, max_bucket)


def containment_pairs(
    shards: Sequence[Shard], bases: np.ndarray, sizes: np.ndarray, sample: int, share: float, max_bucket: int
) -> np.ndarray:
    """Pairs (a < b, sorted) of articles that share at least ``share`` of the smaller one's shingles, as seen
    on a sample of one shingle in ``sample``: those whose fingerprint falls in the first 256 / ``sample`` of
    the store's 256 buckets (a fingerprint is a hash, so that is a uniform sample; Broder's MOD-m sample, which
    estimates containment where a fixed-size MinHash cannot).

    Whole-signature bands see Jaccard similarity, and a story wrapped in a page three times its size, or a
    rewrite that keeps half of it, has a low one. A sampled shingle is kept whatever the sizes of the two
    articles, so a pair whose smaller article has s shingles and shares a fraction c of them shares about
    c * s / ``sample`` sampled ones: it is a candidate when that count reaches ``share`` * s / ``sample``
    (and at least one). Each sampled fingerprint's holders are paired (more than ``max_bucket`` of them as a
    star and a chain, as the bands' buckets), bucket by bucket, so the step holds the sampled postings of one
    bucket and one row per (pair, shared sampled fingerprint)."""
    n = len(sizes)
    bits = doc_bits(n)
    low = np.uint64((1 << bits) - 1)
    codes = []
    for bucket in range(max(1, 256 // sample)):
        parts = []
        for shard, base in zip(shards, bases.tolist()):
            fps, local = shard.bucket_rows(bucket, bucket + 1)
            if len(fps):
                parts.append((fps & ~low) | (local.astype(np.uint64) + np.uint64(base)))
        if not parts:
            continue
        keys = np.sort(np.concatenate(parts))
        found = grouped_pairs(keys & ~low, (keys & low).astype(np.int64), max_bucket)
        codes.append((found[:, 0].astype(np.uint64) << np.uint64(32)) | found[:, 1].astype(np.uint64))
    if not codes:
        return np.zeros((0, 2), dtype=np.int64)
    code = np.sort(np.concatenate(codes))
    if not len(code):
        return np.zeros((0, 2), dtype=np.int64)
    start = np.flatnonzero(np.concatenate(([True], code[1:] != code[:-1])))
    count = np.diff(np.append(start, len(code)))
    code = code[start]
    a = (code >> np.uint64(32)).astype(np.int64)
    b = (code & np.uint64(0xFFFFFFFF)).astype(np.int64)
    smaller = np.minimum(sizes[a], sizes[b])
    keep = count >= np.maximum(1.0, share * smaller / sample)
    return np.stack([a[keep], b[keep]], axis=1)


def _unique_pairs(pairs: np.ndarray) -> np.ndarray:
    """Rows (a < b), distinct, in order."""
    pairs = np.sort(pairs, axis=1)
    return np.unique(pairs[pairs[:, 0] != pairs[:, 1]], axis=0)


# ---------------------------------------------------------------------------------------------- shared counts


def _postings(shard: Shard) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """A shard's postings (fingerprints, rows) in bucket ranges of at most ``POSTING_ROWS`` (or one bucket)."""
    bounds = shard.bucket_bounds
    lo = 0
    while lo < 256:
        hi = lo + 1
        while hi < 256 and bounds[hi + 1] - bounds[lo] <= POSTING_ROWS:
            hi += 1
        yield shard.bucket_rows(lo, hi)
        lo = hi


def _fingerprint_sets(
    shards: Sequence[Shard], bases: np.ndarray, docs: np.ndarray, bits: int
) -> tuple[np.ndarray, np.ndarray]:
    """CSR (offsets, fingerprints) of the distinct fingerprints of the articles ``docs`` (ascending), each
    article's sorted, its low ``bits`` bits cleared as the posting lists clear them."""
    mask = ~np.uint64((1 << bits) - 1)
    wanted = np.zeros(int(docs[-1]) + 1 if len(docs) else 0, dtype=bool)
    wanted[docs] = True
    doc_parts, fp_parts = [], []
    for shard, base in zip(shards, bases.tolist()):
        if base >= len(wanted) or not wanted[base : base + shard.n].any():
            continue
        got_d, got_f = [], []
        for fps, local in _postings(shard):
            d = local.astype(np.int64) + base
            keep = wanted[np.minimum(d, len(wanted) - 1)] & (d < len(wanted))
            got_d.append(d[keep])
            got_f.append(fps[keep] & mask)
        d, f = np.concatenate(got_d), np.concatenate(got_f)
        order = np.argsort(d, kind="stable")  # postings are in fingerprint order: each article's stays sorted
        d, f = d[order], f[order]
        distinct = np.ones(len(d), dtype=bool)  # two fingerprints equal once truncated: one, as in the lists
        distinct[1:] = (d[1:] != d[:-1]) | (f[1:] != f[:-1])
        doc_parts.append(d[distinct])
        fp_parts.append(f[distinct])
    d = np.concatenate(doc_parts) if doc_parts else np.zeros(0, dtype=np.int64)
    f = np.concatenate(fp_parts) if fp_parts else np.zeros(0, dtype=np.uint64)
    offsets = np.searchsorted(d, np.append(docs, np.iinfo(np.int64).max)).astype(np.int64)
    offsets[-1] = len(d)
    return offsets, f


def holders(shards: Sequence[Shard], bases: np.ndarray, wanted: np.ndarray, bits: int) -> np.ndarray:
    """Every posting of the fingerprints ``wanted`` (sorted, distinct, low ``bits`` bits cleared) in the store,
    as sorted distinct keys (fingerprint | article): one pass over the postings, holding only those."""
    mask = ~np.uint64((1 << bits) - 1)
    parts = []
    if len(wanted):
        for shard, base in zip(shards, bases.tolist()):
            for fps, local in _postings(shard):
                t = fps & mask
                at = np.minimum(np.searchsorted(wanted, t), len(wanted) - 1)
                keep = wanted[at] == t
                parts.append(t[keep] | (local[keep].astype(np.uint64) + np.uint64(base)))
    return sorted_distinct(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)


def shared_fingerprints(
    shards: Sequence[Shard], bases: np.ndarray, pairs: np.ndarray, bits: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every fingerprint each pair shares, as (row of ``pairs``, fingerprint with its low ``bits`` cleared):
    the two articles' sets intersected, in batches of pairs, one sort per batch."""
    if not len(pairs):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    docs = sorted_distinct(pairs.ravel())
    offsets, fps = _fingerprint_sets(shards, bases, docs, bits)
    ra, rb = np.searchsorted(docs, pairs[:, 0]), np.searchsorted(docs, pairs[:, 1])
    la, lb = offsets[ra + 1] - offsets[ra], offsets[rb + 1] - offsets[rb]
    low = max(bits, FP_LOW_BITS)  # the pair's number in the batch fits below the fingerprint
    most = 1 << low
    cum = np.cumsum(la + lb)
    out_pair, out_fp = [], []
    start = 0
    while start < len(pairs):
        before = int(cum[start - 1]) if start else 0
        end = int(np.searchsorted(cum, before + ENTRY_ROWS, side="right"))
        end = max(start + 1, min(end, start + most, len(pairs)))
        k, f = _intersect(offsets, fps, ra[start:end], rb[start:end], la[start:end], lb[start:end], low)
        out_pair.append(k + start)
        out_fp.append(f)
        start = end
    return np.concatenate(out_pair), np.concatenate(out_fp)


def _intersect(
    offsets: np.ndarray, fps: np.ndarray, ra: np.ndarray, rb: np.ndarray, la: np.ndarray, lb: np.ndarray, low: int
) -> tuple[np.ndarray, np.ndarray]:
    """(pair k, fingerprint) held by both rows ra[k] and rb[k] of the CSR (offsets, fps)."""

    def tagged(rows: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return fps[run_index(offsets[rows], lengths)] | np.repeat(np.arange(len(rows), dtype=np.uint64), lengths)

    both = np.intersect1d(tagged(ra, la), tagged(rb, lb), assume_unique=True)
    mask = np.uint64((1 << low) - 1)
    return (both & mask).astype(np.int64), both & ~mask


# ---------------------------------------------------------------------------------------------- lists


class _Postings:
    """Sorted (fingerprint, article) postings in memory, read as one shard by ``evidence.posting_lists``."""

    def __init__(self, fps: np.ndarray, docs: np.ndarray) -> None:
        self.fps, self.docs = fps, docs
        self.bucket_bounds = bucket_bounds(fps)

    def bucket_rows(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = int(self.bucket_bounds[lo]), int(self.bucket_bounds[hi])
        return self.fps[a:b], self.docs[a:b]


def restricted_lists(
    pairs: np.ndarray,
    entry_pair: np.ndarray,
    entry_fp: np.ndarray,
    keys: np.ndarray,
    n_docs: int,
    bits: int,
    spill: Path,
) -> tuple[Lists, Evidence]:
    """The posting lists of the fingerprints candidate pairs share, from ``keys`` (their postings: see
    ``holders``), and per pair the lists it shares: exactly its shared fingerprints (a pair shares all of a
    list's fingerprints or none). They are the exact mode's lists that hold a candidate pair.

    ``evidence.posting_lists`` builds the lists and spills, as in the exact mode, each shared
    fingerprint's list for ``evidence.list_fingerprints``; the pairs' lists are read back from there."""
    mask = np.uint64((1 << bits) - 1)
    lists = posting_lists([_Postings(keys & ~mask, keys & mask)], np.zeros(1, dtype=np.int64), n_docs, spill)  # type: ignore[list-item]
    del keys
    fp_parts, hash_parts = [], []
    for path in sorted(spill.glob("*-fp.npy")):
        fp_parts.append(np.load(path, allow_pickle=False))
        hash_parts.append(np.load(path.with_name(path.name.replace("-fp", "-list")), allow_pickle=False))
    entry_list = np.zeros(0, dtype=np.int64)
    if fp_parts:
        spilled_fp, spilled_hash = np.concatenate(fp_parts), np.concatenate(hash_parts)
        at = np.searchsorted(spilled_fp, entry_fp >> np.uint64(bits))
        entry_list = np.searchsorted(lists.hashes, spilled_hash[at]).astype(np.int64)
    codes = sorted_distinct((entry_pair.astype(np.uint64) << np.uint64(32)) | entry_list.astype(np.uint64))
    ev = Evidence(
        pairs=pairs,
        entry_pair=(codes >> np.uint64(32)).astype(np.int64),
        entry_list=(codes & np.uint64(0xFFFFFFFF)).astype(np.int64),
    )
    return lists, ev
