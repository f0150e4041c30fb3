"""Throughput benchmark: dedup's stages, the machine's floor, and datasketch and rensa on the same text.

    python -m benchmarks.throughput --docs 10000
    python -m benchmarks.throughput --sizes 10000,100000,1000000 --json benchmarks/out/throughput.json

For each size a corpus is generated (``benchmarks.synth``: deterministic, streamed
to disk) in a fresh folder under ``--workdir`` (default: a new temporary folder
under /tmp), then measured in fresh subprocesses so each size's peak RSS is its
own:

* ``scan``: ``dedup.scan(folder)`` end to end, with its per-stage timings;
* ``paths``: the floor (read every file's bytes and xxh3-64 them), dedup's
  text→signatures path (tokenise, shingle, sign) over the whole corpus in
  streamed chunks, on one thread and on the default thread count, and on a sample
  (the first ``--sample`` documents, the whole corpus when smaller) the same work
  done by datasketch and rensa with word 5-gram shingles as their READMEs show,
  plus each library's LSH (candidates for every document).

Every ratio in the output compares numbers measured in the same process on the
same documents. Results go to a rich table and, with ``--json``, to a file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

K = 5
NUM_PERM = 128
LSH_THRESHOLD = 0.5  # for datasketch and rensa's LSH; dedup's index has its own banding
RENSA_BANDS = 16
RENSA_SEED = 42
CHUNK_DOCS = 20_000  # documents per chunk of the streamed text→signatures pass
DEFAULT_SAMPLE = 10_000
DEFAULT_RSS_LIMIT_GB = 20.0


# --------------------------------------------------------------------------- helpers


def _files(root: Path) -> list[Path]:
    from dedup.read import find_articles

    return find_articles(root)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict:
    """Cores, CPU model, RAM and library versions, for the results table."""
    import numpy
    import polars

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    versions = {"python": platform.python_version(), "numpy": numpy.__version__, "polars": polars.__version__}
    for name in ("datasketch", "rensa", "xxhash"):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:  # noqa: BLE001 - optional packages
            versions[name] = None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cores": cores, "cpu": cpu, "ram_gb": ram_gb, "platform": platform.platform(), "versions": versions}


# --------------------------------------------------------------------------- inner measurements (in a subprocess)


def _read_texts(paths: list[Path]) -> tuple[list[str], int]:
    texts, n_bytes = [], 0
    for p in paths:
        data = p.read_bytes()
        n_bytes += len(data)
        texts.append(data.decode("utf-8"))
    return texts, n_bytes


def measure_scan(corpus: Path, progress_file: Path | None = None) -> dict:
    """``dedup.scan`` on the folder, with its stage timings and result counts."""
    import dedup

    def progress(stage: str, done: int, total: int) -> None:
        if progress_file:
            progress_file.write_text(stage)

    t0 = time.perf_counter()
    result = dedup.scan(corpus, progress=progress)
    total = time.perf_counter() - t0
    n_bytes = sum(len(t.encode("utf-8", "surrogatepass")) for t in result.corpus.texts)
    return {
        "seconds": total,
        "stages": dict(result.timings),
        "docs": len(result.corpus),
        "bytes": n_bytes,
        "tokens": int(len(result.tokens.hashes)),
        "shingles": int(len(result.shingles.hashes)),
        "candidates": int(result.candidates),
        "pairs": int(result.pairs.height),
        "clusters": len(result.clusters.sources),
    }


def _floor(paths: list[Path]) -> dict:
    import xxhash

    t0 = time.perf_counter()
    n_bytes = 0
    for p in paths:
        data = p.read_bytes()
        n_bytes += len(data)
        xxhash.xxh3_64_intdigest(data)
    return {"seconds": time.perf_counter() - t0, "bytes": n_bytes}


def _dedup_text_to_signatures(texts: list[str], threads: int) -> dict:
    from dedup.normalise import tokenise
    from dedup.shingle import shingle
    from dedup.sign import signatures

    out = {}
    t0 = time.perf_counter()
    tokens = tokenise(texts, threads=threads)
    t1 = time.perf_counter()
    sh = shingle(tokens, K)
    t2 = time.perf_counter()
    sig = signatures(sh.hashes, sh.offsets, NUM_PERM)
    t3 = time.perf_counter()
    out.update(tokenise=t1 - t0, shingle=t2 - t1, sign=t3 - t2, total=t3 - t0)
    return out, sh, sig


def _streamed_dedup(paths: list[Path], threads: int) -> dict:
    """dedup's text→signatures over the whole corpus, CHUNK_DOCS documents at a time."""
    acc = {"tokenise": 0.0, "shingle": 0.0, "sign": 0.0, "total": 0.0, "read": 0.0, "bytes": 0, "shingles": 0}
    for lo in range(0, len(paths), CHUNK_DOCS):
        t0 = time.perf_counter()
        texts, n_bytes = _read_texts(paths[lo : lo + CHUNK_DOCS])
        acc["read"] += time.perf_counter() - t0
        acc["bytes"] += n_bytes
        t, sh, _ = _dedup_text_to_signatures(texts, threads)
        acc["shingles"] += int(len(sh.hashes))
        for key in ("tokenise", "shingle", "sign", "total"):
            acc[key] += t[key]
    return acc


