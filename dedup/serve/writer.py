"""The one writer of ``dedup serve --workers N`` (N > 1): a process of its own that every worker forwards its
adds and removals to over a local socket, and whose answer the worker sends back.

Why one writer: when every worker wrote, an add of one worker waited on the index's lock behind the other
worker's adds and, above all, its tiered merges (each process merged after its own adds, so merges followed
each other's adds where one process merges once per queue of adds: 37-63 % of a worker's write time was spent
waiting for the lock, up to 39 % merging), and each re-read the manifest and checked the other's new shards
under the lock (5-8 %); benchmarks/README.md, "Every core". One writer merges once no write waits, opens only
what it writes, and the workers open the new snapshot on their next request, outside any lock.

The protocol: the supervisor binds a Unix socket in a private folder (mode 0700, so only this user's
processes connect) and passes it to the writer, which inherits it again when restarted: requests sent while
it was down wait in the socket's backlog. One request a connection: an 8-byte length and a pickled
``(op, argument)``, the articles a worker has already read and checked as every request is (size, ids,
batch, parsing); the answer is ``("ok", result)`` or ``("error", status, message)``. Requests are taken one
at a time, so writes are serialised here, and still by the index's own lock against ``dedup index add``; but
the adds already waiting when one is taken (up to ``GROUP_ADDS``, none sharing an id) are committed with it as
one shard (``service.add_groups``), each answered as if committed alone: an add's cost is mostly its commit
(the shard's files made durable one by one: about twenty ``fsync`` calls), which a group pays once.
Shards are merged (``ShardIndex.merge``) after the answers, once no request waits (or after ``MERGE_AFTER``
in a row): merging after every add made each add wait for a merge (a merge per add where a single process
merges once per queue of adds).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import shutil
import signal
import socket
import struct
import threading
import time
from typing import Any

from ..index.service import add_articles, add_groups
from ..options import ScanOptions

log = logging.getLogger("dedup.serve")

_HEAD = struct.Struct("!Q")
MAX_FRAME = 2**30  # a request or answer larger than this is refused (a worker's is bounded by its body cap)
READ_SECONDS = 30.0  # a worker's request, or the room for the answer, must come within this
MERGE_AFTER = 16  # writes answered in a row, at most, before the shards are merged
GROUP_ADDS = 64  # adds waiting together committed as one, at most (``add_groups``)
CONNECT_SECONDS = 10.0  # a worker retries connecting this long (the supervisor's socket is normally there)


def receipts_folder(settings: dict[str, Any]) -> str:
    """Where the writer leaves its shard checks for the workers (``shards.use_receipts``): beside the writer's
    socket, in the supervisor's private folder."""
    return os.path.join(os.path.dirname(settings["writer"]), "checked")


