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

A sentence recurring in many articles makes several big lists whose member sets are nearly the same (each of
its shingles is held by its holders, with or without a few: a truncated copy, a shared phrase), and stored
plainly each would hold every member, so the lists would grow with the shingles, not with the evidence. A
scan therefore stores big lists by *family* (``ListGrouper``, ``Families``): one base member set per family
and, per list, the members it adds or lacks. Whatever reads the lists reads them through ``Lists``' methods,
which count a family's base once (with its lists' summed weight, or its values once) and then the exceptions
(``weight_per_doc``, ``holders``, ``distinct_per_list``; the bases a chunk of families at a time). A candidate
pair's big lists are found from the family bases both sides hold, then the exceptions, and kept as one entry per
(pair, family) with corrections for the lists either side lacks (``family_evidence``, ``FamilyEvidence``): two
articles sharing a recurring sentence share every one of its near-equal lists, and one entry each would grow
with them. The small lists' pairs are enumerated a range of pair codes at a time, keeping only the candidates'
(``small_pair_entries``). Every count is exact: the result is the same as from the plain lists.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .arrays import run_index
from .featurestore import Shard
from .hashing import GOLDEN, mix64
from .kernels import native
from .workers import Executor, Threads, fan_out

PARTITION_ROWS = 1 << 22  # postings sorted at once (4M rows: ~32 MB of keys, ~150 MB with the temporaries)
MEMBER_ROWS = 1 << 23  # list memberships handled at once where every member of every list is gone through
FAMILY_ROWS = 1 << 21  # family base members counted at once (``_family_chunks``: sorts and their temporaries)
PROBE_PAIRS = 1 << 16  # candidate pairs whose big lists are intersected at once (bounded temporaries)


@dataclass
class Families:
    """Big lists stored once per family of near-equal member sets: family f's base is
    ``members[offsets[f]:offsets[f + 1]]``; list l of family ``of[l]`` (-1: a list stored plainly in ``Lists``)
    holds that base without ``lacks[lack_offsets[l]:lack_offsets[l + 1]]`` (members of the base) and with
    ``adds[add_offsets[l]:add_offsets[l + 1]]`` (members not in the base), each ascending (``group_lists``)."""

    of: np.ndarray
    offsets: np.ndarray
    members: np.ndarray
    add_offsets: np.ndarray
    adds: np.ndarray
    lack_offsets: np.ndarray
    lacks: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def base_sizes(self) -> np.ndarray:
        return np.diff(self.offsets)

    def bases(self, f0: int, f1: int) -> tuple[np.ndarray, np.ndarray]:
        """The base members of families ``f0`` to ``f1 - 1``, back to back, and each of these families' count of them
        (a chunk of ``_family_chunks``)."""
        return self.members[int(self.offsets[f0]) : int(self.offsets[f1])], np.diff(self.offsets[f0 : f1 + 1])

    def base_owner(self) -> np.ndarray:
        """The family of each entry of ``members`` (int32)."""
        return np.repeat(np.arange(len(self), dtype=np.int32), self.base_sizes())

    def add_owner(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.of), dtype=np.int64), np.diff(self.add_offsets))

    def lack_owner(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.of), dtype=np.int64), np.diff(self.lack_offsets))

    def stored(self) -> int:
        """Members stored: the bases and every list's exceptions."""
        return len(self.members) + len(self.adds) + len(self.lacks)


