"""Web views of a scan or a query: what the HTML report (``scan -o report.html``), ``diff``/``show --format
html`` and ``dedup serve``'s pages show, as plain data for the Jinja2 templates in ``dedup/templates/``.

The content is the terminal views' (``terminal.py``): the same ``ScanData``, the same relation phrases,
the same layout of a diff (unshared paragraphs in the slot before the passage that follows them, each
shared passage cut into aligned rows at every paragraph break, changed words marked, long passages
elided), built from the same ``data`` and ``diff.passage_pieces``; only the rendering differs. Text goes into
the templates as ``str`` and Jinja2's autoescape escapes it once (see ``render``): nothing here builds HTML
by hand.

The report is one self-contained file a person can open and share — inline CSS, no scripts, no network (a
Content-Security-Policy meta tag forbids both). Large scans stay usable: entries (a cluster, or a pair
outside clusters) are split into pages shown one at a time with CSS ``:target`` (no script), clusters and
pairs are collapsed ``<details>`` (the browser lays out only what is opened), and long shared passages are
elided in the middle as the terminal diff elides them.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from .. import escape
from ..label import LABELS
from ..output.write import skipped_files
from ..wording import in_words, pair_words
from .data import ScanData, relation_phrase, report_extract, unshared_slots
from .diff import Piece, passage_pieces

PER_PAGE = 50  # entries (clusters or lone pairs) a page
OPEN_ALL = 10  # a report with at most this many entries opens them all
# A report is read by a person, in a browser: it shows at most this many entries (the first clusters, then pairs
# outside clusters) and side-by-side pairs, and says how many more the result holds (the JSON has them all). So
# its size, and the memory and time it takes, stay bounded whatever the size of the scan.
MAX_ENTRIES = 1000
MAX_DIFFS = 10_000

LABEL_HELP = {
    "syndicated": "shared with another member of its cluster",
    "wrapper": "a copy's own text around the copied story",
    "original": "in a source or an unrelated article, not shared",
    "boilerplate": "site template or stock text",
}


def _pieces(pieces: list[Piece]) -> list[tuple[str, str]]:
    """One side of a row of ``diff.passage_pieces`` as (text, css class) pieces: ``chg`` for changed words,
    ``note`` for an elision note."""
    out = []
    for piece in pieces:
        if piece.kind == "elided":
            words = f" ({piece.words:,} words)" if piece.words else ""
            out.append((f"… {piece.chars:,} more shared characters{words} …", "note"))
        else:
            out.append((piece.text, "chg" if piece.kind == "changed" else ""))
    return out


def _para(text: str, p: dict[str, Any], who: list[str] | None = None) -> dict[str, Any]:
    return {
        "label": p["label"],
        "start": p["start"],
        "end": p["end"],
        "text": escape.text(text[p["start"] : p["end"]]),
        "shared_with": who or [],
    }


def diff(data: ScanData, i: int, j: int, full: bool = False) -> dict[str, Any]:
    """Two documents side by side: header, and blocks of rows (``unshared`` paragraphs with their labels,
    or a ``shared`` passage with its offsets in both texts and its aligned pieces)."""
    pair = data.pair(i, j)
    passages = pair["passages"] if pair is not None else np.zeros((0, 4), dtype=np.int64)
    slots = unshared_slots(data, i, j, passages)
    text_a, text_b = data.text(i), data.text(j)
    blocks: list[dict[str, Any]] = []
    for k in range(len(passages) + 1):
        if slots[0][k] or slots[1][k]:
            blocks.append(
                {
                    "kind": "unshared",
                    "a": [_para(text_a, p) for p in slots[0][k]],
                    "b": [_para(text_b, p) for p in slots[1][k]],
                }
            )
        if k < len(passages):
            a0, a1, b0, b1 = passages[k].tolist()
            rows = passage_pieces(text_a[a0:a1], text_b[b0:b1], full)
            blocks.append(
                {
                    "kind": "shared",
                    "n": k + 1,
                    "a_start": a0,
                    "a_end": a1,
                    "b_start": b0,
                    "b_end": b1,
                    "rows": [(_pieces(left), _pieces(right)) for left, right in rows],
                }
            )
    measures = pair
    if pair is None and data.measure is not None:
        measures = data.measure(i, j)
    return {
        "a": data.doc_id(i),
        "b": data.doc_id(j),
        "relation": relation_phrase(pair),
        "kind": pair["relation"] if pair is not None else "none",
        "related": pair is not None,
        "measures": None
        if measures is None
        else {k: round(float(measures[k]), 2) for k in ("jaccard", "a_in_b", "b_in_a")},
        "passages": len(passages),
        "blocks": blocks,
    }


def document(data: ScanData, i: int) -> dict[str, Any]:
    """One article: its metadata, cluster and role, each paragraph with its label and who shares it, and
    every pair the scan lists for it (the other article, the relation as seen from this one)."""
    doc = data.documents[i]
    text = data.text(i)
    cluster = doc.get("cluster")
    source = None
    if cluster is not None:
        source = next((c["source"] for c in data.data["clusters"] if c["id"] == cluster), None)
    paragraphs = [_para(text, p, who) for p, who in zip(data.paragraphs(i), data.shared_with(i))]
    relations = []
    for r in data.data["pairs"]:
        if doc["id"] not in (r["a"], r["b"]):
            continue
        other = r["b"] if r["a"] == doc["id"] else r["a"]
        phrase = pair_words(r, swap=r["a"] != doc["id"])  # A: this article, B: the other
        relations.append(
            {
                "other": other,
                "relation": r["relation"],
                "phrase": phrase,
                "jaccard": round(r["jaccard"], 2),
                "mine_in_other": round(r["a_in_b"] if r["a"] == doc["id"] else r["b_in_a"], 2),
                "other_in_mine": round(r["b_in_a"] if r["a"] == doc["id"] else r["a_in_b"], 2),
            }
        )
    return {
        "id": doc["id"],
        "path": doc.get("path"),
        "title": doc.get("title"),
        "url": doc.get("url"),
        "site": doc.get("site"),
        "date": doc.get("date"),
        "chars": doc.get("chars"),
        "cluster": cluster,
        "role": doc.get("role"),
        "source": source,
        "indexed": doc.get("indexed"),
        "paragraphs": paragraphs,
        "relations": relations,
    }


@cache
def environment() -> Any:
    """The Jinja2 environment over the package's templates, autoescaping every value (HTML escaping is
    Jinja2's: ``escape.py`` keeps names and text as they are for this medium, escaped once here)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("dedup", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(LABELS=LABELS, LABEL_HELP=LABEL_HELP)
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def stylesheet() -> str:
    """The one stylesheet (inlined in the report, served at /static/style.css by ``dedup serve``)."""
    from importlib.resources import files

    return files("dedup").joinpath("templates/style.css").read_text(encoding="utf-8")


