"""Open input files so that opening can never block, follow a link, or read without bound.

``os.open`` with ``O_NONBLOCK`` returns at once even on a FIFO; ``O_NOFOLLOW`` refuses a final
symlink (the walk hands over links already resolved and checked); ``fstat`` on the open descriptor
then confirms a regular file, closing the race between the walk's ``stat`` and the open.
"""

from __future__ import annotations

import errno
import gzip
import os
import stat
import zlib
from typing import BinaryIO

from .model import error_text, too_large

_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CHUNK = 1 << 20


class InputError(Exception):
    """A file that cannot be read; the message is the short reason shown to the user."""


def file_type(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, name in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISDIR, "folder"),
        (stat.S_ISLNK, "symlink"),
    ):
        if test(mode):
            return name
    return "special file"


def os_reason(e: OSError) -> str:
    """A short reason for an OS error (``Permission denied``), without the path (shown separately)."""
    return e.strerror or type(e).__name__


def _open_fd(path: str, follow: bool = False) -> tuple[int, os.stat_result]:
    """An open descriptor on ``path``, which must be a regular file, and its ``fstat``; raises InputError
    otherwise (the descriptor is then closed)."""
    flags = _FLAGS | (0 if follow else _NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if e.errno == errno.ELOOP and not follow:
            raise InputError("is a symlink (not followed)") from None
        raise InputError(os_reason(e)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"not a regular file ({file_type(st.st_mode)})")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def open_regular(path: str, follow: bool = False) -> BinaryIO:
    """A binary file object on ``path``, which must be a regular file; raises InputError otherwise."""
    fd, _ = _open_fd(path, follow)
    try:
        return os.fdopen(fd, "rb", buffering=_CHUNK)
    except BaseException:
        os.close(fd)
        raise


def is_gzip_name(path: str) -> bool:
    return path.lower().endswith(".gz")


def read_capped(f: BinaryIO, cap: int, hint: int | None = None) -> bytes:
    """At most ``cap`` bytes of ``f``; raises InputError (too large) when there are more. ``hint``: the size
    the file should have. A read of n bytes reserves n first (``cap`` is hundreds of MB, an article a few KB:
    that was most of the cost of reading one), so it reads what the hint says, or growing chunks of a stream,
    and goes on only when more follows."""
    step = min(cap + 1, hint + 1 if hint is not None else _CHUNK)
    data = f.read(step)
    if len(data) == step and step <= cap:  # more follows: a stream, or a file that grew since
        parts, total = [data], len(data)
        while total <= cap:
            chunk = f.read(min(cap + 1 - total, max(total, _CHUNK)))
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
        data = b"".join(parts)
    if len(data) > cap:
        raise InputError(too_large(cap))
    return data


def read_bytes(path: str, cap: int, follow: bool = False) -> bytes:
    """The bytes of one article file (gunzipped for ``.gz``), never more than ``cap`` of them.

    A plain file is read with ``os.read`` on the descriptor: one open, one ``fstat`` (which checks it is a
    regular file and gives its size) and, for a file that did not change, one read; a file object's buffer, its
    own ``fstat``s and ``lseek`` were four more system calls per article, a scan being mostly small files."""
    if is_gzip_name(path):
        with open_regular(path, follow) as f:
            try:
                with gzip.GzipFile(fileobj=f) as g:
                    return read_capped(g, cap)  # the cap bounds the decompressed size (no gzip bomb)
            except (OSError, EOFError, zlib.error) as e:
                raise InputError(f"not valid gzip ({error_text(e)})") from None
    fd, st = _open_fd(path, follow)
    try:
        return _read_fd(fd, cap, st.st_size)
    except OSError as e:
        raise InputError(os_reason(e)) from None
    finally:
        os.close(fd)


def _read_fd(fd: int, cap: int, size: int) -> bytes:
    """At most ``cap`` bytes of the regular file open as ``fd`` whose ``fstat`` said ``size``; raises InputError
    (too large) when there are more. A short read that returns the whole ``size`` is the end of the file; a file
    that grew since (or a short read before its end) is read on in growing chunks until the end or past the cap."""
    step = min(cap + 1, size + 1)
    data = os.read(fd, step)
    if len(data) == size and size < step:
        return data
    parts, total = [data], len(data)
    while total <= cap:
        chunk = os.read(fd, min(cap + 1 - total, max(total, _CHUNK)))
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    if total > cap:
        raise InputError(too_large(cap))
    return b"".join(parts)


def open_stream(path: str, follow: bool = False) -> BinaryIO:
    """A streamed binary reader for a container file (gunzipped on the fly for ``.gz``)."""
    f = open_regular(path, follow)
    if not is_gzip_name(path):
        return f
    g = gzip.GzipFile(fileobj=f)
    g.myfileobj = f  # so closing the gzip reader closes the file too
    return g  # type: ignore[return-value]
