"""Throughput benchmark: the whole scan against the datasketch folder pipeline, on clean and recurring text.

    python -m benchmarks.timing.throughput --docs 10000
    python -m benchmarks.timing.throughput --sizes 10000,100000,1000000 --json benchmarks/out/throughput.json
    python -m benchmarks.timing.throughput --sizes 20000 --corpora recurring --no-paths --adversarial
    python -m benchmarks.timing.throughput --render benchmarks/out/throughput.json

For each size and each corpus (``clean``: ``benchmarks.corpora.synth`` as it always was;
``recurring``: the same generator with ``--recurring`` text shared across unrelated
articles, each pooled sentence in about ``--recurrence`` of them at any size;
``fixed``: the same from one fixed pool of real sentences, whose holders grow with
the corpus) a corpus is generated (deterministic, streamed to disk) in a fresh folder
under ``--workdir``, then measured in fresh subprocesses so each peak RSS is that
process's own (``os.wait4``):

* ``scan``: ``dedup.scan(folder)`` whole (passages and labels), with its per-stage
  timings, candidates per article and pairs; up to ``--full-output-max`` documents
  also ``result.to_dict()`` (timed apart);
* ``peer``: the datasketch folder pipeline as a user writes it: read every file,
  word 5-grams, ``MinHash.bulk`` (128 permutations) per 1,000 files, query then insert
  into ``MinHashLSH(threshold=0.5)``, union-find over the matches into clusters;
* ``paths`` (clean corpus only): the floor (read every file's bytes and xxh3-64
  them), dedup's text→signatures path over the whole corpus in streamed chunks, and
  on a sample the same work done by datasketch and rensa, plus each library's LSH.

``--adversarial`` adds the adversarial corpora of ``benchmarks.corpora.adversarial`` (the
mix of articles that each carry 30 of the same 60 paragraphs, and one huge file).
Every ratio compares numbers measured in the same run. Results go to markdown
tables on stdout and, with ``--json``, to a file (``--render`` prints the tables
of such a file again).
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
LSH_THRESHOLD = 0.5  # for datasketch, rensa and dedup's LSH (dedup.lsh bands as datasketch does)
# rensa's LSH takes its bands from the user (its threshold argument does not set them): 32 bands of 4 rows put
# the S-curve's midpoint at (1/32)^(1/4) = 0.42, the nearest rensa allows (bands must divide 128) to the
# midpoint datasketch picks for a 0.5 threshold (25 bands of 5 rows: 0.53); 16 of 8 (0.71) found a third
# fewer pairs than datasketch on the 20k corpora (2,561 against 3,788), a stricter and cheaper search.
RENSA_BANDS = 32
RENSA_SEED = 42
CHUNK_DOCS = 20_000  # documents per chunk of the streamed text→signatures pass
DEFAULT_SAMPLE = 10_000
DEFAULT_RSS_LIMIT_GB = 20.0
FULL_OUTPUT_MAX = 20_000  # up to this many documents the scan child also builds result.to_dict()
PEER_CHUNK = 1_000  # files per MinHash.bulk call in the datasketch folder pipeline


# --------------------------------------------------------------------------- helpers


def _files(root: Path) -> list[Path]:
    """The corpus's article files, in the order a scan reads them."""
    from dedup.ingest import Entry, walk

    return [Path(e.path) for e in walk(root) if isinstance(e, Entry)]


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


def measure_scan(corpus: Path, progress_file: Path | None = None, full_output_max: int = FULL_OUTPUT_MAX) -> dict:
    """``dedup.scan`` on the folder whole: seconds, stage timings, candidates per article, pairs, clusters."""
    import dedup

    def progress(*args) -> None:  # the last stage reported, for a run that dies
        if progress_file and args:
            progress_file.write_text(str(args[0]))

    # The corpora are the benchmark's own: no file is too large to read (the 200 MB adversarial one included).
    options = dedup.ScanOptions(ingest=dedup.IngestOptions(max_file_size=1 << 34))
    t0 = time.perf_counter()
    result = dedup.scan(corpus, options, progress=progress)
    total = time.perf_counter() - t0
    n = _scan_docs(result)
    out: dict = {
        "seconds": total,
        "stages": {k: float(v) for k, v in dict(getattr(result, "timings", {}) or {}).items()},
        "docs": n,
        "candidates": int(result.candidates),
        "candidates_per_doc": int(result.candidates) / max(n, 1),
        "pairs": int(result.pairs_frame.height),
        "code": str(Path(dedup.__file__).parent.parent),  # which checkout ran (``--reference``)
    }
    try:
        out["clusters"] = int(result.clusters_frame.height)
    except Exception as e:  # noqa: BLE001 - a result under rewrite: record, do not fail the run
        out["clusters_error"] = f"{type(e).__name__}: {e}"
    if n <= full_output_max:  # the JSON output contract: every pair's passages, every paragraph's label
        t0 = time.perf_counter()
        d = result.to_dict()
        out["output_seconds"] = time.perf_counter() - t0
        out["passages"] = sum(len(p.get("passages", ())) for p in d["pairs"])
        out["paragraphs"] = sum(len(doc.get("paragraphs", ())) for doc in d["documents"])
    return out


