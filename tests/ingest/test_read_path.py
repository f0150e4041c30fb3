"""The small-file read path (``files.read_bytes``): one descriptor read, whole files, the cap kept."""

from __future__ import annotations

import os

import pytest

from dedup.ingest.files import InputError, _read_fd, read_bytes


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 100_000])
def test_read_bytes_returns_the_whole_file(tmp_path, size):
    data = os.urandom(size)
    path = tmp_path / "a.txt"
    path.write_bytes(data)
    assert read_bytes(str(path), cap=1 << 20) == data


def test_read_bytes_keeps_the_cap(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"x" * 1000)
    assert read_bytes(str(path), cap=1000) == b"x" * 1000
    with pytest.raises(InputError, match="larger than"):
        read_bytes(str(path), cap=999)


def test_a_file_that_grew_after_its_fstat_is_read_to_its_end(tmp_path):
    """The size ``fstat`` gave is a hint: what follows it is read too, and the cap still holds."""
    path = tmp_path / "a.txt"
    path.write_bytes(b"y" * 5000)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert _read_fd(fd, cap=1 << 20, size=10) == b"y" * 5000
        os.lseek(fd, 0, os.SEEK_SET)
        with pytest.raises(InputError, match="larger than"):
            _read_fd(fd, cap=4999, size=10)
    finally:
        os.close(fd)


def test_read_bytes_refuses_what_is_not_a_regular_file(tmp_path):
    os.mkfifo(tmp_path / "pipe.txt")
    with pytest.raises(InputError, match="not a regular file"):
        read_bytes(str(tmp_path / "pipe.txt"), cap=100)
    (tmp_path / "dir.txt").mkdir()
    with pytest.raises(InputError):
        read_bytes(str(tmp_path / "dir.txt"), cap=100)
