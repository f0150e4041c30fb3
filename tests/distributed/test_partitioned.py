"""Phase 2's posting lists and pair evidence in partitioned tasks (``dedup.distributed.partitioned``) are the local
scan's, whatever the number of partitions: the lists array for array, the candidate pairs in order, each pair's
shared lists, and the scan's JSON byte for byte, here through an executor that pickles every task's input and
output (as a cluster does) and on the real two-node cluster of ``conftest.ray_cluster``.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dedup.distributed import partitioned
from dedup.distributed.partitioned import Partitioned, PartitionedEvidence, lists_and_evidence
from dedup.distributed.table import StoredRows
from dedup.evidence import pair_evidence, posting_lists
from dedup.featurestore import FeatureStore
from dedup.options import ScanOptions
from dedup.phase2 import DocTable
from dedup.pipeline import scan
from dedup.verify import _boilerplate_lists, _pair_sums, _story_top, _syndicated_of, exact_pairs
from tests.conftest import ROOT
from tests.support.executors import Pickling
from tests.support.executors import scan_json as _json


class Pickled(Pickling, Partitioned):
    """``Pickling`` with the partition count a cluster's executor asks for."""

    def __init__(self, partitions: int) -> None:
        super().__init__()
        self.partitions = partitions


@pytest.fixture(scope="module")
def accuracy(tmp_path_factory) -> Path:
    """240 articles of the accuracy benchmark's corpus (copies, wrapped copies, excerpts, boilerplate)."""
    from benchmarks.corpora.corpus import generate

    root = tmp_path_factory.mktemp("accuracy") / "corpus"
    generate(root, 240, seed=3, layout="meta")
    (root / "truth.json").unlink()
    return root


def _entries(ev) -> np.ndarray:
    """Each (pair, list) entry as one sorted row set (the order of a pair's entries is no measure's business)."""
    rows = np.stack([ev.pairs[ev.entry_pair, 0], ev.pairs[ev.entry_pair, 1], ev.entry_list], axis=1)
    return rows[np.lexsort(rows.T[::-1])]


