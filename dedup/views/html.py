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

import re
from functools import cache
from typing import Any

import numpy as np

from .. import escape
from ..label import LABELS
from ..output.write import skipped_files
from ..wording import in_words, pair_words
from .data import ScanData, relation_phrase, report_extract, unshared_slots
from .diff import Piece, passage_pieces

_ID_BREAK = re.compile(r"(?<=[/_\-.#?&=\\])")
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


def _row(left: list[Piece], right: list[Piece]) -> dict[str, Any]:
    """A row of a shared passage: its two sides, and for the elided middle the rows it hides (``middle``),
    which the page offers in a ``<details>`` (opened without script)."""
    elided = bool(left) and left[0].kind == "elided"
    middle = [{"a": _pieces(a), "b": _pieces(b)} for a, b in left[0].rows] if elided else None
    return {"a": _pieces(left), "b": _pieces(right), "middle": middle}


def id_breaks(doc_id: Any) -> Any:
    """An id (or path) as HTML that a browser may break only after a separator (``/ _ - . # ? & =``), never
    inside a word: each part escaped, a ``<wbr>`` after each separator (CSS keeps ``.id`` from breaking
    anywhere else)."""
    from markupsafe import Markup
    from markupsafe import escape as html_escape

    if doc_id is None:
        return ""
    parts = _ID_BREAK.split(str(doc_id))
    return Markup("<wbr>").join(html_escape(p) for p in parts)


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
            rows = passage_pieces(text_a[a0:a1], text_b[b0:b1], full, keep_elided=True)
            blocks.append(
                {
                    "kind": "shared",
                    "n": k + 1,
                    "a_start": a0,
                    "a_end": a1,
                    "b_start": b0,
                    "b_end": b1,
                    "rows": [_row(left, right) for left, right in rows],
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
        "copies": sum(d.get("cluster") == cluster for d in data.documents) - 1 if cluster is not None else 0,
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
    env.filters["id"] = id_breaks
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
        to_source = {}  # each copy's pair with the source, where the scan lists one
        others = []  # the cluster's other pairs: copy against copy
        for r in by_cluster.get(c["id"], []):
            if source in (r["a"], r["b"]):
                to_source[r["b"] if r["a"] == source else r["a"]] = r
            else:
                others.append(r)
        # Closest copies first: by Jaccard with the source (those linked only through others last).
        copies = sorted(
            (m for m in c["members"] if m != source),
            key=lambda m: (m not in to_source, -to_source[m]["jaccard"] if m in to_source else 0.0, m),
        )
        said = "source" if c.get("source_known", True) else "source (direction unknown)"
        members = [_member(data, docs[pos[source]], said, None)]
        shown_copies = []
        for m in copies:
            r = to_source.get(m)
            rel = data.pair(pos[m], pos[source]) if r is not None else None
            phrase = in_words(relation_phrase(rel), "this", "the source") if rel else "via other members"
            members.append(_member(data, docs[pos[m]], phrase, r))
            if r is not None:
                shown = budget > 0
                budget -= shown
                shown_copies.append({"id": m, "diff": diff(data, pos[source], pos[m]) if shown else None})
        others.sort(key=lambda r: (-r["jaccard"], r["a"], r["b"]))
        other_pairs = []
        for r in others:
            shown = budget > 0
            budget -= shown
            other_pairs.append(
                {
                    "a": r["a"],
                    "b": r["b"],
                    "relation": relation_phrase(data.pair(pos[r["a"]], pos[r["b"]])),
                    "jaccard": round(float(r["jaccard"]), 2),
                    "diff": diff(data, pos[r["a"]], pos[r["b"]]) if shown else None,
                }
            )
        entries.append(
            {
                "kind": "cluster",
                "id": c["id"],
                "source": source,
                "members": members,
                "copies": copies,
                "against_source": shown_copies,
                "others": other_pairs,
                "hidden": sum(x["diff"] is None for x in shown_copies + other_pairs),
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
        "parameters": sorted(params.items()),
    }
    return {
        "summary": summary,
        "pages": pages,
        "per_page": PER_PAGE,
        "open_all": len(entries) <= OPEN_ALL,
        "skipped": skipped or [],
    }


def _member(data: ScanData, doc: dict[str, Any], relation: str, pair: dict[str, Any] | None) -> dict[str, Any]:
    """A cluster member's row of the report: metadata, its relation to the source and how close it is."""
    return {
        "id": doc["id"],
        "role": doc.get("role"),
        "title": doc.get("title"),
        "site": doc.get("site"),
        "date": doc.get("date"),
        "relation": relation,
        "jaccard": None if pair is None else round(float(pair["jaccard"]), 2),
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
