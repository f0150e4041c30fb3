"""The persistent index's storage interface: what the index algorithm asks of a backend.

Two backends implement it: ``local.LocalIndex`` (a directory: the feature store's shards plus a
manifest, the embedded default) and ``redis.RedisIndex`` (a Redis server or cluster, shared by many
workers). ``open_index(location)`` picks one from the location's form, so ``dedup.archive`` never
knows which it talks to.

Logical content, the same in both: per article its row (the feature store's ``DOC_SCHEMA`` columns),
text, paragraph spans, distinct shingle fingerprints and MinHash signature; an inverted index
fingerprint → articles; the map id → article of the live articles. Articles are addressed by
*refs*: non-negative integers valid within one opened index (a local compaction renumbers them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

import numpy as np
import polars as pl

from . import Shard, StoreError

INDEX_FORMAT = "dedup-index"
INDEX_VERSION = 2  # 2: the Redis layout of shards plus a manifest (a local index of version 1 reads as is)
DEFAULT_NAME = "default"
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


class IndexFailure(StoreError):
    """The index went away while working (a Redis connection lost mid-run); the message is one line."""


class IndexBackend(Protocol):
    """What the index algorithm needs from storage (see the module docstring)."""

    location: str
    params: dict

    def writing(self) -> AbstractContextManager[None]:
        """Hold the index's write lock (one writer at a time; readers never wait)."""
        ...

    def live_hashes(self, ids: Sequence[str]) -> dict[str, int]:
        """Content hash of each of ``ids`` that is a live article (call while holding ``writing``)."""
        ...

    def staging(self) -> Path:
        """A fresh folder where phase 1 writes the shards to append (the caller removes it)."""
        ...

    def append(self, shard: Shard, keep: np.ndarray, replace: Sequence[str]) -> None:
        """Add the rows ``keep`` (bool per row) of a shard phase 1 wrote, atomically (all or nothing);
        the live articles with ids in ``replace`` are removed in the same step (hold ``writing``)."""
        ...

    def remove(self, ids: Sequence[str]) -> int:
        """Remove live articles by id (call while holding ``writing``); returns how many were."""
        ...

    def compact(self) -> None:
        """Drop removed articles' data for good and merge what can be merged."""
        ...

    def stats(self) -> dict:
        """Counts for ``dedup index stats``."""
        ...

    def holders(self, fps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For sorted distinct fingerprints ``fps``: (position in ``fps``, ref) of every live article
        holding one, sorted by position then ref."""
        ...

    def rows(self, refs: np.ndarray) -> pl.DataFrame:
        """The ``DOC_SCHEMA`` rows of live articles ``refs``, in that order."""
        ...

    def texts(self, refs: Sequence[int]) -> list[str]: ...

    def paragraphs(self, refs: Sequence[int]) -> list[np.ndarray]: ...

    def close(self) -> None: ...


def check_name(name: str) -> str:
    """An index name (the Redis key prefix): letters, digits, ``_ . -``, at most 100."""
    if not _NAME.fullmatch(name):
        raise StoreError(f"invalid index name {name!r}: use letters, digits, '_', '.', '-' (at most 100)")
    return name


def open_index(location: str, params: dict | None = None, create: bool = False, name: str | None = None):
    """The index at ``location``: ``redis://host:port/db`` (``rediss://``, ``unix://``) or
    ``redis+cluster://host:port`` for Redis, with the index name in the URL fragment
    (``redis://host:6379/0#news``) or ``name`` (default ``default``); anything else is a local
    directory. ``create``: make it when missing, with ``params`` (k, num_perm, seed)."""
    if re.match(r"(redis|rediss|unix|redis\+cluster)://", location):
        from .redis import RedisIndex

        url, _, frag = location.partition("#")
        return RedisIndex(url, check_name(name or frag or DEFAULT_NAME), params=params, create=create)
    from .local import LocalIndex

    if name is not None:
        raise StoreError("--name applies to a Redis index only (a local index is its directory)")
    return LocalIndex(location, params=params, create=create)
