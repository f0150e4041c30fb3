"""Corpora for issue 28's measures of site chrome and banal text, from the real pages and bodies of
``data/aeb`` (MIT): see ``benchmarks.scoring.chrome`` for what each measures.

- ``generate``: *stories in real chrome*: real aeb pages with their article replaced by another real aeb body;
  each story placed in 2-4 pages of different sites (verbatim, or its last paragraphs cut), other pages of
  those sites carrying other stories once each. The article's container is the element holding the most of
  the page's own ground-truth body (found from the truth, not by dedup's reader); everything around it is the
  page's real chrome. Canonical URLs are removed, so no site is known. ``truth.json``: per page its story
  (or none), the aeb body it carries, its template page and site.
- ``crawl``: unrelated pages of several small blogs of one CMS, each page a different real aeb body in a
  template with the blog's navigation, a month-archive widget, a categories list, the CMS's comment form and a
  cookie notice (the standard strings of WordPress and of a common cookie plugin: the same on every blog),
  half of the blogs with the widgets' usual classes, half in bare ``div``/``ul`` markup.

Usage::

    python -m benchmarks.corpora.chrome stories DIR [--stories 40] [--seed 0]
    python -m benchmarks.corpora.chrome crawl DIR [--blogs 8] [--seed 0]
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import random
import re
import sys
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

AEB = Path(__file__).resolve().parents[1] / "data" / "aeb"
BODY_RUN = 3  # 8-word sequences two bodies must share to share text (one is a stock phrase)
TRUTH = "truth.json"


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def story_grams(text: str, k: int = 8) -> set[tuple[str, ...]]:
    w = _words(text)
    return {tuple(w[i : i + k]) for i in range(len(w) - k + 1)}


def aeb_truth() -> dict[str, dict]:
    """The aeb ground truth: page id -> {url, articleBody}."""
    return json.loads((AEB / "ground-truth.json").read_text(encoding="utf-8"))


def aeb_page(key: str) -> str:
    """The saved HTML of one aeb page."""
    return gzip.decompress((AEB / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8", "replace")


def story_paragraphs(body: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]


def _container(tree: LexborHTMLParser, body: str):
    """The element holding the most of the page's ground-truth body: the innermost one holding 80 % of the
    characters of the paragraphs whose text is in the body."""
    norm = " ".join(body.split())
    held: dict[int, int] = {}
    nodes = {}
    total = 0
    for p in tree.css("p"):
        text = " ".join((p.text(deep=True) or "").split())
        if len(text) < 30 or text not in norm:
            continue
        total += len(text)
        node = p
        while node is not None:
            held[node.mem_id] = held.get(node.mem_id, 0) + len(text)
            nodes[node.mem_id] = node
            node = node.parent
    if total < 300:
        return None
    best = min((k for k, c in held.items() if c >= 0.8 * total), key=held.__getitem__, default=None)
    return nodes[best] if best is not None else None


def _usable_pages(truth: dict[str, dict]) -> dict[str, tuple[str, str]]:
    """Page id -> (site, id) of the aeb pages whose body container is found, one template each."""
    out = {}
    for key in sorted(truth):
        tree = LexborHTMLParser(aeb_page(key))
        if _container(tree, truth[key]["articleBody"]) is not None:
            site = re.sub(r"^www\.", "", re.sub(r"^https?://([^/]+).*", r"\1", truth[key]["url"]))
            out[key] = (site, key)
    return out


def put_story(page: str, body: str, paragraphs: list[str]) -> str:
    """``page`` with its article replaced by ``paragraphs``, and no canonical URL (no site known)."""
    tree = LexborHTMLParser(page)
    node = _container(tree, body)
    node.inner_html = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    for meta in tree.css('link[rel="canonical" i],meta[property="og:url" i]'):
        meta.decompose()
    return tree.html or ""


def generate(out: Path, stories: int = 40, seed: int = 0) -> dict:
    """The stories-in-real-chrome corpus in ``out`` (see the module docstring); returns its truth."""
    rng = random.Random(seed)
    truth = aeb_truth()
    pages = _usable_pages(truth)
    keys = sorted(pages)
    rng.shuffle(keys)
    # Stories: real bodies of 150+ words (of pages other than the templates they go into).
    bodies = [k for k in sorted(truth) if len(_words(truth[k]["articleBody"])) >= 150]
    rng.shuffle(bodies)
    out.mkdir(parents=True, exist_ok=True)
    docs: dict[str, dict] = {}
    templates = iter(keys * 4)
    used_by_site: dict[str, int] = {}
    for s, story in enumerate(bodies[:stories]):
        paras = story_paragraphs(truth[story]["articleBody"])
        copies = rng.randint(2, 4)
        sites: set[str] = set()
        placed = 0
        for key in templates:
            site = pages[key][0]
            if key == story or site in sites:
                continue
            sites.add(site)
            keep = paras if rng.random() < 0.6 or len(paras) < 4 else paras[: max(3, int(len(paras) * 0.7))]
            name = f"s{s:03d}-{placed}-{key[:8]}.html"
            (out / name).write_text(put_story(aeb_page(key), truth[key]["articleBody"], keep), encoding="utf-8")
            docs[name] = {"story": s, "body": story, "template": key, "site": site}
            used_by_site[site] = used_by_site.get(site, 0) + 1
            placed += 1
            if placed == copies:
                break
    # Other stories, once each, in the same templates: a site's chrome around different articles.
    others = bodies[stories:]
    for j, key in enumerate(keys[: len(others)]):
        story = others[j]
        if story == key:
            continue
        name = f"o{j:03d}-{key[:8]}.html"
        (out / name).write_text(
            put_story(aeb_page(key), truth[key]["articleBody"], story_paragraphs(truth[story]["articleBody"])),
            encoding="utf-8",
        )
        docs[name] = {"story": None, "body": story, "template": key, "site": pages[key][0]}
    result = {"docs": docs, "stories": stories, "seed": seed}
    (out / TRUTH).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result


# The crawl: the CMS strings every blog shows (WordPress's comment form, a common cookie plugin's notice).
COMMENT_FORM = [
    "Leave a Reply Cancel reply",
    "Your email address will not be published. Required fields are marked *",
    "Comment *",
    "Name * Email * Website",
    "Save my name, email, and website in this browser for the next time I comment.",
    "Post Comment",
]
COOKIE_NOTICE = (
    "We use cookies to ensure that we give you the best experience on our website. If you continue to use "
    "this site we will assume that you are happy with it. Ok Privacy policy"
)
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_MONATE = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
]


def _blog_page(
    rng: random.Random, blog: int, marked: bool, title: str, paragraphs: list[str], names: list, tagline: str = ""
) -> str:
    """One blog page: the blog's header (navigation and ``tagline``), its sidebar (month archive and
    categories) before the article, the comment form and the cookie notice after it."""
    months = MONTHS if blog % 2 == 0 else _MONATE
    start = 2008 + blog % 3
    archive = [f"{months[m % 12]} {start + m // 12}" for m in range(rng.randint(30, 48))][::-1]
    nav = ["Home", "About", *names[:3], "Contact"]
    cats = names[3:]
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    if marked:
        side = (
            '<aside id="secondary" class="widget-area"><section id="archives-2" class="widget widget_archive">'
            "<h2>Archives</h2><ul>" + "".join(f'<li><a href="#">{a}</a></li>' for a in archive) + "</ul></section>"
            '<section class="widget widget_categories"><h2>Categories</h2><ul>'
            + "".join(f'<li><a href="#">{c}</a></li>' for c in cats)
            + "</ul></section></aside>"
        )
        form = '<div id="respond" class="comment-respond">' + "".join(f"<p>{x}</p>" for x in COMMENT_FORM) + "</div>"
        cookie = f'<div id="cookie-notice" class="cn-bottom">{COOKIE_NOTICE}</div>'
        top = '<header class="site-header"><nav class="main-navigation"><ul>' + "".join(
            f'<li><a href="#">{n}</a></li>' for n in nav
        )
        top += f"</ul></nav><p class='site-description'>{html.escape(tagline)}</p></header>"
        return (
            f"<html><head><title>{html.escape(title)}</title></head><body>{top}{side}<div id='content'>"
            f"<article><h1>{html.escape(title)}</h1>{body}</article>{form}</div>{cookie}</body></html>"
        )
    side = "<div><div>Archives</div><ul>" + "".join(f"<li>{a}</li>" for a in archive) + "</ul>"
    side += "<div>Categories</div><ul>" + "".join(f"<li>{c}</li>" for c in cats) + "</ul></div>"
    form = "<div>" + "".join(f"<div>{x}</div>" for x in COMMENT_FORM) + "</div>"
    top = "<div>" + " | ".join(nav) + f"</div><div>{html.escape(tagline)}</div>"
    return (
        f"<html><head><title>{html.escape(title)}</title></head><body>{top}{side}<div><h1>{html.escape(title)}</h1>"
        f"{body}</div>{form}<div>{COOKIE_NOTICE}</div></body></html>"
    )


def crawl(out: Path, blogs: int = 8, pages: int = 2, seed: int = 0, text: bool = False) -> int:
    """The crawl of unrelated blog pages in ``out`` (see the module docstring), each with its blog's canonical
    URL (a known site); with ``text``, each page as a crawler's text dump instead (its tags stripped, one line
    a block, no site known). Returns the pages written."""
    rng = random.Random(seed)
    truth = aeb_truth()
    bodies = [k for k in sorted(truth) if len(_words(truth[k]["articleBody"])) >= 120]
    rng.shuffle(bodies)
    words = sorted({w.title() for k in bodies[:20] for w in _words(truth[k]["articleBody"]) if len(w) > 6})
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for b in range(blogs):
        names = rng.sample(words, 8)
        tagline = story_paragraphs(truth[bodies[-1 - b]]["articleBody"])[0]  # a real sentence or two of its own
        for _ in range(pages):
            key = bodies[n]
            paras = story_paragraphs(truth[key]["articleBody"])
            page = _blog_page(rng, b, b < blogs // 2, paras[0][:80], paras, names, tagline)
            if text:
                lines = (x.strip() for x in re.sub(r"<[^>]+>", "\n", page).split("\n"))
                (out / f"blog{b}-{key[:8]}.txt").write_text("\n\n".join(x for x in lines if x), encoding="utf-8")
            else:
                url = f'<link rel="canonical" href="https://blog{b}.example/{key[:8]}">'
                (out / f"blog{b}-{key[:8]}.html").write_text(page.replace("<head>", "<head>" + url), encoding="utf-8")
            n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.corpora.chrome", description=__doc__.split("\n\n")[0])
    p.add_argument("kind", choices=("stories", "crawl"))
    p.add_argument("out", type=Path)
    p.add_argument("--stories", type=int, default=40, help="stories placed in real chrome (default 40)")
    p.add_argument("--blogs", type=int, default=8, help="blogs in the crawl, 2 pages each (default 8)")
    p.add_argument("--text", action="store_true", help="the crawl as text dumps (tags stripped, no site)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.kind == "stories":
        generate(args.out, args.stories, args.seed)
    else:
        crawl(args.out, args.blogs, seed=args.seed, text=args.text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
