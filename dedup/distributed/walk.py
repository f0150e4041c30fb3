"""The walk of the input as tasks: the driver lists no folder and holds nothing per file.

The local walk (``ingest.walk``) visits the input in the sorted order of relative paths (a folder's key is
``name/``), remembering every folder read so that a second way into one (a link, a loop) is skipped. Here the
same order is cut into *units*, each a contiguous run of it that a task can produce on its own:

- a folder (``Folder``): its whole subtree, walked by the local walk's own code (``descend``);
- a run of a listed folder's files (``Names``): their names, read from a file that the folder's listing task
  wrote to the work folder, each classified by the local walk's ``child`` (stat, kind, size, links, FIFOs);
- an item decided while listing (an ``Entry`` of a followed link, a ``Skipped``).

The plan starts from the root as one folder unit; while it has fewer units than ``UNITS_PER_CPU`` a CPU, every
folder unit is listed by a task (``_list_folder``: one ``scandir``, the sorted keys; folders, links and entries of
unknown type classified there, the plain files' names written to a file and returned as runs of at most
``FILES_PER_UNIT`` names) and replaced by its listing's units, in order. A flat folder of a million files is thus
one listing task and fifty units of 20,000 names; a crawl by date or site is a few rounds of listing and then its
subtrees. The units are then walked by ``PARTS_PER_CPU`` tasks a CPU, each over a contiguous range of them
(``_walk_part``): it groups its entries as phase 1 wants them (``group``) and writes the groups to a listing file in the
work folder, returning their offsets, its skipped items and how many files it found. Concatenated in order, the
parts are the local walk's sequence: each unit is a run of that order, and each task classifies exactly as the local
walk does.

The one thing the parts cannot see is another part's folders: the local walk skips a folder already read by an
earlier one (a link to a folder of another part). So every task returns the (st_dev, st_ino) of each folder it
newly entered; if any folder was entered twice across parts, the parts are thrown away and the walk is done again
as one task over the whole root, which is the local walk exactly (rare: a link between subtrees).

Every rule of the local walk holds because its code does the deciding: nothing outside the folder is read (links
out are skipped with one line), FIFOs and devices are never opened, an unreadable folder is reported and the rest
goes on. The tasks are pure functions of their inputs: run again, one rewrites the same file whole.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..ingest.files import os_reason
from ..ingest.ignore import Ignore
from ..ingest.model import Entry, IngestOptions, Skipped
from ..ingest.walk import begin, child, descend

FILES_PER_UNIT = 20_000  # names of a listed folder's files that one unit classifies
UNITS_PER_CPU = 8  # folders are listed, round after round, until the plan has this many units a CPU
PARTS_PER_CPU = 4  # walk tasks a CPU, each over a contiguous range of units
MAX_ROUNDS = 8  # rounds of listing at most (a chain of single folders ends the plan early)

Group = Callable[[Iterable[Entry | Skipped], list[Skipped]], Iterator[Any]]


@dataclass(frozen=True)
class Folder:
    """A folder to list or walk: its key prefix (``''`` for the root, else ``'a/b/'``), its path, its
    (st_dev, st_ino), and those of the folders it is in (``above``, the root first): the local walk has read them
    all by the time it lists this one, so a link back up (``up -> ..``, ``current -> .``) is skipped here too."""

    rel: str
    path: str
    id: tuple[int, int]
    above: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Names:
    """Names ``[start, stop)`` of the sorted plain files of the folder at ``folder`` (key prefix ``rel``), kept in
    the pickled list at ``file`` by the folder's listing task."""

    file: str
    start: int
    stop: int
    rel: str
    folder: str


Unit = Folder | Names | Entry | Skipped


@dataclass(frozen=True)
class Context:
    """What every task of the walk is given: the root (as the local walk has it), the options, the work folder
    (shared by every node), and how to group the entries (phase 1's tasks)."""

    top: str
    real_root: str
    options: IngestOptions
    work: str
    group: Group


@dataclass(frozen=True)
class Listed:
    """One group the walk wrote: bytes ``[start, stop)`` of the listing file at ``path`` (``load``)."""

    path: str
    start: int
    stop: int

    def load(self) -> Any:
        with open(self.path, "rb") as f:
            f.seek(self.start)
            return pickle.loads(f.read(self.stop - self.start))


@dataclass
class Walked:
    """The walk's groups (in order, each a ``Listed`` or, for a root that is a single file, the group itself),
    how many files they hold, and what was skipped (in the walk's order)."""

    groups: list[Any]
    files: int
    skipped: list[Skipped]


