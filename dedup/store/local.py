"""The embedded index backend: a directory holding feature-store shards plus a manifest.

Layout (``INDEX_VERSION`` 1)::

    index.json     {"format": "dedup-index", "version": 1, "params": {"k": 5, "num_perm": 128, "seed": 1},
                    "shards": ["<name>", ...], "removed": {"<name>": [row, ...]}}
    lock           flock(2)-ed by writers, so adds from several processes queue up
    shards/<name>  one feature-store shard each (see ``dedup.store``), written once, never changed

Writes are append-only: a new shard is written and fsync-ed under a temporary name, renamed into
``shards/``, and only then listed by a new ``index.json`` (written to a temporary file, fsync-ed,
renamed over the old one, directory fsync-ed). A process killed at any moment leaves the previous
or the new manifest, both complete; shards it left unlisted are deleted by the next writer.
Removing or replacing an article lists its row under ``removed`` (a tombstone); ``compact`` merges
the shards into few, without those rows, and swaps them in the same way.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import polars as pl

from . import (
    DOC_SCHEMA,
    Shard,
    ShardData,
    StoreError,
    bucket_bounds,
    publish_shard,
    read_manifest,
    stage_shard,
    write_manifest,
)
from .backend import INDEX_FORMAT, INDEX_VERSION

COMPACT_DOCS = 50_000  # articles per shard after compaction (bounds its memory: one shard at a time)


def _fsync_path(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for f in path.iterdir():
        _fsync_path(f)
    _fsync_path(path, directory=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def merge_shards(shards: Sequence[Shard], keeps: Sequence[np.ndarray]) -> ShardData:
    """One shard's data holding the rows ``keeps[i]`` (bool per row) of each of ``shards``, in order."""
    frames, texts, paras, para_counts, sigs, fps, docs = [], [], [], [], [], [], []
    base = 0
    for s, keep in zip(shards, keeps):
        rows = np.flatnonzero(keep)
        frames.append(s.docs[rows])
        texts.extend(s.text(int(r)) for r in rows)
        off = np.asarray(s.array("para_offsets"))
        counts = (off[1:] - off[:-1])[rows]
        idx = np.repeat(off[rows] - (np.cumsum(counts) - counts), counts) + np.arange(int(counts.sum()))
        paras.append(np.asarray(s.array("paragraphs")).reshape(-1, 2)[idx])
        para_counts.append(counts)
        sigs.append(np.asarray(s.array("signatures"))[rows])
        p_docs = np.asarray(s.array("posting_docs"))
        live = keep[p_docs]
        renumber = (np.cumsum(keep) - 1 + base).astype(np.uint32)
        fps.append(np.asarray(s.array("postings"))[live])
        docs.append(renumber[p_docs[live]])
        base += len(rows)
    frame = pl.concat(frames) if frames else pl.DataFrame(schema=DOC_SCHEMA)
    counts = np.concatenate(para_counts) if para_counts else np.zeros(0, np.int64)
    para_offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=para_offsets[1:])
    all_fps = np.concatenate(fps) if fps else np.zeros(0, np.uint64)
    all_docs = np.concatenate(docs) if docs else np.zeros(0, np.uint32)
    order = np.lexsort((all_docs, all_fps))
    return ShardData(
        docs={c: frame[c] for c in frame.columns},
        texts=texts,
        paragraphs=np.concatenate(paras) if paras else np.zeros((0, 2), np.int64),
        para_offsets=para_offsets,
        postings=all_fps[order],
        posting_docs=all_docs[order],
        bucket_bounds=bucket_bounds(all_fps[order]),
        signatures=np.concatenate(sigs) if sigs else np.zeros((0, 0), np.uint32),
    )


