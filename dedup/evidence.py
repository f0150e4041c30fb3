"""Phase 2, step 2 (``phase2`` names the steps): what every candidate pair shares, counted from the posting
lists.

A shingle held by m articles is one fact about those m articles. Shingles held by exactly the
same articles (the words of one passage) are one *posting list* with a weight (how many
shingles): a sentence repeated in fifty articles is one list of fifty members, however long
it is. Lists are found partition by partition of the fingerprint space (memory bounded by a
partition, not the corpus), and articles held by one list only (nothing shared) drop out
before any pair is formed.

Pairs and their shared counts come from the lists, so the work follows the evidence:

- a list of at most ``max_enumerate`` members adds its weight to each pair of its members
  (exact shared counts, m(m-1)/2 entries: a passage in m articles is that many facts); such lists
  make a pair a candidate when together they hold ``min_shared`` shingles (no relation has fewer);
- a larger list (a site template on every page, a sentence in a thousand articles, or a story
  syndicated everywhere) is never expanded into pairs: when it could make a relation by itself
  (enough shingles, or most of two of its members) it links its members as a star from the
  first plus a chain; in every case its weight is added to any pair of its members that is a
  candidate, by looking the large lists of the member holding fewer up among the other's.

Every candidate pair thus gets its exact number of shared shingles, list by list, so the
verifier can discount the lists it finds to be boilerplate without touching a document again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .featurestore import Shard
from .hashing import GOLDEN, mix64
from .workers import Executor, Threads, fan_out

PARTITION_ROWS = 1 << 22  # postings sorted at once (4M rows: ~32 MB of keys, ~150 MB with the temporaries)
MEMBER_ROWS = 1 << 23  # list memberships handled at once where every member of every list is gone through
PROBE_PAIRS = 1 << 16  # candidate pairs whose big lists are intersected at once (bounded temporaries)


@dataclass
class Lists:
    """Posting lists, sorted by their hash: list l holds ``members[offsets[l]:offsets[l+1]]``
    (ascending document indices, int32 below 2**31 documents) and ``weight[l]`` shingles."""

    hashes: np.ndarray
    offsets: np.ndarray
    members: np.ndarray
    weight: np.ndarray
    # Lists known to be boilerplate from beyond what they list (a query's fingerprints held by more indexed
    # articles than it looks at; only the holders it looks at are members): never expanded into pairs,
    # never linking, boilerplate whatever verification finds. None: no such list (a scan).
    known: np.ndarray | None = None
    _owner: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.hashes)

    def sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    def member_list(self) -> np.ndarray:
        """The list of each entry of ``members`` (int32 below 2**31 lists), computed once: match asks for it in
        every step, and it is as long as every list's members together (read-only)."""
        if self._owner is None:
            kind = np.int32 if len(self) < 1 << 31 else np.int64
            self._owner = np.repeat(np.arange(len(self), dtype=kind), self.sizes())
            self._owner.flags.writeable = False
        return self._owner

    def weight_per_doc(self, n_docs: int, chosen: np.ndarray | None = None) -> np.ndarray:
        """Per document, the summed weight of the lists it is a member of (of those flagged in ``chosen``, when
        given), as ``np.bincount`` gives it (float64, exact: integer sums), ``MEMBER_ROWS`` members at a time
        (temporaries of 8 bytes a member, over every list's members, were most of verify's peak)."""
        owner = self.member_list()
        out = np.zeros(n_docs, dtype=np.float64)
        for lo in range(0, len(owner), MEMBER_ROWS):
            own, mem = owner[lo : lo + MEMBER_ROWS], self.members[lo : lo + MEMBER_ROWS]
            if chosen is not None:
                keep = chosen[own]
                own, mem = own[keep], mem[keep]
            out += np.bincount(mem, weights=self.weight[own], minlength=n_docs)
        return out

    def holders(self, chosen: np.ndarray, n_docs: int) -> np.ndarray:
        """A bool per document: whether it is a member of any list flagged in ``chosen``."""
        out = np.zeros(n_docs, dtype=bool)
        out[self.members[chosen[self.member_list()]]] = True
        return out


