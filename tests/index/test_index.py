"""The persistent index (issue 12), local and Redis, against a real redis-server.

Redis: ``DEDUP_TEST_REDIS`` (set by ``.ci/run``) names a running server; otherwise a private
``redis-server`` is started when the binary is on PATH; the Redis tests are skipped only when there
is no binary at all.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from dedup import ScanOptions, scan
from dedup.featurestore import StoreError
from dedup.index import open_index
from dedup.index import service as archive
from dedup.options import FEATURES_VERSION

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
WRAPPER = "000_137fe5741023b456.txt"
ORIGINAL = "001_9fe7513b9c6ae974.txt"
OTHERS = ["002_9bc901dc3b6c5084.txt", "003_b776af7c7e9b7e80.txt", "004_a7b902191fce4d12.txt"]
OPTIONS = ScanOptions(workers=1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_redis(tmp: Path, port: int, persist: bool = False) -> subprocess.Popen:
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp), "--save", ""]
    args += ["--appendonly", "yes", "--appendfsync", "always"] if persist else ["--appendonly", "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    for _ in range(200):
        try:
            redis.Redis(port=port, socket_connect_timeout=0.2).ping()  # also waits for the data to load
            return proc
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    url = os.environ.get("DEDUP_TEST_REDIS")
    if url:
        yield url
        return
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary on PATH (.ci/run installs it)")
    port = _free_port()
    proc = _start_redis(tmp_path_factory.mktemp("redis"), port)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(params=["local", "redis"])
def location(request, tmp_path):
    """A fresh index location of each backend (a Redis index under a unique name, dropped after)."""
    if request.param == "local":
        yield str(tmp_path / "index")
        return
    url = request.getfixturevalue("redis_url")
    loc = f"{url}#t{uuid.uuid4().hex[:12]}"
    yield loc
    with contextlib.suppress(StoreError):
        open_index(loc).drop()


def _new(loc: str):
    return open_index(loc, archive.store_params(OPTIONS), create=True)


def _cli(*args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    run_env = {**os.environ, **env} if env else None
    cmd = [sys.executable, "-m", "dedup", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120, env=run_env)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def _seed_folder(tmp: Path, names: list[str]) -> Path:
    folder = tmp / uuid.uuid4().hex[:8]
    folder.mkdir()
    for n in names:
        shutil.copy(SEEDS / n, folder / n)
    return folder


def _pairs(answer: dict) -> list[tuple]:
    """Pairs as comparable rows; a pair held equally both ways is oriented by id (scan orients it by input order)."""
    out = []
    for p in answer["pairs"]:
        a, b, passages = p["a"], p["b"], p["passages"]
        if p["a_in_b"] == p["b_in_a"] and b < a:
            a, b = b, a
            passages = [
                {"a_start": x["b_start"], "a_end": x["b_end"], "b_start": x["a_start"], "b_end": x["a_end"]}
                for x in passages
            ]
        out.append((a, b, p["relation"], p["jaccard"], p["a_in_b"], p["b_in_a"], json.dumps(passages)))
    return sorted(out)


# ------------------------------------------------------------------------------------------ done-when


def test_query_finds_what_the_seed_wraps_as_scan_does(location):
    """Index 001-004, query 000 (another process): 001 is what it wraps, with scan's numbers and passages."""
    paths = [str(SEEDS / n) for n in [ORIGINAL, *OTHERS]]
    _cli("index", "add", *paths, "--index", location, "-q")
    out = json.loads(_cli("query", str(SEEDS / WRAPPER), "--index", location, "--format", "json").stdout)
    want = scan(SEEDS, OPTIONS).to_dict()
    assert [p[:7] for p in _pairs(out)] == _pairs(want)
    (pair,) = out["pairs"]
    assert (pair["a"], pair["b"], pair["relation"], pair["indexed"]) == (WRAPPER, ORIGINAL, "contains", ORIGINAL)
    roles = {d["id"]: d["role"] for d in out["documents"]}
    assert roles == {WRAPPER: "copy", ORIGINAL: "source"}
    labels = {d["id"]: [p["label"] for p in d["paragraphs"]] for d in out["documents"]}
    want_labels = {d["id"]: [p["label"] for p in d["paragraphs"]] for d in want["documents"]}
    assert labels[WRAPPER] == want_labels[WRAPPER] and labels[ORIGINAL] == want_labels[ORIGINAL]


