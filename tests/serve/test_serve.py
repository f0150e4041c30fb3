"""``dedup serve`` as a client sees it: a real server process on a free loopback port (``serving.Server``),
every API endpoint, every class of bad request (a 4xx with a JSON error, and the server keeps serving), the
token, the size limit, concurrent reads and adds, a SIGKILL during adds, and a served query answering what
``dedup query`` answers (the CLI's code: ``service.query`` on the file)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from dedup import ScanOptions
from dedup.index import open_index, service
from tests.conftest import ROOT, SEED_ORIGINAL, SEED_WRAPPER, SEEDS
from tests.index.test_index import redis_url as redis_url  # noqa: F401  (the fixture)
from tests.support.serving import AUTH, TOKEN, Server, token_file

pytestmark = pytest.mark.cli
OPTIONS = ScanOptions(workers=1)


def _index(tmp: Path, *folders: Path) -> Path:
    location = tmp / "index"
    index = open_index(str(location), params=service.store_params(OPTIONS), create=True)
    for folder in folders:
        service.add(index, [folder], OPTIONS)
    return location


def _archive(tmp: Path) -> Path:
    """The seeds but 000 (the repost): the index an incoming copy is checked against."""
    folder = tmp / "archive"
    folder.mkdir()
    for f in SEEDS.iterdir():
        if f.name != SEED_WRAPPER:
            shutil.copy(f, folder / f.name)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    with Server(_index(tmp, _archive(tmp)), token_file=token_file(tmp)) as srv:
        yield srv


def _text(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


def _comparable(answer: dict) -> dict:
    """An answer without what differs by construction: the path (a file for the CLI, the id when posted)."""
    docs = [{k: v for k, v in d.items() if k != "path"} for d in answer["documents"]]
    return {"documents": docs, "clusters": answer["clusters"], "pairs": answer["pairs"]}


def _assert_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "status"} and body["status"] == status and body["error"]
    return body


# ---------------------------------------------------------------------------------------------- endpoints


def test_health_stats_and_openapi(server):
    health = server.client.get("/api/health").json()
    assert health["status"] == "ok" and health["articles"] == 4
    stats = server.client.get("/api/stats").json()
    assert stats["articles"] == 4 and stats["backend"] == "local"
    spec = server.client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/query", "/api/articles", "/api/articles/{id}", "/api/health", "/api/stats"} <= set(spec["paths"])


def test_requests_are_logged_by_default(server):
    """One line per request on stderr without --log-level (uvicorn's access log at the default 'info')."""
    import time

    assert server.client.get("/api/health").status_code == 200
    deadline = time.monotonic() + 10
    while not any('"GET /api/health HTTP/1.1" 200' in line for line in server.log) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert any('"GET /api/health HTTP/1.1" 200' in line for line in server.log), server.log


def test_query_by_text_html_and_upload_answers_as_dedup_query(server):
    want = _comparable(service.query(open_index(server_location(server)), [SEEDS / SEED_WRAPPER], OPTIONS).to_dict())
    by_text = server.client.post("/api/query", json={"text": _text(SEED_WRAPPER), "id": SEED_WRAPPER})
    assert by_text.status_code == 200
    assert _comparable(by_text.json()) == want
    upload = server.client.post(
        "/api/query", files={"file": (SEED_WRAPPER, (SEEDS / SEED_WRAPPER).read_bytes(), "text/plain")}
    )
    assert _comparable(upload.json()) == want
    cluster = want["clusters"][0]
    assert cluster["source"] == SEED_ORIGINAL and cluster["query"] == SEED_WRAPPER
    # An HTML page: read as a .html file is (its visible paragraphs), and still finds the original.
    paras = "".join(f"<p>{line}</p>" for line in _text(SEED_WRAPPER).splitlines() if line.strip())
    html = server.client.post("/api/query", json={"html": f"<html><body>{paras}</body></html>", "id": "page.html"})
    assert html.status_code == 200
    assert any(p["indexed"] == SEED_ORIGINAL for p in html.json()["pairs"])


def server_location(server: Server) -> str:
    return server.location


def test_get_an_indexed_article(server):
    got = server.client.get(f"/api/articles/{SEED_ORIGINAL}").json()
    assert got["id"] == SEED_ORIGINAL and got["text"] == _text(SEED_ORIGINAL)
    assert got["chars"] == len(got["text"]) and got["paragraphs"][0]["start"] >= 0


def test_add_replace_remove_with_the_token(tmp_path):
    with Server(_index(tmp_path, SEEDS), token_file=token_file(tmp_path)) as srv:
        c = srv.client
        text = _text(SEED_ORIGINAL)
        added = c.post("/api/articles", json={"id": "copy/one.txt", "text": "Repost.\n\n" + text}, headers=AUTH)
        assert added.status_code == 201 and added.json()["added"] == 1 and added.json()["articles"] == 6
        again = c.post("/api/articles", json={"id": "copy/one.txt", "text": "Repost.\n\n" + text}, headers=AUTH)
        assert again.json()["unchanged"] == 1 and again.json()["articles"] == 6
        # The new article is seen by the next query at once.
        answer = c.post("/api/query", json={"text": text, "id": "q"}).json()
        assert "copy/one.txt" in {p["indexed"] for p in answer["pairs"]}
        put = c.put("/api/articles/copy%2Fone.txt", json={"text": "Another text entirely, of its own."}, headers=AUTH)
        assert put.status_code == 200 and put.json()["replaced"] == 1
        assert c.get("/api/articles/copy%2Fone.txt").json()["text"] == "Another text entirely, of its own."
        batch = [{"id": f"b{i}.txt", "text": f"Article number {i} about its own thing."} for i in range(3)]
        assert c.post("/api/articles", json={"articles": batch}, headers=AUTH).json()["added"] == 3
        gone = c.delete("/api/articles/copy%2Fone.txt", headers=AUTH)
        assert gone.status_code == 200 and gone.json() == {"removed": 1, "articles": 8}
        _assert_error(c.get("/api/articles/copy%2Fone.txt"), 404)
        _assert_error(c.delete("/api/articles/copy%2Fone.txt", headers=AUTH), 404)


def test_writes_need_the_right_token(server):
    c = server.client
    body = {"id": "x.txt", "text": "Some words here."}
    _assert_error(c.post("/api/articles", json=body), 401)
    assert c.post("/api/articles", json=body).headers["www-authenticate"] == "Bearer"
    _assert_error(c.post("/api/articles", json=body, headers={"Authorization": "Bearer wrong"}), 403)
    _assert_error(c.post("/api/articles", json=body, headers={"Authorization": f"Basic {TOKEN}"}), 401)
    _assert_error(c.post("/api/articles", json=body, headers={"Authorization": f"Bearer {TOKEN[:-1]}"}), 403)
    _assert_error(c.delete(f"/api/articles/{SEED_ORIGINAL}"), 401)
    _assert_error(c.put(f"/api/articles/{SEED_ORIGINAL}", json=body), 401)
    assert c.get("/api/health").json()["articles"] == 4  # nothing written


def test_without_a_token_file_writes_are_refused(tmp_path):
    with Server(_index(tmp_path, SEEDS)) as srv:
        body = {"id": "x.txt", "text": "Some words here."}
        assert "disabled" in _assert_error(srv.client.post("/api/articles", json=body, headers=AUTH), 403)["error"]
        assert srv.client.post("/api/query", json={"text": _text(SEED_WRAPPER)}).status_code == 200


# ---------------------------------------------------------------------------------------------- bad requests


def test_every_bad_request_is_a_4xx_with_a_json_error_and_the_server_keeps_serving(server):
    c = server.client
    json_type = {"content-type": "application/json"}
    cases = [
        (c.post("/api/query", content=b'{"text": "unterminated', headers=json_type), 400),  # invalid JSON
        (c.post("/api/query", content=b'{"text": "caf\xe9"}', headers=json_type), 400),  # not UTF-8
        (c.post("/api/query", content=b"[" * 100_000, headers=json_type), 400),  # nested too deeply
        (c.post("/api/query", json=["a list"]), 422),  # wrong type: not an object
        (c.post("/api/query", json={"text": 42}), 422),  # wrong type: not a string
        (c.post("/api/query", json={"text": "a", "html": "<p>b</p>"}), 422),  # both
        (c.post("/api/query", json={}), 422),  # neither
        (c.post("/api/query", json={"text": "  ...  "}), 422),  # no words
        (c.post("/api/query", json={"text": "words", "id": 7}), 422),  # id not a string
        (c.post("/api/query", json={"text": "x" * 10 + "\x00" * 600}), 422),  # binary content under a text name
        (c.post("/api/query", content=b"text", headers={"content-type": "text/plain"}), 415),
        (c.post("/api/query", data={"text": "words enough to read"}), 415),  # form-encoded: as the README says
        (c.post("/api/query", files={"file": ("a.txt", b"\x00\x01\x02" * 400, "application/octet-stream")}), 422),
        (c.post("/api/query", content=b"--x\r\nnot a form", headers={"content-type": "multipart/form-data"}), 400),
        (c.get("/api/articles/no-such-id"), 404),
        (c.get("/api/no-such-endpoint"), 404),
        (c.get("/api/query"), 405),
        (c.post("/api/articles", content=b"{", headers={**AUTH, **json_type}), 400),
        (c.post("/api/articles", json={"articles": "x"}, headers=AUTH), 422),
        (c.post("/api/articles", json={"articles": [1]}, headers=AUTH), 422),
        (c.post("/api/articles", json={"text": "no id"}, headers=AUTH), 422),
        (c.put("/api/articles/a.txt", json={"text": None}, headers=AUTH), 422),
    ]
    for response, status in cases:
        _assert_error(response, status)
    assert c.get("/api/health").json() == {**c.get("/api/health").json(), "status": "ok", "articles": 4}


def test_the_size_limit(tmp_path):
    with Server(_index(tmp_path, SEEDS), "--max-request", "64KB", token_file=token_file(tmp_path)) as srv:
        big = {"text": "word " * 20_000}
        assert "larger than" in _assert_error(srv.client.post("/api/query", json=big), 413)["error"]

        def chunks():  # no Content-Length: counted while read
            for _ in range(40):
                yield b"x" * 4096

        streamed = srv.client.post("/api/query", content=chunks(), headers={"content-type": "application/json"})
        _assert_error(streamed, 413)
        _assert_error(srv.client.post("/api/articles", json={"id": "a", **big}, headers=AUTH), 413)
        upload = srv.client.post("/api/query", files={"file": ("big.txt", b"word " * 20_000, "text/plain")})
        _assert_error(upload, 413)
        ok = srv.client.post("/api/query", json={"text": _text(SEED_WRAPPER)})
        assert ok.status_code == 200 and ok.json()["pairs"]


def test_pages_send_a_csp_and_escape_what_they_show(server):
    page = server.client.get("/")
    assert page.status_code == 200 and "script-src" not in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    evil = server.client.get("/article", params={"id": "<script>alert(1)</script>"})
    assert evil.status_code == 404 and "<script>alert" not in evil.text and "&lt;script&gt;" in evil.text


def test_a_request_names_no_file_the_server_reads(server):
    """An upload's file name is only its id; ids that look like paths are looked up, never opened."""
    secret = "/etc/hostname"
    answer = server.client.post("/api/query", files={"file": (secret, b"Some words of an article.", "text/plain")})
    assert answer.status_code == 200 and answer.json()["documents"][0]["id"] == secret
    _assert_error(server.client.get("/api/articles/..%2F..%2Fetc%2Fpasswd"), 404)
    assert server.client.get("/article", params={"id": "/etc/passwd"}).status_code == 404


# ---------------------------------------------------------------------------------------------- readers and writers


def _corpus(tmp: Path, n: int, seed: int = 3) -> list[Path]:
    from benchmarks.corpora.corpus import generate

    root = tmp / "corpus"
    generate(root, n, seed=seed)
    (root / "truth.json").unlink()
    return sorted(root.glob("*.txt"))


@pytest.mark.slow
def test_a_served_query_answers_what_dedup_query_answers_on_50_random_articles(tmp_path):
    files = _corpus(tmp_path, 240)
    picked = set(random.Random(11).sample(files, 50))
    archive = tmp_path / "archive"
    archive.mkdir()
    for f in files:
        if f not in picked:
            shutil.copy(f, archive / f.name)
    location = _index(tmp_path, archive)
    index = open_index(str(location))
    found = 0
    with Server(location) as srv:
        for f in sorted(picked):
            want = _comparable(service.query(index, [f], OPTIONS).to_dict())
            got = srv.client.post("/api/query", json={"text": f.read_bytes().decode("utf-8"), "id": f.name})
            assert got.status_code == 200
            assert _comparable(got.json()) == want, f.name
            found += bool(want["pairs"])
    assert found >= 10  # the sample has copies to find


@pytest.mark.slow
def test_many_readers_and_one_writer_lose_no_add(tmp_path):
    files = _corpus(tmp_path, 120)
    location = _index(tmp_path, SEEDS)
    with Server(location, token_file=token_file(tmp_path)) as srv:
        errors: list[str] = []
        query = {"text": _text(SEED_WRAPPER), "id": "q"}

        def read(_: int) -> None:
            with httpx.Client(base_url=srv.url, timeout=60) as c:
                for _ in range(10):
                    r = c.post("/api/query", json=query)
                    if r.status_code != 200 or not r.json()["pairs"]:
                        errors.append(r.text[:200])

        def write(k: int) -> None:
            with httpx.Client(base_url=srv.url, timeout=60) as c:
                batch = [{"id": f.name, "text": f.read_bytes().decode("utf-8")} for f in files[k::4]]
                r = c.post("/api/articles", json={"articles": batch}, headers=AUTH)
                if r.status_code != 201:
                    errors.append(r.text[:200])

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda k: read(k) if k % 2 else write(k // 2), range(8)))
        assert not errors
        assert srv.client.get("/api/health").json()["articles"] == 5 + len(files)


@pytest.mark.slow
def test_sigkill_during_adds_leaves_whole_shards_and_every_acknowledged_add(tmp_path):
    files = _corpus(tmp_path, 400, seed=5)
    location = _index(tmp_path, SEEDS)
    acked: list[str] = []
    srv = Server(location, token_file=token_file(tmp_path))
    stop = threading.Event()

    def add() -> None:
        with httpx.Client(base_url=srv.url, timeout=60) as c:
            for k in range(0, len(files), 10):
                if stop.is_set():
                    return
                batch = [{"id": f.name, "text": f.read_bytes().decode("utf-8")} for f in files[k : k + 10]]
                try:
                    r = c.post("/api/articles", json={"articles": batch}, headers=AUTH)
                except httpx.HTTPError:
                    return
                if r.status_code == 201:
                    acked.extend(b["id"] for b in batch)

    writers = [threading.Thread(target=add) for _ in range(2)]
    for t in writers:
        t.start()
    deadline = time.monotonic() + 120
    while len(acked) < 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(random.Random(1).uniform(0, 0.3))  # somewhere inside the next add
    srv.kill()
    stop.set()
    for t in writers:
        t.join(timeout=60)
    srv.client.close()
    assert len(acked) >= 60

    index = open_index(str(location))
    index.preload()  # every listed shard is whole: its table, directory and filter read
    live = index.live_hashes([f.name for f in files])
    assert set(acked) <= set(live)  # no acknowledged add lost
    stats = index.stats()
    assert stats["articles"] == 5 + len(live)
    with Server(location, token_file=token_file(tmp_path)) as again:
        assert again.client.get("/api/health").json()["articles"] == stats["articles"]
        more = [{"id": "after.txt", "text": "An article added after the crash, with words."}]
        assert again.client.post("/api/articles", json={"articles": more}, headers=AUTH).status_code == 201
        assert again.client.post("/api/query", json={"text": _text(SEED_WRAPPER)}).json()["pairs"]
    assert json.loads((location / "index.json").read_text())["shards"]


@pytest.mark.slow
def test_the_load_benchmark_runs_at_a_small_size(tmp_path):
    """benchmarks/timing/serve.py end to end, small, closed loop and open loop: no error, no lost add, figures
    reported; the open loop's queries all sent and answered, each latency counted from when it was due."""
    from benchmarks.corpora.synth import generate_stream

    corpus = tmp_path / "corpus"
    generate_stream(corpus, 300, seed=1, workers=1)
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.timing.serve", "--corpus", str(corpus), "--index", str(tmp_path / "ix")]
        + ["--clients", "4", "--queries", "40", "--adds", "8", "--cli-runs", "1", "--workers", "1"]
        + ["--rates", "20", "--open-queries", "20", "--open-connections", "4", "--serve-workers", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    closed, opened = out["runs"]
    assert closed["errors"] == 0 and closed["lost_adds"] == 0 and closed["adds_acknowledged"] == 8
    assert closed["articles_after"] == closed["articles_before"] + 8 and closed["query"]["n"] == 40
    assert opened["mode"] == "open" and opened["rate"] == 20 and opened["connections"] == 4
    assert opened["errors"] == 0 and opened["lost_adds"] == 0 and opened["unfinished_jobs"] == 0
    assert opened["query"]["n"] == 20 and opened["adds_acknowledged"] == 4  # adds in proportion: 8 × 20 / 40
    assert opened["articles_after"] == opened["articles_before"] + 4
    # 20 queries due over one second (the last at 0.95 s): the run lasts at least that long.
    assert opened["arrival_seconds"] == 1.0 and opened["wall_seconds"] >= 0.9
    assert opened["send_lag"]["n"] == 24
    assert out["cli_query_per_process"]["n"] == 1


@pytest.mark.slow
def test_the_query_cost_benchmark_reports_what_drives_a_query(tmp_path):
    """benchmarks/timing/query_cost.py, small, with ``--sizes`` and ``--steps``: every held-out article
    queried and answered alike in both passes; each query's sizes (holders, partners, neighbourhood rows)
    reported with their correlation to its CPU and the slowest queries."""
    from benchmarks.corpora.synth import generate_stream
    from benchmarks.timing import query_cost, serve

    corpus = tmp_path / "corpus"
    generate_stream(corpus, 200, seed=2, workers=1)
    # held out of the index as ``timing/serve.py`` holds them (4 adds, 12 queries, seed 0)
    held = random.Random(0).sample(sorted(corpus.rglob("*.txt")), 16)
    assert query_cost.held_out(corpus, 0, 4, 12) == held[4:]
    serve.build_index(corpus, tmp_path / "ix", {f.relative_to(corpus).as_posix() for f in held}, 1)
    out = query_cost.main(
        ["--corpus", str(corpus), "--index", str(tmp_path / "ix"), "--adds", "4", "--held-out-queries", "12"]
        + ["--count", "12", "--sizes", "--steps", "--answers", str(tmp_path / "answers.jsonl")]
    )
    assert out["queries"] == 12 and out["answers_changed_after_first_pass"] == 0
    sizes = out["sizes"]
    assert sizes["neighbourhood_rows"]["max"] >= 1 and len(sizes["slowest"]) == 5
    assert sizes["query_fingerprints"]["p50"] > 0 and "_answer_step" in out["steps_cpu_ms_per_query"]
    assert len((tmp_path / "answers.jsonl").read_text().splitlines()) == 12


@pytest.mark.redis
def test_a_redis_index_is_served_the_same(tmp_path, redis_url):
    """The Redis backend behind the server: the answer is the local one's, and adds are seen at once."""
    import uuid

    location = f"{redis_url}#serve{uuid.uuid4().hex[:10]}"
    index = open_index(location, params=service.store_params(OPTIONS), create=True)
    service.add(index, [_archive(tmp_path)], OPTIONS)
    want = _comparable(service.query(index, [SEEDS / SEED_WRAPPER], OPTIONS).to_dict())
    with Server(location, "--show-paths", token_file=token_file(tmp_path)) as srv:
        got = srv.client.post("/api/query", json={"text": _text(SEED_WRAPPER), "id": SEED_WRAPPER}).json()
        assert _comparable(got) == want and got["clusters"][0]["source"] == SEED_ORIGINAL
        body = {"id": "copy.txt", "text": "A repost.\n\n" + _text(SEED_ORIGINAL)}
        assert srv.client.post("/api/articles", json=body, headers=AUTH).json()["articles"] == 5
        answer = srv.client.post("/api/query", json={"text": _text(SEED_ORIGINAL), "id": "q"}).json()
        assert "copy.txt" in {p["indexed"] for p in answer["pairs"]}
        assert srv.client.get("/api/stats").json()["backend"] == "redis"
        assert "redis://" in srv.client.get("/api/stats", headers=AUTH).json()["location"]
        assert "location" not in srv.client.get("/api/stats").json()  # only to the token holder


def test_the_time_limit(tmp_path):
    with Server(_index(tmp_path, SEEDS), "--timeout", "0.001") as srv:
        slow = srv.client.post("/api/query", json={"text": _text(SEED_WRAPPER)})
        assert "longer than" in _assert_error(slow, 503)["error"]
        assert srv.client.get("/api/health").json()["status"] == "ok"
