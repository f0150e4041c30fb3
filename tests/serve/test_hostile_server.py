"""Issue 27: no request can stop the service. A real ``dedup serve`` (``serving.Server``) probed as an attacker
would: each test failed on the code before the fix (the finding it names), and while every probe is in
flight ``/api/health`` answers within 100 ms (``HealthWatch``)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup import ScanOptions
from dedup.index import open_index, service
from tests.conftest import ROOT, SEED_ORIGINAL, SEED_WRAPPER, SEEDS
from tests.support.serving import AUTH, Server, token_file

pytestmark = pytest.mark.cli
OPTIONS = ScanOptions(workers=1)
BAD_NAME = b"bad\xffname.txt"
JSON = {"content-type": "application/json"}
COPIES = 13  # indexed copies of the original: more related articles than one page shows side by side


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    """A server with a 2 s time limit over the seeds, a file whose name is not UTF-8 and copies of the original."""
    tmp = tmp_path_factory.mktemp("hostile-serve")
    folder = tmp / "archive"
    folder.mkdir()
    original = (SEEDS / SEED_ORIGINAL).read_bytes()
    for f in SEEDS.iterdir():
        if f.name != SEED_WRAPPER:
            (folder / f.name).write_bytes(f.read_bytes())
    with open(os.path.join(os.fsencode(folder), BAD_NAME), "wb") as f:
        f.write(b"A reposted copy.\n\n" + original)
    for i in range(COPIES):
        (folder / f"copy{i:02}.txt").write_bytes(f"Copy number {i} of the story.\n\n".encode() + original)
    location = tmp / "index"
    index = open_index(str(location), params=service.store_params(OPTIONS), create=True)
    service.add(index, [folder], OPTIONS)
    # Two workers: every bound holds in each of the server's processes.
    with Server(location, "--timeout", "2", "--workers", "2", token_file=token_file(tmp)) as server:
        # One query first, given time: the server's first query loads phase 2's modules, which on a loaded CI
        # machine can pass the 2 s limit that the tests below hold every later request to.
        warm: set[int] = set()  # each worker's first query (a connection stays with the worker that took it)
        for _ in range(40):
            with httpx.Client(base_url=server.url, timeout=60) as c:
                worker = c.get("/api/health").json()["worker"]
                if worker not in warm:
                    for _ in range(5):
                        if c.post("/api/query", json={"text": (SEEDS / SEED_WRAPPER).read_text()}).status_code == 200:
                            break
                    warm.add(worker)
            if len(warm) == 2:
                break
        yield server


def _cpu_seconds(pid: int) -> float:
    """CPU time of a process and of every live process under it (the server's workers and their parse
    workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry)] = int(fields[1])
    pids, frontier = {pid}, {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - pids
        pids |= frontier
    total = 0.0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


_WATCH = """
import sys, time, httpx
client = httpx.Client(base_url=sys.argv[1], timeout=None)  # a stalled answer is measured, not given up on
print("ready", flush=True)
while not sys.stdin.closed:
    t = time.perf_counter()
    status = client.get("/api/health").status_code
    print(status, time.perf_counter() - t, flush=True)
    time.sleep(0.02)
"""


class HealthWatch:
    """Polls /api/health from another process (so the probe's client work does not delay it) while a probe
    runs; ``times`` are the answers' latencies, ``worst`` the slowest."""

    def __init__(self, url: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WATCH, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"
        self.times: list[float] = []

    def __enter__(self) -> HealthWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.3)  # the answer in flight when the probe ended is counted
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=30)
        for line in out.splitlines():
            status, took = line.split()
            assert status == "200", line
            self.times.append(float(took))

    @property
    def worst(self) -> float:
        return max(self.times)

    def assert_answered(self) -> None:
        """Health answered within 100 ms (nine in ten of its answers: the slowest also wait on a shared,
        loaded machine's scheduler, as they do with no probe at all) and never later than 1 s (0.515 s was seen
        once at load ~10 with no freeze); before the fixes it did not answer for seconds (6 s)."""
        ts = sorted(self.times)
        assert len(ts) >= 3 and ts[int(0.9 * (len(ts) - 1))] < 0.1 and ts[-1] < 1.0, ts


def _flat_html(size: int) -> str:
    para = "<div><p>" + " ".join(f"word{i % 97}" for i in range(40)) + "</p></div>\n"
    return para * (size // len(para))


# Finding 1: 100k nested <div> to /api/query froze the server (health unanswered for 6 s, 200 after 22.6 s).
def test_nested_html_neither_freezes_the_server_nor_takes_long(srv):
    body = json.dumps({"html": "<div>" * 100_000 + "some words here"}).encode()
    with HealthWatch(srv.url) as watch:
        t = time.perf_counter()
        got = srv.client.post("/api/query", content=body, headers=JSON)
        took = time.perf_counter() - t
    assert got.status_code in (200, 503) and took < 4, (got.status_code, took)
    watch.assert_answered()


# Finding 2: the time limit answered 503 but the work went on (11 CPU-seconds, six threads, 795 MB).
def test_the_time_limit_stops_the_work(srv):
    body = json.dumps({"html": _flat_html(4_700_000)}).encode()  # encoded once: json.dumps holds this GIL
    with HealthWatch(srv.url) as watch, ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: srv.client.post("/api/query", content=body, headers=JSON), range(6)))
    # Two parse workers for six uploads of a few seconds' work each: on a quiet machine one or two may finish
    # within the 2 s limit; the rest are answered 503 at the limit, and their work stopped.
    late = [a for a in answers if a.status_code == 503]
    assert len(late) >= 2 and all(a.status_code in (200, 503) for a in answers)
    assert all("longer than 2 s" in a.json()["error"] for a in late)
    watch.assert_answered()
    # The stopped parse workers are replaced, and a new one's start-up (its imports) is CPU of the tree too,
    # slower on a loaded machine: let that settle (at most 3 s, while work that went on would not), then the
    # server must stay idle for 2 s.
    settle = time.monotonic() + 3
    before = _cpu_seconds(srv.proc.pid)
    while time.monotonic() < settle:
        time.sleep(0.5)
        now = _cpu_seconds(srv.proc.pid)
        if now - before < 0.1:
            break
        before = now
    before = _cpu_seconds(srv.proc.pid)
    time.sleep(2)
    assert _cpu_seconds(srv.proc.pid) - before < 0.5, "work went on after its requests were answered 503"
    assert srv.client.post("/api/query", json={"text": (SEEDS / SEED_WRAPPER).read_text()}).status_code == 200


