"""Readers of every input kind on real files: text, offsets, metadata and encodings."""

from __future__ import annotations

import codecs
import csv
import gzip
import html
import json
import uuid
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from dedup.ingest import Article, Entry, IngestOptions, Skipped, kind_of, read_articles, read_entry, read_file, walk
from dedup.ingest.encoding import decode
from dedup.ingest.model import split_paragraphs


def lines(text: str) -> list[str]:
    """A text's paragraphs as the readers define them: non-blank lines, whitespace collapsed."""
    return [" ".join(ln.split()) for ln in text.splitlines() if ln.strip()]


def paragraphs(a: Article) -> list[str]:
    return [a.text[s:e] for s, e in a.paragraphs]


def check_offsets(a: Article) -> None:
    last = a.body_start
    for s, e in a.paragraphs:
        assert last <= s < e <= len(a.text)
        assert a.text[s:e] == a.text[s:e].strip()
        last = e


def page(title: str, paras: list[str], head: str = "", chrome: bool = True) -> str:
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paras)
    top = (
        '<header><div class="logo">BTCC Square</div><nav><ul><li><a href="/">Home</a></li>'
        '<li><a href="/news">News</a></li></ul></nav></header>'
        if chrome
        else ""
    )
    bottom = (
        '<div hidden>HIDDEN-ATTR</div><div style="color: red; DISPLAY : none">HIDDEN-STYLE</div>'
        '<span aria-hidden="true">HIDDEN-ARIA</span><script>document.write("SCRIPT-TEXT")</script>'
        "<template><p>TEMPLATE-TEXT</p></template><noscript>NOSCRIPT-TEXT</noscript>"
        "<footer><p>\u00a9 2026 BTCC Square. All rights reserved.</p></footer>"
        if chrome
        else ""
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>{head}'
        '<style>body { color: red } .x::after { content: "STYLE-TEXT" }</style>'
        '<script>var tracking = "SCRIPT-TEXT";</script></head>'
        f"<body>{top}<main><article>\n{body}\n</article></main>{bottom}</body></html>"
    )


def warc_record(rtype: str, uri: str | None, block: bytes, date: str = "2026-02-04T08:00:00Z") -> bytes:
    """One gzipped WARC/1.0 record, written by hand from the spec (a header block, the payload, CRLF CRLF)."""
    ctype = {"response": "application/http; msgtype=response", "request": "application/http; msgtype=request"}
    head = [
        "WARC/1.0",
        f"WARC-Type: {rtype}",
        f"WARC-Record-ID: <urn:uuid:{uuid.uuid4()}>",
        f"WARC-Date: {date}",
        *([f"WARC-Target-URI: {uri}"] if uri else []),
        f"Content-Type: {ctype.get(rtype, 'application/warc-fields')}",
        f"Content-Length: {len(block)}",
    ]
    return gzip.compress(("\r\n".join(head) + "\r\n\r\n").encode() + block + b"\r\n\r\n")


def http(body: bytes, status: str = "200 OK", ctype: str = "text/html; charset=utf-8") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


CT = "https://www.cointelegraph.example/"
WIRE_LEAD = "PARIS, Feb 4 (Wire) \u2014 \u201cCaf\u00e9 owners are worried,\u201d said the mayor\u2019s office."


