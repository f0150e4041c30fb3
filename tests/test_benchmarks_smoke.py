"""A tiny run of the throughput harness: it runs end to end and writes the documented JSON keys.

No timing assertions: this only checks the harness works, not how fast anything is.
"""

from __future__ import annotations

import json

import pytest

from benchmarks import throughput


def test_throughput_harness_writes_expected_json(tmp_path):
    out = tmp_path / "results.json"
    throughput.main(
        [
            "--docs",
            "200",
            "--json",
            str(out),
            "--workdir",
            str(tmp_path / "work"),
            "--sample",
            "200",
            "--ds-sample",
            "50",
        ]
    )
    data = json.loads(out.read_text())
    assert {"machine", "runs", "scaling", "k", "num_perm"} <= data.keys()
    assert {"cores", "cpu", "ram_gb", "versions"} <= data["machine"].keys()
    (run,) = data["runs"]
    assert run["docs"] == 200
    scan = run["scan"]
    assert {"seconds", "stages", "peak_rss_mb", "docs", "bytes", "candidates", "pairs", "clusters"} <= scan.keys()
    assert scan["docs"] == 200
    assert {"read", "normalise", "shingle", "sign", "index", "verify", "cluster"} <= scan["stages"].keys()
    paths = run["paths"]
    assert {"floor", "dedup_stream", "dedup_stream_1thread", "baselines", "peak_rss_mb"} <= paths.keys()
    assert {"dedup", "dedup_1thread", "rensa", "rensa_bulk", "datasketch"} <= paths["baselines"].keys()
    derived = run["derived"]
    assert {"scan_docs_per_s", "scan_mb_per_s", "floor_mb_per_s", "baseline_ratios"} <= derived.keys()
    # the harness deletes the corpora it generated in its own work folder
    assert not any((tmp_path / "work").glob("*/synth-*"))


def test_synth_is_deterministic(tmp_path):
    from benchmarks import synth

    a = synth.generate_stream(tmp_path / "a", 50, seed=3, workers=1)
    b = synth.generate_stream(tmp_path / "b", 50, seed=3, workers=1)
    assert a["bytes"] == b["bytes"] and a["kinds"] == b["kinds"]
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.txt"))
    assert len(files_a) == 50
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_synth_refuses_a_non_empty_folder(tmp_path):
    from benchmarks import synth

    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        synth.generate_stream(tmp_path / "x", 5)
