"""A real ``dedup serve`` process for the tests: ``python -m dedup.serve`` on a free loopback port."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token-0123456789abcdef"


class Server:
    """``python -m dedup.serve --index LOCATION --port 0 --workers 1 ...``; ``url`` once it listens. A context
    manager (stopped with SIGTERM on exit, or ``kill()`` with SIGKILL)."""

    def __init__(self, location: str | Path, *args: str, token_file: Path | None = None) -> None:
        self.location = str(location)
        # One process unless a test asks for more: the app is the same in every worker, and the default (the
        # machine's cores) would vary with the CI's. tests/serve/test_workers.py and the hostile tests run two.
        workers = [] if "--workers" in args else ["--workers", "1"]
        cmd = [sys.executable, "-m", "dedup.serve", "--index", str(location), "--port", "0", *workers, *args]
        if token_file is not None:
            cmd += ["--token-file", str(token_file)]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ}
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self._wait()
        self.client = httpx.Client(base_url=self.url, timeout=60)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)
            self.lines.put(line)

    def _wait(self, seconds: float = 60) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise RuntimeError("dedup serve exited: " + "".join(self.log)) from None
                continue
            m = re.search(r"serving on (http://127\.0\.0\.1:\d+)/", line)
            if m:
                return m.group(1)
        self.stop()
        raise RuntimeError("dedup serve did not start: " + "".join(self.log))

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.stop()


def token_file(tmp: Path) -> Path:
    path = tmp / "token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


AUTH = {"Authorization": f"Bearer {TOKEN}"}
