"""Web views of a scan or a query: what the HTML report (``scan -o report.html``) and ``dedup serve``'s
pages show, as plain data for the Jinja2 templates in ``dedup/templates/``.

The content is the terminal views' (``views.py``): the same ``ScanData``, the same relation phrases,
the same layout of a diff (unshared paragraphs in the slot before the passage that follows them, each
shared passage cut into aligned rows at every paragraph break, changed words marked, long passages
elided), built by the same functions; only the rendering differs. Text goes into the templates as
``str`` and Jinja2's autoescape escapes it once (see ``render``): nothing here builds HTML by hand.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from . import escape
from .views import ScanData, _passage_rows, relation_phrase, unshared_slots

LABELS = ("syndicated", "wrapper", "original", "boilerplate")
LABEL_HELP = {
    "syndicated": "shared with another member of its cluster",
    "wrapper": "a copy's own text around the copied story",
    "original": "in a source or an unrelated article, not shared",
    "boilerplate": "site template or stock text",
}


def _pieces(text: Any) -> list[tuple[str, str]]:
    """A ``rich.text.Text`` of ``_passage_rows`` as (text, css class) pieces: ``chg`` for changed words,
    ``note`` for an elision note."""
    plain = text.plain.replace("; --full shows them", "")  # the terminal's option, not the page's
    marks = sorted(
        ((s.start, s.end, str(s.style)) for s in text.spans if "reverse" in str(s.style) or "italic" in str(s.style)),
        key=lambda x: x[0],
    )
    base = "note" if "italic" in str(text.style) else ""
    out, pos = [], 0
    for start, end, style in marks:
        if start < pos:
            continue
        if start > pos:
            out.append((plain[pos:start], base))
        out.append((plain[start:end], "chg" if "reverse" in style else "note"))
        pos = end
    if pos < len(plain):
        out.append((plain[pos:], base))
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
            rows = _passage_rows(text_a[a0:a1], text_b[b0:b1], full, marks=False)
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
        if source is not None and other == source:
            phrase = "copies the source"
        elif source is not None and doc["id"] == source and r["relation"] != "partial":
            phrase = "is copied by"
        elif r["relation"] == "contains":
            phrase = "contains" if r["a"] == doc["id"] else "is contained in"
        else:
            phrase = r["relation"]
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
