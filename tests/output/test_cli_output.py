"""``dedup scan -o FILE`` and ``--format``: checked before the scan, written as a set, complete and typed."""

from __future__ import annotations

import json
import os
import stat

import polars as pl
import pytest

from dedup.output.tables import SCHEMAS, csv_schema

pytestmark = [pytest.mark.cli, pytest.mark.slow]  # the real command line in a subprocess

TABLES = ("documents", "pairs", "paragraphs", "passages")


def _one_line_error(run, *fragments: str) -> str:
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("dedup: error: ")
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


@pytest.fixture
def big_folder(tmp_path, seeds, write_files):
    """Enough articles that a scan takes a noticeable time, so an error after it would show in the timing."""
    files = {f"{n:04d}-{i}": seeds.text(i) for n in range(60) for i in seeds.ids}
    return write_files(tmp_path / "in", files)


def _bad_outputs(tmp_path):
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x", encoding="utf-8")
    (tmp_path / "taken.json").write_text("{}", encoding="utf-8")
    (tmp_path / "res.pairs.csv").write_text("a,b\n", encoding="utf-8")
    (tmp_path / "adir.json").mkdir()
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    return [
        (str(tmp_path), "folder"),  # a directory
        (str(tmp_path) + "/", "folder"),
        (str(tmp_path / "adir.json"), "folder"),  # a directory with an output suffix
        (str(a_file / "out.json"), "not a folder"),  # a path under a file
        ("/proc/nope/out.json", "/proc"),  # cannot be created
        ("/sys/out.json", "cannot write"),  # a folder nobody may write in
        ("", "empty"),
        (str(tmp_path / "out.xlsx"), "unknown output format"),
        (str(tmp_path / "out"), "unknown output format"),
        (str(tmp_path / "taken.json"), "already exists"),  # would replace a file
        (str(tmp_path / "res.csv"), "res.pairs.csv"),  # would replace a sibling the user did not name
        (str(fifo), "not a regular file"),
    ]


def test_bad_output_fails_fast_before_the_scan(cli, tmp_path, big_folder):
    before = {p.name for p in tmp_path.iterdir()}
    for out, fragment in _bad_outputs(tmp_path):
        run = cli("scan", big_folder, "-o", out, "-v")
        assert "dedup: read" not in run.stderr, out  # refused before a file is read (-v names each phase)
        line = _one_line_error(run, fragment)
        assert "rerun" not in line  # a usage error, not an unexpected one
    created = (
        {p.name for p in tmp_path.iterdir()}
        - before
        - {"plain.txt", "taken.json", "res.pairs.csv", "adir.json", "pipe.json"}
    )
    assert created == set()
    assert (tmp_path / "taken.json").read_text(encoding="utf-8") == "{}"


def test_unwritable_folder(cli, tmp_path, seeds):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user who may write anywhere (root): /sys/out.json covers this")
        _one_line_error(cli("scan", seeds.dir, "-o", folder / "out.json"), str(folder))
    finally:
        folder.chmod(0o755)


def test_format_combinations_are_checked(cli, seeds):
    _one_line_error(cli("scan", seeds.dir, "--format", "parquet"), "--format")
    _one_line_error(cli("scan", seeds.dir, "--format", "json", "-o", ""), "empty")
    _one_line_error(cli("scan", seeds.dir, "--contains", "1.5"), "--contains")
    _one_line_error(cli("scan", seeds.dir, "--max-file-size", "lots"), "--max-file-size")


def test_force_replaces_the_whole_set(cli, tmp_path, seeds):
    out = tmp_path / "res.csv"
    (tmp_path / "res.passages.csv").write_text("stale\n", encoding="utf-8")
    run = cli("scan", seeds.dir, "-o", out, "--format", "none")
    _one_line_error(run, "res.passages.csv", "--force")
    assert not out.exists()
    run = cli("scan", seeds.dir, "-o", out, "--force", "--format", "none")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "res.passages.csv").read_text(encoding="utf-8").startswith("a,b,a_start")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"res.{t}.csv" for t in TABLES[1:]] + ["res.csv"])


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_written_files_keep_the_umask(cli, tmp_path, seeds, umask):
    old = os.umask(umask)
    try:
        run = cli("scan", seeds.dir, "-o", tmp_path / "sub" / "res.parquet", "--format", "none")
    finally:
        os.umask(old)
    assert run.returncode == 0, run.stderr
    files = list((tmp_path / "sub").iterdir())
    assert len(files) == 4
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~umask, f


def test_a_failed_write_leaves_no_file_of_the_set(tmp_path, seeds, monkeypatch):
    """In process: the third table fails to write; nothing of the set appears, no temporary is left."""
    from dedup import scan
    from dedup.output import write as output

    result = scan(seeds.dir)
    plan = output.plan_output(str(tmp_path / "res.parquet"))
    calls = []
    real = output.write_frame

    def failing(frame, kind, target):
        calls.append(target)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", str(target))
        real(frame, kind, target)

    monkeypatch.setattr(output, "write_frame", failing)
    with pytest.raises(output.OutputError, match="No space left"):
        output.write_output(result, plan)
    assert list(tmp_path.iterdir()) == []


