"""A real Ray cluster for the tests of this folder: a head and a second node, one CPU each, on this machine
(``dedup.distributed.local.local_cluster``: separate ``ray start`` processes, stopped when the session ends)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from dedup.distributed.local import local_cluster


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """The address (host:port) of a running two-node Ray cluster on this machine (Ray is never imported here: this
    process forks worker pools in other tests)."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("the Ray tests need the 'ray' extra: pip install -e '.[ray]'")
    with local_cluster(nodes=2, cpus=1, object_store_mb=100) as address:
        yield address