def _send(conn: socket.socket, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    conn.sendall(_HEAD.pack(len(data)) + data)


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        chunk = conn.recv(min(n - got, 1 << 20))
        if not chunk:
            raise ConnectionError("the other end closed the connection")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _recv(conn: socket.socket) -> Any:
    (n,) = _HEAD.unpack(_recv_exact(conn, _HEAD.size))
    if n > MAX_FRAME:
        raise ConnectionError(f"a message of {n} bytes (at most {MAX_FRAME})")
    return pickle.loads(_recv_exact(conn, n))


def forward(path: str, op: str, argument: Any, timeout: float) -> Any:
    """Send one write to the writer at ``path`` and wait for its answer (blocking: run it in a thread).
    ``ConnectionError`` or ``TimeoutError`` when no answer came: the write may or may not have been made."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.settimeout(max(0.1, deadline - time.monotonic()))
            conn.connect(path)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            conn.close()
            if time.monotonic() > min(deadline, start + CONNECT_SECONDS):
                raise ConnectionError("the index's writer is not running") from None
            time.sleep(0.1)
        except BaseException:
            conn.close()
            raise
    with conn:
        _send(conn, (op, argument))
        return _recv(conn)


def apply_write(index: Any, options: ScanOptions, op: str, argument: Any) -> dict[str, Any]:
    """A write on the writer handle ``index``, the answer's JSON: ``add`` (a list of articles, each added or
    replacing the live one with its id) or ``remove`` (an id: ``removed`` is 0 when none was live)."""
    if op == "add":
        return _add_report(add_articles(index, argument, options), index)
    if op == "remove":
        with index.writing():
            n = index.remove([argument])
        return {"removed": n, "articles": int(index.alive.sum())}
    raise ValueError(f"unknown write {op!r}")


def _take(listener: socket.socket, block: bool) -> tuple[socket.socket, str, Any] | None:
    """The next write request: (its connection, op, argument); None when none came (within the listener's
    timeout) or it could not be read (logged; its connection closed)."""
    from ..escape import name as shown

    try:
        if not block:
            listener.settimeout(0)
        conn, _ = listener.accept()
    except (TimeoutError, InterruptedError, BlockingIOError):
        return None
    finally:
        listener.settimeout(0.5)
    conn.settimeout(READ_SECONDS)
    try:
        op, argument = _recv(conn)
    except (OSError, pickle.UnpicklingError, ValueError, EOFError) as e:
        log.warning("a write request could not be read: %s", shown(str(e)))
        conn.close()
        return None
    return conn, op, argument


def _add_report(report: Any, index: Any) -> dict[str, Any]:
    return {
        "added": report.added,
        "replaced": report.replaced,
        "unchanged": report.unchanged,
        "articles": int(index.alive.sum()),
    }


def run_writer(settings: dict[str, Any]) -> None:
    """The writer process: the index opened for writing, then one request at a time from the inherited
    listening socket ``settings["writer_fd"]`` until SIGTERM or the supervisor's death; a line on the pipe
    ``settings["ready"]`` once it takes requests."""
    from ..escape import name as shown
    from ..index import StoreError, open_index
    from ..index.service import check_params

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    from ..index.shards import PURGE_SECONDS, use_receipts

    options = ScanOptions(workers=1)  # as every worker's (``app.Settings``)
    use_receipts(receipts_folder(settings))  # what it checks of the shards it writes, for the workers to take
    index = open_index(settings["location"])
    check_params(index, options)
    index.merge_after_append = False  # merged after the answer, below
    # Old trash deleted on a thread of its own while no write waits, outside the index's lock: a new writer's first
    # purge deletes the merged-away shards of the last hours (seconds of unlinks), which every add waited for.
    index.purge_later = True
    purging: threading.Thread | None = None
    purged = -PURGE_SECONDS  # when the last purge started (monotonic)
    stopping = []
    signal.signal(signal.SIGTERM, lambda sig, frame: stopping.append(sig))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor stops us (SIGTERM), once
    listener = socket.socket(fileno=settings["writer_fd"])
    listener.settimeout(0.5)
    with contextlib.suppress(BrokenPipeError):
        os.write(settings["ready"], f"{os.getpid()}\n".encode())
    os.close(settings["ready"])
    unmerged = 0  # writes since the last merge
    held: tuple[socket.socket, str, Any] | None = None
    while not stopping and os.getppid() == settings["parent"]:
        waiting = held is not None or select.select([listener], [], [], 0)[0]
        if unmerged and (unmerged >= MERGE_AFTER or not waiting):
            try:
                with index.writing():
                    index.merge()
            except Exception:
                log.exception("merging the index's shards")
            unmerged = 0
        if not waiting and (purging is None or not purging.is_alive()) and time.monotonic() - purged >= PURGE_SECONDS:
            purged = time.monotonic()
            purging = threading.Thread(target=index.purge_trash, name="dedup-trash", daemon=True)
            purging.start()
        if held is not None:  # a request read last time that could not join its group
            first, held = held, None
        else:
            first = _take(listener, block=True)
            if first is None:
                continue
        group = [first]
        if first[1] == "add":  # the adds waiting now join it (other ids only), up to GROUP_ADDS
            ids = {a.id for a in first[2]}
            while len(group) < GROUP_ADDS and select.select([listener], [], [], 0)[0]:
                nxt = _take(listener, block=False)
                if nxt is None:
                    continue
                if nxt[1] != "add" or any(a.id in ids for a in nxt[2]):
                    held = nxt
                    break
                ids.update(a.id for a in nxt[2])
                group.append(nxt)
        unmerged += len(group)
        try:
            if first[1] == "add":
                reports = add_groups(index, [argument for _, _, argument in group], options)
                answers: list[tuple] = [("ok", _add_report(r, index)) for r in reports]
            else:
                answers = [("ok", apply_write(index, options, first[1], first[2]))]
        except (StoreError, OSError) as e:
            answers = [("error", 503, f"the index could not be written: {shown(str(e))}")] * len(group)
        except Exception:
            log.exception("a write failed")
            answers = [("error", 500, "internal error")] * len(group)
        for (conn, _, _), answer in zip(group, answers):
            with conn, contextlib.suppress(OSError):  # the worker gave up waiting: the write stands
                _send(conn, answer)
    if os.getppid() != settings["parent"]:  # the supervisor was killed: its socket's folder is left to us
        shutil.rmtree(os.path.dirname(settings["writer"]), ignore_errors=True)
