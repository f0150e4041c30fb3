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


def open_regular(path: str, follow: bool = False) -> BinaryIO:
    """A binary file object on ``path``, which must be a regular file; raises InputError otherwise."""
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
    """The bytes of one article file (gunzipped for ``.gz``), never more than ``cap`` of them."""
    with open_regular(path, follow) as f:
        if not is_gzip_name(path):
            return read_capped(f, cap, os.fstat(f.fileno()).st_size)
        try:
            with gzip.GzipFile(fileobj=f) as g:
                return read_capped(g, cap)  # the cap bounds the decompressed size (no gzip bomb)
        except (OSError, EOFError, zlib.error) as e:
            raise InputError(f"not valid gzip ({error_text(e)})") from None


def open_stream(path: str, follow: bool = False) -> BinaryIO:
    """A streamed binary reader for a container file (gunzipped on the fly for ``.gz``)."""
    f = open_regular(path, follow)
    if not is_gzip_name(path):
        return f
    g = gzip.GzipFile(fileobj=f)
    g.myfileobj = f  # so closing the gzip reader closes the file too
    return g  # type: ignore[return-value]