def _word_shingles(text: str) -> list[bytes]:
    """Word 5-grams as the datasketch and rensa READMEs build them: split on whitespace, join, encode."""
    words = text.split()
    if len(words) < K:
        return [" ".join(words).encode("utf-8")] if words else []
    return [" ".join(words[i : i + K]).encode("utf-8") for i in range(len(words) - K + 1)]


def _datasketch(texts: list[str]) -> dict:
    from datasketch import MinHash, MinHashLSH

    t0 = time.perf_counter()
    sets = [_word_shingles(t) for t in texts]
    t1 = time.perf_counter()
    minhashes = MinHash.bulk(sets, num_perm=NUM_PERM)
    t2 = time.perf_counter()
    lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
    with lsh.insertion_session() as session:
        for i, m in enumerate(minhashes):
            session.insert(i, m)
    pairs = _query_pairs(lsh, minhashes)
    t3 = time.perf_counter()
    return {"shingle": t1 - t0, "sign": t2 - t1, "text_to_sig": t2 - t0, "lsh": t3 - t2, "candidates": len(pairs)}


def _query_pairs(lsh, minhashes: list) -> set[tuple[int, int]]:
    """Candidate pairs: every document queried against an LSH index holding all of them."""
    pairs = set()
    for i, m in enumerate(minhashes):
        for j in lsh.query(m):
            if j != i:
                pairs.add((min(i, j), max(i, j)))
    return pairs


def _rensa(texts: list[str]) -> dict:
    """rensa's documented object API: one RMinHash per document, ``update`` with its shingles."""
    from rensa import RMinHash, RMinHashLSH

    t0 = time.perf_counter()
    sets = [[s.decode("utf-8") for s in _word_shingles(t)] for t in texts]
    t1 = time.perf_counter()
    minhashes = []
    for s in sets:
        m = RMinHash(num_perm=NUM_PERM, seed=RENSA_SEED)
        m.update(s)
        minhashes.append(m)
    t2 = time.perf_counter()
    lsh = RMinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM, num_bands=RENSA_BANDS)
    for i, m in enumerate(minhashes):
        lsh.insert(i, m)
    pairs = _query_pairs(lsh, minhashes)
    t3 = time.perf_counter()
    return {"shingle": t1 - t0, "sign": t2 - t1, "text_to_sig": t2 - t0, "lsh": t3 - t2, "candidates": len(pairs)}


def _rensa_bulk(texts: list[str]) -> dict:
    """rensa's bulk API: one digest matrix for all documents, inserted into the LSH at once."""
    from rensa import RMinHash, RMinHashLSH

    t0 = time.perf_counter()
    sets = [[s.decode("utf-8") for s in _word_shingles(t)] for t in texts]
    t1 = time.perf_counter()
    matrix = RMinHash.digest_matrix_from_token_sets(sets, NUM_PERM, RENSA_SEED)
    t2 = time.perf_counter()
    lsh = RMinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM, num_bands=RENSA_BANDS)
    lsh.insert_matrix(matrix)
    flags = lsh.query_duplicate_flags_matrix(matrix)
    t3 = time.perf_counter()
    return {
        "shingle": t1 - t0,
        "sign": t2 - t1,
        "text_to_sig": t2 - t0,
        "lsh": t3 - t2,
        "flagged": int(sum(bool(f) for f in flags)),
    }


