"""Which way the copying went: each pair's direction from evidence, each cluster's source from the pairs.

A pair's direction, strongest evidence first:

1. **dates**: a member dated earlier is never a copy of one dated later, when the two differ at their
   precision (``compare_dates``: a date without a time and a time on the same day do not decide);
2. **cut**: an excerpt (cut short, "Continue reading…") is the copy of the full text it was cut from;
3. **position**: where each side's own text (the text outside the passages the two share) sits, in a pair
   where one side holds most of the other (``CONTAINED``). Own text around the shared story, before and
   after it (a headline, intro, promo, disclaimer, a site's template), is a wrapper's: that side is a copy.
   Own text interleaved with the shared passages (paragraphs the other dropped) is the original's: the other
   side abridged it. Own text both sides have at one place (each its headline, a reworded sentence) weighs
   alike on both sides, and own text at one edge only does not decide (a header and the leading paragraphs a
   copy dropped look alike; so do a footer and a story that goes on where a trimmed copy stopped). When the
   two sides weigh within ``POSITION_MARGIN`` of the story (at most ``HEADLINE`` tokens), the pair's direction
   is unknown.

A cluster's source follows from its pairs' directions as a partial order: copies of one text are one
member (they never vote twice), every decided pair says which member copies which (dates first, then the
others by confidence, each kept only if it does not contradict the ones kept), and the source is the member
that copies no other: from the first in ``cluster``'s ranking, up what it copies (the ranking is kept where
the evidence is silent and overruled where it speaks).
A member dated after another member of its cluster is never the source. When more than one member copies no
other, the cluster's source is not known from the evidence: the scan still names one, and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from .kernels import native

# The per-side position features of a pair (``position``), in this order.
FEATURES = ("shared", "head", "inner", "tail", "tail_related")
MIN_RUN = 3  # own text inside the shared story counts from this many tokens in a row (an edited word does not)
CONTENT_CHARS = 4  # a token of this many characters or more is a content word for ``tail_related``
CONTAINED = 0.75  # the position decides a pair only when one side holds this much of the other
HEADLINE = 30  # more own tokens at both edges than a headline and a sentence each is a wrapper
POSITION_MARGIN = 0.1  # sides whose own text weighs within this share of the story (or HEADLINE) do not decide
FULL_CONFIDENCE = 0.3  # a difference of this share of the story is full confidence

DIRECTION_BY = ("dates", "cut", "position", "unknown")
_OFFSET_SLACK = timedelta(hours=14)  # a time without a zone may be any zone's


def _within(spans: np.ndarray | None, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Whether each token (starts, ends) lies inside one of the (start, end) rows of ``spans``."""
    spans = np.zeros((0, 2), dtype=np.int64) if spans is None else np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    if not len(spans):
        return np.zeros(len(starts), dtype=bool)
    order = np.argsort(spans[:, 0], kind="stable")
    lo, hi = spans[order, 0], np.maximum.accumulate(spans[order, 1])
    k = np.searchsorted(lo, starts, side="right")
    return (k > 0) & (hi[np.maximum(k - 1, 0)] >= ends)


