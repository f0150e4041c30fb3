"""A Ray cluster of several nodes on this machine, started as a real one is: one ``ray start`` process a node.

For trying ``--ray`` against more than one node without machines (and for this project's tests and benchmarks,
which both use it): the head (``ray start --head``) and each other node (``ray start --address=…``) is a
``--block`` process of its own, in a session of its own, with its own ``--num-cpus``, a ``node<k>`` resource, a
small object store, free ports and no dashboard, its session files in a private temporary folder; at the end
each node's process group is ended (the raylet, store and workers it started) and the folder removed. Nothing
else's Ray is touched. The cluster listens on loopback only, without token authentication: ``RAY_AUTH_MODE`` is
``disabled`` in this process's environment while it runs (so drivers started from here agree; since Ray 2.5x a
driver finding ``~/.ray/auth_token`` would ask for a token). Ray itself is never imported here (a test process
that forks worker pools must not hold Ray's threads).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


class ClusterFailed(RuntimeError):
    """A node's ``ray start`` exited or did not start in time; the message ends with its log's tail."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """End a node: its own process group (the raylet, store and workers its ``ray start`` started)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def local_cluster(nodes: int = 2, cpus: int = 1, object_store_mb: int = 100, timeout: float = 180) -> Iterator[str]:
    """A cluster of ``nodes`` nodes of ``cpus`` CPUs and ``object_store_mb`` MB of object store each (module
    docstring): yields the head's address (``127.0.0.1:port``, for ``--ray``); stops every node at the end. A node
    that does not start within ``timeout`` seconds raises ``ClusterFailed``."""
    ray_cli = str(Path(sys.executable).with_name("ray"))
    temp = Path(tempfile.mkdtemp(prefix="ray"))  # short: Ray's socket paths live under it
    port = _free_port()
    address = f"127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    procs: list[subprocess.Popen] = []

    def start(k: int, *args: str) -> None:
        log = temp / f"node{k}.log"
        common = [
            f"--num-cpus={cpus}",
            f"--resources={json.dumps({f'node{k}': 1})}",
            f"--object-store-memory={object_store_mb * 2**20}",
            f"--dashboard-agent-listen-port={_free_port()}",
            f"--dashboard-agent-grpc-port={_free_port()}",
            f"--metrics-export-port={_free_port()}",
            f"--runtime-env-agent-port={_free_port()}",
            "--node-ip-address=127.0.0.1",
            "--disable-usage-stats",
            "--block",
        ]
        out = open(log, "wb")  # noqa: SIM115 - the node's log, open as long as it runs
        procs.append(
            subprocess.Popen(
                [ray_cli, "start", *args, *common],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **ENV},
            )
        )
        deadline = time.monotonic() + timeout
        while "Ray runtime started" not in log.read_text(errors="replace"):
            if procs[-1].poll() is not None or time.monotonic() > deadline:
                raise ClusterFailed(f"ray start of node {k} failed: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)

    try:
        head = ["--head", f"--port={port}", f"--ray-client-server-port={_free_port()}", "--include-dashboard=false"]
        start(0, *head, f"--temp-dir={temp}")
        for k in range(1, nodes):
            start(k, f"--address={address}")
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