def measure_paths(corpus: Path, sample: int, datasketch_sample: int) -> dict:
    """The floor, dedup's text→signatures (whole corpus, streamed) and the baselines on a sample."""
    from dedup.index import candidate_pairs

    paths = _files(corpus)
    out: dict = {"docs": len(paths)}
    out["floor"] = _floor(paths)
    # One-off per-process set-up (character tables, hash power tables) is not throughput.
    _dedup_text_to_signatures(_read_texts(paths[:2500])[0], threads=1)
    out["dedup_stream_1thread"] = _streamed_dedup(paths, threads=1)
    out["dedup_stream"] = _streamed_dedup(paths, threads=0)
    # Baselines on the first ``sample`` documents, dedup measured on the very same texts.
    texts, n_bytes = _read_texts(paths[:sample])
    base: dict = {"docs": len(texts), "bytes": n_bytes}
    t, sh, _ = _dedup_text_to_signatures(texts, threads=1)
    t0 = time.perf_counter()
    cands = candidate_pairs(sh)
    base["dedup_1thread"] = {**t, "text_to_sig": t["total"], "lsh": time.perf_counter() - t0, "candidates": len(cands)}
    t, _, _ = _dedup_text_to_signatures(texts, threads=0)
    base["dedup"] = {**t, "text_to_sig": t["total"]}
    base["rensa"] = _rensa(texts)
    base["rensa_bulk"] = _rensa_bulk(texts)
    ds_texts = texts[:datasketch_sample]
    base["datasketch"] = _datasketch(ds_texts)
    base["datasketch"]["docs"] = len(ds_texts)
    if len(ds_texts) < len(texts):  # dedup on the datasketch sample too, for a same-documents ratio
        t, sh, _ = _dedup_text_to_signatures(ds_texts, threads=1)
        t0 = time.perf_counter()
        candidate_pairs(sh)
        base["dedup_1thread_ds_sample"] = {**t, "text_to_sig": t["total"], "lsh": time.perf_counter() - t0}
    out["baselines"] = base
    return out


# --------------------------------------------------------------------------- outer driver


def _run_child(args: list[str], rss_limit_gb: float, progress_file: Path | None = None) -> tuple[dict, dict]:
    """Run ``python -m benchmarks.throughput --inner ...`` and return its JSON and its own resource use."""
    out_file = Path(tempfile.mkstemp(prefix="throughput-", suffix=".json")[1])
    cmd = [sys.executable, "-m", "benchmarks.throughput", "--inner-out", str(out_file), *args]
    proc = subprocess.Popen(cmd, cwd=Path(__file__).resolve().parent.parent)
    killed = {"flag": False, "rss_gb": 0.0}

    def watch() -> None:  # stop a run before it takes the machine down
        status = Path(f"/proc/{proc.pid}/status")
        while proc.poll() is None:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        gb = int(line.split()[1]) / 1024 / 1024
                        killed["rss_gb"] = max(killed["rss_gb"], gb)
                        if gb > rss_limit_gb:
                            killed["flag"] = True
                            proc.kill()
            except OSError:
                return
            time.sleep(0.5)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    watcher.join(timeout=2)
    info = {"peak_rss_mb": usage.ru_maxrss / 1024, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime}
    if proc.returncode != 0:
        stage = progress_file.read_text() if progress_file and progress_file.exists() else None
        reason = f"killed above the {rss_limit_gb:g} GB RSS limit" if killed["flag"] else f"exit {proc.returncode}"
        out_file.unlink(missing_ok=True)
        return {"error": reason, "stage": stage}, info
    data = json.loads(out_file.read_text())
    out_file.unlink(missing_ok=True)
    return data, info


