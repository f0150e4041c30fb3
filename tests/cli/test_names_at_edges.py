"""Names are stored as read and escaped once, where they are shown (issue 17): a query names an article the
same way everywhere, and a saved result reopens files whose names hold a backslash, a tab or a raw byte."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dedup import escape

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
ORIGINAL = SEEDS / "001_9fe7513b9c6ae974.txt"
WRAPPED = SEEDS / "000_137fe5741023b456.txt"


ODD_NAMES = ["back\\slash.txt", "tab\there.txt", os.fsdecode(b"raw\xffbyte.txt")]


@pytest.mark.parametrize("odd", ODD_NAMES)
def test_escape_round_trips_through_stored_and_shown_forms(odd):
    assert escape.raw(escape.stored(odd)) == odd
    assert escape.unname(escape.name(odd)) == odd
    assert escape.stored_name(escape.stored(odd)) == escape.name(odd)
    assert escape.stored(odd).encode("utf-8")  # valid UTF-8: Parquet and polars can hold it


def test_query_names_an_article_the_same_everywhere(cli, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ORIGINAL, corpus / "copy\tone.txt")
    shutil.copy(SEEDS / "002_9bc901dc3b6c5084.txt", corpus / "other.txt")
    index = tmp_path / "ix"
    assert cli("index", "add", corpus, "--index", index).returncode == 0
    run = cli("query", WRAPPED, "--index", index, "--format", "json")
    assert run.returncode == 0, run.stderr
    data = run.json()
    shown = "copy\\x09one.txt"
    indexed = [d["id"] for d in data["documents"] if d["indexed"]]
    assert indexed == [shown]
    assert {data["pairs"][0]["a"], data["pairs"][0]["b"]} == {WRAPPED.name, shown}
    assert data["pairs"][0]["indexed"] == shown
    assert shown in data["clusters"][0]["members"] and data["clusters"][0]["source"] == shown


@pytest.mark.parametrize("odd", ODD_NAMES)
def test_show_from_a_saved_scan_opens_an_odd_name(cli, tmp_path, odd):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ORIGINAL, corpus / odd)
    shutil.copy(WRAPPED, corpus / "wrapped.txt")
    saved = tmp_path / "r.json"
    assert cli("scan", corpus, "-o", saved, "--format", "none").returncode == 0
    run = cli("show", corpus / odd, "--from", saved)
    assert run.returncode == 0, run.stderr
    assert "syndicated" in run.stdout
    assert escape.name(odd) in run.stdout  # shown escaped once
    (corpus / odd).unlink()
    gone = cli("show", corpus / odd, "--from", saved)
    assert gone.returncode != 0
    line = gone.stderr.strip()
    assert escape.name(odd) in line and escape.name(escape.name(odd)) not in line  # escaped once, not twice
