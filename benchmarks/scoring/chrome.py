"""Site chrome and banal text are not evidence (issue 28): three measures on real HTML.

- **aeb** (``data/aeb/html``, 181 real news pages, all different articles): the pairs a scan reports, and how
  many of them share article-body text by the ground truth (``articleBody``: at least ``BODY_RUN`` 8-word
  sequences in common, a quoted statement or a company's "About" paragraph). Every other pair is made of
  chrome.
- **stories in real chrome** (``generate``): real pages of ``data/aeb/html`` with their own article replaced
  by another real aeb body: each *story* is placed in 2–4 pages of different sites (verbatim, or its last
  paragraphs cut), and other pages of those sites carry other stories, once each. The article's container
  is the element holding the most of the page's own ground-truth body (found from the truth, not by dedup's
  reader); everything around it (menus, header, footer, sidebars, teasers, comments, cookie notices) is the
  page's real chrome. Canonical URLs are removed, so no site is known. Positives: two pages carrying one
  story. Recall and precision of the scan's pairs.
- **crawl** (``crawl``): unrelated pages of several small blogs of one CMS, each page a different real aeb
  body in a template with the blog's navigation, a month-archive widget ("July 2010 June 2010 …"), a
  categories list, the CMS's comment form and a cookie notice (the standard strings of WordPress and of a
  common cookie plugin: the same on every blog), half of the blogs with the widgets' usual classes, half in
  bare ``div``/``ul`` markup. Every pair is false; ``partial`` pairs are the issue's measure.

Usage::

    python -m benchmarks.scoring.chrome [--stories 40] [--blogs 8] [--seed 0] [--json OUT]

The corpora alone: ``python -m benchmarks.corpora.chrome stories|crawl DIR`` (``benchmarks.corpora.chrome``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.corpora.chrome import AEB, BODY_RUN, aeb_truth, crawl, generate, story_grams


def score_stories(truth: dict, result: dict) -> dict:
    """Recall of the pairs of pages carrying one story, and the pairs between different stories."""
    docs = truth["docs"]
    by_story: dict[int, list[str]] = {}
    for name, d in docs.items():
        if d["story"] is not None:
            by_story.setdefault(d["story"], []).append(name)
    positives = {tuple(sorted((a, b))) for names in by_story.values() for a in names for b in names if a < b}
    found = {tuple(sorted((p["a"], p["b"]))): p["relation"] for p in result["pairs"]}
    hit = positives & set(found)
    grams = {k: story_grams(v["articleBody"]) for k, v in aeb_truth().items()}
    # Two different stories may share real text (a quotation, an "About" paragraph): such a pair is right.
    shares = {pair for pair in found if len(grams[docs[pair[0]]["body"]] & grams[docs[pair[1]]["body"]]) >= BODY_RUN}
    wrong = [pair for pair in found if pair not in positives and pair not in shares]
    same_template_site = sum(docs[a]["site"] == docs[b]["site"] for a, b in wrong)
    return {
        "documents": len(docs),
        "positives": len(positives),
        "recall": round(len(hit) / max(len(positives), 1), 4),
        "pairs_sharing_story_text": len(shares - positives),
        "false_pairs": len(wrong),
        "false_pairs_same_page": sum(docs[a]["template"] == docs[b]["template"] for a, b in wrong),
        "false_pairs_same_site": same_template_site,
        "false_partial": sum(found[p] == "partial" for p in wrong),
    }


def score_aeb(result: dict) -> dict:
    """The scan's pairs of aeb pages, and how many share article-body text (``BODY_RUN``)."""
    truth = aeb_truth()
    grams = {k: story_grams(v["articleBody"]) for k, v in truth.items()}
    docs = {d["id"]: Path(d["path"]).name.split(".")[0] for d in result["documents"]}
    rows = []
    for p in result["pairs"]:
        a, b = docs[p["a"]], docs[p["b"]]
        rows.append({"a": a, "b": b, "relation": p["relation"], "body_runs": len(grams[a] & grams[b])})
    share = sum(r["body_runs"] >= BODY_RUN for r in rows)
    return {"pairs": len(rows), "share_body": share, "chrome_only": len(rows) - share, "rows": rows}


def _scan(folder: Path) -> dict:
    import dedup

    return dedup.scan(folder).to_dict()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.scoring.chrome", description=__doc__.split("\n\n")[0])
    p.add_argument("--stories", type=int, default=40, help="stories placed in real chrome (default 40)")
    p.add_argument("--blogs", type=int, default=8, help="blogs in the crawl, 2 pages each (default 8)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="write the figures here")
    args = p.parse_args(argv)
    out: dict = {"seed": args.seed}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        aeb = score_aeb(_scan(AEB / "html"))
        out["aeb"] = {k: v for k, v in aeb.items() if k != "rows"} | {"seconds": round(time.perf_counter() - t, 1)}
        out["aeb_pairs"] = aeb["rows"]
        folder = Path(tmp) / "stories"
        truth = generate(folder, args.stories, args.seed)
        t = time.perf_counter()
        out["stories"] = score_stories(truth, _scan(folder)) | {"seconds": round(time.perf_counter() - t, 1)}
        for name, as_text in (("crawl", False), ("crawl_text", True)):
            folder = Path(tmp) / name
            pages = crawl(folder, args.blogs, seed=args.seed, text=as_text)
            result = _scan(folder)
            out[name] = {
                "pages": pages,
                "pairs": len(result["pairs"]),
                "partial": sum(p["relation"] == "partial" for p in result["pairs"]),
            }
    text = json.dumps(out, indent=1)
    print(json.dumps({k: v for k, v in out.items() if k != "aeb_pairs"}, indent=1))
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