def _scan_docs(result) -> int:
    """Documents in a scan result, whatever the result's internals (``corpus`` or only the frames)."""
    try:
        return len(result.corpus)
    except Exception:  # noqa: BLE001 - the streaming result may hold no corpus
        return int(result.documents_frame.height)


def article_files(folder: Path) -> list[Path]:
    """Every .txt and .md file under the folder, sorted: what a user's script would walk."""
    return sorted(p for p in folder.rglob("*") if p.suffix in (".txt", ".md") and p.is_file())


def measure_peer(corpus: Path) -> dict:
    """The datasketch folder pipeline as a user writes it, whole: read, 5-grams, MinHash, LSH, union-find.

    Files go through ``MinHash.bulk`` 1,000 at a time (memory stays flat); each
    document is queried against the LSH of the documents before it, then inserted,
    so each matching pair is found once. Clusters are the connected components of
    the matches with two or more members. No Jaccard check: the LSH matches are the
    pairs, as in the datasketch README's recipe.
    """
    from datasketch import MinHash, MinHashLSH

    t = {"read": 0.0, "shingle": 0.0, "sign": 0.0, "lsh": 0.0}
    t_all = time.perf_counter()
    paths = article_files(corpus)
    lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
    pairs: list[tuple[int, int]] = []
    n_bytes = 0
    for lo in range(0, len(paths), PEER_CHUNK):
        t0 = time.perf_counter()
        texts = []
        for p in paths[lo : lo + PEER_CHUNK]:
            data = p.read_bytes()
            n_bytes += len(data)
            texts.append(data.decode("utf-8", "replace"))
        t1 = time.perf_counter()
        sets = [_word_shingles(x) for x in texts]
        t2 = time.perf_counter()
        minhashes = MinHash.bulk(sets, num_perm=NUM_PERM)
        t3 = time.perf_counter()
        for i, m in enumerate(minhashes, start=lo):
            pairs.extend((j, i) for j in lsh.query(m))
            lsh.insert(i, m)
        t4 = time.perf_counter()
        t["read"] += t1 - t0
        t["shingle"] += t2 - t1
        t["sign"] += t3 - t2
        t["lsh"] += t4 - t3
    return peer_result(len(paths), n_bytes, pairs, t, t_all)


def peer_result(docs: int, n_bytes: int, pairs: list[tuple[int, int]], stages: dict, started: float) -> dict:
    """A peer pipeline's last stage and its result: its LSH pairs clustered (``cluster_sizes``, timed as the
    ``cluster`` stage), with its stages' times and its whole time since ``started``."""
    t0 = time.perf_counter()
    clustered = cluster_sizes(docs, pairs)
    stages["cluster"] = time.perf_counter() - t0
    return {
        "seconds": time.perf_counter() - started,
        "stages": stages,
        "docs": docs,
        "bytes": n_bytes,
        "pairs": len(pairs),
        "clusters": len(clustered),
        "clustered_docs": sum(clustered),
        "largest_cluster": max(clustered, default=0),
    }


