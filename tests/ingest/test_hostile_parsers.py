"""Issue 27: every reader bounded in time and memory by its input's size, and one line per hostile input.

Each test here failed on the code before the fix (the finding it names) and proves the bound by comparing a
size with four times that size, or a hostile input with a plain one of the same size.
"""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from dedup.ingest.depth import LIMIT, cap_depth
from dedup.ingest.html import extract


def _seconds(fn, *args) -> float:  # noqa: ANN001
    best = float("inf")
    for _ in range(3):  # the fastest of three: a shared machine's load only ever adds
        t = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t)
    return best


def _depth(html: str) -> int:
    tree = LexborHTMLParser(html)
    best, stack = 0, [(tree.root, 0)]
    while stack:
        node, d = stack.pop()
        best = max(best, d)
        child = node.child
        while child is not None:
            stack.append((child, d + 1))
            child = child.next
    return best


# Finding 1: parse time grew as the square of the nesting (100k <div>: 22.6 s; 40k 3.3 s, 60k 8.4 s).
NESTING = ("<div>", "<ul><li>", "<i><b>x</i>", "<font><div></font>", "<table><tr><td><div>", "<dl><dd>")


def test_nested_html_is_read_in_time_linear_in_its_size():
    """Deep nesting of each shape costs about what the same number of flat tags costs, at 4x the size too."""
    n = 6_000
    for shape in NESTING:
        close = "</" + shape[1:].split(">")[0].split()[0] + ">"
        nested = shape * n + "some words here"
        flat = (shape + close) * n + "some words here"
        ratio = _seconds(extract, nested) / _seconds(extract, flat)
        assert ratio < 6, f"{shape} x {n}: {ratio:.1f} times the flat page's time"
    small, large = "<div>" * n + "words", "<div>" * (4 * n) + "words"
    growth = _seconds(extract, large) / _seconds(extract, small)
    assert growth < 8, f"4x the nesting took {growth:.1f}x the time (quadratic: 16x)"
    assert extract(large).text == "words"


def test_the_cap_keeps_ordinary_pages_as_they_are():
    page = "<html><body>" + "<div><p>a paragraph of words</p><ul><li>one<li>two</ul></div>" * 400 + "</body></html>"
    assert cap_depth(page) is page
    nested = "<div>" * 600 + "deep words" + "</div>" * 600
    capped = cap_depth(nested)
    assert _depth(capped) <= LIMIT + 2 and "deep words" in extract(capped).text


