"""Load on ``dedup serve``: concurrent clients querying while adds are interleaved, beside the CLI.

A bounded run on loopback only: the corpus (``benchmarks.corpora.synth``) is indexed but for ``--adds`` held-out
articles; ``python -m dedup.serve`` is started on a free loopback port; ``--clients`` async httpx clients
send ``--queries`` queries (random corpus articles, as ``POST /api/query`` with their text) with the
held-out adds interleaved (one ``POST /api/articles`` every queries/adds jobs), and stop at
``--max-seconds``; with several server workers, each takes an equal share of the clients. Then every add is
checked to be in the index (lost adds), and ``dedup query FILE`` is
timed as a new process a few times (the CLI's per-article latency, opening the index each time).

    python -m benchmarks.corpora.synth /tmp/corpus --docs 20000
    python -m benchmarks.timing.serve --corpus /tmp/corpus --index /tmp/serve-index --clients 16 \\
        --queries 2000 --adds 200 [--held-out-queries 2000]
    python -m benchmarks.timing.serve ... --clients 1,16 --serve-workers 1,2   # four runs, ratios to --workers 1
    python -m benchmarks.timing.serve ... --reference /tmp/main-checkout --rounds 2   # main's server alternating
    python -m benchmarks.timing.serve ... --clients 16,1 --rates 100,150   # and an open loop at each rate

Closed loop (``--clients``): each client sends its next request when its last is answered, so a slow server
slows the arrivals and a query's latency is about clients / throughput (Little's law) whatever the server.
Open loop (``--rates``): requests are due at a fixed rate whatever the answers, and each latency runs from
when it was due (the wait for one of ``--open-connections`` free connections counted): what a site's readers
see below the server's capacity, and a queue that grows without bound above it.

With several client counts or ``--serve-workers``, each combination is a run of its own (a fresh server, the
server's access log off, adds under ids of the run's own) and the JSON lists the runs and, per client count,
each run's queries/s, p50 and p99 over the run with the fewest workers.

Prints one JSON object: latencies (p50/p90/p99/max, ms) of queries and adds, errors, lost adds, the
CLI's per-process seconds, the load average before and after, the machine; per run the server's CPU per
query (every process of it, adds included) and the clients' queries and adds in flight (Little's law: in a
closed loop a query's latency is about the queries in flight over the queries a second).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
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
        "mean_ms": round(float(a.mean()), 1),
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


def start_server(
    index: Path, token_file: Path, workers: int | None = None, code: Path | None = None, log: list | None = None
) -> tuple[subprocess.Popen, str]:
    """``python -m dedup.serve`` on a free loopback port (``workers``: its ``--workers``; None: its default),
    logging warnings only, run from the checkout ``code`` (None: the ``dedup`` this process imports); its URL
    once it listens. ``log``: where the lines it writes after that go (warnings, a 500's traceback)."""
    cmd = [sys.executable, "-m", "dedup.serve", "--index", str(index), "--port", "0", "--token-file", str(token_file)]
    cmd += ["--log-level", "warning"] + (["--workers", str(workers)] if workers else [])
    env = None if code is None else {**os.environ, "PYTHONPATH": str(code)}
    # From the checkout itself: ``python -m`` puts the working directory ahead of PYTHONPATH.
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env, cwd=code)
    assert proc.stderr is not None
    for line in proc.stderr:
        m = re.search(r"serving on (http://127\.0\.0\.1:\d+)/", line)
        if m:
            kept = [] if log is None else log  # read to the end in any case: its pipe never fills
            threading.Thread(target=kept.extend, args=(proc.stderr,), daemon=True).start()
            return proc, m.group(1)
    raise RuntimeError("dedup serve did not start")


