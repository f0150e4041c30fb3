"""``dedup scan --candidates lsh`` in a real subprocess, alone and against an index."""

from __future__ import annotations


def test_scan_with_lsh_candidates(cli, seeds, check_seed_result):
    run = cli("scan", "seeds/", "--format", "json", "--candidates", "lsh")
    assert run.returncode == 0, run.stderr
    data = run.json()
    check_seed_result(data, seeds)
    parameters = data["meta"]["parameters"]
    assert parameters["candidates.mode"] == "lsh"
    assert parameters["candidates.threshold"] == 0.5
    assert data["meta"]["candidates"] == 1


def test_scan_index_with_lsh_candidates(cli, seeds, tmp_path):
    """scan --index: the folder's articles and the indexed ones, candidates from the bands over both."""
    archive = tmp_path / "archive"
    added = cli("index", "add", seeds.dir / seeds.original, "--index", archive)
    assert added.returncode == 0, added.stderr
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / seeds.wrapper).write_bytes((seeds.dir / seeds.wrapper).read_bytes())
    run = cli("scan", folder, "--index", archive, "--format", "json", "--candidates", "lsh")
    assert run.returncode == 0, run.stderr
    (pair,) = run.json()["pairs"]
    assert (pair["a"], pair["b"], pair["relation"]) == (seeds.wrapper, seeds.original, "contains")


def test_bad_candidate_options_are_one_line(cli):
    run = cli("scan", "seeds/", "--candidates", "approximate")
    assert run.returncode == 2
    assert "invalid choice: 'approximate'" in run.stderr
    run = cli("scan", "seeds/", "--candidates", "lsh", "--candidates-bands", "40", "--candidates-rows", "4")
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0
    assert "40 bands of 4 rows need more than the 128 values" in run.stderr
