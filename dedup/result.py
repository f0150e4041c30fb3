"""The result of a scan, as polars DataFrames and as the JSON output contract.

Texts, paragraphs and signatures stay in the feature store and are read on demand, so a
result of a million articles holds a few numbers per article, its pairs and their passages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from .escape import name as escape_name
from .escape import stored_name
from .label import LABELS
from .options import flatten
from .tables import SCHEMAS, shared_with

if TYPE_CHECKING:
    from .cluster import Clusters
    from .featurestore import FeatureStore
    from .ingest import Skipped
    from .options import ScanOptions
    from .phase2 import Found

FORMAT_VERSION = 2  # of the JSON output contract: 1 had no meta; 2 adds meta and document metadata
_DIGITS = 4


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


def shown_names(names: pl.Series) -> pl.Series:
    """Stored names (ids, paths) as every output shows them (``escape.name``); most need nothing, and
    only those that do are touched."""
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
    frame: pl.DataFrame  # one row per article, as the store holds it
    pairs: pl.DataFrame  # document indices a, b and the measures
    clusters: Clusters
    passages: list[np.ndarray]  # per row of ``pairs``: (a_start, a_end, b_start, b_end) rows
    labels: np.ndarray  # label code per paragraph, global paragraph order
    para_offsets: np.ndarray  # article i's paragraphs are labels[para_offsets[i]:para_offsets[i+1]]
    boilerplate: np.ndarray  # sorted truncated fingerprints of boilerplate shingles
    boiler_bits: int  # low bits dropped from a shingle hash to compare it with ``boilerplate``
    candidates: int
    timings: dict[str, float]
    options: ScanOptions
    skipped: list[Skipped] = field(default_factory=list)
    keep_alive: Any = None  # the temporary store's folder, removed with the result

    @classmethod
    def of(cls, found: Found, store: Any, options: ScanOptions, skipped: Sequence[Skipped] = ()) -> ScanResult:
        """The result of phase 2 (``phase2.Found``) over ``store``'s articles."""
        return cls(
            store=store,
            frame=found.table.frame,
            pairs=found.pairs,
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
        )

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
        c = self.clusters.cluster
        f = self.frame
        ids = self.corpus.ids
        source = [ids[self.clusters.sources[k]] if k >= 0 else None for k in c.tolist()]
        columns = {
            "id": shown_names(f["id"]),
            "path": shown_names(f["path"]),
            "chars": f["chars"],
            "bytes": f["bytes"],
            "date": f["date"],
            "cluster": pl.Series(np.where(c >= 0, c, None).tolist(), dtype=pl.Int64),
            "role": pl.Series(self.clusters.role, dtype=pl.Utf8),
            "source": pl.Series(source, dtype=pl.Utf8),
            "title": f["title"],
            "url": f["url"],
            "site": f["site"],
            "encoding": f["encoding"],
        }
        return pl.DataFrame(columns, schema=SCHEMAS["documents"])

    @property
    def clusters_frame(self) -> pl.DataFrame:
        """One row per cluster: id, source, members (ids), and which members are other versions of
        the source's text (same site) and which are derived from it (the rest)."""
        ids = self.corpus.ids
        c = self.clusters
        versions = c.versions or [[] for _ in c.sources]
        derived = [
            [ids[m] for m in group if m != src and m not in set(v)]
            for src, group, v in zip(c.sources, c.members, versions)
        ]
        return pl.DataFrame(
            {
                "id": list(range(len(c.sources))),
                "source": [ids[s] for s in c.sources],
                "members": [[ids[m] for m in group] for group in c.members],
                "versions": [[ids[m] for m in v] for v in versions],
                "derived": derived,
            },
            schema={
                "id": pl.Int64,
                "source": pl.Utf8,
                "members": pl.List(pl.Utf8),
                "versions": pl.List(pl.Utf8),
                "derived": pl.List(pl.Utf8),
            },
        )

    @property
    def pairs_frame(self) -> pl.DataFrame:
        """One row per related pair, with document ids, in the order of ``pairs``."""
        ids = pl.Series(self.corpus.ids, dtype=pl.Utf8)
        p = self.pairs
        return pl.DataFrame(
            {
                "a": ids.gather(p["a"]),
                "b": ids.gather(p["b"]),
                "relation": p["relation"],
                "jaccard": p["jaccard"].round(_DIGITS),
                "a_in_b": p["a_in_b"].round(_DIGITS),
                "b_in_a": p["b_in_a"].round(_DIGITS),
            },
            schema=SCHEMAS["pairs"],
        )

    @property
    def passages_frame(self) -> pl.DataFrame:
        """One row per shared passage: a, b (ids, as in ``pairs_frame``) and the offsets on both sides."""
        ids = self.corpus.ids
        rows = [(ids[a], ids[b], *p) for a, b, ps in zip(self._pa, self._pb, self.passages) for p in ps.tolist()]
        return pl.DataFrame(rows, schema=SCHEMAS["passages"], orient="row")

    @property
    def paragraphs_frame(self) -> pl.DataFrame:
        """One row per paragraph: doc (id), start, end, label, shared_with (ids of the cluster members
        whose shared passages cover most of it)."""
        ids = self.corpus.ids
        counts = np.diff(self.para_offsets)
        flat = self.corpus._flat
        sharers = self._sharers()
        shared = [sharers.get(k, []) for k in range(len(self.labels))]
        return pl.DataFrame(
            {
                "doc": pl.Series(np.repeat(np.array(ids, dtype=object), counts).tolist(), dtype=pl.Utf8),
                "start": flat[:, 0].astype(np.int64),
                "end": flat[:, 1].astype(np.int64),
                "label": pl.Series([LABELS[c] for c in self.labels.tolist()], dtype=pl.Utf8),
                "shared_with": pl.Series(shared, dtype=pl.List(pl.Utf8)),
            },
            schema=SCHEMAS["paragraphs"],
        )

    def tables(self) -> dict[str, pl.DataFrame]:
        """The four tables of the tabular exports (documents, pairs, paragraphs, passages), by name, each in
        its documented schema (``tables.SCHEMAS``)."""
        return {
            "documents": self.documents_frame,
            "pairs": self.pairs_frame,
            "paragraphs": self.paragraphs_frame,
            "passages": self.passages_frame,
        }

    @cached_property
    def _pa(self) -> list[int]:
        return self.pairs["a"].to_list()

    @cached_property
    def _pb(self) -> list[int]:
        return self.pairs["b"].to_list()

    def _sharers(self) -> dict[int, list[str]]:
        """Per global paragraph, the ids of the cluster members whose passages cover most of it
        (``tables.shared_with``, the rule the views apply to a saved result)."""
        by_doc: dict[int, list[tuple[str, np.ndarray]]] = {}
        ids, cl = self.corpus.ids, self.clusters.cluster
        for a, b, ps in zip(self._pa, self._pb, self.passages):
            if cl[a] < 0 or cl[a] != cl[b] or not len(ps):
                continue
            by_doc.setdefault(a, []).append((ids[b], ps[:, 0:2]))
            by_doc.setdefault(b, []).append((ids[a], ps[:, 2:4]))
        out: dict[int, list[str]] = {}
        for doc, sharers in by_doc.items():
            lo = int(self.para_offsets[doc])
            for k, who in enumerate(shared_with(self.store.paragraphs(doc).tolist(), sharers)):
                if who:
                    out[lo + k] = sorted(who)
        return out

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
        from . import __version__

        encodings = self.frame["encoding"].drop_nulls().value_counts(sort=True).rows()
        files = self.frame["path"].n_unique()
        return {
            "dedup_version": __version__,
            "format_version": FORMAT_VERSION,
            "parameters": flatten(self.options),
            "inputs": {
                "files": files,
                "articles": len(self.frame),
                "skipped": [{"path": escape_name(s.path), "reason": s.reason} for s in self.skipped],
                "encodings": {str(k): int(v) for k, v in encodings},
            },
            "candidates": self.candidates,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON output contract: meta, documents (with paragraphs), clusters, pairs (with passages)."""
        documents = self.documents_frame.drop("source").to_dicts()  # the cluster's entry names its source
        for i, doc in enumerate(documents):
            doc["paragraphs"] = self.paragraphs(i)
        pairs = self.pairs_frame.with_row_index("_row").sort("a", "b")
        rows = pairs.to_dicts()
        for r in rows:
            r["passages"] = self.pair_passages(r.pop("_row"))
        return {
            "meta": self.meta,
            "documents": documents,
            "clusters": self.clusters_frame.to_dicts(),
            "pairs": rows,
        }

    def compare(self, i: int, j: int) -> dict[str, Any]:
        """Relation, measures and passages of documents i and j, oriented as asked, in the scan's terms.

        ``relation`` is one of the scan's relations or None; ``container`` is the side that holds
        the other for ``contains`` ("A": i, "B": j, as the views say it), else None. A pair the scan did
        not report is measured on demand, boilerplate discounted as in the scan, and its relation is None.
        """
        from .align import align_pair
        from .features import fingerprints
        from .phase2 import DocTable, Loaded

        p = self.pairs
        hit = p.with_row_index("_row").filter(
            ((pl.col("a") == i) & (pl.col("b") == j)) | ((pl.col("a") == j) & (pl.col("b") == i))
        )
        if hit.height:
            r = hit.row(0, named=True)
            passages = self.passages[r["_row"]]
            a_in_b, b_in_a = r["a_in_b"], r["b_in_a"]
            if r["a"] != i:  # swap sides to the order asked for
                passages = passages[:, [2, 3, 0, 1]]
                a_in_b, b_in_a = b_in_a, a_in_b
            container = ("A" if r["a"] == i else "B") if r["relation"] == "contains" else None
            return {
                "relation": r["relation"],
                "container": container,
                "jaccard": r["jaccard"],
                "a_in_b": a_in_b,
                "b_in_a": b_in_a,
                "passages": passages,
            }
        from .verify import classify

        loaded = Loaded(self.store, DocTable(self.frame), [i, j], self.options.k)  # the frame it has
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

    def minhash(self, doc_id: str):
        """The document's signature as a ``datasketch.LeanMinHash`` (this project's hashing: comparable
        with other dedup signatures, not with a datasketch ``MinHash`` built by ``update()``)."""
        from .sign import to_lean_minhash

        sig = self.store.row("signatures", self.index_of(doc_id)).astype(np.uint32)
        return to_lean_minhash(sig, self.options.seed)