def _corpus_for(n_docs: int, seed: int, keep: Path | None, work: Path) -> tuple[Path, dict]:
    from . import synth

    parent = keep if keep is not None else work
    folder = parent / f"synth-{n_docs}-seed{seed}"
    marker = folder.parent / f"{folder.name}.json"
    if marker.exists() and folder.exists():  # a corpus this harness wrote earlier
        return folder, json.loads(marker.read_text())
    summary = synth.generate_stream(folder, n_docs, seed)
    marker.write_text(json.dumps(summary))
    return folder, summary


def run_size(n_docs: int, args: argparse.Namespace, work: Path) -> dict:
    keep = Path(args.keep_corpus) if args.keep_corpus else None
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    corpus, summary = _corpus_for(n_docs, args.seed, keep, work)
    run: dict = {"docs": n_docs, "corpus": summary}
    progress = work / f"progress-{n_docs}"
    scan, info = _run_child(["--inner", "scan", str(corpus), "--progress", str(progress)], args.rss_limit, progress)
    run["scan"] = {**scan, **info}
    if not args.scan_only:
        paths, info = _run_child(
            ["--inner", "paths", str(corpus), "--sample", str(args.sample), "--ds-sample", str(args.ds_sample)],
            args.rss_limit,
        )
        run["paths"] = {**paths, **info}
    if keep is None:
        shutil.rmtree(corpus, ignore_errors=True)
        (corpus.parent / f"{corpus.name}.json").unlink(missing_ok=True)
    return run


def derive(run: dict) -> dict:
    """Rates and ratios from one size's raw timings."""
    d: dict = {}
    mb = run["corpus"]["bytes"] / 1e6
    scan = run.get("scan", {})
    if "seconds" in scan:
        d["scan_docs_per_s"] = run["docs"] / scan["seconds"]
        d["scan_mb_per_s"] = mb / scan["seconds"]
        d["stage_mb_per_s"] = {k: (mb / v if v > 0 else None) for k, v in scan["stages"].items()}
    paths = run.get("paths", {})
    if "floor" in paths:
        fl = paths["floor"]
        d["floor_mb_per_s"] = fl["bytes"] / 1e6 / fl["seconds"]
        for key in ("dedup_stream_1thread", "dedup_stream"):
            s = paths[key]
            d[f"{key}_mb_per_s"] = s["bytes"] / 1e6 / s["total"]
        b = paths["baselines"]
        ded = b["dedup_1thread"]
        ratios = {
            "rensa_text_to_sig_vs_dedup_1thread": b["rensa"]["text_to_sig"] / ded["text_to_sig"],
            "rensa_bulk_text_to_sig_vs_dedup_1thread": b["rensa_bulk"]["text_to_sig"] / ded["text_to_sig"],
            "rensa_text_to_sig_vs_dedup": b["rensa"]["text_to_sig"] / b["dedup"]["text_to_sig"],
            "rensa_lsh_vs_dedup": b["rensa"]["lsh"] / ded["lsh"],
            "rensa_bulk_lsh_vs_dedup": b["rensa_bulk"]["lsh"] / ded["lsh"],
        }
        ds_ref = b.get("dedup_1thread_ds_sample", ded)
        ratios["datasketch_text_to_sig_vs_dedup_1thread"] = b["datasketch"]["text_to_sig"] / ds_ref["text_to_sig"]
        ratios["datasketch_lsh_vs_dedup"] = b["datasketch"]["lsh"] / ds_ref["lsh"]
        d["baseline_ratios"] = ratios
        d["baseline_mb_per_s"] = {
            name: b["bytes"] / 1e6 / b[name]["text_to_sig"]
            for name in ("dedup_1thread", "dedup", "rensa", "rensa_bulk")
        }
        ds_bytes = b["bytes"] * b["datasketch"]["docs"] / max(b["docs"], 1)
        d["baseline_mb_per_s"]["datasketch"] = ds_bytes / 1e6 / b["datasketch"]["text_to_sig"]
    return d