def cluster_sizes(n: int, pairs: list[tuple[int, int]]) -> list[int]:
    """The sizes of the clusters of more than one of ``n`` items that ``pairs`` join (union-find, as the peers'
    scripts a user would write cluster their LSH pairs)."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    sizes: dict[int, int] = {}
    for i in range(n):
        r = find(i)
        sizes[r] = sizes.get(r, 0) + 1
    return [c for c in sizes.values() if c > 1]


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
    from dedup.phase1.normalise import tokenise
    from dedup.phase1.shingle import shingle
    from dedup.phase1.sign import signatures

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
    from dedup.lsh import signature_pairs
    from dedup.options import optimal_banding

    bands, rows = optimal_banding(LSH_THRESHOLD, NUM_PERM)  # datasketch's banding for the same threshold

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
    t, _, sig = _dedup_text_to_signatures(texts, threads=1)
    t0 = time.perf_counter()
    cands = signature_pairs(sig, bands, rows)
    base["dedup_1thread"] = {**t, "text_to_sig": t["total"], "lsh": time.perf_counter() - t0, "candidates": len(cands)}
    t, _, _ = _dedup_text_to_signatures(texts, threads=0)
    base["dedup"] = {**t, "text_to_sig": t["total"]}
    base["rensa"] = _rensa(texts)
    base["rensa_bulk"] = _rensa_bulk(texts)
    ds_texts = texts[:datasketch_sample]
    base["datasketch"] = _datasketch(ds_texts)
    base["datasketch"]["docs"] = len(ds_texts)
    if len(ds_texts) < len(texts):  # dedup on the datasketch sample too, for a same-documents ratio
        t, _, sig = _dedup_text_to_signatures(ds_texts, threads=1)
        t0 = time.perf_counter()
        signature_pairs(sig, bands, rows)
        base["dedup_1thread_ds_sample"] = {**t, "text_to_sig": t["total"], "lsh": time.perf_counter() - t0}
    out["baselines"] = base
    return out


# --------------------------------------------------------------------------- outer driver


def _run_child(args: list[str], rss_limit_gb: float, progress_file: Path | None = None) -> tuple[dict, dict]:
    """Run ``python -m benchmarks.timing.throughput --inner ...`` and return its JSON and its own resource use."""
    out_file = Path(tempfile.mkstemp(prefix="throughput-", suffix=".json")[1])
    cmd = [sys.executable, "-m", "benchmarks.timing.throughput", "--inner-out", str(out_file), *args]
    proc = subprocess.Popen(cmd, cwd=Path(__file__).resolve().parents[2])
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
    load_before = os.getloadavg()[0]
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    watcher.join(timeout=2)
    info = {
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "sys_s": usage.ru_stime,
        "load_1min": [load_before, os.getloadavg()[0]],  # before and after: the machine is shared
    }
    if proc.returncode != 0:
        stage = progress_file.read_text() if progress_file and progress_file.exists() else None
        reason = f"killed above the {rss_limit_gb:g} GB RSS limit" if killed["flag"] else f"exit {proc.returncode}"
        out_file.unlink(missing_ok=True)
        return {"error": reason, "stage": stage}, info
    data = json.loads(out_file.read_text())
    out_file.unlink(missing_ok=True)
    return data, info


def corpus_for(
    n_docs: int,
    seed: int,
    keep: Path | None,
    work: Path,
    recurring: float = 0.0,
    recurrence: float = 50,
    pool: str = "epoch",
) -> tuple[Path, dict]:
    from benchmarks.corpora import synth

    parent = keep if keep is not None else work
    name = f"synth-{n_docs}-seed{seed}"
    if recurring > 0:
        name += f"-rec{recurring:g}-k{recurrence:g}" if pool == "epoch" else f"-fixed{recurring:g}"
    folder = parent / name
    marker = folder.parent / f"{folder.name}.json"
    if marker.exists() and folder.exists():  # a corpus this harness wrote earlier
        return folder, json.loads(marker.read_text())
    if folder.exists():  # a run that stopped while generating it
        shutil.rmtree(folder)
    summary = synth.generate_stream(folder, n_docs, seed, recurring=recurring, recurrence=recurrence, pool=pool)
    marker.write_text(json.dumps(summary))
    return folder, summary


def run_corpus(kind: str, n_docs: int, args: argparse.Namespace, work: Path) -> dict:
    """Generate one corpus (``clean``, ``recurring`` or ``fixed``) and measure the scan, the peer and (clean) the
    paths."""
    keep = Path(args.keep_corpus) if args.keep_corpus else None
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    recurring = args.recurring if kind in ("recurring", "fixed") else 0.0
    pool = "fixed" if kind == "fixed" else "epoch"
    corpus, summary = corpus_for(n_docs, args.seed, keep, work, recurring, args.recurrence, pool)
    run: dict = {"kind": kind, "docs": n_docs, "corpus": summary}
    progress = work / f"progress-{kind}-{n_docs}"
    scan_args = ["--inner", "scan", str(corpus), "--progress", str(progress)]
    scan, info = _run_child([*scan_args, "--full-output-max", str(args.full_output_max)], args.rss_limit, progress)
    run["scan"] = {**scan, **info}
    if args.reference:  # the same scan with the reference code, in this run (ratios under the same load)
        scan_args += ["--full-output-max", str(args.full_output_max), "--inner-code", args.reference]
        scan, info = _run_child(scan_args, args.rss_limit, progress)
        run["reference_scan"] = {**scan, **info}
    if not args.scan_only and not args.no_peer:
        peer, info = _run_child(["--inner", "peer", str(corpus)], args.rss_limit)
        run["peer"] = {**peer, **info}
    if kind == "clean" and not args.scan_only and not args.no_paths:
        paths, info = _run_child(
            ["--inner", "paths", str(corpus), "--sample", str(args.sample), "--ds-sample", str(args.ds_sample)],
            args.rss_limit,
        )
        run["paths"] = {**paths, **info}
    if keep is None:
        shutil.rmtree(corpus, ignore_errors=True)
        (corpus.parent / f"{corpus.name}.json").unlink(missing_ok=True)
    return run


def run_adversarial(args: argparse.Namespace, work: Path) -> dict:
    """The adversarial mix (scan and peer: time and RSS) and one huge file (scan: RSS), each freshly generated."""
    from benchmarks.corpora import adversarial

    out: dict = {}
    cases = [] if args.no_mix else [("mix", lambda d: adversarial.mix(d, args.mix_docs, seed=args.seed), True)]
    for shape in args.big_shapes:
        name = "bigfile" if shape == "paragraphs" else f"bigfile-{shape}"
        make = lambda d, shape=shape: adversarial.bigfile(d, args.big_mb, args.seed, shape, args.beside)  # noqa: E731
        cases.append((name, make, False))
    for name, make, with_peer in cases:
        folder = work / f"adversarial-{name}"
        shutil.rmtree(folder, ignore_errors=True)
        case: dict = {"corpus": make(folder)}
        progress = work / f"progress-{name}"
        scan_args = ["--inner", "scan", str(folder), "--progress", str(progress), "--full-output-max", "0"]
        scan, info = _run_child(scan_args, args.rss_limit, progress)
        case["scan"] = {**scan, **info}
        if args.reference:
            scan, info = _run_child([*scan_args, "--inner-code", args.reference], args.rss_limit, progress)
            case["reference_scan"] = {**scan, **info}
        if with_peer and not args.no_peer:
            peer, info = _run_child(["--inner", "peer", str(folder)], args.rss_limit)
            case["peer"] = {**peer, **info}
        shutil.rmtree(folder, ignore_errors=True)
        out[name] = case
    return out


def derive(run: dict) -> dict:
    """Rates and ratios from one corpus's raw timings."""
    d: dict = {}
    mb = run["corpus"]["bytes"] / 1e6
    scan = run.get("scan", {})
    if "seconds" in scan:
        d["scan_docs_per_s"] = run["docs"] / scan["seconds"]
        d["scan_mb_per_s"] = mb / scan["seconds"]
        d["stage_mb_per_s"] = {k: (mb / v if v > 0 else None) for k, v in scan["stages"].items()}
    peer = run.get("peer", {})
    if "seconds" in peer:
        d["peer_docs_per_s"] = run["docs"] / peer["seconds"]
        d["peer_mb_per_s"] = mb / peer["seconds"]
        if "seconds" in scan:
            d["scan_vs_peer_docs_per_s"] = d["scan_docs_per_s"] / d["peer_docs_per_s"]
            d["scan_vs_peer_rss"] = scan["peak_rss_mb"] / peer["peak_rss_mb"]
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


