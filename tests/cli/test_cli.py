"""The ``dedup`` command in a real subprocess: output contract, exit codes, errors and written files."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import polars as pl
import pytest

from dedup import scan


@pytest.mark.parametrize("script", [False, True], ids=["python-m", "console-script"])
def test_scan_seeds_json(cli, seeds, script, check_seed_result):
    run = cli("scan", "seeds/", "--format", "json", script=script)
    assert run.returncode == 0, run.stderr
    check_seed_result(run.json(), seeds)


def _untimed(data: dict) -> dict:
    """The result without what varies from run to run (timings)."""
    meta = {k: v for k, v in data["meta"].items() if k != "timings"}
    return {**data, "meta": meta}


def test_cli_json_equals_library_to_dict(cli, seeds):
    run = cli("scan", seeds.dir, "--format", "json")
    assert run.returncode == 0, run.stderr
    assert list(run.json())[0] == "meta"
    assert _untimed(run.json()) == _untimed(scan(seeds.dir).to_dict())


def test_cli_json_is_identical_across_runs(cli):
    first = cli("scan", "seeds/", "--format", "json")
    second = cli("scan", "seeds/", "--format", "json")
    assert first.returncode == second.returncode == 0
    assert _untimed(first.json()) == _untimed(second.json())


def test_json_meta_has_version_and_every_parameter(cli):
    import dataclasses

    from dedup import ScanOptions, __version__
    from dedup.options import flatten as flatten_options

    run = cli("scan", "seeds/", "--format", "json", "--contains", "0.6", "--k", "6")
    assert run.returncode == 0, run.stderr
    meta = run.json()["meta"]
    assert __version__ in {meta.get("dedup_version"), meta.get("dedup")}
    assert isinstance(meta["format_version"], int)
    expected = flatten_options(dataclasses.replace(ScanOptions(), k=6))
    expected["verify.contains"] = 0.6
    assert set(meta["parameters"]) == set(expected)
    assert meta["parameters"]["verify.contains"] == 0.6
    assert meta["parameters"]["k"] == 6
    assert meta["inputs"]["articles"] == 5
    assert meta["inputs"]["skipped"] == []
    assert "timings" in meta


def test_table_output(cli, seeds):
    run = cli("scan", "seeds/")
    assert run.returncode == 0, run.stderr
    assert seeds.original in run.stdout
    assert seeds.wrapper in run.stdout
    assert "source" in run.stdout
    assert "5 documents, 1 cluster covering 2 documents" in run.stdout
    for other in seeds.others:
        assert other not in run.stdout
    assert "\x1b[" not in run.stdout  # not a terminal: no escape codes


def _assert_one_line_error(run, *fragments: str) -> None:
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "error" in lines[0].lower()
    assert "Traceback" not in run.stderr
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def test_missing_folder_is_a_usage_error(cli, tmp_path):
    missing = tmp_path / "no-such-folder"
    _assert_one_line_error(cli("scan", missing, "--format", "json"), str(missing))


def test_empty_folder_is_a_usage_error(cli, tmp_path):
    _assert_one_line_error(cli("scan", tmp_path), str(tmp_path))


def test_folder_without_articles_is_a_usage_error(cli, tmp_path, write_files):
    write_files(tmp_path, {"sheet.xlsx": b"PK\x03\x04", "sub/notes.rtf": "x", ".hidden.txt": "hidden words here"})
    _assert_one_line_error(cli("scan", tmp_path), str(tmp_path))


def test_a_file_is_scanned_as_the_articles_it_holds(cli, seeds, tmp_path):
    path = seeds.dir / seeds.original
    run = cli("scan", path, "--format", "json")
    assert run.returncode == 0, run.stderr
    assert [d["chars"] for d in run.json()["documents"]] == [len(seeds.text(seeds.original))]
    os.mkfifo(tmp_path / "fifo.txt")
    _assert_one_line_error(cli("scan", tmp_path / "fifo.txt"), "fifo.txt")


@pytest.mark.parametrize("name", ["out.xlsx", "out.txt", "out"])
def test_unknown_output_suffix_is_a_usage_error(cli, tmp_path, name):
    out = tmp_path / name
    _assert_one_line_error(cli("scan", "seeds/", "-o", out), str(out))
    assert list(tmp_path.iterdir()) == []


def _seeds_plus_one_large(tmp_path, seeds, write_files):
    big = "zz-big.txt"
    text = " ".join(f"word{i}" for i in range(3000))  # ~26 KB: over a 16KB cap that every seed (< 8 KB) is under
    files = {i: seeds.text(i) for i in seeds.ids} | {big: text}
    write_files(tmp_path, files)
    return big


def test_a_skipped_file_is_a_one_line_warning_and_the_rest_is_scanned(
    cli, tmp_path, seeds, write_files, check_seed_result
):
    big = _seeds_plus_one_large(tmp_path, seeds, write_files)
    run = cli("scan", tmp_path, "--format", "json", "--max-file-size", "16KB")
    assert run.returncode == 0, run.stderr
    check_seed_result(run.json(), seeds)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("dedup: warning: ")
    assert str(tmp_path / big) in lines[0]
    skipped = run.json()["meta"]["inputs"]["skipped"]
    assert [s["path"] for s in skipped] == [str(tmp_path / big)]


def test_strict_exits_3_when_anything_was_skipped(cli, tmp_path, seeds, write_files):
    _seeds_plus_one_large(tmp_path, seeds, write_files)
    run = cli("scan", tmp_path, "--format", "json", "--max-file-size", "16KB", "--strict")
    assert run.returncode == 3, run.stderr
    assert len(run.json()["documents"]) == 5  # the result is still printed
    assert "--strict" in run.stderr.strip().splitlines()[-1]
    assert cli("scan", "seeds/", "--strict", "--format", "none").returncode == 0


def test_quiet_prints_nothing_but_errors(cli, tmp_path, seeds, write_files):
    _seeds_plus_one_large(tmp_path, seeds, write_files)
    out = tmp_path.parent / f"{tmp_path.name}-out.json"
    run = cli("scan", tmp_path, "--max-file-size", "16KB", "-q", "-o", out, "--format", "none")
    assert run.returncode == 0
    assert (run.stdout, run.stderr) == ("", "")
    assert out.exists()


def test_verbose_names_and_times_the_phases(cli):
    run = cli("scan", "seeds/", "--verbose", "--format", "none")
    assert run.returncode == 0, run.stderr
    assert "dedup: read" in run.stderr
    for phase in ("read", "match", "align", "label"):
        assert re.search(rf"^dedup: {phase} took \d+\.\d\d s$", run.stderr, re.M), run.stderr
    assert "scanned in" in run.stderr


def test_version(cli):
    run = cli("--version")
    assert run.returncode == 0
    assert run.stdout.startswith("dedup ")


def test_python_dash_m_dedup(cli):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "dedup", "scan", "seeds/", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["clusters"][0]["source"] == "001_9fe7513b9c6ae974.txt"


def test_license_file_is_mit():
    text = (Path(__file__).resolve().parents[2] / "LICENSE").read_text(encoding="utf-8")
    assert "MIT License" in text
    assert "Copyright (c) 2026 the dedup authors" in text


# ---------------------------------------------------------------- -o FILE


def _expect_documents(frame: pl.DataFrame, seeds) -> None:
    assert frame.height == 5
    assert {"id", "path", "chars", "cluster", "role"} <= set(frame.columns)
    rows = {r["id"]: r for r in frame.iter_rows(named=True)}
    assert set(rows) == set(seeds.ids)
    assert rows[seeds.original]["role"] == "source"
    assert rows[seeds.wrapper]["role"] == "copy"
    assert rows[seeds.original]["cluster"] == rows[seeds.wrapper]["cluster"] == 0
    for other in seeds.others:
        assert rows[other]["cluster"] is None
        assert rows[other]["role"] is None
    for doc_id, r in rows.items():
        assert r["chars"] == len(seeds.text(doc_id))


def _expect_pairs(frame: pl.DataFrame, seeds) -> None:
    assert frame.height == 1
    row = frame.row(0, named=True)
    assert (row["a"], row["b"], row["relation"]) == (seeds.wrapper, seeds.original, "contains")
    assert row["b_in_a"] >= 0.8
    assert 0 < row["a_in_b"] < row["b_in_a"]


def test_output_json(cli, tmp_path, seeds, check_seed_result):
    out = tmp_path / "result" / "out.json"
    run = cli("scan", "seeds/", "-o", out, "--format", "json")
    assert run.returncode == 0, run.stderr
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written == run.json()
    check_seed_result(written, seeds)
    frame = pl.read_json(out)
    documents = frame.select(pl.col("documents").explode()).unnest("documents")
    pairs = frame.select(pl.col("pairs").explode()).unnest("pairs")
    clusters = frame.select(pl.col("clusters").explode()).unnest("clusters")
    _expect_documents(documents, seeds)
    _expect_pairs(pairs, seeds)
    assert clusters.height == 1
    assert clusters.row(0, named=True)["source"] == seeds.original


READERS = {".jsonl": pl.read_ndjson, ".csv": pl.read_csv, ".parquet": pl.read_parquet}


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_tabular_outputs(cli, tmp_path, seeds, suffix):
    out = tmp_path / "result" / f"out{suffix}"
    run = cli("scan", "seeds/", "-o", out)
    assert run.returncode == 0, run.stderr
    pairs_path = tmp_path / "result" / f"out.pairs{suffix}"
    names = [f"out{suffix}", *(f"out.{t}{suffix}" for t in ("pairs", "paragraphs", "passages"))]
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(names)
    read = READERS[suffix]
    _expect_documents(read(out), seeds)
    _expect_pairs(read(pairs_path), seeds)
    for name in names:
        assert f"wrote {out.parent / name}" in run.stderr


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".csv", ".parquet"])
def test_output_with_no_pairs(cli, tmp_path, seeds, write_files, suffix):
    folder = write_files(tmp_path / "in", {i: seeds.text(i) for i in seeds.others})
    out = tmp_path / f"out{suffix}"
    run = cli("scan", folder, "-o", out)
    assert run.returncode == 0, run.stderr
    if suffix == ".json":
        data = json.loads(out.read_text(encoding="utf-8"))
        assert (len(data["documents"]), data["clusters"], data["pairs"]) == (3, [], [])
        return
    read = READERS[suffix]
    assert read(out).height == 3
    pairs_path = tmp_path / f"out.pairs{suffix}"
    assert pairs_path.exists()
    from dedup.output.tables import SCHEMAS, csv_schema

    for table in ("pairs", "passages"):
        path = tmp_path / f"out.{table}{suffix}"
        if suffix == ".jsonl":  # zero records is an empty file: read it with the documented schema
            assert path.read_text(encoding="utf-8").strip() == ""
            frame = pl.read_ndjson(path, schema=SCHEMAS[table])
        elif suffix == ".csv":
            frame = pl.read_csv(path, schema=csv_schema(table))
        else:
            frame = read(path)
            assert frame.schema == pl.Schema(SCHEMAS[table])
        assert frame.height == 0
        assert list(frame.columns) == list(SCHEMAS[table])