@dataclass
class Evidence:
    """Candidate pairs (a < b) and, per (pair, list) they share, one entry."""

    pairs: np.ndarray  # (P, 2) int64
    entry_pair: np.ndarray  # int64 row of ``pairs``
    entry_list: np.ndarray  # int64 list index


def doc_bits(n_docs: int) -> int:
    """Low bits of a packed posting key that hold the document (the rest hold the fingerprint)."""
    return max(1, (max(n_docs, 2) - 1).bit_length())


def bucket_ranges(shards: Sequence[Shard], budget: int) -> list[tuple[int, int]]:
    """Ranges of the 256 fingerprint buckets holding at most ``budget`` postings each (or one bucket)."""
    counts = np.zeros(256, dtype=np.int64)
    for s in shards:
        counts += np.diff(s.bucket_bounds)
    out, lo, total = [], 0, 0
    for b in range(256):
        if total and total + counts[b] > budget:
            out.append((lo, b))
            lo, total = b, 0
        total += int(counts[b])
    out.append((lo, 256))
    return out


def list_hash(docs: np.ndarray, run_starts: np.ndarray, run_sizes: np.ndarray) -> np.ndarray:
    """An order-free hash of each run's set of documents (sum of mixed ids, mixed with the size)."""
    summed = np.add.reduceat(mix64(docs.astype(np.uint64) + np.uint64(1)), run_starts)
    with np.errstate(over="ignore"):
        return mix64(summed ^ (run_sizes.astype(np.uint64) * GOLDEN))