@dataclass
class Lists:
    """Posting lists, sorted by their hash: list l holds ``members[offsets[l]:offsets[l+1]]``
    (ascending document indices, int32 below 2**31 documents) and ``weight[l]`` shingles.

    With ``families`` (``group_lists``), a list of a family stores no members here (an empty run): its members
    are its family's base and its exceptions. Read the members through the methods (``sizes``,
    ``weight_per_doc``, ``holders``, ``distinct_per_list``, ``expanded``), which take either form."""

    hashes: np.ndarray
    offsets: np.ndarray
    members: np.ndarray
    weight: np.ndarray
    # Lists known to be boilerplate from beyond what they list (a query's fingerprints held by more indexed
    # articles than it looks at; only the holders it looks at are members): never expanded into pairs,
    # never linking, boilerplate whatever verification finds. None: no such list (a scan).
    known: np.ndarray | None = None
    families: Families | None = None
    _owner: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.hashes)

    def sizes(self) -> np.ndarray:
        out = np.diff(self.offsets)
        fam = self.families
        if fam is not None:
            out = out + np.diff(fam.add_offsets) - np.diff(fam.lack_offsets)
            inf = fam.of >= 0
            out[inf] += fam.base_sizes()[fam.of[inf]]
        return out

    def stored_members(self) -> int:
        """Members stored, plainly and in families (what the lists cost in memory, 4 bytes each)."""
        return len(self.members) + (self.families.stored() if self.families is not None else 0)

    def member_list(self) -> np.ndarray:
        """The list of each entry of ``members`` (int32 below 2**31 lists), computed once: match asks for it in
        every step, and it is as long as the plainly stored members together (read-only)."""
        if self._owner is None:
            kind = np.int32 if len(self) < 1 << 31 else np.int64
            self._owner = np.repeat(np.arange(len(self), dtype=kind), np.diff(self.offsets))
            self._owner.flags.writeable = False
        return self._owner

    def weight_per_doc(self, n_docs: int, chosen: np.ndarray | None = None) -> np.ndarray:
        """Per document, the summed weight of the lists it is a member of (of those flagged in ``chosen``, when
        given), as ``np.bincount`` gives it (float64, exact: integer sums), ``FAMILY_ROWS`` members at a time
        (temporaries of 8 bytes a member, over every list's members, were most of verify's peak). A family
        counts its base once, with the summed weight of its lists, and its lists' exceptions apart."""
        owner = self.member_list()
        out = np.zeros(n_docs, dtype=np.float64)
        # FAMILY_ROWS members at a time (~17 bytes each while counted: verification's peak at 300k articles).
        for lo in range(0, len(owner), FAMILY_ROWS):
            own, mem = owner[lo : lo + FAMILY_ROWS], self.members[lo : lo + FAMILY_ROWS]
            if chosen is not None:
                keep = chosen[own]
                own, mem = own[keep], mem[keep]
            out += np.bincount(mem, weights=self.weight[own], minlength=n_docs)
        fam = self.families
        if fam is not None:
            w = self.weight if chosen is None else np.where(chosen, self.weight, 0)
            inf = fam.of >= 0
            per_family = np.bincount(fam.of[inf], weights=w[inf], minlength=len(fam))
            for f0, f1 in _family_chunks(fam):  # each base member's weight, a chunk of families at a time
                members, sizes = fam.bases(f0, f1)
                out += np.bincount(members, weights=np.repeat(per_family[f0:f1], sizes), minlength=n_docs)
            out += np.bincount(fam.adds, weights=w[fam.add_owner()], minlength=n_docs)
            out -= np.bincount(fam.lacks, weights=w[fam.lack_owner()], minlength=n_docs)
        return out

    def holders(self, chosen: np.ndarray, n_docs: int) -> np.ndarray:
        """A bool per document: whether it is a member of any list flagged in ``chosen``."""
        out = np.zeros(n_docs, dtype=bool)
        out[self.members[chosen[self.member_list()]]] = True
        fam = self.families
        if fam is not None:
            inf = (fam.of >= 0) & chosen
            n_chosen = np.bincount(fam.of[inf], minlength=len(fam))
            count = np.zeros(n_docs, dtype=np.int64)
            for f0, f1 in _family_chunks(fam):  # the chosen families' base members, a chunk of families at a time
                members, sizes = fam.bases(f0, f1)
                count += np.bincount(members[np.repeat(n_chosen[f0:f1] > 0, sizes)], minlength=n_docs)
            lack_owner = fam.lack_owner()
            sel = chosen[lack_owner]
            if sel.any():  # a base member lacking from every chosen list of its family holds none of them
                keys, times = np.unique(packed_sorted(fam.of[lack_owner[sel]], fam.lacks[sel]), return_counts=True)
                whole = times == n_chosen[(keys >> np.uint64(32)).astype(np.int64)]
                count -= np.bincount((keys[whole] & _LOW).astype(np.int64), minlength=n_docs)
            count += np.bincount(fam.adds[chosen[fam.add_owner()]], minlength=n_docs)
            out |= count > 0
        return out

    def distinct_per_list(self, values: np.ndarray, labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per list, how many distinct ``values[member]`` its members have, and how many members share the most
        common (``distinct_per_run``; ``values`` below 2**32). A family's base is counted once; each of its lists
        then differs from it only in the values its exceptions touch. Compiled where built (``_family_distinct``:
        one counting pass, no sort, two halves of the families on two threads), else numpy a chunk of families at
        a time (bounded temporaries; each chunk's lists are its families' own), in this thread: numpy's
        temporaries on a second thread made its malloc arena keep ~200 MB (benchmarks/README.md, match8)."""
        distinct, top = distinct_per_run(self.member_list(), values[self.members], len(self), labels)
        fam = self.families
        if fam is None or not len(fam):
            return distinct, top
        counted = _family_distinct(fam, values, len(self))
        if counted is not None:
            return distinct + counted[0], np.maximum(top, counted[1])
        best = np.zeros(len(self), dtype=np.int64)
        job = _DistinctJob(self, values)
        for chunk in _family_chunks(fam):
            lists, more, most = _distinct_in_families(job, chunk)
            distinct[lists] += more  # the chunks' lists are disjoint
            best[lists] = most
        return distinct, np.maximum(top, best)

    def members_within(self, chosen: np.ndarray, need: np.ndarray, limit: np.ndarray) -> np.ndarray:
        """Per list flagged in ``chosen`` (0 elsewhere), how many of its members m have ``need[m] <= limit[list]``
        (``need`` per document, float64). A family's base is sorted by ``need`` once: each of its lists counts
        its base's members within its limit by a binary search, then its exceptions."""
        count = np.zeros(len(self), dtype=np.int64)
        fam = self.families
        plain = chosen if fam is None else chosen & (fam.of < 0)
        for own, mem in self.expanded(plain):  # a chunk of members at a time: bounded temporaries
            within = limit[own] >= need[mem]
            count += np.bincount(own[within], minlength=len(self))
        if fam is None or not len(fam):
            return count
        lists = np.flatnonzero(chosen & (fam.of >= 0))
        if not len(lists):
            return count
        # (family << 32 | rank of need) of every base member, ascending: a list's base members within its limit
        # are those of its family below the rank of the first need above it. The ranks are the documents' (one
        # sort of a number a document, where the distinct needs of each chunk's members were a sort of them all);
        # a chunk of families at a time.
        values, doc_rank = np.unique(need, return_inverse=True)
        doc_rank = doc_rank.reshape(-1).astype(np.int64)
        for f0, f1 in _family_chunks(fam):
            some = lists[(fam.of[lists] >= f0) & (fam.of[lists] < f1)]
            if not len(some):
                continue
            members, sizes = fam.bases(f0, f1)
            owner = np.repeat(np.arange(f0, f1, dtype=np.int64), sizes)
            keys = packed_sorted(owner, doc_rank[members])
            del owner
            f = fam.of[some].astype(np.uint64) << np.uint64(32)
            above = np.searchsorted(values, limit[some].astype(np.float64), side="right").astype(np.uint64)
            count[some] = np.searchsorted(keys, f | above) - np.searchsorted(keys, f)
        for owner, members, sign in ((fam.add_owner(), fam.adds, 1), (fam.lack_owner(), fam.lacks, -1)):
            sel = chosen[owner]
            own, mem = owner[sel], members[sel]
            within = limit[own] >= need[mem]
            count += sign * np.bincount(own[within], minlength=len(self))
        return count

    def expanded(self, chosen: np.ndarray, ordered: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(list, member) of every membership of the lists flagged in ``chosen``, about ``MEMBER_ROWS`` at a time
        (bounded temporaries). ``ordered``: each list's members ascending and the lists in order, a list never
        split between two chunks (else in no particular order)."""
        owner = self.member_list()
        if ordered:
            lists = np.flatnonzero(chosen & (np.diff(self.offsets) > 0))
            for _, own, mem in _runs_in_chunks(self.members, self.offsets[lists], np.diff(self.offsets)[lists], lists):
                yield own, mem
        else:
            for lo in range(0, len(owner), MEMBER_ROWS):
                own = owner[lo : lo + MEMBER_ROWS]
                sel = np.flatnonzero(chosen[own])
                if len(sel):
                    yield own[sel], self.members[lo + sel]
        fam = self.families
        if fam is None:
            return
        lists = np.flatnonzero(chosen & (fam.of >= 0))
        f = fam.of[lists]
        for ls, own, mem in _runs_in_chunks(fam.members, fam.offsets[f], fam.base_sizes()[f], lists):
            lack_n = fam.lack_offsets[ls + 1] - fam.lack_offsets[ls]
            if lack_n.sum():
                lk = packed(np.repeat(ls, lack_n), gather_runs(fam.lacks, fam.lack_offsets[ls], lack_n))
                mk = (own.astype(np.uint64) << np.uint64(32)) | mem.astype(np.uint64)
                pos = np.minimum(np.searchsorted(lk, mk), len(lk) - 1)
                keep = lk[pos] != mk
                own, mem = own[keep], mem[keep]
            add_n = fam.add_offsets[ls + 1] - fam.add_offsets[ls]
            if add_n.sum():
                own = np.concatenate([own, np.repeat(ls, add_n).astype(own.dtype)])
                mem = np.concatenate([mem, gather_runs(fam.adds, fam.add_offsets[ls], add_n)])
                if ordered:
                    keys = packed_sorted(own, mem)
                    own, mem = (keys >> np.uint64(32)).astype(np.int64), (keys & _LOW).astype(fam.members.dtype)
            yield own, mem

    def plain(self) -> Lists:
        """The same lists with every member stored plainly (no families)."""
        if self.families is None:
            return self
        everything = np.ones(len(self), dtype=bool)
        parts = list(self.expanded(everything, ordered=True))
        owner = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
        members = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, self.members.dtype)
        keys = packed_sorted(owner, members)
        offsets = np.zeros(len(self) + 1, dtype=np.int64)
        np.cumsum(np.bincount((keys >> np.uint64(32)).astype(np.int64), minlength=len(self)), out=offsets[1:])
        return Lists(self.hashes, offsets, (keys & _LOW).astype(self.members.dtype), self.weight, self.known)


@dataclass(frozen=True)
class _DistinctJob:
    """What ``_distinct_in_families``' chunks share: the lists and the value of each document."""

    lists: Lists
    values: np.ndarray


def _distinct_in_families(job: _DistinctJob, chunk: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``Lists.distinct_per_list`` for the lists of the families ``chunk = (f0, f1)`` (f1 excluded): those lists
    (ascending), the distinct values their family's base and exceptions add to each, and the count of each one's
    most common value."""
    lists, values = job.lists, job.values
    f0, f1 = chunk
    fam = lists.families
    assert fam is not None
    # The base's (family, value) counts, and per family its values by count, most first.
    members, sizes = fam.bases(f0, f1)
    owner = np.repeat(np.arange(f0, f1, dtype=np.int64), sizes)
    keys = packed_sorted(owner, values[members])
    del owner
    start = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))) if len(keys) else np.zeros(0, np.int64)
    count = np.diff(start, append=len(keys))
    head = keys[start]
    del keys, start
    head_family = (head >> np.uint64(32)).astype(np.int64) - f0
    family_distinct = np.bincount(head_family, minlength=f1 - f0)
    by_count = np.lexsort((-count, head_family))
    desc_value, desc_count = head[by_count] & _LOW, count[by_count]
    del by_count, head_family
    desc_start = np.cumsum(family_distinct) - family_distinct
    # Each list's exceptions as (list, value) count changes; lists numbered by their rank in ``in_family``.
    in_family = np.flatnonzero((fam.of >= f0) & (fam.of < f1))
    n = len(in_family)
    local = np.arange(n, dtype=np.int64)
    add_n = fam.add_offsets[in_family + 1] - fam.add_offsets[in_family]
    lack_n = fam.lack_offsets[in_family + 1] - fam.lack_offsets[in_family]
    adds = gather_runs(fam.adds, fam.add_offsets[in_family], add_n)
    lacks = gather_runs(fam.lacks, fam.lack_offsets[in_family], lack_n)
    delta_keys = np.concatenate(
        [packed_sorted(np.repeat(local, add_n), values[adds]), packed_sorted(np.repeat(local, lack_n), values[lacks])]
    )
    signs = np.concatenate([np.ones(len(adds), np.int64), -np.ones(len(lacks), np.int64)])
    touched, at = np.unique(delta_keys, return_inverse=True)
    delta = np.bincount(at, weights=signs, minlength=len(touched)).astype(np.int64)
    t_list = (touched >> np.uint64(32)).astype(np.int64)
    t_value = touched & _LOW
    family = fam.of[in_family]  # each list's family
    base_count = np.zeros(len(touched), dtype=np.int64)
    if len(head) and len(touched):
        q = (family[t_list].astype(np.uint64) << np.uint64(32)) | t_value
        pos = np.minimum(np.searchsorted(head, q), len(head) - 1)
        hit = head[pos] == q
        base_count[hit] = count[pos[hit]]
    now = base_count + delta
    f = family - f0
    change = (now > 0).astype(np.int64) - (base_count > 0)
    more = family_distinct[f] + np.bincount(t_list, weights=change, minlength=n).astype(np.int64)
    most = np.zeros(n, dtype=np.int64)
    np.maximum.at(most, t_list, now)
    # The most common value no exception touches: among a list's first (touched + 1) by count.
    n_touched = np.bincount(t_list, minlength=n)
    m = np.minimum(n_touched + 1, family_distinct[f])
    rows = run_index(desc_start[f], m)
    c_list = np.repeat(local, m)
    c_keys = (c_list.astype(np.uint64) << np.uint64(32)) | desc_value[rows]
    free = np.ones(len(c_keys), dtype=bool)
    if len(touched) and len(c_keys):
        pos = np.minimum(np.searchsorted(touched, c_keys), len(touched) - 1)
        free = touched[pos] != c_keys
    np.maximum.at(most, c_list[free], desc_count[rows][free])
    return in_family, more, most


FAMILY_THREAD_WORK = 1 << 18  # base members and exceptions below which ``_family_distinct`` runs on one thread


def _family_distinct(
    fam: Families, values: np.ndarray, n_lists: int, threads: int | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """``Lists.distinct_per_list``'s family part compiled (``kernels._match.family_distinct``): per list of a
    family (0 for the others), the distinct ``values`` of its members and the count of its most common one, the
    numbers ``_distinct_in_families`` gives. The families in two ranges of about equal work on ``threads``
    threads (default: two where there are two cores), each with its own scratch arrays (one counter a value,
    allocated here: nothing is allocated on the threads, so no malloc arena of theirs keeps memory). None where
    the kernel is not built or cannot take the arrays (values negative, or too large to count by slot)."""
    compiled = native("match")
    if compiled is None:
        return None
    kind = fam.members.dtype
    if kind not in (np.int32, np.int64) or fam.adds.dtype != kind or fam.lacks.dtype != kind:
        return None
    v = np.ascontiguousarray(values, dtype=np.int64)
    if len(v) and (int(v.min()) < 0 or int(v.max()) >= max(1 << 22, 4 * len(v))):
        return None
    n_values = int(v.max()) + 1 if len(v) else 1
    in_family = np.flatnonzero(fam.of >= 0)
    of_in = fam.of[in_family]
    by_family = in_family[np.argsort(of_in, kind="stable")].astype(np.int64)
    family_start = np.zeros(len(fam) + 1, dtype=np.int64)
    np.cumsum(np.bincount(of_in, minlength=len(fam)), out=family_start[1:])
    base_sizes = fam.base_sizes()
    largest = int(base_sizes.max()) if len(base_sizes) else 0
    exceptions = np.diff(fam.add_offsets)[in_family] + np.diff(fam.lack_offsets)[in_family]
    work = np.cumsum(base_sizes + np.bincount(of_in, weights=exceptions, minlength=len(fam)).astype(np.int64))
    total = int(work[-1]) if len(work) else 0
    threads = threads or min(2, os.cpu_count() or 1)
    if threads > 1 and total >= FAMILY_THREAD_WORK:
        half = int(np.searchsorted(work, total // 2, side="right"))
        ranges = [(0, half), (half, len(fam))]
    else:
        ranges = [(0, len(fam))]
    distinct = np.zeros(n_lists, dtype=np.int64)
    most = np.zeros(n_lists, dtype=np.int64)
    offsets = [np.ascontiguousarray(a, dtype=np.int64) for a in (fam.offsets, fam.add_offsets, fam.lack_offsets)]
    base, adds, lacks = (np.ascontiguousarray(a) for a in (fam.members, fam.adds, fam.lacks))
    calls = [
        (
            base,
            offsets[0],
            adds,
            offsets[1],
            lacks,
            offsets[2],
            v,
            by_family,
            family_start,
            f0,
            f1,
            np.zeros(n_values, dtype=np.int32),  # the scratch arrays, one set a range, made on this thread
            np.full(n_values, -1, dtype=np.int64),
            np.empty(max(largest, 1), dtype=np.int64),
            np.empty(max(largest, 1), dtype=np.int64),
            np.empty(largest + 2, dtype=np.int64),
            distinct,
            most,
        )
        for f0, f1 in ranges
    ]
    if len(calls) == 1:
        compiled.family_distinct(*calls[0])
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=len(calls)) as pool:  # the ranges' lists are disjoint
            for done in [pool.submit(compiled.family_distinct, *call) for call in calls]:
                done.result()
    return distinct, most


def _family_chunks(fam: Families) -> Iterator[tuple[int, int]]:
    """Ranges of families (first, last + 1) holding about ``FAMILY_ROWS`` base members each (or one family)."""
    ends = fam.offsets[1:]
    f0 = 0
    while f0 < len(fam):
        f1 = max(f0 + 1, int(np.searchsorted(ends, fam.offsets[f0] + FAMILY_ROWS, side="right")))
        yield f0, f1
        f0 = f1


_LOW = np.uint64(0xFFFFFFFF)


def _runs_in_chunks(
    values: np.ndarray, starts: np.ndarray, lengths: np.ndarray, owners: np.ndarray
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(the chunk's owners, owner per value, value) of the runs ``values[starts[i]:starts[i] + lengths[i]]`` (owner
    ``owners[i]``), whole runs of about ``MEMBER_ROWS`` values at a time, in order."""
    ends = np.cumsum(lengths)
    i = 0
    while i < len(lengths):
        j = max(i + 1, int(np.searchsorted(ends, ends[i] - lengths[i] + MEMBER_ROWS, side="right")))
        yield owners[i:j], np.repeat(owners[i:j], lengths[i:j]), gather_runs(values, starts[i:j], lengths[i:j])
        i = j


def distinct_per_run(
    owner: np.ndarray, values: np.ndarray, n_lists: int, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per list, how many distinct values its members have, and how many members share the most common.

    With ``labels`` (the values are component labels of documents, ``labels[member]``), a member alone
    in its component has a value no other member of its list has: only the others are sorted."""
    distinct = np.zeros(n_lists, dtype=np.int64)
    top = np.zeros(n_lists, dtype=np.int64)
    if labels is not None and len(values):
        once = np.bincount(labels, minlength=len(labels))[values] == 1
        alone = np.bincount(owner[once], minlength=n_lists)
        distinct += alone
        top = np.minimum(alone, 1)
        owner, values = owner[~once], values[~once]
    if not len(values):
        return distinct, top
    if values.min() == values.max():  # one value (no site known): no sort needed
        held = np.bincount(owner, minlength=n_lists)
        return distinct + np.minimum(held, 1), np.maximum(top, held)
    keys = packed_sorted(owner, values)
    new = np.ones(len(keys), dtype=bool)
    new[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(new)
    run = np.diff(starts, append=len(keys))
    lst = (keys[starts] >> np.uint64(32)).astype(np.int64)
    distinct += np.bincount(lst, minlength=n_lists)
    np.maximum.at(top, lst, run)
    return distinct, top


@dataclass
class Evidence:
    """Candidate pairs (a < b) and, per (pair, list) they share, one entry."""

    pairs: np.ndarray  # (P, 2) int64
    entry_pair: np.ndarray  # row of ``pairs`` (int64, or int32 from ``small_pair_entries``)
    entry_list: np.ndarray  # list index (likewise)


def give_back_heap() -> None:
    """Return the heap pages a big step's freed temporaries leave to the system (glibc's ``malloc_trim``; elsewhere
    nothing): numpy arrays below glibc's mmap threshold (up to 32 MB once it has risen) live in the heap, and what
    the step frees stays the process's resident memory until then, through align and label."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).malloc_trim(0)


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
    # Each shard's postings are stored by fingerprint, so its part is one ascending run (or a few): a merge of
    # runs (timsort, ``kind="stable"``) sorts them ~8x faster than quicksort (the same sorted keys either way).
    keys.sort(kind="stable")
    docs, sizes, run_fp, h = _shared_runs(keys, bits)
    del keys
    if len(sizes) == 0:
        return empty, np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, _doc_type(bits))
    local_starts = np.cumsum(sizes) - sizes
    if spill is not None:
        _save_atomic(spill / f"{lo:03d}-fp.npy", run_fp)
        _save_atomic(spill / f"{lo:03d}-list.npy", h)
    unique, weights, rep = _distinct_lists(h)  # one run per distinct list: its members
    m = sizes[rep]
    member_offsets = np.zeros(len(rep) + 1, dtype=np.int64)
    np.cumsum(m, out=member_offsets[1:])
    idx = run_index(local_starts[rep], m)
    return unique, weights, member_offsets, docs[idx]


def _distinct_lists(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct list hashes ``h`` of a partition's shared fingerprints (many fingerprints share one set of
    documents), ascending: each one's count and the index of its first fingerprint. Compiled
    (``kernels._match.distinct_first``: one pass through a hash table, then a sort of the distinct ones) where
    built, else a stable argsort of every hash: the same arrays."""
    compiled = native("match")
    if compiled is not None and len(h):
        first, count = np.empty(len(h), dtype=np.int64), np.empty(len(h), dtype=np.int64)
        d = compiled.distinct_first(np.ascontiguousarray(h, dtype=np.uint64), first, count)
        first, count = first[:d], count[:d]
        order = np.argsort(h[first])  # distinct values: any sort gives the one order
        return h[first[order]], count[order], first[order]
    order = np.argsort(h, kind="stable")
    hs = h[order]
    new = np.ones(len(hs), dtype=bool)
    new[1:] = hs[1:] != hs[:-1]
    group_start = np.flatnonzero(new)
    weights = np.diff(np.append(group_start, len(hs)))
    return hs[group_start], weights.astype(np.int64), order[group_start]


def _shared_runs(keys: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The shared fingerprints of a partition's sorted posting ``keys`` (fingerprint above the low ``bits``, the
    document below), each one's distinct keys counted once: (their documents end to end, how many each has,
    the fingerprints, each one's ``list_hash``). Compiled (``kernels._match``, one pass without the GIL) where
    built, else numpy: the same arrays."""
    compiled = native("match")
    if compiled is not None and len(keys):
        keys = np.ascontiguousarray(keys, dtype=np.uint64)
        runs, members = compiled.count_shared(keys, bits)
        docs = np.empty(members, dtype=_doc_type(bits))
        sizes = np.empty(runs, dtype=np.int64)
        run_fp, h = np.empty(runs, dtype=np.uint64), np.empty(runs, dtype=np.uint64)
        compiled.fill_shared(keys, bits, docs, sizes, run_fp, h)
        return docs, sizes, run_fp, h
    mask = np.uint64((1 << bits) - 1)
    if len(keys) > 1:  # two fingerprints of one document equal once truncated: one posting
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    fp = keys >> np.uint64(bits)
    new = np.ones(len(fp), dtype=bool)
    new[1:] = fp[1:] != fp[:-1]
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, len(fp)))
    shared = sizes >= 2
    starts, sizes = starts[shared], sizes[shared]
    rows = run_index(starts, sizes)
    docs = (keys[rows] & mask).astype(_doc_type(bits))
    run_fp = fp[starts]
    del keys, fp, rows, new
    h = list_hash(docs, np.cumsum(sizes) - sizes, sizes) if len(sizes) else np.zeros(0, np.uint64)
    return docs, sizes.astype(np.int64), run_fp, h


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


