"""The noisy-corpus scorer (benchmarks.scoring.noise) at its smallest size, and the noisy corpora it writes."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from benchmarks.corpora import wire
from benchmarks.corpora.corpus import check_corpus, read_text
from benchmarks.corpora.noise import NOISED_ROLES
from benchmarks.scoring import noise as noise_scoring

pytestmark = pytest.mark.slow  # generates and scans whole corpora


def test_the_scorer_runs_and_reports_each_rate_beside_datasketch(tmp_path, capsys):
    out = tmp_path / "noise.json"
    argv = ["--docs", "30", "--families", "1", "--seeds", "0", "--rates", "0,5", "--thresholds", "0.3,0.5"]
    assert noise_scoring.main([*argv, "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["benchmark"] == "noise" and data["variant"] == "letters" and data["rates"] == [0.0, 0.05]
    for kind in ("accuracy", "wire"):
        clean, noisy = data["summary"][kind]["0"], data["summary"][kind]["5"]
        assert clean["letters_touched"] == 0 and 0.035 < noisy["letters_touched"] < 0.065
        for row in (clean, noisy):
            assert 0 <= row["pair_f1"] <= 1 and 0 <= row["baseline_best_f1"] <= 1
            assert set(row["baseline_best_thresholds"]) <= {0.3, 0.5}
        run = data["runs"][kind][1]
        assert set(run["baseline"]["thresholds"]) == {"0.3", "0.5"} and run["noise"]["documents"] > 0
    assert clean["pair_recall"] == 1.0  # the clean wire corpus: every derived story paired
    assert "wire corpus, letters" in capsys.readouterr().out
    assert noise_scoring.main(["--render", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| 5 % | 0.05" in table and table.count("| 0 % | 0.000 |") == 2
    assert noise_scoring.main(["--rates", "5,x"]) == 2
    assert "noise: error: --rates" in capsys.readouterr().err


def test_generate_writes_noisy_copies_with_their_truth_carried(tmp_path):
    argv = ["--generate", str(tmp_path), "--docs", "30", "--families", "1", "--seeds", "1", "--rates", "10"]
    assert noise_scoring.main([*argv, "--variant", "ocr-lines"]) == 0
    for kind in ("accuracy", "wire"):
        base = tmp_path / f"{kind}-seed1"
        clean, noisy = base / "clean", base / "ocr-lines-10"
        truth = json.loads((noisy / "truth.json").read_text())
        noised = 0
        for name, d in truth["documents"].items():
            same = (clean / name).read_bytes() == (noisy / name).read_bytes()
            assert same == (d["role"] not in NOISED_ROLES[kind]), name  # every copy noised, nothing else
            noised += not same
            text = read_text(noisy / name)
            for p in d["paragraphs"]:
                par = text[p["start"] : p["end"]]
                assert par and par == par.strip()
        assert noised == truth["noise"]["documents"] > 0
        assert truth["noise"]["ops"]["hyphenate"] > 0
    # the accuracy corpus's own check: only what noise must change (lines re-wrapped, copy and source
    # slices no longer equal at their ends) differs
    problems = Counter(re.sub(r"^.*?: |\s*\(.*", "", p) for p in check_corpus(tmp_path / "accuracy-seed1/ocr-lines-10"))
    assert set(problems) <= {"paragraph offsets do not match the text's lines", "copy and source slices differ"}
    assert wire.load_truth(tmp_path / "wire-seed1/ocr-lines-10")["noise"]["variant"] == "ocr-lines"
