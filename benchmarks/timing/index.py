"""Persistent index benchmark: add rate and query latency, local and Redis, beside datasketch.

One run over one corpus (``benchmarks/corpora/synth.py``, generated here or reused with ``--corpus``): ``--queries``
files are drawn at random (``--seed``) from it and held out; the rest are indexed. So, as in real use, many
queries are copies, wrapped copies or originals of indexed articles (synth writes about one article in five as
a copy of a recent original), and the others share nothing with the index.

- phase 1 alone (``pipeline.ingest`` into a throw-away store, after a warm-up pass over 4,000 articles): the
  rate the local add target is relative to (at small sizes the ratio is noise: see benchmarks/README.md,
  *Persistent index*).
- dedup local, then dedup Redis: ``archive.add`` of the folder (articles/s; from files on disk: read,
  tokenise, shingle, sign, write), then per query article ``archive.query_articles`` (look-up, verify, align:
  the whole answer with passages, from the article already read); p50/p99 over all queries and separately
  over those with and without matches; pairs and passages per query. Redis also: the first query from a
  fresh process (``python -m dedup query``) whose ``DEDUP_CACHE_DIR`` is empty (cold) and again with the
  cache that run left (warm).
- datasketch: ``MinHashLSH`` (threshold 0.5, 128 permutations, word 5-gram shingles, Redis storage):
  (a) ``insertion_session`` over the whole set, its inserts and final flush only (MinHashes built beforehand,
  1,000 at a time), (c) the same session timed from the files (read, shingle, ``MinHash.bulk``: one MinHash
  per article, plus the inserts); (b) one ``lsh.insert`` at a time from prebuilt
  MinHashes and (d) one at a time from the files (read, shingle, one MinHash), both on ``--ds-sample``
  articles inserted under new keys into the LSH that already holds the full set; ``lsh.query`` per query
  article (LSH candidates only: no verification, no passages).

Each index is dropped before the next is built, so Redis never holds two; peak RSS so far (this process, and
its largest child: the phase-1 workers) and Redis ``used_memory`` are read after each build. A private
``redis-server`` gets ``--redis-maxmemory`` (20gb): a build beyond it fails, is reported, and the run goes on.
The JSON goes to stdout (and ``--out``), then a markdown summary; the load average is read before and after.

    python -m benchmarks.timing.index --docs 20000 --queries 300
    python -m benchmarks.corpora.synth /data/c1m --docs 1000000 && python -m benchmarks.timing.index --corpus /data/c1m
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from benchmarks.corpora.synth import generate_stream
from benchmarks.scoring.harness import run_timed
from dedup.index.service import ADD_BATCH

ROOT = Path(__file__).resolve().parents[2]
CHUNK = 1000  # datasketch: articles read and hashed per MinHash.bulk call (memory stays flat at 1M)
NUM_PERM = 128
THRESHOLD = 0.5
ADD_NOTE = "dedup's add rates start from files on disk and include reading, tokenising, shingling, signing and writing"


# ---------------------------------------------------------------------------------------------- machine


def _rss() -> dict:
    """Peak resident memory so far, MB: this process, and its largest waited-for child."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"peak_rss_mb": round(own / 1024, 1), "children_peak_rss_mb": round(child / 1024, 1)}


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_redis(tmp: Path, maxmemory: str) -> tuple[subprocess.Popen, str]:
    import redis

    port = _free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp)]
    args += ["--save", "", "--appendonly", "no", "--maxmemory", maxmemory, "--maxmemory-policy", "noeviction"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    for _ in range(200):
        try:
            redis.Redis(port=port).ping()
            return proc, f"redis://127.0.0.1:{port}/0"
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("timing.index: redis-server did not start")


def _memory(url: str) -> dict:
    """Redis ``used_memory`` (and RSS) now, MB."""
    import redis

    info = redis.Redis.from_url(url).info("memory")
    return {
        "used_memory_mb": round(info["used_memory"] / 2**20, 1),
        "used_memory_rss_mb": round(info["used_memory_rss"] / 2**20, 1),
    }


# ---------------------------------------------------------------------------------------------- corpus


def _prepare(args: argparse.Namespace, work: Path) -> tuple[Path, Path, dict]:
    """The folder to index and the folder of query files, drawn at random from the corpus.

    A generated corpus is ours: its query files are moved out. A ``--corpus`` folder is never modified: the
    query files are copied out, the rest hard-linked (copied if links are impossible) into a folder of ours."""
    qdir = work / "queries"
    t = time.perf_counter()
    if args.corpus:
        corpus = Path(args.corpus).resolve()
        files = sorted(corpus.rglob("*.txt"))
        need = len(files) if args.docs is None else args.docs + args.queries
        if need > len(files) or args.queries >= need:
            raise SystemExit(f"timing.index: {corpus} holds {len(files)} .txt files; {need} needed")
        files = files[:need]
        meta: dict = {"corpus": str(corpus), "list_seconds": 0.0}
    else:
        corpus = work / "gen"
        generate_stream(corpus, args.docs + args.queries, seed=args.seed, recurring=args.recurring)
        files = sorted(corpus.rglob("*.txt"))
        meta = {"corpus": None, "corpus_files": "generated here, query files moved out", "generate_seconds": 0.0}
    meta["list_seconds" if args.corpus else "generate_seconds"] = round(time.perf_counter() - t, 1)
    rng = np.random.default_rng(args.seed)
    is_query = np.zeros(len(files), dtype=bool)
    is_query[rng.choice(len(files), size=args.queries, replace=False)] = True
    made: set[Path] = set()

    def place(f: Path, root: Path) -> Path:
        dest = root / f.relative_to(corpus)
        if dest.parent not in made:
            dest.parent.mkdir(parents=True, exist_ok=True)
            made.add(dest.parent)
        return dest

    t = time.perf_counter()
    for f in (f for f, q in zip(files, is_query) if q):
        (shutil.copyfile if args.corpus else os.replace)(f, place(f, qdir))
    src = corpus
    if args.corpus:
        src, meta["corpus_files"] = work / "indexed", "hard links"
        for f in (f for f, q in zip(files, is_query) if not q):
            dest = place(f, src)
            try:
                os.link(f, dest)
            except OSError:  # another file system, or links not allowed: copy
                shutil.copyfile(f, dest)
                meta["corpus_files"] = "copies"
        meta["link_seconds"] = round(time.perf_counter() - t, 1)
    meta["docs"] = int((~is_query).sum())
    return src, qdir, meta


# ---------------------------------------------------------------------------------------------- dedup


def _pct(ms: list[float]) -> dict:
    if not ms:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "mean_ms": None}
    a = np.asarray(ms)
    return {
        "n": len(ms),
        "p50_ms": round(float(np.percentile(a, 50)), 2),
        "p99_ms": round(float(np.percentile(a, 99)), 2),
        "mean_ms": round(float(a.mean()), 2),
    }


