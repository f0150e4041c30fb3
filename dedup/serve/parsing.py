"""Reading uploaded articles in worker processes that a time limit can stop.

Parsing is the one step of a request whose cost a client chooses (a 5 MB page of HTML takes seconds, and
part of it holds the interpreter's lock), so it runs outside the server's process: a few workers, each one
request at a time. A request whose time runs out gets its worker killed and replaced, so the slot is free
only once the work has really stopped, and a hostile upload costs at most one worker for ``--timeout``
seconds. A thread moves the request and the answer through the worker's pipe, so the event loop never waits on it.
One small plain-text article (``small``: a typical query or add) is read in the server's process instead.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from multiprocessing.connection import Connection
from typing import Any

from ..deadline import Expired
from ..ingest.model import Article, Skipped

Job = tuple[str, "bytes | str", str, "str | None"]  # (id, bytes or pasted text, kind, forced encoding)


def _json(body: bytes) -> tuple[str, Any]:
    """``("ok", value)`` of a JSON body, or ``("error", why)``: not UTF-8, invalid, nested too deeply."""
    import json

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        return "error", f"request body is not UTF-8 (byte {e.start})"
    try:
        return "ok", json.loads(text)
    except RecursionError:
        return "error", "invalid JSON: nested too deeply"
    except ValueError as e:
        return "error", f"invalid JSON: {e}"


INLINE_CHARS = 16_384  # an upload up to this many characters (or bytes) is read in the server's own process


def read_job(job: Job) -> Article | Skipped:
    """One ``Job``'s Article, or a Skipped saying why not (never an exception)."""
    from ..ingest.model import clean_text
    from ..ingest.reader import read_upload

    doc_id, data, kind, forced = job
    try:
        if isinstance(data, str):  # pasted or sent as JSON: read as the UTF-8 file it would be
            data = clean_text(data).encode("utf-8", "replace")
        return read_upload(doc_id, data, kind, forced)
    except Exception as e:  # noqa: BLE001 - one line back, the worker goes on
        return Skipped(doc_id, f"cannot be read ({type(e).__name__})")


def small(jobs: list[Job]) -> bool:
    """Whether ``jobs`` are one plain-text article of at most ``INLINE_CHARS``: read in well under a
    millisecond, linearly in its size, so it is read where it arrived, not sent to a parse worker and back (a
    pipe each way, two pickles and a thread: about three times the reading's own CPU for a news article).
    HTML always goes to a worker: its reading's cost depends on the markup, which the client chooses."""
    return len(jobs) == 1 and jobs[0][2] == "text" and len(jobs[0][1]) <= INLINE_CHARS


def _work(conn: Connection) -> None:
    """A worker: read requests from ``conn`` and send back the answer of each: ``("json", body)`` the parsed
    body (``_json``), ``("read", jobs)`` each ``Job``'s Article or Skipped (``read_job``)."""
    while True:
        try:
            what, arg = conn.recv()
        except (EOFError, OSError):
            return
        if what == "json":
            conn.send(_json(arg))
            continue
        conn.send([read_job(job) for job in arg])


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
        """Each job read by a worker before ``deadline`` (``time.monotonic()``); ``Expired`` when it was not.
        One small article (``small``) is read here."""
        if small(jobs):
            return [read_job(jobs[0])]
        return await self._ask(("read", jobs), deadline)

    async def json(self, body: bytes, deadline: float) -> tuple[str, Any]:
        """A request body parsed as JSON by a worker (the ``json`` module holds the interpreter's lock for the
        whole of a 5 MB body, which would stall the event loop): ``("ok", value)`` or ``("error", why)``."""
        return await self._ask(("json", body), deadline)

    async def _ask(self, request: tuple[str, Any], deadline: float) -> Any:
        if self.free is None:
            self.start()
        assert self.free is not None
        loop = asyncio.get_running_loop()
        try:
            worker = await asyncio.wait_for(self.free.get(), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise Expired("no worker was free in time") from None

        def exchange() -> Any:  # in a thread: a few MB through a pipe must not hold up the event loop
            worker.conn.send(request)
            return worker.conn.recv()

        future = loop.run_in_executor(None, exchange)
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        try:
            out = await asyncio.wait_for(asyncio.shield(future), max(0.0, deadline - time.monotonic()))
        except (TimeoutError, asyncio.CancelledError, EOFError, OSError) as e:
            # Stopped, not abandoned: the worker is killed (and replaced) before its slot is given back.
            await loop.run_in_executor(None, worker.kill)
            self.free.put_nowait(await loop.run_in_executor(None, _Worker, self.ctx))
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