@pytest.fixture(scope="module")
def every_kind(tmp_path_factory, seeds, aeb_articles):
    """A folder with every input kind, and what each article must be."""
    root = tmp_path_factory.mktemp("kinds")
    bodies = [a.take(120, 200) for a in aeb_articles[:8]]
    expect: dict[str, dict] = {}

    s000 = seeds.text(seeds.wrapper)
    head = (
        '<link rel="canonical" href="https://www.BTCC-Square.example/news/durov-raids">'
        '<meta property="og:title" content="ignored: the title tag wins">'
        '<meta property="article:published_time" content="2026-02-03T21:25:36Z">'
        '<script type="application/ld+json">{"datePublished": "1999-01-01"}</script>'
    )
    (root / "000_137fe5741023b456.html").write_text(page("Durov blasts raids | BTCC Square", lines(s000), head))
    expect["000_137fe5741023b456.html"] = dict(
        paras=lines(s000),  # the site's header, menu and footer are chrome: left out
        title="Durov blasts raids",  # the site's name dropped (issue 29)
        url="https://www.BTCC-Square.example/news/durov-raids",
        site="btcc-square.example",
        date="2026-02-03T21:25:36+00:00",
        encoding=None,
        kind="html",
    )

    s001 = seeds.text(seeds.original)
    rows = [
        {"id": "rt-1", "title": "Durov", "url": "https://www.rt.example/news/1", "published_at": "2026-02-03T18:00Z"}
        | {"text": s001},
        {"id": 7, "headline": "Other", "link": "https://news.example.org/b", "body": bodies[0]},
    ]
    (root / "feed.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    expect["feed.jsonl#rt-1"] = dict(
        paras=lines(s001), title="Durov", url="https://www.rt.example/news/1", site="rt.example", kind="jsonl"
    ) | dict(date="2026-02-03T18:00:00+00:00", encoding=None)
    expect["feed.jsonl#7"] = dict(paras=lines(bodies[0]), title="Other", site="news.example.org", kind="jsonl")

    s003 = seeds.text(seeds.others[1])
    (root / "003_b776af7c7e9b7e80.txt").write_text(s003, encoding="utf-8")
    (root / "003_utf16.txt").write_bytes(s003.encode("utf-16"))
    expect["003_b776af7c7e9b7e80.txt"] = dict(text=s003, encoding=None, kind="text")
    expect["003_utf16.txt"] = dict(text=s003, encoding="utf-16", kind="text")

    wire = WIRE_LEAD + "\n\n" + seeds.text(seeds.others[0])
    data = wire.encode("cp1252")
    assert b"\x93" in data and b"\x94" in data and b"\xe9" in data
    (root / "wire.txt").write_bytes(data)
    expect["wire.txt"] = dict(text=wire, encoding="cp1252", kind="text")

    s004 = seeds.text(seeds.others[2])
    latin = "Le caf\u00e9 \u201cparisien\u201d a ferm\u00e9.\n" + bodies[1]
    latin_page = page("Caf\u00e9", lines(latin), '<meta name="pubdate" content="2026-01-30">', chrome=False)
    latin_page = latin_page.replace(
        '<meta charset="utf-8">', '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
    )
    warc = b"".join(
        [
            warc_record("warcinfo", None, b"software: test\r\n"),
            warc_record("request", CT + "news/durov", b"GET /news/durov HTTP/1.1\r\n\r\n"),
            warc_record("response", CT + "news/durov", http(page("Durov", lines(s004)).encode())),
            warc_record("response", CT + "missing", http(b"<p>gone</p>", "404 Not Found")),
            warc_record("response", CT + "logo.png", http(b"\x89PNG....", ctype="image/png")),
            warc_record(
                "response", "http://LeMonde.example:8080/a", http(latin_page.encode("cp1252"), ctype="text/html")
            ),
        ]
    )
    (root / "crawl.warc.gz").write_bytes(warc)
    expect[CT + "news/durov"] = dict(
        paras=lines(s004),
        title="Durov",
        url=CT + "news/durov",
        site="cointelegraph.example",
        date=None,  # the page states none; the record's WARC-Date is the fetch time, not a publication date
        encoding=None,
        kind="warc",
    )
    expect["http://LeMonde.example:8080/a"] = dict(
        paras=lines(latin), title="Caf\u00e9", site="lemonde.example", date="2026-01-30T00:00:00", encoding="cp1252"
    )

    with open(root / "stories.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ID", "Headline", "Body", "Date"])
        w.writerow(["a", "First", bodies[2], "2025-12-01T10:00:00"])
        w.writerow(["a", "Second, same id", bodies[3], ""])
        w.writerow(["", "No id", bodies[4], "Mon, 01 Dec 2025 10:00:00 +0100"])
    expect["stories.csv#a"] = dict(paras=lines(bodies[2]), title="First", date="2025-12-01T10:00:00", kind="csv")
    expect["stories.csv#a#2"] = dict(paras=lines(bodies[3]), title="Second, same id", date=None)
    expect["stories.csv#3"] = dict(paras=lines(bodies[4]), date="2025-12-01T10:00:00+01:00")

    pl.DataFrame(
        {
            "article_id": [101, 102],
            "title": ["P1", None],
            "content": [bodies[5], bodies[6]],
            "published": [datetime(2026, 1, 2, 3, 4, 5), None],
        }
    ).write_parquet(root / "stories.parquet")
    expect["stories.parquet#101"] = dict(paras=lines(bodies[5]), title="P1", date="2026-01-02T03:04:05", kind="parquet")
    expect["stories.parquet#102"] = dict(paras=lines(bodies[6]), title=None, date=None)

    (root / "list.json").write_text(
        json.dumps([{"doc_id": "x", "headline": "J", "article_text": bodies[7], "pubdate": "2026-01-01"}]),
        encoding="utf-8",
    )
    expect["list.json#x"] = dict(paras=lines(bodies[7]), title="J", date="2026-01-01T00:00:00", kind="json")
    (root / "README").write_text("not an input: no suffix")
    return root, expect