def _phase1(folder: Path, options) -> float:
    from dedup.featurestore import FeatureStore
    from dedup.pipeline import ingest

    with tempfile.TemporaryDirectory(prefix="index-bench-p1-") as tmp:
        fs = FeatureStore(tmp, params={}, create=True)
        t = time.perf_counter()
        ingest(fs, folder, options, lambda *a: None)
        return time.perf_counter() - t


def _warm_up(folder: Path, warm: Path, options, n: int = 4000) -> None:
    """Phase 1 over (hard links to) the first ``n`` articles, so that first-run costs of this process land on
    neither the phase-1 baseline nor the add timed after it (how much they weigh: benchmarks/README.md)."""
    for f in itertools.islice(folder.rglob("*.txt"), n):
        dest = warm / f.relative_to(folder)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(f, dest)
        except OSError:
            shutil.copyfile(f, dest)
    _phase1(warm, options)
    shutil.rmtree(warm)


def _queries(index, queries: list, options) -> tuple[dict, list[str]]:
    """Each query article alone; latency split by whether it matched, and what the answers held; also the ids
    of the queries that matched."""
    from dedup.index import service as archive

    t = time.perf_counter()
    index.preload()  # as a long-running service opens the index: every shard's table, directory and filter
    preload_s = time.perf_counter() - t
    archive.query_articles(index, queries[:3], options)  # warm this process (imports, memory maps, connections)
    hit, miss, pairs, passages, matched = [], [], [], [], []
    for art in queries:
        t = time.perf_counter()
        matches = archive.query_articles(index, [art], options).to_dict()["pairs"]
        ms = (time.perf_counter() - t) * 1000
        (hit if matches else miss).append(ms)
        if matches:
            matched.append(art.id)
        pairs.append(len(matches))
        passages.append(sum(len(m["passages"]) for m in matches))
    summary = {
        "preload_seconds": round(preload_s, 2),
        "queries_with_matches": len(hit),
        "mean_pairs": round(float(np.mean(pairs)), 3) if pairs else None,
        "mean_passages": round(float(np.mean(passages)), 3) if passages else None,
        "all": _pct(hit + miss),
        "with_matches": _pct(hit),
        "without_matches": _pct(miss),
    }
    # The same queries again: the pages of the index they touch are mapped now (a service's steady state);
    # the first pass above pays for faulting them in (and reading them, where the page cache lost them).
    again = []
    for art in queries:
        t = time.perf_counter()
        archive.query_articles(index, [art], options)
        again.append((time.perf_counter() - t) * 1000)
    summary["second_pass"] = _pct(again)
    return summary, matched


