"""A scan as every view sees it: the JSON contract (``ScanData``), whether the scan was just run or saved
with ``-o result.json``, so every view speaks the scan's vocabulary — its relations, labels and clusters —
and agrees with it; and what the views share: a pair in the order asked for (``oriented_pair``, also
``ScanResult.compare``'s), the relation phrase, the unshared paragraphs between passages, and the bounded
parts of a result the terminal table and the HTML report show (``terminal_extract``, ``report_extract``).

Nothing here renders: ``terminal.py`` and ``html.py`` do, each in its own medium.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import escape
from ..output.tables import mostly_inside, shared_with, sharers_by_document
from ..wording import pair_words


class ViewError(Exception):
    """A saved scan that cannot be shown (stale or missing files); one line."""


# ---------------------------------------------------------------- the scan as the views see it


@dataclass
class ScanData:
    """A scan result as the JSON contract, with a way to get each article's text.

    ``measure(i, j)`` (a live scan only) measures a pair the scan did not list, for information.
    """

    data: dict[str, Any]
    read_text: Callable[[int], str]
    measure: Callable[[int, int], dict[str, Any]] | None = None
    _texts: dict[int, str] = field(default_factory=dict)
    _pairs: dict[tuple[str, str], dict] | None = None
    _sharers: dict[str, list] | None = None

    @property
    def documents(self) -> list[dict[str, Any]]:
        return self.data["documents"]

    def doc_id(self, i: int) -> str:
        return self.documents[i]["id"]

    def text(self, i: int) -> str:
        if i not in self._texts:
            self._texts[i] = self.read_text(i)
        return self._texts[i]

    def find(self, given: str | Path, root: Path | None = None) -> int | None:
        """The index of a document named by path (as given by the user) or id; None if the scan has none."""
        given_path = Path(given)
        wanted = {escape.name(str(given))}  # a saved result shows ids escaped
        if root is not None:
            with contextlib.suppress(ValueError):
                wanted.add(escape.name(given_path.resolve().relative_to(root.resolve()).as_posix()))
        resolved = given_path.resolve()
        for i, doc in enumerate(self.documents):
            if doc["id"] in wanted:
                return i
        for i, doc in enumerate(self.documents):
            path = doc.get("path")
            if path and Path(escape.unname(path)).resolve() == resolved:
                return i
        return None

    def paragraphs(self, i: int) -> list[dict[str, Any]]:
        return self.documents[i].get("paragraphs") or []

    def pair(self, i: int, j: int) -> dict[str, Any] | None:
        """The scan's pair of documents i and j, oriented as asked (A = i), or None when it lists none.

        ``container`` is "A" or "B" for a contains pair: the side that holds the other.
        """
        if self._pairs is None:
            self._pairs = {}
            for r in self.data["pairs"]:
                self._pairs[(r["a"], r["b"])] = r
        a, b = self.doc_id(i), self.doc_id(j)
        if i == j:
            n = len(self.text(i))
            return {
                "relation": "exact",
                "reads": "A and B are the same text",
                "container": None,
                "jaccard": 1.0,
                "a_in_b": 1.0,
                "b_in_a": 1.0,
                "passages": np.array([[0, n, 0, n]], dtype=np.int64),
            }
        r, swap = self._pairs.get((a, b)), False
        if r is None:
            r, swap = self._pairs.get((b, a)), True
        if r is None:
            return None
        passages = np.array(
            [[p["a_start"], p["a_end"], p["b_start"], p["b_end"]] for p in r.get("passages") or []], dtype=np.int64
        ).reshape(-1, 4)
        return oriented_pair(r, passages, swap)

    def shared_with(self, i: int) -> list[list[str]]:
        """Per paragraph of document i, the cluster co-members that share most of it."""
        paras = self.paragraphs(i)
        if paras and all("shared_with" in p for p in paras):
            return [list(p["shared_with"] or []) for p in paras]
        if self._sharers is None:
            self._sharers = sharers_by_document(self.data)
        return shared_with([(p["start"], p["end"]) for p in paras], self._sharers.get(self.doc_id(i), []))


def oriented_pair(row: Mapping[str, Any], passages: np.ndarray, swap: bool) -> dict[str, Any]:
    """A pair of the scan (``row``: its relation and measures, ``passages``: (a_start, a_end, b_start, b_end)
    rows) in the order asked for: ``swap`` when the scan lists it the other way round. Passages in A's order;
    ``container`` is "A" or "B" for a contains pair (the side that holds the other), else None."""
    a_in_b, b_in_a = row["a_in_b"], row["b_in_a"]
    if swap:
        passages = passages[:, [2, 3, 0, 1]]
        a_in_b, b_in_a = b_in_a, a_in_b
    container = None
    if row["relation"] == "contains":
        container = "B" if swap else "A"  # in the scan's pair, a holds b
    passages = passages[np.argsort(passages[:, 0], kind="stable")]
    return {
        "relation": row["relation"],
        "reads": pair_words(row, swap),
        "container": container,
        "jaccard": row["jaccard"],
        "a_in_b": a_in_b,
        "b_in_a": b_in_a,
        "passages": passages,
    }


def terminal_extract(result: Any, clusters: int, partial: int) -> dict[str, Any]:
    """What the terminal table (``terminal.clusters_table``) shows of a scan just run (``ScanResult``),
    bounded: the first ``clusters`` clusters and each member's pair with its source, the first ``partial``
    partial pairs in the JSON's order, and the ``counts`` of everything."""
    c = result.clusters
    shown = range(min(clusters, len(c.sources)))
    ids = {d: i for d, i in zip(*result.distinct_ids([m for k in shown for m in c.members[k]]))}
    a, b = result.pair_rows.column("a").to_numpy(), result.pair_rows.column("b").to_numpy()
    cl = np.asarray(c.cluster)
    k = cl[a]
    src = result.cluster_sources[np.clip(k, 0, None)] if len(result.cluster_sources) else np.zeros_like(a)
    to_source = (k >= 0) & (k < len(shown)) & (cl[b] == k) & ((a == src) | (b == src))
    is_partial = (result.pair_rows.column("relation") == "partial").to_numpy()
    first_partial = result.pair_order[is_partial[result.pair_order]][:partial]
    return {
        "clusters": [
            {
                "id": i,
                "source": ids[c.sources[i]],
                "members": [ids[m] for m in c.members[i]],
                "source_known": result.source_known[i],
            }
            for i in shown
        ],
        "pairs": result.pair_dicts(np.flatnonzero(to_source)),
        "partial": result.pair_dicts(first_partial),
        "counts": result.counts(),
    }


