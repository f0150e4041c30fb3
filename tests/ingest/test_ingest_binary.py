"""Binary files under a text name (issue 18): skipped with one warning naming what they look like,
while text in every encoding, stray control characters included, is still read."""

from __future__ import annotations

import codecs
import gzip
import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.ingest import Entry, IngestOptions, Skipped, read_entry
from dedup.ingest.encoding import decode, wide_encoding
from dedup.ingest.sniff import binary_kind
from tests.ingest.test_ingest import http, page, warc_record


def png(width: int = 4, height: int = 3) -> bytes:
    """A real PNG (8-bit greyscale), chunk by chunk as the spec lays it out."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(range(x * 40, x * 40 + width)) for x in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def pdf(text: str = "Hello from a PDF") -> bytes:
    """A real one-page PDF 1.4 with a text stream, a cross-reference table and a trailer."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def executable() -> bytes:
    """A real ELF executable: /bin/true (or whatever ``true`` is on this machine)."""
    path = shutil.which("true") or "/bin/true"
    data = Path(path).read_bytes()
    assert data.startswith(b"\x7fELF"), path
    return data


# Real text in legacy encodings: each must be read, never called binary.
LEGACY = {
    "cp1252.txt": ("Le café « parisien » a fermé ses portes hier soir, a annoncé la mairie. " * 6, "cp1252"),
    "latin1.txt": ("Köln stimmte über den Haushalt ab. Größere Änderungen gab es keine. " * 6, "latin-1"),
    "koi8r.txt": ("Правительство объявило о новых мерах поддержки. Рынки отреагировали ростом. " * 6, "koi8-r"),
    "sjis.txt": ("東京証券取引所で株価が上昇しました。政府は新しい経済対策を発表しました。\n" * 6, "shift_jis"),
    "gb18030.txt": ("北京时间今天上午，国家统计局发布了最新的经济数据。市场反应积极。\n" * 6, "gb18030"),
}
WIDE_TEXT = "Markets rallied on Tuesday after the bank held rates.\nAnalysts had expected a cut. 中文 Ünïcode.\n"


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory, aeb_articles):
    """Good articles in many encodings beside binary files named .txt/.md/.html/.html.gz/.json/.csv."""
    root = tmp_path_factory.mktemp("binary")
    body = aeb_articles[0].take(150, 250)
    files: dict[str, bytes] = {
        "story.txt": body.encode(),
        "page.html": page("A page", aeb_articles[1].take(150, 250).split("\n\n")).encode(),
        "good.html.gz": gzip.compress(page("Zipped page", aeb_articles[2].take(150, 250).split("\n\n")).encode()),
        "prog.txt": executable(),
        "image.html": png(),
        "report.txt": pdf(),
        "photo.html.gz": gzip.compress(png()),
        "archive.txt": gzip.compress(body.encode()),
        "records.md": struct.pack("<64I", *range(64)),
        "noise.txt": bytes(range(1, 32)) * 20 + b"words here",
        "data.json": pdf(),
        "table.csv": executable(),
        "utf16.txt": WIDE_TEXT.encode("utf-16"),
        "utf16le.txt": WIDE_TEXT.encode("utf-16-le"),
        "utf16be.txt": WIDE_TEXT.encode("utf-16-be"),
        "utf32.txt": WIDE_TEXT.encode("utf-32"),
        "stray.txt": b"A stray control character\x01 in a real story, and a DOS end mark.\n" + body.encode() + b"\x1a",
        "nul.txt": body.encode()[:400] + b"\x00" + body.encode()[400:],
    }
    for name, (text, enc) in LEGACY.items():
        files[name] = text.encode(enc)
    for name, data in files.items():
        (root / name).write_bytes(data)
    return root


SKIPPED = {
    "prog.txt": "binary (ELF)",
    "image.html": "binary (PNG)",
    "report.txt": "binary (PDF)",
    "photo.html.gz": "binary (PNG)",
    "archive.txt": "binary (gzip)",
    "records.md": "binary (NUL bytes)",
    "noise.txt": "binary (control characters)",
    "data.json": "binary (PDF)",
    "table.csv": "binary (ELF)",
}