def _scan_json(cli, folder) -> dict:
    run = cli("scan", folder, "--format", "json")
    assert run.returncode == 0, run.stderr
    return run.json()


def _read(path, table: str, suffix: str) -> pl.DataFrame:
    if suffix == ".parquet":
        return pl.read_parquet(path)
    if suffix == ".jsonl":
        return pl.read_ndjson(path, schema=SCHEMAS[table])
    frame = pl.read_csv(path, schema=csv_schema(table))
    nested = [c for c, t in SCHEMAS[table].items() if isinstance(t, pl.List)]
    return frame.with_columns(pl.col(c).str.strip_prefix("'").str.json_decode(SCHEMAS[table][c]) for c in nested)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_tabular_exports_round_trip_with_paragraphs_and_passages(cli, tmp_path, seeds, suffix):
    data = _scan_json(cli, seeds.dir)
    out = tmp_path / f"res{suffix}"
    run = cli("scan", seeds.dir, "-o", out, "--format", "none")
    assert run.returncode == 0, run.stderr
    paths = {"documents": out} | {t: tmp_path / f"res.{t}{suffix}" for t in TABLES[1:]}
    frames = {t: _read(p, t, suffix) for t, p in paths.items()}
    for table, frame in frames.items():
        assert pl.Null not in frame.dtypes, (table, frame.schema)
        for name, dtype in SCHEMAS[table].items():
            assert frame.schema[name] == dtype, (table, name)
    # documents: every one, with the cluster's source beside it; dates all null and still text
    docs = frames["documents"]
    assert sorted(docs["id"].to_list()) == sorted(d["id"] for d in data["documents"])
    assert docs.schema["date"] == pl.Utf8 and docs["date"].null_count() == docs.height
    rows = {r["id"]: r for r in docs.iter_rows(named=True)}
    assert rows[seeds.wrapper]["source"] == rows[seeds.original]["source"] == seeds.original
    # paragraphs: the JSON's, label by label, with who shares them
    expected = [(d["id"], p["start"], p["end"], p["label"]) for d in data["documents"] for p in d["paragraphs"]]
    got = frames["paragraphs"].select("doc", "start", "end", "label").rows()
    assert sorted(got) == sorted(expected)
    syndicated = frames["paragraphs"].filter(pl.col("label") == "syndicated")
    assert syndicated.height > 0
    for r in syndicated.iter_rows(named=True):
        other = seeds.original if r["doc"] == seeds.wrapper else seeds.wrapper
        assert r["shared_with"] == [other]
    # passages: the JSON pairs' passages, and each slices matching text from both files
    expected = [
        (p["a"], p["b"], s["a_start"], s["a_end"], s["b_start"], s["b_end"])
        for p in data["pairs"]
        for s in p["passages"]
    ]
    assert sorted(frames["passages"].rows()) == sorted(expected)
    for a, b, a0, a1, b0, b1 in frames["passages"].rows():
        ta, tb = seeds.text(a)[a0:a1], seeds.text(b)[b0:b1]
        assert ta.split()[:5] == tb.split()[:5]


def test_csv_cells_are_neutralised(cli, tmp_path, seeds, write_files):
    folder = write_files(tmp_path / "in", {"=HYPERLINK(1).txt": seeds.text(seeds.original), "ok.txt": "short text"})
    out = tmp_path / "res.csv"
    run = cli("scan", folder, "-o", out, "--format", "none")
    assert run.returncode == 0, run.stderr
    ids = pl.read_csv(out, schema=csv_schema("documents"))["id"].to_list()
    assert "'=HYPERLINK(1).txt" in ids
    assert not any(i.startswith("=") for i in ids)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_stdout_tables_for_pipelines(cli, seeds, fmt):
    run = cli("scan", seeds.dir, "--format", fmt)
    assert run.returncode == 0, run.stderr
    if fmt == "jsonl":
        rows = [json.loads(line) for line in run.stdout.splitlines()]
    else:
        import io

        rows = pl.read_csv(io.StringIO(run.stdout), schema=csv_schema("documents")).to_dicts()
    assert sorted(r["id"] for r in rows) == sorted(seeds.ids)
    assert set(SCHEMAS["documents"]) <= set(rows[0])
    roles = {r["id"]: r["role"] for r in rows}
    assert roles[seeds.original] == "source"


