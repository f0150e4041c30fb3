"""The command line as its own room (issue 17): ``--help`` stays light and says the code's defaults,
``query`` prints and writes its result as ``scan`` does (``--format``, ``-o``, ``--force``), and
``scan INPUT --index LOCATION`` behaves as ``scan INPUT`` in every respect but the added index."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from dedup.output.tables import QUERY_COLUMNS, SCHEMAS, csv_schema

ROOT = Path(__file__).resolve().parents[2]
TABLES = ("documents", "pairs", "paragraphs", "passages")
HELPS = [
    [],
    ["scan"],
    ["diff"],
    ["show"],
    ["index"],
    ["index", "add"],
    ["index", "stats"],
    ["index", "remove"],
    ["index", "compact"],
    ["query"],
    ["completion"],
]

# ------------------------------------------------------------------------------------------ --help


def test_help_of_every_command_imports_neither_numpy_nor_polars():
    """Each command's --help in one fresh process; then which heavy modules that process has loaded."""
    program = f"""
import contextlib, io, json, sys
from dedup.cli import main
shown = []
for args in {HELPS!r}:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main([*args, "--help"])
        except SystemExit as e:
            assert e.code == 0, (args, e.code)
    shown.append(out.getvalue())
print(json.dumps({{"helps": shown, "loaded": [m for m in ("numpy", "polars") if m in sys.modules]}}))
"""
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["loaded"] == []
    for args, text in zip(HELPS, out["helps"]):
        assert text.startswith("usage: dedup"), args
    assert "--format" in out["helps"][HELPS.index(["query"])] and "-o FILE" in out["helps"][HELPS.index(["query"])]


def _dataclass_default(name: str):
    from dedup import ScanOptions

    value = ScanOptions()
    for part in name.split("."):
        value = getattr(value, part)
    return value


@pytest.mark.parametrize("command", [["scan"], ["diff"], ["show"], ["index", "add"], ["query"]])
def test_help_defaults_equal_the_dataclass_defaults(command):
    """Every parameter default, as parsed and as --help prints it, is the one in dedup.options."""
    from dedup.cli import build_parser
    from dedup.cli.params import NONE_MEANS, parse_size, scan_params
    from dedup.options import INDEX_BATCH_DOCS

    params = scan_params()
    assert len(params) >= 25
    _, commands = build_parser(params)
    parser = commands[command[0]]
    if len(command) > 1:  # index add: the parser of the action
        program = f"import sys; from dedup.cli import main; main([*{command!r}, '--help'])"
        text = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT).stdout
    else:
        text = parser.format_help()
    text = " ".join(text.split())
    adds = command[0] in ("index", "query")
    for p in params:
        if adds and p.name.startswith("candidates."):  # the index's postings find the candidates: refused
            assert f"{p.flag} " not in text, p.flag
            continue
        want = INDEX_BATCH_DOCS if adds and p.name == "batch_docs" else _dataclass_default(p.name)
        if len(command) == 1:
            assert parser.get_default(p.dest) == want, p.name
        if p.kind == "bool":  # a switch that turns on what is off by default, or off (--no-...) what is on
            flag = p.flag.replace("--", "--no-", 1) if want else p.flag
            assert isinstance(want, bool) and f"{flag} " in text and f"(default: {'on' if want else 'off'})" in text
            continue
        m = re.search(re.escape(p.flag) + r" ([A-Z]+|[a-z]+(\|[a-z]+)+) .*?\(default: ([^)]*)\)", text)
        assert m, p.flag
        shown = m.group(3).removesuffix(" when adding")
        if want is None:
            assert shown == NONE_MEANS.get(p.name, "none"), p.flag
        elif p.kind == "size":
            assert parse_size(shown) == want, p.flag
        elif p.kind == "str":
            assert shown == want, p.flag
        else:
            assert float(shown) == want, p.flag


def test_index_batch_default_is_the_service_one():
    """``dedup.options.INDEX_BATCH_DOCS`` is what the help shows; the index service still keeps its own copy."""
    from dedup.index.service import ADD_BATCH
    from dedup.options import INDEX_BATCH_DOCS

    assert ADD_BATCH == INDEX_BATCH_DOCS


# ------------------------------------------------------------------------------------------ query output