def _exponent(a: float | None, b: float | None, n_ratio: float) -> float | None:
    """Growth exponent between two sizes: log(b / a) / log(n ratio)."""
    if not a or not b or a <= 0 or b <= 0 or n_ratio == 1:
        return None
    return math.log(b / a) / math.log(n_ratio)


def scaling(runs: list[dict]) -> list[dict]:
    """Per corpus kind, between consecutive sizes: growth exponents of time and peak RSS, scan and peer."""
    out = []
    kinds = list(dict.fromkeys(r.get("kind", "clean") for r in runs))
    for kind in kinds:
        ok = sorted(
            (r for r in runs if r.get("kind", "clean") == kind and "seconds" in r.get("scan", {})),
            key=lambda r: r["docs"],
        )
        for a, b in zip(ok, ok[1:]):
            n_ratio = b["docs"] / a["docs"]
            if n_ratio == 1:
                continue
            sa, sb = a["scan"], b["scan"]
            row = {
                "kind": kind,
                "from": a["docs"],
                "to": b["docs"],
                "n_ratio": n_ratio,
                "nlogn_ratio": n_ratio * math.log(b["docs"]) / math.log(a["docs"]),
                "time_ratio": sb["seconds"] / sa["seconds"],
                "exponent": _exponent(sa["seconds"], sb["seconds"], n_ratio),
                "rss_exponent": _exponent(sa.get("peak_rss_mb"), sb.get("peak_rss_mb"), n_ratio),
                "candidates_per_doc_ratio": (
                    sb["candidates_per_doc"] / sa["candidates_per_doc"]
                    if sa.get("candidates_per_doc") and "candidates_per_doc" in sb
                    else None
                ),
                "stage_time_ratios": {
                    k: sb["stages"][k] / sa["stages"][k]
                    for k in sa.get("stages", {})
                    if k in sb.get("stages", {}) and sa["stages"][k] > 0
                },
                "stage_exponents": {
                    k: _exponent(sa["stages"][k], sb["stages"][k], n_ratio)
                    for k in sa.get("stages", {})
                    if k in sb.get("stages", {})
                },
            }
            pa, pb = a.get("peer", {}), b.get("peer", {})
            if "seconds" in pa and "seconds" in pb:
                row["peer_exponent"] = _exponent(pa["seconds"], pb["seconds"], n_ratio)
                row["peer_rss_exponent"] = _exponent(pa.get("peak_rss_mb"), pb.get("peak_rss_mb"), n_ratio)
            out.append(row)
    return out


