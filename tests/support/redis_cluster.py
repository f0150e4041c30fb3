"""A real Redis Cluster for tests: three ``redis-server`` masters on free loopback ports, slots split in three.

Started with redis-py only (``CLUSTER ADDSLOTSRANGE``, ``CLUSTER MEET``; no ``redis-cli --cluster``), no
persistence, and ready once every node reports ``cluster_state:ok``. ``stop`` kills the servers.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SLOTS = ((0, 5460), (5461, 10922), (10923, 16383))
BUS_OFFSET = 10000  # a cluster node also listens on its port + 10000


@dataclass
class Cluster:
    """Running cluster nodes: ``url`` is the seed address the dedup CLI takes (``redis+cluster://``)."""

    ports: list[int]
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    def stop(self) -> None:
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait(10)


def _free_ports(n: int) -> list[int]:
    """``n`` free loopback ports whose cluster bus ports (port + 10000, so at most 65535) are free too."""
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < n:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            held.append(s)
            port = s.getsockname()[1]
            if port + BUS_OFFSET > 65535:
                continue
            bus = socket.socket()
            try:
                bus.bind(("127.0.0.1", port + BUS_OFFSET))
            except OSError:
                bus.close()
                continue
            held.append(bus)
            ports.append(port)
        return ports
    finally:
        for s in held:
            s.close()


def _wait(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except RuntimeError:
            raise
        except Exception:  # noqa: BLE001 - not up yet: connection refused, loading, cluster down
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"redis cluster: {what} within {timeout:.0f} s")
        time.sleep(0.05)


def start_cluster(tmp: Path, timeout: float = 20.0, attempts: int = 3) -> Cluster:
    """Start three cluster-enabled servers under ``tmp`` and join them into one cluster with every slot served.

    A server that exits at start (another process took its port between the check and the start) is retried
    on new ports."""
    for attempt in range(attempts):
        try:
            return _start(tmp / f"try{attempt}", timeout)
        except ServerExited:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


class ServerExited(RuntimeError):
    """A redis-server of the cluster exited while starting."""


def _start(tmp: Path, timeout: float) -> Cluster:
    import redis

    tmp.mkdir(parents=True)
    cluster = Cluster(_free_ports(len(SLOTS)))
    try:
        for port in cluster.ports:
            args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes"]
            args += ["--cluster-config-file", str(tmp / f"nodes-{port}.conf"), "--save", "", "--appendonly", "no"]
            args += ["--dir", str(tmp), "--cluster-node-timeout", "5000"]
            log = open(tmp / f"redis-{port}.log", "wb")  # noqa: SIM115 - the server owns it until it exits
            cluster.procs.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT))
            log.close()
        nodes = [redis.Redis(host="127.0.0.1", port=p, socket_connect_timeout=0.5) for p in cluster.ports]
        for node, proc, port in zip(nodes, cluster.procs, cluster.ports):

            def up(node=node, proc=proc, port=port) -> bool:
                if proc.poll() is not None:
                    tail = (tmp / f"redis-{port}.log").read_text(errors="replace").strip().splitlines()[-1:]
                    raise ServerExited(f"redis cluster: redis-server on port {port} exited: {' '.join(tail)}")
                return node.ping()

            _wait(up, timeout, "a node did not answer PING")
        for node, (lo, hi) in zip(nodes, SLOTS):
            node.execute_command("CLUSTER", "ADDSLOTSRANGE", lo, hi)
        for node in nodes[1:]:
            node.execute_command("CLUSTER", "MEET", "127.0.0.1", cluster.ports[0])

        def ready() -> bool:
            for node in nodes:
                info = node.execute_command("CLUSTER", "INFO")
                info = info.decode() if isinstance(info, bytes) else str(info)
                if "cluster_state:ok" not in info or "cluster_known_nodes:3" not in info:
                    return False
            return True

        _wait(ready, timeout, "cluster_state did not become ok on every node")
        for node in nodes:
            node.close()
    except BaseException:
        cluster.stop()
        raise
    return cluster
