"""``RayExecutor``: the ``dedup.workers.Executor`` whose tasks run on a Ray cluster.

A step's context (the store, the per-article table, the pairs) is put in the cluster's object store once
per step and read once by each worker process that runs a task of it; the chunks are submitted a window
at a time (about two per CPU of the cluster, so the driver holds a bounded number of results) and their
results yielded in order.
A task runs in the driver's working directory where the node has it, so relative input paths read the
same files everywhere (the inputs must be at the same path on every node).
"""

from __future__ import annotations

import logging
import os
import socket
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import ray
import ray.exceptions

from ..workers import Label
from . import TaskError, Unreachable
from .partitioned import Partitioned

# The step whose task this worker process ran last: (its context's object id, the context). A step's context
# (the per-article table, the pairs) is read once per worker, not once per task; keyed by a unique object id,
# it never serves another step or another scan.
_last: list[Any] = [None, None]


def _run(fn: Callable[[Any, Any], Any], shared: list, chunk: Any, cwd: str) -> Any:
    """One task: ``fn(context, chunk)`` in the driver's working directory (where this node has it); ``shared``
    holds the reference of the step's context (in a list, so Ray hands it over unread)."""
    if cwd and os.getcwd() != cwd and os.path.isdir(cwd):
        os.chdir(cwd)
    key = shared[0].hex()
    if _last[0] != key:
        _last[:] = [None, None]  # let the last step's context go before reading this one
        _last[:] = [key, ray.get(shared[0])]
    return fn(_last[1], chunk)


_remote_run = ray.remote(_run)


def _reachable(address: str, timeout: float = 5.0) -> None:
    """An ``Unreachable`` at once when nothing listens at ``host:port`` (Ray itself would retry for minutes,
    logging as it goes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout).close()
    except (OSError, ValueError) as e:
        raise Unreachable(f"cannot reach the Ray cluster at {address}: {_one_line(e)}") from None


def _cluster_messages_to_log() -> None:
    """Ray's driver prints the cluster's error messages (such as a worker that died, its task to be run again)
    on stdout, where the scan's output goes, whatever ``log_to_driver`` says: they go to the ``ray`` logger
    instead (a task that fails for good is reported by ``map``, in one line). Ray offers no switch for it,
    so its printing function is wrapped; if a later Ray has none, nothing is done."""
    import ray._private.worker as driver

    show = getattr(driver, "print_to_stdstream", None)
    if show is None or getattr(show, "to_log", False):
        return

    def to_log(data: dict, ignore_prefix: bool) -> None:
        if data.get("pid") == "raylet":
            logging.getLogger("ray").info("%s", " ".join(map(str, data.get("lines", []))))
        else:
            show(data, ignore_prefix)

    to_log.to_log = True  # type: ignore[attr-defined]
    driver.print_to_stdstream = to_log


def _one_line(text: object) -> str:
    return " ".join(str(text).split()) or "failed"


class RayExecutor(Partitioned):
    """Tasks on the Ray cluster this process is connected to (see the module docstring); phase 2's posting
    lists and pair evidence in partitioned tasks (``Partitioned``)."""

    def __init__(self, retries: int = 3, partitions: int = 0) -> None:
        self.retries = retries
        # List and pair partitions of phase 2's evidence (``partitioned``; 0: one a bucket range or a CPU)
        self.partitions = partitions

    @classmethod
    def connect(cls, address: str | None, retries: int = 3, partitions: int = 0) -> RayExecutor:
        """Join (or, without ``address``, start if there is none) a cluster, quietly: no dashboard when one
        is started here, no worker output or Ray log lines on our stderr."""
        if not ray.is_initialized():
            if address is not None:
                _reachable(address)
            _cluster_messages_to_log()
            quiet = {"logging_level": logging.ERROR, "log_to_driver": False, "configure_logging": True}
            try:
                try:
                    ray.init(address=address, include_dashboard=False, **quiet)
                except ValueError:  # joining a running cluster: its dashboard is its own business
                    ray.init(address=address, **quiet)
            except Exception as e:  # noqa: BLE001 - Ray raises many kinds; each is one line for the user
                where = f"at {address}" if address else "of this machine"
                raise Unreachable(f"cannot join the Ray cluster {where}: {_one_line(e)}") from None
        return cls(retries, partitions)

    def cpus(self) -> int:
        """CPUs of the cluster (at least one)."""
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def single_host(self) -> bool:
        """Whether every live node of the cluster is on this machine."""
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        mine = ray.get_runtime_context().get_node_id()
        here = {n["NodeManagerAddress"] for n in nodes if n.get("NodeID") == mine}
        return all(n["NodeManagerAddress"] in here for n in nodes)

    def map(self, fn: Callable[[Any, Any], Any], context: Any, chunks: list, label: Label | None = None) -> Iterator:
        """``fn(context, chunk)`` for each chunk, as Ray tasks, results in order. A task's own error, or
        its worker dying more than ``retries`` times, ends the step with a ``TaskError`` naming the
        chunk's input."""
        if not chunks:
            return
        shared = ray.put(context)
        cwd = os.getcwd()
        window = 2 * self.cpus()
        task = _remote_run.options(max_retries=self.retries, retry_exceptions=False)
        pending: deque[tuple[Any, Any]] = deque()
        ahead = iter(chunks)

        def submit() -> None:
            chunk = next(ahead, None)
            if chunk is not None:
                pending.append((chunk, task.remote(fn, [shared], chunk, cwd)))

        for _ in range(window):
            submit()
        try:
            while pending:
                chunk, ref = pending.popleft()
                try:
                    out = ray.get(ref)
                except ray.exceptions.RayTaskError as e:
                    cause = e.cause if getattr(e, "cause", None) is not None else e
                    raise TaskError(_failure(label, chunk, f"{type(cause).__name__}: {_one_line(cause)}")) from None
                except ray.exceptions.RayError as e:  # the worker or its node died, more often than retried
                    why = f"{type(e).__name__} after {self.retries + 1} tries: {_one_line(e).split('. ')[0]}"
                    raise TaskError(_failure(label, chunk, why)) from None
                submit()
                yield out
        finally:  # a failed or abandoned step: its other tasks are not waited for
            for _, ref in pending:
                ray.cancel(ref)


def _failure(label: Label | None, chunk: Any, why: str) -> str:
    what = label(chunk) if label is not None else "a task"
    return f"{what}: {why}"
