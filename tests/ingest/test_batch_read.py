"""Phase 1's batch read (``ingest.batch.read_entries``, the compiled ``read_plain`` and ``paragraph_spans``) gives
what ``read_entry(entry, segmented=True)`` gives, file by file: the same articles, the same Skipped, in order,
on hostile files and on any text."""

from __future__ import annotations

import codecs
import dataclasses
import gzip
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import kernels
from dedup.ingest import Article, IngestOptions, Skipped, read_entry, walk
from dedup.ingest.batch import read_entries
from tests.support.hostile import make_hostile_folder, remove_hostile_folder

pytestmark = pytest.mark.skipif(kernels.native("read") is None, reason="the compiled kernels are not built here")

WRAPPED = " ".join(["word"] * 400)
# Files the kernel must read itself, and files it must leave to the Python readers (which then decide).
FILES: dict[str, bytes] = {
    "plain.txt": b"First paragraph.\n\n  Second one, indented.  \nthird\n",
    "front.md": b"---\ntitle: T\ndate: 2024-05-01\nsite: www.Example.com\n---\nBody line\n\nMore\n",
    "front-crlf.txt": b"---  \r\nurl: https://www.a.example/x\r\n---\r\nBody\r\nline two\r\n",
    "front-open.txt": b"---\ntitle: never closed\nBody\n",
    "front-only.txt": b"---\ntitle: T\n---\n",
    "breaks.txt": "a\u2028b\x85c\u2029 d \x1c e\x1d\x1ef\u00a0\u3000g\u3000\n".encode(),
    "astral.txt": "😀 emoji 𠀋 and 日本語\n\n  \U0001d400  \n".encode(),
    "controls.txt": b"tab\there\x0bvt\x0cff\rcr\n",
    "esc.txt": b"colour \x1b[31mred\x1b[0m text\n",
    "sub.txt": b"a DOS end\x1a\n",
    "nul-few.txt": b"a stray NUL \x00 in text\n" * 3,
    "nul.txt": b"\x00\x01\x02\x03" * 100,
    "del.txt": b"del \x7f byte\n",
    "pdf.txt": b"%PDF-1.4 not text\n",
    "gif.txt": b"GIF89a....\n",
    "riff.txt": b"RIFF1234WEBPxxxx\n",
    "mz.txt": b"MZ" + b"a" * 58 + (64).to_bytes(4, "little") + b"PE\x00\x00",
    "mz-text.txt": b"MZ is how this text starts\n",
    "ftyp.txt": b"abcdftypisom text\n",
    "flac.txt": b"fLaC sounds\n",
    "bom8.txt": codecs.BOM_UTF8 + b"with a BOM\n",
    "bom16.txt": codecs.BOM_UTF16_LE + "sixteen\n".encode("utf-16-le"),
    "utf16.txt": "no BOM but wide, long enough to tell\n".encode("utf-16-le"),
    "cp1252.txt": "caf\u00e9 na\u00efve \u2014 \u20ac5\n".encode("cp1252"),
    "stray.txt": "mostly UTF-8 \u00e9\u00e9\u00e9\u00e9 with one bad ".encode() + b"\xff byte\n",
    "surrogate.txt": b"an encoded surrogate \xed\xa0\x80 here\n",
    "empty.txt": b"",
    "blank.txt": b"  \n\t\r\n \n",
    "punct.txt": b"... -- !!!\n",
    "wrapped.txt": "\n".join(WRAPPED[i : i + 60].strip() for i in range(0, len(WRAPPED), 60)).encode(),
    "even.txt": b"\n".join(b"x" * 40 for _ in range(10)),
    "big.txt": b"a line of a big file\n" * 2000,
    "zipped.txt.gz": gzip.compress(b"gzipped text\n"),
}


def _same(a: Article | Skipped, b: Article | Skipped) -> bool:
    """Equal, the paragraphs compared as spans (a list of tuples from one path, an array from the other)."""
    if isinstance(a, Skipped) or isinstance(b, Skipped):
        return a == b
    spans = [np.asarray(x.paragraphs, dtype=np.int64).reshape(-1, 2).tolist() for x in (a, b)]
    rest = [dataclasses.replace(x, paragraphs=[]) for x in (a, b)]
    return spans[0] == spans[1] and rest[0] == rest[1] and type(a.text) is type(b.text)


def _check(root, options: IngestOptions) -> list[Article | Skipped]:
    entries = [e for e in walk(root) if not isinstance(e, Skipped)]  # the cap is the reader's too: a file grows
    batch = list(read_entries(entries, options))
    one = [item for e in entries for item in read_entry(e, options, segmented=True)]
    assert len(batch) == len(one)
    for a, b in zip(batch, one, strict=True):
        assert _same(a, b), (a, b)
    return batch


