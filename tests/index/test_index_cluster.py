"""The persistent index (issue 12) on a real three-node Redis Cluster, through the CLI in subprocesses.

The cluster (``tests/support/redis_cluster.py``) is started once for the module; the tests are skipped only when
there is no ``redis-server`` binary (``.ci/run`` installs it). Each CLI process gets its own
``DEDUP_CACHE_DIR`` (a Redis index may keep a local cache there): like workers on different machines,
they share nothing but the cluster.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support.redis_cluster import Cluster, start_cluster

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
WRAPPER = "000_137fe5741023b456.txt"
ORIGINAL = "001_9fe7513b9c6ae974.txt"
OTHERS = ["002_9bc901dc3b6c5084.txt", "003_b776af7c7e9b7e80.txt", "004_a7b902191fce4d12.txt"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Cluster:
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary on PATH (.ci/run installs it)")
    c = start_cluster(tmp_path_factory.mktemp("cluster"))
    yield c
    c.stop()


def _loc(cluster: Cluster) -> str:
    """A fresh index name in the cluster."""
    return f"{cluster.url}#c{uuid.uuid4().hex[:10]}"


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "DEDUP_CACHE_DIR": str(cache)}


def _cli(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m dedup ARGS`` with a cache directory of its own; must succeed."""
    cache = tmp / f"cache-{uuid.uuid4().hex[:8]}"
    proc = subprocess.run(
        [sys.executable, "-m", "dedup", *args], capture_output=True, text=True, cwd=ROOT, timeout=120, env=_env(cache)
    )
    assert proc.returncode == 0, f"dedup {' '.join(args[:2])}: exit {proc.returncode}: {proc.stderr.strip()}"
    return proc


def _query(tmp: Path, loc: str, *paths: Path) -> dict:
    return json.loads(_cli(tmp, "query", *map(str, paths), "--index", loc, "--format", "json").stdout)


def _articles(tmp: Path, loc: str) -> int:
    return json.loads(_cli(tmp, "index", "stats", "--index", loc).stdout)["articles"]


def _seeds(names: list[str]) -> list[str]:
    return [str(SEEDS / n) for n in names]


def test_cluster_query_finds_what_the_seed_wraps_as_a_local_index_does(cluster, tmp_path):
    """001-004 in the cluster: 000 wraps 001, with the local index's relation, containments and passages."""
    loc = _loc(cluster)
    local = str(tmp_path / "local")
    for where in (loc, local):
        _cli(tmp_path, "index", "add", *_seeds([ORIGINAL, *OTHERS]), "--index", where, "-q")
    got = _query(tmp_path, loc, SEEDS / WRAPPER)
    want = _query(tmp_path, local, SEEDS / WRAPPER)
    (pair,) = got["pairs"]
    assert (pair["a"], pair["b"], pair["relation"], pair["indexed"]) == (WRAPPER, ORIGINAL, "contains", ORIGINAL)
    assert pair["a_in_b"] > 0.5 and pair["b_in_a"] > 0.8 and pair["passages"]
    for key in ("pairs", "documents", "clusters"):  # field for field: containments, Jaccard, passage offsets, labels
        assert got[key] == want[key], key
    assert got["meta"]["index"] == loc


def test_two_index_names_in_one_cluster_stay_separate(cluster, tmp_path):
    a, b = _loc(cluster), _loc(cluster)
    _cli(tmp_path, "index", "add", *_seeds([ORIGINAL, *OTHERS]), "--index", a, "-q")
    _cli(tmp_path, "index", "add", *_seeds(OTHERS[:2]), "--index", b, "-q")
    # 001 is in a only: the wrapper finds it there and nothing in b; 002, in both, finds itself in each.
    got = {loc: _query(tmp_path, loc, SEEDS / WRAPPER, SEEDS / OTHERS[0])["pairs"] for loc in (a, b)}
    assert sorted((p["query"], p["indexed"], p["relation"]) for p in got[a]) == [
        (WRAPPER, ORIGINAL, "contains"),
        (OTHERS[0], OTHERS[0], "exact"),
    ]
    assert [(p["query"], p["indexed"], p["relation"]) for p in got[b]] == [(OTHERS[0], OTHERS[0], "exact")]
    # Each counts its own articles; adding to b leaves a as it was.
    _cli(tmp_path, "index", "add", *_seeds([WRAPPER]), "--index", b, "-q")
    assert (_articles(tmp_path, a), _articles(tmp_path, b)) == (4, 3)


def _folder(tmp: Path, tag: str, n: int, seed: int) -> Path:
    """A small synthetic corpus whose article ids (relative paths) start with ``tag``."""
    from benchmarks.corpora.synth import generate_stream

    out = tmp / tag
    generate_stream(out, n, seed=seed, workers=1)
    for f in out.rglob("*.txt"):
        f.rename(f.with_name(tag + f.name))
    return out


def test_concurrent_adds_from_several_processes_all_land(cluster, tmp_path):
    """Three processes add three folders at once, in small batches: every one succeeds, every article counts."""
    loc = _loc(cluster)
    folders = [_folder(tmp_path, tag, 80, seed) for seed, tag in enumerate("abc", start=1)]
    cmd = [sys.executable, "-m", "dedup", "index", "add", "--index", loc, "-q", "--batch-docs", "20", "--workers", "1"]
    procs = [
        subprocess.Popen(
            [*cmd, str(f)], cwd=ROOT, stderr=subprocess.PIPE, text=True, env=_env(tmp_path / f"cache-{f.name}")
        )
        for f in folders
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    assert _articles(tmp_path, loc) == 240
    # Each shard is a key of its own slot, so the cluster spreads one index's shards over its servers.
    from redis.cluster import RedisCluster, key_slot

    name = loc.rpartition("#")[2]
    rc = RedisCluster(host="127.0.0.1", port=cluster.ports[0])
    shards = json.loads(rc.get(f"dedup:{{{name}}}:manifest"))["shards"]
    keys = [f"dedup:{{{name}/{s}}}:files".encode() for s in shards]
    assert len(shards) >= 2 and all(rc.exists(k) for k in keys)
    assert len({key_slot(k) for k in keys}) == len(keys)
    # One article of each folder, asked by another process, finds itself there.
    picks = [sorted(f.rglob("*.txt"))[7] for f in folders]
    out = _query(tmp_path, loc, *picks)
    exact = {p["indexed"] for p in out["pairs"] if p["relation"] == "exact"}
    assert exact >= {str(p.relative_to(f)) for p, f in zip(picks, folders)}