def _first_query(location: str, file: Path, cache: Path) -> dict:
    """``python -m dedup query FILE --index LOCATION`` in a fresh process with ``DEDUP_CACHE_DIR=cache``."""
    cache.mkdir(exist_ok=True)
    env = {**os.environ, "DEDUP_CACHE_DIR": str(cache)}
    cmd = [sys.executable, "-m", "dedup", "query", str(file), "--index", location, "--format", "json"]
    run = run_timed(cmd, cwd=ROOT, env=env)
    stderr = run.stderr.strip()
    res = {
        "seconds": round(run.seconds, 3),
        "peak_rss_mb": round(run.usage.ru_maxrss / 1024, 1),
        "exit": run.returncode,
    }
    if run.returncode:
        res["error"] = stderr.splitlines()[-1] if stderr else ""
    else:
        res["pairs"] = len(json.loads(run.stdout)["pairs"])
    res["cache_mb"] = round(sum(f.stat().st_size for f in cache.rglob("*") if f.is_file()) / 2**20, 1)
    return res


def _drop(location: str) -> None:
    """Delete an index: ``drop()`` when the backend has one; a local index's directory in any case."""
    from dedup.featurestore import StoreError
    from dedup.index import open_index

    try:
        index = open_index(location)
    except StoreError:  # never created, or already gone
        index = None
    if index is not None and hasattr(index, "drop"):
        index.drop()
    if index is not None and hasattr(index, "close"):
        index.close()
    if not re.match(r"[a-z+]+://", location):
        shutil.rmtree(location, ignore_errors=True)


def _dedup(
    location: str,
    folder: Path,
    queries: list,
    options,
    redis_url: str | None = None,
    qdir: Path | None = None,
    work: Path | None = None,
    add_options=None,
) -> dict:
    """Build one index, measure it, drop it. With ``qdir``: also the first query from a fresh process, with an
    empty cache (in ``work``) and again with the cache it left, on a query that matched (else the first).
    A failure (Redis out of memory, say) is reported in the result, and the index is dropped all the same."""
    from dedup.index import open_index
    from dedup.index import service as archive

    out: dict = {}
    try:
        index = open_index(location, archive.store_params(options), create=True)
        t = time.perf_counter()
        report = archive.add(index, [folder], add_options or options)
        add_s = time.perf_counter() - t
        out.update(
            added=report.added,
            add_seconds=round(add_s, 2),
            add_rate=round(report.added / add_s, 1),
            load_1min_after_add=_load(),
            **_rss(),
        )
        if redis_url:
            out["redis_after_add"] = _memory(redis_url)
        index = open_index(location)
        out["query"], matched = _queries(index, queries, options)
        if qdir is not None:
            file = qdir / (matched[0] if matched else queries[0].id)
            cache = work / f"cold-{uuid.uuid4().hex[:6]}"
            out["cold_first_query"] = {"file": file.name, **_first_query(location, file, cache)}
            out["warm_first_query"] = _first_query(location, file, cache)
            shutil.rmtree(cache, ignore_errors=True)
        out["stats"] = index.stats()
    except Exception as e:  # noqa: BLE001 - a benchmark reports the failure and goes on with the next part
        out["error"] = _error(e)
        out.update(_rss())
    finally:
        _drop(location)
    if redis_url:
        out["redis_after_drop"] = _memory(redis_url)
    return out


def _error(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0][:300] if lines else ''}"


# ---------------------------------------------------------------------------------------------- datasketch

_WORD = re.compile(r"\w+")


def _shingles(text: str, k: int = 5) -> list[bytes]:
    """Word k-grams, as a datasketch user writes them (lower-cased ``\\w+`` words)."""
    w = _WORD.findall(text.lower())
    return [" ".join(w[i : i + k]).encode() for i in range(max(1, len(w) - k + 1))]


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def _drop_prefix(url: str, prefix: bytes) -> int:
    """Delete every key starting with ``prefix`` (UNLINK in batches); returns how many."""
    import redis

    r = redis.Redis.from_url(url)
    pattern = re.sub(rb"([*?\[\]\\])", rb"\\\1", prefix) + b"*"
    n, batch = 0, []
    for key in r.scan_iter(match=pattern, count=10_000):
        batch.append(key)
        if len(batch) == 10_000:
            n += r.unlink(*batch)
            batch = []
    if batch:
        n += r.unlink(*batch)
    return n


