"""A real Ray cluster for the tests of this folder: a head and a second node, one CPU each, on this machine.

Both are ``ray start --block`` processes of our own (in a new session each), on free ports, with their
session files in a private temporary folder, a small object store and no dashboard; they are stopped
(their process groups ended) when the session ends. Nothing else's Ray is touched. The cluster is on
loopback only, without token authentication (``RAY_AUTH_MODE=disabled``, set for the session so the CLI's
drivers agree: since Ray 2.5x a driver finding ``~/.ray/auth_token`` would ask for a token).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

OBJECT_STORE = str(100 * 2**20)
ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_start(*args: str, log: Path) -> subprocess.Popen:
    ray_cli = Path(sys.executable).with_name("ray")
    common = [
        "--num-cpus=1",
        f"--object-store-memory={OBJECT_STORE}",
        f"--dashboard-agent-listen-port={_free_port()}",
        f"--dashboard-agent-grpc-port={_free_port()}",
        f"--metrics-export-port={_free_port()}",
        f"--runtime-env-agent-port={_free_port()}",
        "--disable-usage-stats",
        "--block",
    ]
    out = open(log, "wb")  # noqa: SIM115 - the process's log, open as long as it runs
    return subprocess.Popen(
        [str(ray_cli), "start", *args, *common],
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
    )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # our own session: the raylet, store and workers it started
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_started(proc: subprocess.Popen, log: Path) -> None:
    """Until ``ray start`` says its node runs (it then blocks), or fails."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "Ray runtime started" in text:
            return
        if proc.poll() is not None:
            raise RuntimeError(f"ray start exited: {text[-2000:]}")
        time.sleep(0.2)
    raise RuntimeError(f"ray start did not start in 120 s: {log.read_text(errors='replace')[-2000:]}")


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """The address (host:port) of a running two-node Ray cluster on this machine (Ray is never imported here: this
    process forks worker pools in other tests)."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("the Ray tests need the 'ray' extra: pip install -e '.[ray]'")
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    temp = Path(tempfile.mkdtemp(prefix="ray"))  # short: Ray's socket paths live under it
    port = _free_port()
    address = f"127.0.0.1:{port}"
    logs = [temp / "head.log", temp / "node.log"]
    head = _ray_start(
        "--head",
        "--node-ip-address=127.0.0.1",
        f"--port={port}",
        f"--ray-client-server-port={_free_port()}",
        "--include-dashboard=false",
        f"--temp-dir={temp}",
        log=logs[0],
    )
    procs = [head]
    try:
        _wait_started(head, logs[0])
        procs.append(_ray_start(f"--address={address}", "--node-ip-address=127.0.0.1", log=logs[1]))
        _wait_started(procs[1], logs[1])
        yield address
    finally:
        for p in reversed(procs):
            _stop(p)
        shutil.rmtree(temp, ignore_errors=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