def test_every_kind_reads_each_good_article_once(every_kind):
    root, expect = every_kind
    items = list(read_articles(root))
    # A file of no kind dedup reads is listed, never read (issue 28).
    assert [i for i in items if isinstance(i, Skipped)] == [Skipped(str(root / "README"), "unsupported (no extension)")]
    items = [i for i in items if not isinstance(i, Skipped)]
    ids = [a.id for a in items]
    assert sorted(ids) == sorted(expect) and len(ids) == len(set(ids))
    for a in items:
        check_offsets(a)
        want = expect[a.id]
        if "text" in want:
            assert a.text == want["text"]
            assert a.paragraphs == split_paragraphs(a.text)
        if "paras" in want:
            assert paragraphs(a) == want["paras"], a.id
            if a.kind in ("html", "warc"):
                assert a.text == "\n\n".join(want["paras"])
        for key in ("title", "url", "site", "date", "encoding", "kind"):
            if key in want:
                assert getattr(a, key) == want[key], (a.id, key)


def test_order_follows_relative_paths(every_kind):
    root, _ = every_kind
    entries = [e for e in walk(root) if not isinstance(e, Skipped)]
    assert [e.id for e in entries] == sorted(e.id for e in entries)
    assert {e.id: e.kind for e in entries}["crawl.warc.gz"] == "warc"


def test_html_drops_invisible_and_chrome(every_kind):
    root, _ = every_kind
    (a,) = read_file(root / "000_137fe5741023b456.html")
    for hidden in ("HIDDEN", "SCRIPT-TEXT", "STYLE-TEXT", "TEMPLATE-TEXT", "NOSCRIPT-TEXT", "tracking"):
        assert hidden not in a.text
    assert a.id == "000_137fe5741023b456.html"
    for chrome in ("Home", "News", "All rights reserved"):
        assert chrome not in paragraphs(a)[0] and chrome not in paragraphs(a)[-1]


def test_text_reader_keeps_the_original_rules(tmp_path, seeds):
    """Text, paragraphs, front matter and dates as the first reader gave them (values taken from it)."""
    files = {name: seeds.text(name) for name in seeds.ids}
    files["front.md"] = "---\ntitle: T\nDate: '2026-02-03T10:00:00Z'\n---\n\n  First line.  \r\n\x0bSecond\u2028third\n"
    files["crlf.txt"] = "A\r\n\r\n  B  \r\n\x85C\x1cD"
    files["dashes.txt"] = "---\nno: end\nstill text"
    for name, text in files.items():
        (tmp_path / name).write_bytes(text.encode("utf-8"))
    got = {a.id: a for a in read_articles(tmp_path)}
    assert sorted(got) == sorted(files)
    for name, text in files.items():
        assert got[name].text == text
    expected = {
        "crlf.txt": ([(0, 1), (7, 8), (13, 14), (15, 16)], None, 0),
        "dashes.txt": ([(0, 3), (4, 11), (12, 22)], None, 0),
        "front.md": ([(49, 60), (65, 71), (72, 77)], "2026-02-03T10:00:00+00:00", 46),
    }
    for name, (paras, date, body) in expected.items():
        assert (got[name].paragraphs, got[name].date, got[name].body_start) == (paras, date, body), name
    for name in seeds.ids:
        lines = [ln.strip() for ln in seeds.text(name).splitlines() if ln.strip()]
        assert [got[name].text[s:e] for s, e in got[name].paragraphs] == lines


def test_encodings(tmp_path):
    text = "Le caf\u00e9 \u201cparisien\u201d a ferm\u00e9 ses portes apr\u00e8s trente ans.\nLa suite demain."
    cases = {
        "bom8.txt": (codecs.BOM_UTF8 + text.encode("utf-8"), "utf-8-sig"),
        "u16be.txt": (codecs.BOM_UTF16_BE + text.encode("utf-16-be"), "utf-16"),
        "u32.txt": (text.encode("utf-32"), "utf-32"),
        "w1252.txt": (text.encode("cp1252"), "cp1252"),
        "plain.txt": (text.encode("utf-8"), None),
    }
    for name, (data, _) in cases.items():
        (tmp_path / name).write_bytes(data)
    got = {a.id: a for a in read_articles(tmp_path)}
    for name, (_, encoding) in cases.items():
        assert (got[name].text, got[name].encoding) == (text, encoding), name
    forced = {a.id: a for a in read_articles(tmp_path, IngestOptions(encoding="latin-1"))}
    assert forced["w1252.txt"].text == text.replace("\u201c", "\x93").replace("\u201d", "\x94")
    assert forced["w1252.txt"].encoding == "iso8859-1"
    assert decode(b"\xff\xfe\x00", forced=None) == ("\ufffd", "utf-16 (undecodable bytes replaced)")


