"""Copies through OCR noise are found and aligned; independent articles on one event are not paired.

A copy whose letters went through OCR confusions and whose lines were hard-wrapped with hyphens shares few
exact word 5-grams with its source: it is paired from scattered shared shingles on one diagonal whose stretches
read alike (``align.chains``), and its passages cover the noisy story in both files. Two articles written
independently about one event, with the same names, the same quotations and the same list of places, share
dense runs and a list in the same order, not a text: they stay apart. Real files, the real command line.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.align import Side, _covered, chains
from dedup.options import AlignParams

ROOT = Path(__file__).resolve().parents[2]
AEB = json.loads((ROOT / "benchmarks/data/aeb/ground-truth.json").read_text(encoding="utf-8"))

# One-for-one OCR look-alikes (lengths unchanged), as a scanner reads old newsprint.
CONFUSIONS = {"e": "c", "c": "e", "l": "1", "i": "l", "o": "0", "s": "5", "h": "b", "b": "h", "u": "n", "n": "u"}
CONFUSIONS |= {"a": "o", "t": "f", "f": "t", "r": "n", "m": "n", "g": "q", "d": "a", "y": "v", "v": "y", "k": "h"}


def ocr(text: str, rate: float, seed: int) -> str:
    """Each letter replaced by an OCR look-alike with probability ``rate`` (lengths unchanged)."""
    rng = random.Random(seed)
    out = list(text)
    for i, c in enumerate(out):
        if c.isalpha() and c.lower() in CONFUSIONS and rng.random() < rate:
            sub = CONFUSIONS[c.lower()]
            out[i] = sub.upper() if c.isupper() else sub
    return "".join(out)


def hyphenated(paragraph: str, width: int = 62) -> str:
    """A paragraph set in a column ``width`` wide: lines broken at spaces, long words split with ``-``."""
    lines, line = [], ""
    for word in paragraph.split():
        if line and len(line) + 1 + len(word) > width:
            room = width - len(line) - 2
            if len(word) >= 7 and room >= 2 and len(word) - room >= 3:  # the word split across the lines
                lines.append(f"{line} {word[:room]}-")
                line = word[room:]
                continue
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join([*lines, line])


def long_body() -> list[str]:
    """A real article body (aeb, MIT) of 350 words or more, as paragraphs."""
    for key in sorted(AEB):
        body = AEB[key]["articleBody"]
        paras = [p.strip() for p in body.split("\n") if len(p.split()) >= 15]
        if body.isascii() and 350 <= sum(len(p.split()) for p in paras) <= 700 and len(paras) >= 5:
            return paras
    raise AssertionError("no aeb body long enough")


def dedup_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dedup.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def scan_json(folder: Path) -> dict:
    proc = dedup_cli("scan", str(folder), "--format", "json", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def covered(spans: list[tuple[int, int]], lo: int, hi: int) -> float:
    """Share of [lo, hi) inside the union of spans."""
    mask = np.zeros(hi - lo, dtype=bool)
    for s, e in spans:
        mask[max(s, lo) - lo : max(min(e, hi) - lo, 0)] = True
    return float(mask.mean())


def test_noisy_hyphenated_copy_pairs_with_its_source_and_aligns(tmp_path: Path) -> None:
    paras = long_body()
    source = "\n\n".join(paras) + "\n"
    noisy = ocr("\n\n".join(hyphenated(p) for p in paras), 0.05, seed=3)
    head = "The Evening Courier, page 4, column 2. Reprinted by permission.\n\n"
    foot = "\n\nScanned from the microfilm collection of the county library; errors of the original kept.\n"
    copy = head + noisy + foot
    (tmp_path / "source.txt").write_text(source, encoding="utf-8")
    (tmp_path / "copy.txt").write_text(copy, encoding="utf-8")
    changed = sum(a != b for a, b in zip(re.sub(r"-?\n", "", noisy), re.sub(r"\n", "", source)))
    assert changed > 0 and noisy.count("-\n") >= 3  # the copy really is noisy and hyphenated

    result = scan_json(tmp_path)
    pairs = [p for p in result["pairs"] if {p["a"], p["b"]} == {"source.txt", "copy.txt"}]
    assert len(pairs) == 1 and pairs[0]["relation"] in ("contains", "near-duplicate"), result["pairs"]
    p = pairs[0]
    side = {"a": p["a"], "b": p["b"]}
    in_copy = [(q[f"{k}_start"], q[f"{k}_end"]) for q in p["passages"] for k in "ab" if side[k] == "copy.txt"]
    in_source = [(q[f"{k}_start"], q[f"{k}_end"]) for q in p["passages"] for k in "ab" if side[k] == "source.txt"]
    # The passages cover the noisy story in the copy and the story in the source, and nothing of the copy's own
    # head and foot: offsets exact in both files.
    story = (len(head), len(head) + len(noisy))
    assert covered(in_copy, *story) >= 0.95
    assert covered(in_source, 0, len(source.rstrip())) >= 0.95
    assert covered(in_copy, 0, len(head) - 2) == 0 and covered(in_copy, story[1] + 2, len(copy)) == 0
    first = min(in_copy)[0]
    assert copy[first : first + 8].lower() == noisy[:8].lower()  # starts at the story's first word
    cluster = [c for c in result["clusters"] if "copy.txt" in c["members"]]
    assert cluster and cluster[0]["source"] == "source.txt"


EVENT_A = """The city council voted 7 to 2 on Tuesday night to close the Riverside Avenue bridge for repairs, \
ending months of debate over the ageing steel span that carries some 14,000 cars a day.

