"""The ``dedup`` command in a real subprocess: output contract, exit codes, errors and written files."""

from __future__ import annotations

import json

import polars as pl
import pytest

from dedup import scan


@pytest.mark.parametrize("script", [False, True], ids=["python-m", "console-script"])
def test_scan_seeds_json(cli, seeds, script, check_seed_result):
    run = cli("scan", "seeds/", "--format", "json", script=script)
    assert run.returncode == 0, run.stderr
    check_seed_result(run.json(), seeds)


def test_cli_json_equals_library_to_dict(cli, seeds):
    run = cli("scan", seeds.dir, "--format", "json")
    assert run.returncode == 0, run.stderr
    assert run.json() == scan(seeds.dir).to_dict()


def test_cli_json_is_identical_across_runs(cli):
    first = cli("scan", "seeds/", "--format", "json")
    second = cli("scan", "seeds/", "--format", "json")
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout


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
    write_files(tmp_path, {"page.html": "<p>hello</p>", "data.json": "{}", "sub/notes.rtf": "x"})
    _assert_one_line_error(cli("scan", tmp_path), str(tmp_path))


def test_a_file_instead_of_a_folder_is_a_usage_error(cli, seeds):
    path = seeds.dir / seeds.original
    _assert_one_line_error(cli("scan", path), str(path))


@pytest.mark.parametrize("name", ["out.xlsx", "out.txt", "out"])
def test_unknown_output_suffix_is_a_usage_error(cli, tmp_path, name):
    out = tmp_path / name
    _assert_one_line_error(cli("scan", "seeds/", "-o", out), str(out))
    assert list(tmp_path.iterdir()) == []


def test_invalid_utf8_file_is_a_one_line_warning_and_the_rest_is_scanned(
    cli, tmp_path, seeds, write_files, check_seed_result
):
    bad = "zz-latin1.txt"
    write_files(tmp_path, {i: seeds.text(i) for i in seeds.ids} | {bad: "Café crème, déjà vu".encode("latin-1")})
    run = cli("scan", tmp_path, "--format", "json")
    assert run.returncode == 0, run.stderr
    check_seed_result(run.json(), seeds)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert str(tmp_path / bad) in lines[0]


def test_version(cli):
    run = cli("--version")
    assert run.returncode == 0
    assert run.stdout.startswith("dedup ")


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
    assert sorted(p.name for p in out.parent.iterdir()) == sorted([out.name, pairs_path.name])
    read = READERS[suffix]
    _expect_documents(read(out), seeds)
    _expect_pairs(read(pairs_path), seeds)


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
    if suffix == ".jsonl":  # zero records is an empty file, which polars cannot infer a schema from
        assert pairs_path.read_text(encoding="utf-8").strip() == ""
    else:
        assert read(pairs_path).height == 0
