"""The persistent index: add articles to an archive, and ask of new ones what they copy.

``add``: phase 1 of the scan (``pipeline.ingest``, in worker processes) writes shards to a staging
folder; each shard is then appended to the index under its write lock, rows whose id is already
live with the same content hash left out (re-adding is a no-op) and live rows with the id of a
changed article replaced in the same atomic step.

``query``: phase 1 on the query articles in memory; then per article, the scan's phase 2 on the
part of the archive that shares text with it. Its fingerprints are looked up in the index
(``holders``); the articles holding any are the candidates; every fingerprint becomes a posting
list over the query and the candidates holding it, and the scan's own ``pair_evidence`` and
``verify`` measure the pairs with the same rules and thresholds: boilerplate is text held by
articles of ``boilerplate_min_docs`` or more groups of copies, counted over the whole index (a
template on a thousand indexed pages is boilerplate for the next one too). What one query costs is
bounded whatever recurs: a fingerprint held by more than ``MAX_HOLDERS`` indexed articles (removed
ones count until compacted), or by more than ``SPREAD`` unless it belongs to a passage many copies
carry (``_holders``: what the scan's big lists would link), is boilerplate outright, and its holders
are not pulled in: a phrase common to news in general makes no candidates.
Pairs of the query are then aligned (``align_pair``) against the texts read back from the index and
reported in the scan's JSON shape. Only what the query shares is looked at, so the cost follows the
evidence, not the size of the archive.

Where a query's answer can differ from a ``scan`` of the query plus the archive: an indexed
article's own template that the query does not share is not known to be boilerplate here, so its
size counts it (the scan would discount it, giving larger containments); groups of copies among the
candidates are formed from what they share with the query.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..align import align_pair, template_like
from ..cluster import cluster
from ..evidence import Lists, pair_evidence
from ..features import bodies, extract, fingerprints
from ..featurestore import FeatureStore, Shard, StoreError
from ..hashing import GOLDEN, mix64
from ..ingest.model import Article, Skipped
from ..label import LABELS, boiler_spans, label_document, shared_spans
from ..normalise import tokenise
from ..options import ScanOptions
from ..pipeline import EXCERPT_TAIL, ingest
from ..read import Corpus
from ..shingle import shingle
from ..verify import CLUSTERING, DocInfo, exact_pairs, verify

ADD_BATCH = 8192  # articles per phase-1 batch of ``dedup index add``: eight make one merged shard (MAX_MERGED)
MAX_HOLDERS = 1000  # a fingerprint in more indexed articles than this is boilerplate outright
SPREAD = 64  # ... and one in more than this too, unless it is part of a passage that many copies carry
SAMPLE = 8  # holders looked at to tell a passage many copies carry from a phrase common to news


def _holders(index: Any, fps: np.ndarray, vp: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(position, ref) of the holders of the query's fingerprints worth looking at, and a bool per
    fingerprint: skipped as boilerplate (see the module docstring).

    A fingerprint held by more than ``SPREAD`` articles is looked at only when the query's fingerprints
    held by exactly as many articles (the same copies, most likely) could link them as the scan's big
    lists do: ``partial_min_shared`` of them, or, sampled on one of them, two holders of which they
    make ``link_share`` (a short item carried by many sites)."""
    pos, refs, skipped, counts = index.holders(fps, lambda c: c > SPREAD)
    spread = np.flatnonzero(skipped & (counts <= MAX_HOLDERS))
    if not len(spread):
        return pos, refs, skipped
    link_share = min(vp.contains, vp.copy_group, vp.near_duplicate)  # as ``pipeline.analyse`` links big lists
    values, inv, same = np.unique(counts[spread], return_inverse=True, return_counts=True)
    linking = same >= vp.partial_min_shared
    probe = np.flatnonzero(~linking & (same >= 2))
    if len(probe):
        first = np.zeros(len(values), dtype=np.int64)
        first[inv[::-1]] = spread[::-1]  # the first fingerprint of each group
        some_pos, some_refs, _, _ = index.holders(fps[first[probe]])
        keep = np.zeros(len(some_refs), dtype=bool)
        for g in np.unique(some_pos).tolist():  # at most SAMPLE holders per group
            keep[np.flatnonzero(some_pos == g)[:SAMPLE]] = True
        mostly = same[probe][some_pos[keep]] >= link_share * np.maximum(index.sizes(some_refs[keep]), 1)
        linking[probe] = np.bincount(some_pos[keep][mostly], minlength=len(probe)) >= 2
    take = spread[linking[inv]]
    if not len(take):
        return pos, refs, skipped
    more_pos, more_refs, _, _ = index.holders(fps[take])
    pos, refs = np.concatenate([pos, take[more_pos]]), np.concatenate([refs, more_refs])
    order = np.lexsort((refs, pos))
    skipped = skipped.copy()
    skipped[take] = False
    return pos[order], refs[order], skipped