Mayor Linda Okafor, who had pushed for the closure since an inspection in March, said the decision was overdue. \
"We cannot keep asking families to drive over a bridge our own engineers say is failing," Okafor said.

Council member Ray Dominguez, one of the two votes against, warned that businesses on the east bank would \
suffer. "This closure will cut the east side off from the rest of the city for a year," Dominguez said.

The repairs are expected to cost $38 million, most of it from a state infrastructure grant awarded last autumn. \
Detours will send traffic over the Fifth Street and Harbor Road crossings, which officials concede were not \
built for the extra load. The work is scheduled to start on June 1.

Residents who spoke at the meeting were divided. Several owners of shops along Market Street asked for a \
phased closure that would keep one lane open, an option the city engineer rejected as unsafe. Others thanked \
the council for acting before an accident forced its hand.

Detour routes: Fifth Street bridge, Harbor Road bridge, Mill Lane ferry, Canal Street footbridge, \
Northgate overpass."""

EVENT_B = """After a long and at times heated meeting, Westbrook's council agreed this week to shut the Riverside \
Avenue bridge, a 1950s structure inspectors flagged as structurally deficient earlier in the year.

"We cannot keep asking families to drive over a bridge our own engineers say is failing," Mayor Linda Okafor \
told a packed chamber, repeating a line she has used since the spring.

Not everyone agreed. "This closure will cut the east side off from the rest of the city for a year," said \
Ray Dominguez, who represents the district and voted no along with one colleague.

Traffic engineers expect delays of up to twenty minutes at rush hour once the detours open. The state grant \
that pays for most of the $38 million project requires work to begin before the summer, which left the \
council little room to wait for a cheaper design.

Bakery owner Sofia Marchetti said she feared for the season. "Half my customers come across that bridge," \
she said. Her neighbour, a hardware dealer, said he would rather lose a year of trade than see the span fall.

