"""What both index backends share: an index is a list of feature-store shards plus tombstones.

``ShardIndex`` holds the logic over a folder ``root/shards/<name>`` of immutable shards and the
manifest's content (parameters, shard names in article order, removed rows per shard): reading
(``holders``, ``rows``, ``texts``, ``paragraphs``, ``live_hashes``), appending a phase-1 shard,
removing, and merging shards in tiers (``merge.merge_plan``) so a query searches few shards.
A backend says only where the manifest lives and how a change is made durable (``_commit``): the
local backend writes ``index.json`` in the folder; the Redis backend uploads the new shards and
replaces the manifest in Redis, the folder being its local cache. Both run this same code, so a
local and a Redis index of the same articles give the same answers.

Articles are addressed by *refs*: their position in the shards' order, valid for one manifest.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..arrays import run_index
from ..escape import stored, unname
from ..featurestore import DOC_SCHEMA, Shard, StoreError, bloom, validate
from ..kernels import native
from .merge import MAX_MERGED, merge_into, merge_plan

_WIDE = 1024  # a directory slot with more postings than this is searched, not gathered
# A shard with at most this many postings is binary-searched whole (no Bloom filter, no directory): for the
# few postings of a recent add, the filter's probes and the slots' gather cost a query more than the search.
_DIRECT = 1 << 16
PURGE_SECONDS = 30.0  # a handle looks through ``trash/`` at most this often (each add and merge would: ~2 ms)
TRASH_SECONDS = 600  # how long a merged-away shard stays readable for readers of an older manifest

# ``dedup serve``'s private folder of shard checks (``use_receipts``): None, every process checks every shard.
_RECEIPTS: Path | None = None


def use_receipts(folder: str | os.PathLike[str] | None) -> None:
    """Share shard checks through ``folder`` (``dedup serve``'s private one, mode 0700, its processes' only):
    the process that appends or merges a shard (the server's writer, which has just checked it) writes there
    what its check found (a receipt: articles, postings, lengths, arrays) with each file's inode, size and
    modification time; another process (a worker) opening that shard takes the check from the receipt when
    the files are still those (same inode, size and time: a change to any is a new check), instead of checking
    the shard again. None: no receipts."""
    global _RECEIPTS
    _RECEIPTS = None if folder is None else Path(folder)
    if _RECEIPTS is not None:
        _RECEIPTS.mkdir(mode=0o700, exist_ok=True)


def _files_stat(path: Path) -> list[list[int | str]]:
    """(name, inode, size, modification time in ns) of each file of a shard folder, by name."""
    out: list[list[int | str]] = []
    with os.scandir(path) as it:
        for entry in it:
            st = entry.stat(follow_symlinks=False)
            out.append([entry.name, st.st_ino, st.st_size, st.st_mtime_ns])
    return sorted(out)


def _write_receipt(name: str, shard: Shard) -> None:
    """The receipt of ``shard`` (checked by this process) as ``name``."""
    import json

    assert _RECEIPTS is not None
    shard.check()
    body = {"num_perm": shard._num_perm, "n": shard._n, "m": shard._m, "arrays": sorted(shard._arrays)}
    body["files"] = _files_stat(shard.path)
    tmp = _RECEIPTS / f".{name}.{os.getpid()}"
    try:
        np.save(f"{tmp}.npy", np.asarray(shard._chars, dtype=np.int64), allow_pickle=False)
        Path(f"{tmp}.json").write_text(json.dumps(body))
        os.replace(f"{tmp}.npy", _RECEIPTS / f"{name}.npy")  # the lengths first: a receipt is whole once listed
        os.replace(f"{tmp}.json", _RECEIPTS / f"{name}.json")
    except OSError:  # no receipt: the workers check the shard themselves
        pass


def _from_receipt(name: str, path: Path, label: str, num_perm: int | None) -> Shard | None:
    """Shard ``name`` checked as its receipt says, when there is one and its files are still those it names."""
    if _RECEIPTS is None:
        return None
    import json

    try:
        body = json.loads((_RECEIPTS / f"{name}.json").read_text())
        if body["num_perm"] != num_perm or body["files"] != _files_stat(path):
            return None
        chars = np.load(_RECEIPTS / f"{name}.npy", allow_pickle=False)
        if chars.dtype != np.int64 or len(chars) != body["n"]:
            return None
        return mapped_on_use(path, label, num_perm, int(body["n"]), int(body["m"]), chars, body["arrays"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


class _OnUse(dict):
    """A checked shard's arrays (``Shard._arrays``: name -> array), each memory-mapped from the shard's folder
    as it is when first read (None until then). Opening a shard a writer has just checked (a receipt, or the
    writer's own new shard) mapped all eleven of its arrays, ~0.2 ms of ``np.load`` each, in every worker
    after every add; a query reads a few of a small shard's (postings, its articles, text and paragraphs),
    and many shards are merged away before any query reads more."""

    def __init__(self, shard: Shard, arrays: dict[str, np.ndarray | None]) -> None:
        super().__init__(arrays)
        self._shard = shard

    def __getitem__(self, key: str) -> np.ndarray:
        got = dict.__getitem__(self, key)
        if got is None:  # two threads may both map it: the same file, either mapping will do
            got = np.load(self._shard.path / f"{key}.npy", mmap_mode="r", allow_pickle=False)
            dict.__setitem__(self, key, got)
        return got

    def mapped(self) -> dict[str, np.ndarray | None]:
        """The arrays as they are now (None: not mapped yet)."""
        return {k: dict.__getitem__(self, k) for k in self}


def mapped_on_use(
    path: Path, label: str, num_perm: int | None, n: int, m: int, chars: np.ndarray, keys: Sequence[str]
) -> Shard:
    """A shard known checked (``n`` articles, ``m`` postings, the lengths ``chars``, the arrays ``keys``) whose
    arrays are mapped when first read (``_OnUse``), not when opened."""
    shard = Shard(path, label, num_perm, None)
    shard._n, shard._m, shard._chars = n, m, chars
    shard._arrays = _OnUse(shard, dict.fromkeys(keys))
    return shard


def _drop_receipts(gone: Sequence[str]) -> None:
    """The receipts of shards no longer listed."""
    if _RECEIPTS is None:
        return
    for name in gone:
        for ext in ("json", "npy"):
            (_RECEIPTS / f"{name}.{ext}").unlink(missing_ok=True)


def fsync_path(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: Path) -> None:
    """Flush a shard folder's files and the folder itself to disk."""
    for f in path.iterdir():
        fsync_path(f)
    fsync_path(path, directory=True)


def _id_hashes(ids: pl.Series | Sequence[str]) -> np.ndarray:
    """An in-memory hash of each id (never stored: polars' hash is stable within one process)."""
    return pl.Series(ids, dtype=pl.Utf8).hash(seed=0).to_numpy()


def check_manifest(body: dict, where: str) -> tuple[dict, list[str], dict[str, list[int]]]:
    """(params, shard names, removed rows) of a manifest body, checked; a corrupt one is a one-line error.
    Shard names match ``validate.SHARD_NAME`` (a name is a folder of the index or of a Redis cache), each
    listed once; removed rows are non-negative integers of listed shards (their upper bound is checked
    against the shard once it is read, ``ShardIndex.alive``); params are integers."""
    shards, removed, params = body.get("shards"), body.get("removed", {}), body.get("params")
    ok = isinstance(shards, list) and len(shards) <= validate.MAX_SHARDS and isinstance(removed, dict)
    ok = ok and isinstance(params, dict) and all(_integer(v) for v in params.values())
    if not ok:
        raise StoreError(f"{where}: corrupt index manifest")
    for name in shards:
        try:
            validate.check_name(name)
        except validate.Invalid as e:
            raise StoreError(f"{where}: corrupt index manifest ({e})") from None
    if len(set(shards)) != len(shards):
        raise StoreError(f"{where}: corrupt index manifest (a shard is listed twice)")
    for name, rows in removed.items():
        if name not in shards or not isinstance(rows, list) or not all(_integer(r) and r >= 0 for r in rows):
            shown = name if validate.SHARD_NAME.fullmatch(name) else repr(name[:120])
            raise StoreError(f"{where}: shard {shown}: corrupt removed rows in the manifest")
    return params, list(shards), {k: list(v) for k, v in removed.items() if v}


def shard_lookup(
    postings: np.ndarray, slots: np.ndarray, bits: int, packed: np.ndarray, fps: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """One big shard's look-up of sorted distinct fingerprints ``fps`` (``holders``): (pos, at) the position in
    ``fps`` and the posting index of every posting equal to one of them, by position then posting; ``mine``, each
    fingerprint's postings there; (w, wlo, whi) the fingerprints whose directory slot is crowded (more than
    ``_WIDE`` postings) with their own run's bounds, counted in ``mine`` but never gathered (None: no such
    slot). ``slots``/``bits``: the shard's directory; ``packed``: its Bloom filter. Compiled
    (``kernels/_query.pyx``) where built, else numpy (``_shard_lookup_numpy``): the same arrays either way."""
    kernel = native("query")
    log_m = (len(packed) * 8).bit_length() - 1
    if (
        kernel is not None
        and log_m >= 0
        and postings.dtype == np.uint64
        and slots.dtype in (np.int32, np.int64)
        and len(slots) == (1 << bits) + 1
        and packed.dtype == np.uint8
        and postings.flags.c_contiguous
        and slots.flags.c_contiguous
        and packed.flags.c_contiguous
    ):
        f = np.ascontiguousarray(fps, dtype=np.uint64)
        return kernel.shard_lookup(postings, slots, bits, packed, (1 << log_m) - 1, bloom.PROBES, f, _WIDE)
    return _shard_lookup_numpy(postings, slots, bits, packed, fps)


def _shard_lookup_numpy(
    postings: np.ndarray, slots: np.ndarray, bits: int, packed: np.ndarray, fps: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """``shard_lookup`` in numpy: the filter's probes, the slots' postings gathered and compared at once, a
    crowded slot narrowed to the fingerprint's run by binary search."""
    sel = np.flatnonzero(bloom.may_hold(packed, fps))  # most are certainly not here
    f = fps[sel]
    b = (f >> np.uint64(64 - bits)).astype(np.int64)
    lo, hi = slots[b].astype(np.int64), slots[b + 1].astype(np.int64)
    wide = hi - lo > _WIDE
    if wide.any():  # narrow a crowded slot to the fingerprint's own run
        for i in np.flatnonzero(wide).tolist():
            run = postings[lo[i] : hi[i]]
            a = int(np.searchsorted(run, f[i], "left"))
            lo[i], hi[i] = lo[i] + a, lo[i] + int(np.searchsorted(run, f[i], "right"))
    n = hi - lo
    n[wide] = 0  # the narrowed runs are exact: counted below without gathering them
    idx = run_index(lo, n)
    own = np.repeat(np.arange(len(f)), n)
    same = np.asarray(postings[idx]) == f[own]
    pos, at = sel[own[same]], idx[same]
    w, wlo, whi = (sel[wide], lo[wide], hi[wide]) if wide.any() else (None, None, None)
    mine = np.bincount(pos, minlength=len(fps))
    if w is not None:
        mine[w] += whi - wlo
    return pos, at, mine, w, wlo, whi


def by_position(pos: np.ndarray, refs: np.ndarray, n_refs: int) -> tuple[np.ndarray, np.ndarray]:
    """(position, ref) pairs sorted by position then ref. The pairs come as a few runs already in order (one
    per shard, or per look-up): compiled, one counting pass by position keeps each position's refs in the
    order they came, ascending already (``kernels/_query.pyx``); else one key, stably sorted, which a merge
    sort takes in near-linear time where ``lexsort`` sorts from scratch (10x slower on a query's millions of
    holders)."""
    if not len(pos):
        return pos, refs
    kernel = native("query")
    if kernel is not None and pos.dtype in (np.int32, np.int64) and refs.dtype == np.int64 and n_refs >= 1:
        got = kernel.by_position(np.ascontiguousarray(pos), np.ascontiguousarray(refs), n_refs)
        if got is not None:  # None: a ref out of range, positions spread wide: the sort below
            return got
    return _by_position_numpy(pos, refs, n_refs)


def _by_position_numpy(pos: np.ndarray, refs: np.ndarray, n_refs: int) -> tuple[np.ndarray, np.ndarray]:
    """``by_position`` by a stable sort of one key (the numpy code, and the compiled one's fallback)."""
    if not len(pos):
        return pos, refs
    key = pos.astype(np.int64) * max(n_refs, 1) + refs
    order = np.argsort(key, kind="stable")
    return pos[order], refs[order]


def _integer(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _forms(doc_id: str) -> list[str]:
    """The stored ids ``doc_id`` may stand for: itself, its stored form, and that of the name it shows."""
    out: list[str] = []
    for form in (doc_id, stored(doc_id), stored(unname(doc_id))):
        if form not in out and not any(0xD800 <= ord(c) <= 0xDFFF for c in form):
            out.append(form)
    return out


class ShardIndex:
    """An index's shards under ``root/shards`` and its manifest's content (see the module docstring)."""

    root: Path
    location: str
    params: dict
    shard_names: list[str]
    removed: dict[str, list[int]]
    merge_after_append = True  # dedup serve merges after answering the add instead (``merge`` under the lock)
    purge_later = False  # dedup serve's writer deletes old trash itself, while no write waits (``purge_trash``)

    def _init_shards(self, root: Path, reuse: Sequence[ShardIndex] = ()) -> None:
        """``reuse``: handles on the same index whose opened shards (checked, tables read) this one takes as
        they are, where its manifest lists them (a shard never changes), instead of opening them again."""
        self.root = root
        self._shards: dict[str, Shard] = {}  # kept across manifests: a shard never changes
        self._id_index: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._sizes: dict[str, np.ndarray] = {}
        for other in reuse:  # the first handle's objects win (a writer's: it moves merged-away ones)
            if getattr(other, "root", None) != root:
                continue
            for mine, theirs in ((self._shards, other._shards), (self._id_index, other._id_index)):
                for name, value in theirs.items():
                    mine.setdefault(name, value)  # type: ignore[arg-type]
            for name, value in other._sizes.items():
                self._sizes.setdefault(name, value)
        # The small shards' table of a handle reused (``_small_table``): this one's is made from it.
        self._small: tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray] | None = next(
            (o._small for o in reuse if getattr(o, "root", None) == root and getattr(o, "_small", None) is not None),
            None,
        )
        # (``_DIRECT`` and the shards listed, the table made for them), set at once: reader threads share a handle
        self._small_made: tuple[tuple, tuple] | None = None
        self.params, self.shard_names, self.removed = {}, [], {}
        self._derived()

    def _set_manifest(self, params: dict, names: list[str], removed: dict[str, list[int]]) -> None:
        self.params, self.shard_names, self.removed = params, names, removed
        for name in list(self._shards):
            if name not in names:
                del self._shards[name]
                self._id_index.pop(name, None)
                self._sizes.pop(name, None)
        self._derived()

    def _derived(self) -> None:
        self._bases: np.ndarray | None = None
        self._alive: np.ndarray | None = None
        self._docs: pl.DataFrame | None = None

    # ------------------------------------------------------------------ reading

    def _ensure(self) -> None:
        """Called by every read: a backend that opens lazily reads its manifest here (the first time)."""

    def preload(self) -> None:
        """Read into memory what every query needs of every shard (table, directory, Bloom filter), so no
        query pays for a shard's first use: what a long-running service does once when it opens the index."""
        self._ensure()
        for name in self.shard_names:
            shard = self._shard(name)
            _ = shard.docs, shard.directory  # a small shard's directory too: not used (searched whole), but checked
            if len(shard.array("postings")) > _DIRECT:  # a small shard is searched whole (``holders``): no filter read
                _ = shard.filter
        # And what every look-up derives from them, made here once (a snapshot is made before its readers use it).
        _ = self.bases, self.alive, self._small_table()

    def _opened(self, name: str) -> Shard:
        """Shard ``name``, written under ``root/shards`` but not yet listed, checked and kept (a shard never
        changes): what the manifest about to list it would open."""
        if name not in self._shards:
            num_perm = self.params.get("num_perm")
            label = f"{self.location}: shard {name}"
            perm = num_perm if isinstance(num_perm, int) else None
            self._shards[name] = Shard(self.root / "shards" / name, label, perm, None).check()
        return self._shards[name]

    def _expect(self, name: str) -> tuple[int, int] | None:
        """(articles, postings) the manifest says shard ``name`` holds, when it says (Redis)."""
        return None

    def _shard(self, name: str) -> Shard:
        """Shard ``name`` of the manifest, checked (``validate``): a bad one is a one-line error naming the
        index and the shard, before anything of it is used."""
        if name not in self._shards:
            label = f"{self.location}: shard {name}"
            try:
                path = validate.inside(self.root / "shards", name)
            except validate.Invalid as e:
                raise StoreError(f"{label}: {e}") from None
            num_perm = self.params.get("num_perm")
            perm = num_perm if isinstance(num_perm, int) else None
            expect = self._expect(name)
            kept = _from_receipt(name, path, label, perm) if expect is None else None
            self._shards[name] = kept if kept is not None else Shard(path, label, perm, expect).check()
        return self._shards[name]

    def _small_table(self) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
        """The shards of at most ``_DIRECT`` postings (recent adds, until merged), as one table sorted by
        fingerprint: (their names, fingerprints, the shard of each as a number into those names, its row there),
        so that a look-up searches them all at once instead of shard by shard (~15 µs of numpy calls each, and a
        server taking adds holds tens of them between merges). Made from the last table made (this handle's, or
        a handle it reused), kept while this handle lists the same small shards: its rows of shards still listed
        are kept (already sorted) and the new shards' merged in, so a new snapshot after an add sorts a few
        thousand entries into the rest, never the whole table again."""
        listed = (_DIRECT, tuple(self.shard_names))
        made = self._small_made
        if made is not None and made[0] == listed:
            return made[1]
        prev = self._small
        names = tuple(n for n in self.shard_names if len(self._shard(n).array("postings")) <= _DIRECT)
        if prev is not None and prev[0] == names:
            self._small_made = (listed, prev)
            return prev
        old = prev[0] if prev is not None else ()
        slot = {n: j for j, n in enumerate(names)}
        parts_f, parts_s, parts_d = [], [], []
        if prev is not None and any(n in slot for n in old):
            renumber = np.asarray([slot.get(n, -1) for n in old], dtype=np.int64)
            new_slot = renumber[prev[2]]
            keep = new_slot >= 0
            parts_f.append(prev[1][keep])
            parts_s.append(new_slot[keep])
            parts_d.append(prev[3][keep])
        for j, name in enumerate(names):
            if name in old:
                continue
            shard = self._shard(name)
            postings = np.asarray(shard.array("postings"), dtype=np.uint64)
            docs = shard.check_docs(np.asarray(shard.array("posting_docs"), dtype=np.int64))
            parts_f.append(postings)
            parts_s.append(np.full(len(postings), j, dtype=np.int64))
            parts_d.append(docs)
        if parts_f:
            fps = np.concatenate(parts_f)
            order = np.argsort(fps, kind="stable")  # sorted runs, merged
            table = (names, fps[order], np.concatenate(parts_s)[order], np.concatenate(parts_d)[order])
        else:
            table = (names, np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64))
        self._small = table
        self._small_made = (listed, table)
        return table

    @property
    def bases(self) -> np.ndarray:
        if self._bases is None:
            counts = [self._shard(n).n for n in self.shard_names]
            bases = np.zeros(len(counts) + 1, dtype=np.int64)
            np.cumsum(counts, out=bases[1:])
            # Set once whole: a server's reader threads share a snapshot, and one that found it set half-made
            # (zeros) took every article for out of range (an IndexError, a 500, seen under load).
            self._bases = bases
        return self._bases

    @property
    def alive(self) -> np.ndarray:
        """Bool per ref: not removed."""
        if self._alive is None:
            alive = np.ones(int(self.bases[-1]), dtype=bool)
            for k, name in enumerate(self.shard_names):
                if name not in self.removed:
                    continue
                rows = np.asarray(self.removed[name], dtype=np.int64)
                self._shard(name).check_docs(rows, "removed rows in the manifest")
                alive[rows + self.bases[k]] = False
            self._alive = alive
        return self._alive

    def live_sizes(self) -> list[int]:
        alive, bases = self.alive, self.bases
        return [int(alive[bases[k] : bases[k + 1]].sum()) for k in range(len(self.shard_names))]

    def _split(self, refs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(shard number, row in it) of each ref."""
        refs = np.asarray(refs, dtype=np.int64)
        ks = np.searchsorted(self.bases, refs, side="right") - 1
        return ks, refs - self.bases[ks]

    def holders(
        self, fps: np.ndarray, skip: Callable[[np.ndarray], np.ndarray] | None = None, kept: Any = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For sorted distinct fingerprints ``fps``: (position in ``fps``, ref) of every live article holding
        one, sorted by position then ref; a bool per fingerprint: skipped; and how many articles hold
        each (removed ones count until compacted). ``skip`` says from those counts which to skip: their
        holders are counted, never listed, so a fingerprint on a million pages costs no more than one on
        ten.

        Per shard, the Bloom filter (in memory) sets aside the fingerprints certainly not there; for the
        rest the directory gives each one's slot, whose postings (about ``DIRECTORY_FILL``) are gathered
        and compared, one vectorised step for all. A slot holding many (a fingerprint on thousands of
        pages) is counted by binary search instead. A small shard (``_DIRECT``) is binary-searched whole.

        ``kept``: (a cache with ``get``/``put``, a key naming ``fps``: the same key, the same fingerprints): what
        the big shards' look-ups found is kept there by (shard, key), a shard never changing, so the next call
        with the key gathers none of it again (an indexed article's own fingerprints, looked up query after
        query; removed articles are left out after, as always)."""
        fps = np.asarray(fps, dtype=np.uint64)
        counts = np.zeros(len(fps), dtype=np.int64)
        found = []
        for k, name in enumerate(self.shard_names):
            shard = self._shard(name)
            postings = np.asarray(shard.array("postings"))  # the mapping as a plain array: no memmap per gather
            if not len(postings) or not len(fps):
                continue
            if len(postings) <= _DIRECT:  # a small shard (a recent add): in the small shards' table, below
                continue
            keep_it = kept is not None
            got = kept[0].get((name, kept[1])) if keep_it else None
            if got is not None:  # this shard's look-up of these fingerprints, done before: its holders' rows
                pos, docs, mine, w, wlo, whi = got
                counts += mine
                found.append((k, pos, None, docs, w, wlo, whi))
                continue
            slots, bits = shard.directory
            pos, at, mine, w, wlo, whi = shard_lookup(postings, slots, bits, shard.filter, fps)
            counts += mine
            if keep_it:  # kept: the rows of every holder found (whether frequent is known only below)
                docs = shard.check_docs(np.asarray(np.asarray(shard.array("posting_docs"))[at], dtype=np.int64))
                narrow = np.int32 if max(len(postings), shard.n) < 2**31 else np.int64
                entry = (pos.astype(narrow), docs.astype(narrow), mine.astype(narrow), w, wlo, whi)
                kept[0].put((name, kept[1]), entry, len(pos) + len(fps) // 2)
                found.append((k, pos, None, docs, w, wlo, whi))
            else:
                found.append((k, pos, at, None, w, wlo, whi))
        small = self._small_lookup(fps, counts) if len(fps) else None
        frequent = skip(counts) & (counts > 0) if skip is not None else np.zeros(len(fps), dtype=bool)
        out_pos, out_refs = [], []
        if small is not None:  # the small shards' holders of the fingerprints that are not frequent
            keep = ~frequent[small[0]]
            out_pos.append(small[0][keep])
            out_refs.append(small[1][keep])
        for k, pos, at, docs, w, wlo, whi in found:
            shard = self._shard(self.shard_names[k])
            keep = ~frequent[pos]
            parts_pos, parts_docs = [pos[keep]], []
            if docs is not None:  # the holders' rows already known
                parts_docs.append(docs[keep])
            else:
                at = at[keep]
            if w is not None:  # crowded fingerprints that are not frequent: their runs, whole
                keep = ~frequent[w]
                n = (whi - wlo)[keep]
                parts_pos.append(np.repeat(w[keep], n))
                wat = run_index(wlo[keep], n)
                if docs is not None:
                    parts_docs.append(shard.check_docs(np.asarray(shard.array("posting_docs")[wat], dtype=np.int64)))
                else:
                    at = np.concatenate([at, wat])
            pos = np.concatenate(parts_pos)
            if not len(pos):
                continue
            if docs is None:
                parts_docs = [shard.check_docs(np.asarray(np.asarray(shard.array("posting_docs"))[at], dtype=np.int64))]
            out_pos.append(pos)
            out_refs.append(np.concatenate(parts_docs).astype(np.int64) + self.bases[k])
        if not out_pos:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), frequent, counts
        p, r = np.concatenate(out_pos), np.concatenate(out_refs)
        live = self.alive[r]
        p, r = p[live], r[live]
        p, r = by_position(p, r, int(self.bases[-1]))
        return p, r, frequent, counts

    def _small_lookup(self, fps: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """``holders``' look-up in the small shards (``_small_table``) at once: (position in ``fps``, ref) of every
        holder there, each fingerprint's holders added to ``counts``; None when they hold none."""
        names, table, slots, rows = self._small_table()
        if not len(table):
            return None
        lo, hi = np.searchsorted(table, fps, "left"), np.searchsorted(table, fps, "right")
        sel = np.flatnonzero(hi > lo)
        if not len(sel):
            return None
        lo, n = lo[sel], hi[sel] - lo[sel]
        counts[sel] += n
        at = run_index(lo, n)
        k = {name: j for j, name in enumerate(self.shard_names)}
        bases = self.bases[np.asarray([k[name] for name in names], dtype=np.int64)]
        return np.repeat(sel, n), rows[at] + bases[slots[at]]

    def sizes(self, refs: np.ndarray) -> np.ndarray:
        """Distinct shingles (``n_shingles``) of each of ``refs``, from a per-shard column kept in memory."""
        self._ensure()
        ks, rows = self._split(np.asarray(refs, dtype=np.int64))
        out = np.zeros(len(ks), dtype=np.int64)
        for k in np.unique(ks).tolist():
            name = self.shard_names[k]
            if name not in self._sizes:
                self._sizes[name] = self._shard(name).docs["n_shingles"].to_numpy()
            sel = ks == k
            out[sel] = self._sizes[name][rows[sel]]
        return out

    def rows(self, refs: np.ndarray) -> pl.DataFrame:
        """The ``DOC_SCHEMA`` rows of ``refs``, in that order: one gather from every shard's table joined end
        to end (kept for this manifest; joined without copying, so a new manifest pays well under a
        millisecond), where a gather per shard and their concatenation cost a query several times that."""
        self._ensure()
        refs = np.asarray(refs, dtype=np.int64)
        if not len(refs):
            return pl.DataFrame(schema=DOC_SCHEMA)
        if self._docs is None:
            self._docs = pl.concat([self._shard(n).docs for n in self.shard_names], rechunk=False)
        if len(refs) and (int(refs.min()) < 0 or int(refs.max()) >= len(self._docs)):
            raise IndexError(f"{self.location}: no article {int(refs.max())}")
        return self._docs.gather(pl.Series(refs))

    def texts(self, refs: Sequence[int]) -> list[str]:
        self._ensure()
        ks, rows = self._split(np.asarray(refs, dtype=np.int64))
        out = []
        for k, r in zip(ks.tolist(), rows.tolist()):
            shard = self._shard(self.shard_names[k])
            try:
                out.append(shard.text(r))
            except FileNotFoundError:  # merged away by a writer in another process: read it in the trash
                out.append(self._follow(self.shard_names[k]).text(r))
        return out

    def _follow(self, name: str) -> Shard:
        """Shard ``name`` of this (older) manifest found again in ``trash/``, where a writer that merged it away
        moved it (``_retire``; a writer in this process moves the shared object's path itself)."""
        shard = self._shard(name)
        moved = sorted((self.root / "trash").glob(f"{name}.*"))
        if not moved:
            raise StoreError(f"{self.location}: shard {name}: gone (merged away over {TRASH_SECONDS} s ago); retry")
        shard.path = moved[-1]
        return shard

    def generation(self) -> object:
        """The index's generation as stored now, cheaply (a ``stat``, one Redis round trip): it differs from
        ``seen_generation`` once a writer (of any process) has committed since this handle read the manifest."""
        raise NotImplementedError

    @property
    def seen_generation(self) -> object:
        """The generation of the manifest this handle read."""
        raise NotImplementedError

    def paragraphs(self, refs: Sequence[int]) -> list[np.ndarray]:
        self._ensure()
        ks, rows = self._split(np.asarray(refs, dtype=np.int64))
        out = []
        for k, r in zip(ks.tolist(), rows.tolist()):
            out.append(np.asarray(self._shard(self.shard_names[k]).paragraphs(r)).reshape(-1, 2))
        return out

    def _ids(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(sorted id hashes, their rows) of a shard."""
        if name not in self._id_index:
            h = _id_hashes(self._shard(name).docs["id"])
            order = np.argsort(h, kind="stable")
            self._id_index[name] = (h[order], order)
        return self._id_index[name]

    def _live_refs(self, ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """(id, ref) of the live articles with one of ``ids``."""
        self._ensure()
        ids = list(dict.fromkeys(ids))
        if not ids or not self.shard_names:
            return [], np.zeros(0, np.int64)
        want = _id_hashes(ids)
        found_ids: list[str] = []
        found_refs: list[int] = []
        alive = self.alive
        for k, name in enumerate(self.shard_names):
            h, rows = self._ids(name)
            lo = np.searchsorted(h, want, "left")
            hi = np.searchsorted(h, want, "right")
            if not (hi > lo).any():
                continue
            cand = np.concatenate([rows[a:b] for a, b in zip(lo.tolist(), hi.tolist()) if b > a])
            cand = cand[alive[cand + self.bases[k]]]
            if not len(cand):
                continue
            got = self._shard(name).docs["id"].gather(cand).to_list()
            wanted = set(ids)
            for r, d in zip(cand.tolist(), got):
                if d in wanted:
                    found_ids.append(d)
                    found_refs.append(r + int(self.bases[k]))
        return found_ids, np.asarray(found_refs, dtype=np.int64)

    def resolve(self, ids: Sequence[str]) -> list[str]:
        """The stored id (``escape.stored``) of each live article ``ids`` name, in any form a user has one in:
        as stored, as read (a file name with undecodable bytes) or as every output shows it (``escape.name``:
        ``bad\\xffname.txt``); the first form that is indexed wins. Ids naming no live article are left out."""
        forms = [_forms(x) for x in ids]
        found = set(self._live_refs([f for fs in forms for f in fs])[0])
        return [next(f for f in fs if f in found) for fs in forms if any(f in found for f in fs)]

    def live_hashes(self, ids: Sequence[str]) -> dict[str, int]:
        """Content hash of each of ``ids`` that is a live article."""
        found, refs = self._live_refs(ids)
        if not len(refs):
            return {}
        return dict(zip(found, self.rows(refs)["content_hash"].to_list()))

    def _counts(self) -> dict:
        postings = sum(len(self._shard(n).array("postings")) for n in self.shard_names)
        return {
            "params": self.params,
            "articles": int(self.alive.sum()),
            "removed_pending": int((~self.alive).sum()),
            "shards": len(self.shard_names),
            "postings": postings,
        }

    # ------------------------------------------------------------------ writing (hold ``writing``)

    def _commit(self, names: list[str], removed: dict[str, list[int]], new: list[str], gone: list[str]) -> None:
        """Make the shards ``new`` (written under ``root/shards``) durable and the manifest list ``names``
        with ``removed``, atomically; then delete the shards ``gone`` (backend-specific)."""
        raise NotImplementedError

    def staging(self) -> Path:
        """A fresh folder for phase 1's shards, beside ``root/shards`` (so they can be renamed in)."""
        import tempfile

        self.root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-", dir=self.root))

    def _new_name(self, tag: str = "") -> str:
        return f"{time.time_ns():x}-{os.getpid()}{tag}"

    def append(self, shard: Shard, keep: np.ndarray, replace: Sequence[str]) -> None:
        """Add the rows ``keep`` of a shard phase 1 wrote, replacing the live articles with ids in
        ``replace``, in one atomic step; then merge shards as ``merge_plan`` says."""
        name = self._new_name()
        final = self.root / "shards" / name
        if keep.all() and shard.path.stat().st_dev == self.root.stat().st_dev:
            os.replace(shard.path, final)  # staged by phase 1 beside the index: taken as it is
            self._shards[name] = _moved(shard, final, f"{self.location}: shard {name}", self.params.get("num_perm"))
        else:
            os.replace(merge_into([shard], [keep], self.root, name), final)
        if _RECEIPTS is not None:
            _write_receipt(name, self._opened(name))
        removed = {k: list(v) for k, v in self.removed.items()}
        if replace:
            _, refs = self._live_refs(replace)
            ks, rows = self._split(refs)
            for k, r in zip(ks.tolist(), rows.tolist()):
                removed.setdefault(self.shard_names[k], []).append(r)
        self._commit([*self.shard_names, name], removed, [name], [])
        if self.merge_after_append:
            self.merge()

    def merge(self) -> None:
        """Merge the newest shards as ``merge_plan`` says, until it says no more."""
        while (plan := merge_plan(self.live_sizes())) is not None:
            self._merge_run(*plan)

    def _merge_run(self, j: int, k: int) -> None:
        old = self.shard_names[j:k]
        alive, bases = self.alive, self.bases
        keeps = [alive[bases[i] : bases[i + 1]] for i in range(j, k)]
        name = self._new_name(f"-m{j}")
        staged = merge_into([self._shard(n) for n in old], keeps, self.root, name)
        os.replace(staged, self.root / "shards" / name)
        if _RECEIPTS is not None:
            _write_receipt(name, self._opened(name))
        removed = {s: v for s, v in self.removed.items() if s not in old}
        self._commit([*self.shard_names[:j], name, *self.shard_names[k:]], removed, [name], old)

    def remove(self, ids: Sequence[str]) -> int:
        """Remove live articles by id, in any form ``resolve`` takes (tombstones until ``compact``); returns how
        many were."""
        _, refs = self._live_refs(self.resolve(ids))
        if len(refs):
            removed = {k: list(v) for k, v in self.removed.items()}
            ks, rows = self._split(refs)
            for k, r in zip(ks.tolist(), rows.tolist()):
                removed.setdefault(self.shard_names[k], []).append(r)
            self._commit(list(self.shard_names), removed, [], [])
        return len(refs)

    def _compact(self) -> None:
        """Rewrite every shard into shards of up to ``MAX_MERGED`` live articles, without removed rows."""
        sizes = self.live_sizes()
        groups: list[list[int]] = []
        total = MAX_MERGED + 1
        for k, n in enumerate(sizes):
            if not n:
                continue
            if total + n > MAX_MERGED:
                groups.append([])
                total = 0
            groups[-1].append(k)
            total += n
        alive, bases = self.alive, self.bases
        names, new = [], []
        for g, ks in enumerate(groups):
            unchanged = len(ks) == 1 and bool(alive[bases[ks[0]] : bases[ks[0] + 1]].all())
            if unchanged:
                names.append(self.shard_names[ks[0]])
                continue
            name = self._new_name(f"-c{g:03d}")
            keeps = [alive[bases[k] : bases[k + 1]] for k in ks]
            staged = merge_into([self._shard(self.shard_names[k]) for k in ks], keeps, self.root, name)
            os.replace(staged, self.root / "shards" / name)
            names.append(name)
            new.append(name)
        gone = [n for n in self.shard_names if n not in names]
        self._commit(names, {}, new, gone)

    def _retire(self, gone: Sequence[str]) -> None:
        """Move shards no manifest lists any more to ``trash/``: a reader still holding the previous
        manifest can read them for ``TRASH_SECONDS`` more (it reloads the manifest on its next query)."""
        trash = self.root / "trash"
        trash.mkdir(exist_ok=True)
        for name in gone:
            src = self.root / "shards" / name
            if src.exists():
                dst = trash / f"{name}.{time.time_ns():x}"
                os.replace(src, dst)
                if name in self._shards:  # readers sharing this Shard object (dedup serve) follow it
                    self._shards[name].path = dst
        _drop_receipts(gone)
        self._purge_trash()

    def _purge_trash(self) -> None:
        """``purge_trash`` where a write calls it (under the index's lock), unless ``purge_later``."""
        if not self.purge_later:
            self.purge_trash()

    def purge_trash(self) -> None:
        """Delete what has been in ``trash/`` for more than ``TRASH_SECONDS`` (at most every ``PURGE_SECONDS``).
        Safe outside the index's lock: only a write adds to the trash, what is deleted is long unlisted, and two
        processes deleting the same folder at once each leave the other's part alone."""
        now = time.time()
        if now - getattr(self, "_purged", 0.0) < PURGE_SECONDS:  # nothing in it is much older than it was
            return
        self._purged = now
        trash = self.root / "trash"
        if not trash.is_dir():
            return
        for p in trash.iterdir():
            try:
                retired = int(p.name.rpartition(".")[2], 16) / 1e9
            except ValueError:
                retired = 0.0
            if now - retired > TRASH_SECONDS:
                shutil.rmtree(p, ignore_errors=True)

    def _clean(self) -> None:
        """Delete what a killed writer left (shards no manifest lists, stale staging) and old trash."""
        listed = set(self.shard_names)
        shards = self.root / "shards"
        if shards.is_dir():
            for p in shards.iterdir():
                if p.name not in listed:
                    shutil.rmtree(p, ignore_errors=True)
        for p in [*self.root.glob(".staging-*"), *self.root.glob(".download-*")]:
            pid = p.name.split("-")[1]
            if pid.isdigit() and not _running(int(pid)):
                shutil.rmtree(p, ignore_errors=True)
        self._purge_trash()


def _moved(shard: Shard, path: Path, label: str, num_perm: object) -> Shard:
    """``shard``, which this process checked (``Shard.check``), renamed to ``path``: the same files (a rename keeps
    them and their mappings), so its check, mapped arrays and table are taken as they are, not done again."""
    shard.check()
    moved = Shard(path, label, num_perm if isinstance(num_perm, int) else None, None)
    moved._n, moved._m, moved._chars = shard._n, shard._m, shard._chars
    arrays = shard._arrays
    moved._arrays = _OnUse(moved, arrays.mapped()) if isinstance(arrays, _OnUse) else dict(arrays)
    if "docs" in shard.__dict__:  # the table, when read (``cached_property``)
        moved.__dict__["docs"] = shard.__dict__["docs"]
    return moved


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