class LocalIndex:
    """An index in a local directory (see the module docstring); opening reads one consistent manifest."""

    def __init__(self, root: str | os.PathLike[str], params: dict | None = None, create: bool = False) -> None:
        self.root = Path(root)
        self.location = str(root)
        self._manifest = self.root / "index.json"
        if create and not self._manifest.exists():
            if self.root.exists() and not self.root.is_dir():
                raise StoreError(f"{self.root}: exists and is not a directory")
            if self.root.is_dir() and any(p.name != "lock" for p in self.root.iterdir()):
                raise StoreError(f"{self.root}: not an index (no index.json) and not empty; refusing to write there")
            (self.root / "shards").mkdir(parents=True, exist_ok=True)
            with self._locked():
                if not self._manifest.exists():
                    self.params, self.shard_names, self.removed = dict(params or {}), [], {}
                    self._write_manifest()
        self._load()

    # ------------------------------------------------------------------ manifest and lock

    def _load(self) -> None:
        meta = read_manifest(self._manifest, INDEX_FORMAT, INDEX_VERSION, "dedup index")
        shards, removed, params = meta.get("shards"), meta.get("removed"), meta.get("params")
        ok = isinstance(shards, list) and all(isinstance(s, str) and "/" not in s for s in shards)
        ok = ok and isinstance(removed, dict) and isinstance(params, dict)
        ok = ok and all(isinstance(v, list) and all(isinstance(r, int) for r in v) for v in removed.values())
        if not ok:
            raise StoreError(f"{self._manifest}: corrupt index manifest")
        self.params, self.shard_names, self.removed = params, list(shards), {k: list(v) for k, v in removed.items()}
        self._shards: dict[str, Shard] = {}
        self._frame: pl.DataFrame | None = None
        self._bases: np.ndarray | None = None
        self._alive: np.ndarray | None = None
        for name in self.shard_names:
            if not (self.root / "shards" / name / "docs.parquet").is_file():
                raise StoreError(f"{self.root}: shard {name} listed in index.json is missing or incomplete")

    def _write_manifest(self) -> None:
        body = {
            "format": INDEX_FORMAT,
            "version": INDEX_VERSION,
            "params": self.params,
            "shards": self.shard_names,
            "removed": {k: sorted(v) for k, v in self.removed.items() if v},
        }
        write_manifest(self._manifest, body)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.root / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._locked():
            self._load()  # another writer may have committed since we opened
            listed = set(self.shard_names)
            for p in (self.root / "shards").iterdir():  # left by a writer that was killed
                if p.name not in listed:
                    shutil.rmtree(p, ignore_errors=True)
            for p in self.root.glob(".index.*"):
                p.unlink(missing_ok=True)
            for p in self.root.glob(".staging-*"):  # phase 1 output of a writer that is gone
                pid = p.name.split("-")[1]
                if pid.isdigit() and not _running(int(pid)):
                    shutil.rmtree(p, ignore_errors=True)
            yield

    # ------------------------------------------------------------------ reading

    def _shard(self, name: str) -> Shard:
        if name not in self._shards:
            self._shards[name] = Shard(self.root / "shards" / name)
        return self._shards[name]

    @property
    def bases(self) -> np.ndarray:
        if self._bases is None:
            counts = [len(self._shard(n).array("text_offsets")) - 1 for n in self.shard_names]
            self._bases = np.zeros(len(counts) + 1, dtype=np.int64)
            np.cumsum(counts, out=self._bases[1:])
        return self._bases

    @property
    def alive(self) -> np.ndarray:
        """Bool per ref: not removed."""
        if self._alive is None:
            alive = np.ones(int(self.bases[-1]), dtype=bool)
            for k, name in enumerate(self.shard_names):
                rows = np.asarray(self.removed.get(name, []), dtype=np.int64)
                alive[rows + self.bases[k]] = False
            self._alive = alive
        return self._alive

    @property
    def frame(self) -> pl.DataFrame:
        if self._frame is None:
            frames = [self._shard(n).docs for n in self.shard_names]
            self._frame = pl.concat(frames) if frames else pl.DataFrame(schema=DOC_SCHEMA)
        return self._frame

    def _locate(self, refs: Sequence[int]) -> Iterator[tuple[Shard, int]]:
        ks = np.searchsorted(self.bases, np.asarray(refs, dtype=np.int64), side="right") - 1
        for r, k in zip(refs, ks.tolist()):
            yield self._shard(self.shard_names[k]), int(r) - int(self.bases[k])

    def holders(self, fps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos, refs = [], []
        for k, name in enumerate(self.shard_names):
            postings = self._shard(name).array("postings")
            lo = np.searchsorted(postings, fps, "left")
            hi = np.searchsorted(postings, fps, "right")
            n = hi - lo
            if not n.any():
                continue
            total = int(n.sum())
            idx = np.repeat(lo - (np.cumsum(n) - n), n) + np.arange(total)
            pos.append(np.repeat(np.arange(len(fps), dtype=np.int64), n))
            refs.append(np.asarray(self._shard(name).array("posting_docs"))[idx].astype(np.int64) + self.bases[k])
        if not pos:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        p, r = np.concatenate(pos), np.concatenate(refs)
        live = self.alive[r]
        p, r = p[live], r[live]
        order = np.lexsort((r, p))
        return p[order], r[order]

    def rows(self, refs: np.ndarray) -> pl.DataFrame:
        return self.frame[np.asarray(refs, dtype=np.int64)]

    def texts(self, refs: Sequence[int]) -> list[str]:
        return [s.text(r) for s, r in self._locate(refs)]

    def paragraphs(self, refs: Sequence[int]) -> list[np.ndarray]:
        return [s.paragraphs(r).reshape(-1, 2) for s, r in self._locate(refs)]

    def live_frame(self) -> pl.DataFrame:
        """id and content_hash of every live article, with its ref."""
        f = self.frame.select("id", "content_hash").with_row_index("ref")
        return f.filter(pl.Series(self.alive))

    def live_hashes(self, ids: Sequence[str]) -> dict[str, int]:
        hit = self.live_frame().filter(pl.col("id").is_in(list(ids)))
        return dict(zip(hit["id"].to_list(), hit["content_hash"].to_list()))

    def stats(self) -> dict:
        size = sum(f.stat().st_size for f in self.root.rglob("*") if f.is_file())
        postings = sum(len(self._shard(n).array("postings")) for n in self.shard_names)
        return {
            "location": self.location,
            "backend": "local",
            "format_version": INDEX_VERSION,
            "params": self.params,
            "articles": int(self.alive.sum()),
            "removed_pending": int((~self.alive).sum()),
            "shards": len(self.shard_names),
            "postings": postings,
            "bytes": size,
        }

    # ------------------------------------------------------------------ writing (hold ``writing``)

    def _remove_refs(self, refs: np.ndarray) -> None:
        for s_k, row in zip(*self._split(refs)):
            self.removed.setdefault(self.shard_names[s_k], []).append(row)

    def _split(self, refs: np.ndarray) -> tuple[list[int], list[int]]:
        ks = np.searchsorted(self.bases, refs, side="right") - 1
        return ks.tolist(), (refs - self.bases[ks]).tolist()

    def _refs_of(self, ids: Sequence[str]) -> np.ndarray:
        hit = self.live_frame().filter(pl.col("id").is_in(list(ids)))
        return hit["ref"].to_numpy().astype(np.int64)

    def staging(self) -> Path:
        """A fresh folder for phase 1's shards, on this index's file system (so they can be renamed in)."""
        return Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-", dir=self.root))

    def append(self, shard: Shard, keep: np.ndarray, replace: Sequence[str]) -> None:
        name = f"{time.time_ns():x}-{os.getpid()}"
        final = self.root / "shards" / name
        if keep.all() and shard.path.stat().st_dev == self.root.stat().st_dev:
            os.replace(shard.path, final)  # staged by phase 1 here: taken as it is
        else:
            data = merge_shards([shard], [keep])
            publish_shard(self.root, name, stage_shard(self.root, name, data), data.docs)
        _fsync_tree(final)
        _fsync_path(self.root / "shards", directory=True)
        if replace:
            self._remove_refs(self._refs_of(replace))
        self.shard_names.append(name)
        self._write_manifest()
        self._load()

    def remove(self, ids: Sequence[str]) -> int:
        refs = self._refs_of(ids)
        if len(refs):
            self._remove_refs(refs)
            self._write_manifest()
            self._load()
        return len(refs)

    def compact(self) -> None:
        """Merge the shards into shards of up to ``COMPACT_DOCS`` live articles; drop removed rows."""
        with self.writing():
            old = list(self.shard_names)
            alive = self.alive
            groups: list[list[int]] = [[]]
            count = 0
            for k in range(len(old)):
                n = int(alive[self.bases[k] : self.bases[k + 1]].sum())
                if groups[-1] and count + n > COMPACT_DOCS:
                    groups.append([])
                    count = 0
                groups[-1].append(k)
                count += n
            new = []
            for g, ks in enumerate(groups):
                if not ks:
                    continue
                data = merge_shards(
                    [self._shard(old[k]) for k in ks], [alive[self.bases[k] : self.bases[k + 1]] for k in ks]
                )
                if not len(data.texts):
                    continue
                name = f"{time.time_ns():x}-{os.getpid()}-c{g:03d}"
                publish_shard(self.root, name, stage_shard(self.root, name, data), data.docs)
                _fsync_tree(self.root / "shards" / name)
                new.append(name)
            _fsync_path(self.root / "shards", directory=True)
            self.shard_names, self.removed = new, {}
            self._write_manifest()
            for name in old:
                shutil.rmtree(self.root / "shards" / name, ignore_errors=True)
            self._load()

    def close(self) -> None:
        self._shards.clear()
