"""One relation, said the same way everywhere (issue 28): the JSON's phrase for a pair is what the scan table,
``diff``, ``show``, ``query``, the HTML report and the served page say of it, with A and B named in each."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest

from dedup.wording import in_words, say
from tests.core.test_direction import _original_and_rewrite
from tests.support.serving import Server

pytestmark = [pytest.mark.cli, pytest.mark.slow]  # the real command line and a real server in subprocesses


def test_one_relation_in_every_view(cli, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    _original_and_rewrite(folder, dated=False)
    scan = cli("scan", folder, "--format", "json")
    assert scan.returncode == 0, scan.stderr
    [pair] = scan.json()["pairs"]
    assert pair["copy"] == "rewrite.txt" and pair["relation"] == "contains"
    # The rewrite holds only part of the original, and says how much.
    words = say(pair["phrase"], "B", "A") if pair["a"] == "original.txt" else say(pair["phrase"], "A", "B")
    held = round(100 * min(pair["a_in_b"], pair["b_in_a"]))
    assert words == f"A abridges B (holds {held} % of it)"  # A: the rewrite, B: the original

    table = cli("scan", folder)
    assert words in table.stdout and "A: the member, B: its cluster's source" in table.stdout
    diff = cli("diff", folder / "rewrite.txt", folder / "original.txt", "--corpus", folder)
    assert f"relation: {words}" in diff.stdout
    show = cli("show", folder / "rewrite.txt")
    assert words in show.stdout and "A: this article" in show.stdout

    report = tmp_path / "report.html"
    assert cli("scan", folder, "-o", report, "--format", "none").returncode == 0
    page = html.unescape(report.read_text(encoding="utf-8"))
    assert in_words(words, "this", "the source") in page  # the member's line, the rewrite being "this"
    assert in_words(words, "B", "A") in page  # the pair side by side, the original first (A)

    index = tmp_path / "index"
    assert cli("index", "add", folder / "original.txt", "--index", index).returncode == 0
    query = cli("query", folder / "rewrite.txt", "--index", index, "--format", "table")
    assert words in query.stdout, query.stdout
    with Server(index) as srv:
        text = (folder / "rewrite.txt").read_text(encoding="utf-8")
        served = srv.client.post("/query", data={"text": text, "id": "rewrite.txt"})
        assert served.status_code == 200
        assert words in html.unescape(served.text) and "A: this article" in html.unescape(served.text)
        answer = srv.client.post("/api/query", json={"text": text, "id": "rewrite.txt"}).json()
        assert json.dumps(answer).count("abridges") >= 1