async def _balanced(url: str, taken: dict, share: int) -> httpx.AsyncClient:
    """A client whose kept-alive connection is with a server worker holding fewer than ``share`` clients: a
    connection stays with the worker that accepted it, and one worker's event loop accepts a burst of new
    connections alone, so unbalanced clients would leave the other workers idle (new connections are
    opened, up to 100 times, until one lands on a worker with room)."""
    for _ in range(100):
        c = httpx.AsyncClient(base_url=url, timeout=120)
        worker = (await c.get("/api/health")).json().get("worker")
        if taken.get(worker, 0) < share:
            taken[worker] = taken.get(worker, 0) + 1
            return c
        await c.aclose()
    return httpx.AsyncClient(base_url=url, timeout=120)


def _jobs(queries: list[Path], adds: list[tuple[str, Path]]) -> list[tuple[str, Any]]:
    """The run's requests in order: the queries, one held-out add after every queries/adds of them."""
    jobs: list[tuple[str, Any]] = []
    every = max(1, len(queries) // max(1, len(adds)))
    add_iter = iter(adds)
    for k, q in enumerate(queries):
        jobs.append(("query", q))
        if (k + 1) % every == 0 and (a := next(add_iter, None)) is not None:
            jobs.append(("add", a))
    jobs.extend(("add", a) for a in add_iter)
    return jobs


class _Tally:
    """What a run's requests gave: latencies by kind, errors, the adds acknowledged, the client-seconds spent
    waiting on each kind."""

    def __init__(self, token: str) -> None:
        self.lat: dict[str, list[float]] = {"query": [], "add": []}
        self.busy = {"query": 0.0, "add": 0.0}  # client-seconds spent waiting on each kind (Little's law)
        self.errors: list[str] = []
        self.added: list[str] = []
        self.auth = {"Authorization": f"Bearer {token}"}

    async def send(self, c: httpx.AsyncClient, kind: str, item: Any, since: float | None = None) -> None:
        """One request on ``c``, its latency counted from ``since`` (a perf_counter time: an open loop's
        scheduled send time, so the wait for a free connection is counted) or from now."""
        t = time.perf_counter() if since is None else since
        try:
            if kind == "query":
                r = await c.post("/api/query", json={"text": item.read_bytes().decode(), "id": item.name})
            else:
                doc_id, path = item
                body = {"articles": [{"id": doc_id, "text": path.read_bytes().decode()}]}
                r = await c.post("/api/articles", json=body, headers=self.auth)
        except httpx.HTTPError as e:
            self.errors.append(f"{kind}: {type(e).__name__}")
            return
        self.lat[kind].append(time.perf_counter() - t)
        self.busy[kind] += self.lat[kind][-1]
        if r.status_code >= 300:
            self.errors.append(f"{kind}: {r.status_code} {r.text[:100]}")
        elif kind == "add":
            self.added.append(item[0])

    async def report(self, url: str, wall: float, unfinished: int) -> dict:
        """The run's figures, the acknowledged adds each looked up (lost: not found)."""
        async with httpx.AsyncClient(base_url=url, timeout=60) as c:
            lost = [d for d in self.added if (await c.get("/api/articles/" + quote(d, safe=""))).status_code != 200]
        return {
            "wall_seconds": round(wall, 1),
            "queries_per_second": round(len(self.lat["query"]) / wall, 1),
            # The clients' average number of queries and adds waiting for their answer: in a closed loop a
            # query's latency is about the queries in flight over the throughput, wherever it waits.
            "queries_in_flight": round(self.busy["query"] / wall, 1),
            "adds_in_flight": round(self.busy["add"] / wall, 1),
            "query": _percentiles(self.lat["query"]),
            "add": _percentiles(self.lat["add"]),
            "errors": len(self.errors),
            "error_samples": self.errors[:5],
            "adds_acknowledged": len(self.added),
            "lost_adds": len(lost),
            "unfinished_jobs": unfinished,
        }


async def load(
    url: str,
    token: str,
    queries: list[Path],
    adds: list[tuple[str, Path]],
    clients: int,
    max_seconds: float,
    workers: int = 1,
) -> dict:
    """Closed loop: ``clients`` clients, each sending its next request when its last is answered."""
    jobs: asyncio.Queue = asyncio.Queue()
    for job in _jobs(queries, adds):
        jobs.put_nowait(job)
    tally = _Tally(token)
    deadline = time.monotonic() + max_seconds
    taken: dict = {}
    share = -(-clients // max(1, workers))  # each worker's share of the clients, rounded up

    async def client() -> None:
        c = await _balanced(url, taken, share)
        async with contextlib.aclosing(c):
            while not jobs.empty() and time.monotonic() < deadline:
                kind, item = jobs.get_nowait()
                await tally.send(c, kind, item)

    t = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return await tally.report(url, time.perf_counter() - t, jobs.qsize())


async def open_load(
    url: str,
    token: str,
    queries: list[Path],
    adds: list[tuple[str, Path]],
    rate: float,
    connections: int,
    max_seconds: float,
    workers: int = 1,
) -> dict:
    """Open loop: query k is due at k / ``rate`` seconds whatever the answers before it (an add is due with
    the query it follows), sent on one of ``connections`` kept-alive connections (balanced over the server's
    workers) as soon as one is free; its latency runs from when it was due, so the time it waited for a
    connection, queued behind a slow server, is counted (no coordinated omission). Stops sending at
    ``max_seconds``; what is left is ``unfinished_jobs``. Also reports how late requests went out
    (``send_lag``: from due to sent; large when every connection is busy)."""
    tally = _Tally(token)
    taken: dict = {}
    share = -(-connections // max(1, workers))
    idle: asyncio.Queue = asyncio.Queue()
    for c in await asyncio.gather(*(_balanced(url, taken, share) for _ in range(connections))):
        idle.put_nowait(c)
    lag: list[float] = []

    async def one(kind: str, item: Any, due: float) -> None:
        c = await idle.get()
        lag.append(time.perf_counter() - due)
        try:
            await tally.send(c, kind, item, since=due)
        finally:
            idle.put_nowait(c)

    jobs = _jobs(queries, adds)
    start = time.perf_counter()
    tasks, k, sent = [], 0, 0
    for kind, item in jobs:
        due = start + k / rate
        if due - start > max_seconds:
            break
        k += kind == "query"
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(kind, item, due)))
        sent += 1
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - start
    for _ in range(connections):
        await (await idle.get()).aclose()
    out = await tally.report(url, wall, len(jobs) - sent)
    due_wall = k / rate  # the queries' arrival span: throughput over it is the offered rate when kept up
    return out | {
        "offered_queries_per_second": rate,
        "connections": connections,
        "arrival_seconds": round(due_wall, 1),
        "send_lag": _percentiles(lag),
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


def _server_cpu_split(pid: int) -> dict[str, float]:
    """CPU seconds used so far by the server process ``pid`` and every process under it (from /proc: each
    process's own time, and what its children that already ended used), by part: the supervisor, the workers
    (its children with children of their own: their parse processes), those parse processes, the writer (the
    child without any)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = sum(int(x) for x in fields[11:15]) / ticks  # utime stime cutime cstime
    out = {"supervisor": times.get(pid, 0.0), "workers": 0.0, "parse": 0.0, "writer": 0.0}
    for child in [p for p, parent in parents.items() if parent == pid]:
        tree, frontier = {child}, {child}
        while frontier:
            frontier = {p for p, parent in parents.items() if parent in frontier} - tree
            tree |= frontier
        below = sum(times.get(p, 0.0) for p in tree - {child})
        out["parse"] += below
        out["workers" if len(tree) > 1 else "writer"] += times.get(child, 0.0)
    return out


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True, type=Path, help="a benchmarks.corpora.synth folder")
    ap.add_argument("--index", required=True, type=Path, help="where the index is (built there when missing)")
    ap.add_argument("--clients", type=_ints, default=[16], help="concurrent clients; a list (1,16) runs each")
    ap.add_argument(
        "--rates",
        type=_ints,
        default=[],
        metavar="Q[,Q...]",
        help="also an open-loop run at each rate (queries due a second, whatever the answers; latency from "
        "when each was due), after the closed-loop runs of --clients (--clients '' for open loop only)",
    )
    ap.add_argument(
        "--open-connections",
        type=int,
        default=32,
        help="kept-alive connections an open-loop run sends on (a request due while all are busy waits, "
        "and its wait counts)",
    )
    ap.add_argument(
        "--open-queries",
        type=int,
        default=0,
        help="queries of an open-loop run (default: 8 seconds' worth at its rate, at most --queries)",
    )
    ap.add_argument(
        "--serve-workers",
        type=_ints,
        default=[],
        metavar="N[,N...]",
        help="the server's --workers; a list (1,2) runs each, client counts outermost, and reports each run's "
        "figures over the first's (default: the server's own default, the cores)",
    )
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument(
        "--one-client-queries", type=int, default=0, help="queries of a one-client run (default: --queries)"
    )
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
    ap.add_argument(
        "--reference",
        type=Path,
        help="another checkout (e.g. a git worktree of main): every run is made with its server too, the two "
        "alternating (reference first), and each run is compared with the reference's run of the same round",
    )
    ap.add_argument("--rounds", type=int, default=1, help="times every combination is run (alternating code)")
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
    codes: list[Path | None] = [args.reference, None] if args.reference else [None]
    loads = [("closed", c) for c in args.clients] + [("open", q) for q in args.rates]
    configs = [
        (r, lo, w, code)
        for r in range(args.rounds)
        for lo in loads
        for w in (args.serve_workers or [None])
        for code in codes
    ]
    stamp = time.strftime("%Y%m%d%H%M%S")  # ids of this invocation's adds: new whatever ran before
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        token = secrets.token_urlsafe(24)
        token_file = Path(tmp) / "token"
        token_file.write_text(token)
        for rnd, (mode, clients), workers, code in configs:
            # Each run adds the held-out articles under ids of its own, so every run's adds write shards.
            side = "ref" if code is not None else "this"
            what = f"{clients}c" if mode == "closed" else f"{clients}qps"
            tag = "added" if len(configs) == 1 else f"added-{stamp}-{rnd}r-{what}-{workers or 'default'}w-{side}"
            if mode == "open":
                n = min(args.queries, args.open_queries or clients * 8)
            else:
                n = args.one_client_queries if clients == 1 and args.one_client_queries else args.queries
            share = held[: max(1, round(len(held) * n / args.queries))]  # adds in proportion to the run's queries
            adds = [(f"{tag}/{f.relative_to(args.corpus).as_posix()}", f) for f in share]
            run: dict = {"clients": clients, "server_workers": workers or os.cpu_count()}
            if mode == "open":
                run = {"mode": "open", "rate": clients, "server_workers": workers or os.cpu_count()}
            if args.reference:
                run |= {"round": rnd, "code": "reference" if code is not None else "this"}
            t = time.perf_counter()
            log: list[str] = []
            proc, url = start_server(args.index, token_file, workers, code, log)
            run["server_start_seconds"] = round(time.perf_counter() - t, 1)
            try:
                run["articles_before"] = httpx.get(url + "/api/health").json()["articles"]
                run["loadavg_before"] = [round(x, 2) for x in os.getloadavg()]
                split_before = _server_cpu_split(proc.pid)
                server_before = sum(split_before.values())
                client_before = resource.getrusage(resource.RUSAGE_SELF)
                n_workers = workers or os.cpu_count() or 1
                if mode == "open":
                    run |= asyncio.run(
                        open_load(
                            url, token, queries[:n], adds, clients, args.open_connections, args.max_seconds, n_workers
                        )
                    )
                else:
                    run |= asyncio.run(load(url, token, queries[:n], adds, clients, args.max_seconds, n_workers))
                client = resource.getrusage(resource.RUSAGE_SELF)
                split = _server_cpu_split(proc.pid)
                server = sum(split.values()) - server_before
                run["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
                # How much of the machine each side got: CPU seconds over the load's wall seconds (cores).
                cpu = client.ru_utime + client.ru_stime - client_before.ru_utime - client_before.ru_stime
                run["client_cores"] = round(cpu / run["wall_seconds"], 2)
                run["server_cores"] = round(server / run["wall_seconds"], 2)
                # The server's CPU (every process: workers, writer, parse processes) per query answered, adds
                # and their merges included: what bounds the queries a second on free cores.
                run["server_cpu_ms_per_query"] = round(1000 * server / max(1, run["query"].get("n", 0)), 1)
                run["server_cpu_ms_per_query_by_part"] = {
                    k: round(1000 * (v - split_before.get(k, 0.0)) / max(1, run["query"].get("n", 0)), 2)
                    for k, v in split.items()
                }
                run["articles_after"] = httpx.get(url + "/api/health").json()["articles"]
            except BaseException:
                proc.terminate()
                proc.wait(timeout=60)
                # The run failed (a connection closed without an answer, say): what the server said is the clue.
                print("server log:", *(line.rstrip() for line in log[:60]), sep="\n  ", file=sys.stderr, flush=True)
                raise
            finally:
                proc.terminate()
                proc.wait(timeout=60)
            # What the server wrote while loaded: its warnings, and the traceback of any 500 (the first lines).
            run["server_log"] = [line.rstrip() for line in log[:60]]
            runs.append(run)
            print(json.dumps(run), file=sys.stderr, flush=True)
    if len(runs) == 1:
        out |= runs[0]
    else:
        out["runs"] = runs
        out["ratios"] = _against_reference(runs) if args.reference else _ratios(runs)
    out["cli_query_per_process"] = cli_latency(args.index, queries[: args.cli_runs])
    print(json.dumps(out, indent=1))


def _against_reference(runs: list[dict]) -> list[dict]:
    """Each run of this code against the reference's run of the same round, clients and workers (run just
    before it): queries/s, p50, p99 and server CPU per query over the reference's."""
    out = []
    for run in runs:
        if run.get("code") != "this":
            continue
        ref = next(r for r in runs if r.get("code") == "reference" and _same_load(r, run))
        if not ref.get("queries_per_second") or not run["query"]:
            continue
        out.append(
            {
                "round": run["round"],
                **({"rate": run["rate"]} if "rate" in run else {"clients": run["clients"]}),
                "workers": run["server_workers"],
                "queries_per_second": round(run["queries_per_second"] / ref["queries_per_second"], 2),
                "p50": round(run["query"]["p50_ms"] / ref["query"]["p50_ms"], 2),
                "p99": round(run["query"]["p99_ms"] / ref["query"]["p99_ms"], 2),
                "cpu_per_query": round(run["server_cpu_ms_per_query"] / ref["server_cpu_ms_per_query"], 2),
            }
        )
    return out


def _load_of(run: dict) -> tuple[str, int]:
    """A run's load: ("closed", clients) or ("open", rate)."""
    return ("open", run["rate"]) if run.get("mode") == "open" else ("closed", run["clients"])


def _same_load(a: dict, b: dict) -> bool:
    """Two runs of the same round, load and server workers."""
    return (a.get("round"), _load_of(a), a["server_workers"]) == (b.get("round"), _load_of(b), b["server_workers"])


def _ratios(runs: list[dict]) -> list[dict]:
    """Each run against the run with the same clients and the fewest server workers, measured in the same
    invocation: queries/s, p50 and p99 over the reference's."""
    out = []
    for run in runs:
        same = [r for r in runs if _load_of(r) == _load_of(run)]
        ref = min(same, key=lambda r: r["server_workers"])
        if ref is run or not ref.get("queries_per_second"):
            continue
        out.append(
            {
                **({"rate": run["rate"]} if "rate" in run else {"clients": run["clients"]}),
                "workers": f"{run['server_workers']} over {ref['server_workers']}",
                "queries_per_second": round(run["queries_per_second"] / ref["queries_per_second"], 2),
                "p50": round(run["query"]["p50_ms"] / ref["query"]["p50_ms"], 2),
                "p99": round(run["query"]["p99_ms"] / ref["query"]["p99_ms"], 2),
            }
        )
    return out


if __name__ == "__main__":
    main()
