"""The result of a scan, as polars DataFrames and as the JSON output contract."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from .label import LABELS

if TYPE_CHECKING:
    from .cluster import Clusters
    from .normalise import Tokens
    from .pipeline import ScanOptions
    from .read import Corpus
    from .shingle import Shingles
    from .verify import ShingleSets

_DIGITS = 4


@dataclass
class ScanResult:
    """Everything a scan found; the arrays stay available for library users."""

    corpus: Corpus
    tokens: Tokens
    shingles: Shingles
    signatures: np.ndarray
    sets: ShingleSets
    boilerplate: np.ndarray
    pairs: pl.DataFrame  # document indices a, b and the measures
    clusters: Clusters
    passages: list[np.ndarray]  # per row of ``pairs``: (a_start, a_end, b_start, b_end) rows
    labels: np.ndarray  # label code per paragraph, aligned with corpus.para_starts
    candidates: int
    timings: dict[str, float]
    options: ScanOptions

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {doc_id: i for i, doc_id in enumerate(self.corpus.ids)}

    def index_of(self, doc_id: str) -> int:
        """Position of a document id in the corpus; KeyError if it was not scanned."""
        return self._positions[doc_id]

    @property
    def documents_frame(self) -> pl.DataFrame:
        """One row per document: id, path, chars (code points), bytes (UTF-8), date (ISO, if known), cluster, role."""
        c = self.clusters.cluster
        return pl.DataFrame(
            {
                "id": self.corpus.ids,
                "path": self.corpus.paths,
                "chars": [len(t) for t in self.corpus.texts],
                "bytes": [len(t.encode("utf-8", "surrogatepass")) for t in self.corpus.texts],
                "date": pl.Series(self.corpus.dates, dtype=pl.Utf8),
                "cluster": pl.Series(np.where(c >= 0, c, None).tolist(), dtype=pl.Int64),
                "role": pl.Series(self.clusters.role, dtype=pl.Utf8),
            }
        )

    @property
    def clusters_frame(self) -> pl.DataFrame:
        """One row per cluster: id, source, members (ids)."""
        ids = self.corpus.ids
        return pl.DataFrame(
            {
                "id": list(range(len(self.clusters.sources))),
                "source": [ids[s] for s in self.clusters.sources],
                "members": [[ids[m] for m in group] for group in self.clusters.members],
            },
            schema={"id": pl.Int64, "source": pl.Utf8, "members": pl.List(pl.Utf8)},
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
            schema={
                "a": pl.Utf8,
                "b": pl.Utf8,
                "relation": pl.Utf8,
                "jaccard": pl.Float64,
                "a_in_b": pl.Float64,
                "b_in_a": pl.Float64,
            },
        )

    def paragraphs(self, i: int) -> list[dict[str, Any]]:
        """Paragraphs of document i with their labels."""
        lo, hi = int(self.corpus.para_offsets[i]), int(self.corpus.para_offsets[i + 1])
        return [
            {"start": s, "end": e, "label": LABELS[code]}
            for s, e, code in zip(
                self.corpus.para_starts[lo:hi].tolist(), self.corpus.para_ends[lo:hi].tolist(), self.labels[lo:hi]
            )
        ]

    def pair_passages(self, row: int) -> list[dict[str, int]]:
        """Shared passages of the pair in row ``row`` of ``pairs``."""
        keys = ("a_start", "a_end", "b_start", "b_end")
        return [dict(zip(keys, p)) for p in self.passages[row].tolist()]

    def to_dict(self) -> dict[str, Any]:
        """The JSON output contract: documents (with paragraphs), clusters, pairs (with passages)."""
        documents = self.documents_frame.to_dicts()
        for i, doc in enumerate(documents):
            doc["paragraphs"] = self.paragraphs(i)
        pairs = self.pairs_frame.with_row_index("_row").sort("a", "b")
        rows = pairs.to_dicts()
        for r in rows:
            r["passages"] = self.pair_passages(r.pop("_row"))
        return {"documents": documents, "clusters": self.clusters_frame.to_dicts(), "pairs": rows}

    def compare(self, i: int, j: int) -> dict[str, Any]:
        """Relation, measures and passages of documents i and j, oriented as asked.

        A pair the scan did not report is measured on demand; its relation is None.
        """
        from .align import align_pair
        from .verify import RELATIONS, classify

        p = self.pairs
        hit = p.with_row_index("_row").filter(
            ((pl.col("a") == i) & (pl.col("b") == j)) | ((pl.col("a") == j) & (pl.col("b") == i))
        )
        if hit.height:
            r = hit.row(0, named=True)
            passages = self.passages[r["_row"]]
            if r["a"] != i:  # swap sides to the order asked for
                passages = passages[:, [2, 3, 0, 1]]
                r["a_in_b"], r["b_in_a"] = r["b_in_a"], r["a_in_b"]
            relation = r["relation"]
            if relation == "contains" and r["a"] != i:
                relation = "contained"
            out = {"relation": relation, "jaccard": r["jaccard"], "a_in_b": r["a_in_b"], "b_in_a": r["b_in_a"]}
            return out | {"passages": passages}
        ids_a, ids_b = self.sets.doc(i), self.sets.doc(j)
        ids_a, ids_b = ids_a[~self.boilerplate[ids_a]], ids_b[~self.boilerplate[ids_b]]
        shared = np.array([len(np.intersect1d(ids_a, ids_b, assume_unique=True))])
        m = classify(shared, np.array([len(ids_a)]), np.array([len(ids_b)]), self.options.verify)
        passages = align_pair(self.corpus, self.tokens, self.shingles, i, j, self.options.align)
        relation = RELATIONS[m["relation"][0]] if m["relation"][0] >= 0 else None
        if relation == "contains" and m["a_in_b"][0] > m["b_in_a"][0]:
            relation = "contained"
        return {
            "relation": relation,
            "jaccard": float(m["jaccard"][0]),
            "a_in_b": float(m["a_in_b"][0]),
            "b_in_a": float(m["b_in_a"][0]),
            "passages": passages,
        }

    def minhash(self, doc_id: str):
        """The document's signature as a ``datasketch.LeanMinHash``."""
        from .sign import to_lean_minhash

        return to_lean_minhash(self.signatures[self.index_of(doc_id)], self.options.seed)
