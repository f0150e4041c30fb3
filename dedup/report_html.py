"""The HTML report of a scan (``dedup scan DIR -o report.html``): one self-contained file a person can
open and share — inline CSS, no scripts, no network (a Content-Security-Policy meta tag forbids both),
every name and text escaped by Jinja2's autoescape.

It holds the cluster table, each cluster's source and members, and each pair's passages side by side
with every paragraph's label (``htmlview.diff``, the terminal diff's content). Large scans stay
usable: entries (a cluster, or a pair outside clusters) are split into pages shown one at a time with
CSS ``:target`` (no script), clusters and pairs are collapsed ``<details>`` (the browser lays out only
what is opened), and long shared passages are elided in the middle as the terminal diff elides them.
"""

from __future__ import annotations

from typing import Any

from . import htmlview
from .views import ScanData

PER_PAGE = 50  # entries (clusters or lone pairs) a page
OPEN_ALL = 10  # a report with at most this many entries opens them all
# A report is read by a person, in a browser: it shows at most this many entries (the first clusters, then pairs
# outside clusters) and side-by-side pairs, and says how many more the result holds (the JSON has them all). So
# its size, and the memory and time it takes, stay bounded whatever the size of the scan.
MAX_ENTRIES = 1000
MAX_DIFFS = 10_000


def report_context(data: ScanData, skipped: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """What ``report.html`` shows of a scan (the JSON contract plus texts): every entry of it, or of the part
    of it that ``ScanResult.report_view`` gives (with the ``counts`` of the whole), up to ``MAX_DIFFS`` pairs
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
                    "relation": "source"
                    if m == source
                    else htmlview.relation_phrase(rel).replace("A", "it").replace("B", "the source")
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
                "pairs": [htmlview.diff(data, pos[r["a"]], pos[r["b"]]) for r in pairs],
                "hidden": hidden,
            }
        )
    for r in lone[: max(budget, 0)]:
        entries.append({"kind": "pair", "diff": htmlview.diff(data, pos[r["a"]], pos[r["b"]])})
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
    built from that part of the result alone (``ScanResult.report_view``)."""
    from .escape import name
    from .output import skipped_files

    skipped = [(name(p), r) for p, r in skipped_files(result)]
    data, docs = result.report_view(MAX_ENTRIES)
    view = ScanData(
        data,
        lambda i: result.store.text(int(docs[i])),
        lambda i, j: result.compare(int(docs[i]), int(docs[j])),
    )
    return render_report(view, skipped)


def render_report(data: ScanData, skipped: list[tuple[str, str]] | None = None) -> str:
    """The report of a scan's data (a live scan, or a saved one: ``views.from_file``)."""
    return htmlview.render("report.html", css=htmlview.stylesheet(), **report_context(data, skipped))


def diff_html(data: ScanData, i: int, j: int, full: bool = False) -> str:
    """``dedup diff A B --format html``: the two documents side by side, as one self-contained page."""
    d = htmlview.diff(data, i, j, full)
    return htmlview.render("view.html", css=htmlview.stylesheet(), title=f"{d['a']} · {d['b']}", diff=d, doc=None)


def show_html(data: ScanData, i: int) -> str:
    """``dedup show DOC --format html``: one document with its labels and relations, one self-contained page."""
    doc = htmlview.document(data, i)
    return htmlview.render("view.html", css=htmlview.stylesheet(), title=doc["id"], diff=None, doc=doc)
