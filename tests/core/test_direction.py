"""Which way the copying went (issue 28): dates first, then where each side's own text sits; one answer per
cluster from the pairs, and "unknown" when the evidence does not say."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dedup
from dedup.direction import (
    DIRECTION_BY,
    Direction,
    cluster_sources,
    compare_dates,
    pair_directions,
    parse_when,
    position_direction,
)
from dedup.wording import phrase, say

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
AEB = ROOT / "benchmarks" / "data" / "aeb" / "ground-truth.json"


def _story() -> list[str]:
    """The paragraphs of one real news body (the first long English one of the AEB ground truth)."""
    data = json.loads(AEB.read_text(encoding="utf-8"))
    for key in sorted(data):
        body = data[key].get("articleBody") or ""
        paras = [p.strip() for p in body.split("\n") if len(p.strip()) > 60]
        if len(paras) >= 15 and body.isascii():
            return paras[:18]
    raise AssertionError("no long English body in the AEB data")


def _write(folder: Path, name: str, text: str, date: str | None, site: str) -> None:
    head = f"---\ndate: {date}\nsite: {site}\n---\n" if date else ""
    (folder / name).write_text(head + text, encoding="utf-8")


def _original_and_rewrite(folder: Path, dated: bool) -> None:
    """An agency original (03-03) and a paper's later, shorter rewrite of it (03-05): its own headline,
    every third paragraph dropped, the story cut after two thirds, one sentence of its own added."""
    paras = _story()
    original = ["Agency: the story as it was filed", *paras]
    rewrite = ["Paper: our own headline on it"]
    for k, p in enumerate(paras[: len(paras) * 2 // 3]):
        if k % 3 == 1:
            continue
        rewrite.append(p)
        if k == 3:
            rewrite.append("Our reporter adds that local officials have not yet commented on any of this.")
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder, "original.txt", "\n\n".join(original), "2024-03-03" if dated else None, "agency.example")
    _write(folder, "rewrite.txt", "\n\n".join(rewrite), "2024-03-05" if dated else None, "paper.example")


@pytest.mark.parametrize("dated", [True, False], ids=["dated", "plain"])
def test_original_is_the_source_of_its_later_abridged_rewrite(tmp_path: Path, dated: bool) -> None:
    _original_and_rewrite(tmp_path, dated)
    data = dedup.scan(tmp_path).to_dict()
    [cluster] = data["clusters"]
    assert cluster["source"] == "original.txt"
    assert cluster["source_known"] is True
    [pair] = data["pairs"]
    assert pair["copy"] == "rewrite.txt"
    assert pair["direction_by"] == ("dates" if dated else "position")
    words = say(pair["phrase"], pair["a"], pair["b"])
    assert words.startswith("rewrite.txt abridges original.txt (holds ")
    original = next(d for d in data["documents"] if d["id"] == "original.txt")
    assert original["role"] == "source"
    # The original's headline and the paragraphs the rewrite dropped are its own, never a wrapper.
    assert "wrapper" not in {p["label"] for p in original["paragraphs"]}
    assert original["paragraphs"][0]["label"] == "original"


def test_wrapped_copy_still_names_the_wrapped_text(tmp_path: Path) -> None:
    data = dedup.scan(SEEDS).to_dict()
    [cluster] = data["clusters"]
    assert cluster["source"].startswith("001_") and cluster["source_known"] is True
    [pair] = data["pairs"]
    assert pair["copy"].startswith("000_")
    assert say(pair["phrase"], pair["a"], pair["b"]) == f"{pair['copy']} wraps {cluster['source']}"


def test_direction_unknown_is_said(tmp_path: Path) -> None:
    """Two papers' versions of one story, each with a sentence of its own in the same place and no dates:
    nothing says which came first."""
    paras = _story()[:10]
    one = [*paras[:5], "The first paper's own sentence stands right here in the middle of the story today.", *paras[5:]]
    two = [*paras[:5], "A second paper wrote its very own different sentence in this place, to be sure.", *paras[5:]]
    (tmp_path / "one.txt").write_text("\n\n".join(one), encoding="utf-8")
    (tmp_path / "two.txt").write_text("\n\n".join(two), encoding="utf-8")
    data = dedup.scan(tmp_path).to_dict()
    [cluster] = data["clusters"]
    assert cluster["source_known"] is False
    [pair] = data["pairs"]
    assert pair["copy"] is None and pair["direction_by"] is None
    assert "direction unknown" in pair["phrase"]


def test_dates_decide_at_their_precision() -> None:
    day, morning, next_day = parse_when("2024-03-03"), parse_when("2024-03-03T09:30:00"), parse_when("2024-03-04")
    assert compare_dates(day, morning) == 0  # a date without a time and a time that day
    assert compare_dates(day, next_day) == -1 and compare_dates(next_day, day) == 1
    assert compare_dates(morning, parse_when("2024-03-03T10:00:00")) == -1
    # A time with a zone against one without: only more than a time zone's difference decides.
    assert compare_dates(parse_when("2024-03-03T09:00:00+00:00"), parse_when("2024-03-03T12:00:00")) == 0
    assert compare_dates(parse_when("2024-03-01T09:00:00+00:00"), parse_when("2024-03-03T12:00:00")) == -1
    assert compare_dates(None, day) == 0 and parse_when("not a date") is None


def test_position_reads_wrappers_and_abridgements() -> None:
    # (shared, head, inner, tail, tail_related): a wraps b in a headline, intro and promo footer
    wrapper, story = np.array([300, 60, 0, 50, 0]), np.array([300, 0, 0, 0, 0])
    assert position_direction(wrapper, story, 0.95) == (1, 1.0)
    # a holds paragraphs b dropped, between the passages they share: b abridged a
    assert position_direction(np.array([300, 5, 120, 0, 0]), np.array([300, 5, 10, 0, 0]), 0.9)[0] == -1
    # one edge only, or too little of one side in the other: no decision
    assert position_direction(np.array([300, 90, 0, 0, 0]), story, 0.95) == (0, 0.0)
    assert position_direction(wrapper, story, 0.5) == (0, 0.0)


def test_phrases() -> None:
    assert phrase("contains", 1, 0.55, 0.88) == "a wraps b"
    assert phrase("contains", -1, 0.4, 0.9) == "b abridges a (holds 40 % of it)"
    assert phrase("contains", 1, 0.9, 0.75) == "a abridges b (holds 75 % of it)"
    assert phrase("contains", 0, 0.4, 0.9) == "a contains b (direction unknown)"
    assert phrase("near-duplicate", -1, 0.9, 0.92) == "b copies a"
    assert phrase("partial", 0, 0.3, 0.2) == "a and b share passages"
    assert say("b abridges a (holds 40 % of it)", "x.txt", "y.txt") == "y.txt abridges x.txt (holds 40 % of it)"


_DATES = st.one_of(
    st.none(),
    st.dates(min_value=date(2024, 3, 1), max_value=date(2024, 3, 4)).map(lambda d: d.isoformat()),
    st.datetimes(min_value=datetime(2024, 3, 1), max_value=datetime(2024, 3, 4)).map(
        lambda t: t.replace(microsecond=0).isoformat()
    ),
)


@settings(max_examples=100, deadline=None)
@given(
    dates=st.lists(_DATES, min_size=2, max_size=6),
    features=st.data(),
)
def test_an_earlier_member_is_never_a_copy_of_a_later_one(dates: list[str | None], features: st.DataObject) -> None:
    """Whatever the text says (random position features, random excerpts), a pair whose dates differ at
    their precision points from the later to the earlier, and no cluster's source is dated after another
    member."""
    n = len(dates)
    a, b = np.triu_indices(n, 1)
    feature = st.lists(st.integers(0, 400), min_size=4, max_size=4).map(lambda v: np.array([300, *v[:3], 0.0]))
    fa = np.stack([features.draw(feature) for _ in a])
    fb = np.stack([features.draw(feature) for _ in a])
    excerpt = np.array(features.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    held = np.full(len(a), 0.9)
    d = pair_directions(a, b, np.ones(len(a), dtype=bool), dates, excerpt, fa, fb, held)
    whens = [parse_when(x) for x in dates]
    for p in range(len(a)):
        order = compare_dates(whens[a[p]], whens[b[p]])
        if order:
            assert d.copies[p] == order and DIRECTION_BY[d.by[p]] == "dates"
    ranked = [features.draw(st.permutations(list(range(n))))]
    sources, _ = cluster_sources([list(range(n))], ranked, np.arange(n), a, b, d, dates)
    assert not any(compare_dates(whens[sources[0]], whens[m]) > 0 for m in range(n))


def test_duplicates_vote_once() -> None:
    """Two copies of one text (one label in ``same_text``) that both wrap the original are one member."""
    a, b = np.array([0, 1, 0]), np.array([2, 2, 1])
    d = Direction(np.array([1, 1, 0], dtype=np.int8), np.array([1.0, 1.0, 0.0]), np.array([2, 2, 3], dtype=np.int8))
    sources, known = cluster_sources([[0, 1, 2]], [[0, 1, 2]], np.array([0, 0, 2]), a, b, d, [None] * 3)
    assert sources == [2] and known == [True]


def test_dates_come_from_every_reader(tmp_path: Path) -> None:
    """Front matter (any date key, RFC 2822 too), HTML meta and JSON-LD (``dateCreated`` when no
    ``datePublished``), CSV and JSON-lines columns under their usual names all give the article's date."""
    body = " ".join(_story()[:2])
    (tmp_path / "front.md").write_text(f"---\npublished_at: Tue, 05 Mar 2024 10:00:00 +0000\n---\n{body}\n")
    meta = '<meta name="citation_publication_date" content="2024-03-06">'
    (tmp_path / "meta.html").write_text(f"<html><head>{meta}</head><body><p>{body}</p></body></html>")
    ld = json.dumps({"@type": "NewsArticle", "dateCreated": "2024-03-07T08:00:00Z"})
    (tmp_path / "ld.html").write_text(
        f'<html><head><script type="application/ld+json">{ld}</script></head><body><p>{body}</p></body></html>'
    )
    (tmp_path / "rows.csv").write_text(f'id,publish_date,text\nr1,2024-03-08,"{body}"\n')
    (tmp_path / "rows.jsonl").write_text(json.dumps({"id": "j1", "date_published": "2024-03-09", "text": body}) + "\n")
    dates = {d["id"]: d["date"] for d in dedup.scan(tmp_path).to_dict()["documents"]}
    assert dates == {
        "front.md": "2024-03-05T10:00:00+00:00",
        "meta.html": "2024-03-06T00:00:00",
        "ld.html": "2024-03-07T08:00:00+00:00",
        "rows.csv#r1": "2024-03-08T00:00:00",
        "rows.jsonl#j1": "2024-03-09T00:00:00",
    }


def test_direction_corpus_with_dates_names_every_original(tmp_path: Path) -> None:
    """The direction benchmark's corpus (real text; each kind of copy once) with dates: every family's original
    is its cluster's source, and no source is dated after another member."""
    from benchmarks.corpora.direction import KINDS, generate
    from benchmarks.scoring.direction import score

    truth = generate(tmp_path, families=len(KINDS), seed=3, variant="dated", fillers=3)
    scored = score(truth, dedup.scan(tmp_path).to_dict())
    assert scored["source_accuracy"] == 1.0 and scored["sources_dated_after_a_member"] == 0
    assert all(k["families"] == 1 for k in scored["kinds"].values())


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 40), max_size=60),
    st.lists(st.integers(0, 40), max_size=60),
    st.sampled_from([np.uint64, np.int64]),
)
def test_held_in_is_isin(values, pool, dtype):
    """The position features' membership test (a sort and a binary search) answers as ``np.isin`` does:
    duplicates, empty sides and values past either end of the pool included."""
    from dedup.direction import _held_in

    v, p = np.asarray(values, dtype=dtype), np.asarray(pool, dtype=dtype)
    assert _held_in(v, p).tolist() == np.isin(v, p).tolist()