def _md(header: list[str], rows: list[list[str]], align_first_left: bool = True) -> str:
    """A markdown table; every column but the first right-aligned."""
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join((":---" if i == 0 and align_first_left else "---:") for i in range(len(header))) + "|")
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _cell(fn, *args) -> str:
    try:
        v = fn(*args)
    except (KeyError, TypeError, ZeroDivisionError, ValueError, IndexError):
        return "-"
    return "-" if v is None else v


def _label(r: dict) -> str:
    return f"{r.get('kind', 'clean')} {r['docs']:,}"


def _gb(mb: float) -> str:
    return f"{mb / 1024:.2f} GB"


def _failed(part: dict) -> str | None:
    if "error" in part:
        return f"failed: {part['error']}" + (f" in {part['stage']}" if part.get("stage") else "")
    return None


def render_markdown(results: dict) -> str:
    """The tables of a run (or of an earlier ``--json`` file), as markdown."""
    out = []
    m = results["machine"]
    out.append(
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
        + (f"; load average at start {results['load_start']}" if "load_start" in results else "")
    )
    runs = results["runs"]
    if runs:
        header = [""] + [_label(r) for r in runs]

        def row(name: str, fn) -> list[str]:
            return [name] + [_failed(r.get(part_of(name), {})) or _cell(fn, r) for r in runs]

        def part_of(name: str) -> str:
            return "peer" if name.startswith("datasketch") else "scan"

        rows = [
            ["corpus"] + [_cell(lambda r: f"{r['corpus']['bytes'] / 1e6:,.0f} MB", r) for r in runs],
            ["pooled sentence in (originals)"]
            + [_cell(lambda r: f"{r['corpus']['recurrence']['sentences']['mean']:.0f}", r) for r in runs],
            ["pooled paragraph in (originals)"]
            + [_cell(lambda r: f"{r['corpus']['recurrence']['paragraphs']['mean']:.0f}", r) for r in runs],
            row("dedup scan", lambda r: f"{r['scan']['seconds']:.1f} s"),
            row("dedup docs/s", lambda r: f"{r['derived']['scan_docs_per_s']:,.0f}"),
            row("dedup peak RSS", lambda r: _gb(r["scan"]["peak_rss_mb"])),
            row("dedup candidates/article", lambda r: f"{r['scan']['candidates'] / r['scan']['docs']:.1f}"),
            row("dedup pairs", lambda r: f"{r['scan']['pairs']:,}"),
            row("dedup clusters", lambda r: f"{r['scan']['clusters']:,}"),
            row("dedup to_dict()", lambda r: f"{r['scan']['output_seconds']:.1f} s"),
            row("datasketch pipeline", lambda r: f"{r['peer']['seconds']:.1f} s"),
            row("datasketch docs/s", lambda r: f"{r['derived']['peer_docs_per_s']:,.0f}"),
            row("datasketch peak RSS", lambda r: _gb(r["peer"]["peak_rss_mb"])),
            row("datasketch pairs", lambda r: f"{r['peer']['pairs']:,}"),
            row("datasketch clusters", lambda r: f"{r['peer']['clusters']:,}"),
            [
                "**dedup ÷ datasketch docs/s**",
                *[_cell(lambda r: f"**{r['derived']['scan_vs_peer_docs_per_s']:.2f}×**", r) for r in runs],
            ],
            ["dedup ÷ datasketch RSS"] + [_cell(lambda r: f"{r['derived']['scan_vs_peer_rss']:.1f}×", r) for r in runs],
            ["load (1 min) during scan"]
            + [_cell(lambda r: "–".join(f"{x:.1f}" for x in r["scan"]["load_1min"]), r) for r in runs],
        ]
        out.append("\n**Whole scan and the datasketch folder pipeline**, one fresh process each\n")
        out.append(_md(header, rows))
        stages: list[str] = []
        for r in runs:
            for k in r.get("scan", {}).get("stages", {}):
                if k not in stages:
                    stages.append(k)
        if stages:

            def stage_cell(r: dict, k: str) -> str:
                v = r["scan"]["stages"][k]
                return f"{v:.2f} ({r['corpus']['bytes'] / 1e6 / v:,.0f})" if v > 0 else f"{v:.2f}"

            rows = [[k] + [_cell(stage_cell, r, k) for r in runs] for k in stages]
            out.append("\n**dedup scan stages**: seconds (MB/s)\n")
            out.append(_md(header, rows))
    if results.get("scaling"):

        def f2(x: float | None) -> str:
            return "-" if x is None else f"{x:.2f}"

        rows = [
            [
                s.get("kind", "clean"),
                f"{s['from']:,} → {s['to']:,}",
                f"{s['n_ratio']:.1f}",
                f"{s['nlogn_ratio']:.1f}",
                f"{s['time_ratio']:.1f}",
                f2(s.get("exponent")),
                f2(s.get("rss_exponent")),
                f2(s.get("candidates_per_doc_ratio")),
                f2(s.get("peer_exponent")),
                f2(s.get("peer_rss_exponent")),
            ]
            for s in results["scaling"]
        ]
        header = ["corpus", "docs", "n ×", "n log n ×", "time ×", "time exp.", "RSS exp.", "cand./article ×"]
        header += ["datasketch time exp.", "datasketch RSS exp."]
        out.append("\n**Growth** between consecutive sizes (exponent = log ratio ÷ log n ratio)\n")
        out.append(_md(header, rows))
        phases = list(dict.fromkeys(k for s in results["scaling"] for k in s.get("stage_exponents", {})))
        if phases:
            rows = [
                [s.get("kind", "clean"), f"{s['from']:,} → {s['to']:,}"]
                + [f2(s["stage_exponents"].get(k)) for k in phases]
                + [f2(s.get("exponent"))]
                for s in results["scaling"]
            ]
            out.append("\n**Growth exponent per phase** (log(t2/t1) ÷ log(n2/n1); 1.0 is linear)\n")
            out.append(_md(["corpus", "docs", *phases, "whole"], rows))
    adv = results.get("adversarial")
    if adv:
        rows = []
        for name, case in adv.items():
            c = case["corpus"]
            what = f"{c['docs']:,} docs, {c['per_doc']} of {c['shared']} paragraphs" if name == "mix" else "1 file"
            if name != "mix":
                beside = f", {c['docs'] - 1} beside" if c["docs"] > 1 else ""
                what = f"1 file, {c.get('shape', 'paragraphs')}{beside}"
            for tool in ("scan", "peer"):
                part = case.get(tool)
                if not part:
                    continue
                rows.append(
                    [
                        f"{name} ({what}, {c['bytes'] / 1e6:,.0f} MB)",
                        "dedup scan" if tool == "scan" else "datasketch pipeline",
                        _failed(part) or _cell(lambda p: f"{p['seconds']:.1f} s", part),
                        _cell(lambda p: _gb(p["peak_rss_mb"]), part),
                        _cell(lambda p: f"{p['pairs']:,}", part),
                        _cell(lambda p: f"{p['candidates_per_doc']:.1f}", part),
                    ]
                )
        out.append("\n**Adversarial cases**\n")
        out.append(_md(["case", "tool", "time", "peak RSS", "pairs", "candidates/article"], rows))
    out.extend(_render_reference(results))
    out.extend(_render_paths(results))
    return "\n".join(out) + "\n"