def test_local_and_redis_give_identical_answers(tmp_path, redis_url):
    """The same corpus in both backends: every article's answer is the same, field for field."""
    from benchmarks.corpora.synth import generate_stream

    corpus = tmp_path / "corpus"
    generate_stream(corpus, 300, seed=3, workers=1, recurring=0.3, recurrence=5)
    files = sorted(corpus.rglob("*.txt"))
    archive_dir, queries = tmp_path / "archive", tmp_path / "queries"
    archive_dir.mkdir()
    queries.mkdir()
    for i, f in enumerate(files):
        shutil.copy(f, (queries if i % 5 == 4 else archive_dir) / f.name)
    local = _new(str(tmp_path / "index"))
    remote = _new(f"{redis_url}#t{uuid.uuid4().hex[:12]}")
    try:
        for ix in (local, remote):
            archive.add(ix, [archive_dir], OPTIONS)
        a = archive.query(local, [queries], OPTIONS).to_dict()
        b = archive.query(remote, [queries], OPTIONS).to_dict()
        assert len(a["pairs"]) > 10
        assert {p["relation"] for p in a["pairs"]} >= {"contains", "near-duplicate"} or len(a["pairs"]) > 10
        for key in ("documents", "clusters", "pairs"):
            assert a[key] == b[key]
        # And scan DIR --index gives the pairs of a scan of the folder plus the indexed articles.
        both = tmp_path / "both"
        shutil.copytree(archive_dir, both)
        for f in queries.iterdir():
            shutil.copy(f, both / f.name)
        whole = scan(both, OPTIONS).to_dict()
        with_index = archive.scan_with_index(queries, local, OPTIONS).to_dict()
        assert _pairs(with_index) == _pairs(whole)
        assert _pairs(archive.scan_with_index(queries, remote, OPTIONS).to_dict()) == _pairs(whole)
    finally:
        remote.drop()


# ------------------------------------------------------------------------------------------ add semantics


def test_readding_is_a_noop_and_a_changed_article_replaces(location, tmp_path):
    folder = _seed_folder(tmp_path, [ORIGINAL, *OTHERS])
    ix = _new(location)
    first = archive.add(ix, [folder], OPTIONS)
    assert (first.added, first.replaced, first.unchanged) == (4, 0, 0)
    again = archive.add(ix, [folder], OPTIONS)
    assert (again.added, again.replaced, again.unchanged) == (0, 0, 4)
    assert ix.stats()["articles"] == 4
    # 002 becomes a copy of 001: it replaces the old 002, and a query now finds 002 as near-duplicate of 001.
    shutil.copy(SEEDS / ORIGINAL, folder / OTHERS[0])
    changed = archive.add(ix, [folder], OPTIONS)
    assert (changed.added, changed.replaced, changed.unchanged) == (0, 1, 3)
    ix = open_index(location)
    assert ix.stats()["articles"] == 4
    out = archive.query(ix, [SEEDS / ORIGINAL], OPTIONS).to_dict()
    assert {(p["indexed"], p["relation"]) for p in out["pairs"]} == {(ORIGINAL, "exact"), (OTHERS[0], "exact")}
    # Removal and compaction keep the answers for the rest.
    with ix.writing():
        assert ix.remove([OTHERS[0], "not-there"]) == 1
    ix.compact()
    ix = open_index(location)
    assert ix.stats()["articles"] == 3 and ix.stats()["removed_pending"] == 0
    out = archive.query(ix, [SEEDS / WRAPPER], OPTIONS).to_dict()
    assert [(p["indexed"], p["relation"], p["a_in_b"], p["b_in_a"]) for p in out["pairs"]] == [
        (ORIGINAL, "contains", 0.5496, 0.8807)
    ]


def _corpus(tmp_path: Path, n: int, seed: int) -> Path:
    from benchmarks.corpora.synth import generate_stream

    out = tmp_path / f"c{seed}"
    generate_stream(out, n, seed=seed, workers=1)
    return out


def test_two_processes_adding_at_once_lose_nothing(location, tmp_path):
    a, b = _corpus(tmp_path, 150, 1), _corpus(tmp_path, 150, 2)
    # Ids are relative paths: give the two corpora distinct ones.
    for folder, tag in ((a, "a"), (b, "b")):
        for f in folder.rglob("*.txt"):
            f.rename(f.with_name(f"{tag}{f.name}"))
    _new(location)
    cmd = [sys.executable, "-m", "dedup", "index", "add", "--index", location, "-q", "--batch-docs", "20"]
    procs = [subprocess.Popen([*cmd, str(f)], cwd=ROOT, stderr=subprocess.PIPE, text=True) for f in (a, b)]
    for p in procs:
        assert p.wait(120) == 0, p.stderr.read()
    assert open_index(location).stats()["articles"] == 300


