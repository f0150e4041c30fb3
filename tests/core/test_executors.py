"""The phases' steps run on any ``Executor`` with the same result: a cluster's tasks receive their context and
chunk pickled, in another process, so a step must be a pure function of picklable inputs. Here an executor
that pickles both (as Ray does) stands in for the cluster; ``tests/distributed`` runs a real one.

Also what ``--ray`` costs when unused: ``--help`` never imports Ray, and without Ray installed the option says
how to install it in one line.
"""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

from dedup import cli
from dedup.evidence import posting_lists
from dedup.featurestore import FeatureStore
from dedup.options import ScanOptions
from dedup.pipeline import scan
from dedup.workers import Pool, Processes, Threads
from tests.conftest import ROOT
from tests.support.executors import Pickling
from tests.support.executors import scan_json as _json


@pytest.mark.slow
def test_a_scan_through_pickled_tasks_is_the_local_scan(tmp_path, make_kit, write_files, monkeypatch):
    kit = make_kit(0)
    story, other = kit.story(), kit.story()
    files = {f"a{i}.txt": kit.wrap(story) for i in range(3)} | {"b.txt": story, "c.txt": other, "d/e.txt": other}
    folder = write_files(tmp_path / "in", files)
    monkeypatch.chdir(tmp_path)
    options = ScanOptions(batch_docs=2)
    expected = _json(scan("in", options))
    pickling = Pickling()
    assert _json(scan("in", options, executor=pickling)) == expected
    assert {"read_task", "partition_lists", "_align_batch", "_label_batch"} <= set(pickling.calls)
    assert pickling.calls.count("read_task") == 3  # six files in batches of two
    assert folder.exists()


def _step(context: str, chunk: int) -> tuple[str, int, int]:
    import os

    return context, chunk * chunk, os.getpid()


def test_a_kept_pool_runs_each_step_with_its_own_context_in_the_same_workers():
    """A scan's kept workers (``Pool``): forked once, each step's chunks get that step's context (pickled
    once, read on a worker's first chunk), results in order, in the same processes from step to step."""
    import os

    with Pool(2) as pool:
        assert list(pool.map(_step, "small", [1])) == [("small", 1, os.getpid())]  # no fork for one chunk
        assert pool._pool is None
        first = list(pool.map(_step, "align", list(range(8))))
        second = list(pool.map(_step, "label", list(range(5))))
        alone = list(pool.map(_step, "one chunk", [3]))
        assert [(c, v) for c, v, _ in first] == [("align", k * k) for k in range(8)]
        assert [(c, v) for c, v, _ in second] == [("label", k * k) for k in range(5)]
        assert alone == [("one chunk", 9, os.getpid())]  # a single chunk runs here
        forked = pool._pool
        through = list(Processes(2, pool).map(_step, "x", [1, 2]))  # the phases' executor, on the kept pool
        assert [(c, v) for c, v, _ in through] == [("x", 1), ("x", 4)]
        # the same two workers throughout (under load one of them may run every chunk of a step, so the pids
        # seen in one step need not be those of the next: they are all the kept pool's)
        kept = set(pool._pool._processes)
        assert pool._pool is forked and os.getpid() not in kept and len(kept) <= 2
        assert {pid for *_, pid in first + second + through} <= kept
    assert list(Processes(2, None).map(_step, "y", [2])) == [("y", 4, os.getpid())]


def _tokens_in_a_kept_worker(store: FeatureStore, rows: list[int]) -> tuple[list, bool]:
    import sys

    return store.tokens(rows), "polars" in sys.modules and _checked_here(store)


def _checked_here(store: FeatureStore) -> bool:
    return all(store.shard(n)._n >= 0 for n in store.shard_names)


def test_a_kept_pool_after_polars_gets_the_store_checked(tmp_path, seeds):
    """A library user's process that ran polars before the scan forks its kept workers with polars' thread
    pool broken in them: the store reaches them with its shards as checked here (``kept_reduce``), so they
    never read ``docs.parquet`` (polars) again, and read the same tokens."""
    store = tmp_path / "store"
    scan(seeds.dir, ScanOptions(batch_docs=2, workers=2), store=store)  # polars has run in this process
    fs = FeatureStore(store)
    fs.docs()
    rows = list(range(len(fs)))
    with Pool(2) as pool:
        done = list(pool.map(_tokens_in_a_kept_worker, fs, [rows[:2], rows[2:]]))
    assert all(checked for _, checked in done)
    got = [t for tokens, _ in done for t in tokens]
    for mine, theirs in zip(fs.tokens(rows), got):
        assert all((a == b).all() for a, b in zip(mine, theirs))


def test_posting_lists_are_the_same_on_every_executor(tmp_path, seeds):
    store = tmp_path / "store"
    scan(seeds.dir, ScanOptions(batch_docs=2), store=store)
    fs = FeatureStore(store)
    shards = list(fs.shards())
    runs = [
        posting_lists(shards, fs.bases[:-1], len(fs), budget=budget, executor=executor)
        for budget in (1 << 24, 500)
        for executor in (Threads(1), Threads(2), Processes(2), Pickling())
    ]
    assert len(shards) == 3
    for lists in runs[1:]:
        for field in ("hashes", "offsets", "members", "weight"):
            assert np.array_equal(getattr(lists, field), getattr(runs[0], field))


def test_a_shard_pickles_as_where_it_is(tmp_path, seeds):
    store = tmp_path / "store"
    scan(seeds.dir, store=store)
    shard = next(FeatureStore(store).shards())
    postings = np.asarray(shard.array("postings")).copy()
    blob = pickle.dumps(shard)
    assert len(blob) < 1000 < postings.nbytes  # the path, not the mapped arrays
    again = pickle.loads(blob)
    assert np.array_equal(again.array("postings"), postings)
    assert again.text(0) == shard.text(0)


def test_help_never_imports_ray():
    code = (
        "import sys, contextlib, io\n"
        "from dedup.cli import main\n"
        "for argv in (['scan', '--help'], ['index', 'add', '--help']):\n"
        "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "        main(argv)\n"
        "    assert '--ray' in out.getvalue(), argv\n"
        "assert 'ray' not in sys.modules and 'dedup.distributed' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_ray_missing_is_one_line_saying_how_to_install_it(monkeypatch, capsys, seeds, tmp_path):
    from dedup import distributed

    monkeypatch.setattr(distributed, "available", lambda: False)
    for argv in (["scan", str(seeds.dir), "--ray"], ["index", "add", "--index", str(tmp_path / "ix"), "--ray", "a"]):
        if argv[0] == "index":
            argv.insert(-2, str(seeds.dir))
        assert cli.main(argv) == 2
        out = capsys.readouterr()
        assert out.out == ""
        assert out.err == "dedup: error: --ray needs Ray, which is not installed: pip install 'dedup[ray]'\n"


@pytest.mark.slow
def test_a_cluster_that_cannot_be_reached_is_one_line_at_once(cli, seeds):
    pytest.importorskip("ray")
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = cli("scan", seeds.dir, "--ray", f"127.0.0.1:{port}")
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.startswith(f"dedup: error: cannot reach the Ray cluster at 127.0.0.1:{port}: ")
    assert len(run.stderr.splitlines()) == 1
