"""The persistent index: articles kept between runs, to query new ones against (``service``), on a
declared storage interface (``backend.IndexBackend``) with a local and a Redis backend.

``open_index(location)`` picks the backend from the location's form.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..featurestore import StoreError
from .backend import DEFAULT_NAME, IndexBackend, IndexFailure, check_name

__all__ = ["IndexBackend", "IndexFailure", "StoreError", "open_index", "with_next_step"]


def open_index(
    location: str, params: dict | None = None, create: bool = False, name: str | None = None, reuse: Sequence = ()
) -> IndexBackend:
    """The index at ``location``: ``redis://host:port/db`` (``rediss://``, ``unix://``) or
    ``redis+cluster://host:port`` for Redis, with the index name in the URL fragment
    (``redis://host:6379/0#news``) or ``name`` (default ``default``); anything else is a local
    directory. ``create``: make it when missing, with ``params`` (k, num_perm, seed). A Redis URL may
    hold ``user:password@``; else they come from ``DEDUP_REDIS_USERNAME``, ``DEDUP_REDIS_PASSWORD`` or
    ``DEDUP_REDIS_PASSWORD_FILE``; the index's ``location`` never shows them. ``reuse``: open handles on the same
    index whose shards, already checked and read, the new handle shares (``dedup serve``'s snapshots)."""
    if re.match(r"(redis|rediss|unix|redis\+cluster)://", location):
        from .redis import RedisIndex

        url, _, frag = location.partition("#")
        return RedisIndex(url, check_name(name or frag or DEFAULT_NAME), params=params, create=create, reuse=reuse)
    from .local import LocalIndex

    if name is not None:
        raise StoreError("--name applies to a Redis index only (a local index is its directory)")
    return LocalIndex(location, params=params, create=create, reuse=reuse)


def with_next_step(message: str) -> str:
    """An index's error with what to do next, where the index is not there at all."""
    if "not a dedup index" in message and "no index.json" in message or message.endswith("not a dedup index"):
        return f"{message}; make one with 'dedup index add PATH... --index LOCATION', or check --index"
    return message
