"""The walk of the input as tasks (``distributed.walk``) is the local walk: the same files in the same order, the
same skipped lines, whatever the tree (nested folders, links in and out, a FIFO, a name with an escape character,
an empty folder, an unreadable one, ignore rules) and however it is cut into units and parts; and a scan on a real
two-node cluster of such a tree gives the local scan's JSON and warnings."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup.distributed import walk as dwalk
from dedup.ingest import walk
from dedup.ingest.model import DEFAULT_OPTIONS, Entry, IngestOptions, Skipped
from tests.support.executors import Pickling


class Cores(Pickling):
    """The pickling executor (tasks as a cluster runs them), claiming ``n`` CPUs so the walk is cut finely."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def cpus(self) -> int:
        return self.n


def threes(entries: Iterable[Entry | Skipped], skipped: list[Skipped]) -> Iterator[list[Entry]]:
    """Entries in groups of three (phase 1 groups by batch; any grouping will do here)."""
    group: list[Entry] = []
    for e in entries:
        if isinstance(e, Skipped):
            skipped.append(e)
            continue
        group.append(e)
        if len(group) == 3:
            yield group
            group = []
    if group:
        yield group


def distributed(root: Path | str, tmp: Path, cpus: int, options: IngestOptions = DEFAULT_OPTIONS):
    """(entries, skipped, the executor) of the walk as tasks on ``cpus`` pretend CPUs."""
    work = tempfile.mkdtemp(dir=tmp)  # the caller's work folder (the scan makes one in its store)
    executor = Cores(cpus)
    walked = dwalk.walk_tasks(executor, root, options, threes, work)
    entries = [e for g in walked.groups for e in (g.load() if isinstance(g, dwalk.Listed) else g)]
    assert walked.files == len(entries)
    return entries, walked.skipped, executor


def local(root: Path | str, options: IngestOptions = DEFAULT_OPTIONS) -> tuple[list[Entry], list[Skipped]]:
    items = list(walk(root, options))
    return [e for e in items if isinstance(e, Entry)], [e for e in items if isinstance(e, Skipped)]


@pytest.fixture
def small_units(monkeypatch):
    """Units of two names and plans that stop late: every tree is cut into many units and parts."""
    monkeypatch.setattr(dwalk, "FILES_PER_UNIT", 2)
    monkeypatch.setattr(dwalk, "UNITS_PER_CPU", 3)