def _partition_lists(
    shards: Sequence[Shard], bases: np.ndarray, bits: int, lo: int, hi: int, spill: Path | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lists of one bucket range: (hashes, weights, member offsets, members), hashes unique.

    With ``spill``, writes the (truncated fingerprint, list hash) of every shared shingle there,
    so the fingerprints of the lists found to be boilerplate can be listed later.
    """
    mask = np.uint64((1 << bits) - 1)
    parts = []
    for s, base in zip(shards, bases.tolist()):
        fps, docs = s.bucket_rows(lo, hi)
        if len(fps):
            key = np.asarray(fps) & ~mask
            key |= np.asarray(docs).astype(np.uint64) + np.uint64(base)
            parts.append(key)
    empty = np.zeros(0, dtype=np.uint64)
    if not parts:
        return empty, np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, _doc_type(bits))
    keys = np.concatenate(parts) if len(parts) > 1 else parts[0].copy()
    del parts
    keys.sort()
    if len(keys) > 1:  # two fingerprints of one document equal once truncated: one posting
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    fp = keys >> np.uint64(bits)
    new = np.ones(len(fp), dtype=bool)
    new[1:] = fp[1:] != fp[:-1]
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, len(fp)))
    shared = sizes >= 2
    starts, sizes = starts[shared], sizes[shared]
    if len(starts) == 0:
        return empty, np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, _doc_type(bits))
    rows = np.repeat(starts - (np.cumsum(sizes) - sizes), sizes) + np.arange(int(sizes.sum()))
    docs = (keys[rows] & mask).astype(_doc_type(bits))
    run_fp = fp[starts]
    del keys, fp, rows, new
    local_starts = np.cumsum(sizes) - sizes
    h = list_hash(docs, local_starts, sizes)
    if spill is not None:
        _save_atomic(spill / f"{lo:03d}-fp.npy", run_fp)
        _save_atomic(spill / f"{lo:03d}-list.npy", h)
    order = np.argsort(h, kind="stable")
    hs = h[order]
    first = np.ones(len(hs), dtype=bool)
    first[1:] = hs[1:] != hs[:-1]
    group_start = np.flatnonzero(first)
    weights = np.diff(np.append(group_start, len(hs)))
    rep = order[group_start]  # one run per distinct list: its members
    m = sizes[rep]
    member_offsets = np.zeros(len(rep) + 1, dtype=np.int64)
    np.cumsum(m, out=member_offsets[1:])
    idx = np.repeat(local_starts[rep] - member_offsets[:-1], m) + np.arange(int(member_offsets[-1]))
    return hs[group_start], weights.astype(np.int64), member_offsets, docs[idx]


def _doc_type(bits: int) -> type:
    """The integer type of a list's members: int32 when every document number fits (half the memory)."""
    return np.int32 if bits <= 31 else np.int64


def _save_atomic(path: Path, array: np.ndarray) -> None:
    """``np.save`` under a temporary name, renamed into place: a partition run again (a retried task)
    replaces the file whole, and a reader never sees half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.save(f, array, allow_pickle=False)
    os.replace(tmp, path)


@dataclass(frozen=True)
class PartitionJob:
    """What every partition's lists are built from: the shards, their first global document indices,
    the document bits of a packed key (``doc_bits``) and where to spill fingerprints (or None)."""

    shards: Sequence[Shard]
    bases: np.ndarray
    bits: int
    spill: Path | None


Partition = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # hashes, weights, member offsets, members


def partition_lists(job: PartitionJob, buckets: tuple[int, int]) -> Partition:
    """The posting lists of one range of fingerprint buckets over every shard: a pure function of its
    inputs (a task of an ``Executor``; run again, it gives the same lists and spill files)."""
    return _partition_lists(job.shards, job.bases, job.bits, buckets[0], buckets[1], job.spill)


def combine_partitions(parts: Sequence[Partition]) -> Lists:
    """The lists of all partitions as one ``Lists``: the same set of documents sharing shingles in several
    partitions is one list, weights summed."""
    if not parts:
        return Lists(np.zeros(0, np.uint64), np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    hashes = np.concatenate([p[0] for p in parts])
    weights = np.concatenate([p[1] for p in parts])
    sizes = np.concatenate([np.diff(p[2]) for p in parts])
    members = np.concatenate([p[3] for p in parts])
    starts = np.cumsum(sizes) - sizes
    order = np.argsort(hashes, kind="stable")
    hs = hashes[order]
    first = np.ones(len(hs), dtype=bool)
    first[1:] = hs[1:] != hs[:-1]
    group = np.cumsum(first) - 1
    total = np.bincount(group, weights=weights[order]).astype(np.int64) if len(hs) else np.zeros(0, np.int64)
    rep = order[first]
    m = sizes[rep]
    offsets = np.zeros(len(rep) + 1, dtype=np.int64)
    np.cumsum(m, out=offsets[1:])
    return Lists(hashes=hs[first], offsets=offsets, members=gather_runs(members, starts[rep], m), weight=total)


def gather_runs(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``values[starts[i]:starts[i] + lengths[i]]`` for every i, back to back, ``MEMBER_ROWS`` entries at a time:
    the gather's index (8 bytes an entry, twice while it is built) is held for one chunk, not for every member
    of every list (over 1 GB at 300k fixed-pool articles)."""
    ends = np.cumsum(lengths)
    out = np.empty(int(ends[-1]) if len(ends) else 0, dtype=values.dtype)
    i, pos = 0, 0
    while i < len(lengths):
        j = max(i + 1, int(np.searchsorted(ends, pos + MEMBER_ROWS, side="right")))
        runs = lengths[i:j]
        n = int(runs.sum())
        out[pos : pos + n] = values[np.repeat(starts[i:j] - (np.cumsum(runs) - runs), runs) + np.arange(n)]
        i, pos = j, pos + n
    return out


def posting_lists(
    shards: Sequence[Shard],
    bases: np.ndarray,
    n_docs: int,
    spill: Path | None = None,
    budget: int = PARTITION_ROWS,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
) -> Lists:
    """All posting lists of two or more documents, over every shard (``bases``: each shard's first
    global document index); ``progress(done, total)`` after each partition. The partitions run on
    ``executor`` (default: ``threads`` threads here, as numpy sorts release the GIL; or a cluster)."""
    ranges = bucket_ranges(shards, budget)
    job = PartitionJob(list(shards), bases, doc_bits(n_docs), spill)
    parts: list[Partition] = []
    run = executor or Threads(threads)
    for part in run.map(partition_lists, job, ranges, label=lambda r: f"fingerprint buckets {r[0]}-{r[1] - 1}"):
        parts.append(part)
        if progress:
            progress(len(parts), len(ranges))
    return combine_partitions(parts)


def _spilled_fingerprints(wanted: np.ndarray, path: str) -> np.ndarray:
    """The truncated fingerprints spilled at ``path`` (one bucket range's) whose list is in ``wanted`` (sorted
    list hashes): a pure function of its inputs, a task of an ``Executor``."""
    fp = np.load(path, allow_pickle=False)
    h = np.load(path.replace("-fp.npy", "-list.npy"), allow_pickle=False)
    if not len(wanted):
        return np.zeros(0, dtype=np.uint64)
    pos = np.minimum(np.searchsorted(wanted, h), len(wanted) - 1)
    return fp[wanted[pos] == h]


def list_fingerprints(spill: Path, lists: Lists, chosen: np.ndarray, executor: Executor | None = None) -> np.ndarray:
    """Sorted truncated fingerprints of the shingles of the lists flagged in ``chosen``, bucket range by bucket
    range of the spill on ``executor`` (default: here, one after the other)."""
    wanted = lists.hashes[chosen]
    paths = [str(p) for p in sorted(spill.glob("*-fp.npy"))]
    run = executor or Threads(1)
    out = list(run.map(_spilled_fingerprints, wanted, paths, label=lambda p: f"boilerplate fingerprints of {p}"))
    if not out:
        return np.zeros(0, dtype=np.uint64)
    return np.sort(np.concatenate(out))


def packed_sorted(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """(high << 32 | low) of two arrays of non-negative integers below 2**32, sorted: built and sorted in place,
    one uint64 an entry beside the inputs (the expression and ``np.sort`` held four)."""
    keys = high.astype(np.uint64)
    keys <<= np.uint64(32)
    keys |= low.astype(np.uint64, copy=False)
    keys.sort()
    return keys


def pair_codes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Each pair (a[k], b[k]) as one uint64, smaller << 32 | larger: sorted codes are pairs in order."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return (lo.astype(np.uint64) << np.uint64(32)) | hi.astype(np.uint64)


def _enumerate(lists: Lists, small: np.ndarray, max_members: int) -> tuple[np.ndarray, np.ndarray]:
    """All (pair code, list) of the members of the lists flagged ``small``."""
    owner = lists.member_list()
    keep = small[owner]
    mem, own = lists.members[keep], owner[keep]
    codes, which = [], []
    for d in range(1, max_members):
        i = np.flatnonzero(own[d:] == own[:-d])
        if i.size == 0:
            break
        codes.append(pair_codes(mem[i], mem[i + d]))
        which.append(own[i].astype(np.int64))
    if not codes:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    return np.concatenate(codes), np.concatenate(which)


def _star_chain(lists: Lists, big: np.ndarray) -> np.ndarray:
    """Pair codes linking each big list's members: first to every other, and each to the next."""
    owner = lists.member_list()
    sel = np.flatnonzero(big[owner])
    if sel.size == 0:
        return np.zeros(0, np.uint64)
    mem, own = lists.members[sel], owner[sel]
    hub = lists.members[lists.offsets[own]]
    star = pair_codes(hub, mem)[hub != mem]
    same = own[1:] == own[:-1]
    chain = pair_codes(mem[:-1][same], mem[1:][same])
    return np.concatenate([star, chain])


def _shared_big(codes: np.ndarray, off: np.ndarray, pa: np.ndarray, pb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For pairs (pa[k], pb[k]): (pair k, big list) for each big list both hold, ordered by k then list.

    ``codes`` are the (document << 32 | list) memberships of the big lists, ascending; ``off`` each
    document's row of them. Of each pair, the side holding fewer lists looks each of its lists up among
    the other's: O(min) per pair, however many lists (or members) the other side has."""
    la = off[pa + 1] - off[pa]
    lb = off[pb + 1] - off[pb]
    fewer = lb < la
    probe, other = np.where(fewer, pb, pa), np.where(fewer, pa, pb)
    n = np.minimum(la, lb)
    k = np.repeat(np.arange(len(pa), dtype=np.int64), n)
    at = np.repeat(off[probe] - (np.cumsum(n) - n), n) + np.arange(int(n.sum()))
    lst = codes[at] & np.uint64(0xFFFFFFFF)
    want = (other[k].astype(np.uint64) << np.uint64(32)) | lst
    pos = np.minimum(np.searchsorted(codes, want), len(codes) - 1)
    hit = codes[pos] == want
    return k[hit], lst[hit].astype(np.int64)


@dataclass
class _Probe:
    codes: np.ndarray
    off: np.ndarray
    pairs: np.ndarray


def _probe_chunk(c: _Probe, part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row of ``pairs``, big list) for each big list both sides of the pairs ``part`` hold."""
    out_k, out_l = [], []
    for lo in range(0, len(part), PROBE_PAIRS):
        rows = part[lo : lo + PROBE_PAIRS]
        k, shared = _shared_big(c.codes, c.off, c.pairs[rows, 0], c.pairs[rows, 1])
        out_k.append(rows[k])
        out_l.append(shared)
    if not out_k:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(out_k), np.concatenate(out_l)


def _linking(
    lists: Lists, big: np.ndarray, doc_sizes: np.ndarray, partial_min_shared: int, link_share: float
) -> np.ndarray:
    """The big lists that can make a relation on their own: at least ``partial_min_shared`` shingles, or at
    least ``link_share`` of two or more of their members. A sentence recurring in a thousand
    unrelated articles is neither, and adds its weight only to pairs found by other evidence."""
    owner = lists.member_list()
    count = np.zeros(len(lists), dtype=np.int64)
    for lo in range(0, len(owner), MEMBER_ROWS):  # a chunk of members at a time: bounded temporaries
        own = owner[lo : lo + MEMBER_ROWS]
        sel = np.flatnonzero(big[own])
        own = own[sel]
        mostly = lists.weight[own] >= link_share * np.maximum(doc_sizes[lists.members[lo + sel]], 1)
        count += np.bincount(own[mostly], minlength=len(lists))
    return big & ((lists.weight >= partial_min_shared) | (count >= 2))


@dataclass
class ListEntries:
    """What one partition of the lists gives the candidate pairs (``list_entries``); list numbers are the
    partition's own, from 0."""

    codes: np.ndarray  # pair code (a << 32 | b) of each pair of members of a small list
    which: np.ndarray  # its list
    weight: np.ndarray  # that list's weight
    links: np.ndarray  # pair codes linking the members of the big lists that can make a relation alone
    big_member: np.ndarray  # (member, big list) memberships of every list too big to enumerate
    big_list: np.ndarray


def list_entries(
    lists: Lists, doc_sizes: np.ndarray, partial_min_shared: int, link_share: float, max_enumerate: int
) -> ListEntries:
    """The pair evidence a set of lists gives on its own (module docstring): the (pair, list) entries of its
    small lists, the star and chain links of its linking big lists, and its big lists' memberships. A pure
    function of the lists it is given: the lists of a corpus split by list hash give, together, the entries
    of the whole (a list never spans two partitions)."""
    sizes = lists.sizes()
    known = lists.known if lists.known is not None else np.zeros(len(lists), dtype=bool)
    small = (sizes <= max_enumerate) & ~known
    codes, which = _enumerate(lists, small, max_enumerate)
    links = _star_chain(lists, _linking(lists, ~small & ~known, doc_sizes, partial_min_shared, link_share))
    owner = lists.member_list()
    sel = np.flatnonzero(~small[owner])
    return ListEntries(codes, which, lists.weight[which], links, lists.members[sel], owner[sel])


def pair_entries(
    codes: np.ndarray,
    which: np.ndarray,
    weight: np.ndarray,
    others: Sequence[np.ndarray],
    min_shared: int,
) -> Evidence:
    """Candidate pairs and their small lists' entries from (pair code, list, weight) entries and the pair codes
    ``others`` (big lists' links, exact copies) that are candidates whatever they share: a small list's pair is
    a candidate when its lists hold ``min_shared`` shingles together. A pure function of the entries of a set
    of pairs: split by pair code, the parts give the whole's pairs, in order."""
    made = codes
    if min_shared > 1 and len(codes):
        made, at = np.unique(codes, return_inverse=True)
        made = made[np.bincount(at, weights=weight) >= min_shared]
    pair_codes = np.unique(np.concatenate([made, *others])) if len(others) else np.unique(made)
    pair_codes = pair_codes[(pair_codes >> np.uint64(32)) != (pair_codes & np.uint64(0xFFFFFFFF))]
    entry_pair = np.searchsorted(pair_codes, codes).astype(np.int64)
    entry_list = which
    if len(made) < len(codes):  # entries of the pairs that are candidates only
        found = np.zeros(len(codes), dtype=bool)
        if len(pair_codes):
            found = pair_codes[np.minimum(entry_pair, len(pair_codes) - 1)] == codes
        entry_pair, entry_list = entry_pair[found], entry_list[found]
    pairs = np.stack(
        [(pair_codes >> np.uint64(32)).astype(np.int64), (pair_codes & np.uint64(0xFFFFFFFF)).astype(np.int64)], axis=1
    )
    return Evidence(pairs=pairs, entry_pair=entry_pair, entry_list=entry_list)


def big_entries(ev: Evidence, big_member: np.ndarray, big_list: np.ndarray, n_docs: int, workers: int = 1) -> Evidence:
    """``ev`` with an entry for each big list both sides of a candidate pair hold (``big_member``,
    ``big_list``: the big lists' memberships; those of articles in no pair of ``ev`` may be left out), found
    by ``workers`` processes side by side (the same entries, in the same order, whatever their number)."""
    pairs = ev.pairs
    if not len(big_member) or not len(pairs):
        return ev
    # Each document's big lists (ascending), then for each candidate pair the big lists both hold.
    involved = np.zeros(n_docs, dtype=bool)
    involved[pairs.ravel()] = True  # only the documents of candidate pairs are looked up
    sel = involved[big_member]
    held = np.sort((big_member[sel].astype(np.uint64) << np.uint64(32)) | big_list[sel].astype(np.uint64))
    off = np.searchsorted(held, np.arange(n_docs + 1, dtype=np.uint64) << np.uint64(32)).astype(np.int64)
    has = np.diff(off) > 0
    cand = np.flatnonzero(has[pairs[:, 0]] & has[pairs[:, 1]])
    del sel, has, involved
    # Chunks balanced by the lists they look up, a few per worker.
    cost = np.cumsum(np.minimum(np.diff(off)[pairs[cand, 0]], np.diff(off)[pairs[cand, 1]]))
    n_chunks = max(1, min(len(cand) // PROBE_PAIRS + 1, 4 * workers)) if workers > 1 else 1
    cuts = np.searchsorted(cost, cost[-1] * np.arange(1, n_chunks) / n_chunks) if len(cand) else []
    chunks = [c for c in np.split(cand, cuts) if len(c)]
    more_pairs, more_lists = [ev.entry_pair], [ev.entry_list]
    for k, shared in fan_out(_probe_chunk, _Probe(held, off, pairs), chunks, workers):
        more_pairs.append(k)
        more_lists.append(shared)
    return Evidence(pairs=pairs, entry_pair=np.concatenate(more_pairs), entry_list=np.concatenate(more_lists))


def pair_evidence(
    lists: Lists,
    doc_sizes: np.ndarray,
    extra: np.ndarray | None = None,
    partial_min_shared: int = 50,
    link_share: float = 0.5,
    max_enumerate: int = 32,
    workers: int = 1,
    min_shared: int = 0,
) -> Evidence:
    """Candidate pairs and the lists each shares (see the module docstring); ``extra`` adds pairs
    (a, b) that must be measured whatever the lists say (exact copies). A big list links its members
    only when it can make a relation by itself (``_linking``: ``partial_min_shared`` shingles, or
    ``link_share`` of its members' distinct shingles). The big lists each pair shares are found by
    ``workers`` processes side by side (the same entries, in the same order, whatever their number).

    A pair the small lists alone make is a candidate when those lists hold ``min_shared`` shingles
    together: a shingle or two that a handful of unrelated articles share by chance (a common phrase)
    makes no relation, and such chance pairs grow with the corpus while the evidence does not.

    The steps are those a cluster runs partition by partition (``dedup.distributed.partitioned``), here on
    one partition of the lists and one of the pairs: ``list_entries``, ``pair_entries``, ``big_entries``."""
    e = list_entries(lists, doc_sizes, partial_min_shared, link_share, max_enumerate)
    others = [e.links]
    if extra is not None and len(extra):
        others.append(pair_codes(extra[:, 0], extra[:, 1]))
    ev = pair_entries(e.codes, e.which, e.weight, others, min_shared)
    return big_entries(ev, e.big_member, e.big_list, len(doc_sizes), workers)