Detour routes: Fifth Street bridge, Harbor Road bridge, Mill Lane ferry, Canal Street footbridge, \
Northgate overpass."""


def test_independent_articles_on_one_event_do_not_pair(tmp_path: Path) -> None:
    (tmp_path / "herald.txt").write_text(EVENT_A, encoding="utf-8")
    (tmp_path / "gazette.txt").write_text(EVENT_B, encoding="utf-8")
    # Noisy scans of each paper as well: noise must not make them look alike either.
    (tmp_path / "herald-scan.txt").write_text(ocr(EVENT_A, 0.05, seed=1), encoding="utf-8")
    (tmp_path / "gazette-scan.txt").write_text(ocr(EVENT_B, 0.05, seed=2), encoding="utf-8")
    result = scan_json(tmp_path)
    paper = {"herald.txt": "A", "herald-scan.txt": "A", "gazette.txt": "B", "gazette-scan.txt": "B"}
    across = [p for p in result["pairs"] if paper[p["a"]] != paper[p["b"]]]
    assert across == []
    for c in result["clusters"]:
        assert len({paper[m] for m in c["members"]}) == 1


def _side(first: np.ndarray, n: int) -> Side:
    e = np.zeros(0, dtype=np.int64)
    return Side(np.arange(len(first), dtype=np.uint64), first, first + 4, np.arange(n), np.arange(n) + 1, e, e)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 400), min_size=0, max_size=60, unique=True),
    st.integers(-30, 30),
)
def test_chains_lie_inside_both_texts_and_follow_one_order(positions: list[int], shift: int) -> None:
    """Whatever seeds two texts share, each chain is a stretch inside both texts, its runs counted, and the
    chains' cover never exceeds either text."""
    n = 460
    pos = np.sort(np.asarray(positions, dtype=np.int64))
    a = _side(pos, n)
    b = _side(np.clip(pos + shift, 0, n - 5), n)
    found = chains(a, b, AlignParams())
    assert found.shape[1] == 5
    for a0, a1, b0, b1, runs in found.tolist():
        assert 0 <= a0 < a1 <= n and 0 <= b0 < b1 <= n and runs >= 1
    assert _covered(found[:, 0], found[:, 1]) <= n and int(found[:, 4].sum()) <= max(len(pos), 0)


def test_diff_reads_a_word_split_across_a_line_end_as_one_word() -> None:
    """The word diff of a scanned column: the halves of "kidn-\\napped" are "kidnapped", the wrong letters of
    "tbe" a changed word; a real compound keeps its hyphen ("Franco-\\nGerman" is two words)."""
    from dedup.phase1.tolerant import line_end_hyphens
    from dedup.views.diff import passage_pieces

    rows = list(passage_pieces("the man who kidn-\napped tbe child", "the man who kidnapped the child", full=True))
    changed_a = [p.text for a, _ in rows for p in a if p.kind == "changed"]
    changed_b = [p.text for _, b in rows for p in b if p.kind == "changed"]
    assert changed_a == ["tbe"] and changed_b == ["the"]
    assert line_end_hyphens("a Franco-\nGerman treaty, recog- \r\nnised") == [(30, 34)]


def test_a_long_chain_is_read_in_windows_alike_as_whole() -> None:
    """A chain longer than the whole-read bound is read in windows spread along it: a long copy with a wrong
    letter in twenty reads as alike as a short one, an unrelated stretch as unalike (edit distance is quadratic:
    a book-length chain is never compared whole)."""
    from dedup.align import IDENTITY_WORDS, chain_identity

    rng = random.Random(5)
    vocab = ["harbour", "council", "bridge", "repairs", "traffic", "market", "street", "mayor", "detour", "grant"]
    n = 3 * IDENTITY_WORDS
    text = " ".join(rng.choice(vocab) for _ in range(n))
    copy, other = ocr(text, 0.05, seed=9), " ".join(rng.choice(vocab) for _ in range(n))

    def side(t: str) -> tuple[Side, np.ndarray]:
        from dedup.phase1.normalise import tokenise

        tok = tokenise([t])
        e = np.zeros(0, dtype=np.int64)
        return Side(e.astype(np.uint64), e, e, tok.starts, tok.ends, e, e), tok.hashes

    (a, wa), (b, wb), (c, wc) = side(text), side(copy), side(other)
    chain = np.array([0, n, 0, n, 10])
    alike = chain_identity(text, copy, a, b, chain, wa, wb)
    unalike = chain_identity(text, other, a, c, chain, wa, wc)
    assert alike[0] >= 0.9 and alike[1] >= 0.9
    assert unalike[0] < 0.75 and unalike[1] < 0.5
