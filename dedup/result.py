"""The result of a scan, as polars DataFrames and as the JSON output contract.

Texts, paragraphs and signatures stay in the feature store and are read on demand, so a
result of a million articles holds a few numbers per article, its pairs and their passages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from .escape import name as escape_name
from .escape import stored_name
from .featurestore import StoreError
from .label import LABELS
from .options import flatten
from .output import jsontext
from .output.kept import FramePairs, Groups, PairRows, Roles
from .output.tables import SCHEMAS, covering
from .views.data import oriented_pair
from .wording import phrase

if TYPE_CHECKING:
    from .cluster import Clusters
    from .featurestore import FeatureStore
    from .ingest import Skipped
    from .options import ScanOptions
    from .phase2 import Found

FORMAT_VERSION = 2  # of the JSON output contract: 1 had no meta; 2 adds meta and document metadata
_DIGITS = 4
# Rows of the biggest table built at once when a result is written out (any size gives the same bytes): the writer's
# peak heap grows with it, its time (polars' fixed cost a call) shrinks with it. A cluster's driver, whose memory is
# what limits the corpus, writes in smaller batches (``StoredTable.batch_rows``; benchmarks/README.md, issue 32).
BATCH_ROWS = 50_000


def ranges(offsets: np.ndarray, rows: int) -> Iterator[tuple[int, int]]:
    """Consecutive ranges [lo, hi) of items, item i owning rows ``offsets[i]:offsets[i+1]``, of about ``rows``
    rows and items together each (at least one item)."""
    n = len(offsets) - 1
    lo = 0
    while lo < n:
        # An item counts as a row too, so items without rows are batched as well; a range holds at most ``rows``
        # items, so only the next ``rows + 1`` offsets are looked at (a mapped vector is read range by range).
        window = np.asarray(offsets[lo : lo + max(rows, 1) + 1], dtype=np.int64)
        weight = window - window[0] + np.arange(len(window))
        hi = lo + int(np.searchsorted(weight, rows, side="right")) - 1
        hi = min(max(hi, lo + 1), n)
        yield lo, hi
        lo = hi


def _roles(role: Sequence[str | None], rows: np.ndarray) -> list[str | None]:
    """The roles of articles ``rows`` (a cluster's: a byte an article, ``Roles``)."""
    return role.take(rows) if isinstance(role, Roles) else [role[i] for i in rows.tolist()]


def csr(counts: np.ndarray) -> np.ndarray:
    """CSR offsets of items with ``counts`` rows each."""
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


class _Texts(Sequence):
    """The articles' texts, read from the store when asked for."""

    def __init__(self, store: FeatureStore) -> None:
        self._store = store

    def __len__(self) -> int:
        return len(self._store)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self._store.text(j) for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        return self._store.text(i)


# What ``escape.name`` changes in a name held by polars (which holds no surrogates): controls, backslash,
# C1 controls, line separators, bidi overrides and isolates.
_NEEDS_ESCAPE = r"[\x00-\x1f\\\x7f-\x{9f}\x{2028}\x{2029}\x{202a}-\x{202e}\x{2066}-\x{2069}]"


_NEEDS_ESCAPE_PY = re.compile(r"[\x00-\x1f\\\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")  # the same, for Python
_FEW_NAMES = 256  # up to this many names (a query's answer) are checked in Python: polars' regex costs ~0.2 ms a call
_FEW_ROWS = 256  # up to this many documents and pairs (a query's answer), ``contents`` builds its dicts in Python


def _shown_list(names: list[str | None]) -> list[str | None]:
    """``shown_names`` of a list of names, as a list."""
    return [stored_name(v) if v is not None and _NEEDS_ESCAPE_PY.search(v) else v for v in names]


def shown_names(names: pl.Series) -> pl.Series:
    """Stored names (ids, paths) as every output shows them (``escape.name``); most need nothing, and
    only those that do are touched."""
    if len(names) <= _FEW_NAMES:
        listed = names.to_list()
        shown = _shown_list(listed)
        if all(a is b for a, b in zip(shown, listed)):  # nothing needed escaping
            return names
        return pl.Series(names.name, shown, dtype=pl.Utf8)
    need = names.str.contains(_NEEDS_ESCAPE).fill_null(False)
    if not need.any():
        return names
    values = [stored_name(v) if n else v for v, n in zip(names.to_list(), need.to_list())]
    return pl.Series(names.name, values, dtype=pl.Utf8)


class StoredCorpus:
    """The scanned articles as ``read.Corpus`` shows them (ids, paths, dates, texts, paragraphs),
    backed by the feature store. Ids and paths are as shown (escaped), the names a user sees."""

    def __init__(self, store: FeatureStore, frame: pl.DataFrame, para_offsets: np.ndarray, errors: list[str]) -> None:
        self._store = store
        self.ids: list[str] = shown_names(frame["id"]).to_list()
        self.paths: list[str] = shown_names(frame["path"]).to_list()
        self.dates: list[str | None] = frame["date"].to_list()
        self.texts = _Texts(store)
        self.para_offsets = para_offsets
        self.errors = errors

    def __len__(self) -> int:
        return len(self.ids)

    def paragraphs(self, i: int) -> np.ndarray:
        """(n, 2) array of the start/end offsets of document i's paragraphs."""
        return self._store.paragraphs(i)

    @cached_property
    def _flat(self) -> np.ndarray:
        return self._store.concat("paragraphs").reshape(-1, 2)

    @property
    def para_starts(self) -> np.ndarray:
        return self._flat[:, 0]

    @property
    def para_ends(self) -> np.ndarray:
        return self._flat[:, 1]


@dataclass
class ScanResult:
    """Everything a scan found; the arrays stay available for library users."""

    store: FeatureStore
    frame: pl.DataFrame  # one row per article, as the store holds it (a cluster's: ``StoredFrame``, read by range)
    pair_rows: PairRows  # document indices a, b and the measures, read through ``PairRows`` (a cluster's: by part)
    clusters: Clusters
    passages: Sequence[np.ndarray]  # per row of ``pairs``: (a_start, a_end, b_start, b_end) rows
    labels: np.ndarray  # label code per paragraph, global paragraph order (a cluster's: read by range)
    para_offsets: np.ndarray  # article i's paragraphs are labels[para_offsets[i]:para_offsets[i+1]]
    boilerplate: np.ndarray  # sorted truncated fingerprints of boilerplate shingles
    boiler_bits: int  # low bits dropped from a shingle hash to compare it with ``boilerplate``
    candidates: int
    timings: dict[str, float]
    options: ScanOptions
    skipped: list[Skipped] = field(default_factory=list)
    keep_alive: Any = None  # the temporary store's folder, removed with the result
    indexed_from: int | None = None  # ``scan --index``: the first article of the index's (documents say ``indexed``)
    already_indexed: int = 0  # ``scan --index``: the input's articles that were the index's already (one document)
    batch_rows: int = BATCH_ROWS  # rows of a batch when the result is written out (``json_chunks``, ``table_batches``)

    @classmethod
    def of(cls, found: Found, store: Any, options: ScanOptions, skipped: Sequence[Skipped] = ()) -> ScanResult:
        """The result of phase 2 (``phase2.Found``) over ``store``'s articles."""
        return cls(
            store=store,
            frame=found.table.frame,
            pair_rows=FramePairs(found.pairs) if isinstance(found.pairs, pl.DataFrame) else found.pairs,
            clusters=found.clusters,
            passages=found.passages,
            labels=found.labels,
            para_offsets=found.para_offsets,
            boilerplate=found.boilerplate.fingerprints,
            boiler_bits=found.boilerplate.bits,
            candidates=found.candidates,
            timings=found.timings,
            options=options,
            skipped=list(skipped),
            batch_rows=getattr(found.table, "batch_rows", BATCH_ROWS),
        )

    @property
    def pairs(self) -> pl.DataFrame:
        """Every kept pair as one frame: a, b (article numbers) and the measures (a cluster's: read whole)."""
        return self.pair_rows.whole()

    @cached_property
    def corpus(self) -> StoredCorpus:
        errors = [f"{escape_name(s.path)}: {s.reason}; skipped" for s in self.skipped]
        return StoredCorpus(self.store, self.frame, self.para_offsets, errors)

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {doc_id: i for i, doc_id in enumerate(self.corpus.ids)}

    def index_of(self, doc_id: str) -> int:
        """Position of a document id (as ``documents_frame`` shows it) in the corpus; KeyError naming the id
        if it was not scanned."""
        try:
            return self._positions[doc_id]
        except KeyError:
            raise KeyError(f"{doc_id!r} is not an article of this scan") from None

    @property
    def signatures(self) -> np.ndarray:
        """MinHash signature of every article, shape (n, num_perm) uint32 (loaded from the store)."""
        sig = self.store.concat("signatures")
        return sig.reshape(len(self.frame), self.options.num_perm).astype(np.uint32, copy=False)

    @property
    def documents_frame(self) -> pl.DataFrame:
        """One row per document (``tables.SCHEMAS["documents"]``): id, path, chars (code points), bytes (UTF-8),
        date (ISO, if known), cluster, role, the cluster's source id, then title, url, site, encoding (where
        the reader found them)."""
        return self.documents_rows(np.arange(len(self.frame)))

    @property
    def clusters_frame(self) -> pl.DataFrame:
        """One row per cluster: id, source, members (ids), and which members are other versions of
        the source's text (same site) and which are derived from it (the rest)."""
        return pl.DataFrame(
            self._cluster_columns(),
            schema={
                "id": pl.Int64,
                "source": pl.Utf8,
                "members": pl.List(pl.Utf8),
                "versions": pl.List(pl.Utf8),
                "derived": pl.List(pl.Utf8),
                "source_known": pl.Boolean,
            },
        )

    def _cluster_columns(self) -> dict[str, list]:
        """``clusters_frame``'s columns as Python lists."""
        ids = self.corpus.ids
        c = self.clusters
        versions = c.versions or [[] for _ in c.sources]
        derived = [
            [ids[m] for m in group if m != src and m not in set(v)]
            for src, group, v in zip(c.sources, c.members, versions)
        ]
        return {
            "id": list(range(len(c.sources))),
            "source": [ids[s] for s in c.sources],
            "members": [[ids[m] for m in group] for group in c.members],
            "versions": [[ids[m] for m in v] for v in versions],
            "derived": derived,
            "source_known": self.source_known,
        }

    @property
    def pairs_frame(self) -> pl.DataFrame:
        """One row per related pair, with document ids, in the order of ``pairs``."""
        return self.pairs_batch(np.arange(len(self.pair_rows)))

    @property
    def passages_frame(self) -> pl.DataFrame:
        """One row per shared passage: a, b (ids, as in ``pairs_frame``) and the offsets on both sides."""
        return self.passages_batch(0, len(self.pair_rows))

    @property
    def paragraphs_frame(self) -> pl.DataFrame:
        """One row per paragraph: doc (id), start, end, label, shared_with (ids of the cluster members
        whose shared passages cover most of it)."""
        return self.paragraphs_batch(0, len(self.frame))

    def tables(self) -> dict[str, pl.DataFrame]:
        """The four tables of the tabular exports (documents, pairs, paragraphs, passages), by name, each in
        its documented schema (``tables.SCHEMAS``)."""
        return {
            "documents": self.documents_frame,
            "pairs": self.pairs_frame,
            "paragraphs": self.paragraphs_frame,
            "passages": self.passages_frame,
        }

    # ------------------------------------------------------------ the tables, batch by batch

    def table_batches(self, table: str, rows: int | None = None) -> Iterator[pl.DataFrame]:
        """One of the four tables (``tables.SCHEMAS``) in consecutive batches of about ``rows`` rows (default:
        ``batch_rows``), built from the store and phase 2's arrays as they are written; at least one batch (maybe
        empty)."""
        rows = rows or self.batch_rows
        if table == "documents":
            each = np.zeros(len(self.frame) + 1, dtype=np.int64)  # a row each: ``ranges`` counts the item
            parts = (self.documents_rows(np.arange(lo, hi)) for lo, hi in ranges(each, rows))
        elif table == "paragraphs":
            parts = (self.paragraphs_batch(lo, hi) for lo, hi in ranges(self.para_offsets, rows))
        elif table == "pairs":
            each = np.zeros(len(self.pair_rows) + 1, dtype=np.int64)
            parts = (self.pairs_batch(np.arange(lo, hi)) for lo, hi in ranges(each, rows))
        elif table == "passages":
            parts = (self.passages_batch(lo, hi) for lo, hi in ranges(self._passage_offsets, rows))
        else:
            raise ValueError(f"no table {table!r}")
        empty = True
        for part in parts:
            empty = False
            yield part
        if empty:
            yield (
                self.documents_rows(np.zeros(0, dtype=np.int64))
                if table == "documents"
                else pl.DataFrame(schema=SCHEMAS[table])
            )

    def shown_ids(self, docs: np.ndarray) -> pl.Series:
        """The ids of articles ``docs`` as every output shows them."""
        stored = getattr(self.frame, "ids_of", None)  # a cluster's frame: its compact copy of the ids
        if stored is not None:
            return shown_names(stored(docs))
        return shown_names(self.frame["id"].gather(np.asarray(docs, dtype=np.int64)))

    @cached_property
    def source_known(self) -> list[bool]:
        """Per cluster, whether the pairs' directions decide its source (``direction.cluster_sources``)."""
        known = self.clusters.known
        return list(known) if len(known) == len(self.clusters.sources) else [False] * len(self.clusters.sources)

    @cached_property
    def cluster_sources(self) -> np.ndarray:
        return np.asarray(self.clusters.sources, dtype=np.int64)

    @cached_property
    def _passage_offsets(self) -> np.ndarray:
        """CSR offsets of the passages of each row of ``pairs``."""
        counts = getattr(self.passages, "lengths", None)  # a cluster's: kept as a vector
        if counts is not None:
            return csr(np.asarray(counts, dtype=np.int64))
        return csr(np.fromiter((len(p) for p in self.passages), dtype=np.int64, count=len(self.passages)))

    def documents_rows(self, rows: np.ndarray) -> pl.DataFrame:
        """Rows ``rows`` (ascending article numbers) of ``documents_frame``."""
        f = self.frame[rows] if len(rows) else self.frame.clear()
        c = np.asarray(self.clusters.cluster, dtype=np.int64)[rows]
        role = self.clusters.role
        source = pl.Series("source", [None] * len(c), dtype=pl.Utf8)
        inside = np.flatnonzero(c >= 0)
        if len(inside):
            source = source.scatter(inside, self.shown_ids(self.cluster_sources[c[inside]]))
        columns = {
            "id": shown_names(f["id"]),
            "path": shown_names(f["path"]),
            "chars": f["chars"],
            "bytes": f["bytes"],
            "date": f["date"],
            "cluster": pl.Series("cluster", c, dtype=pl.Int64).scatter(np.flatnonzero(c < 0), None),
            "role": pl.Series("role", _roles(role, rows), dtype=pl.Utf8),
            "source": source,
            "title": f["title"],
            "url": f["url"],
            "site": f["site"],
            "encoding": f["encoding"],
        }
        if self.indexed_from is None:
            return pl.DataFrame(columns, schema=SCHEMAS["documents"])
        columns["indexed"] = pl.Series("indexed", np.asarray(rows) >= self.indexed_from, dtype=pl.Boolean)
        return pl.DataFrame(columns, schema=SCHEMAS["documents"] | {"indexed": pl.Boolean()})

    def pairs_batch(self, rows: np.ndarray) -> pl.DataFrame:
        """Rows ``rows`` of ``pairs_frame``."""
        p = self.pair_rows.take(rows)
        a, b = self.shown_ids(p["a"].to_numpy()), self.shown_ids(p["b"].to_numpy())
        copies = p["copies"].to_numpy() if "copies" in p.columns else np.zeros(p.height, dtype=np.int8)
        by = p["direction_by"] if "direction_by" in p.columns else pl.Series([None] * p.height, dtype=pl.Utf8)
        confidence = p["direction_confidence"] if "direction_confidence" in p.columns else pl.Series([0.0] * p.height)
        decided = copies != 0
        phrases = [
            phrase(r, int(c), x, y)
            for r, c, x, y in zip(
                p["relation"].to_list(), copies.tolist(), p["a_in_b"].to_list(), p["b_in_a"].to_list()
            )
        ]
        return pl.DataFrame(
            {
                "a": a,
                "b": b,
                "relation": p["relation"],
                "jaccard": p["jaccard"].round(_DIGITS),
                "a_in_b": p["a_in_b"].round(_DIGITS),
                "b_in_a": p["b_in_a"].round(_DIGITS),
                "copy": pl.select(
                    pl.when(pl.lit(copies > 0)).then(a).when(pl.lit(copies < 0)).then(b).otherwise(None)
                ).to_series(),
                "direction_by": pl.select(pl.when(pl.lit(decided)).then(by).otherwise(None)).to_series(),
                "direction_confidence": pl.Series(np.where(decided, confidence.to_numpy(), 0.0)).round(_DIGITS),
                "phrase": pl.Series(phrases, dtype=pl.Utf8),
            },
            schema=SCHEMAS["pairs"],
        )

    def passage_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The passages of pairs ``rows`` as one (m, 4) array, and the row of ``rows`` each belongs to."""
        rows = np.asarray(rows, dtype=np.int64)
        take = getattr(self.passages, "take", None)  # a cluster's: read from its file by runs
        if take is not None:
            return take(rows), np.repeat(np.arange(len(rows)), self.passages.lengths[rows])
        parts = [self.passages[r] for r in rows.tolist()]
        counts = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
        flat = np.concatenate(parts).reshape(-1, 4) if parts else np.zeros((0, 4), dtype=np.int64)
        return flat.astype(np.int64, copy=False), np.repeat(np.arange(len(parts)), counts)

    def passages_batch(self, lo: int, hi: int) -> pl.DataFrame:
        """The rows of ``passages_frame`` of pairs ``lo:hi``."""
        flat, owner = self.passage_rows(np.arange(lo, hi))
        p = self.pair_rows.slice(lo, hi - lo)
        a, b = p["a"].to_numpy()[owner], p["b"].to_numpy()[owner]
        columns = {"a": self.shown_ids(a), "b": self.shown_ids(b)}
        columns |= {name: flat[:, k] for k, name in enumerate(("a_start", "a_end", "b_start", "b_end"))}
        return pl.DataFrame(columns, schema=SCHEMAS["passages"])

    def spans(self, lo: int, hi: int) -> np.ndarray:
        """The paragraph spans of articles ``lo:hi``, (m, 2) int64 in ``para_offsets`` order: read a shard's
        range at a time from a feature store, checked to lie in their texts."""
        store = self.store
        if not hasattr(store, "bases"):  # a query's articles: read one by one
            parts = [np.asarray(store.paragraphs(i)).reshape(-1, 2) for i in range(lo, hi)]
            return np.concatenate(parts).astype(np.int64) if parts else np.zeros((0, 2), dtype=np.int64)
        stored = getattr(self.frame, "spans", None)  # a cluster's frame reads them without checking whole shards
        if stored is not None:
            out = stored(lo, hi)
        else:
            bases, parts, at = store.bases, [], lo
            k = int(np.searchsorted(bases, lo, side="right")) - 1
            while at < hi:
                shard, base = store.shard(store.shard_names[k]), int(bases[k])
                end = min(hi, int(bases[k + 1]))
                off = shard.array("para_offsets")
                parts.append(shard.rows("paragraphs", int(off[at - base]), int(off[end - base])).reshape(-1, 2))
                at, k = end, k + 1
            out = np.concatenate(parts).astype(np.int64) if parts else np.zeros((0, 2), dtype=np.int64)
        counts = np.diff(self.para_offsets[lo : hi + 1])
        if len(out) != int(counts.sum()):
            raise StoreError(f"{store.root}: the paragraphs of articles {lo}-{hi - 1} changed since the scan")
        stored = getattr(self.frame, "lengths", None)  # a cluster's frame: its mapped vector, read by range
        lengths = stored(lo, hi) if stored is not None else self.frame["chars"].slice(lo, hi - lo).to_numpy()
        chars = np.repeat(lengths, counts)
        bad = (out[:, 0] < 0) | (out[:, 0] > out[:, 1]) | (out[:, 1] > chars)
        if bad.any():
            row = lo + int(np.searchsorted(np.cumsum(counts), int(np.argmax(bad)), side="right"))
            raise StoreError(f"{store.root}: paragraphs of article {row} lie outside its text")
        return out

    @cached_property
    def _within(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(a, b, row) of the pairs inside one cluster that have passages: what makes a paragraph shared."""
        a, b = self.pair_rows.column("a").to_numpy(), self.pair_rows.column("b").to_numpy()
        cl = np.asarray(self.clusters.cluster)
        keep = (cl[a] >= 0) & (cl[a] == cl[b]) & (np.diff(self._passage_offsets) > 0)
        rows = np.flatnonzero(keep)
        return a[rows], b[rows], rows

    def shared_with_batch(self, lo: int, hi: int, spans: np.ndarray) -> pl.Series:
        """``shared_with`` of the paragraphs (``spans``) of articles ``lo:hi``: per paragraph, the sorted ids of
        the cluster members whose shared passages cover most of it (``tables.covering``)."""
        a, b, rows = self._within
        sides = []  # (this side's article, the other, passages, which columns hold this side's spans)
        for mine, other, cols in ((a, b, slice(0, 2)), (b, a, slice(2, 4))):
            sel = np.flatnonzero((mine >= lo) & (mine < hi))
            flat, owner = self.passage_rows(rows[sel])
            sides.append((mine[sel][owner] - lo, other[sel][owner], flat[:, cols]))
        doc = np.concatenate([s[0] for s in sides])
        other = np.concatenate([s[1] for s in sides])
        span = np.concatenate([s[2] for s in sides])
        offsets = self.para_offsets[lo : hi + 1] - self.para_offsets[lo]
        para, who = covering(offsets, spans[:, 0], spans[:, 1], doc, span[:, 0], span[:, 1], other)
        lists = (
            pl.DataFrame({"p": para, "id": self.shown_ids(who)})
            .sort("p", "id")
            .group_by("p", maintain_order=True)
            .agg(pl.col("id"))
        )
        every = pl.DataFrame({"p": np.arange(len(spans), dtype=np.int64)})
        out = every.join(lists, on="p", how="left").sort("p")["id"]
        return out.fill_null(pl.lit([], dtype=pl.List(pl.Utf8))).alias("shared_with")

    def paragraphs_batch(self, lo: int, hi: int) -> pl.DataFrame:
        """The rows of ``paragraphs_frame`` of articles ``lo:hi``."""
        spans = self.spans(lo, hi)
        counts = np.diff(self.para_offsets[lo : hi + 1])
        p0, p1 = int(self.para_offsets[lo]), int(self.para_offsets[hi])
        return pl.DataFrame(
            {
                "doc": self.shown_ids(np.repeat(np.arange(lo, hi), counts)),
                "start": spans[:, 0],
                "end": spans[:, 1],
                "label": pl.Series(LABELS, dtype=pl.Utf8).gather(self.labels[p0:p1].astype(np.int64)),
                "shared_with": self.shared_with_batch(lo, hi, spans),
            },
            schema=SCHEMAS["paragraphs"],
        )

    # ------------------------------------------------------------ the JSON contract, batch by batch

    def json_chunks(self, rows: int | None = None) -> Iterator[str]:
        """The JSON contract (``to_dict``) as text, byte for byte what ``json.dumps(self.to_dict(),
        ensure_ascii=False, indent=1)`` and a newline give, built a batch of about ``rows`` records (default:
        ``batch_rows``) at a time (``jsontext``) instead of as Python dicts."""
        rows = rows or self.batch_rows
        return jsontext.document(
            [
                ("meta", self.meta),
                ("documents", self._json_documents(rows)),
                ("clusters", self._json_clusters(rows)),
                ("pairs", self._json_pairs(rows)),
            ]
        )

    def _json_documents(self, rows: int) -> Iterator[pl.Series | Iterator[str]]:
        for lo, hi in ranges(self.para_offsets, rows):
            docs = self.documents_rows(np.arange(lo, hi)).drop("source")
            spans = self.spans(lo, hi)
            p0, p1 = int(self.para_offsets[lo]), int(self.para_offsets[hi])
            fields = {name: jsontext.literals(docs[name]) for name in docs.columns}
            # One article of more paragraphs than a batch (a huge text file) is written in pieces.
            if hi - lo == 1 and p1 - p0 > rows:
                yield self._json_long_document(fields, spans, p0, rows)
                continue
            owner = np.repeat(np.arange(hi - lo), np.diff(self.para_offsets[lo : hi + 1]))
            fields["paragraphs"] = jsontext.arrays(self._json_paragraphs(spans, p0), owner, hi - lo, 3)
            yield jsontext.objects(fields, 2)

    def _json_paragraphs(self, spans: np.ndarray, p0: int) -> pl.Series:
        """The JSON objects (at level 4) of the paragraphs ``p0:p0 + len(spans)`` with these spans."""
        labels = pl.Series(LABELS, dtype=pl.Utf8).gather(self.labels[p0 : p0 + len(spans)].astype(np.int64))
        return jsontext.objects(
            {
                "start": pl.Series(spans[:, 0]).cast(pl.Utf8),
                "end": pl.Series(spans[:, 1]).cast(pl.Utf8),
                "label": jsontext.strings(labels),
            },
            4,
        )

    def _json_long_document(self, fields: dict[str, pl.Series], spans: np.ndarray, p0: int, rows: int) -> Iterator[str]:
        """One article's JSON object as text pieces, its paragraphs ``rows`` at a time, so that writing an
        article of a million paragraphs holds a batch of them, not all (what ``jsontext.arrays`` writes)."""
        # A JSON literal never holds a raw NUL (it is escaped), so it marks where the paragraphs go.
        head, tail = jsontext.objects({**fields, "paragraphs": pl.Series(["\0"])}, 2).item().split("\0")
        yield head
        pad = "\n" + " " * 4
        for at in range(0, len(spans), rows):
            items = self._json_paragraphs(spans[at : at + rows], p0 + at)
            yield ("[" if at == 0 else ",") + pad + items.str.join("," + pad).item()
        yield "\n" + " " * 3 + "]" + tail

    def _json_clusters(self, rows: int) -> Iterator[pl.Series]:
        c = self.clusters
        members = c.members if isinstance(c.members, Groups) else Groups.of(c.members)
        versions = c.versions if isinstance(c.versions, Groups) else Groups.of(c.versions or [[] for _ in c.sources])
        for lo, hi in ranges(np.asarray(members.offsets), rows):  # a range of clusters' lists read at a time
            n = hi - lo
            flat, sizes = members.span(lo, hi)
            owner = np.repeat(np.arange(n), sizes)
            v_flat, v_sizes = versions.span(lo, hi)
            v_owner = np.repeat(np.arange(n), v_sizes)
            width = len(self.frame) + 1
            source = self.cluster_sources[lo:hi]
            derived = (flat != source[owner]) & ~np.isin(owner * width + flat, v_owner * width + v_flat)
            fields = {
                "id": pl.Series(np.arange(lo, hi)).cast(pl.Utf8),
                "source": jsontext.strings(self.shown_ids(source)),
                "members": self._json_names(flat, owner, n),
                "versions": self._json_names(v_flat, v_owner, n),
                "derived": self._json_names(flat[derived], owner[derived], n),
                "source_known": jsontext.literals(pl.Series(self.source_known[lo:hi], dtype=pl.Boolean)),
            }
            yield jsontext.objects(fields, 2)

    def _json_names(self, docs: np.ndarray, owner: np.ndarray, n: int) -> pl.Series:
        """Per owner 0..n-1, the JSON array (at level 3) of the ids of its ``docs``."""
        return jsontext.arrays(jsontext.strings(self.shown_ids(docs)), owner, n, 3)

    @cached_property
    def pair_order(self) -> np.ndarray:
        """Rows of ``pairs`` in the JSON's order: by the shown ids of a, then b. Only the articles the pairs name are
        ranked (the order among them is the same as among all)."""
        a, b = self.pair_rows.column("a").to_numpy(), self.pair_rows.column("b").to_numpy()
        named = np.unique(np.concatenate([a, b]).astype(np.int64))
        rank = self.shown_ids(named).rank("dense").to_numpy().astype(np.int64)
        return np.lexsort((np.arange(len(a)), rank[np.searchsorted(named, b)], rank[np.searchsorted(named, a)]))

    def _json_pairs(self, rows: int) -> Iterator[pl.Series]:
        order = self.pair_order
        counts = np.diff(self._passage_offsets)[order]
        for lo, hi in ranges(csr(counts), rows):
            sel = order[lo:hi]
            frame = self.pairs_batch(sel)
            flat, owner = self.passage_rows(sel)
            keys = ("a_start", "a_end", "b_start", "b_end")
            passages = jsontext.objects({k: pl.Series(flat[:, i]).cast(pl.Utf8) for i, k in enumerate(keys)}, 4)
            fields = {name: jsontext.literals(frame[name]) for name in frame.columns}
            fields["passages"] = jsontext.arrays(passages, owner, hi - lo, 3)
            yield jsontext.objects(fields, 2)

    # ------------------------------------------------------------ bounded views for people

    def counts(self) -> dict[str, int]:
        """How many documents, clusters, documents in clusters, pairs and partial pairs the result holds."""
        return {
            "documents": len(self.frame),
            "clusters": len(self.clusters.sources),
            "in_clusters": int((np.asarray(self.clusters.cluster) >= 0).sum()),
            "pairs": len(self.pair_rows),
            "partial": int((self.pair_rows.column("relation") == "partial").sum()),
        }

    def pair_dicts(self, rows: np.ndarray) -> list[dict[str, Any]]:
        """Pairs ``rows`` as the JSON contract lists them (with passages), in the JSON's order."""
        rows = self.pair_order[np.isin(self.pair_order, rows)]
        out = self.pairs_batch(rows).to_dicts()
        for r, d in zip(rows.tolist(), out):
            d["passages"] = self.pair_passages(r)
        return out

    def distinct_ids(self, docs: list[int]) -> tuple[list[int], list[str]]:
        """Distinct ``docs`` and their shown ids."""
        unique = np.unique(np.asarray(docs, dtype=np.int64))
        return unique.tolist(), self.shown_ids(unique).to_list()

    def paragraphs(self, i: int) -> list[dict[str, Any]]:
        """Paragraphs of document i with their labels."""
        lo, hi = int(self.para_offsets[i]), int(self.para_offsets[i + 1])
        paras = self.store.paragraphs(i)
        return [
            {"start": s, "end": e, "label": LABELS[code]}
            for (s, e), code in zip(paras.tolist(), self.labels[lo:hi].tolist())
        ]

    def pair_passages(self, row: int) -> list[dict[str, int]]:
        """Shared passages of the pair in row ``row`` of ``pairs``."""
        keys = ("a_start", "a_end", "b_start", "b_end")
        return [dict(zip(keys, p)) for p in self.passages[row].tolist()]

    @property
    def meta(self) -> dict[str, Any]:
        """Version, every parameter, what was read and skipped, and timings."""
        from .version import __version__

        encodings = self.frame["encoding"].drop_nulls().value_counts(sort=True).rows()
        # A cluster's frame counts the files shard by shard (``StoredFrame.distinct``), never holding every path.
        distinct = getattr(self.frame, "distinct", None)
        files = distinct("path") if distinct is not None else self.frame["path"].n_unique()
        return {
            "dedup_version": __version__,
            "format_version": FORMAT_VERSION,
            "parameters": flatten(self.options),
            "inputs": {
                "files": files,
                "articles": len(self.frame),
                "skipped": [{"path": escape_name(s.path), "reason": s.reason} for s in self.skipped],
                "encodings": {str(k): int(v) for k, v in encodings},
                **({"already_indexed": self.already_indexed} if self.indexed_from is not None else {}),
            },
            "candidates": self.candidates,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON output contract: meta, documents (with paragraphs), clusters, pairs (with passages)."""
        return {"meta": self.meta, **self.contents()}

    def contents(self) -> dict[str, Any]:
        """``to_dict`` but its meta: documents (with paragraphs), clusters, pairs (with passages). A result of a
        few rows (a query's answer) is built in Python (``_few_documents``, ``_few_pairs``), where each polars
        call on a frame of a few rows costs 50-150 us: the same dicts."""
        few = len(self.frame) <= _FEW_ROWS and len(self.pair_rows) <= _FEW_ROWS
        documents = self._few_documents() if few else self.documents_frame.drop("source").to_dicts()
        for i, doc in enumerate(documents):  # the cluster's entry names its source: no "source" here
            doc["paragraphs"] = self.paragraphs(i)
        rows = self._few_pairs() if few else None
        if rows is None:
            rows = self.pairs_frame.with_row_index("_row").sort("a", "b").to_dicts()
        for r in rows:
            r["passages"] = self.pair_passages(r.pop("_row"))
        if few:
            columns = self._cluster_columns()
            clusters = [dict(zip(columns, v)) for v in zip(*columns.values())]
        else:
            clusters = self.clusters_frame.to_dicts()
        return {"documents": documents, "clusters": clusters, "pairs": rows}

    def _few_documents(self) -> list[dict[str, Any]]:
        """``documents_frame`` without ``source``, as ``to_dicts`` gives it, in Python."""
        f = self.frame
        col = {k: f[k].to_list() for k in ("id", "path", "chars", "bytes", "date", "title", "url", "site", "encoding")}
        ids, paths = _shown_list(col["id"]), _shown_list(col["path"])
        cluster, role = np.asarray(self.clusters.cluster, dtype=np.int64).tolist(), self.clusters.role
        out = []
        for i in range(len(ids)):
            doc = {
                "id": ids[i],
                "path": paths[i],
                "chars": col["chars"][i],
                "bytes": col["bytes"][i],
                "date": col["date"][i],
                "cluster": cluster[i] if cluster[i] >= 0 else None,
                "role": role[i],
                "title": col["title"][i],
                "url": col["url"][i],
                "site": col["site"][i],
                "encoding": col["encoding"][i],
            }
            if self.indexed_from is not None:
                doc["indexed"] = i >= self.indexed_from
            out.append(doc)
        return out

    def _few_pairs(self) -> list[dict[str, Any]] | None:
        """``pairs_frame`` with its row (``_row``) sorted by a then b, as ``to_dicts`` gives it, in Python (numpy's
        rounding is polars' ``round``: half to even of the value times 10^digits); None where a measure is
        missing (polars' path then)."""
        p = self.pairs
        measures = [c for c in ("jaccard", "a_in_b", "b_in_a", "direction_confidence") if c in p.columns]
        if any(p[c].null_count() for c in measures):
            return None
        ids = _shown_list(self.frame["id"].to_list())
        a, b = [ids[x] for x in p["a"].to_list()], [ids[x] for x in p["b"].to_list()]
        copies = p["copies"].to_list() if "copies" in p.columns else [0] * p.height
        by = p["direction_by"].to_list() if "direction_by" in p.columns else [None] * p.height
        confidence = p["direction_confidence"].to_numpy() if "direction_confidence" in p.columns else np.zeros(p.height)
        decided = np.asarray(copies, dtype=np.int64) != 0
        relation, held_a, held_b = p["relation"].to_list(), p["a_in_b"].to_list(), p["b_in_a"].to_list()
        rounded = [np.round(p[c].to_numpy(), _DIGITS).tolist() for c in ("jaccard", "a_in_b", "b_in_a")]
        sure = np.round(np.where(decided, confidence, 0.0), _DIGITS).tolist()
        rows = [
            {
                "_row": r,
                "a": a[r],
                "b": b[r],
                "relation": relation[r],
                "jaccard": rounded[0][r],
                "a_in_b": rounded[1][r],
                "b_in_a": rounded[2][r],
                "copy": a[r] if copies[r] > 0 else b[r] if copies[r] < 0 else None,
                "direction_by": by[r] if copies[r] != 0 else None,
                "direction_confidence": sure[r],
                "phrase": phrase(relation[r], int(copies[r]), held_a[r], held_b[r]),
            }
            for r in range(p.height)
        ]
        return sorted(rows, key=lambda d: (d["a"], d["b"]))

    def compare(self, i: int, j: int) -> dict[str, Any]:
        """Relation, measures and passages of documents i and j, oriented as asked, in the scan's terms.

        ``relation`` is one of the scan's relations or None; ``container`` is the side that holds
        the other for ``contains`` ("A": i, "B": j, as the views say it), else None. A pair the scan did
        not report is measured on demand, boilerplate discounted as in the scan, and its relation is None.
        """
        from .align import align_pair
        from .phase1.features import fingerprints
        from .phase2 import DocTable, Loaded

        p = self.pairs
        hit = p.with_row_index("_row").filter(
            ((pl.col("a") == i) & (pl.col("b") == j)) | ((pl.col("a") == j) & (pl.col("b") == i))
        )
        if hit.height:
            r = hit.row(0, named=True)
            return oriented_pair(r, self.passages[r["_row"]], swap=r["a"] != i)
        from .verify import classify

        frame = self.frame if isinstance(self.frame, pl.DataFrame) else self.frame.whole()  # a cluster's: read
        loaded = Loaded(self.store, DocTable(frame), [i, j], self.options.k)
        sh = loaded.shingles
        sets = []
        for r in range(2):
            h = np.unique(fingerprints(sh.hashes[sh.doc(r)]))
            sets.append(h[~np.isin(h >> np.uint64(self.boiler_bits), self.boilerplate)])
        shared = np.array([len(np.intersect1d(sets[0], sets[1], assume_unique=True))])
        m = classify(shared, np.array([len(sets[0])]), np.array([len(sets[1])]), self.options.verify)
        passages = align_pair(loaded.corpus, loaded.tokens, sh, 0, 1, self.options.align)
        return {
            "relation": None,
            "container": None,
            "jaccard": float(m["jaccard"][0]),
            "a_in_b": float(m["a_in_b"][0]),
            "b_in_a": float(m["b_in_a"][0]),
            "passages": passages,
        }

    def text(self, doc_id: str) -> str:
        """The article's text as the scan read it: what every offset of the result (paragraphs, passages)
        indexes. For an HTML page, its visible block text joined by blank lines, not the markup; for a text
        file, the file's text (front matter included). ``KeyError`` naming an id the scan does not have."""
        return self.store.text(self.index_of(doc_id))

    def minhash(self, doc_id: str):
        """The document's signature as a ``datasketch.LeanMinHash`` (this project's hashing: comparable
        with other dedup signatures, not with a datasketch ``MinHash`` built by ``update()``)."""
        from .phase1.sign import to_lean_minhash

        sig = self.store.row("signatures", self.index_of(doc_id)).astype(np.uint32)
        return to_lean_minhash(sig, self.options.seed)
