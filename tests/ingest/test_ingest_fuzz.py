"""Invariants under arbitrary input: names escape injectively, readers never raise, offsets always hold;
and containers stream (a record appended after reading began is still read)."""

from __future__ import annotations

import gzip
import json
import os
import re
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.escape import csv_cell as csv_safe
from dedup.escape import name as escape_name
from dedup.escape import raw, stored, stored_name
from dedup.ingest import Article, Entry, IngestOptions, Skipped, read_entry
from dedup.ingest.wrap import text_paragraphs

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))  # raise it for a longer run
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_TMP = tempfile.TemporaryDirectory(prefix="dedup-fuzz-")  # removed when the test process ends
_DIR = _TMP.name

# Raw file-name bytes decode (surrogateescape) to every kind of hostile str a file system can hold.
names = st.one_of(
    st.text(),
    st.binary(max_size=40).map(os.fsdecode),
    st.text(alphabet=st.sampled_from("\x1b\x07\n\t\\\x9b\x85\u202e\u2066\u2028 ax\udcff\udc80\ud800é中")),
)


def unescape(s: str) -> str:
    r"""Inverse of escape_name: \xNN below 0x80 is that character, above it a raw byte; \uNNNN a code point."""

    def one(m: re.Match[str]) -> str:
        if m.group(1):
            n = int(m.group(1), 16)
            return chr(n) if n < 0x80 else chr(0xDC00 + n)
        return chr(int(m.group(2), 16))

    return re.sub(r"\\x([0-9a-f]{2})|\\u([0-9a-f]{4})", one, s)


@FUZZ
@given(names)
def test_escape_name_is_inert_and_injective(name):
    shown = escape_name(name)
    shown.encode("utf-8")
    assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]", shown)
    assert unescape(shown) == name
    # The stored form (what the feature store holds) is valid UTF-8, round-trips, and shows the same.
    kept = stored(name)
    kept.encode("utf-8")
    assert raw(kept) == name and stored_name(kept) == shown
    if not re.search("[\x00-\x1f\\\\\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]", name):
        assert shown == name


def test_escape_name_examples():
    assert escape_name("bad\udcffname.txt") == "bad\\xffname.txt"
    assert escape_name("\x1b]0;t\x07") == "\\x1b]0;t\\x07"
    assert escape_name("a\\xff") == "a\\x5cxff"
    assert escape_name("\x9b\u202e") == "\\u009b\\u202e"
    assert escape_name("Café 中文 🙂") == "Café 中文 🙂"


@FUZZ
@given(st.text())
def test_csv_safe(cell):
    out = csv_safe(cell)
    assert not out.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert out in (cell, "'" + cell)


def check(items: list) -> None:
    for a in items:
        assert isinstance(a, Article | Skipped)
        if isinstance(a, Skipped):
            assert isinstance(a.reason, str) and a.reason
            assert not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", a.reason), a.reason
            continue
        a.text.encode("utf-8")
        last = a.body_start
        for s, e in a.paragraphs:
            assert last <= s < e <= len(a.text)
            assert a.text[s:e] == a.text[s:e].strip()
            last = e


def read_bytes_as(data: bytes, name: str, kind: str) -> list:
    path = os.path.join(_DIR, name)
    with open(path, "wb") as f:
        f.write(data)
    items = list(read_entry(Entry(id=name, path=path, size=len(data), kind=kind), IngestOptions()))
    check(items)
    return items


@FUZZ
@given(st.binary(max_size=3000), st.sampled_from(["text", "html", "jsonl", "csv", "json", "warc"]))
def test_readers_never_raise_on_arbitrary_bytes(data, kind):
    suffix = {"text": ".txt", "html": ".html", "jsonl": ".jsonl", "csv": ".csv", "json": ".json", "warc": ".warc"}
    read_bytes_as(data, "fuzz" + suffix[kind], kind)


@FUZZ
@given(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=2000))
def test_text_files_keep_arbitrary_unicode(text):
    """Read back as written (NULs left out: a text with many of them is UTF-16, or binary: test_ingest_binary)."""
    items = read_bytes_as(text.encode("utf-8"), "u.txt", "text")
    (a,) = items
    if isinstance(a, Article):
        assert a.text == text
        assert a.paragraphs == text_paragraphs(text, a.body_start)


tags = st.sampled_from(["<p>", "</p>", "<div>", "</div>", "<br>", "<li>", "<script>", "</script>", "<b>", "<td>"])


@FUZZ
@given(st.lists(st.one_of(st.text(max_size=30), tags), max_size=40))
def test_html_of_arbitrary_text_and_tags(parts):
    items = read_bytes_as("".join(parts).encode("utf-8", "surrogatepass"), "h.html", "html")
    for a in items:
        if isinstance(a, Article):
            assert a.text == "\n\n".join(a.text[s:e] for s, e in a.paragraphs)
            assert all(" ".join(a.text[s:e].split()) == a.text[s:e] for s, e in a.paragraphs)


@FUZZ
@given(st.lists(st.dictionaries(st.sampled_from(["text", "id", "title", "date", "url"]), st.text() | st.integers())))
def test_jsonl_of_arbitrary_records(records):
    data = "\n".join(json.dumps(r) for r in records).encode()
    items = read_bytes_as(data, "r.jsonl", "jsonl")
    ids = [a.id for a in items if isinstance(a, Article)]
    assert len(ids) == len(set(ids))


def _jsonl_line(i: int) -> bytes:
    return json.dumps({"id": f"r{i}", "text": f"Record {i} says something. " * 40}).encode() + b"\n"


def test_jsonl_streams(tmp_path):
    """The first article comes before the file is read: a line appended after it is still read."""
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"".join(_jsonl_line(i) for i in range(3000)))  # ~3.5 MB, more than any read buffer
    it = read_entry(Entry("big.jsonl", str(path), path.stat().st_size, "jsonl"))
    assert next(it).id == "big.jsonl#r0"
    with open(path, "ab") as f:
        f.write(_jsonl_line(3000))
    ids = [a.id for a in it]
    assert len(ids) == 3000 and ids[-1] == "big.jsonl#r3000"


def _warc_page(i: int) -> bytes:
    body = f"<html><body><p>Page {i} tells a story. ".encode() + b"Words follow words. " * 60 + b"</p></body></html>"
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + body
    head = (
        f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{i:08d}-0000-0000-0000-000000000000>\r\n"
        f"WARC-Date: 2026-02-04T08:00:00Z\r\nWARC-Target-URI: https://site.example/{i}\r\n"
        f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http)}\r\n\r\n"
    ).encode()
    return head + http + b"\r\n\r\n"


def test_warc_streams(tmp_path):
    """Record by record: a gzip member appended after the first article is read too."""
    path = tmp_path / "crawl.warc.gz"
    with open(path, "wb") as f:
        for i in range(3000):
            f.write(gzip.compress(_warc_page(i), compresslevel=1))
    it = read_entry(Entry("crawl.warc.gz", str(path), path.stat().st_size, "warc"))
    first = next(it)
    assert (first.id, first.site) == ("https://site.example/0", "site.example")
    with open(path, "ab") as f:
        f.write(gzip.compress(_warc_page(3000)))
    ids = [a.id for a in it]
    assert len(ids) == 3000 and ids[-1] == "https://site.example/3000"