class _Recorded(set):
    """A set of folder ids that remembers those ``add``ed (``child`` adds the id of each folder it accepts), in
    order; ids put in otherwise (``update``: the folders read before) are not among them."""

    def __init__(self, given: Iterable[tuple[int, int]] = ()) -> None:
        super().__init__(given)
        self.added: list[tuple[int, int]] = []

    def add(self, key: tuple[int, int]) -> None:  # type: ignore[override]
        super().add(key)
        self.added.append(key)


_IGNORE: dict[tuple[str, tuple[str, ...]], Ignore | None] = {}


def _ignore(ctx: Context) -> Ignore | None:
    """The root's ignore rules (``--exclude`` and its ``.dedupignore``), read once per worker process."""
    key = (ctx.top, tuple(ctx.options.exclude))
    if key not in _IGNORE:
        _IGNORE.clear()
        _IGNORE[key] = Ignore.of(ctx.top, ctx.options.exclude)
    return _IGNORE[key]


def _write(path: Path, data: bytes) -> None:
    """``data`` to ``path`` whole (a task run twice replaces its file, never leaves half of one)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _list_folder(ctx: Context, folder: Folder) -> tuple[list[Unit], np.ndarray]:
    """One folder listed (a task): its children in the local walk's order as units, and the ids of the folders it
    accepted. Folders, links and entries of unknown type are classified here (a folder's key depends on it); plain
    files only by name, which goes to a file in the work folder, in runs of ``FILES_PER_UNIT``."""
    seen = _Recorded({folder.id, *folder.above})
    ignore = _ignore(ctx)
    decided: list[tuple[str, str, bool]] = []
    plain: list[str] = []
    try:
        with os.scandir(folder.path) as it:
            for e in it:
                if e.name.startswith("."):
                    continue
                link = e.is_symlink()
                try:
                    other = link or e.is_dir(follow_symlinks=False)
                except OSError:
                    other = True  # let ``child`` stat it and say what it is
                if other:
                    decided.append((e.name, e.path, link))
                else:
                    plain.append(e.name)
    except OSError as e:
        return [Skipped(folder.path, f"cannot read folder: {os_reason(e)}")], _ids([])
    found: list[tuple[str, Unit | str]] = []
    above = (*folder.above, folder.id)
    for name, path, link in decided:
        item = child(folder.rel + name, path, link, ctx.real_root, seen, ctx.options, ignore)
        if item is None:
            continue
        if isinstance(item, tuple):
            found.append((item[0], Folder(item[0], item[1], seen.added[-1], above)))
        else:
            found.append((folder.rel + name, item))
    found.extend((folder.rel + name, name) for name in plain)  # a plain file's key is its name (no '/')
    found.sort(key=lambda kv: kv[0])
    names = [item for _, item in found if isinstance(item, str)]
    file = Path(ctx.work) / f"names-{hashlib.sha1(os.fsencode(folder.path)).hexdigest()}"
    if names:
        _write(file, pickle.dumps(names, protocol=pickle.HIGHEST_PROTOCOL))
    units: list[Unit] = []
    k = 0  # names placed so far
    run = 0  # names in the current run
    for _, item in found:
        if isinstance(item, str):
            if run == FILES_PER_UNIT:
                run = 0
            if run == 0:
                units.append(Names(str(file), k, k + 1, folder.rel, folder.path))
            else:
                last = units[-1]
                assert isinstance(last, Names)
                units[-1] = Names(last.file, last.start, k + 1, last.rel, last.folder)
            k += 1
            run += 1
        else:
            units.append(item)
            run = 0
    return units, _ids(seen.added)


def _ids(ids: Iterable[tuple[int, int]]) -> np.ndarray:
    return np.array(list(ids), dtype=np.uint64).reshape(-1, 2)


def _items(ctx: Context, units: Sequence[Unit], seen: set[tuple[int, int]]) -> Iterator[Entry | Skipped]:
    """The local walk's sequence over ``units``, in order (``seen``: the folders read, updated)."""
    ignore = _ignore(ctx)
    loaded: tuple[str, list[str]] = ("", [])
    for unit in units:
        if isinstance(unit, Folder):
            seen.update((*unit.above, unit.id))  # read by now in the local walk (not when the part starts)
            yield from descend([(unit.rel, unit.path)], ctx.real_root, seen, ctx.options, ignore)
        elif isinstance(unit, Names):
            if loaded[0] != unit.file:
                loaded = (unit.file, pickle.loads(Path(unit.file).read_bytes()))
            for name in loaded[1][unit.start : unit.stop]:
                item = child(
                    unit.rel + name, os.path.join(unit.folder, name), False, ctx.real_root, seen, ctx.options, ignore
                )
                if isinstance(item, tuple):  # it became a folder since it was listed: read it where it was listed
                    yield from descend([item], ctx.real_root, seen, ctx.options, ignore)
                elif item is not None:
                    yield item
        else:
            yield unit


Part = tuple[int, Sequence[Unit], frozenset[tuple[int, int]]]


def _walk_part(ctx: Context, part: Part) -> tuple[str, np.ndarray, int, list[Skipped], np.ndarray]:
    """One range of units walked (a task): its entries grouped (``ctx.group``) into a listing file of the work
    folder. Returns (the file, the groups' offsets in it, files found, skipped, ids of the folders it entered).

    ``part``: (its number, its units, the folders it counts as read before it starts). A range's own folders are
    counted read only as the part reaches each (with the folders it is in): the local walk counts them read when
    their parent is listed, which may come after another folder of the range is walked (``a/x/`` is walked before
    ``b/`` is listed); a link from one to another is then entered here, and its folder's id, entered twice, sends
    the walk to the fallback."""
    number, units, given = part
    seen = _Recorded(given)
    skipped: list[Skipped] = []
    files = 0

    def counted() -> Iterator[Entry | Skipped]:
        nonlocal files
        for item in _items(ctx, units, seen):
            files += isinstance(item, Entry)
            yield item

    offsets = [0]
    chunks = []
    for group in ctx.group(counted(), skipped):
        chunks.append(pickle.dumps(group, protocol=pickle.HIGHEST_PROTOCOL))
        offsets.append(offsets[-1] + len(chunks[-1]))
    path = Path(ctx.work) / f"part-{number:06d}"
    _write(path, b"".join(chunks))
    return str(path), np.array(offsets, dtype=np.int64), files, skipped, _ids(seen.added)


def _label_folder(folder: Folder) -> str:
    return folder.path


def _label_part(part: Part) -> str:
    first = part[1][0]
    where = first.folder if isinstance(first, Names) else first.path
    more = len(part[1]) - 1
    return f"{where} (and {more} more unit{'s' * (more != 1)} of the walk)" if more else where


def plan(executor: Any, ctx: Context, root: Folder, cpus: int) -> tuple[list[Unit], list[np.ndarray]]:
    """The units of the walk from ``root`` (see the module) and the ids of the folders their listing entered."""
    units: list[Unit] = [root]
    ids = [_ids([root.id])]
    for _ in range(MAX_ROUNDS):
        folders = [u for u in units if isinstance(u, Folder)]
        if not folders or len(units) >= UNITS_PER_CPU * cpus:
            break
        listed = iter(list(executor.map(_list_folder, ctx, folders, label=_label_folder)))  # the step run to its end
        expanded: list[Unit] = []
        for unit in units:
            if isinstance(unit, Folder):
                got, entered = next(listed)
                expanded.extend(got)
                ids.append(entered)
            else:
                expanded.append(unit)
        units = expanded
    return units, ids


def walk_tasks(
    executor: Any, source: str | os.PathLike[str], options: IngestOptions, group: Group, work: str | os.PathLike[str]
) -> Walked:
    """The walk of ``source`` as tasks on ``executor`` (see the module), its entries grouped by ``group`` into
    listing files of ``work`` (a folder every node shares; the caller removes it). The same groups, in the same
    order, as ``group`` over the local walk would give, but for where the groups are cut (a part's last group may be
    short)."""
    start = begin(source, options)
    if isinstance(start, list):  # a single file, or a root that cannot be read: nothing to share out
        skipped: list[Skipped] = []
        groups = list(group(iter(start), skipped))
        return Walked(groups, sum(isinstance(e, Entry) for e in start), skipped)
    top, real_root, st = start
    ctx = Context(top, real_root, options, os.fspath(work), group)
    root = Folder("", top, (st.st_dev, st.st_ino))
    cpus = max(1, int(getattr(executor, "cpus", lambda: 1)()))
    units, ids = plan(executor, ctx, root, cpus)
    n = min(len(units), PARTS_PER_CPU * cpus)
    cuts = [len(units) * k // n for k in range(n + 1)] if n else []
    parts: list[Part] = [(k, units[cuts[k] : cuts[k + 1]], frozenset()) for k in range(n)]
    done = list(executor.map(_walk_part, ctx, parts, label=_label_part))
    all_ids = np.concatenate(ids + [d[4] for d in done])
    if len(np.unique(all_ids, axis=0)) < len(all_ids):  # a folder reached from two parts: walk it all as one
        for path, *_ in done:
            Path(path).unlink(missing_ok=True)
        done = list(executor.map(_walk_part, ctx, [(0, [root], frozenset([root.id]))], label=_label_part))
    groups: list[Any] = []
    skipped = []
    files = 0
    for path, offsets, found, skip, _ in done:
        groups.extend(Listed(path, int(a), int(b)) for a, b in zip(offsets[:-1], offsets[1:], strict=True))
        files += found
        skipped.extend(skip)
    return Walked(groups, files, skipped)