def report_extract(result: Any, entries: int) -> tuple[dict[str, Any], np.ndarray]:
    """A bounded part of a scan just run (``ScanResult``) as its JSON contract, for the HTML report: its
    first ``entries`` entries (clusters in id order, then pairs outside clusters in the JSON's order), every
    document of the clusters they touch (with paragraphs) and every pair inside those clusters, and the
    ``counts`` of everything. Also the article number of each of its documents."""
    c = result.clusters
    cl = np.asarray(c.cluster, dtype=np.int64)
    a, b = result.pair_rows.column("a").to_numpy(), result.pair_rows.column("b").to_numpy()
    inside = (cl[a] >= 0) & (cl[a] == cl[b])
    shown = min(entries, len(c.sources))
    lone = result.pair_order[~inside[result.pair_order]][: entries - shown]
    ends = np.concatenate([a[lone], b[lone]])
    touched = np.union1d(np.arange(shown), cl[ends][cl[ends] >= 0])
    docs = np.union1d(np.flatnonzero(np.isin(cl, touched)), ends).astype(np.int64)
    rows = np.union1d(np.flatnonzero(inside & np.isin(cl[a], touched)), lone)
    documents = result.documents_rows(docs).drop("source").to_dicts()
    for d, doc in zip(docs.tolist(), documents):
        doc["paragraphs"] = result.paragraphs(d)
    ids = dict(zip(*result.distinct_ids([m for k in range(shown) for m in c.members[k]])))
    versions = c.versions or [[] for _ in c.sources]
    clusters = [
        {
            "id": k,
            "source": ids[c.sources[k]],
            "members": [ids[m] for m in c.members[k]],
            "versions": [ids[m] for m in versions[k]],
            "derived": [ids[m] for m in c.members[k] if m != c.sources[k] and m not in set(versions[k])],
            "source_known": result.source_known[k],
        }
        for k in range(shown)
    ]
    data = {"meta": result.meta, "documents": documents, "clusters": clusters, "pairs": result.pair_dicts(rows)}
    data["counts"] = result.counts() | {"entries": len(c.sources) + int((~inside).sum())}
    return data, docs


def from_result(result: Any) -> ScanData:
    """The views' data from a scan just run (``ScanResult``)."""
    data = result.to_dict()
    corpus = getattr(result, "corpus", None)
    texts = getattr(corpus, "texts", None)

    def read_text(i: int) -> str:
        if texts is not None:
            return texts[i]
        return _read_document(data["documents"][i], Path.cwd(), data)

    def measure(i: int, j: int) -> dict[str, Any]:
        return result.compare(i, j)

    return ScanData(data, read_text, measure if hasattr(result, "compare") else None)