# ------------------------------------------------------------------------------------------ crashes


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            with contextlib.suppress(OSError):
                if text.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(int(pid))
    return found


def test_sigkill_during_add_keeps_everything_added_before(tmp_path):
    loc = str(tmp_path / "index")
    before = _seed_folder(tmp_path, [ORIGINAL, *OTHERS])
    _cli("index", "add", str(before), "--index", loc, "-q")
    big = _corpus(tmp_path, 3000, 5)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dedup", "index", "add", str(big), "--index", loc, "-q", "--batch-docs", "50"],
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    manifest = Path(loc) / "index.json"
    deadline = time.time() + 60
    while time.time() < deadline and len(json.loads(manifest.read_text())["shards"]) < 3:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # Its phase-1 workers die with it (forked: their command line is the parent's).
    deadline = time.time() + 10
    while time.time() < deadline and _processes_mentioning(loc):
        time.sleep(0.1)
    assert not _processes_mentioning(loc)
    stats = json.loads(_cli("index", "stats", "--index", loc).stdout)
    assert 4 < stats["articles"] < 3004  # killed midway, committed shards kept
    out = json.loads(_cli("query", str(SEEDS / WRAPPER), "--index", loc, "--format", "json").stdout)
    assert [(p["indexed"], p["relation"], p["a_in_b"]) for p in out["pairs"]] == [(ORIGINAL, "contains", 0.5496)]
    # Every article the index lists answers for itself (its shards are whole).
    ix = open_index(loc)
    some = ix.rows(np.flatnonzero(ix.alive))["id"].to_list()[-3:]
    q = [big / i if (big / i).exists() else before / i for i in some]
    res = archive.query(ix, q, OPTIONS).to_dict()
    assert {p["indexed"] for p in res["pairs"] if p["relation"] == "exact"} >= set(some)
    # And the next add completes it.
    _cli("index", "add", str(big), "--index", loc, "-q")
    assert json.loads(_cli("index", "stats", "--index", loc).stdout)["articles"] == 3004


def test_redis_killed_mid_add_is_a_clear_error_and_leaves_no_partial_entry(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary on PATH (.ci/run installs it)")
    port = _free_port()
    data = tmp_path / "redis"
    data.mkdir()
    server = _start_redis(data, port, persist=True)
    loc = f"redis://127.0.0.1:{port}/0#crash"
    big = _corpus(tmp_path, 3000, 6)
    try:
        _new(loc)
        proc = subprocess.Popen(
            [sys.executable, "-m", "dedup", "index", "add", str(big), "--index", loc, "-q", "--batch-docs", "100"],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "DEDUP_LOCK_SECONDS": "2"},
        )
        import redis

        r = redis.Redis(port=port)
        deadline = time.time() + 60
        while time.time() < deadline and len(json.loads(r.get("dedup:{crash}:manifest") or "{}").get("shards", [])) < 3:
            time.sleep(0.02)
        server.kill()
        server.wait()
        assert proc.wait(60) == 3  # a failure while working (README, Exit codes)
        err = proc.stderr.read().strip()
        assert len(err.splitlines()) == 1 and "Redis" in err and "Traceback" not in err
        server = _start_redis(data, port, persist=True)  # replays the append-only file
        ix = open_index(loc)
        listed = json.loads(r.get("dedup:{crash}:manifest"))["shards"]
        live = ix.live_hashes([f"{i // 1000:04d}/{i:08d}.txt" for i in range(3000)])
        assert 0 < len(live) < 3000 and len(live) % 100 == 0  # whole shards only
        # Every article listed is whole: it is found again, from its file, as an exact copy of itself.
        some = sorted(live)[:: max(1, len(live) // 5)]
        res = archive.query(ix, [big / i for i in some], OPTIONS).to_dict()
        assert {p["indexed"] for p in res["pairs"] if p["relation"] == "exact"} >= set(some)
        # The next writer waits for the lock the cut-off one held to expire (DEDUP_LOCK_SECONDS), deletes what
        # it uploaded but never listed, and completes the index.
        _cli("index", "add", str(big), "--index", loc, "-q", "--batch-docs", "1000", env={"DEDUP_LOCK_SECONDS": "2"})
        assert open_index(loc).stats()["articles"] == 3000
        assert r.scard("dedup:{crash}:pending") == 0
        manifest = json.loads(r.get("dedup:{crash}:manifest"))
        stored = {k.decode() for k in r.scan_iter(match="dedup:\\{crash/*", count=1000)}
        assert stored == {f"dedup:{{crash/{n}}}:files" for n in manifest["shards"]}
        assert listed
    finally:
        server.kill()
        server.wait()


# ------------------------------------------------------------------------------------------ bad indexes


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda m: m.write_text(json.dumps({**json.loads(m.read_text()), "version": 99})), "newer"),
        (lambda m: m.write_text("{not json"), "unreadable"),
        (lambda m: m.write_text(json.dumps({**json.loads(m.read_text()), "shards": ["gone"]})), "missing"),
    ],
)
def test_newer_or_corrupt_index_is_one_line_exit_2(tmp_path, damage, message):
    loc = tmp_path / "index"
    ix = _new(str(loc))
    archive.add(ix, [SEEDS / ORIGINAL], OPTIONS)
    damage(loc / "index.json")
    for args in (["query", str(SEEDS / WRAPPER)], ["index", "stats"], ["index", "add", str(SEEDS / WRAPPER)]):
        proc = _cli(*args, "--index", str(loc), check=False)
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr
        assert "Traceback" not in proc.stderr