@pytest.mark.parametrize("options", [IngestOptions(), IngestOptions(max_file_size=1000)], ids=["default", "cap"])
def test_each_file_reads_as_read_entry_reads_it(tmp_path, options):
    for name, data in FILES.items():
        (tmp_path / name).write_bytes(data)
    os.mkfifo(tmp_path / "fifo.txt")
    items = _check(tmp_path, options)
    said = {os.path.basename(i.path): i for i in items}
    assert isinstance(said["plain.txt"], Article)
    assert isinstance(said["pdf.txt"], Skipped) and "PDF" in said["pdf.txt"].reason
    assert isinstance(said["nul.txt"], Skipped) and isinstance(said["empty.txt"], Skipped)
    if options.max_file_size == 1000:
        assert "larger than" in said["big.txt"].reason


def test_a_file_swapped_after_the_walk_is_refused_as_before(tmp_path):
    """A file replaced by a FIFO or a link to outside after the walk listed it: read_entry's one line."""
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text("some words\n", encoding="utf-8")
    entries = [e for e in walk(tmp_path) if not isinstance(e, Skipped)]
    os.remove(tmp_path / "a.txt")
    os.mkfifo(tmp_path / "a.txt")
    os.remove(tmp_path / "b.txt")
    os.symlink("/etc/passwd", tmp_path / "b.txt")
    os.remove(tmp_path / "c.txt")
    batch = list(read_entries(entries))
    assert batch == [item for e in entries for item in read_entry(e, segmented=True)]
    assert all(isinstance(item, Skipped) for item in batch)


def test_the_hostile_folder_reads_as_read_entry_reads_it(tmp_path):
    root = tmp_path / "folder"
    make_hostile_folder(root)
    try:
        _check(root, IngestOptions())
    finally:
        remove_hostile_folder(root)


LINES = st.sampled_from(["\n", "\r\n", "\r", "\u2028", "\x85", "\x0b", "\x1c", "\n\n"])
CHARS = st.text(alphabet=st.sampled_from([*"ab Z.,-é’", "\u00a0", "\u3000", "日", "😀", "\t", "\x1b"]), max_size=30)
TEXTS = st.lists(st.tuples(CHARS, LINES), max_size=12).map(lambda parts: "".join(a + b for a, b in parts))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "---\ntitle: x\n---\n", "---\r\n---\n"]), TEXTS), max_size=6))
def test_any_text_reads_as_read_entry_reads_it(tmp_path_factory, docs):
    root = tmp_path_factory.mktemp("texts")
    for n, (head, text) in enumerate(docs):
        (root / f"{n}.txt").write_bytes((head + text).encode("utf-8"))
    _check(root, IngestOptions())


def test_the_kernel_reads_plain_utf8_and_leaves_the_rest(tmp_path):
    """What ``read_plain`` reads itself (the text ``decode`` gives) and what it leaves to the Python path."""
    for name, data in FILES.items():
        (tmp_path / name).write_bytes(data)
    os.mkfifo(tmp_path / "fifo.txt")
    os.symlink(tmp_path / "plain.txt", tmp_path / "link.txt")
    names = [*FILES, "fifo.txt", "link.txt", "missing.txt"]
    texts = dict(zip(names, kernels.native("read").read_plain([os.fsencode(tmp_path / n) for n in names], 1 << 20)))
    plain = {"plain.txt", "front.md", "front-crlf.txt", "front-open.txt", "front-only.txt", "astral.txt"}
    plain |= {"controls.txt", "empty.txt", "blank.txt", "punct.txt", "wrapped.txt", "even.txt", "big.txt"}
    assert {n for n, t in texts.items() if t is not None} == plain  # breaks.txt: its \x1c-\x1e are control bytes
    for name in plain:
        assert texts[name] == FILES[name].decode("utf-8")


def test_runs_are_bounded_by_files_and_bytes(tmp_path, monkeypatch):
    """A run of the kernel holds at most ``RUN`` files and ``RUN_BYTES`` bytes (one larger file alone), and the
    articles come out in order whatever the runs."""
    from dedup.ingest import batch

    for n in range(7):
        (tmp_path / f"{n}.txt").write_text(f"article {n}\n" + "x" * (100 * n), encoding="utf-8")
    entries = sorted((e for e in walk(tmp_path) if not isinstance(e, Skipped)), key=lambda e: e.path)
    seen: list[int] = []
    real = batch._read_run
    monkeypatch.setattr(batch, "_read_run", lambda k, run, o: (seen.append(len(run)), real(k, run, o))[1])
    monkeypatch.setattr(batch, "RUN", 3)
    monkeypatch.setattr(batch, "RUN_BYTES", 750)
    items = list(batch.read_entries(entries))
    assert [a.text.split("\n")[0] for a in items] == [f"article {n}" for n in range(7)]
    assert seen == [3, 2, 1, 1]  # sizes 10, 110, 210 (three files) | 310, 410 | 510 (+ 610 > 750) | 610