def position(starts: np.ndarray, ends: np.ndarray, hashes: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """The position features (``FEATURES``) of one side of a pair, in tokens.

    ``starts``/``ends``/``hashes``: the side's word tokens; ``spans``: (start, end) rows, its side of the
    shared passages (a site's template counts as its own text: a wrapper's promo and disclaimer are its
    site's template, and an original's template weighs alike on a copy that has one). ``shared``: tokens
    inside the passages; ``head``/``tail``: own tokens before the first and after the last shared token;
    ``inner``: own tokens between, in runs of ``MIN_RUN`` or more; ``tail_related``: the share of the tail's
    content words (``CONTENT_CHARS``) that the shared story also uses."""
    out = np.zeros(len(FEATURES))
    if not len(starts):
        return out
    inside = _within(spans, starts, ends)
    shared = np.flatnonzero(inside)
    if not len(shared):
        return out
    first, last = int(shared[0]), int(shared[-1])
    own = ~inside
    middle = own[first : last + 1]
    runs = np.diff(np.r_[0, middle.astype(np.int8), 0])
    run_len = np.flatnonzero(runs == -1) - np.flatnonzero(runs == 1)
    content = (ends - starts) >= CONTENT_CHARS
    tail_words = hashes[last + 1 :][content[last + 1 :]]
    story = hashes[inside & content]
    related = float(_held_in(tail_words, story).mean()) if len(tail_words) else 0.0
    out[:] = (len(shared), own[:first].sum(), run_len[run_len >= MIN_RUN].sum(), own[last + 1 :].sum(), related)
    return out


def positions(
    starts: np.ndarray,
    ends: np.ndarray,
    hashes: np.ndarray,
    offsets: np.ndarray,
    docs: np.ndarray,
    spans: np.ndarray,
) -> np.ndarray:
    """``position`` of many sides at once: side u is document ``docs[u]`` (tokens ``offsets[d]:[d + 1]`` of
    ``starts``/``ends``/``hashes``) with the (side, start, end) rows of ``spans`` whose side is u; (sides,
    len(FEATURES)). The sides' tokens are laid end to end and every count is one pass over them; only the
    tail's share of words the story also uses is looked up side by side (a side with a tail). Sides go
    through in runs of about ``_SIDE_TOKENS`` tokens (a side is its document's tokens again, so a long
    article in many pairs of a batch would otherwise lay its tokens out once a pair, all at once): each
    side's features are its own, whatever run it is in."""
    docs = np.asarray(docs, dtype=np.int64)
    spans = np.asarray(spans, dtype=np.int64).reshape(-1, 3)
    kernel = native("align")
    if kernel is not None and len(docs):  # side by side, compiled: no temporaries a token
        order = np.lexsort((spans[:, 2], spans[:, 1], spans[:, 0]))
        su, lo, hi = spans[order, 0], spans[order, 1], spans[order, 2]
        span = int(hi.max(initial=0)) + 2
        reach = np.maximum.accumulate(su * span + hi) - su * span if len(su) else hi  # the furthest end so far
        return kernel.positions(
            *(np.ascontiguousarray(v, dtype=np.int64) for v in (starts, ends)),
            np.ascontiguousarray(hashes, dtype=np.uint64),
            np.ascontiguousarray(offsets, dtype=np.int64),
            docs,
            np.searchsorted(su, np.arange(len(docs) + 1)).astype(np.int64),
            np.ascontiguousarray(lo),
            np.ascontiguousarray(reach),
            MIN_RUN,
            CONTENT_CHARS,
        )
    size = np.cumsum(offsets[docs + 1] - offsets[docs])
    if not len(docs) or int(size[-1]) <= _SIDE_TOKENS:
        return _positions(starts, ends, hashes, offsets, docs, spans)
    out = np.zeros((len(docs), len(FEATURES)))
    order = np.argsort(spans[:, 0], kind="stable")
    first = np.searchsorted(spans[order, 0], np.arange(len(docs) + 1))  # side u's spans: order[first[u]:[u + 1]]
    lo = 0
    while lo < len(docs):  # sides in runs of about _SIDE_TOKENS tokens (one side may pass it alone)
        done = int(size[lo - 1]) if lo else 0
        hi = max(int(np.searchsorted(size, done + _SIDE_TOKENS, "right")), lo + 1)
        own = spans[order[first[lo] : first[hi]]] - np.array([lo, 0, 0], dtype=np.int64)
        out[lo:hi] = _positions(starts, ends, hashes, offsets, docs[lo:hi], own)
        lo = hi
    return out


_SIDE_TOKENS = 1 << 21  # the sides' tokens ``positions`` lays end to end at a time


def _positions(
    starts: np.ndarray,
    ends: np.ndarray,
    hashes: np.ndarray,
    offsets: np.ndarray,
    docs: np.ndarray,
    spans: np.ndarray,
) -> np.ndarray:
    """``positions`` of some sides, all at once."""
    out = np.zeros((len(docs), len(FEATURES)))
    count = offsets[docs + 1] - offsets[docs]
    at = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(count, out=at[1:])
    side = np.repeat(np.arange(len(docs), dtype=np.int64), count)
    t = np.arange(int(at[-1]), dtype=np.int64) - at[side]  # each token's place in its side
    g = offsets[docs][side] + t
    s, e = starts[g], ends[g]
    spans = np.asarray(spans, dtype=np.int64).reshape(-1, 3)
    inside = np.zeros(len(g), dtype=bool)
    if len(spans) and len(g):  # ``_within``, every side's spans sorted on one axis
        span = int(max(spans[:, 1:].max(), e.max())) + 2
        order = np.lexsort((spans[:, 1], spans[:, 0]))
        su, lo = spans[order, 0], spans[order, 1]
        hi = np.maximum.accumulate(su * span + spans[order, 2]) - su * span  # furthest end so far in the side
        k = np.searchsorted(su * span + lo, side * span + s, side="right") - 1
        kk = np.maximum(k, 0)
        inside = (k >= 0) & (su[kk] == side) & (hi[kk] >= e)
    hit = np.flatnonzero(inside)
    if not len(hit):
        return out
    hs = side[hit]
    head = np.flatnonzero(np.r_[True, hs[1:] != hs[:-1]])
    tail = np.r_[head[1:], len(hs)] - 1
    sides = hs[head]
    first, last = t[hit[head]], t[hit[tail]]
    # own runs between inside tokens: those that neither start a side nor end it
    own = ~inside
    prev_own = np.r_[False, own[:-1]] & (t > 0)
    next_own = np.r_[own[1:], False] & (t < count[side] - 1)
    run_start = np.flatnonzero(own & ~prev_own)
    run_end = np.flatnonzero(own & ~next_own)
    length = run_end - run_start + 1
    middle = (t[run_start] > 0) & (t[run_end] < count[side[run_end]] - 1) & (length >= MIN_RUN)
    inner = np.bincount(side[run_start[middle]], weights=length[middle], minlength=len(docs))
    last_of = np.full(len(docs), -1, dtype=np.int64)
    last_of[sides] = last
    content = (e - s) >= CONTENT_CHARS
    tail_word = content & (t > last_of[side]) & (last_of[side] >= 0)
    story = inside & content
    out[sides, 0] = tail - head + 1
    out[sides, 1] = first
    out[sides, 2] = inner[sides]
    out[sides, 3] = count[sides] - last - 1
    tails = np.flatnonzero(np.bincount(side[tail_word], minlength=len(docs)))
    if len(tails):
        h = hashes[g]
        for u, lo_t, hi_t in zip(tails.tolist(), at[tails].tolist(), at[tails + 1].tolist()):
            words, pool = h[lo_t:hi_t][tail_word[lo_t:hi_t]], h[lo_t:hi_t][story[lo_t:hi_t]]
            out[u, 4] = float(_held_in(words, pool).mean())
    return out


def _held_in(values: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """``np.isin(values, pool)`` for a side's few hundred words: a sort and a binary search, without
    ``isin``'s concatenation and stable sort of both, which cost more than the search on arrays this small."""
    if not len(pool):
        return np.zeros(len(values), dtype=bool)
    pool = np.sort(pool)
    at = np.minimum(np.searchsorted(pool, values), len(pool) - 1)
    return pool[at] == values


def position_direction(fa: np.ndarray, fb: np.ndarray, held: float) -> tuple[int, float]:
    """(which side copies: 1 for a, -1 for b, 0 unknown; confidence 0–1) from the two sides' ``position``
    features; ``held``: the larger containment of the pair. Only a pair where one side holds most of the
    other (``CONTAINED``) is decided so: where both have much text of their own (a short item built around
    a few sentences of a long story), the story's edges are not a wrapper.

    Own text both sides have at one place (each its headline, a reworded sentence) is a substitution and says
    nothing; only what one side has beyond the other counts: more text both before and after the story is a
    wrapper's (that side copies), more text interleaved with the shared passages is the original's (the other
    dropped it). More text at one edge only does not decide: a header and the leading paragraphs a copy
    dropped look alike, and so do a footer and a story that goes on where a trimmed copy stopped."""
    if held < CONTAINED:
        return 0, 0.0
    shared = max(min(fa[0], fb[0]), 1.0)
    head, inner, tail = fa[1] - fb[1], fa[2] - fb[2], fa[3] - fb[3]
    edge = HEADLINE  # a wrapper's text at each edge is more than a headline's difference
    wraps = head + tail if min(head, tail) >= edge or max(head, tail) <= -edge else 0.0
    a_original = inner - wraps  # positive: a is the original, b copies it
    if abs(a_original) < min(POSITION_MARGIN * shared, HEADLINE):
        return 0, 0.0
    return (-1 if a_original > 0 else 1), round(min(1.0, abs(a_original) / (FULL_CONFIDENCE * shared)), 3)


@dataclass(frozen=True)
class When:
    """A publication date as an interval of instants: ``lo``–``hi`` (UTC, naive times taken as UTC and
    widened by ``_OFFSET_SLACK`` only when compared with zoned ones), and whether it had a time."""

    lo: datetime
    hi: datetime
    zoned: bool


def parse_when(value: str | None) -> When | None:
    """The interval a stored date stands for: a whole day for a date without a time (and for midnight
    exactly, which is how a date without a time is stored), else the instant; None when unreadable."""
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    zoned = t.tzinfo is not None
    t = t.astimezone(UTC).replace(tzinfo=None) if zoned else t
    if not zoned and (t.hour, t.minute, t.second, t.microsecond) == (0, 0, 0, 0):
        return When(t, t + timedelta(days=1), zoned)
    return When(t, t, zoned)


def compare_dates(x: When | None, y: When | None) -> int:
    """-1 when x is surely before y, 1 when surely after, 0 when they do not decide (unknown, the same day
    at a day's precision, or within the slack of an unknown time zone)."""
    if x is None or y is None:
        return 0
    slack = _OFFSET_SLACK if x.zoned != y.zoned else timedelta(0)
    if x.hi + slack <= y.lo and x.lo < y.lo:
        return -1
    if y.hi + slack <= x.lo and y.lo < x.lo:
        return 1
    return 0


@dataclass
class Direction:
    """Per pair: which side copies (1: a copies b, -1: b copies a, 0: not known or not a copy), the
    confidence (0–1) and what decided it (index into ``DIRECTION_BY``)."""

    copies: np.ndarray  # int8
    confidence: np.ndarray  # float64
    by: np.ndarray  # int8


def pair_directions(
    a: np.ndarray,
    b: np.ndarray,
    linking: np.ndarray,
    dates: Sequence[str | None],
    excerpt: np.ndarray,
    features_a: np.ndarray,
    features_b: np.ndarray,
    held: np.ndarray,
) -> Direction:
    """The direction of every pair (``linking``: the pairs that make clusters; others get none): dates, then
    a cut, then the position of each side's own text (see the module docstring); ``held``: each pair's larger
    containment."""
    n = len(a)
    copies = np.zeros(n, dtype=np.int8)
    confidence = np.zeros(n)
    by = np.full(n, DIRECTION_BY.index("unknown"), dtype=np.int8)
    whens: dict[int, When | None] = {}

    def when(d: int) -> When | None:
        if d not in whens:
            whens[d] = parse_when(dates[d])
        return whens[d]

    for p in np.flatnonzero(linking).tolist():
        x, y = int(a[p]), int(b[p])
        order = compare_dates(when(x), when(y))
        if order:
            copies[p], confidence[p], by[p] = order, 1.0, DIRECTION_BY.index("dates")  # the later one copies
        elif bool(excerpt[x]) != bool(excerpt[y]):
            copies[p], confidence[p], by[p] = (1 if excerpt[x] else -1), 1.0, DIRECTION_BY.index("cut")
        else:
            side, conf = position_direction(features_a[p], features_b[p], float(held[p]))
            if side:
                copies[p], confidence[p], by[p] = side, conf, DIRECTION_BY.index("position")
    return Direction(copies, confidence, by)


def _reaches(up: dict[int, set[int]], x: int, y: int) -> bool:
    """Whether ``y`` is reachable from ``x`` following ``up`` (what each member copies)."""
    seen, todo = {x}, [x]
    while todo:
        v = todo.pop()
        if v == y:
            return True
        for w in up[v] - seen:
            seen.add(w)
            todo.append(w)
    return False


def cluster_sources(
    members: list[list[int]],
    ranked: list[int],
    same_text: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    direction: Direction,
    dates: Sequence[str | None],
) -> tuple[list[int], list[bool]]:
    """Each cluster's source from its pairs' directions, and whether the evidence decides it.

    ``ranked``: per cluster, its members in the order of ``cluster``'s ranking (the fallback among members
    the evidence leaves equal); ``same_text``: a label per document, equal for copies of one text (one vote).
    """
    cluster_of: dict[int, int] = {m: k for k, group in enumerate(members) for m in group}
    edges: list[list[tuple[int, float, int, int]]] = [[] for _ in members]  # (-by rank, conf, copier, source)
    for p in np.flatnonzero(direction.copies != 0).tolist():
        x, y = int(a[p]), int(b[p])
        k = cluster_of.get(x)
        if k is None or cluster_of.get(y) != k:
            continue
        copier, source = (x, y) if direction.copies[p] > 0 else (y, x)
        strength = 2 if direction.by[p] == DIRECTION_BY.index("dates") else 1
        edges[k].append((strength, float(direction.confidence[p]), int(same_text[copier]), int(same_text[source])))
    sources, known = [], []
    for k, group in enumerate(members):
        whens = {m: parse_when(dates[m]) for m in group}
        later = {m for m in group if any(compare_dates(whens[m], whens[o]) > 0 for o in group if o != m)}
        nodes = {int(same_text[m]) for m in group}
        up: dict[int, set[int]] = {v: set() for v in nodes}  # v -> what v copies

        for _, _, copier, source in sorted(set(edges[k]), key=lambda e: (-e[0], -e[1], e[2], e[3])):
            if copier != source and not _reaches(up, source, copier):
                up[copier].add(source)
        top = {v for v in nodes if not up[v]}
        eligible = [m for m in ranked[k] if m not in later] or ranked[k]
        rank = {m: r for r, m in enumerate(eligible)}
        by_text: dict[int, list[int]] = {}
        for m in eligible:
            by_text.setdefault(int(same_text[m]), []).append(m)
        # Climb from the best-ranked member along what it copies (the best-ranked of those) to one that copies
        # no other: the ranking is kept where the evidence is silent, and overruled where it speaks.
        pick = eligible[0]
        while up[int(same_text[pick])]:
            targets = [m for v in up[int(same_text[pick])] for m in by_text.get(v, [])]
            if not targets:
                break
            pick = min(targets, key=rank.__getitem__)
        sources.append(pick)
        known.append(len(top) == 1 and int(same_text[pick]) in top)
    return sources, known