def test_with_o_stdout_gets_a_summary_line_unless_a_format_is_asked(cli, tmp_path, seeds):
    """With ``-o FILE`` the result is in the file: stdout gets one line of counts (the table's last line),
    not a table of every cluster; ``--format table`` still prints the table, and without ``-o`` the table
    stays the default."""
    out = tmp_path / "res.parquet"
    run = cli("scan", seeds.dir, "-o", out)
    assert run.returncode == 0, run.stderr
    documents = pl.read_parquet(out)
    clusters = documents["cluster"].drop_nulls().n_unique()
    in_clusters = documents["cluster"].is_not_null().sum()
    pairs = pl.read_parquet(tmp_path / "res.pairs.parquet").height
    assert (clusters, pairs) == (1, 1)  # the seeds: one cluster of two articles
    assert run.stdout.splitlines() == [
        f"{len(documents)} documents, 1 cluster covering {in_clusters} documents, 1 related pair (0 partial)."
    ]
    table = cli("scan", seeds.dir, "-o", out, "--force", "--format", "table")
    assert table.stdout.startswith("Clusters of copies")
    assert table.stdout.rstrip().endswith(run.stdout.strip())
    assert cli("scan", seeds.dir).stdout == table.stdout


def test_json_output_file_has_meta_and_matches_stdout(cli, tmp_path, seeds):
    out = tmp_path / "res.json"
    run = cli("scan", seeds.dir, "-o", out, "--format", "json")
    assert run.returncode == 0, run.stderr
    saved = json.loads(out.read_text(encoding="utf-8"))
    printed = run.json()
    assert list(saved) == ["meta", "documents", "clusters", "pairs"]
    for d in (saved, printed):
        d["meta"].pop("timings", None)
    assert saved == printed
    assert f"dedup: wrote {out}" in run.stderr


def test_scan_writes_an_html_report(cli, tmp_path):
    out = tmp_path / "report.html"
    run = cli("scan", "seeds/", "-o", out, "--format", "none")
    assert run.returncode == 0, run.stderr
    page = out.read_text(encoding="utf-8")
    assert page.lower().startswith("<!doctype html>") and "001_9fe7513b9c6ae974.txt" in page.replace("<wbr>", "")
    assert "<script" not in page.lower()  # self-contained and inert: CSS only
    again = cli("scan", "seeds/", "-o", out, "--format", "none")
    assert again.returncode == 2 and "already exists" in again.stderr  # never replaced without --force


def _old_csv(frame: pl.DataFrame) -> bytes:
    """CSV as the whole-frame writer made it before the output streamed: cell by cell in Python."""
    from dedup.escape import csv_cell

    cols = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.List):
            values = [None if v is None else csv_cell(json.dumps(v, ensure_ascii=False)) for v in frame[name].to_list()]
            cols.append(pl.Series(name, values, dtype=pl.Utf8))
        elif dtype == pl.Utf8:
            cols.append(pl.Series(name, [None if v is None else csv_cell(v) for v in frame[name]], dtype=pl.Utf8))
        else:
            cols.append(frame[name])
    return pl.DataFrame(cols).write_csv().encode("utf-8")


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".csv", ".parquet"])
def test_each_format_is_the_result_built_whole(cli, tmp_path, seeds, write_files, suffix):
    """``-o`` writes batch by batch; every file is what the result built whole in Python gives (the JSON
    contract's ``to_dict``, and the tables made from it), byte for byte (Parquet: row for row, typed)."""
    import re

    from dedup import scan
    from dedup.output import json_bytes
    from dedup.output.tables import tables_from_dict

    original = seeds.text(seeds.original)
    folder = write_files(
        tmp_path / "in",
        {**{i: seeds.text(i) for i in seeds.ids}, '=q"uote.txt': original, "tab\there.txt": "An intro.\n\n" + original},
    )
    out = tmp_path / f"res{suffix}"
    run = cli("scan", folder, "-o", out, "--format", "none")
    assert run.returncode == 0, run.stderr
    result = scan(folder)
    whole = result.to_dict()
    if suffix == ".json":
        timings = re.compile(rb'"timings": \{[^}]*\}')
        assert timings.sub(b"", out.read_bytes()) == timings.sub(b"", json_bytes(whole))
        return
    ref = tables_from_dict(whole)
    ref["paragraphs"] = ref["paragraphs"].with_columns(pl.col("shared_with").list.sort())  # the scan's are sorted
    ids = result.corpus.ids  # the tables list pairs in phase 2's order, the JSON by id: put the JSON's in it
    order = pl.DataFrame(
        {"a": [ids[a] for a in result.pairs["a"]], "b": [ids[b] for b in result.pairs["b"]]}
    ).with_row_index("k")
    for t in ("pairs", "passages"):
        ref[t] = ref[t].with_row_index("r").join(order, on=["a", "b"]).sort("k", "r").drop("k", "r")
    assert ref["paragraphs"].filter(pl.col("shared_with").list.len() > 0).height > 0
    paths = {"documents": out} | {t: tmp_path / f"res.{t}{suffix}" for t in TABLES[1:]}
    for table, path in paths.items():
        if suffix == ".parquet":
            got = pl.read_parquet(path)
            assert got.schema == ref[table].schema and got.equals(ref[table]), table
        elif suffix == ".jsonl":
            assert path.read_bytes() == ref[table].write_ndjson().encode("utf-8"), table
        else:
            assert path.read_bytes() == _old_csv(ref[table]), table
