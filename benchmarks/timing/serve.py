"""Load on ``dedup serve``: concurrent clients querying while adds are interleaved, beside the CLI.

A bounded run on loopback only: the corpus (``benchmarks.corpora.synth``) is indexed but for ``--adds`` held-out
articles; ``python -m dedup.serve`` is started on a free loopback port; ``--clients`` async httpx clients
send ``--queries`` queries (random corpus articles, as ``POST /api/query`` with their text) with the
held-out adds interleaved (one ``POST /api/articles`` every queries/adds jobs), and stop at
``--max-seconds``. Then every add is checked to be in the index (lost adds), and ``dedup query FILE`` is
timed as a new process a few times (the CLI's per-article latency, opening the index each time).

    python -m benchmarks.corpora.synth /tmp/corpus --docs 20000
    python -m benchmarks.timing.serve --corpus /tmp/corpus --index /tmp/serve-index --clients 16 \\
        --queries 2000 --adds 200 [--held-out-queries 2000]

Prints one JSON object: latencies (p50/p90/p99/max, ms) of queries and adds, errors, lost adds, the
CLI's per-process seconds, the load average before and after, the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    a = np.asarray(values) * 1000
    return {
        "n": len(values),
        "p50_ms": round(float(np.percentile(a, 50)), 1),
        "p90_ms": round(float(np.percentile(a, 90)), 1),
        "p99_ms": round(float(np.percentile(a, 99)), 1),
        "max_ms": round(float(a.max()), 1),
    }


def build_index(corpus: Path, index: Path, held: set[str], workers: int) -> float:
    """Index every corpus article but the held-out ones (hard links in a folder beside the index)."""
    from dedup import ScanOptions
    from dedup.index import open_index, service

    archive = index.parent / (index.name + "-archive")
    for f in corpus.rglob("*.txt"):
        rel = f.relative_to(corpus).as_posix()
        if rel in held:
            continue
        target = archive / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            os.link(f, target)
    options = ScanOptions(workers=workers)
    t = time.perf_counter()
    ix = open_index(str(index), params=service.store_params(options), create=True)
    service.add(ix, [archive], options)
    return time.perf_counter() - t


def start_server(index: Path, token_file: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dedup.serve", "--index", str(index), "--port", "0", "--token-file", str(token_file)],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        m = re.search(r"serving on (http://127\.0\.0\.1:\d+)/", line)
        if m:
            return proc, m.group(1)
    raise RuntimeError("dedup serve did not start")


async def load(
    url: str, token: str, queries: list[Path], adds: list[tuple[str, Path]], clients: int, max_seconds: float
) -> dict:
    jobs: asyncio.Queue = asyncio.Queue()
    every = max(1, len(queries) // max(1, len(adds)))
    add_iter = iter(adds)
    for k, q in enumerate(queries):
        jobs.put_nowait(("query", q))
        if (k + 1) % every == 0 and (a := next(add_iter, None)) is not None:
            jobs.put_nowait(("add", a))
    for a in add_iter:
        jobs.put_nowait(("add", a))
    lat: dict[str, list[float]] = {"query": [], "add": []}
    errors: list[str] = []
    added: list[str] = []
    deadline = time.monotonic() + max_seconds
    auth = {"Authorization": f"Bearer {token}"}

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as c:
            while not jobs.empty() and time.monotonic() < deadline:
                kind, item = jobs.get_nowait()
                t = time.perf_counter()
                try:
                    if kind == "query":
                        r = await c.post("/api/query", json={"text": item.read_bytes().decode(), "id": item.name})
                    else:
                        doc_id, path = item
                        body = {"articles": [{"id": doc_id, "text": path.read_bytes().decode()}]}
                        r = await c.post("/api/articles", json=body, headers=auth)
                except httpx.HTTPError as e:
                    errors.append(f"{kind}: {type(e).__name__}")
                    continue
                lat[kind].append(time.perf_counter() - t)
                if r.status_code >= 300:
                    errors.append(f"{kind}: {r.status_code} {r.text[:100]}")
                elif kind == "add":
                    added.append(item[0])

    t = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.perf_counter() - t
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        lost = [d for d in added if (await c.get("/api/articles/" + quote(d, safe=""))).status_code != 200]
    return {
        "wall_seconds": round(wall, 1),
        "queries_per_second": round(len(lat["query"]) / wall, 1),
        "query": _percentiles(lat["query"]),
        "add": _percentiles(lat["add"]),
        "errors": len(errors),
        "error_samples": errors[:5],
        "adds_acknowledged": len(added),
        "lost_adds": len(lost),
        "unfinished_jobs": jobs.qsize(),
    }


def cli_latency(index: Path, files: list[Path]) -> dict:
    """``dedup query FILE --index`` as a new process, one article at a time (the CLI's cost per article)."""
    if not files:
        return {}
    times = []
    for f in files:
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "dedup", "query", str(f), "--index", str(index), "--workers", "1"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - t)
    return {"n": len(times), "median_s": round(float(np.median(times)), 2), "max_s": round(max(times), 2)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True, type=Path, help="a benchmarks.corpora.synth folder")
    ap.add_argument("--index", required=True, type=Path, help="where the index is (built there when missing)")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--adds", type=int, default=200)
    ap.add_argument("--cli-runs", type=int, default=5)
    ap.add_argument("--max-seconds", type=float, default=900)
    ap.add_argument("--workers", type=int, default=2, help="processes for building the index")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--held-out-queries",
        type=int,
        default=0,
        metavar="N",
        help="query N articles held out of the index (new articles, as a CMS sends them) instead of indexed ones "
        "(each of which finds at least itself); the index must have been built with the same N",
    )
    args = ap.parse_args(argv)

    files = sorted(args.corpus.rglob("*.txt"))
    rng = random.Random(args.seed)
    sample = rng.sample(files, args.adds + args.held_out_queries)
    held, pool = sample[: args.adds], sample[args.adds :]
    held_ids = {f.relative_to(args.corpus).as_posix() for f in sample}
    out: dict = {"corpus_articles": len(files), "machine": f"{platform.machine()}, {os.cpu_count()} cores"}
    if not (args.index / "index.json").exists():
        out["index_build_seconds"] = round(build_index(args.corpus, args.index, held_ids, args.workers), 1)
    indexed = [f for f in files if f.relative_to(args.corpus).as_posix() not in held_ids]
    queries = [rng.choice(pool or indexed) for _ in range(args.queries)]
    out["queries_from"] = f"{len(pool)} held-out articles" if pool else "indexed articles"
    adds = [(f"added/{f.relative_to(args.corpus).as_posix()}", f) for f in held]
    with tempfile.TemporaryDirectory() as tmp:
        token = secrets.token_urlsafe(24)
        token_file = Path(tmp) / "token"
        token_file.write_text(token)
        t = time.perf_counter()
        proc, url = start_server(args.index, token_file)
        out["server_start_seconds"] = round(time.perf_counter() - t, 1)
        try:
            out["articles_before"] = httpx.get(url + "/api/health").json()["articles"]
            out["loadavg_before"] = [round(x, 2) for x in os.getloadavg()]
            out["clients"] = args.clients
            out |= asyncio.run(load(url, token, queries, adds, args.clients, args.max_seconds))
            out["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
            out["articles_after"] = httpx.get(url + "/api/health").json()["articles"]
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    out["cli_query_per_process"] = cli_latency(args.index, queries[: args.cli_runs])
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
