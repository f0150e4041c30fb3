"""Site chrome and banal text are not evidence; short derived items are (issue 28).

Real pages of ``benchmarks/data/aeb/html`` with their article replaced by other real aeb bodies (the page's
own menus, header, footer, sidebars and teasers kept around it, its canonical URL removed so no site is
known), a blog template with a month archive, the CMS's comment form and a cookie notice, and short items
built from real article text; each folder scanned by the real CLI.
"""

from __future__ import annotations

import html
import re

import pytest

from benchmarks.corpora.chrome import (
    COMMENT_FORM,
    COOKIE_NOTICE,
    MONTHS,
    aeb_page,
    aeb_truth,
    put_story,
    story_paragraphs,
)
from dedup.ingest import read_file

# Two real pages of different sites whose article container the truth locates (checked in the tests).
SITE_A = "042bb7b5fedab6eac7db576522b89b93904c237d344bcbe14a6a5ab7f7335856"  # wsj.com
SITE_B = "7a664e40"  # cbsnews.com (prefix)


def _key(prefix: str) -> str:
    return next(k for k in sorted(aeb_truth()) if k.startswith(prefix))


def _scan(cli, folder) -> dict:
    run = cli("scan", folder, "--format", "json", "-q")
    assert run.returncode == 0, run.stderr
    return run.json()


def _in_page(truth: dict, template: str, body) -> str:
    return put_story(aeb_page(template), truth[template]["articleBody"], list(body.paragraphs))


def test_two_pages_of_one_site_around_different_bodies_do_not_pair(cli, tmp_path, aeb_articles):
    truth = aeb_truth()
    for t, template in enumerate((SITE_A, _key(SITE_B))):
        for n in range(2):
            body = aeb_articles[2 * t + n]  # four different articles
            (tmp_path / f"{template[:8]}-{n}.html").write_text(_in_page(truth, template, body), encoding="utf-8")
    result = _scan(cli, tmp_path)
    assert len(result["documents"]) == 4
    assert result["pairs"] == [], [(p["a"], p["b"], p["relation"]) for p in result["pairs"]]


def test_the_same_story_in_two_sites_chrome_pairs_on_the_story_only(cli, tmp_path, aeb_articles):
    truth = aeb_truth()
    story = aeb_articles[3]
    for template in (SITE_A, _key(SITE_B)):
        (tmp_path / f"{template[:8]}.html").write_text(_in_page(truth, template, story), encoding="utf-8")
    result = _scan(cli, tmp_path)
    (pair,) = result["pairs"]
    assert pair["relation"] in ("exact", "near-duplicate")
    words = set(re.findall(r"\w+", story.text.lower()))
    texts = {d["id"]: d for d in result["documents"]}
    assert set(texts) == {pair["a"], pair["b"]}
    for side in ("a", "b"):
        page = (tmp_path / pair[side]).read_text(encoding="utf-8")
        assert "Dow Jones" in page or "CBS" in page  # the chrome is there, around the story
        for passage in pair["passages"]:
            start, end = passage[f"{side}_start"], passage[f"{side}_end"]
            assert end > start
    # Every passage is story text: each word of it is a word of the story (offsets into the text as read).
    for side in ("a", "b"):
        (article,) = read_file(tmp_path / pair[side])
        for passage in pair["passages"]:
            text = article.text[passage[f"{side}_start"] : passage[f"{side}_end"]]
            assert set(re.findall(r"\w+", text.lower())) <= words, text[:200]


def test_unrelated_pages_sharing_a_month_archive_and_a_cookie_notice_do_not_pair(cli, tmp_path, aeb_articles):
    """Two blogs of one CMS: each page its blog's name and tagline, a four-year month archive (the same
    months on both), its own article, the CMS's comment form and cookie notice; as text and as bare HTML
    with the blogs' own URLs. The archive sits between text of each page's own, so only its being banal
    keeps it from pairing them (it did, ``partial``, before)."""
    archive = [f"{MONTHS[m % 12]} {2016 + m // 12}" for m in range(48)][::-1]
    for blog in range(2):
        body, tagline = aeb_articles[10 + blog], aeb_articles[20 + blog].paragraphs[0]
        paras = [f"Blog {blog}", tagline, "Archives", *archive, *body.paragraphs, *COMMENT_FORM, COOKIE_NOTICE]
        (tmp_path / f"blog{blog}.txt").write_text("\n\n".join(paras), encoding="utf-8")
        page = "".join(f"<div>{html.escape(p)}</div>" for p in paras)
        url = f'<link rel="canonical" href="https://blog{blog}.example/post">'
        (tmp_path / f"blog{blog}.html").write_text(f"<html><head>{url}</head><body>{page}</body></html>")
    result = _scan(cli, tmp_path)
    related = [(p["a"], p["b"], p["relation"]) for p in result["pairs"]]
    # Only a page and its own text version may be copies; no two blogs pair.
    assert all(a.split(".")[0] == b.split(".")[0] for a, b, _ in related), related


def _short_items(aeb_articles) -> dict[str, str]:
    """A wire story; a 47-word item written from it (its own words around two verbatim runs of 13 words:
    half its text, 18 shared 5-grams); two independent items on it, each its own words and the same one
    quotation of the story (20 words)."""
    wire, own, other = aeb_articles[0], aeb_articles[1], aeb_articles[2]
    ws, os_, ot = wire.text.split(), own.text.split(), other.text.split()
    item = " ".join(os_[:12] + ws[40:53] + os_[12:20] + ws[120:133] + ["today."])
    quote = ws[60:80]
    return {
        "wire.txt": wire.text,
        "item.txt": item,
        "quote-1.txt": " ".join(ot[:15] + quote + ["yesterday."]),
        "quote-2.txt": " ".join(os_[30:45] + quote + ["yesterday."]),
    }


def test_a_short_derived_item_pairs_with_its_wire_story_and_independent_ones_do_not(cli, tmp_path, aeb_articles):
    files = _short_items(aeb_articles)
    assert 20 <= len(files["item.txt"].split()) <= 80
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = _scan(cli, tmp_path)
    pairs = {frozenset((p["a"], p["b"])): p for p in result["pairs"]}
    assert set(pairs) == {frozenset(("wire.txt", "item.txt"))}
    (pair,) = pairs.values()
    assert pair["relation"] == "contains" and pair["a"] == "wire.txt"
    assert 0.4 <= pair["b_in_a"] <= 0.6


@pytest.mark.parametrize("lengths", [([5, 5], 2), ([9], 1), ([3, 3, 3, 3], 0)])
def test_short_derived_needs_verbatim_runs(lengths):
    """The run lengths ``shingle_runs`` finds, and how many reach a short item's run (``short_run`` 4)."""
    import numpy as np

    from dedup.options import VerifyParams
    from dedup.phase2 import shingle_runs

    runs, long = lengths
    found, first = [], []
    for r in runs:
        found += [True] * r + [False] * 3
    first = np.arange(len(found))
    got = shingle_runs(np.array(found), first)
    assert got.tolist() == runs
    assert int((got >= VerifyParams().short_run).sum()) == long
    # A banal shingle left out between two found ones (a gap in ``first``) ends a run.
    assert shingle_runs(np.ones(6, bool), np.array([0, 1, 2, 4, 5, 6])).tolist() == [3, 3]
    assert story_paragraphs("a\n\nb") == ["a", "b"]