def test_scan_skips_binary_files_with_what_they_look_like(mixed_folder, cli):
    run = cli("scan", mixed_folder, "--format", "json")
    assert run.returncode == 0, run.stderr
    result = run.json()
    skipped = {Path(s["path"]).name: s["reason"] for s in result["meta"]["inputs"]["skipped"]}
    assert skipped == SKIPPED
    for name, reason in SKIPPED.items():  # one warning line each
        assert sum(name in line and reason in line for line in run.stderr.splitlines()) == 1, run.stderr
    docs = {d["id"]: d for d in result["documents"]}
    assert set(docs) == {n for n in os.listdir(mixed_folder) if n not in SKIPPED}
    for name, encoding in (("utf16le.txt", "utf-16-le"), ("utf16be.txt", "utf-16-be")):  # not UTF-8 with NULs
        assert docs[name]["encoding"] == encoding, docs[name]
        assert docs[name]["chars"] == len(WIDE_TEXT)
    assert docs["utf16.txt"]["encoding"] == "utf-16" and docs["utf32.txt"]["encoding"] == "utf-32"


def test_legacy_text_decodes_to_its_text(mixed_folder):
    for name, (text, _enc) in LEGACY.items():
        data = (mixed_folder / name).read_bytes()
        assert binary_kind(data) is None, name
        assert decode(data)[0] == text, name


def test_a_warc_html_record_holding_an_image_is_skipped_and_the_rest_read(tmp_path, aeb_articles):
    good = page("Story", aeb_articles[3].take(150, 250).split("\n\n")).encode()
    (tmp_path / "crawl.warc.gz").write_bytes(
        warc_record("response", "https://site.example/logo", http(png()))
        + warc_record("response", "https://site.example/story", http(good))
    )
    path = str(tmp_path / "crawl.warc.gz")
    items = list(read_entry(Entry("crawl.warc.gz", path, os.path.getsize(path), "warc"), IngestOptions()))
    assert items[0] == Skipped(f"{path}#record 1", "binary (PNG)")
    assert [a.id for a in items[1:]] == ["https://site.example/story"]


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.7\n", "PDF"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG"),
        (b"GIF89a\x01\x00", "GIF"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "WebP"),
        (b"PK\x03\x04\x14\x00\x06\x00", "ZIP"),
        (b"SQLite format 3\x00\x10\x00", "SQLite"),
        (b"\xcf\xfa\xed\xfe\x07\x00\x00\x01", "Mach-O"),
        (b"\xca\xfe\xba\xbe\x00\x00\x00\x34", "Java class"),
        (b"MZ\x90\x00" + b"\x00" * 56 + struct.pack("<I", 64) + b"PE\x00\x00", "PE/MZ executable"),
        (b"\x1f\x8b\x08\x00", "gzip"),
    ],
)
def test_signatures(data, kind):
    assert binary_kind(data + b"padding " * 10) == kind


def test_text_with_a_few_controls_or_nuls_is_text():
    story = "A plain story that runs on for a while, as stories do. " * 40
    assert binary_kind(story.encode()) is None
    assert binary_kind(b"Bell\x07 and a NUL\x00 in " + story.encode()) is None
    assert binary_kind(b"\x1b$B;d\x1b(B ISO-2022-JP escapes " + story.encode()) is None
    assert binary_kind(b"") is None
    assert binary_kind(b"\x00\x01 ... \x02") is None  # too little to tell: read (and then it has no words)


VOCABULARY = (
    "the market rallied café naïve Straße Москва рынок Αθήνα 市场 東京 株価 서울 시장 القاهرة ירושלים "
    "मुंबई ประเทศ 2026 $4.5bn 12% «quoted» “curly” — – … , . ; : ! ?"
)
WORDS = st.sampled_from(VOCABULARY.split())
natural = st.lists(
    st.tuples(WORDS, st.sampled_from([" ", " ", " ", "\n", "\n\n", "\t", "\r\n"])), min_size=1, max_size=400
).map(lambda parts: "".join(w + sep for w, sep in parts))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(natural)
def test_natural_language_text_is_never_called_binary(text):
    for data in (
        text.encode("utf-8"),
        codecs.BOM_UTF8 + text.encode("utf-8"),
        text.encode("utf-16"),
        codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
        text.encode("utf-32"),
    ):
        assert binary_kind(data) is None, data[:80]
        assert decode(data)[0] == text
    assert wide_encoding(text.encode("utf-8")) is None
