"""Persistent index benchmark (issue 12): add rate and query latency, local and Redis, beside datasketch.

One run, one corpus from ``benchmarks/synth.py``: the first ``--docs`` articles are indexed, the next
``--queries`` (new articles, about one in five a copy of an indexed one) are asked one at a time.

- dedup local: ``archive.add`` of the folder (articles/s), then per query article ``query_articles``
  (phase 1 of the article, look-up, verify, align: the whole answer with passages); p50/p99 in ms.
- dedup Redis: the same against a Redis server (``--redis URL``; else a private ``redis-server`` is
  started on a free port).
- phase 1 alone (``pipeline.ingest`` into a throw-away store): the rate the issue's add target is
  relative to.
- datasketch: ``MinHash`` (128 permutations, word 5-grams, as ``MinHash.bulk``) and ``MinHashLSH``
  (threshold 0.5) with Redis storage, inserted in an ``insertion_session`` (its batched API), then
  ``lsh.query`` per query article; rates with and without building the MinHashes.

Prints a JSON summary and a markdown table; the load average is read before and after.

    python -m benchmarks.index_bench --docs 20000 --queries 300
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from benchmarks.synth import generate_stream


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_redis(tmp: Path) -> tuple[subprocess.Popen, str]:
    import redis

    port = _free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(tmp),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            redis.Redis(port=port).ping()
            return proc, f"redis://127.0.0.1:{port}/0"
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    raise SystemExit("index_bench: redis-server did not start")


def _pct(ms: list[float]) -> dict:
    a = np.asarray(ms)
    return {"p50_ms": round(float(np.percentile(a, 50)), 2), "p99_ms": round(float(np.percentile(a, 99)), 2)}


def _dedup(location: str, corpus: Path, queries: list, options) -> dict:
    from dedup import archive
    from dedup.store.backend import open_index

    index = open_index(location, archive.store_params(options), create=True)
    t = time.perf_counter()
    report = archive.add(index, [corpus], options)
    add_s = time.perf_counter() - t
    index = open_index(location)
    archive.query_articles(index, queries[:3], options)  # warm caches (memory maps, row frame)
    lat, found = [], 0
    for art in queries:
        t = time.perf_counter()
        answers, _ = archive.query_articles(index, [art], options)
        lat.append((time.perf_counter() - t) * 1000)
        found += bool(answers[0].matches)
    stats = index.stats()
    if hasattr(index, "drop"):
        index.drop()
    return {
        "added": report.added,
        "add_seconds": round(add_s, 2),
        "add_rate": round(report.added / add_s, 1),
        **_pct(lat),
        "queries_with_matches": found,
        "stats": stats,
    }


def _phase1(corpus: Path, options) -> float:
    from dedup.pipeline import ingest
    from dedup.store import FeatureStore

    with tempfile.TemporaryDirectory() as tmp:
        fs = FeatureStore(tmp, params={}, create=True)
        t = time.perf_counter()
        names, _ = ingest(fs, corpus, options, lambda *a: None)
        return time.perf_counter() - t


_WORD = re.compile(r"\w+")


def _shingles(text: str, k: int = 5) -> list[bytes]:
    w = _WORD.findall(text.lower())
    return [" ".join(w[i : i + k]).encode() for i in range(max(1, len(w) - k + 1))]


def _datasketch(url: str, texts: list[str], queries: list[str]) -> dict:
    from urllib.parse import urlsplit

    from datasketch import MinHash, MinHashLSH

    u = urlsplit(url)
    t = time.perf_counter()
    sets = [_shingles(x) for x in texts]
    hashes = MinHash.bulk(sets, num_perm=128)
    build_s = time.perf_counter() - t
    basename = f"ds{uuid.uuid4().hex[:8]}".encode()
    cfg = {"type": "redis", "basename": basename, "redis": {"host": u.hostname, "port": u.port}}
    lsh = MinHashLSH(threshold=0.5, num_perm=128, storage_config=cfg)
    t = time.perf_counter()
    with lsh.insertion_session() as session:
        for i, m in enumerate(hashes):
            session.insert(f"d{i}", m)
    insert_s = time.perf_counter() - t
    plain = MinHashLSH(threshold=0.5, num_perm=128, storage_config={**cfg, "basename": basename + b"p"})
    n_plain = min(len(hashes), 500)
    t = time.perf_counter()
    for i, m in enumerate(hashes[:n_plain]):  # one insert at a time, as the issue measured it
        plain.insert(f"d{i}", m)
    plain_rate = n_plain / (time.perf_counter() - t)
    qh = MinHash.bulk([_shingles(x) for x in queries], num_perm=128)
    lat = []
    for m in qh:
        t = time.perf_counter()
        lsh.query(m)
        lat.append((time.perf_counter() - t) * 1000)
    return {
        "insert_rate": round(len(texts) / insert_s, 1),
        "plain_insert_rate": round(plain_rate, 1),
        "minhash_plus_insert_rate": round(len(texts) / (insert_s + build_s), 1),
        **_pct(lat),
        "query_note": "LSH candidates only: no verification, no passages",
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=2000, help="articles indexed")
    ap.add_argument("--queries", type=int, default=200, help="new articles queried one at a time")
    ap.add_argument("--recurring", type=float, default=0.0, help="synth's recurring-text share (0: clean corpus)")
    ap.add_argument("--redis", help="Redis URL (default: start a private redis-server)")
    ap.add_argument("--skip-datasketch", action="store_true")
    ap.add_argument("--workers", type=int, default=None, help="phase-1 worker processes (default: one per core)")
    args = ap.parse_args(argv)

    from dedup.archive import read_sources
    from dedup.pipeline import ScanOptions

    options = ScanOptions(workers=args.workers)
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="index-bench-"))
    server = None
    try:
        gen = work / "gen"
        generate_stream(gen, args.docs + args.queries, seed=11, recurring=args.recurring)
        files = sorted(gen.rglob("*.txt"))
        corpus, qdir = work / "corpus", work / "queries"
        corpus.mkdir()
        qdir.mkdir()
        for i, f in enumerate(files):
            os.replace(f, (corpus if i < args.docs else qdir) / f.name)
        queries, _ = read_sources([qdir], options)
        url = args.redis
        if url is None:
            (work / "redis").mkdir()
            server, url = _start_redis(work / "redis")
        out: dict = {"docs": args.docs, "queries": len(queries), "recurring": args.recurring}
        p1 = _phase1(corpus, options)
        out["phase1_rate"] = round(args.docs / p1, 1)
        out["local"] = _dedup(str(work / "index"), corpus, queries, options)
        out["redis"] = _dedup(f"{url}#bench{uuid.uuid4().hex[:8]}", corpus, queries, options)
        if not args.skip_datasketch:
            texts = [p.read_text(encoding="utf-8") for p in sorted(corpus.iterdir())]
            out["datasketch_redis"] = _datasketch(url, texts, [a.text for a in queries])
            out["redis_add_vs_datasketch"] = round(out["redis"]["add_rate"] / out["datasketch_redis"]["insert_rate"], 1)
        out["local_add_vs_phase1"] = round(out["local"]["add_rate"] / out["phase1_rate"], 2)
        out["loadavg_before"] = [round(x, 2) for x in load_before]
        out["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out, indent=1))
    rows = [
        ("dedup local", out["local"]["add_rate"], out["local"]["p50_ms"], out["local"]["p99_ms"]),
        ("dedup Redis", out["redis"]["add_rate"], out["redis"]["p50_ms"], out["redis"]["p99_ms"]),
    ]
    if "datasketch_redis" in out:
        d = out["datasketch_redis"]
        rows.append(("datasketch MinHashLSH, Redis", d["insert_rate"], d["p50_ms"], d["p99_ms"]))
    print(f"\n| {args.docs} articles | add (articles/s) | query p50 (ms) | query p99 (ms) |\n|---|---|---|---|")
    for name, rate, p50, p99 in rows:
        print(f"| {name} | {rate} | {p50} | {p99} |")


if __name__ == "__main__":
    main()
