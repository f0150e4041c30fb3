"""The batch scan and ``index add`` on a Ray cluster: the same phases, the same code, the same result.

Nothing here is a second implementation. ``pipeline.scan`` and ``index.service.add`` run their phases on
an ``Executor`` (``dedup.workers``); this package gives them one whose tasks run on Ray (``RayExecutor``):

- the walk of the input: folders listed by tasks and their subtrees and runs of files walked by tasks
  (``walk``), in the local walk's order and by its rules, the groups of files written to the store's work
  folder, so the driver lists nothing and holds nothing per file;
- phase 1: one task per group of files (about a batch of articles) or per container file (a WARC, JSONL,
  CSV or Parquet file), each reading its files and writing its shards whole (``pipeline.read_task``: the
  store's own atomic stage-and-rename) into the store, a folder every node reads and writes;
- phase 2: posting lists and pair evidence as three steps of partitioned tasks (``partitioned``: by
  fingerprint bucket range, by list hash, by pair), meeting in the store's working folder, so no process
  combines every list or every pair; the partitions stay there, and verification asks what needs the lists'
  members or the pairs' entries of them, by tasks (``PartitionedLists``, ``PartitionedEvidence``), its reads
  of articles run as tasks over batches of pairs, clusters are a tree of union-find tasks (``components``) and
  sources and directions are decided by ranges of clusters; the driver keeps a few numbers an article, a list
  and a pair. Align and label run as tasks over batches of pairs and articles, each sent only its batch's
  table rows and pairs (``phase2``).

Every task is a pure function of its inputs (what it writes is named by its inputs and replaced whole), so
a task that Ray runs again after a worker or a node died gives the same result, and the scan's output is
the local scan's, byte for byte, whatever the number of nodes and tasks.

Ray is an optional dependency (``pip install 'dedup[ray]'``); it is imported only when ``connect`` is
called, never by ``dedup --help`` or a local scan.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..index.backend import IndexBackend
    from ..index.service import AddReport
    from ..options import Progress, ScanOptions
    from ..result import ScanResult
    from .executor import RayExecutor

INSTALL_HINT = "--ray needs Ray, which is not installed: pip install 'dedup[ray]'"

__all__ = [
    "INSTALL_HINT",
    "SharedStoreNeeded",
    "TaskError",
    "Unreachable",
    "add",
    "available",
    "check_store",
    "connect",
    "scan",
]


class TaskError(Exception):
    """A task failed on the cluster (its own error, or its worker died more often than retried); the
    message is one line naming the task's input."""


class Unreachable(Exception):
    """The cluster cannot be joined (nothing at the address, another Ray version, a token refused)."""


class SharedStoreNeeded(Exception):
    """The cluster has nodes on other machines and no store folder was given (a temporary folder on this
    machine is not where they can write)."""


def available() -> bool:
    """Whether Ray is installed (without importing it)."""
    return importlib.util.find_spec("ray") is not None


def connect(address: str | None = None, retries: int = 3, partitions: int = 0) -> RayExecutor:
    """An executor on the Ray cluster at ``address``: None or ``auto`` joins the cluster this machine is
    part of (``ray start``, ``RAY_ADDRESS``) or else starts one here; ``host:port`` joins that cluster's
    head. A task whose worker dies is run again up to ``retries`` times. ``partitions``: how many list and
    pair partitions phase 2's evidence is split into (``partitioned``; 0: one a bucket range or a CPU,
    whichever more); the result is the same whatever the number."""
    from .executor import RayExecutor

    return RayExecutor.connect(None if address in (None, "", "auto") else address, retries, partitions)


def scan(
    source: str | os.PathLike[str],
    options: ScanOptions | None = None,
    progress: Progress | None = None,
    store: str | os.PathLike[str] | None = None,
    address: str | None = None,
    extra: tuple[str | os.PathLike[str], Sequence[str]] | None = None,
    partitions: int = 0,
) -> ScanResult:
    """``pipeline.scan`` with its tasks on the Ray cluster at ``address`` (see ``connect``). ``store``: the
    folder for the features, which every node must read and write at the same path (default: a temporary
    folder on this machine, allowed only while every node of the cluster is on this machine). ``source``
    too must be at the same path on every node. ``partitions``: see ``connect``."""
    from ..pipeline import scan as local_scan

    executor = connect(address, partitions=partitions)
    check_store(executor, store)
    return local_scan(source, options, progress, store=store, extra=extra, executor=executor)


def add(
    index: IndexBackend,
    sources: Sequence[str | os.PathLike[str]],
    options: ScanOptions,
    progress: Progress | None = None,
    address: str | None = None,
) -> AddReport:
    """``index.service.add`` with phase 1 on the Ray cluster at ``address``: its shards are staged in the
    index's folder (a local index's, or a Redis index's local cache), which every node must share."""
    from ..index.service import add as local_add

    return local_add(index, sources, options, progress, executor=connect(address))


def check_store(executor: Any, store: str | os.PathLike[str] | None) -> None:
    """A ``SharedStoreNeeded`` when the store would be a temporary folder here and the cluster has nodes
    on other machines."""
    if store is None and not executor.single_host():
        raise SharedStoreNeeded(
            "the Ray cluster has nodes on other machines: give --store FOLDER, a folder every node shares "
            "(at the same path), for the scan's features"
        )