def _render_reference(results: dict) -> list[str]:
    """Each scan against the same scan with the ``--reference`` code, run after it: seconds per phase, peak
    RSS, and this code's figure as a ratio of the reference's (under 1: faster or smaller)."""
    cases = [(_label(r), r) for r in results.get("runs", [])]
    cases += [(name, case) for name, case in (results.get("adversarial") or {}).items()]
    rows = []
    for label, case in cases:
        now, ref = case.get("scan") or {}, case.get("reference_scan")
        if not ref or _failed(now) or _failed(ref):
            continue
        phases = [k for k in ("read", "match", "align", "label") if k in now.get("stages", {})]
        items = [(k, now["stages"][k], ref.get("stages", {}).get(k)) for k in phases]
        items += [("whole", now["seconds"], ref.get("seconds")), ("peak RSS GB", 0, 0)]
        for k, a, b in items:
            if k == "peak RSS GB":
                a, b = now["peak_rss_mb"] / 1024, ref["peak_rss_mb"] / 1024
            ratio = f"{a / b:.2f}" if b else "-"
            rows.append([label, k, f"{b:.2f}" if b is not None else "-", f"{a:.2f}", ratio])
        c = case.get("corpus", {})
        if "big_bytes" in c and "read" in now.get("stages", {}):
            mb = c["big_bytes"] / 1e6
            rate = f"{mb / now['stages']['read']:.1f}"
            rows.append([label, "read MB/s (huge file)", f"{mb / ref['stages']['read']:.1f}", rate, "-"])
        load, ref_load = ("–".join(f"{x:.1f}" for x in part.get("load_1min", [])) for part in (now, ref))
        rows.append([label, "load (1 min) before–after", ref_load, load, ""])
    if not rows:
        return []
    return [
        "\n**Against the reference code** (`--reference`), the same scan run right after, under the same load\n",
        _md(["case", "phase", "reference", "this code", "ratio"], rows),
    ]