def test_html_declared_charset_and_gzip(tmp_path):
    body = "<p>R\u00e9sum\u00e9 \u2014 \u201cok\u201d</p>"
    (tmp_path / "a.html").write_bytes(f'<meta charset="windows-1252">{body}'.encode("cp1252"))
    (tmp_path / "b.htm.gz").write_bytes(gzip.compress(f"<title>G</title>{body}".encode()))
    (tmp_path / "c.HTML").write_bytes(
        f'<meta http-equiv="content-type" content="text/html;charset=ISO-8859-1">{body}'.encode("cp1252")
    )
    got = {a.id: a for a in read_articles(tmp_path)}
    assert {k: (a.text, a.encoding) for k, a in got.items()} == {
        "a.html": ("R\u00e9sum\u00e9 \u2014 \u201cok\u201d", "cp1252"),
        "b.htm.gz": ("R\u00e9sum\u00e9 \u2014 \u201cok\u201d", None),
        "c.HTML": ("R\u00e9sum\u00e9 \u2014 \u201cok\u201d", "cp1252"),
    }
    assert got["b.htm.gz"].title == "G"


def test_html_dates_in_order_of_trust(tmp_path):
    cases = {
        "ld.html": '<script type="application/ld+json">[{"@graph": [{"@type": "WebPage"}, '
        '{"@type": "NewsArticle", "datePublished": "2026-03-01T09:00:00+01:00"}]}]</script>'
        '<time datetime="2020-01-01">old</time><p>Body text.</p>',
        "time.html": '<p>Body <time datetime="2026-04-01">April</time>.</p>',
        "itemprop.html": '<meta itemprop="datePublished" content="2026-05-01"><p>Body text.</p>',
        "og.html": '<meta property="og:url" content="https://www.ex.example/p"><meta name="date" content="2026-06-01">'
        "<p>Body text.</p>",
    }
    for name, doc in cases.items():
        (tmp_path / name).write_text(doc, encoding="utf-8")
    got = {a.id: a for a in read_articles(tmp_path)}
    assert {k: a.date for k, a in got.items()} == {
        "ld.html": "2026-03-01T09:00:00+01:00",
        "time.html": "2026-04-01T00:00:00",
        "itemprop.html": "2026-05-01T00:00:00",
        "og.html": "2026-06-01T00:00:00",
    }
    assert (got["og.html"].url, got["og.html"].site) == ("https://www.ex.example/p", "ex.example")


def test_jsonl_bad_lines_are_skipped_one_each(tmp_path):
    p = tmp_path / "f.ndjson"
    p.write_bytes(
        b'{"text": "First story here.", "id": "a"}\n'
        b"{not json\n"
        b"[1, 2]\n"
        b'{"text": "   ", "id": "blank"}\n'
        b'{"title": "no text field"}\n'
        b"\n"
        b'{"text": "Same id again.", "id": "a"}\n'
        b'{"text": "<div><p>An HTML <b>record</b></p><p>Two</p></div>"}\n'
        b'{"text": "Caf\xe9 legacy bytes."}\n'
    )
    out = list(read_articles(tmp_path))
    assert [
        (type(o).__name__, o.id if isinstance(o, Article) else (o.path[len(str(tmp_path)) :], o.reason[:20]))
        for o in out
    ] == [
        ("Article", "f.ndjson#a"),
        ("Skipped", ("/f.ndjson#line 2", "not valid JSON: Expe")),
        ("Skipped", ("/f.ndjson#line 3", "not a JSON object")),
        ("Skipped", ("/f.ndjson#line 4", "no text")),
        ("Skipped", ("/f.ndjson#line 5", "no text field")),
        ("Article", "f.ndjson#a#2"),
        ("Article", "f.ndjson#8"),
        ("Article", "f.ndjson#9"),
    ]
    assert paragraphs(out[6]) == ["An HTML record", "Two"]
    assert out[7].text == "Caf\u00e9 legacy bytes."


