"""The whole scan over every input kind (issue 10, first "Done when"): the seeds' cluster and labels, each file once.

One folder holds the seeds in the forms users have them: 000 as a saved web page with site chrome, 001 as a
row of a news-API JSON Lines export, 002 as a Windows-1252 wire story, 003 as UTF-8 and again as UTF-16 (with
BOM), 004 inside a gzipped WARC crawl; plus a CSV, a Parquet and a ``.json`` list of unrelated real articles.
The library (``dedup.scan``) and the real CLI (``dedup scan DIR --format json``) must both find the seeds'
cluster (001 the source, 000 containing it), label 000's paragraphs, pair 003 with its UTF-16 twin as exact
copies, list every good article exactly once and record the legacy encodings.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

import dedup
from dedup.ingest import read_file
from dedup.options import ScanOptions
from tests.ingest.test_ingest import http, lines, page, warc_record

CT = "https://www.cointelegraph.example/"
WIRE_LEAD = "PARIS, Feb 4 (Wire) \u2014 \u201cCaf\u00e9 owners are worried,\u201d said the mayor\u2019s office."
HTML_ID = "000_137fe5741023b456.html"
ROW_ID = "feed.jsonl#rt-1"
T003, T003_16 = "003_b776af7c7e9b7e80.txt", "003_utf16.txt"
WARC_ID = CT + "news/durov"


def _norm(text: str) -> str:
    return " ".join(text.split())


def _grams(text: str, k: int = 5) -> set[tuple[str, ...]]:
    toks = re.findall(r"\w+", text.lower())
    return {tuple(toks[i : i + k]) for i in range(len(toks) - k + 1)}


@pytest.fixture(scope="module")
def folder(tmp_path_factory, seeds, aeb_articles) -> tuple[Path, dict]:
    """The folder, and the expected document ids with their (non-UTF-8) encodings."""
    root = tmp_path_factory.mktemp("inputs")
    bodies = [a.take(150, 250) for a in aeb_articles[:6]]
    enc: dict[str, str | None] = {}

    head = (
        '<link rel="canonical" href="https://www.btcc-square.example/news/durov-raids">'
        '<meta property="article:published_time" content="2026-02-03T21:25:36Z">'
    )
    s000 = seeds.text(seeds.wrapper)
    (root / HTML_ID).write_text(page("Durov blasts raids | BTCC Square", lines(s000), head), encoding="utf-8")
    enc[HTML_ID] = None

    rows = [
        {"id": "rt-1", "title": "Durov", "url": "https://www.rt.example/news/1", "published_at": "2026-02-03T18:00Z"}
        | {"text": seeds.text(seeds.original)},
        {"id": 7, "headline": "Other", "link": "https://news.example.org/b", "body": bodies[0]},
    ]
    (root / "feed.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    enc[ROW_ID] = enc["feed.jsonl#7"] = None

    s003 = seeds.text(seeds.others[1])
    (root / T003).write_bytes(s003.encode("utf-8"))
    (root / T003_16).write_bytes(s003.encode("utf-16"))  # with its BOM
    assert (root / T003_16).read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    enc[T003], enc[T003_16] = None, "utf-16"

    wire = (WIRE_LEAD + "\n\n" + seeds.text(seeds.others[0])).encode("cp1252")
    assert b"\x93" in wire and b"\xe9" in wire  # bytes that are not valid UTF-8
    (root / "wire.txt").write_bytes(wire)
    enc["wire.txt"] = "cp1252"

    s004 = seeds.text(seeds.others[2])
    (root / "crawl.warc.gz").write_bytes(
        b"".join(
            [
                warc_record("warcinfo", None, b"software: test\r\n"),
                warc_record("request", WARC_ID, b"GET /news/durov HTTP/1.1\r\n\r\n"),
                warc_record("response", WARC_ID, http(page("Durov", lines(s004), chrome=False).encode())),
                warc_record("response", CT + "missing", http(b"<p>gone for good</p>", "404 Not Found")),
                warc_record("response", CT + "logo.png", http(b"\x89PNG....", ctype="image/png")),
            ]
        )
    )
    enc[WARC_ID] = None

    with open(root / "stories.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ID", "Headline", "Body", "Date"])
        w.writerow(["a", "First", bodies[1], "2025-12-01T10:00:00"])
        w.writerow(["b", "Second", bodies[2], ""])
    enc["stories.csv#a"] = enc["stories.csv#b"] = None

    pl.DataFrame(
        {"article_id": [101], "title": ["P1"], "content": [bodies[3]], "published": [datetime(2026, 1, 2, 3, 4, 5)]}
    ).write_parquet(root / "stories.parquet")
    enc["stories.parquet#101"] = None

    items = [{"doc_id": "x", "headline": "J", "article_text": bodies[4]}, {"doc_id": "y", "article_text": bodies[5]}]
    (root / "list.json").write_text(json.dumps(items), encoding="utf-8")
    enc["list.json#x"] = enc["list.json#y"] = None
    (root / "README").write_text("not an input: no suffix", encoding="utf-8")
    return root, enc


@pytest.fixture(scope="module")
def seed_labels(seeds) -> dict[str, list[str]]:
    """Paragraph labels of 000 and 001 in a scan of the seeds folder itself (text files)."""
    data = dedup.scan(seeds.dir, ScanOptions(workers=1)).to_dict()
    return {d["id"]: [q["label"] for q in d["paragraphs"]] for d in data["documents"]}


def _check(result: dict, root: Path, enc: dict, seeds, seed_labels: dict) -> None:
    """Everything issue 10 asks of a scan of the folder, on the JSON contract (library and CLI alike)."""
    docs = {d["id"]: d for d in result["documents"]}
    ids = [d["id"] for d in result["documents"]]
    assert len(ids) == len(set(ids)), "an article listed twice"
    assert sorted(ids) == sorted(enc), "every good article once, nothing else"
    assert {i: docs[i]["encoding"] for i in ids} == enc
    assert result["meta"]["inputs"]["encodings"] == {"utf-16": 1, "cp1252": 1}
    # The file of no kind dedup reads is listed (issue 28), never read.
    assert [(Path(s["path"]).name, s["reason"]) for s in result["meta"]["inputs"]["skipped"]] == [
        ("README", "unsupported (no extension)")
    ]

    # The seeds' cluster: 001's row is the source, the 000 page contains it.
    assert len(result["clusters"]) == 2
    (seed_cluster,) = [c for c in result["clusters"] if HTML_ID in c["members"]]
    assert sorted(seed_cluster["members"]) == [HTML_ID, ROW_ID]
    assert seed_cluster["source"] == ROW_ID
    assert docs[ROW_ID]["role"] == "source" and docs[HTML_ID]["role"] == "copy"
    pairs = {(p["a"], p["b"]): p for p in result["pairs"]}
    assert set(pairs) == {(HTML_ID, ROW_ID), (T003, T003_16)}
    p = pairs[HTML_ID, ROW_ID]
    assert p["relation"] == "contains"
    assert p["b_in_a"] >= 0.8 and 0 < p["a_in_b"] < p["b_in_a"]

    # 003 and its UTF-16 twin decode to the same text: exact copies, a cluster of two.
    p = pairs[T003, T003_16]
    assert (p["relation"], p["jaccard"], p["a_in_b"], p["b_in_a"]) == ("exact", 1.0, 1.0, 1.0)
    (twins,) = [c for c in result["clusters"] if T003 in c["members"]]
    assert sorted(twins["members"]) == [T003, T003_16] and twins["source"] in twins["members"]
    assert sorted([docs[T003]["role"], docs[T003_16]["role"]]) == ["copy", "source"]
    assert docs[T003]["chars"] == docs[T003_16]["chars"] == len(seeds.text(seeds.others[1]))

    # Nothing else is related: 002 (wire), 004 (WARC) and the other articles stand alone.
    for doc_id, d in docs.items():
        if doc_id not in (HTML_ID, ROW_ID, T003, T003_16):
            assert d["cluster"] is None and d["role"] is None, doc_id
            assert all(d["label"] == "original" for d in d["paragraphs"]), doc_id

    # 000's labels: the paragraphs carrying 001's text are syndicated; the intro and promo are
    # the wrapper (none of it recurs on another site here, so none of it is boilerplate).
    (page_article,) = read_file(root / HTML_ID)
    text = page_article.text
    s000 = seeds.text(seeds.wrapper)
    # The page's header, menu and footer are site chrome: the reader leaves them out.
    assert text == "\n\n".join(lines(s000))
    assert docs[HTML_ID]["chars"] == len(text)
    s001 = seeds.text(seeds.original)
    in_001, grams_001 = _norm(s001), _grams(s001)
    labelled = [(text[q["start"] : q["end"]], q["label"]) for q in docs[HTML_ID]["paragraphs"]]
    assert [t for t, _ in labelled] == lines(s000)
    assert seed_labels[seeds.original].count("syndicated") >= 15  # the source's shared paragraphs too
    syndicated = wrapper = 0
    for para, label in labelled:
        if len(para.split()) >= 6 and _norm(para) in in_001:
            assert label == "syndicated", (para, label)
            syndicated += 1
        elif not _grams(para) & grams_001:
            assert label == "wrapper", (para, label)
            wrapper += 1
    assert syndicated >= 15 and wrapper >= 20
    assert "boilerplate" not in {label for _, label in labelled}
    # The seeds' labels, as a scan of seeds/ gives them: the same for the page's article paragraphs and the row.
    assert [label for _, label in labelled] == seed_labels[seeds.wrapper]
    assert [q["label"] for q in docs[ROW_ID]["paragraphs"]] == seed_labels[seeds.original]
    assert docs[ROW_ID]["chars"] == len(s001)


def test_library_scan_finds_the_seeds_cluster_in_every_input_kind(folder, seeds, seed_labels):
    root, enc = folder
    # Default workers, in a process that has used polars (the fixture wrote a Parquet file): see
    # test_library_scan_after_polars_does_not_hang for the hang this once was.
    result = dedup.scan(root)
    _check(result.to_dict(), root, enc, seeds, seed_labels)
    frame = result.documents_frame
    assert frame.filter(pl.col("id") == ROW_ID)["date"].to_list() == ["2026-02-03T18:00:00+00:00"]
    assert frame.filter(pl.col("id") == HTML_ID)["site"].to_list() == ["btcc-square.example"]
    assert frame.filter(pl.col("id") == WARC_ID)["url"].to_list() == [WARC_ID]


@pytest.mark.slow
def test_cli_scan_json_finds_the_same(folder, seeds, seed_labels, cli):
    root, enc = folder
    run = cli("scan", root, "--format", "json")
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("warning") == 1 and "Traceback" not in run.stderr
    assert "1 file of kinds dedup does not read skipped (no extension 1)" in run.stderr
    data = run.json()
    assert next(iter(data)) == "meta"
    _check(data, root, enc, seeds, seed_labels)


HANG_SCRIPT = textwrap.dedent(
    """
    import sys, pathlib
    import polars as pl
    import dedup
    root = pathlib.Path(sys.argv[1])
    pl.DataFrame({"text": ["One two three four five six seven.", "Eight nine ten eleven twelve."]}).write_parquet(
        root / "a.parquet"
    )
    (root / "b.txt").write_text("Alpha beta gamma delta epsilon zeta eta theta.", encoding="utf-8")
    print(len(dedup.scan(root, dedup.ScanOptions(workers=2)).documents_frame))
    """
)


def test_library_scan_after_polars_does_not_hang(tmp_path):
    """A library user who touched polars before ``dedup.scan`` on a folder holding a Parquet file gets a result."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HANG_SCRIPT, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # the forked workers outlive a killed parent: kill the whole group
    )
    try:
        out, err = proc.communicate(timeout=8)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("dedup.scan still running after 8 s (a tiny folder takes about one)")
    assert proc.returncode == 0, err
    assert out.strip() == b"3"
