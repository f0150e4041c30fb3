"""The scan and ``index add`` on a real two-node Ray cluster (``conftest.ray_cluster``) give the local result.

Each comparison is the real CLI with ``--ray ADDRESS`` against the real CLI without it, on the same input:
the JSON byte for byte after ``meta.timings``. One test runs the library's scan with a worker process of
each step killed once, after its task did its work, and still gets the local result.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.ingest.test_ingest import http, page, warc_record


def _without_timings(text: str) -> str:
    data = json.loads(text)
    data["meta"].pop("timings")
    return json.dumps(data)


def _same_scan(cli, folder: Path, address: str, *more: str) -> dict:
    """Scan ``folder`` here and on the cluster: both succeed with the same JSON; the local one's data."""
    local = cli("scan", folder, "--format", "json", *more, cwd=ROOT)
    on_ray = cli("scan", folder, "--ray", address, "--format", "json", *more, cwd=ROOT)
    assert local.returncode == 0, local.stderr
    assert on_ray.returncode == 0, on_ray.stderr
    assert _without_timings(on_ray.stdout) == _without_timings(local.stdout)
    assert on_ray.stderr == local.stderr  # warnings alike, nothing of Ray's
    return local.json()


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory) -> Path:
    """5,000 synthetic articles with recurring text (``benchmarks.corpora.synth``), generated once."""
    out = tmp_path_factory.mktemp("synth") / "corpus"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.corpora.synth", str(out), "--docs", "5000", "--recurring", "0.3"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (out / "truth.json").unlink(missing_ok=True)
    return out


@pytest.fixture(scope="session")
def warcs(tmp_path_factory, make_kit) -> Path:
    """Three WARC files of a crawl: originals in the first, copies, wrapped copies and reposts in the others."""
    kit = make_kit(20)
    root = tmp_path_factory.mktemp("warcs")
    stories = [kit.story() for _ in range(6)]
    pages = [
        [(f"https://a.example/{i}", s) for i, s in enumerate(stories)],
        [(f"https://b.example/{i}", kit.wrap(s)) for i, s in enumerate(stories[:4])]
        + [(f"https://b.example/other{i}", kit.body()) for i in range(3)],
        [(f"https://c.example/{i}", kit.site_repost(s)) for i, s in enumerate(stories[2:])]
        + [("https://c.example/same", stories[0])],
    ]
    for n, records in enumerate(pages):
        blob = warc_record("warcinfo", None, b"software: test\r\n")
        for uri, text in records:
            blob += warc_record("response", uri, http(page(uri, text.split("\n\n"), chrome=False).encode()))
        (root / f"crawl-{n}.warc.gz").write_bytes(blob)
    return root


def test_seeds_on_ray_are_the_local_scan(cli, ray_cluster, seeds, check_seed_result):
    check_seed_result(_same_scan(cli, seeds.dir, ray_cluster), seeds)


def test_lsh_candidates_on_ray_are_the_local_ones(cli, ray_cluster, seeds):
    """``--candidates lsh``: banding in the driver, align and label as tasks; the local result."""
    data = _same_scan(cli, seeds.dir, ray_cluster, "--candidates", "lsh")
    assert data["meta"]["parameters"]["candidates.mode"] == "lsh"


def test_synthetic_corpus_with_recurring_text_on_ray(cli, ray_cluster, synthetic):
    data = _same_scan(cli, synthetic, ray_cluster, "--batch-docs", "700")  # 8 phase-1 tasks over 2 nodes
    assert data["pairs"] and data["clusters"]
    assert {"boilerplate", "syndicated"} <= {p["label"] for d in data["documents"] for p in d["paragraphs"]}


def test_three_warc_files_on_ray_with_progress(cli, ray_cluster, warcs):
    """The crawl's result, and each phase reported as locally (``-v``: a line as each starts and ends)."""
    local = cli("scan", warcs, "-v", "--format", "json", cwd=ROOT)
    on_ray = cli("scan", warcs, "-v", "--ray", ray_cluster, "--format", "json", cwd=ROOT)
    assert on_ray.returncode == local.returncode == 0, on_ray.stderr
    assert _without_timings(on_ray.stdout) == _without_timings(local.stdout)
    data = local.json()
    assert len(data["documents"]) == 18 and len(data["clusters"]) >= 4

    def phases(stderr: str) -> list[str]:
        return [line.split(" took ")[0] for line in stderr.splitlines() if "scanned in" not in line]

    assert phases(on_ray.stderr) == phases(local.stderr)
    assert [p.split()[1] for p in phases(local.stderr)[::2]] == ["read", "match", "align", "label"]