def test_unreachable_redis_and_missing_index_are_one_line(redis_url):
    port = _free_port()
    proc = _cli("index", "stats", "--index", f"redis://127.0.0.1:{port}/0", check=False)
    assert proc.returncode == 2 and "cannot reach Redis" in proc.stderr and len(proc.stderr.splitlines()) == 1
    proc = _cli("query", str(SEEDS / WRAPPER), "--index", f"{redis_url}#nosuch{uuid.uuid4().hex[:6]}", check=False)
    assert proc.returncode == 2 and "no dedup index of that name" in proc.stderr


def test_redis_stats_download_nothing_and_an_older_layout_is_one_line(redis_url, tmp_path):
    """``index stats`` counts from the manifest: a new worker's empty cache stays empty. An index written in
    the previous Redis layout (format 1) is a clear error, never read as empty."""
    loc = f"{redis_url}#t{uuid.uuid4().hex[:12]}"
    _cli("index", "add", *[str(SEEDS / n) for n in [ORIGINAL, *OTHERS]], "--index", loc, "-q")
    cache = tmp_path / "fresh-cache"
    stats = json.loads(_cli("index", "stats", "--index", loc, env={"DEDUP_CACHE_DIR": str(cache)}).stdout)
    assert (stats["articles"], stats["removed_pending"], stats["shards"]) == (4, 0, 4)  # one shard a path
    assert not list(cache.rglob("*.npy"))
    import redis

    name = loc.rpartition("#")[2]
    r = redis.Redis.from_url(redis_url)
    try:
        r.hset(f"dedup:{{{name}}}:meta", "version", 1)
        proc = _cli("query", str(SEEDS / WRAPPER), "--index", loc, check=False)
        assert proc.returncode == 2 and "older dedup" in proc.stderr and len(proc.stderr.splitlines()) == 1
    finally:
        r.hset(f"dedup:{{{name}}}:meta", "version", 2)
        open_index(loc).drop()


def test_an_index_built_with_other_features_is_refused_with_the_way_out(tmp_path):
    """An index whose articles were read by an earlier phase 1 (no ``features`` in its params) would answer
    differently from a scan: query, add and serve refuse it in one line, exit 2, saying to add its articles again."""
    index = tmp_path / "old"
    done = subprocess.run(
        [sys.executable, "-m", "dedup", "index", "add", str(SEEDS / ORIGINAL), "--index", str(index), "-q"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    manifest = json.loads((index / "index.json").read_text())
    manifest["params"].pop("features")
    (index / "index.json").write_text(json.dumps(manifest))
    for args in (["query", str(SEEDS / WRAPPER)], ["index", "add", str(SEEDS / WRAPPER)], ["serve", "--port", "0"]):
        run = subprocess.run(
            [sys.executable, "-m", "dedup", *args, "--index", str(index)], capture_output=True, text=True
        )
        assert run.returncode == 2, (args, run.stderr)
        assert run.stderr.strip().splitlines() == [
            f"dedup: error: {index}: index built by a dedup that read articles differently (features 1, this one "
            f"{FEATURES_VERSION}); add its articles again to a new index"
        ]