def test_lists_and_evidence_are_the_local_ones_in_1_or_16_partitions(accuracy, tmp_path, monkeypatch):
    """Several bucket ranges (a budget of 20,000 postings), then 1, 2 and 16 list and pair partitions, the 16's
    entries read as they are and merged by groups of 3 list partitions first (``MERGE_FANIN``: 5 of 3, one of 1)."""
    store = tmp_path / "store"
    options = ScanOptions(batch_docs=40)
    scan(accuracy, options, store=store)
    fs = FeatureStore(store)
    shards, table = list(fs.shards()), DocTable(fs.docs())
    bases, vp = fs.bases[:-1], options.verify
    exact = exact_pairs(table.content, table.has_text)
    local = posting_lists(shards, bases, len(table), budget=20_000)
    local_ev = pair_evidence(
        local,
        table.sizes,
        extra=exact,
        partial_min_shared=vp.partial_min_shared,
        link_share=vp.link_share,
        max_enumerate=vp.max_enumerate,
        min_shared=vp.min_shared,
    )
    assert len(local_ev.pairs) > 100 and (local.sizes() > vp.max_enumerate).any()  # big lists probed too
    for partitions, fanin in ((1, 16), (2, 16), (16, 16), (16, 3)):
        monkeypatch.setattr(partitioned, "MERGE_FANIN", fanin)
        spill = tmp_path / f"spill-{partitions}-{fanin}"
        spill.mkdir()
        run = Pickled(partitions)
        kept, kept_ev = lists_and_evidence(shards, bases, table.sizes, exact, vp, spill, run, partitions, budget=20_000)
        lists, ev = kept.whole(), kept_ev.whole()
        assert np.array_equal(kept.weight, local.weight) and np.array_equal(kept.sizes(), local.sizes())
        # What verification asks of every list's members, asked of the partitions, is the whole lists' answer.
        chosen = np.arange(len(local)) % 3 == 0
        assert np.array_equal(kept.weight_per_doc(len(table), chosen), local.weight_per_doc(len(table), chosen))
        assert np.array_equal(kept.holders(chosen, len(table)), local.holders(chosen, len(table)))
        labels = np.arange(len(table)) // 7
        assert np.array_equal(kept.story_top(labels), _story_top(local, labels))
        site = np.arange(len(table)) % 4
        assert np.array_equal(kept.boilerplate(labels, site, vp), _boilerplate_lists(local, labels, site, vp))
        # And what it asks of every pair's entries, of the pair partitions.
        assert np.array_equal(kept_ev.pairs, local_ev.pairs)
        assert np.array_equal(kept_ev.pair_sums(local.weight, chosen), _pair_sums(local_ev, local.weight, chosen))
        assert np.array_equal(kept_ev.pair_sums(None, ~chosen), _pair_sums(local_ev, None, ~chosen))
        some = np.arange(len(local_ev.pairs)) % 2 == 0
        n = len(table)
        assert np.array_equal(
            kept_ev.syndicated(local.weight, some, chosen, n), _syndicated_of(local, local_ev, some, chosen, n)
        )
        for field in ("hashes", "offsets", "members", "weight"):
            assert np.array_equal(getattr(lists, field), getattr(local, field)), (partitions, field)
        assert np.array_equal(ev.pairs, local_ev.pairs)
        assert np.array_equal(_entries(ev), _entries(local_ev))
        assert run.calls.count("_list_task") == run.calls.count("_pair_task") == partitions
        assert run.calls.count("_merge_task") == (0 if partitions <= fanin else -(-partitions // fanin))
        assert run.calls.count("_bucket_task") > 1
        assert sorted(p.name for p in spill.iterdir()) == sorted(p.name for p in spill.iterdir() if p.suffix == ".npy")


def test_a_scan_in_1_or_16_partitions_is_the_local_scan(accuracy, monkeypatch):
    expected = _json(scan(accuracy))

    def every_pair(_):
        raise AssertionError("the driver read every candidate pair")

    # Verification runs by pair partition: the driver never gathers the candidate pairs; its reads run on groups of
    # a few partitions (here of ~100 pairs: several groups of several partitions).
    monkeypatch.setattr(PartitionedEvidence, "pairs", property(every_pair))
    monkeypatch.setattr(partitioned, "EACH_PAIRS", 100)
    # The shuffles' article partitions by rows (here of 64 rows: several, whatever the pair partitions).
    monkeypatch.setattr(partitioned, "DOC_ROWS", 64)
    monkeypatch.setattr(partitioned, "MERGE_FANIN", 5)  # 16 partitions: their entries merged by 5 first
    columns, keep = set(), partitioned._StoredPart.set

    def noted(part, name, values):  # every per-pair column file verification writes
        columns.add(part._path(name))
        keep(part, name, values)

    monkeypatch.setattr(partitioned._StoredPart, "set", noted)
    for partitions in (1, 16):
        run = Pickled(partitions)
        assert _json(scan(accuracy, executor=run)) == expected
        # Verification's tasks delete their columns once it is done, not the driver when the partitions go.
        assert columns and not any(path.exists() for path in columns)
        steps = {
            "_bucket_task",
            "_list_task",
            "_pair_task",
            "_spilled_fingerprints",
            "_read_batch",
            "_leaf",
            "_columns",
        }
        steps |= {"_align_batch", "_label_batch", "_cluster_directions", "_list_question"} | (
            {"_merge", "_merge_task"} if partitions > 1 else set()
        )
        # Verification's per-pair steps, its story rounds and its syndicated shares, by pair partition.
        steps |= {"_step_task", "_derived_rows_task", "_derived_ask_task", "_derived_answer_task"}
        steps |= {"_derived_take_task", "_pair_question", "_doc_question"}
        assert steps <= set(run.calls)
        n_docs = len(json.loads(expected)["documents"])
        given = [c.given for step, c, _ in run.inputs if step == "_step_task" and isinstance(c.given, dict)]
        n_lists = next(len(g["weight"]) for g in given if "weight" in g)
        for step, context, _ in run.inputs:  # what they are sent is a few numbers an article or a list
            if step == "_step_task" and isinstance(context.given, dict):
                arrays = [v for v in context.given.values() if isinstance(v, np.ndarray)]
                assert all(len(v) in (n_docs, n_lists) for v in arrays), step
            if step.startswith("_derived_"):
                assert len(context.groups) == len(context.sizes) == len(context.own) == n_docs
    # Verification's reads, align and label tasks are sent their batch's articles, never the per-article table or
    # every pair, and read their rows from the store's shards (``StoredRows``); clusters are a tree of union-find
    # tasks.
    for step, context, chunk in run.inputs:
        if step in ("_align_batch", "_label_batch", "_read_batch"):
            assert not any(isinstance(v, (DocTable, pl.DataFrame)) for v in vars(context).values())
            assert isinstance(chunk.rows, StoredRows) and chunk.rows.__getstate__()["_rows"] is None
        if step in ("_align_batch", "_read_batch"):
            assert set(chunk.rows.docs.tolist()) == set(chunk.a.tolist()) | set(chunk.b.tolist())
        if step == "_align_batch":
            assert chunk.partial.dtype == bool and len(chunk.partial) == len(chunk.pairs)
        if step == "_cluster_directions":  # its clusters' members, and the pairs within them; it reads their rows
            assert set(chunk.a.tolist()) | set(chunk.b.tolist()) <= set(range(len(chunk.docs)))
            assert isinstance(chunk.table_rows, StoredRows) and chunk.table_rows.__getstate__()["_rows"] is None
            assert chunk.ranked is None and len(chunk.rank_by[0]) == len(chunk.rank_by[1]) == len(chunk.docs)
            assert sorted(m for g in chunk.members for m in g) == list(range(len(chunk.docs)))
        if step == "_label_batch":  # its articles' sides of their shared passages, one array
            assert isinstance(chunk.shared, np.ndarray) and chunk.shared.shape[1] == 4
            assert ((chunk.shared[:, 0] >= 0) & (chunk.shared[:, 0] < len(chunk.docs))).all()
            assert set(chunk.rows.docs.tolist()) == set(chunk.docs[chunk.holds].tolist())
    # What align and label tasks send back is a few arrays a batch, never an array (or a tuple) a pair or article.
    for step, out in run.outputs:
        if step in ("_align_batch", "_label_batch"):
            assert isinstance(out, tuple) and all(isinstance(x, np.ndarray) for x in out)


DRIVER = """
import json, sys
from dedup.distributed import scan

address, folder, partitions, store = sys.argv[1:]
data = scan(folder, store=store, address=address, partitions=int(partitions)).to_dict()
data["meta"].pop("timings")
print(json.dumps(data))
"""


def test_two_nodes_give_the_local_scan_of_the_accuracy_corpus_in_1_or_16_partitions(
    cli, ray_cluster, accuracy, tmp_path
):
    local = cli("scan", accuracy, "--format", "json", cwd=ROOT)
    assert local.returncode == 0, local.stderr
    expected = json.loads(local.stdout)
    expected["meta"].pop("timings")
    assert expected["clusters"] and expected["pairs"]
    for partitions in (1, 16):
        args = [ray_cluster, str(accuracy), str(partitions), str(tmp_path / f"store-{partitions}")]
        run = subprocess.run(
            [sys.executable, "-c", DRIVER, *args], cwd=ROOT, capture_output=True, text=True, timeout=300
        )
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.stdout.strip() == json.dumps(expected)


def test_a_clusters_result_is_written_without_the_driver_reading_every_articles_row(accuracy, tmp_path, monkeypatch):
    """On a cluster's table the result is written from the shards range by range (``StoredFrame``): the driver never
    reads the whole per-article frame, and every output format (``-o`` and the terminal's) is the local scan's, byte
    for byte."""
    from rich.console import Console

    from dedup.cli.output import scan_result
    from dedup.distributed.table import StoredFrame
    from dedup.featurestore.store import Shard
    from dedup.output import plan_output, write_output_of

    options = ScanOptions(batch_docs=30)  # eight shards: batches of rows span several
    results = {"local": scan(accuracy, options), "cluster": scan(accuracy, options, executor=Pickled(4))}
    assert isinstance(results["cluster"].frame, StoredFrame) and len(results["cluster"].store.shard_names) > 4
    assert results["cluster"].batch_rows < results["local"].batch_rows  # the driver writes in smaller batches
    written: dict[str, dict[str, bytes]] = {}
    for name, result in results.items():
        if name == "cluster":  # from here on, reading every article's row in one frame fails

            def whole(*_):
                raise AssertionError("the driver read the whole per-article frame")

            monkeypatch.setattr(FeatureStore, "docs", whole)
            monkeypatch.setattr(Shard, "docs", property(whole))
        out = scan_result(result)
        files: dict[str, bytes] = {}
        for suffix in ("json", "jsonl", "csv", "parquet", "html"):
            plan = plan_output(str(tmp_path / name / f"result.{suffix}"))
            for path in write_output_of(plan, out.json_chunks, out.table_batches, out.html):
                files[path.name] = path.read_bytes()
        data = json.loads(files.pop("result.json"))
        data["meta"].pop("timings")
        files["result.json"] = json.dumps(data).encode()
        files["batches"] = b"".join(
            part.write_json().encode() for t in ("documents", "paragraphs") for part in result.table_batches(t, 50)
        )
        console = Console(file=io.StringIO(), width=160)
        console.print(out.table())
        files["table"], files["summary"] = console.file.getvalue().encode(), out.summary().encode()
        written[name] = files
    assert written["cluster"].keys() == written["local"].keys() and len(written["local"]) == 17
    for key, data in written["local"].items():
        assert written["cluster"][key] == data, key
