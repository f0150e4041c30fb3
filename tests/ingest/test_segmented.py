"""A huge plain-text file read segment by segment (``read_text_segmented``, a ``LongText``) reads, scans and
pairs exactly as the same file read whole, with cuts inside characters, paragraphs and copied passages."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import ScanOptions, scan
from dedup.ingest import text as text_reader
from dedup.ingest.model import Entry
from dedup.ingest.reader import read_entry
from dedup.longtext import LongText
from dedup.phase1.normalise import segments

SEGMENT = 3001  # bytes decoded at a time in these tests (the scan's is 16 MB)
MARKS = ["é", "漢字", "🙂", "—", "…", "...", "naïve"]


def _big_text(aeb_articles) -> str:
    """Over 262,144 characters (``wrap._SAMPLE_CHARS``) of real paragraphs, many with a multibyte character or
    an emoji, after a front matter; paragraphs are blank-line separated, some with CR LF line ends."""
    paragraphs = []
    while sum(map(len, paragraphs)) < 300_000:
        for i, a in enumerate(aeb_articles[:60]):
            for j, p in enumerate(a.paragraphs):
                k = len(paragraphs)
                paragraphs.append(f"{p} {MARKS[k % len(MARKS)]}{k} {MARKS[(k + 3) % len(MARKS)]}" if (i + j) % 3 else p)
    body = "".join(p + ("\r\n\r\n" if k % 11 == 0 else "\n\n") for k, p in enumerate(paragraphs))
    return "---\ntitle: The long one\ndate: 2024-05-06\n---\n" + body


def _cut_positions(data: bytes, segment: int = SEGMENT) -> list[int]:
    """The byte offsets where the reader's segments end (its first read is the 64 KB sniffed head)."""
    first = max(segment, text_reader.SAMPLE)
    return list(range(first, len(data), segment))


def _inside(data: bytes, cuts: list[int]) -> list[int]:
    """The cuts that fall inside a multibyte character."""
    return [c for c in cuts if 0x80 <= data[c] <= 0xBF]


@pytest.fixture
def small_segments(monkeypatch):
    """The scan's reader, with segments, blocks and the long-text thresholds small enough for test files."""
    monkeypatch.setattr(text_reader, "SEGMENT_BYTES", SEGMENT)
    monkeypatch.setattr(text_reader, "BLOCK_CHARS", 777)
    monkeypatch.setattr(text_reader, "LONG_BYTES", 1000)
    monkeypatch.setattr(text_reader, "LONG_CHARS", 1000)


def test_a_segmented_text_file_reads_as_the_whole_file(tmp_path, aeb_articles, small_segments):
    text = _big_text(aeb_articles)
    path = tmp_path / "big.txt"
    path.write_bytes(text.encode())
    data = path.read_bytes()
    cuts = _cut_positions(data)
    assert len(_inside(data, cuts)) >= 3, "too few cuts fall inside a multibyte character"
    whole = text_reader.read_text("big.txt", str(path), data)
    read = text_reader.read_text_segmented("big.txt", str(path), 1 << 30)
    assert isinstance(read.text, LongText)
    assert read.text.whole() == whole.text
    assert np.array_equal(read.paragraphs, np.asarray(whole.paragraphs))
    codes = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    at_byte = np.r_[0, np.cumsum(1 + (codes > 0x7F) + (codes > 0x7FF) + (codes > 0xFFFF))]  # char -> byte offset
    spans = at_byte[np.asarray(whole.paragraphs)]
    straddling = sum(int(((spans[:, 0] < c) & (c < spans[:, 1])).sum()) for c in cuts)
    assert straddling, "no paragraph straddles a cut"
    assert (read.body_start, read.title, read.date, read.site) == (
        whole.body_start,
        whole.title,
        whole.date,
        whole.site,
    )
    assert read.title == "The long one"


def test_files_a_segment_cannot_answer_for_are_read_whole(tmp_path, aeb_articles):
    """Not UTF-8, a front matter that does not close in the first segment, hard-wrapped: as before."""
    body = _big_text(aeb_articles)
    legacy = tmp_path / "legacy.txt"
    legacy.write_bytes(body.encode("cp1252", "replace"))
    assert text_reader.read_text_segmented("x", str(legacy), 1 << 30, segment_bytes=SEGMENT, long_bytes=0) is None
    open_matter = tmp_path / "open.txt"
    far = "---\ntitle: far\n" + "".join(f"note{i}: a long front matter\n" for i in range(4000)) + "---\n"
    open_matter.write_text(far + body.split("---\n", 2)[2])
    whole = text_reader.read_text("x", str(open_matter), open_matter.read_bytes())
    assert whole.body_start == len(far) > text_reader.SAMPLE and whole.title == "far"
    assert text_reader.read_text_segmented("x", str(open_matter), 1 << 30, segment_bytes=SEGMENT, long_bytes=0) is None
    words = " ".join(p for a in aeb_articles[:60] for p in a.paragraphs).split()
    lines, line = [], ""
    for w in words * 2:
        if len(line) + 1 + len(w) > 72:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    wrapped = tmp_path / "wrapped.txt"
    wrapped.write_text("\n".join(lines) + "\n")
    data = wrapped.read_bytes()
    read = text_reader.read_text_segmented(
        "x", str(wrapped), 1 << 30, segment_bytes=SEGMENT, long_bytes=0, long_chars=0
    )
    whole = text_reader.read_text("x", str(wrapped), data)
    assert isinstance(read.text, str) and read.text == whole.text and read.paragraphs == whole.paragraphs
    assert len(whole.paragraphs) < len(lines) / 5  # it was joined as wrapped text
    line = tmp_path / "line.txt"
    line.write_text(" ".join(words) + "\n")  # one line of many segments
    assert text_reader.read_text_segmented("x", str(line), 1 << 30, segment_bytes=SEGMENT, long_bytes=0) is None


