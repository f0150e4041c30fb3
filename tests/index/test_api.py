"""``dedup.Index`` and ``dedup.read_article``, the documented Python API (README, Using it from Python): the
same answers as the command line's ``index add``/``query``/``index remove``/``index stats``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import dedup
from dedup.index import StoreError
from tests.conftest import ROOT, SEED_ORIGINAL, SEED_OTHERS, SEED_WRAPPER, SEEDS

OPTIONS = dedup.ScanOptions(workers=1)


def test_index_open_add_query_remove_stats_as_the_cli(tmp_path):
    with pytest.raises(StoreError):
        dedup.Index.open(tmp_path / "missing")
    ix = dedup.Index.open(tmp_path / "ix", create=True, options=OPTIONS)
    report = ix.add([SEEDS / SEED_ORIGINAL, SEEDS / SEED_OTHERS[0]])
    assert (report.added, report.replaced, report.unchanged) == (2, 0, 0)
    assert ix.add([SEEDS / SEED_ORIGINAL]).unchanged == 1
    answer = ix.query([SEEDS / SEED_WRAPPER]).to_dict()
    assert [(p["query"], p["relation"], p["indexed"]) for p in answer["pairs"]] == [
        (SEED_WRAPPER, "contains", SEED_ORIGINAL)
    ]
    cli = subprocess.run(
        [sys.executable, "-m", "dedup", "query", SEEDS / SEED_WRAPPER, "--index", tmp_path / "ix", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert json.loads(cli.stdout)["pairs"] == answer["pairs"]
    pasted = ix.query_text((SEEDS / SEED_WRAPPER).read_text(encoding="utf-8"), "pasted").to_dict()
    assert pasted["pairs"][0]["relation"] == "contains" and pasted["pairs"][0]["query"] == "pasted"
    assert ix.text(SEED_ORIGINAL) == (SEEDS / SEED_ORIGINAL).read_text(encoding="utf-8")
    assert ix.stats()["articles"] == len(ix) == 2
    assert ix.remove([SEED_OTHERS[0], "nosuch"]) == 1 and len(ix) == 1
    with pytest.raises(KeyError):
        ix.text(SEED_OTHERS[0])
    added = ix.add_text(
        "page.html", "<title>Rates rise | The Harbour Herald</title><p>Rates rose again today.</p>", html=True
    )
    assert added.added == 1 and ix.text("page.html") == "Rates rose again today."


def test_the_text_as_read_is_what_offsets_index(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Bridge approved | The Harbour Herald</title></head><body><nav>Home</nav>"
        "<p>The council approved the bridge.</p><script>x()</script><p>Work starts in May.</p></body></html>",
        encoding="utf-8",
    )
    article = dedup.read_article(page)
    assert article.title == "Bridge approved"
    paragraphs = [article.text[s:e] for s, e in article.paragraphs]  # the offsets index the text as read
    assert paragraphs[-2:] == ["The council approved the bridge.", "Work starts in May."]
    assert "x()" not in article.text and "<p>" not in article.text  # script and markup are not text
    result = dedup.scan(SEEDS, OPTIONS)
    text = result.text(SEED_WRAPPER)
    for p in result.to_dict()["pairs"][0]["passages"]:
        a, b = (
            (SEED_WRAPPER, SEED_ORIGINAL)
            if result.to_dict()["pairs"][0]["a"] == SEED_WRAPPER
            else (SEED_ORIGINAL, SEED_WRAPPER)
        )
        assert result.text(a)[p["a_start"] : p["a_end"]] and result.text(b)[p["b_start"] : p["b_end"]]
    assert text == dedup.read_article(SEEDS / SEED_WRAPPER).text
    with pytest.raises(KeyError):
        result.text("nosuch.txt")
