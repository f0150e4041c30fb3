"""Opening a persistent index: ``open_index(location)`` picks the backend from the location's form.

Two backends: ``local.LocalIndex`` (a directory: the feature store's shards plus a manifest, the
embedded default) and ``redis.RedisIndex`` (a Redis server or cluster, shared by many workers). Both
are ``shardindex.ShardIndex`` — its public methods are the interface ``dedup.archive`` uses — and
differ only in where the manifest lives and how a change is made durable, so ``dedup.archive`` never
knows which it talks to.

Logical content, the same in both: per article its row (the feature store's ``DOC_SCHEMA`` columns),
text, paragraph spans, distinct shingle fingerprints and MinHash signature; an inverted index
fingerprint → articles; the map id → article of the live articles. Articles are addressed by
*refs*: non-negative integers valid within one opened index (a local compaction renumbers them).
"""

from __future__ import annotations

import re

from . import StoreError

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