def nested(root: Path, outside: Path) -> Path:
    """A tree with what the walk must handle (see the module)."""
    outside.mkdir()
    (outside / "far.txt").write_text("outside")
    for rel in ["a/b/c/deep.txt", "a/b/c2.txt", "a/x.txt", "a.txt", "a-b/y.md", "z/flat/0.txt", "docs/r.docx"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    for k in range(7):
        (root / "z/flat" / f"{k}.html").write_text(f"<p>{k}</p>")
    (root / "empty").mkdir()
    (root / ".hidden").write_text("never")
    (root / "esc\x1b[31mname.txt").write_text("escape")
    (root / "new\nline.txt").write_text("newline")
    os.mkfifo(root / "a/b/pipe.txt")
    (root / "a/link-in.txt").symlink_to(root / "a.txt")
    (root / "a/link-out.txt").symlink_to(outside / "far.txt")
    (root / "z/out").symlink_to(outside)
    (root / "z/broken.txt").symlink_to(root / "nothing.txt")
    (root / "z/loop").symlink_to(root / "z")
    (root / "a/b/up").symlink_to("..")
    return root


def test_the_walk_as_tasks_is_the_local_walk_on_a_nested_tree(tmp_path, small_units):
    root = nested(tmp_path / "in", tmp_path / "outside")
    expected = local(root)
    reasons = {s.reason for s in expected[1]}
    assert any("outside the folder" in r for r in reasons) and any("fifo" in r.lower() for r in reasons)
    assert any(e.id == "esc\x1b[31mname.txt" for e in expected[0])
    for cpus in (1, 2, 5):
        entries, skipped, executor = distributed(root, tmp_path, cpus)
        assert (entries, skipped) == expected
        assert "_list_folder" in executor.calls and executor.calls.count("_walk_part") > 1
        # the links back up (z/loop, a/b/up) are skipped where they are, as the local walk skips them: no fallback
        assert not [chunk for step, _, chunk in executor.inputs if step == "_walk_part" and chunk[2]]


def test_a_link_between_parts_walks_the_whole_tree_again_as_the_local_walk_does(tmp_path, small_units):
    """``b/a-too`` is ``a``: the local walk reads ``a`` as ``a-too`` only if it reaches it first; the parts cannot
    know, so the walk is done again as one task."""
    root = tmp_path / "in"
    for rel in ["a/1.txt", "a/2.txt", "b/3.txt", "c/4.txt"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    (root / "b/a-too").symlink_to(root / "a")
    (root / "0-c").symlink_to(root / "c")  # read first as 0-c, then c is a folder already read
    entries, skipped, executor = distributed(root, tmp_path, 4)
    assert (entries, skipped) == local(root)
    assert [s.reason for s in skipped] == ["folder already read (a link loop or a second link to it)"] * 2
    assert executor.calls[-1] == "_walk_part" and executor.inputs[-1][2][1] == [dwalk.Folder("", str(root), _id(root))]
    assert executor.inputs[-1][2][2] == {_id(root)}  # the fallback: the whole root, as the local walk starts


def _id(path: Path) -> tuple[int, int]:
    st_ = os.stat(path)
    return (st_.st_dev, st_.st_ino)


def test_a_flat_folder_is_one_listing_and_runs_of_names(tmp_path, monkeypatch):
    monkeypatch.setattr(dwalk, "FILES_PER_UNIT", 10)
    root = tmp_path / "flat"
    root.mkdir()
    for k in range(95):
        (root / f"{k:03d}.txt").write_text(str(k))
    (root / "050.txt.d").mkdir()  # a folder between two files: its key is '050.txt.d/'
    (root / "050.txt.d/in.txt").write_text("in")
    entries, skipped, executor = distributed(root, tmp_path, 2)
    assert (entries, skipped) == local(root)
    assert executor.calls.count("_list_folder") == 2  # the root, then 050.txt.d
    assert executor.calls.count("_walk_part") == 8  # 12 units (runs of names), 4 parts a CPU


def test_an_unreadable_folder_is_one_line_and_the_rest_goes_on(tmp_path, small_units, monkeypatch):
    """A folder that cannot be listed (here refused by the file system whoever runs the test: ``scandir`` fails for
    it, as for a folder without read permission) is one skipped line, wherever the cut puts it."""
    root = tmp_path / "in"
    for rel in ["a/1.txt", "locked/2.txt", "z/3.txt", "z/y/4.txt"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    scandir = os.scandir

    def refusing(path):
        if os.path.basename(os.fspath(path)) == "locked":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    expected = local(root)
    assert [s.reason for s in expected[1]] == ["cannot read folder: Permission denied"]
    for cpus in (1, 3):
        assert distributed(root, tmp_path, cpus)[:2] == expected


def test_ignore_rules_and_a_single_file_root(tmp_path, small_units):
    root = nested(tmp_path / "in", tmp_path / "outside")
    (root / ".dedupignore").write_text("flat/\n*.md\n")
    options = IngestOptions(exclude=("a/b/",))
    entries, skipped, _ = distributed(root, tmp_path, 3, options)
    assert (entries, skipped) == local(root, options)
    assert not any(e.id.startswith(("z/flat/", "a/b/")) or e.id.endswith(".md") for e in entries)
    assert distributed(root / "a.txt", tmp_path, 2)[:2] == local(root / "a.txt")
    assert distributed(root / "missing", tmp_path, 2)[:2] == local(root / "missing")


_NAMES = st.sampled_from(["a", "a.txt", "a-b.txt", "b", "b.md", "c.html", "a b.txt", "é.txt", "x.docx", "0"])


@st.composite
def trees(draw) -> list[tuple[str, str]]:
    """Paths to create: ('dir'|'file'|'link', path) with links to earlier paths."""
    made: list[tuple[str, str]] = []
    folders = [""]
    for _ in range(draw(st.integers(1, 14))):
        parent = draw(st.sampled_from(folders))
        path = parent + draw(_NAMES)
        if any(p.partition("\0")[0] == path for _, p in made):
            continue
        kind = draw(st.sampled_from(["dir", "file", "file", "link"]))
        if kind == "link" and not made:
            kind = "file"
        made.append((kind, path if kind != "link" else path + "\0" + draw(st.sampled_from(made))[1].partition("\0")[0]))
        if kind == "dir":
            folders.append(path + "/")
    return made


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=trees(), cpus=st.integers(1, 4))
def test_random_trees_walk_alike(tmp_path_factory, small_units, tree, cpus):
    tmp = tmp_path_factory.mktemp("tree")
    root = tmp / "in"
    root.mkdir()
    for kind, spec in tree:
        path, _, target = spec.partition("\0")
        if kind == "dir":
            (root / path).mkdir()
        elif kind == "file":
            (root / path).write_text(path)
        else:
            (root / path).symlink_to(root / target)
    entries, skipped, _ = distributed(root, tmp, cpus)
    assert (entries, skipped) == local(root)


@pytest.mark.slow
def test_a_nested_tree_on_two_nodes_is_the_local_scan(cli, ray_cluster, tmp_path, make_kit):
    """The scan of the nested tree (and copies of a story in several folders) on the cluster: the local JSON and the
    local warnings (the skipped lines, escaped), nothing of Ray's."""
    from tests.distributed.test_ray import _same_scan

    root = nested(tmp_path / "in", tmp_path / "outside")
    kit = make_kit(3)
    story = kit.story()
    for rel in ["a/b/copy.txt", "z/flat/copy.txt", "esc\x1b[1mcopy.txt"]:
        (root / rel).write_text(kit.wrap(story))
    data = _same_scan(cli, root, ray_cluster)
    assert data["pairs"]