def _one_per_hash(hashes: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lists gathered from several partitions, one per distinct hash (the same set of documents): the sorted
    distinct hashes, each one's weights summed, and the index of its first list (whose members it keeps)."""
    order = np.argsort(hashes, kind="stable")
    hs = hashes[order]
    first = np.ones(len(hs), dtype=bool)
    first[1:] = hs[1:] != hs[:-1]
    group = np.cumsum(first) - 1
    total = np.bincount(group, weights=weights[order]).astype(np.int64) if len(hs) else np.zeros(0, np.int64)
    return hs[first], total, order[first]


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
    unique, total, rep = _one_per_hash(hashes, weights)
    m = sizes[rep]
    offsets = np.zeros(len(rep) + 1, dtype=np.int64)
    np.cumsum(m, out=offsets[1:])
    return Lists(hashes=unique, offsets=offsets, members=gather_runs(members, starts[rep], m), weight=total)


FAMILY_SLACK = 4  # a big list joins a family when its exceptions are at most 1/FAMILY_SLACK of its members


def _family_keys(members: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per run of ``members`` (from ``starts``), a key that near-equal sets share: two min-hashes of the
    members, mixed (equal for sets of Jaccard j with probability about j**2)."""
    x = members.astype(np.uint64)
    with np.errstate(over="ignore"):
        first = np.minimum.reduceat(mix64(x * np.uint64(3) + np.uint64(7)), starts)
        second = np.minimum.reduceat(mix64(x * np.uint64(5) + np.uint64(11)), starts)
        return mix64(first ^ mix64(second))


def _big_keys(members: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """``_family_keys`` of the runs ``members[starts[i]:starts[i] + sizes[i]]`` (each non-empty): compiled
    (``kernels._match.family_keys``, read in place) where built, else gathered and hashed by numpy (the same keys)."""
    compiled = native("match")
    if compiled is not None and members.dtype in (np.int32, np.int64) and members.flags.c_contiguous:
        out = np.empty(len(starts), dtype=np.uint64)
        compiled.family_keys(members, starts.astype(np.int64), sizes.astype(np.int64), out)
        return out
    return _family_keys(gather_runs(members, starts, sizes), np.cumsum(sizes) - sizes)


class ListGrouper:
    """Combines partitions' lists (as ``combine_partitions``) while storing each list of more than ``above``
    members by family (``Families``): a recurring sentence's shingles make several big lists whose member
    sets are nearly the same (its holders, with or without a few articles), and each would store every
    member. A big list whose family key (``_family_keys``) was seen before is its family's base without its
    lacks and with its adds, when these are at most ``1 / FAMILY_SLACK`` of its members; else it founds a
    family of its own. Partitions are added one at a time (``add``): only one is held plainly.

    A set of documents sharing shingles in several partitions (a sentence's shingles fall in many) is one list:
    only its first partition's list is kept, and the later ones add their weight to it as they come
    (``_seen``). Held until the end, the copies grew faster than the corpus (at 300k fixed-pool articles 4.1M
    lists for 1.1M distinct, 2.0 to 1 at 100k), as a list's shingles spread over more partitions."""

    def __init__(self, above: int) -> None:
        self.above = above
        self.known: dict[int, int] = {}  # family key -> family
        self.bases: list[np.ndarray] = []
        self.parts: list[tuple[np.ndarray, ...]] = []
        # The hashes of the lists kept so far, with their summed weights: runs of ascending hashes, each at
        # least twice as long as the next (merged as they come), so that a partition is looked up in a few.
        self.levels: list[tuple[np.ndarray, np.ndarray]] = []

    def _seen(self, hashes: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Which of a partition's lists (distinct ``hashes``) an earlier partition holds: their ``weights`` are
        added to that list's; the others are kept, and their hashes and weights noted."""
        seen = np.zeros(len(hashes), dtype=bool)
        for known, summed in self.levels:
            if not len(known):
                continue
            pos = np.minimum(np.searchsorted(known, hashes), len(known) - 1)
            hit = known[pos] == hashes
            summed[pos[hit]] += weights[hit]  # distinct hashes: one list each
            seen |= hit
        order = np.argsort(hashes[~seen], kind="stable")
        self.levels.append((hashes[~seen][order], weights[~seen][order].astype(np.int64)))
        while len(self.levels) > 1 and len(self.levels[-2][0]) <= 2 * len(self.levels[-1][0]):
            (h1, w1), (h2, w2) = self.levels.pop(), self.levels.pop()
            h, w = np.concatenate([h2, h1]), np.concatenate([w2, w1])
            order = np.argsort(h, kind="stable")
            self.levels.append((h[order], w[order]))
        return seen

    def _new_family(self, members: np.ndarray) -> int:
        self.bases.append(members.copy())
        return len(self.bases) - 1

    def add(self, part: Partition) -> None:
        hashes, weights, offsets, members = part
        seen = self._seen(hashes, weights)
        del weights
        # Each list kept is its run of ``members`` (``starts``, ``sizes``), read in place: lists an earlier partition
        # holds are left out by their runs (their weight is counted there, nothing else is kept), not gathered.
        starts, sizes = offsets[:-1], np.diff(offsets)
        if seen.any():
            keep = np.flatnonzero(~seen)
            starts, sizes, hashes = starts[keep], sizes[keep], hashes[keep]
        big = np.flatnonzero(sizes > self.above)
        # Per list counts and families as int32 while the partitions wait to be joined (exact: below 2**31).
        small_sizes = np.where(sizes > self.above, 0, sizes).astype(np.int32)
        plain = gather_runs(members, starts, small_sizes)
        of = np.full(len(hashes), -1, dtype=np.int32)
        add_n = np.zeros(len(hashes), dtype=np.int32)
        lack_n = np.zeros(len(hashes), dtype=np.int32)
        adds, lacks = np.zeros(0, members.dtype), np.zeros(0, members.dtype)
        if len(big):
            keys = _big_keys(members, starts[big], sizes[big])
            joining = []
            for i, key in zip(big.tolist(), keys.tolist()):
                f = self.known.get(key)
                if f is None:  # the first list of its key founds the family
                    self.known[key] = of[i] = self._new_family(members[starts[i] : starts[i] + sizes[i]])
                else:
                    of[i] = f
                    joining.append(i)
            if joining:
                j = np.asarray(joining, dtype=np.int64)
                add_n[j], lack_n[j], adds, lacks, refused = self._exceptions(members, starts[j], sizes[j], of[j])
                for i in j[refused].tolist():
                    of[i] = self._new_family(members[starts[i] : starts[i] + sizes[i]])
                add_n[j[refused]] = lack_n[j[refused]] = 0
        self.parts.append((hashes, small_sizes, plain, of, add_n, adds, lack_n, lacks))

    def _exceptions(
        self, members: np.ndarray, starts: np.ndarray, n: np.ndarray, families: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per list (``members[starts[k]:starts[k] + n[k]]``, against its family's base ``families[k]``): its adds and
        lacks counts and members (those of refused lists left out), and which are refused (too many exceptions)."""
        compiled = native("match")
        if compiled is not None and members.dtype in (np.int32, np.int64) and members.flags.c_contiguous:
            return _merged_exceptions(compiled, members, starts, n, self.bases, families)
        base = [self.bases[f] for f in families.tolist()]
        base_n = np.fromiter((len(b) for b in base), dtype=np.int64, count=len(base))
        k = np.arange(len(n), dtype=np.int64)
        own = packed(np.repeat(k, n), gather_runs(members, starts, n))  # ascending: lists, then members
        theirs = packed(np.repeat(k, base_n), np.concatenate(base))
        added, lacked = sorted_differences(own, theirs)
        add_n = np.bincount((added >> np.uint64(32)).astype(np.int64), minlength=len(n))
        lack_n = np.bincount((lacked >> np.uint64(32)).astype(np.int64), minlength=len(n))
        refused = (add_n + lack_n) * FAMILY_SLACK > n
        keep_a = ~refused[(added >> np.uint64(32)).astype(np.int64)]
        keep_l = ~refused[(lacked >> np.uint64(32)).astype(np.int64)]
        kind = members.dtype
        return add_n, lack_n, (added[keep_a] & _LOW).astype(kind), (lacked[keep_l] & _LOW).astype(kind), refused

    def lists(self) -> Lists:
        """The lists of every partition added, as one ``Lists`` sorted by hash: a set of documents found in
        several partitions is one list, weights summed (as ``combine_partitions``)."""
        if not self.parts:
            return Lists(np.zeros(0, np.uint64), np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
        # Each column's partition arrays are dropped once joined, so that no more than one column is held twice.
        cols: list[list[np.ndarray] | None] = [list(c) for c in zip(*self.parts)]
        self.parts = []

        def take(i: int) -> np.ndarray:
            joined = np.concatenate(cols[i])
            cols[i] = None
            return joined

        # Every list kept is the only one of its hash (``_seen``): sorted by hash, with the weights summed there.
        rep = np.argsort(take(0), kind="stable")
        levels, self.levels = self.levels, []
        unique = np.concatenate([h for h, _ in levels])
        total = np.concatenate([w for _, w in levels])
        order = np.argsort(unique, kind="stable")
        unique, total = unique[order], total[order]
        del levels, order
        assert len(unique) == len(rep)  # the lists kept are the distinct hashes noted

        def runs(sizes: int, values: int) -> tuple[np.ndarray, np.ndarray]:
            n = take(sizes)
            v = take(values)
            start = np.cumsum(n) - n
            out = np.zeros(len(rep) + 1, dtype=np.int64)
            np.cumsum(n[rep], out=out[1:])
            return out, gather_runs(v, start[rep], n[rep])

        offsets, plain = runs(1, 2)
        add_offsets, adds = runs(4, 5)
        lack_offsets, lacks = runs(6, 7)
        of = take(3)[rep].astype(np.int64)
        base_offsets = np.zeros(len(self.bases) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in self.bases], out=base_offsets[1:])
        base = np.concatenate(self.bases) if self.bases else np.zeros(0, plain.dtype)
        self.bases, self.known = [], {}
        fam = Families(of, base_offsets, base, add_offsets, adds, lack_offsets, lacks)
        return Lists(hashes=unique, offsets=offsets, members=plain, weight=total, families=fam)


def _merged_exceptions(
    compiled: object, members: np.ndarray, starts: np.ndarray, n: np.ndarray, bases: list, families: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``ListGrouper._exceptions`` compiled (``kernels._match.list_exceptions``): each list's run merged with its
    family's base (``bases[families[k]]``; each family's base copied once, however many lists join it), one pass
    a list, where numpy packed and sorted every member of both, each base once a list; the same counts and
    members."""
    kind = members.dtype
    uniq, which = np.unique(families, return_inverse=True)
    own_bases = [bases[f] for f in uniq.tolist()]
    sizes = np.fromiter((len(b) for b in own_bases), dtype=np.int64, count=len(own_bases))
    joined = np.concatenate(own_bases).astype(kind, copy=False) if own_bases else np.zeros(0, kind)
    base_n = sizes[which.reshape(-1)]
    base_starts = (np.cumsum(sizes) - sizes)[which.reshape(-1)]
    n = n.astype(np.int64)
    adds, lacks = np.empty(int(n.sum()), dtype=kind), np.empty(int(base_n.sum()), dtype=kind)
    add_n, lack_n = np.empty(len(n), dtype=np.int64), np.empty(len(n), dtype=np.int64)
    compiled.list_exceptions(  # type: ignore[attr-defined]
        members, starts.astype(np.int64), n, joined, base_starts, base_n, adds, add_n, lacks, lack_n
    )
    refused = (add_n + lack_n) * FAMILY_SLACK > n
    keep_a, keep_l = np.where(refused, 0, add_n), np.where(refused, 0, lack_n)
    return (
        add_n,
        lack_n,
        gather_runs(adds, np.cumsum(n) - n, keep_a),
        gather_runs(lacks, np.cumsum(base_n) - base_n, keep_l),
        refused,
    )


def sorted_differences(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The values of ``a`` not in ``b`` and those of ``b`` not in ``a``, each ascending, for two ascending uint64
    arrays of distinct values below 2**63: one merge of the two runs (timsort, ``kind="stable"``, linear), where
    a binary search per value of each in the other cost twice as much (``ListGrouper._exceptions``)."""
    if not len(a) or not len(b):
        return a.copy(), b.copy()
    both = np.empty(len(a) + len(b), dtype=np.uint64)
    np.left_shift(a, np.uint64(1), out=both[: len(a)])  # a value's low bit: 0 from a, 1 from b
    np.left_shift(b, np.uint64(1), out=both[len(a) :])
    both[len(a) :] |= np.uint64(1)
    both.sort(kind="stable")
    value = both >> np.uint64(1)
    same = value[1:] == value[:-1]  # a value in both: a's copy, then b's
    alone = np.ones(len(both), dtype=bool)
    alone[:-1] &= ~same
    alone[1:] &= ~same
    from_b = (both & np.uint64(1)).astype(bool)
    return value[alone & ~from_b], value[alone & from_b]


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
        out[pos : pos + n] = values[run_index(starts[i:j], runs)]
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
    group_above: int | None = None,
) -> Lists:
    """All posting lists of two or more documents, over every shard (``bases``: each shard's first
    global document index); ``progress(done, total)`` after each partition. The partitions run on
    ``executor`` (default: ``threads`` threads here, as numpy sorts release the GIL; or a cluster).
    ``group_above``: lists of more members are stored by family (``ListGrouper``), each partition grouped as it
    comes, so that no more than one partition's lists are ever held plainly; None: every list plainly."""
    ranges = bucket_ranges(shards, budget)
    job = PartitionJob(list(shards), bases, doc_bits(n_docs), spill)
    parts: list[Partition] = []
    grouper = ListGrouper(group_above) if group_above is not None else None
    run = executor or Threads(threads)
    named = run.map(partition_lists, job, ranges, label=lambda r: f"fingerprint buckets {r[0]}-{r[1] - 1}")
    for done, part in enumerate(named, 1):
        if grouper is not None:
            grouper.add(part)
        else:
            parts.append(part)
        del part
        give_back_heap()  # the partition's sort temporaries, freed: the next ones start from a trimmed heap
        if progress:
            progress(done, len(ranges))
    return grouper.lists() if grouper is not None else combine_partitions(parts)


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
    range of the spill on ``executor`` (default: two threads here, one a core: reading the files and numpy's
    searches release the GIL; the result is sorted whatever the order)."""
    wanted = lists.hashes[chosen]
    paths = [str(p) for p in sorted(spill.glob("*-fp.npy"))]
    run = executor or Threads()
    out = list(run.map(_spilled_fingerprints, wanted, paths, label=lambda p: f"boilerplate fingerprints of {p}"))
    if not out:
        return np.zeros(0, dtype=np.uint64)
    return np.sort(np.concatenate(out))


def packed(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """(high << 32 | low) of two arrays of non-negative integers below 2**32, in their order."""
    keys = high.astype(np.uint64)
    keys <<= np.uint64(32)
    keys |= low.astype(np.uint64, copy=False)
    return keys


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
    out = [np.zeros(0, np.uint64)]
    for own, mem in lists.expanded(big, ordered=True):  # whole lists, members ascending
        first = np.ones(len(own), dtype=bool)
        first[1:] = own[1:] != own[:-1]
        hub = mem[np.flatnonzero(first)[np.cumsum(first) - 1]]
        out.append(pair_codes(hub, mem)[hub != mem])
        same = ~first[1:]
        out.append(pair_codes(mem[:-1][same], mem[1:][same]))
    return np.concatenate(out)


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
    at = run_index(off[probe], n)
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
    count = lists.members_within(big, link_share * np.maximum(doc_sizes, 1), lists.weight)
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
    lists: Lists,
    doc_sizes: np.ndarray,
    partial_min_shared: int,
    link_share: float,
    max_enumerate: int,
    memberships: bool = True,
) -> ListEntries:
    """The pair evidence a set of lists gives on its own (module docstring): the (pair, list) entries of its
    small lists, the star and chain links of its linking big lists, and (``memberships``) its big lists'
    memberships. A pure function of the lists it is given: the lists of a corpus split by list hash give,
    together, the entries of the whole (a list never spans two partitions)."""
    sizes = lists.sizes()
    known = lists.known if lists.known is not None else np.zeros(len(lists), dtype=bool)
    small = (sizes <= max_enumerate) & ~known
    if lists.families is not None and (small & (lists.families.of >= 0)).any():
        lists = lists.plain()  # grouped above fewer members than are enumerated: every member plainly
    codes, which = _enumerate(lists, small, max_enumerate)
    links = _star_chain(lists, _linking(lists, ~small & ~known, doc_sizes, partial_min_shared, link_share))
    big_member, big_list = np.zeros(0, np.int64), np.zeros(0, np.int64)
    if memberships:
        parts = list(lists.expanded(~small))
        if parts:
            big_member, big_list = np.concatenate([p[1] for p in parts]), np.concatenate([p[0] for p in parts])
    return ListEntries(codes, which, lists.weight[which], links, big_member, big_list)


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


@dataclass
class FamilyEvidence:
    """Candidate pairs and what each shares, with big lists stored by family (``family_evidence``): per (pair,
    family) both of whose sides hold the family's base, one entry (``family_pair``, ``family``) that stands for
    every big list of the family; then per (pair, list) a correction for the lists of such a family that either
    side lacks (``minus_pair``, ``minus_list``), and per (pair, list) an entry for the small lists and for the
    big lists a side holds beside a base (its adds, or a big list stored plainly: ``entry_pair``,
    ``entry_list``). Two articles sharing a pooled sentence share each of its near-equal lists: one entry, not
    one a list. Verification asks it what it asks ``Evidence`` (``pair_sums``, ``syndicated``, through
    ``verify._pair_sums`` and ``verify._syndicated_of``), and the answers are the same: every list's own value
    and choice, summed per family; sums of integers, exact."""

    pairs: np.ndarray  # (P, 2) int64
    entry_pair: np.ndarray  # row of ``pairs`` (int32 below 2**31 pairs, as every row and list index here)
    entry_list: np.ndarray  # list index
    family_pair: np.ndarray  # row of ``pairs``
    family: np.ndarray  # int32 family
    minus_pair: np.ndarray  # row of ``pairs``
    minus_list: np.ndarray  # list
    list_family: np.ndarray  # per list: its family when it is big and stored by family, else -1
    n_families: int

    def _values(self, values: np.ndarray | None, chosen: np.ndarray | None) -> np.ndarray:
        v = np.ones(len(self.list_family), dtype=np.float64) if values is None else values.astype(np.float64)
        return v if chosen is None else np.where(chosen, v, 0.0)

    def pair_sums(self, values: np.ndarray | None, chosen: np.ndarray | None = None) -> np.ndarray:
        """``verify._pair_sums``: per pair, the sum of the chosen lists' ``values`` (None: 1 a list) over the lists
        it shares (int64 counts without values, float64 sums of them with)."""
        v, n = self._values(values, chosen), len(self.pairs)
        out = np.zeros(n, dtype=np.float64)  # (bincount of no entries is int64)
        out += np.bincount(self.entry_pair, weights=v[self.entry_list], minlength=n)
        inf = np.flatnonzero(self.list_family >= 0)
        per_family = np.bincount(self.list_family[inf], weights=v[inf], minlength=self.n_families)
        out += np.bincount(self.family_pair, weights=per_family[self.family], minlength=n)
        out -= np.bincount(self.minus_pair, weights=v[self.minus_list], minlength=n)
        return out if values is not None else out.astype(np.int64)

    def _family_lists(self, chosen: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Family f's big lists (those ``chosen``): ``lists[offsets[f]:offsets[f + 1]]``, ascending."""
        flag = self.list_family >= 0
        if chosen is not None:
            flag &= chosen
        lists = np.flatnonzero(flag)
        lists = lists[np.argsort(self.list_family[lists], kind="stable")]
        offsets = np.zeros(self.n_families + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.list_family[lists], minlength=self.n_families), out=offsets[1:])
        return offsets, lists

    def _expand(
        self, rows: np.ndarray, offsets: np.ndarray, lists: np.ndarray, minus: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(pair row, list) of every list the family entries ``rows`` stand for (of ``_family_lists``' lists),
        those either side lacks (``minus``: the corrections' keys, sorted) left out."""
        f = self.family[rows].astype(np.int64)
        n = offsets[f + 1] - offsets[f]
        pair = np.repeat(self.family_pair[rows].astype(np.int64), n)
        lst = lists[run_index(offsets[f], n)]
        lacked = _found(minus, packed(pair, lst))
        return pair[~lacked], lst[~lacked]

    def syndicated(self, weight: np.ndarray, pair_mask: np.ndarray, chosen: np.ndarray, n: int) -> np.ndarray:
        """``verify._syndicated`` of the entries of the pairs in ``pair_mask`` whose list is ``chosen``: per
        document, the weight of the distinct lists it shares with those partners; the family entries expanded
        for one range of documents at a time (about ``MEMBER_ROWS`` (document, list) keys each)."""
        offsets, lists = self._family_lists(chosen)
        minus = packed_sorted(self.minus_pair, self.minus_list)
        fam_rows = np.flatnonzero(pair_mask[self.family_pair])
        plain_rows = np.flatnonzero(pair_mask[self.entry_pair] & chosen[self.entry_list])
        f = self.family[fam_rows].astype(np.int64)
        total = 2 * (int((offsets[f + 1] - offsets[f]).sum()) + len(plain_rows))
        bounds = np.linspace(0, n, max(1, -(-total // MEMBER_ROWS)) + 1).astype(np.int64)
        out = np.zeros(n, dtype=np.float64)
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            keys = []
            for side in (0, 1):
                doc = self.pairs[:, side]
                d = doc[self.family_pair[fam_rows]]
                pair, lst = self._expand(fam_rows[(d >= lo) & (d < hi)], offsets, lists, minus)
                keys.append(packed(doc[pair], lst))
                d = doc[self.entry_pair[plain_rows]]
                r = plain_rows[(d >= lo) & (d < hi)]
                keys.append(packed(doc[self.entry_pair[r]], self.entry_list[r]))
            u = np.unique(np.concatenate(keys))
            w = weight[(u & _LOW).astype(np.int64)]
            out += np.bincount((u >> np.uint64(32)).astype(np.int64), weights=w, minlength=n)
        return out.astype(np.int64)

    def entries(self) -> Evidence:
        """Every (pair, list) entry as plain ``Evidence`` (what this class exists to avoid; for tests)."""
        offsets, lists = self._family_lists(None)
        minus = packed_sorted(self.minus_pair, self.minus_list)
        pair, lst = self._expand(np.arange(len(self.family), dtype=np.int64), offsets, lists, minus)
        return Evidence(self.pairs, np.concatenate([self.entry_pair, pair]), np.concatenate([self.entry_list, lst]))


@dataclass
class _FamilyProbe:
    """What ``_family_chunk`` looks pairs up in (``family_evidence``)."""

    held: np.ndarray  # (document << 32 | family) of the involved documents' family bases, ascending
    held_off: np.ndarray  # each document's first row of ``held``
    direct: np.ndarray  # (document << 32 | list): adds and plainly stored big lists' members, ascending
    direct_off: np.ndarray
    lacks: np.ndarray  # (list << 32 | document) of every list's lacks, ascending
    doc_lacks: np.ndarray  # (document << 32 | family) of the big lists' lacks of the involved documents, ascending
    doc_lack_list: np.ndarray  # the list of each row of ``doc_lacks``
    of: np.ndarray  # each list's family (-1: none, or not big)
    pairs: np.ndarray


def _found(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[pos] == keys


def _holds(c: _FamilyProbe, docs: np.ndarray, lists: np.ndarray) -> np.ndarray:
    """Whether each document docs[i] is a member of big list lists[i]."""
    d, lst = docs.astype(np.uint64) << np.uint64(32), lists.astype(np.uint64)
    out = _found(c.direct, d | lst)
    f = c.of[lists]
    via = (f >= 0) & ~out
    if via.any():
        base = _found(c.held, d[via] | f[via].astype(np.uint64))
        lacked = _found(c.lacks, (lst[via] << np.uint64(32)) | docs[via].astype(np.uint64))
        out[via] = base & ~lacked
    return out


def _ranges(keys: np.ndarray, values: np.ndarray, want: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner[i], value) for every row of the sorted ``keys`` equal to want[i] (``values`` beside ``keys``)."""
    lo = np.searchsorted(keys, want)
    n = np.searchsorted(keys, want, side="right") - lo
    at = run_index(lo, n)
    return np.repeat(owner, n), values[at]


FamilyChunk = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _family_chunk(c: _FamilyProbe, rows: np.ndarray) -> FamilyChunk:
    """For the pairs ``rows``: (row, family) for each family whose base both sides hold; (row, list) for each big
    list of those families either side lacks; (row, list) for each big list one side holds directly (an add, a
    plainly stored big list) and the other holds at all."""
    pa, pb = c.pairs[rows, 0], c.pairs[rows, 1]
    k, fam = _shared_big(c.held, c.held_off, pa, pb)
    lacked = [_ranges(c.doc_lacks, c.doc_lack_list, packed(side[k], fam), k) for side in (pa, pb)]
    minus = np.unique(packed(np.concatenate([x[0] for x in lacked]), np.concatenate([x[1] for x in lacked])))
    out_k, out_l = [], []
    for second, (side, other) in enumerate(((pa, pb), (pb, pa))):  # lists held directly (adds, plain big lists)
        n = c.direct_off[side + 1] - c.direct_off[side]
        dk = np.repeat(np.arange(len(rows), dtype=np.int64), n)
        at = run_index(c.direct_off[side], n)
        dl = (c.direct[at] & _LOW).astype(np.int64)
        hit = _holds(c, other[dk], dl)
        if second:  # held directly by both: found from the first side already
            hit &= ~_found(c.direct, (other[dk].astype(np.uint64) << np.uint64(32)) | dl.astype(np.uint64))
        out_k.append(dk[hit])
        out_l.append(dl[hit])
    dk, dl = np.concatenate(out_k), np.concatenate(out_l)
    mk, ml = (minus >> np.uint64(32)).astype(np.int64), (minus & _LOW).astype(np.int64)
    return rows[k], fam, rows[mk], ml, rows[dk], dl


def family_evidence(ev: Evidence, lists: Lists, big: np.ndarray, n_docs: int, workers: int = 1) -> FamilyEvidence:
    """``ev`` (the small lists' entries) and the big lists (flagged in ``big``) both sides of each candidate pair
    hold, for lists stored by family (``FamilyEvidence``): the family bases both sides hold, each looked up once
    and kept as one entry, the lists of those families either side lacks, and the lists held beside a base;
    found by ``workers`` processes side by side (the same entries whatever their number)."""
    fam, pairs = lists.families, ev.pairs
    assert fam is not None
    of_big = np.where(big, fam.of, -1)
    involved = np.zeros(n_docs, dtype=bool)
    involved[pairs.ravel()] = True
    used = np.bincount(of_big[of_big >= 0], minlength=len(fam)) > 0
    base_owner = fam.base_owner()
    sel = involved[fam.members] & used[base_owner]
    held = packed_sorted(fam.members[sel], base_owner[sel])
    del sel, base_owner
    plain_big = big & (fam.of < 0)
    owner = lists.member_list()
    p_sel = plain_big[owner] & involved[lists.members]
    add_owner = fam.add_owner()
    a_sel = big[add_owner] & involved[fam.adds]
    direct = packed_sorted(
        np.concatenate([lists.members[p_sel], fam.adds[a_sel]]), np.concatenate([owner[p_sel], add_owner[a_sel]])
    )
    lack_owner = fam.lack_owner()
    lacks = packed(lack_owner, fam.lacks)  # ascending: lists, then members
    l_sel = np.flatnonzero((of_big[lack_owner] >= 0) & involved[fam.lacks])
    doc_lacks = packed(fam.lacks[l_sel], of_big[lack_owner[l_sel]])
    order = np.argsort(doc_lacks, kind="stable")
    marks = np.arange(n_docs + 1, dtype=np.uint64) << np.uint64(32)
    probe = _FamilyProbe(
        held,
        np.searchsorted(held, marks).astype(np.int64),
        direct,
        np.searchsorted(direct, marks).astype(np.int64),
        lacks,
        doc_lacks[order],
        lack_owner[l_sel][order],
        of_big,
        pairs,
    )
    rows = np.arange(len(pairs), dtype=np.int64)
    chunks = [rows[lo : lo + PROBE_PAIRS] for lo in range(0, len(rows), PROBE_PAIRS)]
    parts: list[list[np.ndarray]] = [[] for _ in range(6)]
    for got in fan_out(_family_chunk, probe, chunks, workers):
        for part, x in zip(parts, got):
            part.append(x)
    f_pair, f_fam, m_pair, m_list, d_pair, d_list = (np.concatenate(p) if p else np.zeros(0, np.int64) for p in parts)
    pair_type, list_type = _index_type(len(pairs)), _index_type(len(lists))
    return FamilyEvidence(
        pairs=pairs,
        entry_pair=np.concatenate([ev.entry_pair, d_pair.astype(pair_type)]).astype(pair_type, copy=False),
        entry_list=np.concatenate([ev.entry_list, d_list.astype(list_type)]).astype(list_type, copy=False),
        family_pair=f_pair.astype(pair_type),
        family=f_fam.astype(np.int32),
        minus_pair=m_pair.astype(pair_type),
        minus_list=m_list.astype(list_type),
        list_family=of_big,
        n_families=len(fam),
    )


PAIR_CODES = 1 << 21  # small lists' (pair, list) entries enumerated at once (~50 bytes each while counted)


def small_pair_entries(
    lists: Lists, small: np.ndarray, others: Sequence[np.ndarray], min_shared: int, budget: int = PAIR_CODES
) -> Evidence:
    """``pair_entries`` of the small lists' (pair, list) entries (every pair of members of each list flagged in
    ``small``, stored plainly), enumerated one range of pair codes at a time: a range of first members holding
    about ``budget`` entries, of which only those of the pairs that are candidates are kept (their lists hold
    ``min_shared`` shingles together, or they are in ``others``). The small lists' chance pairs, most of them,
    are never all held at once. The same pairs and entries as ``pair_entries`` (in another order)."""
    other = np.unique(np.concatenate(others)) if len(others) else np.zeros(0, np.uint64)
    owner = lists.member_list()
    keep = small[owner]
    mem, own = lists.members[keep], owner[keep]  # whole lists, members ascending
    del keep
    ends = np.cumsum(np.where(small, np.diff(lists.offsets), 0))
    after = np.empty(len(mem), dtype=np.int32)  # members after each one in its list: the pairs it leads
    for lo in range(0, len(mem), MEMBER_ROWS):
        hi = min(lo + MEMBER_ROWS, len(mem))
        after[lo:hi] = ends[own[lo:hi]] - 1 - np.arange(lo, hi)
    n_docs = int(mem.max()) + 1 if len(mem) else 1
    led = np.cumsum(np.bincount(mem, weights=after, minlength=n_docs))
    total = float(led[-1]) if len(led) else 0.0
    cuts = np.searchsorted(led, budget * np.arange(1, int(total // budget) + 1), side="right")
    bounds = np.unique(np.concatenate([[0], cuts, [n_docs]]))
    made, kept_codes, kept_lists = [np.zeros(0, np.uint64)], [np.zeros(0, np.uint64)], [np.zeros(0, own.dtype)]
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        sel = np.flatnonzero((mem >= lo) & (mem < hi) & (after > 0))
        cnt = after[sel].astype(np.int64)
        first = np.repeat(sel, cnt)
        second = run_index(sel + 1, cnt)  # the members after each one, in its list
        codes = packed(mem[first], mem[second])
        which = own[first]
        del first, second, sel, cnt
        if min_shared > 1 and len(codes):
            distinct, at = np.unique(codes, return_inverse=True)
            enough = np.bincount(at, weights=lists.weight[which], minlength=len(distinct)) >= min_shared
            made.append(distinct[enough])
            ok = enough[at] | _found(other, codes)
        else:
            made.append(np.unique(codes))
            ok = np.ones(len(codes), dtype=bool)
        kept_codes.append(codes[ok])
        kept_lists.append(which[ok])
    every = np.unique(np.concatenate([*made, other]))
    every = every[(every >> np.uint64(32)) != (every & _LOW)]
    codes = np.concatenate(kept_codes)
    pairs = np.stack([(every >> np.uint64(32)).astype(np.int64), (every & _LOW).astype(np.int64)], axis=1)
    return Evidence(
        pairs=pairs,
        entry_pair=np.searchsorted(every, codes).astype(_index_type(len(every))),
        entry_list=np.concatenate(kept_lists).astype(_index_type(len(lists))),
    )


def _index_type(n: int) -> type:
    """The narrowest exact type of an index below ``n``: int32 (half the memory per entry) unless ``n`` needs more."""
    return np.int32 if n < 1 << 31 else np.int64


def pair_evidence(
    lists: Lists,
    doc_sizes: np.ndarray,
    extra: np.ndarray | None = None,
    partial_min_shared: int = 50,
    link_share: float = 0.5,
    max_enumerate: int = 32,
    workers: int = 1,
    min_shared: int = 0,
    budget: int = PAIR_CODES,
) -> Evidence | FamilyEvidence:
    """Candidate pairs and the lists each shares (see the module docstring); ``extra`` adds pairs
    (a, b) that must be measured whatever the lists say (exact copies). A big list links its members
    only when it can make a relation by itself (``_linking``: ``partial_min_shared`` shingles, or
    ``link_share`` of its members' distinct shingles). The big lists each pair shares are found by
    ``workers`` processes side by side (the same entries whatever their number); with lists stored by family,
    one entry per (pair, family) (``FamilyEvidence``).

    A pair the small lists alone make is a candidate when those lists hold ``min_shared`` shingles
    together: a shingle or two that a handful of unrelated articles share by chance (a common phrase)
    makes no relation, and such chance pairs grow with the corpus while the evidence does not. They are
    enumerated ``budget`` entries at a time (``small_pair_entries``), and only the candidates' kept.

    A cluster runs the same steps partition by partition (``dedup.distributed.partitioned``: ``list_entries``,
    ``pair_entries``, ``big_entries``)."""
    sizes = lists.sizes()
    known = lists.known if lists.known is not None else np.zeros(len(lists), dtype=bool)
    small = (sizes <= max_enumerate) & ~known
    if lists.families is not None and (small & (lists.families.of >= 0)).any():
        lists = lists.plain()  # grouped above fewer members than are enumerated: every member plainly
    others = [_star_chain(lists, _linking(lists, ~small & ~known, doc_sizes, partial_min_shared, link_share))]
    if extra is not None and len(extra):
        others.append(pair_codes(extra[:, 0], extra[:, 1]))
    ev = small_pair_entries(lists, small, others, min_shared, budget)
    if lists.families is not None:
        return family_evidence(ev, lists, ~small, len(doc_sizes), workers)
    parts = list(lists.expanded(~small))
    if not parts:
        return ev
    big_member, big_list = np.concatenate([p[1] for p in parts]), np.concatenate([p[0] for p in parts])
    return big_entries(ev, big_member, big_list, len(doc_sizes), workers)