@pytest.fixture(scope="module")
def index(tmp_path_factory, seeds):
    """A local index of the original seed article and two others; 000 (which wraps 001) is queried."""
    loc = tmp_path_factory.mktemp("ix") / "index"
    paths = [str(seeds.dir / n) for n in (seeds.original, *seeds.others[:2])]
    run = subprocess.run(
        [sys.executable, "-m", "dedup", "index", "add", *paths, "--index", str(loc), "-q", "--workers", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return loc


def _query(cli, seeds, index, *args):
    paths = [seeds.dir / seeds.wrapper, seeds.dir / seeds.others[2]]
    return cli("query", *paths, "--index", index, *args)


def _untimed(data: dict) -> dict:
    return {**data, "meta": {k: v for k, v in data["meta"].items() if k != "timings"}}


def test_query_json_is_the_query_contract_and_the_table_its_default_as_scans(cli, seeds, index):
    run = _query(cli, seeds, index, "--format", "json")
    assert run.returncode == 0, run.stderr
    data = run.json()
    assert list(data) == ["meta", "documents", "clusters", "pairs"]
    (pair,) = data["pairs"]
    assert (pair["query"], pair["indexed"], pair["relation"]) == (seeds.wrapper, seeds.original, "contains")
    assert pair["passages"]
    assert {(d["id"], d["indexed"]) for d in data["documents"]} >= {(seeds.wrapper, False), (seeds.original, True)}
    assert data["clusters"][0]["query"] == seeds.wrapper
    default = _query(cli, seeds, index)  # piped: the table, whole, as scan prints it (README, Using it)
    assert default.returncode == 0 and default.stdout == _query(cli, seeds, index, "--format", "table").stdout
    assert default.stdout.startswith("Query articles against the index")


def test_query_table(cli, seeds, index):
    run = _query(cli, seeds, index, "--format", "table")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "\x1b[" not in out
    assert seeds.wrapper in out and seeds.original in out and seeds.others[2] in out
    assert "A wraps B" in out  # the query 000 (A) holds all of the indexed 001 (B) in text of its own
    assert "no match" in out  # 004 shares nothing with the index
    assert "2 query articles, 1 with indexed articles in common, 1 related pair (0 partial)." in out


def test_query_tables_on_stdout_and_none(cli, seeds, index):
    for fmt in ("jsonl", "csv"):
        run = _query(cli, seeds, index, "--format", fmt)
        assert run.returncode == 0, run.stderr
        if fmt == "jsonl":
            rows = [json.loads(line) for line in run.stdout.splitlines()]
        else:
            import io

            schema = csv_schema("documents") | QUERY_COLUMNS["documents"]
            rows = pl.read_csv(io.StringIO(run.stdout), schema=schema).to_dicts()
        assert list(rows[0]) == [*SCHEMAS["documents"], *QUERY_COLUMNS["documents"]]
        by_key = {(r["id"], r["indexed"]): r for r in rows}
        assert by_key[(seeds.wrapper, False)]["source"] == seeds.original
        assert by_key[(seeds.original, True)]["role"] == "source"
    run = _query(cli, seeds, index, "--format", "none")
    assert (run.returncode, run.stdout) == (0, "")


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".csv", ".parquet"])
def test_query_output_files(cli, seeds, index, tmp_path, suffix):
    data = _query(cli, seeds, index, "--format", "json").json()
    out = tmp_path / f"res{suffix}"
    run = _query(cli, seeds, index, "-o", out, "--format", "none")
    assert run.returncode == 0, run.stderr
    if suffix == ".json":
        assert [p.name for p in tmp_path.iterdir()] == ["res.json"]
        assert _untimed(json.loads(out.read_text(encoding="utf-8"))) == _untimed(data)
        return
    paths = {"documents": out} | {t: tmp_path / f"res.{t}{suffix}" for t in TABLES[1:]}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths.values())
    for p in paths.values():
        assert f"dedup: wrote {p}" in run.stderr
    frames = {}
    for table, path in paths.items():
        schema = SCHEMAS[table] | QUERY_COLUMNS[table]
        if suffix == ".parquet":
            frame = pl.read_parquet(path)
        elif suffix == ".jsonl":
            frame = pl.read_ndjson(path, schema=schema)
        else:
            frame = pl.read_csv(path, schema=csv_schema(table) | QUERY_COLUMNS[table])
            nested = [c for c, t in SCHEMAS[table].items() if isinstance(t, pl.List)]  # JSON text in CSV
            frame = frame.with_columns(pl.col(c).str.strip_prefix("'").str.json_decode(schema[c]) for c in nested)
        assert frame.columns == list(schema), table  # the documented columns, then the query's
        frames[table] = frame
    (pair,) = frames["pairs"].to_dicts()
    assert (pair["a"], pair["b"], pair["query"], pair["indexed"]) == (
        seeds.wrapper,
        seeds.original,
        seeds.wrapper,
        seeds.original,
    )
    offsets = ("a_start", "a_end", "b_start", "b_end")
    want = [(p["a"], p["b"], *(s[k] for k in offsets)) for p in data["pairs"] for s in p["passages"]]
    got = frames["passages"].select("a", "b", *offsets).rows()
    assert sorted(got) == sorted(want)
    paragraphs = frames["paragraphs"]
    assert paragraphs.height == sum(len(d["paragraphs"]) for d in data["documents"])
    syndicated = paragraphs.filter((pl.col("label") == "syndicated") & ~pl.col("indexed"))
    assert syndicated.height > 0 and all(w == [seeds.original] for w in syndicated["shared_with"].to_list())