def _render_paths(results: dict) -> list[str]:
    """The floor, text → signatures and the library comparison tables (clean corpus)."""
    out = []
    rows = []
    for r in results["runs"]:
        p = r.get("paths", {})
        if "baselines" not in p:
            continue
        b, ratios = p["baselines"], r["derived"]["baseline_ratios"]
        mbs = r["derived"]["baseline_mb_per_s"]
        label = f"{b['docs']:,} of {r['docs']:,}"
        entries = [
            ("dedup, 1 thread", "dedup_1thread", 1.0, 1.0),
            ("dedup, threads", "dedup", b["dedup"]["text_to_sig"] / b["dedup_1thread"]["text_to_sig"], None),
            ("rensa `RMinHash`", "rensa", ratios["rensa_text_to_sig_vs_dedup_1thread"], ratios["rensa_lsh_vs_dedup"]),
            (
                "rensa digest matrix",
                "rensa_bulk",
                ratios["rensa_bulk_text_to_sig_vs_dedup_1thread"],
                ratios["rensa_bulk_lsh_vs_dedup"],
            ),
            (
                f"datasketch `MinHash.bulk` ({b['datasketch']['docs']:,} docs)",
                "datasketch",
                ratios["datasketch_text_to_sig_vs_dedup_1thread"],
                ratios["datasketch_lsh_vs_dedup"],
            ),
        ]
        for name, key, ratio, lsh_ratio in entries:
            v = b[key]
            lsh = v.get("lsh")
            rows.append(
                [
                    label,
                    name,
                    f"{v['text_to_sig']:.2f} s",
                    f"{mbs[key]:.1f}",
                    f"{ratio:.1f}×",
                    f"{lsh:.2f} s" if lsh is not None else "-",
                    f"{lsh_ratio:.1f}×" if lsh_ratio is not None else "-",
                ]
            )
    if rows:
        out.append("\n**Text → signatures and LSH**, same documents, same process\n")
        header = ["docs (sample)", "library", "text → sig", "MB/s", "time vs dedup (1 thread)", "LSH", "LSH vs dedup"]
        out.append(_md(header, rows))
    rows = []
    for r in results["runs"]:
        d = r.get("derived", {})
        if "floor_mb_per_s" in d:
            rows.append(
                [
                    f"{r['docs']:,}",
                    f"{d['dedup_stream_1thread_mb_per_s']:.1f} MB/s",
                    f"{d['dedup_stream_mb_per_s']:.1f} MB/s",
                    f"{d['floor_mb_per_s']:,.0f} MB/s",
                ]
            )
    if rows:
        out.append("\n**dedup text → signatures over the whole clean corpus** (streamed, 20k-document chunks)\n")
        out.append(_md(["docs", "1 thread", "threads", "floor (read + xxh3)"], rows))
    return out


