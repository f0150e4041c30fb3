"""The interface between the index service and its storage: what ``service`` may ask of an index.

Two backends implement it: ``local.LocalIndex`` (a directory: the feature store's shards plus a
manifest, the embedded default) and ``redis.RedisIndex`` (a Redis server or cluster, shared by many
workers). Both are ``shards.ShardIndex`` and differ only in where the manifest lives and how a change
is made durable, so the service never knows which it talks to (datasketch's ``storage.py`` keeps
Redis out of its algorithms the same way).

Logical content, the same in both: per article its row (the feature store's ``DOC_SCHEMA`` columns),
text, paragraph spans, distinct shingle fingerprints and MinHash signature; an inverted index
fingerprint → articles; the map id → article of the live articles. Articles are addressed by
*refs*: non-negative integers valid within one opened index (a local compaction renumbers them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl

from ..featurestore import Shard, StoreError

INDEX_FORMAT = "dedup-index"
INDEX_VERSION = 2  # 2: the Redis layout of shards plus a manifest (a local index of version 1 reads as is)
DEFAULT_NAME = "default"
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


class IndexFailure(StoreError):
    """The index went away while working (a Redis connection lost mid-run); the message is one line."""


def check_name(name: str) -> str:
    """An index name (the Redis key prefix): letters, digits, ``_ . -``, at most 100."""
    if not _NAME.fullmatch(name):
        raise StoreError(f"invalid index name {name!r}: use letters, digits, '_', '.', '-' (at most 100)")
    return name


class IndexBackend(Protocol):
    """What the index service uses of an index; ``shards.ShardIndex`` implements it for both backends."""

    location: str  # what the user named it by (a folder, or a Redis URL without credentials)
    params: dict  # k, num_perm, seed it was built with
    root: Path  # the folder of its shards (a Redis index's local cache)
    shard_names: list[str]
    removed: dict[str, list[int]]

    def refresh(self) -> None:
        """Re-read the manifest: see what other writers committed."""

    def preload(self) -> None:
        """Read every shard's look-up tables once (a long-lived reader's first query is then fast)."""

    def holders(
        self, fps: np.ndarray, skip: Callable[[np.ndarray], np.ndarray] | None = None, kept: Any = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(position in ``fps``, ref) of every live holder of the sorted fingerprints ``fps``; a bool per
        fingerprint whose holders ``skip(counts)`` left out; and the holders' counts. ``kept``: (a cache, a key
        naming ``fps``) where what does not change between calls may be kept (``ShardIndex.holders``)."""

    def sizes(self, refs: np.ndarray) -> np.ndarray:
        """Distinct shingles of each article."""

    def rows(self, refs: np.ndarray) -> pl.DataFrame:
        """The feature store's rows (``DOC_SCHEMA``) of the articles."""

    def texts(self, refs: Sequence[int]) -> list[str]: ...

    def paragraphs(self, refs: Sequence[int]) -> list[np.ndarray]: ...

    def live_hashes(self, ids: Sequence[str]) -> dict[str, int]:
        """Content hash of each live article among ``ids``."""

    def writing(self) -> AbstractContextManager[None]:
        """The write lock: one writer at a time, across processes (and machines, for Redis)."""

    def staging(self) -> Path:
        """A fresh folder for phase-1 shards on their way in."""

    def append(self, shard: Shard, keep: np.ndarray, replace: Sequence[str]) -> None:
        """Commit the ``keep`` rows of a phase-1 shard, removing the live articles ``replace`` names."""

    def remove(self, ids: Sequence[str]) -> int:
        """Tombstone the live articles with these ids; how many were found."""
