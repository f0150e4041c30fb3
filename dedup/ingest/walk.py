"""The safe folder walk: which files are inputs, in a fixed order, without hangs, loops or escapes.

Policy (not special cases):

- iterative (an explicit stack, no recursion: 1,000-deep nesting is fine), in the sorted order of
  relative paths, so results never depend on the file system's listing order;
- hidden entries (``.name``) are passed over, and so is what ``--exclude`` and the folder's ``.dedupignore``
  leave out (``ignore``);
- a file whose suffix is not an input kind gives one Skipped (``unsupported (.docx)``, ``unsupported (no
  extension)``), never read;
- a folder that dedup wrote (an index, a feature store: ``own.dedup_folder``) gives one Skipped and is not
  entered;
- only regular files are inputs: FIFOs, devices and sockets give one Skipped each (and are never
  opened, so nothing blocks);
- a symlink (to a file or a folder) is followed only when its resolved target stays inside the
  root (``follow_links`` allows any); a link that points outside gives one Skipped, a broken or
  looping link too; a followed file link's Entry.path is its resolved target;
- a folder is read once: each folder's (st_dev, st_ino) is remembered, so a link back to a folder
  already read (a loop) gives one Skipped instead of endless descent;
- a folder that cannot be listed gives one Skipped; the walk goes on;
- a file over ``max_file_size`` that is not a streamed container gives one Skipped.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from .files import file_type, os_reason
from .ignore import Ignore
from .model import CONTAINERS, DEFAULT_OPTIONS, Entry, IngestOptions, Skipped, too_large
from .own import dedup_folder

# Longest first, so '.warc.gz' wins over '.gz'.
SUFFIXES: tuple[tuple[str, str], ...] = (
    (".html.gz", "html"),
    (".htm.gz", "html"),
    (".warc.gz", "warc"),
    (".jsonl.gz", "jsonl"),
    (".ndjson.gz", "jsonl"),
    (".markdown", "text"),
    (".parquet", "parquet"),
    (".ndjson", "jsonl"),
    (".xhtml", "html"),
    (".jsonl", "jsonl"),
    (".html", "html"),
    (".json", "json"),
    (".warc", "warc"),
    (".htm", "html"),
    (".txt", "text"),
    (".csv", "csv"),
    (".md", "text"),
)


_KINDS = dict(SUFFIXES)


def kind_of(name: str) -> str | None:
    """The input kind of a file name by its suffix (case-insensitive), or None when it is not an input: the
    longest of ``SUFFIXES`` it ends with. Every suffix there has one dot or two, so it is the name from its last
    dot but one, else from its last dot, looked up (two look-ups a file, where trying each suffix in turn was
    a third of the walk's time)."""
    low = name.lower()
    dot = low.rfind(".")
    if dot < 0:
        return None
    two = low.rfind(".", 0, dot)
    return (_KINDS.get(low[two:]) if two >= 0 else None) or _KINDS.get(low[dot:])


def unsupported(name: str) -> str | None:
    """The Skipped reason of a file that is no input kind by its suffix (``unsupported (.docx)``,
    ``unsupported (no extension)``), or None when it is one."""
    if kind_of(name) is not None:
        return None
    suffix = os.path.splitext(os.path.basename(name))[1].lower()
    return f"unsupported ({suffix if suffix and suffix != '.' else 'no extension'})"


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root if root.endswith(os.sep) else root + os.sep)


def walk(root: str | os.PathLike[str], options: IngestOptions = DEFAULT_OPTIONS) -> Iterator[Entry | Skipped]:
    """The input files under ``root`` as Entry (and what could not be read as Skipped), sorted by relative path.

    ``root`` may also be a single file: it is then the only entry, with its name as id.
    """
    start = begin(root, options)
    if isinstance(start, list):
        yield from start
        return
    top, real_root, st = start
    yield from descend([("", top)], real_root, {(st.st_dev, st.st_ino)}, options, Ignore.of(top, options.exclude))