def scaling(runs: list[dict]) -> list[dict]:
    """Time ratio between consecutive sizes against the n ratio and the n log n ratio."""
    out = []
    ok = [r for r in runs if "seconds" in r.get("scan", {})]
    for a, b in zip(ok, ok[1:]):
        n_ratio = b["docs"] / a["docs"]
        t_ratio = b["scan"]["seconds"] / a["scan"]["seconds"]
        nlogn = n_ratio * math.log(b["docs"]) / math.log(a["docs"])
        stages = {
            k: b["scan"]["stages"][k] / a["scan"]["stages"][k]
            for k in a["scan"]["stages"]
            if k in b["scan"]["stages"] and a["scan"]["stages"][k] > 0
        }
        out.append(
            {
                "from": a["docs"],
                "to": b["docs"],
                "n_ratio": n_ratio,
                "nlogn_ratio": nlogn,
                "time_ratio": t_ratio,
                "exponent": math.log(t_ratio) / math.log(n_ratio),
                "stage_time_ratios": stages,
            }
        )
    return out


def print_tables(results: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    m = results["machine"]
    console.print(
        f"[bold]{m['cpu']}[/], {m['cores']} cores, {m['ram_gb']} GB RAM; "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    )
    stages = []
    for r in results["runs"]:
        for k in r.get("scan", {}).get("stages", {}):
            if k not in stages:
                stages.append(k)
    runs = results["runs"]
    t = Table(title="dedup scan, one fresh process per size: seconds (MB/s)")
    t.add_column("")
    for r in runs:
        t.add_column(f"{r['docs']:,} docs", justify="right")

    def row(label: str, fn) -> None:
        cells = []
        for r in runs:
            try:
                cells.append(fn(r))
            except (KeyError, TypeError, ZeroDivisionError):
                cells.append("-")
        t.add_row(label, *cells)

    def mb(r: dict) -> float:
        return r["corpus"]["bytes"] / 1e6

    row("corpus MB", lambda r: f"{mb(r):,.0f}")
    row("whole scan", lambda r: f"{r['scan']['seconds']:.1f} s ({mb(r) / r['scan']['seconds']:.1f})")
    row("docs/s", lambda r: f"{r['derived']['scan_docs_per_s']:,.0f}")
    row("peak RSS", lambda r: f"{r['scan']['peak_rss_mb'] / 1024:.2f} GB")
    row("failed", lambda r: f"{r['scan']['error']} in {r['scan']['stage']}" if "error" in r["scan"] else "")
    for k in stages:
        row(f"  {k}", lambda r, k=k: f"{r['scan']['stages'][k]:.2f} ({mb(r) / r['scan']['stages'][k]:,.0f})")
    row("floor: read + xxh3 (MB/s)", lambda r: f"{r['derived']['floor_mb_per_s']:,.0f}")
    console.print(t)

    t = Table(title="text → signatures and LSH, same documents, same process")
    for col in ["docs (sample)", "library", "text→sig s", "MB/s", "× dedup 1-thread", "LSH s", "LSH × dedup"]:
        t.add_column(col, justify="right")
    for r in results["runs"]:
        p = r.get("paths", {})
        if "baselines" not in p:
            continue
        b, ratios = p["baselines"], r["derived"]["baseline_ratios"]
        mbs = r["derived"]["baseline_mb_per_s"]
        label = f"{b['docs']:,} of {r['docs']:,}"
        rows = [
            ("dedup (1 thread)", b["dedup_1thread"], 1.0, 1.0),
            ("dedup (threads)", b["dedup"], b["dedup"]["text_to_sig"] / b["dedup_1thread"]["text_to_sig"], None),
            ("rensa RMinHash", b["rensa"], ratios["rensa_text_to_sig_vs_dedup_1thread"], ratios["rensa_lsh_vs_dedup"]),
            (
                "rensa digest matrix",
                b["rensa_bulk"],
                ratios["rensa_bulk_text_to_sig_vs_dedup_1thread"],
                ratios["rensa_bulk_lsh_vs_dedup"],
            ),
            (
                f"datasketch ({b['datasketch']['docs']:,} docs)",
                b["datasketch"],
                ratios["datasketch_text_to_sig_vs_dedup_1thread"],
                ratios["datasketch_lsh_vs_dedup"],
            ),
        ]
        keys = {"dedup (1 thread)": "dedup_1thread", "dedup (threads)": "dedup", "rensa RMinHash": "rensa"}
        keys["rensa digest matrix"] = "rensa_bulk"
        for name, v, ratio, lsh_ratio in rows:
            mb_s = mbs.get(keys.get(name, "datasketch"))
            lsh = v.get("lsh")
            t.add_row(
                label,
                name,
                f"{v['text_to_sig']:.2f}",
                f"{mb_s:.1f}",
                f"{ratio:.1f}×",
                f"{lsh:.2f}" if lsh is not None else "-",
                f"{lsh_ratio:.1f}×" if lsh_ratio is not None else "-",
            )
    console.print(t)
    t = Table(title="dedup text→signatures over the whole corpus (streamed, 20k-document chunks)")
    for col in ["docs", "1 thread MB/s", "threads MB/s", "floor MB/s (read + xxh3)"]:
        t.add_column(col, justify="right")
    for r in results["runs"]:
        d = r.get("derived", {})
        if "floor_mb_per_s" in d:
            t.add_row(
                f"{r['docs']:,}",
                f"{d['dedup_stream_1thread_mb_per_s']:.1f}",
                f"{d['dedup_stream_mb_per_s']:.1f}",
                f"{d['floor_mb_per_s']:,.0f}",
            )
    console.print(t)
    if results["scaling"]:
        t = Table(title="scaling of the whole scan")
        for col in ["from → to", "n ratio", "n log n ratio", "time ratio", "exponent"]:
            t.add_column(col, justify="right")
        for s in results["scaling"]:
            t.add_row(
                f"{s['from']:,} → {s['to']:,}",
                f"{s['n_ratio']:.1f}",
                f"{s['nlogn_ratio']:.1f}",
                f"{s['time_ratio']:.1f}",
                f"{s['exponent']:.2f}",
            )
        console.print(t)


def main(argv: list[str] | None = None) -> dict | None:
    ap = argparse.ArgumentParser(description="dedup throughput benchmark")
    ap.add_argument("--docs", type=int, help="one corpus size")
    ap.add_argument("--sizes", help="comma-separated corpus sizes, e.g. 10000,100000,1000000")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--keep-corpus", help="generate corpora into this folder and keep (and reuse) them")
    ap.add_argument("--workdir", help="folder for temporary corpora (default: a new folder under /tmp)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sample", type=int, default=DEFAULT_SAMPLE, help="documents for the baseline comparison")
    ap.add_argument("--ds-sample", type=int, default=DEFAULT_SAMPLE, help="documents for datasketch (slow)")
    ap.add_argument("--rss-limit", type=float, default=DEFAULT_RSS_LIMIT_GB, help="kill a run above this RSS (GB)")
    ap.add_argument("--scan-only", action="store_true", help="only the end-to-end scan, no baselines")
    ap.add_argument("--render", help="print the tables of an earlier --json file and exit")
    ap.add_argument("--inner", nargs=2, metavar=("MODE", "CORPUS"), help=argparse.SUPPRESS)
    ap.add_argument("--inner-out", help=argparse.SUPPRESS)
    ap.add_argument("--progress", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.render:
        print_tables(json.loads(Path(args.render).read_text()))
        return None
    if args.inner:
        mode, corpus = args.inner
        if mode == "scan":
            data = measure_scan(Path(corpus), Path(args.progress) if args.progress else None)
        else:
            data = measure_paths(Path(corpus), args.sample, args.ds_sample)
        data["self_peak_rss_mb"] = _rss_mb()
        Path(args.inner_out).write_text(json.dumps(data))
        return None

    sizes = [int(x) for x in args.sizes.split(",")] if args.sizes else [args.docs or 10_000]
    if args.workdir:
        base = Path(args.workdir)
        base.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="dedup-throughput-", dir=base))
    else:
        work = Path(tempfile.mkdtemp(prefix="dedup-throughput-"))
    results: dict = {"machine": machine(), "k": K, "num_perm": NUM_PERM, "runs": []}
    try:
        for n in sizes:
            run = run_size(n, args, work)
            run["derived"] = derive(run)
            results["runs"].append(run)
            results["scaling"] = scaling(results["runs"])
            if args.json:  # after every size, so a long run leaves partial results
                Path(args.json).parent.mkdir(parents=True, exist_ok=True)
                Path(args.json).write_text(json.dumps(results, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["scaling"] = scaling(results["runs"])
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    print_tables(results)
    return results


if __name__ == "__main__":
    main()
