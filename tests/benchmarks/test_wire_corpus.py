"""The wire-reuse development corpus (benchmarks.corpora.wire) and its scorer (benchmarks.scoring.wire_accuracy)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.corpora import wire
from benchmarks.scoring import wire_accuracy

pytestmark = pytest.mark.slow  # generates and scans whole corpora

FAMILIES = 8


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(folder).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("wire") / "corpus"
    return folder, wire.generate(folder, FAMILIES, seed=3)


def _article(folder: Path, name: str, doc: dict) -> str:
    text = (folder / name).read_text(encoding="utf-8")
    return "\n\n".join(text[p["start"] : p["end"]] for p in doc["paragraphs"] if p["kind"] != "template")


def test_same_seed_same_bytes(corpus, tmp_path):
    folder, _ = corpus
    again = tmp_path / "again"
    wire.generate(again, FAMILIES, seed=3)
    assert _digest(again) == _digest(folder)
    other = tmp_path / "other"
    wire.generate(other, FAMILIES, seed=4)
    assert _digest(other) != _digest(folder)


def test_truth_matches_files(corpus):
    folder, truth = corpus
    docs = truth["documents"]
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*.txt")}
    assert on_disk == set(docs)
    for name, d in docs.items():
        text = (folder / name).read_text(encoding="utf-8")
        assert text.startswith("---\ndate: ")
        for p in d["paragraphs"]:
            para = text[p["start"] : p["end"]]
            assert para and para == para.strip() and "\n" not in para
        assert name.split("/")[0] == d["site"]
    roles = {d["role"] for d in docs.values()}
    assert roles == set(wire.ROLES)
    for f in truth["families"]:
        assert 2 <= len(f["versions"]) <= 6 and 2 <= len(f["rewrites"]) <= 10
        assert docs[f["source"]]["role"] == "source" and f["source"] == f["versions"][0]
        dates = [docs[v]["date"] for v in f["versions"]]
        assert dates == sorted(dates) and all(docs[v]["site"] == wire.WIRE_DOMAIN for v in f["versions"])


def test_reuse_shares_are_exact_and_spread(corpus):
    folder, truth = corpus
    docs = truth["documents"]
    derived = {n: d for n, d in docs.items() if d["role"] in ("rewrite", "short")}
    # Recompute one family's shares from the files with dedup's tokenisation.
    fam = truth["families"][0]
    names = fam["versions"] + fam["rewrites"] + fam["shorts"]
    sets = wire._shingle_sets([_article(folder, n, docs[n]) for n in names])
    union = np.unique(np.concatenate(sets[: len(fam["versions"])]))
    for name, s in zip(names[len(fam["versions"]) :], sets[len(fam["versions"]) :], strict=True):
        assert docs[name]["reuse"] == pytest.approx(np.isin(s, union).mean(), abs=1e-4)
    buckets = {wire.share_bucket(d["reuse"]) for d in derived.values()}
    assert {"40-60%", "60-80%", ">=80%"} <= buckets
    lengths = {wire.length_bucket(d["words"]) for d in derived.values() if d["reuse"] >= wire.REUSE_MIN}
    assert lengths == {"<150", "150-400", ">400"}
    shorts = [d for d in derived.values() if d["role"] == "short"]
    assert shorts and all(60 <= d["words"] <= 200 for d in shorts)
    assert all(0.3 <= d["reuse"] <= 0.8 for d in shorts)
    positives = {p["a"] for p in truth["positives"]}
    assert positives == {n for n, d in derived.items() if d["reuse"] >= wire.REUSE_MIN}
    assert truth["cross_family_max_shared_shingles"] < 50  # no accidental shared passage across families


def test_same_event_shares_only_the_quotation(corpus):
    folder, truth = corpus
    docs = truth["documents"]
    for f in truth["families"]:
        (name,) = f["same_event"]
        text = (folder / name).read_text(encoding="utf-8")
        source = (folder / f["source"]).read_text(encoding="utf-8")
        assert text.count(f["quote"]) == 1 and f["quote"] in source
        quotes = [p for p in docs[name]["paragraphs"] if p["kind"] == "quote"]
        assert [text[p["start"] : p["end"]] for p in quotes] == [f["quote"]]
        assert any(n in text for n in f["names"]) or not f["names"]
        assert docs[name]["reuse"] < 0.15
        assert name not in {p["a"] for p in truth["positives"]}


def test_generate_refuses_foreign_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError):
        wire.generate(tmp_path, 1, seed=0)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_scorer_end_to_end(corpus, tmp_path):
    folder, truth = corpus
    out = tmp_path / "m.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.scoring.wire_accuracy", "--dir", str(folder), "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "derived stories" in proc.stdout
    m = json.loads(out.read_text(encoding="utf-8"))
    assert m["git"]["commit"] is None or len(m["git"]["commit"]) == 40
    metrics = m["metrics"]
    for key in ("derived", "versions", "pairs", "same_event", "source", "paragraphs", "baseline"):
        assert key in metrics
    for group in ("all", "share 40-60%", "share 60-80%", "share >=80%", "words <150", "words 150-400", "words >400"):
        assert set(metrics["derived"][group]) == {"n", "paired", "paired_linking", "clustered"}
    assert metrics["derived"]["all"]["n"] == len(truth["positives"])
    assert {"precision", "same_event", "template", "other"} <= set(metrics["pairs"])
    assert {"first_take", "any_version"} <= set(metrics["source"])
    assert {"story_boilerplate_share", "boilerplate"} <= set(metrics["paragraphs"])


def test_perfect_result_scores_perfectly(corpus):
    _, truth = corpus
    docs = truth["documents"]
    pairs = [{"a": p["a"], "b": p["b"], "relation": "contains"} for p in truth["positives"]]
    pairs += [{"a": p["a"], "b": p["b"], "relation": "near-duplicate"} for p in truth["version_pairs"]]
    clusters = [
        {"id": f["id"], "source": f["source"], "members": f["versions"] + f["rewrites"] + f["shorts"]}
        for f in truth["families"]
    ]
    labels = {"template": "boilerplate", "story": "syndicated"}
    documents = [
        {"id": n, "paragraphs": [{**p, "label": labels.get(p["kind"], "original")} for p in d["paragraphs"]]}
        for n, d in docs.items()
    ]
    m = wire_accuracy.score(truth, {"documents": documents, "clusters": clusters, "pairs": pairs})
    assert m["derived"]["all"]["paired"] == 1.0 and m["derived"]["all"]["clustered"] == 1.0
    assert m["pairs"]["precision"] == 1.0 and m["same_event"]["pairs_with_family"] == 0
    assert m["source"]["first_take"] == 1.0
    assert m["paragraphs"]["story_boilerplate_share"] == 0.0 and m["paragraphs"]["boilerplate"]["f1"] == 1.0
    # A same-event pair and a template-only pair are counted as such.
    fam = truth["families"][0]
    extra = [{"a": fam["same_event"][0], "b": fam["source"], "relation": "partial"}]
    by_site: dict[str, list[str]] = {}
    for n, d in docs.items():
        by_site.setdefault(d["site"], []).append(n)
    a, b = next(
        (x, y) for names in by_site.values() for x in names for y in names if docs[x]["family"] != docs[y]["family"]
    )
    extra.append({"a": a, "b": b, "relation": "partial"})
    m = wire_accuracy.score(truth, {"documents": documents, "clusters": clusters, "pairs": pairs + extra})
    assert m["pairs"]["same_event"] == 1 and m["pairs"]["template"] == 1 and m["pairs"]["precision"] < 1.0


def test_cli_errors_are_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.scoring.wire_accuracy", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