def from_file(path: Path) -> ScanData:
    """The views' data from a saved scan (``dedup scan DIR -o result.json``); texts are read from the files it names."""
    try:
        data = json.loads(path.read_bytes())
    except OSError as e:
        raise ViewError(f"{escape.name(str(path))}: {e.strerror or e}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ViewError(f"{escape.name(str(path))}: not a dedup JSON result ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list) or "pairs" not in data:
        raise ViewError(f"{escape.name(str(path))}: not a dedup JSON result (no documents and pairs)")
    base = path.resolve().parent
    return ScanData(data, lambda i: _read_document(data["documents"][i], base, data))


def _ingest_options(data: dict[str, Any]) -> Any:
    """The reading options the saved scan used (its ``meta.parameters``), so a text is extracted the same way."""
    from ..ingest import IngestOptions

    params = (data.get("meta") or {}).get("parameters") or {}
    names = {f.name for f in dataclasses.fields(IngestOptions)}
    given = {k.removeprefix("ingest."): v for k, v in params.items() if k.startswith("ingest.")}
    return IngestOptions(**{k: v for k, v in given.items() if k in names})


def _read_document(doc: dict[str, Any], base: Path, data: dict[str, Any] | None = None) -> str:
    """The text a scan read for ``doc``: its file read again by the same readers (HTML extracted, a record
    picked out of its file), checked against the length the scan recorded."""
    from ..ingest import Skipped, read_file

    shown = doc.get("path") or doc["id"]  # as the saved result shows it: escaped
    path = Path(escape.unname(shown))
    candidates = [path] if path.is_absolute() else [path, base / path]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        raise ViewError(f"{shown}: no such file (named by the saved scan; rerun the scan or use --corpus)")
    articles = [a for a in read_file(found, _ingest_options(data or {})) if not isinstance(a, Skipped)]
    doc_id, _, record = doc["id"].partition("#")
    match = [a for a in articles if record and escape.name(a.id).partition("#")[2] == record]
    match = match or [a for a in articles if escape.name(a.id) == doc["id"] or a.url == doc.get("url") and a.url]
    if not match and len(articles) == 1:
        match = articles
    if not match:
        raise ViewError(f"{doc['id']}: not found in {shown} any more; rescan")  # both shown escaped
    text = match[0].text
    if doc.get("chars") is not None and len(text) != doc["chars"]:
        raise ViewError(
            f"{shown}: {len(text):,} characters now, {doc['chars']:,} when scanned (changed since the scan); rescan"
        )
    return text


def relation_phrase(pair: dict[str, Any] | None) -> str:
    """The scan's words for a pair oriented as asked (``ScanData.pair``): ``A wraps B``, ``B abridges A (holds
    75 % of it)``, ``no relation`` (``wording``)."""
    if pair is None:
        return "no relation"
    return pair.get("reads") or pair_words(pair)


def diff_summary(data: ScanData, i: int, j: int) -> dict[str, Any]:
    """The pair as the scan has it, for ``dedup diff --format json``."""
    pair = data.pair(i, j)
    out: dict[str, Any] = {"a": data.doc_id(i), "b": data.doc_id(j)}
    if pair is None:
        return out | {"relation": None, "container": None, "reads": "no relation", "passages": []}
    keys = ("a_start", "a_end", "b_start", "b_end")
    out |= {k: pair[k] for k in ("relation", "container", "jaccard", "a_in_b", "b_in_a")}
    out["reads"] = relation_phrase(pair)
    return out | {"passages": [dict(zip(keys, p)) for p in pair["passages"].tolist()]}


def unshared_slots(data: ScanData, i: int, j: int, passages: np.ndarray) -> list[list[list[dict]]]:
    """Per side (A, B), per slot (before passage k; the last after all), the paragraphs not mostly inside a
    shared passage: each goes into the slot before the passage that follows it in its own text."""
    slots: list[list[list[dict]]] = [[[] for _ in range(len(passages) + 1)] for _ in range(2)]
    for side, doc, cols in ((0, i, (0, 1)), (1, j, (2, 3))):
        spans = passages[:, list(cols)]
        for p in data.paragraphs(doc):
            if mostly_inside(p["start"], p["end"], spans):
                continue
            after = np.flatnonzero(spans[:, 0] >= p["end"])
            slot = int(after[np.argmin(spans[after, 0])]) if after.size else len(passages)
            slots[side][slot].append(p)
    return slots