def report_context(data: ScanData, skipped: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """What ``report.html`` shows of a scan (the JSON contract plus texts): every entry of it, or of the part
    of it that ``data.report_extract`` gives (with the ``counts`` of the whole), up to ``MAX_DIFFS`` pairs
    side by side."""
    d = data.data
    docs = d["documents"]
    pos = {doc["id"]: i for i, doc in enumerate(docs)}
    cluster_of = {doc["id"]: doc.get("cluster") for doc in docs}
    by_cluster: dict[int, list[dict]] = {}
    lone: list[dict] = []
    for r in d["pairs"]:
        c = cluster_of.get(r["a"])
        if c is not None and c == cluster_of.get(r["b"]):
            by_cluster.setdefault(c, []).append(r)
        else:
            lone.append(r)
    entries: list[dict[str, Any]] = []
    budget = MAX_DIFFS
    for c in d["clusters"]:
        source = c["source"]
        pairs = sorted(by_cluster.get(c["id"], []), key=lambda r: (source not in (r["a"], r["b"]), r["a"], r["b"]))
        hidden = max(len(pairs) - budget, 0)
        pairs = pairs[: len(pairs) - hidden]
        budget -= len(pairs)
        members = []
        for m in c["members"]:
            doc = docs[pos[m]]
            rel = data.pair(pos[m], pos[source]) if m != source else None
            members.append(
                {
                    "id": m,
                    "role": doc.get("role"),
                    "title": doc.get("title"),
                    "site": doc.get("site"),
                    "date": doc.get("date"),
                    "relation": ("source" if c.get("source_known", True) else "source (direction unknown)")
                    if m == source
                    else in_words(relation_phrase(rel), "this", "the source")
                    if rel
                    else "via other members",
                }
            )
        entries.append(
            {
                "kind": "cluster",
                "id": c["id"],
                "source": source,
                "members": members,
                "copies": [m for m in c["members"] if m != source],
                "pairs": [diff(data, pos[r["a"]], pos[r["b"]]) for r in pairs],
                "hidden": hidden,
            }
        )
    for r in lone[: max(budget, 0)]:
        entries.append({"kind": "pair", "diff": diff(data, pos[r["a"]], pos[r["b"]])})
    pages = [entries[k : k + PER_PAGE] for k in range(0, len(entries), PER_PAGE)] or [[]]
    meta = d.get("meta") or {}
    params = meta.get("parameters") or {}
    counts = d.get("counts") or {}
    summary = {
        "articles": counts.get("documents", len(docs)),
        "clusters": counts.get("clusters", len(d["clusters"])),
        "pairs": counts.get("pairs", len(d["pairs"])),
        "entries": len(entries),
        "all_entries": counts.get("entries", len(d["clusters"]) + len(lone)),
        "skipped": len(skipped or []),
        "version": meta.get("dedup_version", ""),
        "parameters": [(k, v) for k, v in params.items() if not k.startswith(("ingest.", "align."))][:12],
    }
    return {
        "summary": summary,
        "pages": pages,
        "per_page": PER_PAGE,
        "open_all": len(entries) <= OPEN_ALL,
        "skipped": skipped or [],
    }


def report_html(result: Any) -> str:
    """The report of a scan just run (``ScanResult``), as one HTML document: its first ``MAX_ENTRIES`` entries,
    built from that part of the result alone (``data.report_extract``)."""
    skipped = [(escape.name(p), r) for p, r in skipped_files(result)]
    data, docs = report_extract(result, MAX_ENTRIES)
    view = ScanData(
        data,
        lambda i: result.store.text(int(docs[i])),
        lambda i, j: result.compare(int(docs[i]), int(docs[j])),
    )
    return render_report(view, skipped)


def render_report(data: ScanData, skipped: list[tuple[str, str]] | None = None) -> str:
    """The report of a scan's data (a live scan, or a saved one: ``data.from_file``)."""
    return render("report.html", css=stylesheet(), **report_context(data, skipped))


def diff_html(data: ScanData, i: int, j: int, full: bool = False) -> str:
    """``dedup diff A B --format html``: the two documents side by side, as one self-contained page."""
    d = diff(data, i, j, full)
    return render("view.html", css=stylesheet(), title=f"{d['a']} · {d['b']}", diff=d, doc=None)


def show_html(data: ScanData, i: int) -> str:
    """``dedup show DOC --format html``: one document with its labels and relations, one self-contained page."""
    doc = document(data, i)
    return render("view.html", css=stylesheet(), title=doc["id"], diff=None, doc=doc)
