"""Worker processes for both phases: forked, leaving Ctrl-C to the parent, dying with it.

A scan keeps one pool of workers for all its steps (``Pool``: reading, align, label), forked while the
scan is small; each step's context (the store, the parameters, the boilerplate) is pickled once to a file
its workers read. Elsewhere (``fan_out``: an index's reading, match's probes) a step forks its own pool and
hands it the context through the pool's initializer: fork copies it into each worker once, nothing is
pickled. Either way nothing is read from the parent's module state, so two scans in two threads of one
process never see each other's data.

The phases fan their steps out through an ``Executor`` (``fn(context, chunk)`` over chunks, results in
order): ``Processes`` and ``Threads`` here, or a Ray cluster (``dedup.distributed``). The step's code is
the same whichever runs it.
"""

from __future__ import annotations

import contextlib
import itertools
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


def _start_kept(parent: int) -> None:
    """A kept worker (``Pool``): as ``_start``, and its heap keeps the pages its batches free for the next
    batch (glibc: buffers up to 32 MB from the heap, no trimming while a step runs) instead of giving them
    back and faulting them in again, page by page, for each batch; ``_trim`` gives them back between steps."""
    _start(parent, None)
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None)
            libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
            libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD


# The context a kept worker loaded last (``Pool.map``): (its file, the context), in the worker only.
_LOADED: tuple[str, Any] | None = None


def _call_loaded(fn: Callable[[Any, Any], Any], path: str, chunk: Any) -> Any:
    """``fn(context, chunk)`` in a kept worker, the step's context read from ``path`` on its first chunk."""
    global _LOADED
    if _LOADED is None or _LOADED[0] != path:
        import pickle

        _LOADED = None  # the last step's context, freed before the next is read
        with open(path, "rb") as f:
            _LOADED = (path, pickle.load(f))
    return fn(_LOADED[1], chunk)


def _trim(pause: float) -> None:
    """A kept worker between steps: the last step's context dropped and the heap's free pages given back
    (glibc), so that it holds little more than the interpreter, not its largest batch, while it waits.
    ``pause`` keeps it busy a moment, so that each worker takes one of the step's ``Pool.settle`` calls."""
    global _LOADED
    import time

    _LOADED = None
    time.sleep(pause)
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).malloc_trim(0)


def _kept_pickler() -> type:
    import pickle

    class KeptPickler(pickle.Pickler):
        """Pickles an object with a ``kept_reduce`` method by it (what a scan's own workers may take from
        this process as forked workers would, e.g. a store's shards as checked here); else as usual."""

        def reducer_override(self, obj: Any) -> Any:
            reduce = getattr(type(obj), "kept_reduce", None)
            return NotImplemented if reduce is None else reduce(obj)

    return KeptPickler


class Pool:
    """Worker processes forked once, when a scan's first step needs them (phase 1's reading, while this
    process is still small), and kept for all its steps (reading, align, label). Forking for each step
    instead made this process copy, page by page, whatever it wrote after each fork (by then it holds the
    table, the lists, the pairs): most of a 20,000-article scan's extra page faults. A step's context is
    pickled once to a file that each worker reads on its first chunk of the step. A scan too small for
    more than one chunk a step forks none. Use as a context manager; ``map`` as ``fan_out``."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._dir: Any = None
        self._steps = 0

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import tempfile

            self._dir = tempfile.TemporaryDirectory(prefix="dedup-steps-")
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=pool_context(), initializer=_start_kept, initargs=(os.getpid(),)
            )
        return self._pool

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a worker (a future); ``fn`` and its arguments are pickled."""
        return self._started().submit(fn, *args)

    def map(self, fn: Callable[[Any, Any], Any], context: Any, chunks: list) -> Iterator:
        """``fn(context, chunk)`` over the chunks in order, in the workers (here for a single chunk)."""
        if len(chunks) <= 1:
            for chunk in chunks:
                yield fn(context, chunk)
            return
        import pickle
        from functools import partial

        pool = self._started()
        self._steps += 1
        path = os.path.join(self._dir.name, f"step-{self._steps}.pickle")
        with open(path, "wb") as f:
            _kept_pickler()(f, protocol=pickle.HIGHEST_PROTOCOL).dump(context)
        try:
            yield from pool.map(partial(_call_loaded, fn, path), chunks)
        finally:
            os.unlink(path)
        self.settle()

    def settle(self) -> None:
        """At the end of a step: each worker drops what the step left (``_trim``)."""
        if self._pool is not None:
            for _ in self._pool.map(_trim, [0.02] * (2 * self.workers)):
                pass

    def close(self) -> None:
        """Stop the workers (tasks not started are cancelled) and remove the contexts' folder."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._dir.cleanup()
            self._pool = None

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Label = Callable[[Any], str]  # names what a chunk reads, for a failed task's one-line error


class Executor(Protocol):
    """Runs ``fn(context, chunk)`` over ``chunks`` and yields the results in order. ``fn`` is a module-level
    function and a pure function of its arguments (a retried chunk gives the same result); ``label(chunk)``
    names the chunk's input in an error."""

    def map(self, fn: Callable[[Any, Any], Any], context: Any, chunks: list, label: Label | None = None) -> Iterator:
        """``fn(context, chunk)`` for each chunk, in order."""
        ...


class Processes:
    """Forked worker processes on this machine (``fan_out``, or a scan's kept ``Pool``); one worker or one
    chunk runs here."""

    def __init__(self, workers: int | None = None, pool: Pool | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.pool = pool

    def map(self, fn: Callable[[Any, Any], Any], context: Any, chunks: list, label: Label | None = None) -> Iterator:
        if self.pool is not None and self.workers > 1:
            return self.pool.map(fn, context, chunks)
        return fan_out(fn, context, chunks, self.workers)


class Threads:
    """Threads of this process, for steps whose work releases the GIL (numpy sorts). At most ``ahead`` chunks a
    thread are run or held beyond the one the caller is taking: results the caller has not taken yet are memory
    (a partition's lists, while the caller groups the one before), and a caller slower than the threads would
    otherwise find every chunk's result waiting for it."""

    def __init__(self, threads: int | None = None, ahead: int = 2) -> None:
        self.threads = threads or min(2, os.cpu_count() or 1)
        self.ahead = ahead

    def map(self, fn: Callable[[Any, Any], Any], context: Any, chunks: list, label: Label | None = None) -> Iterator:
        if self.threads > 1 and len(chunks) > 1:
            from collections import deque
            from concurrent.futures import ThreadPoolExecutor

            workers = min(self.threads, len(chunks))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                todo = iter(chunks)
                running = deque(pool.submit(fn, context, c) for c in itertools.islice(todo, workers * self.ahead))
                try:
                    while running:
                        first = running.popleft()
                        for c in itertools.islice(todo, 1):  # the next chunk starts as this one is taken
                            running.append(pool.submit(fn, context, c))
                        yield first.result()
                        del first
                finally:
                    for f in running:  # the caller stopped early (or a chunk failed): nothing more is started
                        f.cancel()
        else:
            for chunk in chunks:
                yield fn(context, chunk)