_DIGITS = 4
Progress = Callable[[str, int, int | None], None]


def store_params(options: ScanOptions) -> dict:
    """The parameters an index is built with; adding or querying with others would compare nothing."""
    return {"k": options.k, "num_perm": options.num_perm, "seed": options.seed}


def check_params(index: Any, options: ScanOptions) -> None:
    want = store_params(options)
    if index.params != want:
        raise StoreError(
            f"{index.location}: index built with {index.params}, not {want}; use the same --k/--num-perm/--seed"
        )


# ---------------------------------------------------------------------------------------------- add


@dataclass
class AddReport:
    """What an add did."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)


def _keep_rows(shard: Shard, live: dict[str, int]) -> tuple[np.ndarray, list[str], int]:
    """Rows to add (new or changed, last of a repeated id), ids they replace, rows unchanged."""
    ids = shard.docs["id"].to_list()
    hashes = shard.docs["content_hash"].to_list()
    keep = np.ones(len(ids), dtype=bool)
    last = {d: r for r, d in enumerate(ids)}
    replace, unchanged = [], 0
    for r, (d, h) in enumerate(zip(ids, hashes)):
        if last[d] != r:
            keep[r] = False
        elif d in live:
            if live[d] == h:
                keep[r] = False
                unchanged += 1
            else:
                replace.append(d)
    return keep, replace, unchanged


def add(
    index: Any, sources: Sequence[str | os.PathLike[str]], options: ScanOptions, report: Progress | None = None
) -> AddReport:
    """Index every article under ``sources`` (folders or files any reader takes); see the module docstring.

    Each phase-1 shard is committed as soon as it is written, while phase 1 goes on with the next: a
    process killed midway keeps the shards committed."""
    check_params(index, options)
    report = report or (lambda phase, done, total: None)
    out = AddReport()
    staging = Path(index.staging())
    try:
        for k, src in enumerate(sources):
            fs = FeatureStore(staging / f"{k:04d}", params=store_params(options), create=True)

            def commit(name: str, fs: FeatureStore = fs) -> None:
                with index.writing():
                    shard = Shard(fs.root / "shards" / name)
                    keep, replace, unchanged = _keep_rows(shard, index.live_hashes(shard.docs["id"].to_list()))
                    out.unchanged += unchanged
                    if keep.any():
                        index.append(shard, keep, replace)
                        out.added += int(keep.sum()) - len(replace)
                        out.replaced += len(replace)

            _, skipped = ingest(fs, src, options, report, on_shard=commit)
            out.skipped.extend(skipped)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


# ---------------------------------------------------------------------------------------------- query


def read_sources(
    sources: Sequence[str | os.PathLike[str]], options: ScanOptions
) -> tuple[list[Article], list[Skipped]]:
    """The articles under ``sources`` (ids as ``scan`` gives them: relative to a folder, a file's name)."""
    from ..ingest import read_entry, walk

    articles: list[Article] = []
    skipped: list[Skipped] = []
    for src in sources:
        for entry in walk(src, options.ingest):
            items = [entry] if isinstance(entry, Skipped) else read_entry(entry, options.ingest)
            for item in items:
                (skipped if isinstance(item, Skipped) else articles).append(item)
    return articles, skipped


@dataclass
class _Loaded:
    corpus: Corpus
    tokens: Any
    shingles: Any


def _load(ids: list[str], texts: list[str], paras: list[np.ndarray], body: list[int], dates: list, k: int) -> _Loaded:
    offsets = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in paras], out=offsets[1:])
    flat = np.concatenate(paras).reshape(-1, 2) if paras else np.zeros((0, 2), dtype=np.int64)
    corpus = Corpus(
        ids=ids,
        paths=ids,
        texts=texts,
        dates=dates,
        para_offsets=offsets,
        para_starts=flat[:, 0].astype(np.int64),
        para_ends=flat[:, 1].astype(np.int64),
        body_starts=np.asarray(body, dtype=np.int64),
    )
    tokens = tokenise(bodies(texts, body))
    return _Loaded(corpus, tokens, shingle(tokens, k))