def _comparable(result) -> dict:
    out = result.to_dict()
    del out["meta"]["timings"]
    return out


def test_a_segmented_huge_file_scans_and_pairs_as_read_whole(tmp_path, aeb_articles, monkeypatch):
    """A copy of a passage that straddles segment cuts (multibyte characters at them) pairs with the huge file
    at the same offsets, with the same documents and paragraphs, as when the file is read whole."""
    text = _big_text(aeb_articles)
    data = text.encode()
    root = tmp_path / "folder"
    root.mkdir()
    (root / "big.txt").write_bytes(data)
    cut = _inside(data, _cut_positions(data))[2]  # inside a multibyte character, well after the sniffed head
    lo = text.rfind("\n\n", 0, len(data[:cut].decode("utf-8", "ignore")) - 1500) + 2
    hi = text.find("\n\n", lo + 3500)
    passage = text[lo:hi]
    assert len(text[:lo].encode()) < cut < len(text[:hi].encode())
    (root / "copy.txt").write_text("Reprinted by a small paper.\n\n" + passage + "\n\nOur own closing words here.\n")
    (root / "other.txt").write_text(aeb_articles[70].text)
    whole = _comparable(scan(root, ScanOptions(workers=1)))
    monkeypatch.setattr(text_reader, "SEGMENT_BYTES", SEGMENT)
    monkeypatch.setattr(text_reader, "BLOCK_CHARS", 777)
    monkeypatch.setattr(text_reader, "LONG_BYTES", 1000)
    monkeypatch.setattr(text_reader, "LONG_CHARS", 1000)
    entry = Entry("big.txt", str(root / "big.txt"), len(data), "text")
    assert isinstance(next(read_entry(entry, segmented=True)).text, LongText)
    segmented = _comparable(scan(root, ScanOptions(workers=1)))
    assert segmented == whole
    pair = next(p for p in whole["pairs"] if {p["a"], p["b"]} == {"big.txt", "copy.txt"})
    assert pair["relation"] != "unrelated"


@st.composite
def _texts(draw):
    alphabet = st.sampled_from(list("abbbbbb  \n\té漢🙂.…\r") + ["\u2028"])
    return "".join(draw(st.lists(alphabet, max_size=400))), draw(st.integers(1, 50))


@settings(max_examples=150, deadline=None)
@given(_texts(), st.integers(0, 420), st.integers(0, 420), st.sampled_from(["a", "🙂", "..", "b a", "\n\n", "é"]))
def test_a_long_text_answers_as_its_str(case, start, end, sub):
    text, block = case
    long = LongText.from_str(text, block)
    assert len(long) == len(text) and long.whole() == text
    assert long[start:end] == text[start:end]
    if start < len(text):
        assert long[start] == text[start]
    assert long.find(sub, start, end) == text.find(sub, start, end)
    assert long.find(sub, start) == text.find(sub, start)
    assert (sub in long) == (sub in text)
    expected = []
    for mark in (sub, "."):
        expected.append([])
        at = text.find(mark)
        while at >= 0:
            expected[-1].append(at)
            at = text.find(mark, at + len(mark))
    assert long.find_all((sub, ".")) == expected
    assert long.endswith(sub, start, end) == text.endswith(sub, start, end)
    assert long.startswith(sub, start) == text.startswith(sub, start)
    assert long.utf8_size() == len(text.encode("utf-8", "surrogatepass"))
    assert long.isascii() == text.isascii()
    size = 1 + end % 60
    assert list(long.segments(min(start, len(text)), size)) == list(segments(text, min(start, len(text)), size))
    at = np.arange(len(text))[:: 1 + start % 5]
    assert long.codes_at(at).tolist() == [ord(text[i]) for i in at.tolist()]
    assert long.codes_at(at[::-1]).tolist() == [ord(text[i]) for i in at[::-1].tolist()]
