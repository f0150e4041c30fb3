"""Adversarial corpora for the scan's cost model, built from the real aeb article text.

    python -m benchmarks.corpora.adversarial mix DIR --docs 1500      # N articles, each 30 of the same 60 paragraphs
    python -m benchmarks.corpora.adversarial bigfile DIR --mb 200     # one 200 MB article
    python -m benchmarks.corpora.adversarial bigfile DIR --mb 200 --shape wrapped --beside 6

* ``mix``: ``docs`` articles, each carrying ``per_doc`` (30) of the same ``shared``
  (60) real paragraphs in its own order, under a headline of its own. Every pair of
  articles shares about half its text, in a different arrangement: the worst case
  for a scan whose cost follows the pairs that share passages (n² pairs, each with
  many shared passages).
* ``bigfile``: a single article of ``mb`` megabytes: every real paragraph of the
  aeb bodies, in a new shuffled order on each pass, until the size is reached. It
  tests that one huge document does not blow up memory (per-document temporaries,
  self-similar text).

Both are deterministic for a seed and write plain ``.txt`` files; the folder must
not exist or be empty.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.corpora.synth import real_bodies

MIX_DOCS = 1500
MIX_SHARED = 60
MIX_PER_DOC = 30
BIG_MB = 200.0


def _paragraphs() -> list[str]:
    """Real paragraphs of the aeb bodies (distinct, in file order)."""
    out = []
    for body in real_bodies():
        out.extend(p.strip() for p in re.split(r"\n\s*\n|\n", body) if p.strip())
    return list(dict.fromkeys(out))


def _empty_dir(out_dir: str | Path) -> Path:
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty; refusing to write into it")
    out.mkdir(parents=True, exist_ok=True)
    return out


def mix(
    out_dir: str | Path, docs: int = MIX_DOCS, shared: int = MIX_SHARED, per_doc: int = MIX_PER_DOC, seed: int = 0
) -> dict:
    """Write ``docs`` articles, each ``per_doc`` of the same ``shared`` real paragraphs in its own order."""
    if not 0 < per_doc <= shared:
        raise ValueError(f"per_doc must be within 1..shared ({shared}), got {per_doc}")
    if docs < 1:
        raise ValueError(f"docs must be positive, got {docs}")
    out = _empty_dir(out_dir)
    t0 = time.perf_counter()
    rng = np.random.default_rng([seed, 60])
    # 60 paragraphs of news length (25-150 words), from across the bodies.
    candidates = [p for p in _paragraphs() if 25 <= len(p.split()) <= 150]
    if len(candidates) < shared:
        raise ValueError(f"only {len(candidates)} real paragraphs of 25-150 words; asked for {shared}")
    pool = [candidates[i] for i in sorted(rng.choice(len(candidates), size=shared, replace=False).tolist())]
    n_bytes = 0
    for d in range(docs):
        picks = rng.choice(shared, size=per_doc, replace=False).tolist()
        text = f"Article {d}: report number {d} of the day\n\n" + "\n\n".join(pool[i] for i in picks) + "\n"
        data = text.encode()
        (out / f"{d:06d}.txt").write_bytes(data)
        n_bytes += len(data)
    return {
        "kind": "mix",
        "docs": docs,
        "shared": shared,
        "per_doc": per_doc,
        "bytes": n_bytes,
        "seed": seed,
        "seconds": time.perf_counter() - t0,
    }


SHAPES = ("paragraphs", "wrapped", "line")
_WRAP = re.compile(r"(\S.{0,70}\S)(?: +|$)|(\S+)")  # greedy wrap at 72 columns (a longer word alone on its line)


def bigfile(out_dir: str | Path, mb: float = BIG_MB, seed: int = 0, shape: str = "paragraphs", beside: int = 0) -> dict:
    """Write one article of ``mb`` megabytes (10^6 bytes): all real paragraphs, reshuffled on every pass.

    ``shape``: ``paragraphs``, each paragraph followed by a blank line (about a million short paragraphs in
    200 MB); ``wrapped``, all of it one paragraph hard-wrapped at 72 columns (millions of lines joined into
    one); ``line``, one line without any break. ``beside``: also write this many ordinary articles (real
    bodies) next to it.
    """
    if mb <= 0:
        raise ValueError(f"mb must be positive, got {mb}")
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {', '.join(SHAPES)}, got {shape!r}")
    out = _empty_dir(out_dir)
    t0 = time.perf_counter()
    target = int(mb * 1e6)
    sep = {"paragraphs": "\n\n", "wrapped": " ", "line": " "}[shape]
    paras = [p + sep for p in _paragraphs()]
    rng = np.random.default_rng([seed, 200])
    n_bytes = 0
    path = out / "big.txt"
    with open(path, "wb") as f:
        head = b"One very long page\n\n"
        f.write(head)
        n_bytes += len(head)
        while n_bytes < target:
            text = "".join(paras[i] for i in rng.permutation(len(paras)).tolist())
            if shape == "wrapped":
                text = "\n".join(a or b for a, b in _WRAP.findall(text)) + "\n"
            data = text.encode()
            if n_bytes + len(data) >= target:  # the last pass, cut at a whole character
                data = data[: target - n_bytes - 1].decode("utf-8", "ignore").encode() + b"\n"
            f.write(data)
            n_bytes += len(data)
    bodies = [b for b in real_bodies() if b.strip()][:beside]
    for i, body in enumerate(bodies):
        data = body.encode()
        (out / f"article-{i}.txt").write_bytes(data)
        n_bytes += len(data)
    return {
        "kind": "bigfile",
        "shape": shape,
        "docs": 1 + len(bodies),
        "big_bytes": path.stat().st_size,
        "bytes": n_bytes,
        "seed": seed,
        "seconds": time.perf_counter() - t0,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("mix", help="N articles, each carrying 30 of the same 60 paragraphs in its own order")
    m.add_argument("out_dir")
    m.add_argument("--docs", type=int, default=MIX_DOCS)
    m.add_argument("--shared", type=int, default=MIX_SHARED)
    m.add_argument("--per-doc", type=int, default=MIX_PER_DOC)
    m.add_argument("--seed", type=int, default=0)
    b = sub.add_parser("bigfile", help="one article of --mb megabytes")
    b.add_argument("out_dir")
    b.add_argument("--mb", type=float, default=BIG_MB)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--shape", choices=SHAPES, default="paragraphs", help="paragraphs, one wrapped paragraph, one line")
    b.add_argument("--beside", type=int, default=0, help="ordinary articles written next to it")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "mix":
            summary = mix(args.out_dir, args.docs, args.shared, args.per_doc, args.seed)
        else:
            summary = bigfile(args.out_dir, args.mb, args.seed, args.shape, args.beside)
    except (FileExistsError, ValueError) as e:
        sys.exit(f"adversarial: {e}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