def _datasketch(url: str, files: list[str], query_texts: list[str], sample: int, seed: int) -> dict:
    """datasketch's MinHashLSH on Redis (see the module docstring); its keys are deleted after, even on failure."""
    from urllib.parse import urlsplit

    u = urlsplit(url)
    basename = f"ds{uuid.uuid4().hex[:8]}_".encode()
    cfg = {"host": u.hostname, "port": u.port, "db": int(u.path.strip("/") or 0)}
    out: dict = {}
    try:
        _datasketch_run(
            out, {"type": "redis", "basename": basename, "redis": cfg}, url, files, query_texts, sample, seed
        )
    except Exception as e:  # noqa: BLE001 - reported, and the keys dropped all the same
        out["error"] = _error(e)
        out.update(_rss())
    finally:
        out["keys_dropped"] = _drop_prefix(url, basename)
    out["redis_after_drop"] = _memory(url)
    return out


def _datasketch_run(
    out: dict, cfg: dict, url: str, files: list[str], query_texts: list[str], sample: int, seed: int
) -> None:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, storage_config=cfg)
    out.update(b_bands=lsh.b, r_rows=lsh.r)
    # (a)/(c): the whole set through one insertion session, chunk by chunk from the files.
    read_s = hash_s = insert_s = 0.0
    session = lsh.insertion_session()
    for lo in range(0, len(files), CHUNK):
        t0 = time.perf_counter()
        sets = [_shingles(_read(f)) for f in files[lo : lo + CHUNK]]
        t1 = time.perf_counter()
        hashes = MinHash.bulk(sets, num_perm=NUM_PERM)
        t2 = time.perf_counter()
        for i, m in enumerate(hashes, start=lo):
            session.insert(f"d{i}", m)
        t3 = time.perf_counter()
        read_s, hash_s, insert_s = read_s + t1 - t0, hash_s + t2 - t1, insert_s + t3 - t2
    t = time.perf_counter()
    session.close()  # flushes the last buffer
    insert_s += time.perf_counter() - t
    n = len(files)
    out["session_insert_only_rate"] = round(n / insert_s, 1)
    out["session_from_text_rate"] = round(n / (read_s + hash_s + insert_s), 1)
    out["session_seconds"] = {
        "read_shingle": round(read_s, 2),
        "minhash": round(hash_s, 2),
        "insert": round(insert_s, 2),
    }
    out["load_1min_after_add"] = _load()
    out.update(_rss())
    out["redis_after_add"] = _memory(url)
    # Queries against exactly the indexed set.
    qh = MinHash.bulk([_shingles(x) for x in query_texts], num_perm=NUM_PERM)
    lat, found = [], 0
    for m in qh:
        t = time.perf_counter()
        found += bool(lsh.query(m))
        lat.append((time.perf_counter() - t) * 1000)
    out["query"] = {"queries_with_candidates": found, "all": _pct(lat)}
    out["query_note"] = "LSH candidates only: no verification, no passages"
    # (b)/(d): one insert at a time, under new keys, into the LSH holding the full set.
    pick = np.sort(np.random.default_rng(seed + 1).choice(n, size=min(sample, n), replace=False)).tolist()
    prebuilt = MinHash.bulk([_shingles(_read(files[i])) for i in pick], num_perm=NUM_PERM)
    t = time.perf_counter()
    for i, m in zip(pick, prebuilt):
        lsh.insert(f"b{i}", m)
    out["one_at_a_time_insert_only_rate"] = round(len(pick) / (time.perf_counter() - t), 1)
    template = MinHash(num_perm=NUM_PERM)  # permutations drawn once, as MinHash.bulk does
    t = time.perf_counter()
    for i in pick:
        m = template.copy()
        m.update_batch(_shingles(_read(files[i])))
        lsh.insert(f"e{i}", m)
    out["one_at_a_time_from_text_rate"] = round(len(pick) / (time.perf_counter() - t), 1)
    out["one_at_a_time_sample"] = len(pick)


# ---------------------------------------------------------------------------------------------- report


