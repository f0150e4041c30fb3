"""What a scan reads (issue 28): never its own output, never a file dropped without a word. Reports, saved
results and index folders dedup wrote in the scanned folder are recognised by their content and skipped with
one line each; ``--exclude`` and ``.dedupignore`` leave out more; files of kinds dedup does not read are
listed in ``meta.inputs.skipped`` and counted; a folder with no article says what it held instead."""

from __future__ import annotations

import shutil

import pytest

from dedup.ingest.ignore import parse
from dedup.ingest.own import TABLE_COLUMNS
from dedup.output.tables import SCHEMAS
from tests.conftest import SEED_ORIGINAL, SEED_OTHERS, SEED_WRAPPER, SEEDS


@pytest.fixture
def folder(tmp_path):
    out = tmp_path / "news"
    shutil.copytree(SEEDS, out)
    return out


def _ids(run) -> list[str]:
    assert run.returncode == 0, run.stderr
    return sorted(d["id"] for d in run.json()["documents"])


def test_a_scan_skips_the_report_and_the_results_it_wrote_there(folder, tmp_path, cli):
    seeds = sorted(p.name for p in SEEDS.iterdir())
    for out in ("report.html", "r.json", "t.csv"):
        assert cli("scan", folder, "-o", folder / out, "-q", "--format", "none").returncode == 0
    assert cli("index", "add", folder / SEED_ORIGINAL, "--index", folder / "archive", "-q").returncode == 0
    # An article that is only named like a report is read.
    (folder / "sub").mkdir()
    shutil.copy(SEEDS / SEED_OTHERS[0], folder / "sub" / "report.html")
    run = cli("scan", folder, "--format", "json")
    assert _ids(run) == sorted([*seeds, "sub/report.html"])
    lines = run.stderr.splitlines()
    for name, what in [
        ("report.html", "an HTML page written by dedup"),
        ("r.json", "a result written by dedup"),
        ("t.csv", "a result table (documents) written by dedup"),
        ("t.pairs.csv", "a result table (pairs) written by dedup"),
        ("t.passages.csv", "a result table (passages) written by dedup"),
        ("archive", "an index written by dedup"),
    ]:
        assert sum(f"{folder / name}: {what}" in line for line in lines) == 1, (name, run.stderr)
    data = run.json()
    assert data["clusters"][0]["source"] == SEED_ORIGINAL  # the report is no one's source
    assert len(data["meta"]["inputs"]["skipped"]) == 7  # the report, the JSON, the four tables, the index
    assert "dedup: 7 files skipped" in run.stderr


def test_exclude_and_dedupignore_leave_files_out(folder, cli):
    (folder / ".dedupignore").write_text("# drafts\n00[23]*\n!002*\ndrafts/\n", encoding="utf-8")
    (folder / "drafts").mkdir()
    shutil.copy(SEEDS / SEED_WRAPPER, folder / "drafts" / "copy.txt")
    run = cli("scan", folder, "--exclude", SEED_OTHERS[2], "--format", "json")
    assert _ids(run) == sorted([SEED_WRAPPER, SEED_ORIGINAL, SEED_OTHERS[0]])
    assert run.json()["meta"]["parameters"]["ingest.exclude"] == [SEED_OTHERS[2]]
    # The command line has the last word, and index add and query take it too.
    again = cli("scan", folder, "--exclude", "!003*", "--format", "json")
    assert SEED_OTHERS[1] in _ids(again)
    index = folder.parent / "index"
    assert cli("index", "add", folder, "--index", index, "--exclude", "00[01]*", "-q").returncode == 0
    stats = cli("index", "stats", "--index", index).json()
    assert stats["articles"] == 2  # 002 and 004: 000 and 001 excluded here, 003 and drafts/ by .dedupignore


def test_unsupported_files_are_listed_and_counted_and_nothing_readable_is_named(folder, cli):
    (folder / "letter.docx").write_bytes(b"PK\x03\x04" + bytes(200))
    (folder / "scan").write_bytes(b"%PDF-1.4\n" + bytes(200))
    run = cli("scan", folder, "--format", "json")
    skipped = {s["path"].rsplit("/", 1)[-1]: s["reason"] for s in run.json()["meta"]["inputs"]["skipped"]}
    assert skipped == {"letter.docx": "unsupported (.docx)", "scan": "unsupported (no extension)"}
    assert _ids(run) == sorted(p.name for p in SEEDS.iterdir())
    assert "2 files of kinds dedup does not read skipped (.docx 1, no extension 1)" in run.stderr
    assert "dedup: 2 files skipped" in run.stderr
    only = folder.parent / "only"
    only.mkdir()
    shutil.copy(folder / "letter.docx", only)
    assert cli("scan", SEEDS, "-o", only / "report.html", "-q", "--format", "none").returncode == 0
    empty = cli("scan", only)
    assert empty.returncode == 2
    assert (
        "no readable articles found (2 files skipped: 1 of kinds dedup does not read (.docx 1), 1 written by dedup)"
        in (empty.stderr)
    )


def test_the_recognised_tables_are_the_tables_dedup_writes():
    """Each table dedup writes starts with the columns its output is recognised by (later ones may be added)."""
    assert set(SCHEMAS) == set(TABLE_COLUMNS)
    for table, columns in TABLE_COLUMNS.items():
        assert tuple(SCHEMAS[table])[: len(columns)] == columns, table


@pytest.mark.parametrize(
    ("rules", "path", "folder", "out"),
    [
        (["*.bak"], "a/b/c.bak", False, True),
        (["/top.txt"], "sub/top.txt", False, False),
        (["/top.txt"], "top.txt", False, True),
        (["a/**/z.txt"], "a/b/c/z.txt", False, True),
        (["a/**/z.txt"], "a/z.txt", False, True),
        (["build/"], "build", False, False),
        (["build/"], "x/build", True, True),
        (["*.txt", "!keep.txt"], "keep.txt", False, False),
        (["d?.md"], "d1.md", False, True),
        (["d[0-3].md"], "d4.md", False, False),
    ],
)
def test_ignore_rules_read_as_gitignore(rules, path, folder, out):
    from dedup.ingest.ignore import Ignore

    assert Ignore(parse(rules)).excludes(path, folder) is out
