"""``dedup serve --workers N``: N server processes answering on one listening socket.

Why processes: a query is 10-60 ms of CPU, most of it Python under the interpreter's lock, so one process
answers with one core whatever its threads. Why one socket: the supervisor binds it once and every worker
inherits it (gunicorn's pre-fork model); an idle worker takes the next connection, where ``SO_REUSEPORT``
would hash connections to workers whatever their load, and port 0 names one port for all of them.

Why spawned, not forked: a worker is a fresh ``python`` (``python -m dedup.serve.workers``) that opens the
index itself; polars' and numpy's thread pools never run in a fork, and the index's arrays are
memory-mapped, so the workers share one copy of them in the page cache. The supervisor opens the index
once beforehand (a missing or unusable index is one line and exit 2, as with one process) and never
serves.

Writes: one more process, the writer (``writer.py``), makes every add and removal; a worker forwards them
to it over a Unix socket the supervisor binds (in a private folder) and answers with the writer's answer.
The writer commits under the index's own write lock (``flock`` for a local index, the Redis lock) before it
answers; a worker's next request sees the index's generation change (one ``stat`` or one Redis ``GET``,
``Service.current``) and swaps in a new snapshot before answering, so an add acknowledged through one
worker is seen by the next request on any of them. A writer that dies is started again like a worker, on
the same socket.

Stopping: SIGTERM or SIGINT (Ctrl-C) to the supervisor is passed to every worker once (they run in their
own process group, so a terminal's Ctrl-C reaches the supervisor alone), each finishes its requests
(uvicorn's graceful shutdown) and its parse processes with it; a worker still running after
``STOP_SECONDS`` is killed. A worker whose supervisor dies (even by SIGKILL) gets SIGTERM from the kernel
(``PR_SET_PDEATHSIG``), so no worker outlives it. A worker that dies while serving is started again.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

STOP_SECONDS = 20.0  # a worker still running this long after SIGTERM is killed
RESTARTS = 5  # workers started again after dying, at most, per RESTART_WINDOW seconds
RESTART_WINDOW = 60.0
_PR_SET_PDEATHSIG = 1


def listen(host: str, port: int) -> socket.socket:
    """The listening socket every worker shares (bound as uvicorn binds: ``SO_REUSEADDR``, backlog 2048)."""
    family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind(addr)
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class Supervisor:
    """Starts ``count`` workers on ``sock`` with ``settings`` (``worker_main``'s JSON), restarts one that dies,
    stops them all on SIGTERM or SIGINT."""

    def __init__(self, sock: socket.socket, count: int, settings: dict[str, Any]) -> None:
        self.sock, self.count, self.settings = sock, count, settings
        self.workers: dict[int, subprocess.Popen] = {}
        self.roles: dict[int, str] = {}  # pid -> "worker" or "writer"
        # The writer's socket, in a folder only this user can enter; inherited by every writer started.
        self._folder = tempfile.mkdtemp(prefix="dedup-serve-")
        self.writer_path = os.path.join(self._folder, "writer.sock")
        self.writer_sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.writer_sock.bind(self.writer_path)
        self.writer_sock.listen(256)
        self.writer_sock.set_inheritable(True)
        self.settings = {**settings, "writer": self.writer_path}
        self.stopping: int | None = None  # the signal that asked us to stop
        self._restarts: list[float] = []
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)

    def _start(self, role: str = "worker") -> tuple[subprocess.Popen, int]:
        """A worker (or the writer); the read end of the pipe it writes one line to once it listens."""
        ready_r, ready_w = os.pipe()
        settings = {**self.settings, "ready": ready_w, "parent": os.getpid(), "role": role}
        if role == "writer":
            settings["writer_fd"] = fd = self.writer_sock.fileno()
        else:
            settings["fd"] = fd = self.sock.fileno()
        proc = subprocess.Popen(
            [sys.executable, "-m", "dedup.serve.workers"],
            stdin=subprocess.PIPE,
            pass_fds=(fd, ready_w),
            process_group=0,  # Ctrl-C reaches the supervisor only; it stops the workers once
        )
        os.close(ready_w)
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(settings).encode())  # the token travels here, never on a command line
        proc.stdin.close()
        self.workers[proc.pid] = proc
        self.roles[proc.pid] = role
        return proc, ready_r

    def start(self) -> None:
        """Start every worker and wait until each listens; ``RuntimeError`` if one exits first."""
        roles = ["writer"] + ["worker"] * self.count
        pending = dict(self._start(role)[::-1] for role in roles)  # ready fd -> process
        try:
            while pending:
                ready, _, _ = select.select(list(pending), [], [], 0.2)
                for fd in ready:
                    data = os.read(fd, 64)
                    proc = pending.pop(fd)
                    os.close(fd)
                    if not data:
                        code = proc.wait()
                        raise RuntimeError(f"a worker exited while starting (status {code})")
                if self.stopping is not None:
                    return
        except BaseException:
            for fd in pending:
                os.close(fd)
            self.stop()
            raise

    def _signal(self, sig: int, frame: Any) -> None:
        if self.stopping is None:
            self.stopping = sig
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._signal)

    def run(self) -> int:
        """Until asked to stop: workers that die are started again (``RESTARTS`` a minute at most; more and
        the server stops with status 3). The exit status: 0 stopped by SIGTERM, 130 by SIGINT."""
        failed = False
        while self.stopping is None:
            select.select([self._wake_r], [], [], 0.5)
            for pid, proc in list(self.workers.items()):
                code = proc.poll()
                if code is None or self.stopping is not None:
                    continue
                del self.workers[pid]
                role = self.roles.pop(pid, "worker")
                now = time.monotonic()
                self._restarts = [t for t in self._restarts if now - t < RESTART_WINDOW] + [now]
                if len(self._restarts) > RESTARTS:
                    print(f"dedup: error: workers keep dying (last status {code}); stopping", file=sys.stderr)
                    failed = True
                    self.stopping = signal.SIGTERM
                    break
                print(f"dedup: warning: {role} {pid} exited (status {code}); starting another", file=sys.stderr)
                _, ready = self._start(role)
                os.close(ready)
        self.stop()
        if failed:
            return 3
        return 130 if self.stopping == signal.SIGINT else 0

    def stop(self) -> None:
        """SIGTERM to every worker, once; SIGKILL to any still running after ``STOP_SECONDS``."""
        for proc in self.workers.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for proc in self.workers.values():
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.workers.clear()
        self.roles.clear()
        self.writer_sock.close()
        shutil.rmtree(self._folder, ignore_errors=True)


def _die_with_parent() -> None:
    """SIGTERM to this worker when its supervisor dies (Linux; elsewhere nothing)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def worker_main() -> None:
    """A worker: its settings as JSON on stdin (``Supervisor._start``), then uvicorn on the inherited socket."""
    _die_with_parent()
    settings = json.loads(sys.stdin.read())
    sys.stdin.close()
    if os.getppid() != settings["parent"]:  # the supervisor died before the kernel was told to signal us
        return
    from ..escape import name as shown
    from ..index import StoreError
    from . import run_worker
    from .writer import run_writer

    try:
        (run_writer if settings.get("role") == "writer" else run_worker)(settings)
    except (StoreError, OSError, ValueError) as e:  # the index went away since the supervisor checked it
        print(f"dedup: error: worker {os.getpid()}: {shown(str(e))}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    worker_main()