# Finding 3: 256 connections that never send a request locked every other client out (a plain-text 503).
def test_idle_connections_do_not_lock_others_out(srv):
    host, port = srv.url.removeprefix("http://").split(":")
    idle = [socket.create_connection((host, int(port))) for _ in range(300)]
    try:
        with HealthWatch(srv.url) as watch:
            time.sleep(0.2)
            got = srv.client.get("/api/stats")
        assert got.status_code == 200 and got.headers["content-type"] == "application/json"
        watch.assert_answered()
    finally:
        for s in idle:
            s.close()


# Finding 8: uvicorn's own errors were plain text without the security headers.
def test_a_request_uvicorn_cannot_parse_gets_json_with_the_security_headers(srv):
    host, port = srv.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"POST /api/query HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"content-type: application/json" in head.lower() and b"content-security-policy" in head.lower()
    assert body.startswith(b'{"error"')


# Finding 7: a name that is not UTF-8 broke every page showing that article; some ids were unreachable.
def test_every_id_is_reachable_or_refused_up_front(srv, tmp_path):
    wrapper = (SEEDS / SEED_WRAPPER).read_text()
    page = srv.client.post("/query", data={"text": wrapper})
    assert page.status_code == 200 and "bad\\xffname.txt" in page.text
    shown = "bad\\xffname.txt"  # as every answer shows it
    assert srv.client.get("/article", params={"id": shown}).status_code == 200
    assert srv.client.get(f"/api/articles/{shown.replace(chr(92), '%5C')}").json()["id"] == shown
    for bad in ("\u0000nul-lead", "new\nline", "tab\there", "c1\x85"):
        for r in (
            srv.client.post("/api/articles", json={"id": bad, "text": "Some words."}, headers=AUTH),
            srv.client.post("/api/query", json={"id": bad, "text": "Some words."}),
        ):
            assert r.status_code == 422 and "control characters" in r.json()["error"], r.text


def test_related_articles_are_paged(srv):
    first = srv.client.get("/article", params={"id": SEED_ORIGINAL})
    assert first.status_code == 200
    assert first.text.count('class="pair"') == 10 and "page=2" in first.text
    second = srv.client.get("/article", params={"id": SEED_ORIGINAL, "page": 2})
    assert second.status_code == 200 and second.text.count('class="pair"') == COPIES + 1 - 10


# Finding 8: paths and server internals were shown to anyone.
def test_paths_are_not_shown(srv):
    where = str(Path(srv.location).parent)
    stats = srv.client.get("/api/stats")
    answer = srv.client.post("/api/query", json={"text": (SEEDS / SEED_WRAPPER).read_text()})
    article = srv.client.get(f"/api/articles/{SEED_ORIGINAL}")
    for r in (stats, answer, article, srv.client.get("/")):
        assert r.status_code == 200 and where not in r.text


def test_binding_to_every_interface_is_warned(tmp_path):
    location = tmp_path / "index"
    open_index(str(location), params=service.store_params(OPTIONS), create=True)
    cmd = [sys.executable, "-m", "dedup.serve", "--index", str(location), "--host", "0", "--port", "0"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        assert proc.stderr is not None
        lines = [proc.stderr.readline() for _ in range(2)]
    finally:
        proc.terminate()
        proc.wait(30)
    assert any("reachable from other machines" in line for line in lines), lines


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["id", "text", "html", "articles", "x"]) | st.text(max_size=8), inner, max_size=4
        )
    ),
    max_leaves=12,
)
_PATHS = (
    st.sampled_from(
        [
            "/api/query",
            "/api/articles",
            "/api/stats",
            "/api/health",
            "/openapi.json",
            "/",
            "/query",
            "/article",
            "/diff",
        ]
    )
    | st.builds(lambda i: "/api/articles/" + quote(i, safe="/"), st.text(max_size=30))
    | st.text(max_size=30).map(lambda t: "/" + quote(t, safe="/?=&"))
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
    path=_PATHS,
    params=st.dictionaries(st.sampled_from(["id", "a", "b", "page", "q"]), st.text(max_size=20), max_size=3),
    body=st.one_of(_JSON.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200), st.just(b"")),
    ctype=st.sampled_from(
        ["application/json", "multipart/form-data", "text/plain", "", "application/x-www-form-urlencoded"]
    ),
)
def test_fuzzing_the_api_never_fails_the_server(srv, method, path, params, body, ctype):
    """Whatever is sent (no token: writes are refused, everything else is read), the answer is below 500,
    carries the security headers, and an error under /api/ is the one-line JSON error."""
    headers = {"content-type": ctype} if ctype else {}
    r = srv.client.request(method, path, params=params, content=body, headers=headers)
    assert r.status_code < 500, (method, path, params, body[:80], r.status_code, r.text[:200])
    assert "default-src 'none'" in r.headers["content-security-policy"]
    if r.status_code >= 400 and path.startswith("/api/") and method != "HEAD":
        assert set(r.json()) == {"error", "status"} and r.json()["status"] == r.status_code