def main(argv: list[str] | None = None) -> dict | None:
    ap = argparse.ArgumentParser(description="dedup throughput benchmark")
    ap.add_argument("--docs", type=int, help="one corpus size")
    ap.add_argument("--sizes", help="comma-separated corpus sizes, e.g. 10000,100000,1000000")
    ap.add_argument(
        "--corpora",
        default="clean,recurring",
        help="which corpora at each size, comma-separated: clean, recurring (constant rate), fixed (fixed pool)",
    )
    ap.add_argument(
        "--recurring",
        type=float,
        default=None,
        help="share of an original's sentences from the shared pool in the recurring corpus (default: synth's)",
    )
    ap.add_argument("--recurrence", type=float, default=None, help="unrelated originals per pooled sentence")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--keep-corpus", help="generate corpora into this folder and keep (and reuse) them")
    ap.add_argument("--workdir", help="folder for temporary corpora (default: a new folder under /tmp)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sample", type=int, default=DEFAULT_SAMPLE, help="documents for the baseline comparison")
    ap.add_argument("--ds-sample", type=int, default=DEFAULT_SAMPLE, help="documents for datasketch (slow)")
    ap.add_argument("--rss-limit", type=float, default=DEFAULT_RSS_LIMIT_GB, help="kill a run above this RSS (GB)")
    ap.add_argument("--scan-only", action="store_true", help="only the whole scan: no datasketch pipeline, no paths")
    ap.add_argument("--no-peer", action="store_true", help="skip the datasketch folder pipeline")
    ap.add_argument("--no-paths", action="store_true", help="skip the floor and text→signatures comparisons")
    ap.add_argument(
        "--full-output-max",
        type=int,
        default=FULL_OUTPUT_MAX,
        help="up to this many documents also time result.to_dict()",
    )
    ap.add_argument("--adversarial", action="store_true", help="also the adversarial mix and the huge file")
    ap.add_argument("--adversarial-only", action="store_true", help="only the adversarial cases, no corpora")
    ap.add_argument("--mix-docs", type=int, default=None, help="articles in the adversarial mix (default 1,500)")
    ap.add_argument("--big-mb", type=float, default=None, help="size of the huge file in MB (default 200)")
    ap.add_argument(
        "--big-shapes",
        default="paragraphs",
        help="shapes of the huge file, comma-separated: paragraphs, wrapped, line (benchmarks.corpora.adversarial)",
    )
    ap.add_argument("--beside", type=int, default=0, help="ordinary articles beside the huge file")
    ap.add_argument("--no-mix", action="store_true", help="no adversarial mix (only the huge files)")
    ap.add_argument(
        "--reference",
        help="a checkout of older code (its folder holding dedup/): every scan is run again with it, and the "
        "tables give each phase's time and the peak RSS as ratios to it, measured in the same run",
    )
    ap.add_argument("--render", help="print the tables of an earlier --json file and exit")
    ap.add_argument("--inner", nargs=2, metavar=("MODE", "CORPUS"), help=argparse.SUPPRESS)
    ap.add_argument("--inner-out", help=argparse.SUPPRESS)
    ap.add_argument("--progress", help=argparse.SUPPRESS)
    ap.add_argument("--inner-code", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.render:
        try:
            results = json.loads(Path(args.render).read_text())
        except (OSError, ValueError) as e:
            sys.exit(f"throughput: cannot read {args.render!r}: {e}")
        print(render_markdown(results), end="")
        return None
    if args.inner:
        mode, corpus = args.inner
        if args.inner_code:  # the reference code's dedup, imported in place of this one
            sys.path.insert(0, str(Path(args.inner_code).resolve()))
        if mode == "scan":
            data = measure_scan(Path(corpus), Path(args.progress) if args.progress else None, args.full_output_max)
        elif mode == "peer":
            data = measure_peer(Path(corpus))
        else:
            data = measure_paths(Path(corpus), args.sample, args.ds_sample)
        data["self_peak_rss_mb"] = _rss_mb()
        Path(args.inner_out).write_text(json.dumps(data))
        return None

    from benchmarks.corpora import adversarial, synth

    args.recurring = synth.DEFAULT_RECURRING if args.recurring is None else args.recurring
    args.recurrence = synth.DEFAULT_RECURRENCE if args.recurrence is None else args.recurrence
    args.mix_docs = adversarial.MIX_DOCS if args.mix_docs is None else args.mix_docs
    args.big_mb = adversarial.BIG_MB if args.big_mb is None else args.big_mb
    args.big_shapes = [x.strip() for x in args.big_shapes.split(",") if x.strip()]
    if any(x not in adversarial.SHAPES for x in args.big_shapes):
        sys.exit(f"throughput: --big-shapes takes {', '.join(adversarial.SHAPES)}, got {args.big_shapes!r}")
    if args.reference and not (Path(args.reference) / "dedup" / "__init__.py").is_file():
        sys.exit(f"throughput: --reference {args.reference!r} holds no dedup/ package")
    kinds = [k.strip() for k in args.corpora.split(",") if k.strip()]
    if not kinds or any(k not in ("clean", "recurring", "fixed") for k in kinds):
        sys.exit(f"throughput: --corpora takes clean, recurring and/or fixed, got {args.corpora!r}")
    if not 0 < args.recurring <= 1 and ("recurring" in kinds or "fixed" in kinds):
        sys.exit(f"throughput: --recurring must be within (0, 1], got {args.recurring}")
    try:
        sizes = [int(x) for x in args.sizes.split(",")] if args.sizes else [args.docs or 10_000]
    except ValueError:
        sys.exit(f"throughput: --sizes takes comma-separated integers, got {args.sizes!r}")
    if args.workdir:
        base = Path(args.workdir)
        base.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="dedup-throughput-", dir=base))
    else:
        work = Path(tempfile.mkdtemp(prefix="dedup-throughput-"))
    results: dict = {
        "machine": machine(),
        "k": K,
        "num_perm": NUM_PERM,
        "seed": args.seed,
        "recurring": args.recurring,
        "recurrence": args.recurrence,
        "load_start": [round(x, 2) for x in os.getloadavg()],
        "runs": [],
        "scaling": [],
    }

    def save() -> None:  # after every part, so a long run leaves partial results
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(results, indent=1))

    try:
        for n in [] if args.adversarial_only else sizes:
            for kind in kinds:
                run = run_corpus(kind, n, args, work)
                run["derived"] = derive(run)
                results["runs"].append(run)
                results["scaling"] = scaling(results["runs"])
                save()
        if args.adversarial or args.adversarial_only:
            results["adversarial"] = run_adversarial(args, work)
        results["load_end"] = [round(x, 2) for x in os.getloadavg()]
        save()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(render_markdown(results), end="")
    return results


if __name__ == "__main__":
    main()
