"""``dedup serve --workers N``: several real server processes on one port. Every worker answers, an add
acknowledged by one is seen by the next request on another (local and Redis indexes), and stopping the server
(SIGTERM, Ctrl-C, even SIGKILL) leaves no process behind."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest

from dedup import ScanOptions
from dedup.index import open_index, service
from tests.conftest import SEED_ORIGINAL, SEED_WRAPPER, SEEDS
from tests.index.test_index import redis_url as redis_url  # noqa: F401  (the fixture)
from tests.support.serving import AUTH, Server, token_file

pytestmark = pytest.mark.cli
OPTIONS = ScanOptions(workers=1)


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc: each process's parent), zombies left out."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.add(pid)
    return out


def _gone(pids: set[int], seconds: float = 20) -> set[int]:
    """The processes of ``pids`` still alive after up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _alive(pids)


def _pinned(url: str, count: int) -> list[httpx.Client]:
    """One kept-alive connection to each of ``count`` workers (a connection stays with the worker that took
    it; which worker takes a new one is the kernel's choice, so new ones are opened until each was seen)."""
    clients: dict[int, httpx.Client] = {}
    for _ in range(200):
        c = httpx.Client(base_url=url, timeout=60)
        worker = c.get("/api/health").json()["worker"]
        if worker in clients:
            c.close()
        else:
            clients[worker] = c
        if len(clients) == count:
            return list(clients.values())
    raise AssertionError(f"only {len(clients)} of {count} workers took connections")


def _location(kind: str, tmp: Path, request: pytest.FixtureRequest) -> str:
    if kind == "local":
        return str(tmp / "index")
    return f"{request.getfixturevalue('redis_url')}#workers{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize("kind", ["local", pytest.param("redis", marks=pytest.mark.redis)])
def test_an_add_on_one_worker_is_seen_by_the_next_query_on_the_other(kind, tmp_path, request):
    location = _location(kind, tmp_path, request)
    archive = tmp_path / "archive"
    archive.mkdir()
    for f in SEEDS.iterdir():
        if f.name != SEED_WRAPPER:
            os.link(f, archive / f.name)
    service.add(open_index(location, service.store_params(OPTIONS), create=True), [archive], OPTIONS)
    wrapper = (SEEDS / SEED_WRAPPER).read_text(encoding="utf-8")
    original = (SEEDS / SEED_ORIGINAL).read_text(encoding="utf-8")
    with Server(location, "--workers", "2", token_file=token_file(tmp_path)) as srv:
        first, second = _pinned(srv.url, 2)
        try:
            for c in (first, second):  # both answer, the same answer
                answer = c.post("/api/query", json={"text": wrapper, "id": SEED_WRAPPER}).json()
                assert answer["clusters"][0]["source"] == SEED_ORIGINAL
            before = second.get("/api/health").json()
            added = first.post(
                "/api/articles", json={"id": "new/copy.txt", "text": "Repost.\n\n" + original}, headers=AUTH
            )
            assert added.status_code == 201 and added.json()["articles"] == before["articles"] + 1
            # The very next request on the other worker answers from the index with the add.
            answer = second.post("/api/query", json={"text": original, "id": "q"}).json()
            assert "new/copy.txt" in {p["indexed"] for p in answer["pairs"]}
            after = second.get("/api/health").json()
            assert after["articles"] == before["articles"] + 1 and after["generation"] > before["generation"]
            assert after["worker"] == before["worker"] != first.get("/api/health").json()["worker"]
            # A remove on the other worker is seen by the first one at once too.
            assert second.delete("/api/articles/new/copy.txt", headers=AUTH).status_code == 200
            assert first.get("/api/articles/new/copy.txt").status_code == 404
        finally:
            first.close()
            second.close()
        # SIGTERM: every worker, and every process a worker started (its upload readers), is gone after.
        processes = _descendants(srv.proc.pid)
        assert {before["worker"], after["worker"]} <= processes
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(30) == 0
        assert not _gone(processes), _alive(processes)
    if kind == "redis":
        open_index(location).drop()


def _served(tmp_path: Path) -> Server:
    location = tmp_path / "index"
    service.add(open_index(str(location), service.store_params(OPTIONS), create=True), [SEEDS], OPTIONS)
    return Server(location, "--workers", "2", token_file=token_file(tmp_path))


def _children(pid: int) -> set[int]:
    """The live processes whose parent is ``pid``."""
    out = set()
    for p in _alive(_descendants(pid)):
        try:
            if int(Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()[1]) == pid:
                out.add(p)
        except OSError:
            continue
    return out


def test_ctrl_c_leaves_no_process(tmp_path):
    """Ctrl-C (SIGINT to the server's process group, which holds the supervisor alone: its workers have their
    own): status 130, and no worker or process of a worker left."""
    srv = _served(tmp_path)
    try:
        processes = _descendants(srv.proc.pid)
        assert len(processes) >= 2 and srv.client.get("/api/health").json()["worker"] in processes
        srv.proc.send_signal(signal.SIGINT)
        assert srv.proc.wait(30) == 130
        assert not _gone(processes), _alive(processes)
    finally:
        srv.client.close()
        srv.stop()


@pytest.mark.slow
def test_a_dead_worker_is_replaced_and_a_killed_supervisor_takes_its_workers_with_it(tmp_path):
    """A worker killed outright is started again (the server keeps answering), so is the writer (an add sent
    while it is down waits for the new one and is made); and even SIGKILL of the supervisor, which it cannot
    pass on, stops its workers: the kernel signals them (PR_SET_PDEATHSIG)."""
    srv = _served(tmp_path)
    try:
        pinned = _pinned(srv.url, 2)
        workers = {c.get("/api/health").json()["worker"] for c in pinned}
        (writer,) = _children(srv.proc.pid) - workers  # the one process besides the two workers
        os.kill(writer, signal.SIGKILL)
        text = (SEEDS / SEED_ORIGINAL).read_text(encoding="utf-8")
        added = pinned[0].post("/api/articles", json={"id": "while/down.txt", "text": text}, headers=AUTH)
        assert added.status_code == 201 and added.json()["added"] == 1, added.text
        assert any(f"writer {writer} exited" in line for line in srv.log), srv.log
        assert all(c.get("/api/articles/while/down.txt").status_code == 200 for c in pinned)
        for c in pinned:
            c.close()
        victim = srv.client.get("/api/health").json()["worker"]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while not any(f"worker {victim} exited" in line for line in srv.log) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert any(f"worker {victim} exited" in line for line in srv.log), srv.log
        workers = set()
        while len(workers) < 2 and time.monotonic() < deadline:
            with httpx.Client(base_url=srv.url, timeout=60) as c:
                workers.add(c.get("/api/health").json()["worker"])
        assert len(workers) == 2 and victim not in workers
        processes = _descendants(srv.proc.pid)
        srv.kill()
        assert not _gone(processes), _alive(processes)
    finally:
        srv.client.close()