def _ratios(out: dict) -> None:
    if "add_rate" in out.get("local", {}) and "phase1_rate" in out:
        out["local_add_vs_phase1"] = round(out["local"]["add_rate"] / out["phase1_rate"], 2)
        out["local_add_vs_phase1_add_batches"] = round(out["local"]["add_rate"] / out["phase1_rate_add_batches"], 2)
    d = out.get("datasketch_redis", {})
    if "add_rate" in out.get("redis", {}) and "one_at_a_time_from_text_rate" in d:
        ours = out["redis"]["add_rate"]
        out["redis_add_vs_datasketch"] = {
            "session_insert_only": round(ours / d["session_insert_only_rate"], 2),
            "one_at_a_time_insert_only": round(ours / d["one_at_a_time_insert_only_rate"], 2),
            "session_from_text": round(ours / d["session_from_text_rate"], 2),
            "one_at_a_time_from_text": round(ours / d["one_at_a_time_from_text_rate"], 2),
            "note": ADD_NOTE + "; datasketch's insert-only rates start from prebuilt MinHashes, its from-text "
            "rates from the files (read, word 5-grams, one MinHash per article)",
        }


def _ms(x: float | None) -> str:
    return "" if x is None else f"{x:g} ms"


def markdown(out: dict) -> str:
    """The run as a markdown table and a few lines."""
    lines = [
        f"| {out['docs']:,} articles, {out['queries']} queries | add (articles/s) | query p50 | query p99 "
        "| p99 with matches | p99 without | peak RSS so far | Redis used_memory |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, name in (("local", "dedup, local index"), ("redis", "dedup, Redis")):
        r = out.get(key)
        if r is None:
            continue
        if "error" in r:
            lines.append(f"| {name} | failed: {r['error']} | | | | | {r.get('peak_rss_mb', '')} MB | |")
            continue
        q, mem = r["query"], r.get("redis_after_add", {}).get("used_memory_mb")
        lines.append(
            f"| {name} | {r['add_rate']:,} | {_ms(q['all']['p50_ms'])} | {_ms(q['all']['p99_ms'])} "
            f"| {_ms(q['with_matches']['p99_ms'])} | {_ms(q['without_matches']['p99_ms'])} "
            f"| {r['peak_rss_mb']:,} MB | {'' if mem is None else f'{mem:,} MB'} |"
        )
    d = out.get("datasketch_redis")
    if d is not None and "error" in d:
        lines.append(f"| datasketch MinHashLSH on Redis | failed: {d['error']} | | | | | | |")
    elif d is not None:
        q, mem = d["query"]["all"], f"{d['redis_after_add']['used_memory_mb']:,} MB"
        rows = (
            ("session, insert only", d["session_insert_only_rate"], _ms(q["p50_ms"]), _ms(q["p99_ms"]), mem),
            ("session, from text", d["session_from_text_rate"], "", "", ""),
            ("one at a time, insert only", d["one_at_a_time_insert_only_rate"], "", "", ""),
            ("one at a time, from text", d["one_at_a_time_from_text_rate"], "", "", ""),
        )
        for name, rate, p50, p99, m in rows:
            lines.append(f"| datasketch MinHashLSH on Redis, {name} | {rate:,} | {p50} | {p99} | | | | {m} |")
    lines.append("")
    for key in ("local", "redis"):
        q = out.get(key, {}).get("query")
        if q:
            lines.append(
                f"- {key}: {q['queries_with_matches']} of {out['queries']} queries matched; "
                f"{q['mean_pairs']} pairs and {q['mean_passages']} passages per query"
            )
    if d is not None and "query" in d:
        lines.append(f"- datasketch: {d['query']['queries_with_candidates']} queries had LSH candidates")
    c, w = out.get("redis", {}).get("cold_first_query"), out.get("redis", {}).get("warm_first_query")
    if c and w:
        lines.append(
            f"- Redis, first query from a new process (`dedup query`): {c['seconds']} s with an empty DEDUP_CACHE_DIR "
            f"({c['cache_mb']} MB cached, exit {c['exit']}), {w['seconds']} s with that cache"
        )
    r = out.get("redis_add_vs_datasketch")
    if r:
        lines.append(
            f"- dedup Redis add vs datasketch: {r['session_insert_only']}x session (insert only), "
            f"{r['session_from_text']}x session (from text), {r['one_at_a_time_insert_only']}x one at a time "
            f"(insert only), {r['one_at_a_time_from_text']}x one at a time (from text)"
        )
    for key, label in (("local", "local"), ("redis", "Redis")):
        second = out.get(key, {}).get("query", {}).get("second_pass")
        if second:
            lines.append(
                f"- dedup {label}, the same queries a second time: p50 {second['p50_ms']} ms, p99 {second['p99_ms']} ms"
            )
    if "local_add_vs_phase1" in out:
        lines.append(
            f"- dedup local add vs phase 1 alone: {out['local_add_vs_phase1']}x (the scan's defaults), "
            f"{out['local_add_vs_phase1_add_batches']}x (phase 1 in the add's batches of {ADD_BATCH})"
        )
    lines.append(f"- {ADD_NOTE}; query times are per article already read, with passages")
    lines.append(f"- load average before {out['loadavg_before']}, after {out['loadavg_after']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=None, help="articles indexed (default 2000; --corpus: all but queries)")
    ap.add_argument("--queries", type=int, default=200, help="articles drawn from the corpus and queried one at a time")
    ap.add_argument("--corpus", help="reuse this synth folder (never modified) instead of generating one")
    ap.add_argument("--recurring", type=float, default=0.0, help="synth's recurring-text share (0: clean corpus)")
    ap.add_argument("--seed", type=int, default=11, help="seed of the generated corpus and of the query draw")
    ap.add_argument("--redis", help="Redis URL (default: start a private redis-server)")
    ap.add_argument(
        "--redis-maxmemory",
        default="20gb",
        help="the private server's maxmemory: a write beyond it fails (reported) instead of exhausting the machine",
    )
    ap.add_argument("--skip-local", action="store_true", help="no local index (and no phase-1 baseline)")
    ap.add_argument("--skip-redis", action="store_true", help="no dedup Redis index")
    ap.add_argument("--skip-datasketch", action="store_true")
    ap.add_argument("--ds-sample", type=int, default=2000, help="datasketch one-at-a-time inserts (default 2000)")
    ap.add_argument("--workers", type=int, default=None, help="phase-1 worker processes (default: one per core)")
    ap.add_argument("--workdir", help="parent of the temporary work folder (default: the system's temp dir)")
    ap.add_argument("--out", help="also write the JSON to this file")
    args = ap.parse_args(argv)
    if args.docs is None and not args.corpus:
        args.docs = 2000
    if args.corpus and args.recurring:
        ap.error("--recurring applies to a generated corpus, not --corpus")

    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="index-bench-", dir=args.workdir))
    os.environ["DEDUP_CACHE_DIR"] = str(work / "cache")  # the Redis index's local cache: ours, removed after
    from dedup.index.service import read_sources
    from dedup.options import ScanOptions

    options = ScanOptions(workers=args.workers)
    add_options = dataclasses.replace(options, batch_docs=ADD_BATCH)  # as ``dedup index add`` batches
    server = None
    try:
        folder, qdir, meta = _prepare(args, work)
        queries, _ = read_sources([qdir], options)
        n_docs = meta.pop("docs")
        out: dict = {"docs": n_docs, "queries": len(queries), "recurring": args.recurring, "seed": args.seed, **meta}
        url = args.redis
        if url is None and not (args.skip_redis and args.skip_datasketch):
            (work / "redis").mkdir()
            server, url = _start_redis(work / "redis", args.redis_maxmemory)
        if url:
            out["redis_before"] = _memory(url)
        if not args.skip_local:
            _warm_up(folder, work / "warm", options)
            out["phase1_rate"] = round(n_docs / _phase1(folder, options), 1)  # the scan's, at its defaults
            out["phase1_rate_add_batches"] = round(n_docs / _phase1(folder, add_options), 1)
            out["local"] = _dedup(str(work / "index"), folder, queries, options, add_options=add_options)
        if not args.skip_redis:
            location = f"{url}#bench{uuid.uuid4().hex[:8]}"
            out["redis"] = _dedup(location, folder, queries, options, url, qdir, work, add_options=add_options)
            shutil.rmtree(work / "cache", ignore_errors=True)  # this process's copy of the dropped index's shards
            out["redis_cold_first_query_s"] = out["redis"].get("cold_first_query", {}).get("seconds")
        if not args.skip_datasketch:
            files = sorted(str(p) for p in folder.rglob("*.txt"))
            out["datasketch_redis"] = _datasketch(url, files, [a.text for a in queries], args.ds_sample, args.seed)
        _ratios(out)
        out["add_note"] = ADD_NOTE
        out["loadavg_before"] = [round(x, 2) for x in load_before]
        out["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print("\n" + markdown(out))
    return out


if __name__ == "__main__":
    main()
