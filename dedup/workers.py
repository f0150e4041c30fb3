"""Worker processes for both phases: forked, leaving Ctrl-C to the parent, dying with it.

A phase hands its workers what they read (the store, the per-article table, the pairs) through the
pool's initializer: fork copies it into each worker once, nothing is pickled, and nothing is read from
the parent's module state, so two scans in two threads of one process never see each other's data.

The phases fan their steps out through an ``Executor`` (``fn(context, chunk)`` over chunks, results in
order): ``Processes`` and ``Threads`` here, or a Ray cluster (``dedup.distributed``). The step's code is
the same whichever runs it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, Protocol

# The context of the pool this worker process belongs to (set once by ``_start``, in the worker only).
_POOL_CONTEXT: Any = None


def ignore_interrupts(parent: int | None = None) -> None:
    """Workers leave Ctrl-C to the parent, which stops the pool and reports it once, and die with it: a
    parent killed outright (SIGKILL) would otherwise leave them waiting for work forever."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if parent is not None and os.getppid() != parent:  # it died before prctl took effect
            os._exit(1)


def _start(parent: int, context: Any) -> None:
    global _POOL_CONTEXT
    ignore_interrupts(parent)
    _POOL_CONTEXT = context


def _call(fn: Callable[[Any, Any], Any], chunk: Any) -> Any:
    return fn(_POOL_CONTEXT, chunk)


def pool_context():
    """Fork where there is one: spawn would re-run a library user's unguarded ``__main__`` in every
    worker. Workers use numpy only (never polars, whose thread pool does not survive a fork)."""
    import multiprocessing

    return get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")


def worker_pool(n: int, context: Any = None) -> ProcessPoolExecutor:
    """``n`` forked workers that leave Ctrl-C to us, die with us, and hold ``context`` (see the module)."""
    return ProcessPoolExecutor(
        max_workers=n, mp_context=pool_context(), initializer=_start, initargs=(os.getpid(), context)
    )


def fan_out(fn: Callable[[Any, Any], Any], context: Any, chunks: list, workers: int) -> Iterator:
    """``fn(context, chunk)`` over the chunks in order: in forked worker processes when there are several
    chunks and workers, else here."""
    if workers > 1 and len(chunks) > 1:
        from functools import partial

        with worker_pool(min(workers, len(chunks)), context) as pool:
            yield from pool.map(partial(_call, fn), chunks)
    else:
        for chunk in chunks:
            yield fn(context, chunk)


Label = Callable[[Any], str]  # names what a chunk reads, for a failed task's one-line error


class Executor(Protocol):
    """Runs ``fn(context, chunk)`` over ``chunks`` and yields the results in order. ``fn`` is a module-level
    function and a pure function of its arguments (a retried chunk gives the same result); ``label(chunk)``
    names the chunk's input in an error."""

    def map(self, fn: Callable[[Any, Any], Any], context: Any, chunks: list, label: Label | None = None) -> Iterator:
        """``fn(context, chunk)`` for each chunk, in order."""
        ...


class Processes:
    """Forked worker processes on this machine (``fan_out``); one worker or one chunk runs here."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1

    def map(self, fn: Callable[[Any, Any], Any], context: Any, chunks: list, label: Label | None = None) -> Iterator:
        return fan_out(fn, context, chunks, self.workers)


class Threads:
    """Threads of this process, for steps whose work releases the GIL (numpy sorts)."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads or min(2, os.cpu_count() or 1)

    def map(self, fn: Callable[[Any, Any], Any], context: Any, chunks: list, label: Label | None = None) -> Iterator:
        if self.threads > 1 and len(chunks) > 1:
            from concurrent.futures import ThreadPoolExecutor
            from functools import partial

            with ThreadPoolExecutor(max_workers=min(self.threads, len(chunks))) as pool:
                yield from pool.map(partial(fn, context), chunks)
        else:
            for chunk in chunks:
                yield fn(context, chunk)