def test_query_output_is_refused_before_anything_is_read(cli, seeds, tmp_path):
    """A bad -o is one usage line, before the index is opened: here there is no index at all."""
    (tmp_path / "taken.json").write_text("{}", encoding="utf-8")
    (tmp_path / "res.pairs.csv").write_text("a,b\n", encoding="utf-8")
    missing = tmp_path / "no-index"
    for out, fragment in [
        (tmp_path / "taken.json", "already exists"),
        (tmp_path / "res.csv", "res.pairs.csv"),
        (tmp_path / "out.xlsx", "unknown output format"),
        (tmp_path, "folder"),
    ]:
        run = cli("query", seeds.dir / seeds.wrapper, "--index", missing, "-o", out)
        assert run.returncode == 2, run.stderr
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("dedup: error: ") and fragment in lines[0], run.stderr
    assert not missing.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res.pairs.csv", "taken.json"]


def test_query_force_replaces_the_whole_set(cli, seeds, index, tmp_path):
    out = tmp_path / "res.csv"
    (tmp_path / "res.passages.csv").write_text("stale\n", encoding="utf-8")
    run = _query(cli, seeds, index, "-o", out)
    assert run.returncode == 2 and "res.passages.csv" in run.stderr and "--force" in run.stderr
    assert not out.exists()
    run = _query(cli, seeds, index, "-o", out, "--force", "--format", "none")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "res.passages.csv").read_text(encoding="utf-8").startswith("a,b,a_start")
    assert len(list(tmp_path.iterdir())) == 4


def test_query_escapes_names_once(cli, seeds, tmp_path):
    """An indexed id with a terminal control shows as the scan shows it: escaped once, in JSON and the table."""
    evil = "ev\x1b[2Jil.txt"
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / evil).write_bytes((seeds.dir / seeds.original).read_bytes())
    loc = tmp_path / "index"
    assert cli("index", "add", folder, "--index", loc, "-q").returncode == 0
    data = cli("query", seeds.dir / seeds.wrapper, "--index", loc, "--format", "json").json()
    assert [p["indexed"] for p in data["pairs"]] == ["ev\\x1b[2Jil.txt"]
    assert "ev\\x1b[2Jil.txt" in {d["id"] for d in data["documents"]}
    table = cli("query", seeds.dir / seeds.wrapper, "--index", loc, "--format", "table")
    assert table.returncode == 0 and "\x1b" not in table.stdout + table.stderr


# ------------------------------------------------------------------------------------------ scan --index


def _lines(run) -> list[str]:
    return run.stderr.strip().splitlines()


def test_scan_index_without_readable_articles_is_scans_usage_error(cli, index, tmp_path):
    folder = tmp_path / "empty-only"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "punct.txt").write_bytes(b"... -- !!!\n")
    plain = cli("scan", folder, "--format", "json")
    with_index = cli("scan", folder, "--index", index, "--format", "json")
    assert plain.returncode == with_index.returncode == 2
    assert plain.stdout == with_index.stdout == ""
    assert _lines(with_index) == _lines(plain)
    assert _lines(plain)[-1] == f"dedup: error: {folder}: no readable articles found (2 files skipped: 2 no text)"


def test_scan_index_strict_is_scans(cli, seeds, index, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / seeds.wrapper).write_bytes((seeds.dir / seeds.wrapper).read_bytes())
    (folder / "big.txt").write_text(" ".join(f"word{i}" for i in range(3000)), encoding="utf-8")
    args = ("--max-file-size", "16KB", "--strict", "--format", "json")
    plain = cli("scan", folder, *args)
    with_index = cli("scan", folder, "--index", index, *args)
    assert plain.returncode == with_index.returncode == 3
    assert _lines(with_index) == _lines(plain)
    assert _lines(plain)[-1] == "dedup: error: 1 input file skipped (--strict)"
    pairs = {(p["a"], p["b"], p["relation"]) for p in with_index.json()["pairs"]}
    assert (seeds.wrapper, seeds.original, "contains") in pairs  # the indexed original, found
    assert plain.json()["pairs"] == []


def test_scan_index_takes_a_file_as_scan_does(cli, seeds, index):
    run = cli("scan", seeds.dir / seeds.wrapper, "--index", index, "--format", "json")
    assert run.returncode == 0, run.stderr
    assert {(p["a"], p["b"]) for p in run.json()["pairs"]} == {(seeds.wrapper, seeds.original)}
    assert os.path.basename(run.json()["documents"][0]["path"]) == seeds.wrapper
