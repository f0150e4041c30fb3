"""Reading uploaded articles in worker processes that a time limit can stop.

Parsing is the one step of a request whose cost a client chooses (a 5 MB page of HTML takes seconds, and
part of it holds the interpreter's lock), so it runs outside the server's process: a few workers, each one
request at a time. A request whose time runs out gets its worker killed and replaced, so the slot is free
only once the work has really stopped, and a hostile upload costs at most one worker for ``--timeout``
seconds. The event loop waits on the worker's pipe without a thread.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from multiprocessing.connection import Connection
from typing import Any

from ..deadline import Expired
from ..ingest.model import Article, Skipped

Job = tuple[str, bytes, str, "str | None"]  # (id, data, kind, forced encoding)


def _work(conn: Connection) -> None:
    """A worker: read jobs (lists of ``Job``) from ``conn`` and send back each one's Article or Skipped."""
    from ..ingest.reader import read_upload

    while True:
        try:
            jobs = conn.recv()
        except (EOFError, OSError):
            return
        out: list[Any] = []
        for doc_id, data, kind, forced in jobs:
            try:
                out.append(read_upload(doc_id, data, kind, forced))
            except Exception as e:  # noqa: BLE001 - one line back, the worker goes on
                out.append(Skipped(doc_id, f"cannot be read ({type(e).__name__})"))
        conn.send(out)


class _Worker:
    def __init__(self, ctx: Any) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_work, args=(child,), daemon=True, name="dedup-parse")
        self.proc.start()
        child.close()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join(5)
        self.conn.close()


class ParsePool:
    """``size`` worker processes reading uploads; ``parse(jobs, deadline)`` on one of them."""

    def __init__(self, size: int = 2) -> None:
        self.ctx = multiprocessing.get_context("forkserver")
        self.ctx.set_forkserver_preload(["dedup.ingest.reader"])
        self.size = size
        self.free: asyncio.Queue[_Worker] | None = None

    def start(self) -> None:
        """Start the workers (called on the server's event loop)."""
        self.free = asyncio.Queue()
        for _ in range(self.size):
            self.free.put_nowait(_Worker(self.ctx))

    async def parse(self, jobs: list[Job], deadline: float) -> list[Article | Skipped]:
        """Each job read by a worker before ``deadline`` (``time.monotonic()``); ``Expired`` when it was not."""
        if self.free is None:
            self.start()
        assert self.free is not None
        loop = asyncio.get_running_loop()
        try:
            worker = await asyncio.wait_for(self.free.get(), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise Expired("no worker was free in time") from None
        done: asyncio.Future[None] = loop.create_future()
        fd = worker.conn.fileno()
        try:
            worker.conn.send(jobs)
            loop.add_reader(fd, lambda: done.done() or done.set_result(None))
            try:
                await asyncio.wait_for(done, max(0.0, deadline - time.monotonic()))
            finally:
                loop.remove_reader(fd)
            out = worker.conn.recv()
        except (TimeoutError, asyncio.CancelledError, EOFError, OSError) as e:
            # Stopped, not abandoned: the worker is killed (and replaced) before its slot is given back.
            await loop.run_in_executor(None, worker.kill)
            self.free.put_nowait(_Worker(self.ctx))
            if isinstance(e, asyncio.CancelledError):
                raise
            raise Expired("reading the article took too long") from None
        self.free.put_nowait(worker)
        return out

    def close(self) -> None:
        if self.free is None:
            return
        while not self.free.empty():
            self.free.get_nowait().kill()
