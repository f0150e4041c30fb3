"""The walk and readers on a hostile folder: nothing hangs, nothing outside is read, one Skipped per bad input."""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.escape import name as escape_name
from dedup.ingest import Article, Entry, IngestOptions, Skipped, read_articles, read_entry, read_file, walk
from tests.support.hostile import HOSTILE_NAMES, make_hostile_folder, remove_hostile_folder


@contextmanager
def deadline(seconds: int):
    """Fail (instead of hanging the suite) when the block takes longer than ``seconds``."""

    def expired(signum, frame):  # noqa: ANN001
        raise TimeoutError(f"still running after {seconds} s: something blocked")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile") / "folder"
    expected = make_hostile_folder(root)
    with deadline(60):
        items = list(read_articles(root))
    yield expected, items
    remove_hostile_folder(root)


def test_good_files_read_once_with_their_text(hostile):
    expected, items = hostile
    articles = [a for a in items if isinstance(a, Article)]
    ids = [a.id for a in articles]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(expected["good"])
    for a in articles:
        assert a.text == expected["good"][a.id]
        assert all(a.text[s:e].strip() == a.text[s:e] != "" for s, e in a.paragraphs)


def test_each_bad_input_gives_exactly_one_skipped_with_a_clear_reason(hostile):
    expected, items = hostile
    skipped = [s for s in items if isinstance(s, Skipped)]
    paths = [s.path for s in skipped]
    assert sorted(paths) == sorted(expected["skipped"]), "one Skipped per bad input, and nothing else"
    for s in skipped:
        assert expected["skipped"][s.path] in s.reason, (s.path, s.reason)
        assert "\n" not in s.reason


def test_unreadable_folder_skipped_when_permissions_apply(hostile):
    expected, items = hostile
    locked = str(expected["root"] / "locked")
    if not expected["unreadable_blocks"]:
        pytest.skip("running as root: chmod 000 does not stop reads")
    assert [s.reason for s in items if isinstance(s, Skipped) and s.path == locked] == [
        "cannot read folder: Permission denied"
    ]


def test_nothing_from_outside_is_read(hostile):
    expected, items = hostile
    for a in items:
        if isinstance(a, Article):
            for line in expected["forbidden"]:
                assert line not in a.text
            assert os.path.realpath(a.path).startswith(os.path.realpath(expected["root"]))


def test_deep_nesting_and_sorted_order(hostile):
    expected, items = hostile
    ids = [a.id for a in items if isinstance(a, Article)]
    assert ids == sorted(ids)
    assert any(i.count("/") == 1000 for i in ids)


def test_hostile_names_are_read_and_escape_to_inert_text(hostile):
    expected, items = hostile
    ids = {a.id for a in items if isinstance(a, Article)}
    assert set(HOSTILE_NAMES) <= ids
    assert "bad\udcffname.txt" in ids
    for i in ids:
        shown = escape_name(i)
        shown.encode("utf-8")
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in shown)
        assert "\u202e" not in shown
    assert escape_name("bad\udcffname.txt") == "bad\\xffname.txt"


def test_follow_links_still_never_opens_devices(tmp_path):
    (tmp_path / "a.txt").write_text("A real sentence about news.", encoding="utf-8")
    os.symlink("/dev/zero", tmp_path / "zero.txt")
    os.mkfifo(tmp_path / "pipe.txt")
    with deadline(20):
        items = list(read_articles(tmp_path, IngestOptions(follow_links=True)))
    reasons = {Path(s.path).name: s.reason for s in items if isinstance(s, Skipped)}
    assert reasons == {"zero.txt": "not a regular file (character device)", "pipe.txt": "not a regular file (FIFO)"}
    assert [a.id for a in items if isinstance(a, Article)] == ["a.txt"]


def test_read_entry_refuses_a_file_swapped_for_a_fifo_or_link_after_the_walk(tmp_path):
    p = tmp_path / "story.txt"
    p.write_text("A story that is about to be swapped.", encoding="utf-8")
    (entry,) = list(walk(tmp_path))
    assert isinstance(entry, Entry)
    p.unlink()
    os.mkfifo(p)
    with deadline(20):
        assert list(read_entry(entry)) == [Skipped(str(p), "not a regular file (FIFO)")]
    p.unlink()
    os.symlink("/etc/passwd", p)
    (out,) = list(read_entry(entry))
    assert isinstance(out, Skipped) and "symlink" in out.reason


def test_read_file_applies_the_same_rules(tmp_path):
    (tmp_path / "a.txt").write_text("Words of a story.\n", encoding="utf-8")
    os.symlink("/etc/passwd", tmp_path / "p.txt")
    os.symlink("a.txt", tmp_path / "l.txt")
    os.mkfifo(tmp_path / "f.txt")
    with deadline(20):
        (p,) = read_file(tmp_path / "p.txt")
        (f,) = read_file(tmp_path / "f.txt")
        (a,) = read_file(tmp_path / "l.txt")
    assert isinstance(p, Skipped) and "outside" in p.reason
    assert f == Skipped(str(tmp_path / "f.txt"), "not a regular file (FIFO)")
    assert isinstance(a, Article) and a.id == "l.txt" and a.text == "Words of a story.\n"


def test_size_cap(tmp_path):
    (tmp_path / "big.txt").write_text("word " * 300, encoding="utf-8")
    (tmp_path / "ok.txt").write_text("word " * 10, encoding="utf-8")
    items = list(read_articles(tmp_path, IngestOptions(max_file_size=1024)))
    assert Skipped(str(tmp_path / "big.txt"), "larger than 1 KB; raise --max-file-size") in items
    assert [a.id for a in items if isinstance(a, Article)] == ["ok.txt"]


def test_a_gzip_bomb_is_capped(tmp_path):
    import gzip

    (tmp_path / "bomb.html.gz").write_bytes(gzip.compress(b"<p>" + b"a " * 5_000_000 + b"</p>"))
    (out,) = list(read_articles(tmp_path, IngestOptions(max_file_size=2**20)))
    assert out == Skipped(str(tmp_path / "bomb.html.gz"), "larger than 1 MB; raise --max-file-size")


def test_root_problems_are_skipped_not_raised(tmp_path):
    assert list(read_articles(tmp_path / "missing")) == [
        Skipped(str(tmp_path / "missing"), "No such file or directory")
    ]
    assert list(read_articles(tmp_path)) == []


@given(
    size=st.integers(0, 5000),
    cap=st.integers(0, 5000),
    hint=st.one_of(st.none(), st.integers(0, 6000)),
    chunk=st.sampled_from([1, 7, 64, 1 << 20]),
)
@settings(max_examples=300, deadline=None)
def test_read_capped_is_the_file_or_too_large_whatever_the_size_hint(size, cap, hint, chunk):
    """The hint (the size the file had when opened) only sizes the first read: a file that grew or shrank
    since, or a stream of any length, gives its bytes up to the cap, and more than the cap is an error."""
    import io

    from dedup.ingest import files

    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(files, "_CHUNK", chunk)
        if size <= cap:
            assert files.read_capped(io.BufferedReader(io.BytesIO(data)), cap, hint) == data
        else:
            with pytest.raises(files.InputError, match="larger than"):
                files.read_capped(io.BufferedReader(io.BytesIO(data)), cap, hint)
