"""``exact`` means literally the same text again: equal after NFKC, case, white space and typographic quotes,
not after the OCR fold. Two copies that differ by one letter OCR confuses ("man"/"men") are near-duplicates
(still paired: shingles stay OCR-folded), and every command says the same relation (scan, query, diff)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dedup.options import FEATURES_VERSION

ROOT = Path(__file__).resolve().parents[2]
AEB = json.loads((ROOT / "benchmarks/data/aeb/ground-truth.json").read_text(encoding="utf-8"))


def _paragraphs() -> list[str]:
    """A real article body (aeb, MIT) of 300-700 words, ASCII, as paragraphs."""
    for key in sorted(AEB):
        body = AEB[key]["articleBody"]
        paras = [p.strip() for p in body.split("\n") if len(p.split()) >= 15]
        if body.isascii() and 300 <= sum(len(p.split()) for p in paras) <= 700 and len(paras) >= 5:
            return paras
    raise AssertionError("no aeb body long enough")


def _cli(*args: str | Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "dedup", *map(str, args), "--format", "json", "--no-progress"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    paras = _paragraphs()
    said = 'Then the man said "we will be back next year," and he left the hall.'
    original = [*paras[:3], said, *paras[3:]]
    root = tmp_path_factory.mktemp("exact")
    (root / "original.txt").write_text("\n\n".join(original) + "\n")
    men = [p.replace("the man said", "the men said") for p in original]
    (root / "men.txt").write_text("\n\n".join(men) + "\n")
    # The same text in other case, spacing and quotes: still literally the same words.
    restyled = [p.upper() if i == 1 else p for i, p in enumerate(original)]
    restyled = [p.replace('"we', "\u201cwe").replace('year,"', "year,\u201d").replace(" ", "  ") for p in restyled]
    (root / "restyled.txt").write_text("\n\n\n".join(restyled) + "\n")
    return root


def _relations(pairs: list[dict]) -> dict[frozenset, str]:
    return {frozenset((Path(p["a"]).name, Path(p["b"]).name)): p["relation"] for p in pairs}


EXPECTED = {
    frozenset({"original.txt", "men.txt"}): "near-duplicate",
    frozenset({"original.txt", "restyled.txt"}): "exact",
    frozenset({"men.txt", "restyled.txt"}): "near-duplicate",
}


def test_scan_says_exact_only_of_literally_the_same_text(folder):
    assert _relations(_cli("scan", folder)["pairs"]) == EXPECTED


def test_query_and_diff_say_what_the_scan_says(folder, tmp_path):
    """And an index written before (features 3) is refused, as the scan would disagree with it."""
    index = tmp_path / "index"
    add = subprocess.run(
        [sys.executable, "-m", "dedup", "index", "add", str(folder / "original.txt"), "--index", str(index), "-q"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert add.returncode == 0, add.stderr
    for name in ("men.txt", "restyled.txt"):
        expected = EXPECTED[frozenset({"original.txt", name})]
        queried = _relations(_cli("query", folder / name, "--index", index)["pairs"])
        assert queried == {frozenset({"original.txt", name}): expected}
        diffed = _cli("diff", folder / "original.txt", folder / name)
        assert diffed["relation"] == expected, diffed

    # An index written when the content hash was OCR-folded (features 3) would call "man"/"men" the same text
    # where a scan does not: it is refused in one line that says to add its articles again.
    manifest = json.loads((index / "index.json").read_text())
    manifest["params"]["features"] = 3
    (index / "index.json").write_text(json.dumps(manifest))
    run = subprocess.run(
        [sys.executable, "-m", "dedup", "query", str(folder / "men.txt"), "--index", str(index)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        f"dedup: error: {index}: index built by a dedup that read articles differently (features 3, this one "
        f"{FEATURES_VERSION}); add its articles again to a new index"
    ]