def test_index_add_on_ray_answers_as_the_local_add(cli, ray_cluster, warcs, tmp_path, seeds):
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    here = cli("index", "add", "--index", local, warcs, seeds.dir, cwd=ROOT)
    added = cli("index", "add", "--index", on_ray, warcs, seeds.dir, "--ray", ray_cluster, cwd=ROOT)
    assert here.returncode == added.returncode == 0, added.stderr
    assert added.stderr == here.stderr == "dedup: 23 added, 0 replaced, 0 unchanged, 0 skipped\n"
    query = [seeds.dir / seeds.wrapper, warcs / "crawl-2.warc.gz"]
    answers = [cli("query", "--index", ix, *query, "--format", "json", cwd=ROOT) for ix in (local, on_ray)]
    assert answers[0].returncode == answers[1].returncode == 0
    data = [a.json() for a in answers]
    for d in data:
        del d["meta"]["index"], d["meta"]["timings"]  # the index's location, and how long it took
    assert data[0] == data[1]
    assert data[0]["pairs"]
    # scan --index on Ray: the folder and the index's articles, as locally
    scans = [
        cli("scan", seeds.dir, "--index", local, "--format", "json", cwd=ROOT),
        cli("scan", seeds.dir, "--index", on_ray, "--ray", ray_cluster, "--format", "json", cwd=ROOT),
    ]
    assert scans[0].returncode == scans[1].returncode == 0, scans[1].stderr
    assert _without_timings(scans[1].stdout) == _without_timings(scans[0].stdout)


def test_a_failed_task_is_one_line_naming_its_input(cli, ray_cluster, seeds, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (store / "shards").write_text("not a folder")  # the task cannot write its shard there
    run = cli("scan", seeds.dir, "--ray", ray_cluster, "--store", store, cwd=ROOT)
    assert run.returncode == 3
    assert run.stdout == ""
    (line,) = run.stderr.splitlines()
    assert line.startswith(f"dedup: error: {seeds.dir / seeds.wrapper} (and 4 more files): FileExistsError: ")
    assert "Traceback" not in run.stderr


# The driver of the test below, in a process of its own (the test process never imports Ray: it forks worker
# pools later). Its executor kills the worker of one task of each step, once, after the task did its work (its
# shards or spill files written): Ray runs the task again. It prints the scan's JSON without timings.
KILLING_DRIVER = """
import json, os, signal, sys
from dedup.distributed import connect
from dedup.distributed.partitioned import Partitioned
from dedup.options import ScanOptions
from dedup.pipeline import scan

address, folder, markers, store = sys.argv[1:]


def kill_once(fn, marker):
    def run(context, chunk):
        out = fn(context, chunk)
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return out
        os.kill(os.getpid(), signal.SIGKILL)
        return out

    return run


class Killing(Partitioned):
    def __init__(self, inner):
        self.inner = inner
        self.partitions = inner.partitions

    def map(self, fn, context, chunks, label=None):
        return self.inner.map(kill_once(fn, os.path.join(markers, fn.__name__)), context, chunks, label)


executor = Killing(connect(address, retries=3))
data = scan(folder, ScanOptions(batch_docs=3), store=store, executor=executor).to_dict()
data["meta"].pop("timings")
print(json.dumps(data))
"""


def test_workers_killed_mid_phase_change_nothing(cli, ray_cluster, warcs, tmp_path):
    markers = tmp_path / "killed"
    markers.mkdir()
    run = subprocess.run(
        [sys.executable, "-c", KILLING_DRIVER, ray_cluster, str(warcs), str(markers), str(tmp_path / "store")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    steps = {"_align_batch", "_bucket_task", "_label_batch", "_list_task", "_pair_task", "_spilled_fingerprints"}
    steps |= {"read_task", "_columns", "_list_question", "_pair_question", "_doc_question", "_leaf"}
    steps |= {"_cluster_directions", "_step_task", "_list_folder", "_walk_part"}
    killed = {p.name for p in markers.iterdir()}
    # Verification's reads run when some pair needs a look; label maps are merged when there are several; the story
    # rounds' steps run when some list is taken for boilerplate.
    story = {"_derived_rows_task", "_derived_ask_task", "_derived_answer_task", "_derived_take_task"}
    assert steps <= killed <= steps | {"_read_batch", "_merge"} | story, killed ^ steps
    local = cli("scan", warcs, "--batch-docs", "3", "--format", "json", cwd=ROOT)
    assert run.stdout.strip() == _without_timings(local.stdout)