_SOUP = st.lists(
    st.sampled_from(
        str.split(
            "<div> </div> <b> </b> <i> </i> <p> </p> <table> </table> <td> </td> <tr> <li> </li> <ul> </ul> <a> </a> "
            "<span> </span> <font> </font> x <select> <option> <dd> <dt> <h1> </h1> <caption> <form> </form> <button> "
            "<template> </template> <svg> </svg> <math> <mi> <nobr> <object> <frameset> <marquee> <em> <tbody> "
            "</tbody> <col> <image> <title> <textarea> <desc> <foreignObject> <annotation-xml> <rb> <frame>"
        )
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None)
@given(unit=_SOUP)
def test_no_tag_soup_nests_deeper_than_the_cap(unit):
    """Whatever a page repeats, the parser's tree of the capped page is at most ~512 deep (browsers' limit)."""
    html = "".join(unit) * (1200 // len(unit) + 1) + "words"
    assert _depth(cap_depth(html)) <= LIMIT + 24


# Finding 6: a declared charset was looked up among Python's codecs: "undefined" and "punycode" raised (an HTTP
# 500), "unicode_escape" ran escape sequences and "cp037" read the page as EBCDIC.
def test_only_whatwg_charset_labels_are_honoured():
    from dedup.ingest.reader import read_upload

    body = "<p>Caf\u00e9 \\x41\\u0042 words of the article.</p>"
    for label in ("undefined", "punycode", "unicode_escape", "cp037", "utf-7", "rot13", "mbcs"):
        page = f'<html><head><meta charset="{label}"></head><body>{body}</body></html>'.encode()
        article = read_upload("page.html", page, "html")
        assert article.text == "Caf\u00e9 \\x41\\u0042 words of the article.", label
        assert f"declared charset '{label}' is not an encoding" in article.encoding
    page = b'<meta charset="KOI8-R"><p>\xf3\xcc\xcf\xd7\xcf words</p>'
    assert read_upload("p.html", page, "html").text == "\u0421\u043b\u043e\u0432\u043e words"


def _peak_mb(code: str) -> tuple[str, float]:
    """Run ``code`` in a fresh interpreter; its output and peak resident memory in MB."""
    import resource
    import subprocess
    import sys

    script = code + "\nimport resource\nprint('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    peak = int(out.stdout.rsplit("PEAK", 1)[1]) / 1024
    del resource
    return out.stdout, peak


# Finding 5: a 247 KB Parquet file of 64 rows x 40 MB took 2.57 GB and aborted the scan (no skip line).
def test_a_parquet_compression_bomb_is_skipped_and_the_next_row_group_read(tmp_path, monkeypatch):
    import polars as pl

    from dedup.ingest import IngestOptions, Skipped, read_file, records

    big = "word " * (4 << 18)  # 5 MB a row, one page a row group's column: decoded whole by any slice
    frame = pl.DataFrame(
        {
            "id": [f"b{i}" for i in range(8)] + [f"s{i}" for i in range(8)],
            "text": [f"{i} {big}" for i in range(8)] + [f"A small article number {i}." for i in range(8)],
        }
    )
    path = tmp_path / "bomb.parquet"
    frame.write_parquet(path, compression="zstd", row_group_size=8)
    assert path.stat().st_size < 100_000  # 40 MB of text in a small file
    # Scaled down: a row group is read whole up to 16 MB here (512 MB by default).
    monkeypatch.setattr(records, "ROW_GROUP_BYTES", 16 << 20)
    got = read_file(path, IngestOptions(max_file_size=8 << 20))
    skipped = [s for s in got if isinstance(s, Skipped)]
    assert len(skipped) == 1 and "rows 1-8" in skipped[0].path and "too large" in skipped[0].reason
    assert [a.id for a in got if not isinstance(a, Skipped)] == [f"bomb.parquet#s{i}" for i in range(8)]


# Finding 8: a 1 GB one-line CSV took 2.18 GB: the per-record limit was checked after the line was read.
def test_a_csv_line_past_the_limit_is_skipped_while_reading(tmp_path):
    def write(name: str, mb: int) -> str:
        path = tmp_path / name
        with open(path, "w") as f:
            f.write("id,text\n1,first article with words\n2,")
            for _ in range(mb):
                f.write("x" * (1 << 20))
            f.write("\n3,third article with words\n")
        return str(path)

    code = (
        "from dedup.ingest import read_file, IngestOptions\n"
        "for x in read_file({!r}, IngestOptions(max_file_size=4 << 20)): print(type(x).__name__, x.path)\n"
    )
    small_out, small = _peak_mb(code.format(write("small.csv", 40)))
    large_out, large = _peak_mb(code.format(write("large.csv", 160)))
    for out in (small_out, large_out):
        assert "Article" in out and "Skipped" in out and "#row 2" in out and out.count("Article") == 2
    assert large - small < 40, f"peak {small:.0f} MB for a 40 MB line, {large:.0f} MB for 160 MB"


# Finding 8: a gzip bomb inside a WARC record was cut at the limit, read as an article, and the next record lost.
def test_a_compressed_warc_record_past_the_limit_is_skipped_and_the_next_one_read(tmp_path):
    import gzip

    from dedup.ingest import IngestOptions, Skipped, read_file

    def record(uri: str, body: bytes, encoding: str | None = None) -> bytes:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        head += f"Content-Encoding: {encoding}\r\n".encode() if encoding else b""
        http = head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        warc = (
            f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {uri}\r\nWARC-Date: 2024-01-02T03:04:05Z\r\n"
            "WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
            f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http)}\r\n\r\n"
        ).encode()
        return warc + http + b"\r\n\r\n"

    page = b"<html><body><p>The next article has words in it.</p></body></html>"
    bomb = gzip.compress(b"<p>" + b"a " * (6 << 20) + b"</p>", 9)
    path = tmp_path / "crawl.warc"
    path.write_bytes(
        record("http://a.example/bomb", bomb, "gzip")
        + record("http://b.example/page", page)
        + record("http://c.example/zipped", gzip.compress(page), "gzip")
    )
    got = read_file(path, IngestOptions(max_file_size=4 << 20))
    assert isinstance(got[0], Skipped) and "#record 1" in got[0].path and "decompressed" in got[0].reason
    assert [a.id for a in got[1:]] == ["http://b.example/page", "http://c.example/zipped"]
    assert got[2].text == "The next article has words in it."