def begin(
    root: str | os.PathLike[str], options: IngestOptions
) -> list[Entry | Skipped] | tuple[str, str, os.stat_result]:
    """The start of a walk: (the folder, its real path, its stat) to descend, or the walk's whole answer when
    ``root`` is no folder to descend (a single file, a path that cannot be read, a folder dedup wrote)."""
    top = os.fspath(root)
    if isinstance(top, bytes):
        top = os.fsdecode(top)
    try:
        st = os.stat(top)
    except OSError as e:
        return [Skipped(top, os_reason(e))]
    if not stat.S_ISDIR(st.st_mode):
        return [_file(os.path.basename(top) or top, top, top, st, options)]
    if reason := dedup_folder(top):
        return [Skipped(top, reason)]
    return top, os.path.realpath(top), st


def descend(
    stack: list[tuple[str, str] | Entry | Skipped],
    real_root: str,
    seen: set[tuple[int, int]],
    options: IngestOptions,
    ignore: Ignore | None,
) -> Iterator[Entry | Skipped]:
    """The walk from ``stack``'s items (popped from its end): each folder (relative prefix ending in '/' or empty,
    path) listed, its children classified (``child``) and pushed in reverse order of their keys, so popping
    visits them in order; an Entry or Skipped is yielded as it is popped. ``seen``: the (st_dev, st_ino) of the
    folders already read (updated)."""
    # A folder sorts as 'name/', which makes this pre-order equal to the sorted order of the full relative paths.
    while stack:
        item = stack.pop()
        if not isinstance(item, tuple):
            yield item
            continue
        rel, folder = item
        try:
            with os.scandir(folder) as it:
                children = [(e.name, e.path, e.is_symlink()) for e in it if not e.name.startswith(".")]
        except OSError as e:
            yield Skipped(folder, f"cannot read folder: {os_reason(e)}")
            continue
        found: list[tuple[str, tuple[str, str] | Entry | Skipped]] = []
        for name, path, is_link in children:
            item = child(rel + name, path, is_link, real_root, seen, options, ignore)
            if item is None:
                continue
            key = rel + name + ("/" if isinstance(item, tuple) else "")
            found.append((key, item))
        found.sort(key=lambda kv: kv[0])
        stack.extend(item for _, item in reversed(found))


def child(
    rel: str,
    path: str,
    is_link: bool,
    real_root: str,
    seen: set[tuple[int, int]],
    options: IngestOptions,
    ignore: Ignore | None = None,
) -> tuple[str, str] | Entry | Skipped | None:
    """What one folder entry is: a folder to descend (rel/, path), an Entry, a Skipped, or None (left out by
    ``ignore``)."""
    try:
        st = os.stat(path) if is_link else os.lstat(path)
    except OSError as e:
        if ignore and ignore.excludes(rel, False):
            return None
        return Skipped(path, f"broken link ({os_reason(e)})" if is_link else os_reason(e))
    if ignore and ignore.excludes(rel, stat.S_ISDIR(st.st_mode)):
        return None
    target = path
    if is_link:
        target = os.path.realpath(path)
        wanted = stat.S_ISDIR(st.st_mode) or kind_of(path) is not None
        if wanted and not options.follow_links and not _inside(target, real_root):
            return Skipped(path, "link points outside the folder (use --follow-links to follow it)")
    if stat.S_ISDIR(st.st_mode):
        key = (st.st_dev, st.st_ino)
        if key in seen:
            return Skipped(path, "folder already read (a link loop or a second link to it)")
        seen.add(key)
        if reason := dedup_folder(target if is_link else path):
            return Skipped(path, reason)
        return (rel + "/", target if is_link else path)
    if reason := unsupported(path):
        return Skipped(path, reason)
    return _file(rel, path, target, st, options)


def _file(rel: str, shown: str, path: str, st: os.stat_result, options: IngestOptions) -> Entry | Skipped:
    """The Entry of a file found at ``shown`` (opened as ``path``), or why it is skipped."""
    kind = kind_of(shown) or "text"  # a single file named by the user is read as text if its suffix says nothing
    if not stat.S_ISREG(st.st_mode):
        return Skipped(shown, f"not a regular file ({file_type(st.st_mode)})")
    if st.st_size > options.max_file_size and kind not in CONTAINERS:
        return Skipped(shown, too_large(options.max_file_size))
    return Entry(id=rel, path=path, size=st.st_size, kind=kind)
