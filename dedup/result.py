"""The result of a scan, as polars DataFrames and as the JSON output contract."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

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
        """One row per document: id, path, chars (code points), bytes (UTF-8), cluster (null if none), role."""
        c = self.clusters.cluster
        return pl.DataFrame(
            {
                "id": self.corpus.ids,
                "path": self.corpus.paths,
                "chars": [len(t) for t in self.corpus.texts],
                "bytes": [len(t.encode("utf-8", "surrogatepass")) for t in self.corpus.texts],
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
        """One row per related pair, with document ids, sorted by a then b."""
        ids = pl.Series(self.corpus.ids, dtype=pl.Utf8)
        p = self.pairs
        return (
            pl.DataFrame(
                {
                    "a": ids.gather(p["a"]),
                    "b": ids.gather(p["b"]),
                    "relation": p["relation"],
                    "jaccard": p["jaccard"].round(_DIGITS),
                    "a_in_b": p["a_in_b"].round(_DIGITS),
                    "b_in_a": p["b_in_a"].round(_DIGITS),
                },
                schema={"a": pl.Utf8, "b": pl.Utf8, "relation": pl.Utf8, "jaccard": pl.Float64,
                        "a_in_b": pl.Float64, "b_in_a": pl.Float64},
            )
            .sort("a", "b")
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON output contract: documents, clusters, pairs."""
        return {
            "documents": self.documents_frame.to_dicts(),
            "clusters": self.clusters_frame.to_dicts(),
            "pairs": self.pairs_frame.to_dicts(),
        }

    def minhash(self, doc_id: str):
        """The document's signature as a ``datasketch.LeanMinHash``."""
        from .sign import to_lean_minhash

        return to_lean_minhash(self.signatures[self.index_of(doc_id)], self.options.seed)
