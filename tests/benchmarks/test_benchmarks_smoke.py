"""Tiny runs of the benchmark generators and the throughput harness.

No timing assertions: these check the harness runs end to end and writes the
documented JSON, and that the corpora carry the properties they claim (the clean
corpus unchanged, recurring text really recurring across unrelated articles,
output independent of the worker count).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from benchmarks.corpora import adversarial, synth, wire
from benchmarks.scoring import wire_accuracy
from benchmarks.timing import candidates as candidates_bench
from benchmarks.timing import peers, throughput

pytestmark = pytest.mark.slow  # generates and scans whole corpora

ROOT = Path(__file__).resolve().parents[2]

# sha256 over (relative path, bytes) of every file of synth's first block (1,000 documents, seed 0),
# computed with synth.py as it was before recurring text existed (commit b1e001e).
CLEAN_BLOCK0_SEED0 = "51eca80431783386bcfdf3baceacd454056d499f4f82ee7de35c575e8ae461a9"


def _tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.txt")):
        h.update(str(p.relative_to(root)).encode())
        h.update(b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def test_throughput_harness_writes_expected_json(tmp_path):
    out = tmp_path / "results.json"
    args = ["--sizes", "300", "--json", str(out), "--workdir", str(tmp_path / "work"), "--sample", "300"]
    args += ["--ds-sample", "50", "--adversarial", "--mix-docs", "60", "--big-mb", "1"]
    results = throughput.main(args)
    data = json.loads(out.read_text())
    assert {"machine", "runs", "scaling", "k", "num_perm", "recurring", "recurrence", "adversarial"} <= data.keys()
    assert {"cores", "cpu", "ram_gb", "versions"} <= data["machine"].keys()
    clean, recurring = data["runs"]
    assert (clean["kind"], recurring["kind"]) == ("clean", "recurring")
    for run in (clean, recurring):
        assert run["docs"] == 300
        scan = run["scan"]
        assert "error" not in scan, scan
        assert {"seconds", "stages", "peak_rss_mb", "docs", "candidates", "candidates_per_doc", "pairs"} <= scan.keys()
        assert {"load_1min", "output_seconds", "passages", "paragraphs"} <= scan.keys()
        assert scan["docs"] == 300 and scan["stages"] and scan["peak_rss_mb"] > 0
        assert scan["candidates_per_doc"] == pytest.approx(scan["candidates"] / 300)
        peer = run["peer"]
        assert "error" not in peer, peer
        assert {"seconds", "stages", "peak_rss_mb", "docs", "pairs", "clusters"} <= peer.keys()
        assert peer["docs"] == 300 and peer["pairs"] > 0  # the copies are found
        assert {"scan_docs_per_s", "peer_docs_per_s", "scan_vs_peer_docs_per_s"} <= run["derived"].keys()
    # the existing parts stay: floor, text → signatures, the libraries (clean corpus)
    paths = clean["paths"]
    assert {"floor", "dedup_stream", "dedup_stream_1thread", "baselines", "peak_rss_mb"} <= paths.keys()
    assert {"dedup", "dedup_1thread", "rensa", "rensa_bulk", "datasketch"} <= paths["baselines"].keys()
    assert {"floor_mb_per_s", "baseline_ratios"} <= clean["derived"].keys()
    assert "paths" not in recurring
    assert recurring["corpus"]["recurrence"]["sentences"]["units"] > 0
    # the recurring corpus makes the scan consider more pairs per article than the clean one
    assert recurring["scan"]["candidates_per_doc"] > clean["scan"]["candidates_per_doc"]
    adv = data["adversarial"]
    assert adv["mix"]["corpus"]["docs"] == 60 and "seconds" in adv["mix"]["scan"] and "seconds" in adv["mix"]["peer"]
    assert adv["bigfile"]["corpus"]["bytes"] == pytest.approx(1e6, abs=2) and "peak_rss_mb" in adv["bigfile"]["scan"]
    assert results is not None
    # the harness deletes the corpora it generated in its own work folder
    assert not any((tmp_path / "work").glob("*/synth-*")) and not any((tmp_path / "work").glob("*/adversarial-*"))
    # --render prints the markdown tables of the file
    md = subprocess.run(
        [sys.executable, "-m", "benchmarks.timing.throughput", "--render", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "| dedup docs/s |" in md and "**dedup ÷ datasketch docs/s**" in md and "Adversarial" in md


def test_scaling_reports_growth_exponents_per_corpus():
    def run(kind, n, seconds, rss, cands, peer_s):
        return {
            "kind": kind,
            "docs": n,
            "scan": {"seconds": seconds, "peak_rss_mb": rss, "candidates_per_doc": cands, "stages": {"read": seconds}},
            "peer": {"seconds": peer_s, "peak_rss_mb": 100.0},
        }

    runs = [
        run("clean", 10_000, 10.0, 1000.0, 2.0, 5.0),
        run("recurring", 10_000, 20.0, 1000.0, 50.0, 5.0),
        run("clean", 100_000, 100.0, 1000.0, 2.0, 50.0),
        run("recurring", 100_000, 2000.0, 10_000.0, 500.0, 50.0),
    ]
    clean, recurring = throughput.scaling(runs)
    assert (clean["kind"], clean["from"], clean["to"]) == ("clean", 10_000, 100_000)
    assert clean["exponent"] == pytest.approx(1.0) and clean["rss_exponent"] == pytest.approx(0.0)
    assert recurring["exponent"] == pytest.approx(2.0) and recurring["rss_exponent"] == pytest.approx(1.0)
    assert recurring["candidates_per_doc_ratio"] == pytest.approx(10.0)
    assert recurring["stage_exponents"]["read"] == pytest.approx(2.0)
    assert recurring["peer_exponent"] == pytest.approx(1.0) and recurring["peer_rss_exponent"] == pytest.approx(0.0)


def test_clean_corpus_is_unchanged(tmp_path):
    """``recurring = 0`` writes the very bytes synth wrote before recurring text existed."""
    synth.generate_block(str(tmp_path / "c"), 0, synth.BLOCK, 0)
    assert _tree_hash(tmp_path / "c") == CLEAN_BLOCK0_SEED0


def test_recurring_sentences_recur_across_unrelated_articles(tmp_path):
    """Count, in the written files, the originals that carry each pooled sentence."""
    recurrence = 330.0  # 300 documents are 6% of an epoch: this gives ~20 originals per pooled sentence
    r = synth.generate_block(str(tmp_path / "c"), 0, 300, 0, recurring=0.5, recurrence=recurrence)
    originals = [doc for doc, src, kind in r["truth"] if doc == src]
    texts = {doc: (tmp_path / "c" / "0000" / f"{doc:08d}.txt").read_text(encoding="utf-8") for doc in originals}
    pool = synth._pool(0, 0, 0.5, recurrence)
    counts = [sum(s in t for t in texts.values()) for s in pool.sentences[:60]]
    counts = sorted(c for c in counts if c)
    # distinct originals (none a copy of another) share each pooled sentence, many times over
    assert len(counts) >= 50
    assert counts[len(counts) // 2] >= 10
    assert max(counts) >= 20
    # the generator's own count agrees with what is in the files
    stats = synth.recurrence_stats(Counter(r["used"]))
    assert stats["sentences"]["mean"] == pytest.approx(sum(counts) / len(counts), rel=0.3)
    # the most common stock phrase and a real aeb sentence are there verbatim
    top = next(iter(stats["stock_phrases"]))
    assert sum(top in t for t in texts.values()) >= 20
    real_sentences, _ = synth._real_units()
    assert set(pool.sentences) <= set(real_sentences)  # the first epochs use real sentences as they are


def test_fixed_pool_recurs_across_periods_with_8_to_20_paragraphs(tmp_path):
    """The fixed pool is one for the whole corpus: blocks far apart (other periods of the epoch pool) draw
    the same real sentences, so their holders grow with n; originals have 8-20 paragraphs of their own
    (a pooled or boilerplate paragraph may add one)."""
    used, counts = {}, []
    for block in (0, 2 * synth.EPOCH_BLOCKS):
        r = synth.generate_block(str(tmp_path / "f"), block, 150, 0, recurring=0.5, pool_kind="fixed")
        used[block] = {u for u in r["used"] if u.startswith("s:")}
        for doc, src, kind in r["truth"]:
            if doc == src and kind == "original":
                text = (tmp_path / "f" / f"{block:04d}" / f"{doc:08d}.txt").read_text(encoding="utf-8")
                counts.append(len([p for p in text.split("---\n", 2)[2].split("\n\n") if p.strip()]) - 1)
    assert sum(8 <= c <= 21 for c in counts) >= 0.85 * len(counts)
    assert len(used[0] & used[2 * synth.EPOCH_BLOCKS]) >= 100
    assert synth._fixed_pool(0, 0.5).sentences[0] in synth._real_units()[0]
    with pytest.raises(ValueError):
        synth.generate_stream(tmp_path / "x", 5, recurring=0.5, pool="weekly")


def test_recurring_corpus_hits_the_default_recurrence(tmp_path):
    """At the default rate each pooled sentence is in ~50 unrelated originals (one full epoch)."""
    summary = synth.generate_stream(tmp_path / "c", 5000, seed=1, workers=2, recurring=synth.DEFAULT_RECURRING)
    sentences = summary["recurrence"]["sentences"]
    assert 40 <= sentences["mean"] <= 60 and sentences["p10"] >= 30
    assert 40 <= summary["recurrence"]["paragraphs"]["mean"] <= 60
    assert summary["kinds"].get("long", 0) >= 1 and summary["kinds"].get("version", 0) >= 1


def test_reused_sentences_share_no_five_words():
    """Past the real supply a sentence is reused reworded: no word 5-gram in common with its other uses."""
    sentences, _ = synth._real_units()
    real = synth._model()["real"]
    text = max(sentences[:50], key=len)
    variants = [synth._reworded(text, g, np.random.default_rng(g), real) for g in range(4)]

    def grams(t):
        w = t.split()
        return {tuple(w[i : i + 5]) for i in range(len(w) - 4)}

    for i in range(4):
        for j in range(i + 1, 4):
            assert not grams(variants[i]) & grams(variants[j])


def test_recurring_corpus_independent_of_workers(tmp_path):
    a = synth.generate_stream(tmp_path / "a", 2100, seed=2, workers=1, recurring=0.5)
    b = synth.generate_stream(tmp_path / "b", 2100, seed=2, workers=2, recurring=0.5)
    assert a["bytes"] == b["bytes"] and a["recurrence"] == b["recurrence"]
    assert _tree_hash(tmp_path / "a") == _tree_hash(tmp_path / "b")


def test_synth_is_deterministic(tmp_path):
    a = synth.generate_stream(tmp_path / "a", 50, seed=3, workers=1)
    b = synth.generate_stream(tmp_path / "b", 50, seed=3, workers=1)
    assert a["bytes"] == b["bytes"] and a["kinds"] == b["kinds"]
    assert len(list((tmp_path / "a").rglob("*.txt"))) == 50
    assert _tree_hash(tmp_path / "a") == _tree_hash(tmp_path / "b")


def test_synth_refuses_a_non_empty_folder_and_bad_rates(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        synth.generate_stream(tmp_path / "x", 5)
    with pytest.raises(ValueError):
        synth.generate_stream(tmp_path / "y", 5, recurring=1.5)
    cli = [sys.executable, "-m", "benchmarks.corpora.synth", str(tmp_path / "x"), "--docs", "5"]
    p = subprocess.run(cli, cwd=ROOT, capture_output=True, text=True)
    assert p.returncode != 0 and "Traceback" not in p.stderr and "not empty" in p.stderr


def test_match_steps_on_a_kept_store(tmp_path, capsys):
    from benchmarks.timing import match_steps

    match_steps.main(["store", str(Path(__file__).parents[2] / "seeds"), str(tmp_path / "store")])
    match_steps.main(["match", str(tmp_path / "store"), "--json", str(tmp_path / "m.json")])
    out = json.loads((tmp_path / "m.json").read_text())
    assert out["docs"] == 5 and out["pairs"] == 1
    assert set(out["steps_wall_cpu"]) == {"posting_lists", "pair_evidence", "verify", "boilerplate", "cluster"}
    assert out["partition_lists"] >= out["lists"] > 0
    # Traced: the same result (its digest), with where the memory went.
    match_steps.main(["match", str(tmp_path / "store"), "--trace", "alloc", "--json", str(tmp_path / "t.json")])
    traced = json.loads((tmp_path / "t.json").read_text())
    assert traced["result_sha256"] == out["result_sha256"] and traced["pairs"] == 1
    trace = traced["trace"]
    assert trace["max_anon_mb"] > 0 and set(trace["traced_peak_mb_by_step"]) == set(out["steps_wall_cpu"])


def test_adversarial_mix_and_bigfile(tmp_path):
    summary = adversarial.mix(tmp_path / "mix", docs=40)
    files = sorted((tmp_path / "mix").glob("*.txt"))
    assert len(files) == 40 and summary["bytes"] == sum(f.stat().st_size for f in files)
    paras = [f.read_text(encoding="utf-8").split("\n\n")[1:] for f in files]
    assert all(len(p) == 30 for p in paras)
    shared = {x.strip() for p in paras for x in p}
    assert len(shared) == 60  # the same 60 real paragraphs, 30 in each, each article in its own order
    assert len({tuple(p) for p in paras}) == 40
    big = adversarial.bigfile(tmp_path / "big", mb=0.5)
    (f,) = (tmp_path / "big").iterdir()
    assert f.stat().st_size == big["bytes"] and abs(big["bytes"] - 500_000) <= 4
    f.read_text(encoding="utf-8")  # valid UTF-8 to the last byte
    cli = [sys.executable, "-m", "benchmarks.corpora.adversarial", "mix", str(tmp_path / "mix"), "--docs", "3"]
    p = subprocess.run(cli, cwd=ROOT, capture_output=True, text=True)
    assert p.returncode != 0 and "Traceback" not in p.stderr and "not empty" in p.stderr


# --------------------------------------------------------------------------- plain folders (issue 19)

_HEX_NAME = re.compile(r"[0-9a-f]{12}\.txt")


def _docs_on_disk(folder: Path) -> dict[str, str]:
    from benchmarks.corpora.layouts import read_written

    return {p.name: read_written(p) for p in sorted(folder.iterdir()) if p.name != "truth.json"}


def _assert_plain(folder: Path, layout: str) -> dict[str, str]:
    """Flat, random names, no metadata; wrapped: Windows-1252, CRLF, lines of at most 72 columns."""
    assert all(p.is_file() for p in folder.iterdir())
    texts = _docs_on_disk(folder)
    assert texts and all(_HEX_NAME.fullmatch(n) for n in texts)
    for name, text in texts.items():
        assert not text.startswith("---"), name
        assert not re.search(r"(?m)^(url|site|date|title):", text), name
        if layout == "wrapped":
            (folder / name).read_bytes().decode("cp1252")  # written in Windows-1252
            assert "\n" not in text.replace("\r\n", ""), name
            assert max(len(line.expandtabs(8)) for line in text.split("\r\n")) <= 72, name
        else:
            assert "\r" not in text, name
    return texts


def _norm(s: str) -> str:
    return " ".join(s.split()).encode("cp1252", "replace").decode("cp1252")


@pytest.mark.parametrize("layout", ["plain", "wrapped"])
def test_wire_layouts_write_the_same_documents_without_metadata(tmp_path, layout):
    meta = wire.generate(tmp_path / "meta", 2, seed=5)
    truth = wire.generate(tmp_path / layout, 2, seed=5, layout=layout)
    assert truth["layout"] == layout and meta["layout"] == "meta"
    assert any((tmp_path / "meta" / n).read_text(encoding="utf-8").startswith("---\ndate:") for n in meta["documents"])
    texts = _assert_plain(tmp_path / layout, layout)
    assert set(texts) == set(truth["documents"])
    # Same documents: the same roles, and the same paragraphs (up to whitespace) in the same kinds.
    assert Counter(d["role"] for d in truth["documents"].values()) == Counter(
        d["role"] for d in meta["documents"].values()
    )

    def paragraphs(t: dict, folder: Path, read) -> Counter:
        out: Counter = Counter()
        for name, d in t["documents"].items():
            text = read(folder / name)
            for p in d["paragraphs"]:
                piece = text[p["start"] : p["end"]]
                assert piece and piece == piece.strip(), (name, p)
                out[(p["kind"], _norm(piece))] += 1
        return out

    from benchmarks.corpora.layouts import read_written

    assert paragraphs(truth, tmp_path / layout, read_written) == paragraphs(meta, tmp_path / "meta", read_written)
    # Positives and families name the new files.
    assert all(p["a"] in texts and p["b"] in texts for p in truth["positives"])
    assert all(v in texts for f in truth["families"] for v in f["versions"])


def test_wire_accuracy_scores_layouts_side_by_side(tmp_path, capsys):
    out = tmp_path / "wire.json"
    code = wire_accuracy.main(["--families", "2", "--seed", "1", "--layouts", "meta,plain,wrapped", "--json", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["layouts"] == ["meta", "plain", "wrapped"]
    assert set(data["metrics"]) == {"meta", "plain", "wrapped"} == set(data["timings"])
    for m in data["metrics"].values():
        assert {"derived", "versions", "pairs", "same_event", "source", "paragraphs", "baseline"} <= m.keys()
        assert m["derived"]["all"]["n"] == data["metrics"]["meta"]["derived"]["all"]["n"]
    assert "wire reuse by layout" in capsys.readouterr().out
    assert wire_accuracy.main(["--layouts", "meta,bogus"]) == 2


def test_many_copies_corpus_and_scorer(tmp_path):
    from benchmarks.scoring import many_copies

    truth = many_copies.generate(tmp_path / "c", cases=2, seed=0)
    texts = _assert_plain(tmp_path / "c", "plain")
    docs = truth["documents"]
    for case in truth["cases"]:
        assert 3 <= len(case["derivatives"]) <= 50
        assert docs[case["source"]]["role"] == "source" and docs[case["source"]]["share"] == 1.0
        # The one shared quotation, verbatim, in the source and every independent text of the case.
        for name in [case["source"], *case["independent"]]:
            assert case["quote"] in " ".join(texts[name].split())
        for name in case["independent"]:
            assert docs[name]["share"] < 0.2
    shares = {c: [d["share"] for d in docs.values() if d["category"] == c] for c in many_copies.CATEGORIES}
    assert min(shares["cut-paste"]) >= 0.5 and max(shares["heavy"]) < min(shares["cut-paste"])
    # Long pages hold a verbatim excerpt of each of their cases' sources.
    assert truth["digests"]
    for g in truth["digests"]:
        assert docs[g["name"]]["role"] == "digest" and docs[g["name"]]["words"] >= 1000
        assert docs[g["name"]]["cases"] == g["cases"] and min(g["source_share"]) >= 0.2
    # Stock lines recur verbatim in several unrelated documents.
    assert any(sum(s in " ".join(t.split()) for t in texts.values()) >= 2 for s in truth["stock_lines"])
    for name, d in docs.items():
        for p in d["paragraphs"]:
            assert texts[name][p["start"] : p["end"]].strip() == texts[name][p["start"] : p["end"]] != ""

    out = tmp_path / "many.json"
    assert many_copies.main(["--cases", "1", "--seed", "2", "--layouts", "plain,meta", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    for m in data["metrics"].values():
        assert {*many_copies.GROUPS, "independent", "pairs"} <= m["dedup"].keys()
        assert set(m["datasketch"]["thresholds"]) == {f"{t:.1f}" for t in many_copies.THRESHOLDS}
        assert m["datasketch"]["best"]["all"]["threshold"] in many_copies.THRESHOLDS


def test_press_release_corpus_and_scorer(tmp_path):
    from benchmarks.corpora.press_release import SHARE_MIN
    from benchmarks.corpora.wire import word_grams, word_tokens
    from benchmarks.scoring import press_release

    truth = press_release.generate(tmp_path / "p", releases=3, seed=0, layout="wrapped")
    texts = _assert_plain(tmp_path / "p", "wrapped")
    docs = truth["documents"]
    for r in truth["releases"]:
        assert 3 <= len(r["copies"]) <= 10
        assert len({docs[c]["site"] for c in r["copies"]}) == len(r["copies"])  # distinct sites

    def part(name: str, kinds: tuple[str, ...]) -> list[str]:
        t = texts[name]
        return [" ".join(t[p["start"] : p["end"]].split()) for p in docs[name]["paragraphs"] if p["kind"] in kinds]

    # A site's template lines recur on its unrelated articles too.
    by_site: dict[str, set[str]] = {}
    for name, d in docs.items():
        if d["role"] == "article":
            by_site.setdefault(d["site"], set()).update(part(name, ("template",)))
    copy = truth["releases"][0]["copies"][0]
    assert set(part(copy, ("template",))) <= by_site.get(docs[copy]["site"], set()) or docs[copy]["site"] not in by_site
    assert any(by_site.values())
    # The positives' share, measured again from the written text outside the template.
    kinds = ("headline", "release", "about", "own")
    for p in truth["positives"]:
        ga, gb = (word_grams(word_tokens("\n".join(part(n, kinds)))) for n in (p["a"], p["b"]))
        assert len(ga & gb) / min(len(ga), len(gb)) >= SHARE_MIN - 0.02

    out = tmp_path / "press.json"
    args = ["--releases", "2", "--seed", "1", "--layouts", "plain", "--diff-sample", "1", "--json", str(out)]
    assert press_release.main(args) == 0
    data = json.loads(out.read_text())
    for m in data["metrics"].values():
        assert {"recall", "precision", "positives", "paragraph_labels"} <= m["score"].keys()
        assert m["diff"]["sample"] == 1 and m["diff"]["pairs"][0]["alone"] in (
            "exact",
            "near-duplicate",
            "contains",
            "partial",
            "none",
        )


def test_accuracy_corpus_layouts(tmp_path):
    from benchmarks.corpora import corpus
    from benchmarks.corpora.layouts import read_written
    from benchmarks.scoring import accuracy

    plain = corpus.generate(tmp_path / "plain", 40, seed=4)
    assert "layout" not in plain  # the default corpus is written as it always was
    for layout in ("meta", "wrapped"):
        truth = corpus.generate(tmp_path / layout, 40, seed=4, layout=layout)
        assert truth["layout"] == layout and corpus.check_corpus(tmp_path / layout) == []
        for name, doc in truth["documents"].items():
            text, before = read_written(tmp_path / layout / name), read_written(tmp_path / "plain" / name)
            if layout == "meta":
                assert re.match(r"---\ndate: \S+\nsite: \S+\nurl: https://\S+\n---\n", text), name
            else:
                assert "\n" not in text.replace("\r\n", "")
                assert all(len(line) <= 72 or " " not in line for line in text.split("\r\n")), name
            for p, q in zip(doc["paragraphs"], plain["documents"][name]["paragraphs"], strict=True):
                assert p["label"] == q["label"]
                assert " ".join(text[p["start"] : p["end"]].split()) == " ".join(before[q["start"] : q["end"]].split())
        for s in truth["spans"]:
            a = read_written(tmp_path / layout / s["a"])[s["a_start"] : s["a_end"]]
            assert a and a == a.strip()
    out = tmp_path / "acc.json"
    assert accuracy.main(["--docs", "40", "--seed", "4", "--layouts", "plain,wrapped", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["layouts"] == ["plain", "wrapped"] and set(data["metrics"]) == {"plain", "wrapped"}
    assert all({"pairs", "clusters", "paragraphs", "passages"} <= m.keys() for m in data["metrics"].values())


def test_candidates_bench_tiny_run(tmp_path):
    """Both modes on the three corpora: the exact mode is its own reference, LSH proposes fewer candidates and
    finds a subset of its pairs (what it lists beyond them is ``extra``). On the recurring corpus the
    containment sample proposes pairs sharing stock text whose boilerplate LSH can miss (README, *Boilerplate in
    lsh mode*): a few such pairs (2 of 151 here) are listed there, never on the other corpora."""
    out = tmp_path / "candidates.json"
    args = ["--docs", "80", "--families", "4", "--recurring-docs", "400", "--modes", "exact,lsh"]
    assert candidates_bench.main([*args, "--work", str(tmp_path / "work"), "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert set(data) == {"accuracy", "wire", "recurring"}
    for name, rows in data.items():
        exact, lsh = rows
        assert (exact["mode"], lsh["mode"]) == ("exact", "lsh")
        assert exact["recall"]["all"] == 1.0
        assert lsh["candidates"] <= exact["candidates"]
        assert lsh["recall"]["extra"] == 0 or (name == "recurring" and lsh["recall"]["extra"] <= 0.02 * lsh["pairs"])
        assert lsh["banding_bytes_per_article"] > 0
        assert lsh["banding_scaled"]["scaled_articles"] == 30 * exact["articles"] or lsh["pairs"] == 0


def test_peers_tiny_run(tmp_path):
    """One round of the three whole commands, and of dedup with a reference checkout's code, on a tiny recurring
    corpus: each ran, dedup's phases come from its -v lines, the peers' from their own JSON, and the ratios are
    the rounds' own."""
    out = tmp_path / "peers.json"
    args = ["--docs", "60", "--runs", "1", "--corpora", "recurring", "--keep-corpus", str(tmp_path / "c")]
    data = peers.main([*args, "--json", str(out), "--reference", str(ROOT)])
    assert json.loads(out.read_text())["corpora"].keys() == data["corpora"].keys() == {"recurring 0k"}
    (run,) = data["corpora"]["recurring 0k"]["rounds"]
    assert all(run[tool]["exit"] == 0 and run[tool]["peak_rss_mb"] > 0 for tool in (*peers.TOOLS, peers.REFERENCE))
    assert {"read", "match", "align", "label"} <= run["dedup"]["phases"].keys()
    assert run["dedup"]["phases"].keys() == run[peers.REFERENCE]["phases"].keys()
    if sys.platform.startswith("linux"):  # each phase's CPU, and what is outside them, add up to wait4's at most
        cpu = run["dedup"]["phase_cpu"]
        assert {"read", "match", "align", "label", "start-up", "result and exit"} <= cpu.keys()
        assert all(p["user_s"] >= 0 and p["sys_s"] >= 0 and p["faults"] >= 0 for p in cpu.values())
        assert cpu["start-up"]["user_s"] > 0  # the interpreter and its imports
        parts = sum(p["user_s"] + p["sys_s"] for p in cpu.values())
        assert parts <= run["dedup"]["user_s"] + run["dedup"]["sys_s"] + 0.1
    assert "dedup-ref" in peers.render(data) and "; CPU read" in peers.render(data)
    assert {"read", "shingle", "sign", "lsh", "cluster"} == run["rensa"]["phases"].keys()
    summary = data["corpora"]["recurring 0k"]["summary"]
    assert summary["rensa"]["wall_ratio_to_dedup"]["all"] == [run["rensa"]["wall_s"] / run["dedup"]["wall_s"]]


def test_align_cpu_counts_the_steps_of_both_checkouts(capsys: pytest.CaptureFixture[str]) -> None:
    """``timing/align_cpu.py`` on the seeds, this checkout as its own reference: every round has both runs, each
    with its align and label steps counted from the checkout it names."""
    from benchmarks.timing import align_cpu

    result = align_cpu.main([str(ROOT / "seeds"), "--reference", str(ROOT), "--rounds", "1"])
    (round_,) = result["rounds"]
    for who in ("this", "reference"):
        steps = round_[who]["steps"]
        assert {"_align_batch", "_label_batch", "Batch", "_align_chunk"} <= set(steps)
        assert all(v >= 0 for v in steps.values()) and round_[who]["process_cpu_s"] > 0
    assert json.loads(capsys.readouterr().out)["median"]["this"].keys() == result["median"]["this"].keys()
