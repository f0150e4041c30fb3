"""Merging shards: what keeps an index that grows batch by batch quick to search.

Every add appends a shard, and a query searches every shard's postings, so an index of a million
articles in 2,000-article batches would search 500 shards a query. ``merge_plan`` merges the newest
shards in tiers (``FAN_IN`` shards of one tier make one of the next; a merged shard holds at most
``MAX_MERGED`` articles), so an index holds O(FAN_IN x tiers) shards and each posting is rewritten at
most once per tier. ``merge_into`` writes the merged shard streaming: postings one fingerprint bucket
at a time (memory ~1/256 of the shard), texts copied as bytes without decoding.

A merged shard is an ordinary feature-store shard: its articles keep their order, removed rows are
left out, and its postings are sorted by (fingerprint, article) as phase 1 writes them.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from ..arrays import run_index
from ..featurestore import DOC_SCHEMA, Shard, bloom, directory_bits
from ..phase1.features import FP_MASK, MAX_BATCH

FAN_IN = 8  # shards of one tier merged into one of the next
MAX_MERGED = MAX_BATCH + 1  # articles per merged shard: a posting packs its article in the fingerprint's low bits
_CHUNK = 1 << 24  # bytes per copy of text
_LITTLE = sys.byteorder == "little"
_BUCKETS = 16  # fingerprint buckets (of 256) merged at a time: memory ~1/16 of the merged postings


def tier(n: int) -> int:
    """The tier of a shard of ``n`` articles: floor(log_FAN_IN(n))."""
    t = 0
    while n >= FAN_IN:
        n //= FAN_IN
        t += 1
    return t


def merge_plan(sizes: Sequence[int]) -> tuple[int, int] | None:
    """Shards ``[j, k)`` to merge next (the newest run of ``FAN_IN`` or more shards of the lowest tier
    that has one, as many as fit in ``MAX_MERGED`` articles), or None when none should be.

    ``sizes``: live articles per shard, oldest first. Run it again after each merge."""
    n = len(sizes)
    tiers = [tier(max(int(s), 1)) for s in sizes]
    for t in sorted(set(tiers)):
        j = n
        while j > 0 and tiers[j - 1] <= t and sizes[j - 1] < MAX_MERGED:
            j -= 1
        if n - j < FAN_IN:
            continue
        # Oldest first, as many of the run as fit; a run too big for one shard merges its oldest part.
        k, total = j, 0
        while k < n and total + int(sizes[k]) <= MAX_MERGED:
            total += int(sizes[k])
            k += 1
        if k - j >= 2:
            return j, k
    return None


def merge_into(shards: Sequence[Shard], keeps: Sequence[np.ndarray | None], root: Path, name: str) -> Path:
    """Write one shard holding the rows ``keeps[i]`` (bool per row; None: all) of each of ``shards``, in
    order, to a staged folder under ``root/shards`` (the caller renames it into place)."""
    shards_dir = root / "shards"
    shards_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=shards_dir))
    try:
        _write(shards, keeps, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def _write(shards: Sequence[Shard], keeps: Sequence[np.ndarray | None], out: Path) -> None:
    rows_of, renumber, base = [], [], 0
    for s, keep in zip(shards, keeps):
        n = len(s.array("text_offsets")) - 1
        keep = np.ones(n, dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
        rows_of.append(np.flatnonzero(keep))
        renumber.append(np.where(keep, np.cumsum(keep) - 1 + base, -1).astype(np.int64))
        base += int(keep.sum())
    if base > MAX_MERGED:
        raise ValueError(f"a merged shard holds at most {MAX_MERGED} articles, not {base}")
    # Table.
    frames = [s.docs[rows] for s, rows in zip(shards, rows_of)]
    table = pl.concat(frames) if frames else pl.DataFrame(schema=DOC_SCHEMA)
    table.write_parquet(out / "docs.parquet", compression="zstd")
    # Texts: byte ranges copied as they are; runs of kept rows are one copy each.
    text_offsets = [np.zeros(1, dtype=np.int64)]
    written = 0
    with open(out / "text.bin", "wb") as dst:
        for s, rows in zip(shards, rows_of):
            off = np.asarray(s.array("text_offsets"), dtype=np.int64)
            lengths = off[rows + 1] - off[rows]
            text_offsets.append(written + np.cumsum(lengths))
            written += int(lengths.sum())
            with open(s.path / "text.bin", "rb") as src:
                for lo, hi in _runs(rows):
                    _copy(src, dst, int(off[lo]), int(off[hi]))
    np.save(out / "text_offsets.npy", np.concatenate(text_offsets), allow_pickle=False)
    # Paragraphs and signatures: small per article.
    paras, counts, sigs = [], [], []
    for s, rows in zip(shards, rows_of):
        off = np.asarray(s.array("para_offsets"), dtype=np.int64)
        c = off[rows + 1] - off[rows]
        idx = run_index(off[rows], c)
        paras.append(np.asarray(s.array("paragraphs")).reshape(-1, 2)[idx])
        counts.append(c)
        sigs.append(np.asarray(s.array("signatures"))[rows])
    para_offsets = np.zeros(sum(len(c) for c in counts) + 1, dtype=np.int64)
    np.cumsum(np.concatenate(counts), out=para_offsets[1:])
    np.save(out / "paragraphs.npy", np.concatenate(paras).astype(np.int64), allow_pickle=False)
    np.save(out / "para_offsets.npy", para_offsets, allow_pickle=False)
    np.save(out / "signatures.npy", np.ascontiguousarray(np.concatenate(sigs)), allow_pickle=False)
    _merge_postings(shards, renumber, out)


def _npy_writer(path: Path, dtype: np.dtype, n: int):
    """An open ``.npy`` file of ``n`` items of ``dtype``, header written: the caller appends the data in order
    (sequential writes, no memory map faulting in every page)."""
    f = open(path, "wb")  # noqa: SIM115 - returned open, the caller closes it
    np.lib.format.write_array_header_1_0(f, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": (n,)})
    return f


def _merge_postings(shards: Sequence[Shard], renumber: list[np.ndarray], out: Path) -> None:
    """Postings a group of buckets at a time: each input's rows, its articles renumbered into the
    fingerprint's free low bits, one sort of the packed keys (no argsort), then split again."""
    full = all((r >= 0).all() for r in renumber)
    bases = [int(r[0]) if len(r) else 0 for r in renumber]
    total = 0
    if full:
        total = sum(len(s.array("postings")) for s in shards)
    else:
        for s, r in zip(shards, renumber):
            total += int(np.count_nonzero(r[np.asarray(s.array("posting_docs"))] >= 0))
    bounds = np.zeros(257, dtype=np.int64)
    bits = directory_bits(total)
    slots = np.zeros((1 << bits) + 1, dtype=np.int32 if total < 2**31 else np.int64)
    per = 1 << (bits - 8)  # directory slots per bucket
    seen = np.zeros(1 << bloom.size_bits(total), dtype=bool)  # the Bloom filter, unpacked while it is built
    at = 0
    with (
        _npy_writer(out / "postings.npy", np.uint64, total) as f_fps,
        _npy_writer(out / "posting_docs.npy", np.uint32, total) as f_docs,
    ):
        for b0 in range(0, 256, _BUCKETS):
            b1 = b0 + _BUCKETS
            parts = []
            for s, r, base in zip(shards, renumber, bases):
                f, d = s.bucket_rows(b0, b1)
                if full:  # the shard's articles keep their order: renumbering adds its base
                    parts.append(f | (d.astype(np.uint64) + np.uint64(base)))
                else:
                    new = r[d]
                    live = new >= 0
                    parts.append(f[live] | new[live].astype(np.uint64))
            keys = np.concatenate(parts) if parts else np.zeros(0, np.uint64)
            keys.sort()
            if _LITTLE:  # the low 16 bits: every fourth 16-bit word, without a temporary of 64-bit masks
                docs = keys.view(np.uint16)[::4].astype(np.uint32)
            else:
                docs = (keys & np.uint64(0xFFFF)).astype(np.uint32)
            keys &= FP_MASK
            edges = np.arange(b0 * per, b1 * per, dtype=np.uint64) << np.uint64(64 - bits)
            slots[b0 * per : b1 * per] = np.searchsorted(keys, edges) + at
            bucket_edges = np.arange(b0, b1, dtype=np.uint64) << np.uint64(56)
            bounds[b0 + 1 : b1 + 1] = np.append(np.searchsorted(keys, bucket_edges[1:]), len(keys)) + at
            keys.tofile(f_fps)
            docs.tofile(f_docs)
            if len(keys):  # a fingerprint never spans two groups of buckets
                bloom.build(seen, keys[np.concatenate(([True], keys[1:] != keys[:-1]))])
            at += len(keys)
    assert at == total
    slots[-1] = total
    np.save(out / "bucket_bounds.npy", bounds, allow_pickle=False)
    np.save(out / "directory.npy", slots, allow_pickle=False)
    np.save(out / "filter.npy", bloom.pack(seen), allow_pickle=False)


def _runs(rows: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive row numbers as [first, last + 1) pairs."""
    if not len(rows):
        return []
    breaks = np.flatnonzero(np.diff(rows) != 1)
    starts = np.r_[rows[0], rows[breaks + 1]]
    ends = np.r_[rows[breaks], rows[-1]] + 1
    return list(zip(starts.tolist(), ends.tolist()))


def _copy(src, dst, lo: int, hi: int) -> None:
    """Bytes [lo, hi) of ``src`` appended to ``dst``, in the kernel where it can (copy_file_range)."""
    left = hi - lo
    try:
        dst.flush()
        while left > 0:
            n = os.copy_file_range(src.fileno(), dst.fileno(), min(left, 1 << 30), lo + (hi - lo - left))
            if n <= 0:
                break
            left -= n
        dst.seek(0, os.SEEK_END)
    except (AttributeError, OSError):
        pass
    src.seek(lo + (hi - lo - left))
    while left > 0:
        chunk = src.read(min(left, _CHUNK))
        if not chunk:
            raise OSError(f"{src.name}: shorter than its offsets say")
        dst.write(chunk)
        left -= len(chunk)
