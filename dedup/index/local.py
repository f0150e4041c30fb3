"""The embedded index backend: a directory holding feature-store shards plus a manifest.

Layout (``INDEX_VERSION`` 2; version 1 is read as is)::

    index.json     {"format": "dedup-index", "version": 2, "params": {"k": 5, "num_perm": 128, "seed": 1},
                    "shards": ["<name>", ...], "removed": {"<name>": [row, ...]}}
    lock           flock(2)-ed by writers, so adds from several processes queue up
    shards/<name>  one feature-store shard each (see ``dedup.store``), written once, never changed
    trash/         shards merged away, kept a few minutes for readers of the previous manifest

Writes are append-only: a new shard is written and fsync-ed under a temporary name, renamed into
``shards/``, and only then listed by a new ``index.json`` (written to a temporary file, fsync-ed,
renamed over the old one, directory fsync-ed). A process killed at any moment leaves the previous
or the new manifest, both complete; shards it left unlisted are deleted by the next writer.
Removing or replacing an article lists its row under ``removed`` (a tombstone); merges (after each
add, see ``merge``) and ``compact`` rewrite shards without those rows and swap them in the same way.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..featurestore import StoreError, read_manifest, write_manifest
from .backend import INDEX_FORMAT, INDEX_VERSION
from .shards import ShardIndex, check_manifest, fsync_path, fsync_tree


class LocalIndex(ShardIndex):
    """An index in a local directory (see the module docstring); opening reads one consistent manifest."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        params: dict | None = None,
        create: bool = False,
        reuse: Sequence[ShardIndex] = (),
    ) -> None:
        self._init_shards(Path(root), reuse)
        self.location = str(root)
        self._manifest = self.root / "index.json"
        self._seen: tuple[int, int] | None = None
        self.gen = 0  # the manifest's generation: one more at each commit
        if create and not self._manifest.exists():
            if self.root.exists() and not self.root.is_dir():
                raise StoreError(f"{self.root}: exists and is not a directory")
            if self.root.is_dir() and any(p.name != "lock" for p in self.root.iterdir()):
                raise StoreError(f"{self.root}: not an index (no index.json) and not empty; refusing to write there")
            (self.root / "shards").mkdir(parents=True, exist_ok=True)
            with self._locked():
                if not self._manifest.exists():
                    self.params = dict(params or {})
                    self._commit([], {}, [], [])
        self._load()

    # ------------------------------------------------------------------ manifest and lock

    def _load(self) -> None:
        try:
            st = self._manifest.stat()
        except OSError:
            st = None
        meta = read_manifest(self._manifest, INDEX_FORMAT, INDEX_VERSION, "dedup index")
        self._set_manifest(*check_manifest(meta, str(self._manifest)))
        gen = meta.get("gen", 0)
        self.gen = gen if type(gen) is int and gen >= 0 else 0
        self._seen = (st.st_ino, st.st_mtime_ns) if st else None
        for name in self.shard_names:
            self._shard(name)  # a listed shard that is missing is a one-line error now, not mid-query

    def refresh(self) -> None:
        """Read the manifest again if another process has replaced it (one ``stat``)."""
        now = self.generation()
        if now is not None and now != self._seen:
            self._load()

    def generation(self) -> tuple[int, int] | None:
        """The manifest's inode and modification time: every commit renames a new file over it."""
        try:
            st = self._manifest.stat()
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns

    @property
    def seen_generation(self) -> tuple[int, int] | None:
        return self._seen

    def _write(self, body: dict) -> None:
        write_manifest(self._manifest, {"format": INDEX_FORMAT, "version": INDEX_VERSION, **body})

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
            self._clean()
            for p in self.root.glob(".index.*"):
                p.unlink(missing_ok=True)
            yield

    def _commit(self, names: list[str], removed: dict[str, list[int]], new: list[str], gone: list[str]) -> None:
        for name in new:
            fsync_tree(self.root / "shards" / name)
        if new:
            fsync_path(self.root / "shards", directory=True)
        removed = {k: sorted(v) for k, v in removed.items()}
        self._write({"params": self.params, "gen": self.gen + 1, "shards": names, "removed": removed})
        self._retire(gone)
        self._load()

    # ------------------------------------------------------------------ the interface

    def holders(self, fps, skip=None, kept=None):
        self.refresh()
        return super().holders(fps, skip, kept)

    def stats(self) -> dict:
        size = sum(f.stat().st_size for f in (self.root / "shards").rglob("*") if f.is_file())
        return {
            "location": self.location,
            "backend": "local",
            **self._counts(),
            "format_version": INDEX_VERSION,
            "bytes": size,
        }

    def compact(self) -> None:
        """Rewrite the shards into as few as ``MAX_MERGED`` allows, without removed rows."""
        with self.writing():
            self._compact()

    def close(self) -> None:
        self._shards.clear()