def _lists(pos: np.ndarray, local: np.ndarray, n_fps: int) -> tuple[Lists, np.ndarray]:
    """Posting lists over the query (document 0) and the candidates (``local`` ≥ 1) holding each of its
    fingerprints (``pos``): fingerprints held by the same documents are one list. Also returns the
    list of each fingerprint (-1: the query's alone)."""
    order = np.lexsort((local, pos))
    pos, local = pos[order], local[order]
    held = np.bincount(pos, minlength=n_fps)
    fp_ids = np.flatnonzero(held)
    sizes = held[fp_ids] + 1
    # Members per fingerprint: the query first, then its holders (ascending).
    starts = np.zeros(len(fp_ids) + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    members = np.zeros(int(starts[-1]), dtype=np.int64)
    inner = np.ones(len(members), dtype=bool)
    inner[starts[:-1]] = False
    members[inner] = local
    summed = np.add.reduceat(mix64(members.astype(np.uint64) + np.uint64(1)), starts[:-1]) if len(fp_ids) else None
    if summed is None:
        empty = Lists(np.zeros(0, np.uint64), np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
        return empty, np.full(n_fps, -1, dtype=np.int64)
    with np.errstate(over="ignore"):
        h = mix64(summed ^ (sizes.astype(np.uint64) * GOLDEN))
    uniq, first, inv, weight = np.unique(h, return_index=True, return_inverse=True, return_counts=True)
    m = sizes[first]
    offsets = np.zeros(len(uniq) + 1, dtype=np.int64)
    np.cumsum(m, out=offsets[1:])
    idx = np.repeat(starts[first] - offsets[:-1], m) + np.arange(int(offsets[-1]))
    list_of = np.full(n_fps, -1, dtype=np.int64)
    list_of[fp_ids] = inv
    return Lists(uniq, offsets, members[idx], weight.astype(np.int64)), list_of


@dataclass
class Match:
    """One pair of a query article and an indexed one, oriented as ``scan`` orients pairs."""

    a: str
    b: str
    a_indexed: bool
    b_indexed: bool
    relation: str
    jaccard: float
    a_in_b: float
    b_in_a: float
    passages: np.ndarray
    page_a_in_b: float
    page_b_in_a: float


@dataclass
class _Answer:
    article: Article
    matches: list[Match]
    docs: list[dict]  # the matched indexed articles' rows
    labels: dict[tuple[bool, str], list[int]]  # paragraph labels by (indexed, id)
    cluster: dict[tuple[bool, str], tuple[str, int]]  # (indexed, id) -> (role, cluster), the query's cluster
    paragraphs: dict[tuple[bool, str], np.ndarray]


def _match_one(index: Any, art: Article, fps: np.ndarray, row: dict, options: ScanOptions) -> _Answer:
    k = options.k
    pos, refs, frequent = _holders(index, fps, options.verify)
    cand = np.unique(refs)
    empty = _Answer(art, [], [], {}, {}, {})
    if not len(cand):
        return empty
    rows = index.rows(cand).with_columns(pl.Series("ref", cand))
    rows = rows.sort("id")
    cand_sorted = rows["ref"].to_numpy()
    local_of = np.searchsorted(cand, refs)
    rank = np.empty(len(cand), dtype=np.int64)
    rank[np.searchsorted(cand, cand_sorted)] = np.arange(1, len(cand) + 1)
    lists, list_of = _lists(pos, rank[local_of], len(fps))
    sizes = np.concatenate(([int(row["n_shingles"]) - int(frequent.sum())], rows["n_shingles"].to_numpy()))
    content = np.concatenate(([row["content_hash"]], rows["content_hash"].to_numpy())).astype(np.uint64)
    has_text = np.concatenate(([row["has_text"]], rows["has_text"].to_numpy())).astype(bool)
    cut = np.concatenate(([row["cut"]], rows["cut"].to_numpy())).astype(np.int64)
    body = np.concatenate(([row["body_start"]], rows["body_start"].to_numpy())).astype(np.int64)
    ids = [art.id, *rows["id"].to_list()]
    dates = [art.date, *rows["date"].to_list()]
    sites = [art.site, *rows["site"].to_list()]
    known = {s: code for code, s in enumerate(sorted({s for s in sites if s is not None}), start=1)}
    site = np.array([known.get(s, 0) for s in sites], dtype=np.int64)  # as the scan codes sites (0: unknown)
    cache: dict[int, tuple[str, np.ndarray]] = {0: (art.text, np.asarray(art.paragraphs, np.int64).reshape(-1, 2))}

    def fetch(docs: list[int]) -> _Loaded:
        need = [d for d in docs if d not in cache]
        if need:
            refs_needed = [int(cand_sorted[d - 1]) for d in need]
            for d, t, p in zip(need, index.texts(refs_needed), index.paragraphs(refs_needed)):
                cache[d] = (t, p)
        return _load(
            [ids[d] for d in docs],
            [cache[d][0] for d in docs],
            [cache[d][1] for d in docs],
            [int(body[d]) for d in docs],
            [dates[d] for d in docs],
            k,
        )

    def tail_in(e: int, o: int) -> bool:
        loaded = fetch([e, o])
        sh, tokens = loaded.shingles, loaded.tokens
        s = sh.doc(0)
        before = np.flatnonzero(tokens.ends[sh.last[s]] <= cut[e])
        tail = sh.hashes[s][before[-EXCERPT_TAIL:]]
        return len(tail) > 0 and bool(np.isin(tail, sh.hashes[sh.doc(1)]).sum() * 2 > len(tail))

    vp = options.verify
    link_share = min(vp.contains, vp.copy_group, vp.near_duplicate)  # as ``pipeline.analyse`` links big lists
    ev = pair_evidence(lists, sizes, exact_pairs(content, has_text), vp.partial_min_shared, link_share)
    info = DocInfo(sizes, content, has_text, cut >= 0, tail_in, site)
    verified = verify(lists, ev, info, options.verify)
    pairs = verified.pairs.filter((pl.col("a") == 0) | (pl.col("b") == 0))
    if not pairs.height:
        return empty
    involved = sorted({0, *pairs["a"].to_list(), *pairs["b"].to_list()})
    loaded = fetch(involved)
    at = {d: r for r, d in enumerate(involved)}
    matches, kept = [], []
    for r in pairs.iter_rows(named=True):
        la, lb = at[r["a"]], at[r["b"]]
        passages = align_pair(loaded.corpus, loaded.tokens, loaded.shingles, la, lb, options.align)
        if r["relation"] == "partial" and template_like(loaded.corpus, la, lb, passages):
            continue
        kept.append(r)
        matches.append(
            Match(
                a=ids[r["a"]],
                b=ids[r["b"]],
                a_indexed=r["a"] != 0,
                b_indexed=r["b"] != 0,
                relation=r["relation"],
                jaccard=r["jaccard"],
                a_in_b=r["a_in_b"],
                b_in_a=r["b_in_a"],
                passages=passages,
                page_a_in_b=r["page_a_in_b"],
                page_b_in_a=r["page_b_in_a"],
            )
        )
    if not matches:
        return empty
    # Cluster of the query and its copies, sources, and paragraph labels, as the scan has them.
    kept_frame = pl.DataFrame(kept).with_columns(
        a=pl.col("a").replace_strict(at, return_dtype=pl.Int64), b=pl.col("b").replace_strict(at, return_dtype=pl.Int64)
    )
    syndicated = verified.syndicated[involved]
    excerpt = (cut >= 0)[involved]
    clusters = cluster(loaded.corpus, kept_frame, CLUSTERING, syndicated, excerpt, site[involved])
    pa, pb = kept_frame["a"].to_numpy(), kept_frame["b"].to_numpy()
    by_all = kept_frame["cut_from"].to_numpy()  # label's (start, end, by_all) spans
    shared = shared_spans(clusters.cluster, pa, pb, by_all, [m.passages for m in matches])
    in_boiler = (list_of >= 0) & verified.boilerplate[np.maximum(list_of, 0)]
    boiler_fp = np.sort(fps[frequent | in_boiler])
    sh = loaded.shingles
    flags = np.isin(fingerprints(sh.hashes), boiler_fp)  # postings hold fingerprints, not whole hashes
    labels, paragraphs, roles = {}, {}, {}
    empty_spans = np.zeros((0, 3), dtype=np.int64)
    for r, d in enumerate(involved):
        paras = loaded.corpus.paragraphs(r)
        is_copy = clusters.role[r] == "copy"
        spans = boiler_spans(loaded.tokens, sh, r, flags)
        key = (d != 0, ids[d])  # (indexed, id): a query article may have the id of an indexed one
        labels[key] = label_document(
            len(loaded.corpus.texts[r]), paras, is_copy, spans, shared.get(r, empty_spans)
        ).tolist()
        paragraphs[key] = paras
        if clusters.cluster[r] >= 0:
            roles[key] = (clusters.role[r], int(clusters.cluster[r]))
    docs = rows.filter(pl.col("id").is_in([ids[d] for d in involved if d])).drop("ref").to_dicts()
    return _Answer(art, matches, docs, labels, roles, paragraphs)


@dataclass
class QueryResult:
    """Answers for the query articles, in the scan's JSON shape (``to_dict``)."""

    answers: list[_Answer]
    query_rows: list[dict]
    skipped: list[Skipped]
    options: ScanOptions
    location: str
    timings: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        from .. import __version__

        documents: list[dict] = []
        clusters: list[dict] = []
        pairs: list[dict] = []
        seen: set[tuple[bool, str]] = set()
        for ans, qrow in zip(self.answers, self.query_rows):
            base = len(clusters)
            roles = ans.cluster
            groups: dict[int, list[tuple[bool, str]]] = {}
            for key, (_, c) in roles.items():
                groups.setdefault(c, []).append(key)
            for c in sorted(groups):
                members = sorted(groups[c], key=lambda m: (m[1], m[0]))
                source = next(m[1] for m in members if roles[m][0] == "source")
                ids = [m[1] for m in members]
                clusters.append({"id": base + c, "source": source, "members": ids, "query": ans.article.id})
            for row, indexed in [(qrow, False)] + [(r, True) for r in ans.docs]:
                if (indexed, row["id"]) in seen:
                    continue
                seen.add((indexed, row["id"]))
                role = roles.get((indexed, row["id"]))
                paras = ans.paragraphs.get((indexed, row["id"]))
                if paras is None:
                    paras = np.asarray(ans.article.paragraphs, np.int64).reshape(-1, 2)
                labels = ans.labels.get((indexed, row["id"])) or [2] * len(paras)
                documents.append(
                    {
                        "id": row["id"],
                        "path": row["path"],
                        "chars": row["chars"],
                        "bytes": row["bytes"],
                        "date": row["date"],
                        "cluster": base + role[1] if role else None,
                        "role": role[0] if role else None,
                        "title": row["title"],
                        "url": row["url"],
                        "site": row["site"],
                        "encoding": row["encoding"],
                        "indexed": indexed,
                        "paragraphs": [
                            {"start": s, "end": e, "label": LABELS[c]} for (s, e), c in zip(paras.tolist(), labels)
                        ],
                    }
                )
            for m in ans.matches:
                pairs.append(
                    {
                        "a": m.a,
                        "b": m.b,
                        "relation": m.relation,
                        "jaccard": round(float(m.jaccard), _DIGITS),
                        "a_in_b": round(float(m.a_in_b), _DIGITS),
                        "b_in_a": round(float(m.b_in_a), _DIGITS),
                        "query": ans.article.id,
                        "indexed": m.b if m.b_indexed else m.a,
                        "passages": [
                            dict(zip(("a_start", "a_end", "b_start", "b_end"), p)) for p in m.passages.tolist()
                        ],
                    }
                )
        from dataclasses import asdict

        return {
            "meta": {
                "dedup_version": __version__,
                "index": self.location,
                "parameters": _flat(asdict(self.options)),
                "inputs": {
                    "articles": len(self.answers),
                    "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
                },
                "timings": {k: round(v, 3) for k, v in self.timings.items()},
            },
            "documents": documents,
            "clusters": clusters,
            "pairs": pairs,
        }


def _flat(d: dict, prefix: str = "") -> dict:
    out: dict[str, Any] = {}
    for key, value in d.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def query_articles(index: Any, articles: Sequence[Article], options: ScanOptions) -> tuple[list[_Answer], list[dict]]:
    """Answers for in-memory articles (see the module docstring), batch by batch, and their rows."""
    answers: list[_Answer] = []
    rows: list[dict] = []
    for lo in range(0, len(articles), options.batch_docs):
        batch = list(articles[lo : lo + options.batch_docs])
        data = extract(batch, options.k, options.num_perm, options.seed)
        order = np.argsort(data.posting_docs, kind="stable")  # by article, fingerprints still sorted
        fps_all = data.postings[order]
        bounds = np.searchsorted(data.posting_docs[order], np.arange(len(batch) + 1))
        frame = pl.DataFrame(data.docs)
        rows.extend(frame.to_dicts())
        for i, art in enumerate(batch):
            fps = np.ascontiguousarray(fps_all[bounds[i] : bounds[i + 1]])
            answers.append(_match_one(index, art, fps, frame.row(i, named=True), options))
    return answers, rows


def query(index: Any, sources: Sequence[str | os.PathLike[str]], options: ScanOptions) -> QueryResult:
    """Every article under ``sources`` against the index."""
    check_params(index, options)
    t = time.perf_counter()
    articles, skipped = read_sources(sources, options)
    t_read = time.perf_counter() - t
    t = time.perf_counter()
    answers, rows = query_articles(index, articles, options)
    return QueryResult(
        answers, rows, skipped, options, index.location, {"read": t_read, "query": time.perf_counter() - t}
    )


# ---------------------------------------------------------------------------------------------- scan with an index


class _UnionStore(FeatureStore):
    """A folder's temporary feature store followed by an index's shards (a Redis index's local cache), read
    as one store."""

    def __init__(self, own: FeatureStore, index: Any) -> None:
        self.root = own.root
        self.params = own.params
        self._paths = {n: own.root / "shards" / n for n in own.shard_names}
        self._paths.update({f"index:{n}": index.root / "shards" / n for n in index.shard_names})
        self.shard_names = list(self._paths)
        self._shards = {}

    def shard(self, name: str) -> Shard:
        if name not in self._shards:
            self._shards[name] = Shard(self._paths[name])
        return self._shards[name]


def scan_with_index(
    folder: str | os.PathLike[str], index: Any, options: ScanOptions, report: Progress | None = None
) -> Any:
    """``scan`` of a folder together with every article of an index: the folder's articles come first, then
    the indexed ones; pairs, clusters and boilerplate are the scan's over both. A Redis index is read
    from its local cache, fetched first where it lacks shards."""
    from ..pipeline import analyse

    check_params(index, options)
    index.refresh()
    if index.removed and any(index.removed.values()):
        raise StoreError(f"{index.location}: has removed articles not compacted yet; run 'dedup index compact' first")
    report = report or (lambda phase, done, total: None)
    tmp = tempfile.TemporaryDirectory(prefix="dedup-scan-")
    fs = FeatureStore(tmp.name, params=store_params(options), create=True)
    t0 = time.perf_counter()
    names, skipped = ingest(fs, folder, options, report)
    fs.commit(names)
    result = analyse(_UnionStore(fs, index), options, report, skipped)
    result.timings = {"read": time.perf_counter() - t0, **result.timings}
    result.keep_alive = tmp
    return result
