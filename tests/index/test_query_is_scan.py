"""A query is the scan's phase 2 on a corpus of one: its answer is what a scan of the index plus the query
says of the query (issue 17), on random articles of a corpus with site templates, copies and rewrites."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from benchmarks.corpora.corpus import generate
from dedup import ScanOptions, scan
from dedup.index import open_index, service

OPTIONS = ScanOptions(workers=1)


def _pairs(data: dict, doc: str) -> dict[str, tuple]:
    """The pairs of ``doc``, by partner: relation, measures (oriented by id, as the scan orients), passages."""
    out = {}
    for p in data["pairs"]:
        if doc in (p["a"], p["b"]):
            other = p["b"] if p["a"] == doc else p["a"]
            out[other] = (p["a"], p["relation"], p["jaccard"], p["a_in_b"], p["b_in_a"], json.dumps(p["passages"]))
    return out


def _labels(data: dict, doc: str, indexed: bool | None = None) -> list[str]:
    docs = [d for d in data["documents"] if d["id"] == doc and d.get("indexed", False) == bool(indexed)]
    return [p["label"] for p in docs[0]["paragraphs"]]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    generate(root, 240, seed=3)
    (root / "truth.json").unlink()
    return root


@pytest.mark.slow
def test_query_answers_what_a_scan_of_index_and_query_says(corpus, tmp_path):
    files = sorted(corpus.glob("*.txt"))
    picked = random.Random(7).sample(files, 8)
    same_all = 0
    for k, q in enumerate(picked):
        rest = tmp_path / f"rest{k}"
        rest.mkdir()
        for f in files:
            if f != q:
                os.link(f, rest / f.name)
        index = open_index(str(tmp_path / f"ix{k}"), service.store_params(OPTIONS), create=True)
        service.add(index, [rest], OPTIONS)
        answer = service.query(index, [q], OPTIONS).to_dict()
        whole = scan(corpus, OPTIONS).to_dict()
        mine, theirs = _pairs(answer, q.name), _pairs(whole, q.name)
        # The same partners in the same relations, aligned the same way, always.
        assert {o: (v[0], v[1], v[5]) for o, v in mine.items()} == {o: (v[0], v[1], v[5]) for o, v in theirs.items()}
        # Measures within 0.03 of the scan's (a query sees the index through the neighbourhood of its text).
        for other, v in mine.items():
            close = all(abs(a - b) <= 0.03 for a, b in zip(v[2:5], theirs[other][2:5]))
            assert close, (q.name, other, v[:5], theirs[other][:5])
        same_all += mine == theirs and _labels(answer, q.name) == _labels(whole, q.name)
    # Measures and every paragraph's label (boilerplate included) exactly the scan's for nearly all of them.
    assert same_all >= len(picked) - 2, same_all


def _wire(root):
    from benchmarks.corpora.wire import generate as wire

    wire(root, 12, seed=1, layout="plain")


def _aeb(root):
    pages = sorted((Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "aeb" / "html").iterdir())
    root.mkdir(parents=True, exist_ok=True)
    for page in pages[:90]:
        os.link(page, root / page.name)


@pytest.mark.slow
@pytest.mark.parametrize("make", [_wire, _aeb], ids=["wire-plain", "aeb-pages"])
def test_each_query_against_the_rest_is_the_scan_of_everything(make, tmp_path):
    """On real-shaped corpora (agency stories and their rewrites; real news pages in their site chrome): one
    index of everything, each sampled article queried against the others (its own indexed copy left out, as
    the server's article page asks), answers what the scan of the whole folder says of it."""
    corpus = tmp_path / "corpus"
    make(corpus)
    for truth in corpus.rglob("truth*.json"):
        truth.unlink()
    whole = scan(corpus, OPTIONS).to_dict()
    index = open_index(str(tmp_path / "index"), service.store_params(OPTIONS), create=True)
    service.add(index, [corpus], OPTIONS)
    paired = sorted({p[k] for p in whole["pairs"] for k in ("a", "b")})
    assert paired, "a corpus with copies"
    articles, _ = service.read_sources([corpus], OPTIONS)
    rng = random.Random(5)
    picked = set(rng.sample(paired, min(6, len(paired))))
    picked |= set(rng.sample([a.id for a in articles if a.id not in paired], 2))
    for art in (a for a in articles if a.id in picked):
        answer = service.query_articles(index, [art], OPTIONS, exclude_same_id=True).to_dict()
        mine, theirs = _pairs(answer, art.id), _pairs(whole, art.id)
        assert {o: v[:2] for o, v in mine.items()} == {o: v[:2] for o, v in theirs.items()}, art.id
        for other, v in mine.items():
            assert all(abs(a - b) <= 0.03 for a, b in zip(v[2:5], theirs[other][2:5])), (art.id, other)