def test_records_without_a_text_field_give_one_skipped_naming_the_fields(tmp_path):
    (tmp_path / "a.csv").write_text("id,headline\n1,x\n2,y\n", encoding="utf-8")
    pl.DataFrame({"id": [1, 2], "words": ["a b", "c d"]}).write_parquet(tmp_path / "b.parquet")
    (tmp_path / "c.jsonl").write_text('{"id": 1, "words": "a"}\n{"id": 2, "words": "b"}\n', encoding="utf-8")
    (tmp_path / "d.json").write_text('{"id": 1, "words": "a"}', encoding="utf-8")
    out = list(read_articles(tmp_path))
    assert all(isinstance(o, Skipped) for o in out) and len(out) == 4
    assert out[0].reason == "no text field (fields: id, headline); name it with --text-field"
    assert "fields: id, words" in out[1].reason and "fields: id, words" in out[2].reason
    named = list(read_articles(tmp_path, IngestOptions(text_field="WORDS", id_field="id")))
    assert [a.id for a in named if isinstance(a, Article)] == [
        "b.parquet#1",
        "b.parquet#2",
        "c.jsonl#1",
        "c.jsonl#2",
        "d.json",
    ]


def test_csv_in_a_legacy_encoding(tmp_path):
    text = "\u201cCaf\u00e9\u201d, said the mayor. " * 3
    (tmp_path / "w.csv").write_bytes(f'title,text\nT,"{text}"\n'.encode("cp1252"))
    (a,) = read_articles(tmp_path)
    assert (a.id, a.text, a.encoding, a.title) == ("w.csv#1", text, "cp1252", "T")


def test_a_record_over_the_cap_is_skipped_and_the_rest_read(tmp_path):
    big = "word " * 400
    (tmp_path / "f.jsonl").write_text(json.dumps({"text": big}) + "\n" + json.dumps({"text": "small one"}) + "\n")
    (tmp_path / "g.csv").write_text(f"text\n{big}\nsmall one\n")
    out = list(read_articles(tmp_path, IngestOptions(max_file_size=1024)))
    assert [(type(o).__name__, getattr(o, "id", None) or o.path.rsplit("/", 1)[1]) for o in out] == [
        ("Skipped", "f.jsonl#line 1"),
        ("Article", "f.jsonl#2"),
        ("Skipped", "g.csv#row 1"),
        ("Article", "g.csv#2"),
    ]


def test_broken_inputs_give_one_skipped(tmp_path):
    (tmp_path / "a.json").write_text("{broken", encoding="utf-8")
    (tmp_path / "b.parquet").write_bytes(b"PAR1 not really")
    (tmp_path / "c.warc.gz").write_bytes(b"\x1f\x8b garbage" * 10)
    (tmp_path / "d.html.gz").write_bytes(b"not gzip at all")
    (tmp_path / "e.warc").write_bytes(b"WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 99999\r\n\r\nshort")
    out = list(read_articles(tmp_path))
    assert all(isinstance(o, Skipped) for o in out), out
    by = {Path(o.path.split("#")[0]).name: o.reason for o in out}
    assert by["a.json"].startswith("not valid JSON")
    assert by["b.parquet"].startswith("not valid Parquet")
    assert by["d.html.gz"].startswith("not valid gzip")
    assert len([o for o in out if o.path.startswith(str(tmp_path / "a.json"))]) == 1


def test_kind_of_suffixes():
    assert [kind_of(n) for n in ("a.TXT", "b.md", "c.Html.gz", "d.warc.gz", "e.ndjson", "f.csv", "g.gz", "h.pdf")] == [
        "text",
        "text",
        "html",
        "warc",
        "jsonl",
        "csv",
        None,
        None,
    ]


def test_read_entry_on_an_entry_made_by_hand(tmp_path):
    p = tmp_path / "x.txt"
    p.write_text("Hello there, world.", encoding="utf-8")
    (a,) = read_entry(Entry(id="x.txt", path=str(p), size=19, kind="text"))
    assert (a.id, a.paragraphs, a.kind) == ("x.txt", [(0, 19)], "text")


def test_containers_read_every_row_in_order_across_slices(tmp_path):
    texts = [f"Row {i} has a few words." for i in range(1, 1201)]
    pl.DataFrame({"text": texts}).write_parquet(tmp_path / "p.parquet", row_group_size=100)
    pl.DataFrame({"text": texts}).write_csv(tmp_path / "c.csv")
    got = [a for a in read_articles(tmp_path)]
    assert [a.id for a in got] == [f"c.csv#{i}" for i in range(1, 1201)] + [f"p.parquet#{i}" for i in range(1, 1201)]
    assert [a.text for a in got] == texts + texts
