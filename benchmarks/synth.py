"""A deterministic, streamed news corpus of any size, for throughput runs.

The text is drawn from the real article bodies in ``data/aeb/ground-truth.json``:
words follow their empirical unigram distribution (with their punctuation and
Unicode quotes as found), sentence and paragraph lengths look like news, and a
long tail of proper nouns, numbers and one-off tokens makes the vocabulary keep
growing with the corpus as real news does (Heaps' law). It is not grammatical:
throughput depends on the statistics of the text (token lengths, vocabulary
size and growth, document lengths, how many documents are copies), not on its
meaning.

About one document in five is a republished copy of a recent original, wrapped
in one of a few dozen sites' header and footer and lightly edited, so the index,
verify and cluster stages do real work.

Documents are generated in independent blocks of ``BLOCK`` documents, each from
its own seed, so the output is the same whatever the number of worker
processes, and memory stays flat at any size. Files go to
``out_dir/NNNN/NNNNNNNN.txt``, ``BLOCK`` per folder, with YAML front matter
carrying a publication date.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data" / "aeb" / "ground-truth.json"
BLOCK = 1000
COPY_RATE = 0.2
N_SITES = 40
N_NAMES = 200_000
RARE_RATE = 0.003  # share of tokens that are one-off strings (typos, codes, rare names)
MEAN_WORDS = 520  # ~4 KB per document with front matter

_SEPS = (" ", ", ", ". ", ".\n\n")
_SYLLABLES = [
    "ka",
    "ri",
    "to",
    "mi",
    "na",
    "be",
    "lo",
    "sa",
    "vi",
    "de",
    "ran",
    "tel",
    "mor",
    "gan",
    "ste",
    "fan",
    "ol",
    "iv",
    "er",
    "al",
    "ex",
    "an",
    "dra",
    "jo",
    "han",
    "nes",
    "ma",
    "rie",
    "lu",
    "cas",
    "pe",
    "tro",
    "va",
    "nov",
    "ski",
    "berg",
    "stein",
    "wood",
    "field",
    "ton",
    "ley",
    "ham",
    "mond",
    "ford",
    "wick",
    "sen",
    "son",
    "ez",
    "ia",
]


def _bodies() -> list[str]:
    with open(DATA, encoding="utf-8") as f:
        return [v["articleBody"] for v in json.load(f).values()]


@lru_cache(maxsize=1)
def _model() -> dict:
    """Vocabulary tables built once per process from the real bodies."""
    words: dict[str, int] = {}
    for body in _bodies():
        for w in body.split():
            w = w.strip(".")
            if w:
                words[w] = words.get(w, 0) + 1
    real = sorted(words, key=lambda w: (-words[w], w))
    real_p = np.array([words[w] for w in real], dtype=np.float64)
    rng = np.random.default_rng(12345)
    syl = np.array(_SYLLABLES, dtype=object)
    n_syl = rng.integers(2, 5, size=N_NAMES)
    picks = rng.integers(0, len(syl), size=int(n_syl.sum()))
    names, pos = [], 0
    for n in n_syl.tolist():
        names.append("".join(syl[picks[pos : pos + n]]).capitalize())
        pos += n
    numbers = [str(x) for x in range(1900, 2031)] + [f"{x / 10:.1f}" for x in range(1, 1000)]
    numbers += [f"${x}" for x in range(1, 500)] + [f"{x}%" for x in range(1, 100)]
    tail = list(dict.fromkeys(names + numbers))
    # Zipf weights for the tail, together 8% of all word draws.
    tail_p = 1.0 / np.arange(1, len(tail) + 1) ** 1.05
    tail_p *= real_p.sum() * 0.08 / 0.92 / tail_p.sum()
    vocab = real + tail
    p = np.concatenate([real_p, tail_p])
    cdf = np.cumsum(p / p.sum())
    cdf[-1] = 1.0
    # Every surface form with each separator, lower and capitalised: token id * 8 + variant.
    table = np.empty(len(vocab) * 8, dtype=object)
    for i, w in enumerate(vocab):
        cap = w[:1].upper() + w[1:]
        for s, sep in enumerate(_SEPS):
            table[i * 8 + s] = w + sep
            table[i * 8 + 4 + s] = cap + sep
    sites = []
    for s in range(N_SITES):
        r = np.random.default_rng([777, s])
        name = " ".join(str(x) for x in r.choice(tail[:5000], size=2)) + " News"
        promo = " ".join(str(x) for x in r.choice(real[:3000], size=int(r.integers(15, 40))))
        disclaimer = " ".join(str(x) for x in r.choice(real[:3000], size=int(r.integers(30, 80))))
        sites.append(
            (
                f"{name} / World / Business\n\n",
                f"\n\nSubscribe to {name}: {promo}.\n\n© {name}. {disclaimer}.\n",
            )
        )
    return {"cdf": cdf, "table": table, "sites": sites, "n_vocab": len(vocab)}


_LETTERS = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)


def _rare_tokens(rng: np.random.Generator, n: int) -> list[str]:
    lengths = rng.integers(5, 12, size=n)
    letters = _LETTERS[rng.integers(0, 26, size=int(lengths.sum()))].tobytes().decode("ascii")
    ends = np.cumsum(lengths).tolist()
    return [letters[e - ln : e] + " " for e, ln in zip(ends, lengths.tolist())]


def _article(rng: np.random.Generator, m: dict) -> str:
    n_words = int(np.clip(rng.lognormal(np.log(MEAN_WORDS), 0.45), 40, 6000))
    ids = np.searchsorted(m["cdf"], rng.random(n_words), side="right")
    ids = np.minimum(ids, m["n_vocab"] - 1)
    # Sentences of ~20 words, paragraphs of 1-4 sentences, the first line a headline.
    sent_end = rng.random(n_words) < 1 / 20
    para_end = sent_end & (rng.random(n_words) < 0.4)
    comma = ~sent_end & (rng.random(n_words) < 0.06)
    variant = np.where(para_end, 3, np.where(sent_end, 2, np.where(comma, 1, 0)))
    headline = min(int(rng.integers(6, 14)), n_words - 1)
    variant[headline - 1] = 3
    starts = np.zeros(n_words, dtype=bool)
    starts[0] = True
    starts[1:] = variant[:-1] >= 2
    variant[-1] = 2
    tokens = m["table"][ids * 8 + variant + 4 * starts].tolist()
    n_rare = rng.binomial(n_words, RARE_RATE)
    if n_rare:
        for pos, tok in zip(rng.integers(1, n_words - 1, size=n_rare).tolist(), _rare_tokens(rng, n_rare)):
            if variant[pos] == 0 and not starts[pos]:
                tokens[pos] = tok
    return "".join(tokens).rstrip(" ") + "\n"


_WORD = re.compile(r"\S+")


def _copy(rng: np.random.Generator, m: dict, body: str) -> tuple[str, str]:
    """A republished copy: a site's wrapper around the body, with a few words edited and maybe the end cut."""
    kind = "copy"
    words = body.split(" ")
    n_edits = int(rng.integers(0, max(2, len(words) // 100)))
    for pos in rng.integers(0, len(words), size=n_edits).tolist():
        if "\n" not in words[pos]:
            words[pos] = m["table"][int(rng.integers(0, 2000)) * 8]
            words[pos] = words[pos].rstrip(" ")
    text = " ".join(words)
    if rng.random() < 0.3:  # cut after the first half or more of the paragraphs
        paras = text.split("\n\n")
        keep = max(1, int(len(paras) * rng.uniform(0.5, 0.9)))
        text = "\n\n".join(paras[:keep]).rstrip() + "\n"
        kind = "truncated"
    if rng.random() < 0.7:
        head, foot = m["sites"][int(rng.integers(0, len(m["sites"])))]
        text = head + text.rstrip("\n") + foot
        kind = "wrapped-" + kind
    return text, kind


def _date(rng: np.random.Generator, base_day: int) -> tuple[int, str]:
    day = base_day + int(rng.integers(0, 3))
    d = np.datetime64("2020-01-01") + np.timedelta64(day, "D")
    return day, f"{d}T{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}:00"


def generate_block(out_dir: str, block: int, n_docs: int, seed: int) -> dict:
    """Write documents ``block * BLOCK`` onwards (``n_docs`` of them); return their bytes and truth."""
    m = _model()
    rng = np.random.default_rng([seed, block])
    folder = Path(out_dir) / f"{block:04d}"
    folder.mkdir(parents=True, exist_ok=True)
    originals: list[tuple[int, int, str]] = []
    truth, n_bytes = [], 0
    for j in range(n_docs):
        doc = block * BLOCK + j
        if originals and rng.random() < COPY_RATE:
            src_doc, src_day, body = originals[int(rng.integers(max(0, len(originals) - 200), len(originals)))]
            text, kind = _copy(rng, m, body)
            day, date = _date(rng, src_day + 1)
            truth.append([doc, src_doc, kind])
        else:
            text = _article(rng, m)
            day, date = _date(rng, block // 2)
            originals.append((doc, day, text))
            truth.append([doc, doc, "original"])
        data = f"---\ndate: {date}\n---\n{text}".encode()
        n_bytes += len(data)
        with open(folder / f"{doc:08d}.txt", "wb") as f:
            f.write(data)
    return {"bytes": n_bytes, "truth": truth}


def generate_stream(out_dir: str | os.PathLike[str], n_docs: int, seed: int = 0, workers: int | None = None) -> dict:
    """Write ``n_docs`` documents under ``out_dir`` (created; must not exist or be empty).

    Returns a summary: documents, bytes, copies by kind, seconds. The document-level
    truth (each copy's source) is written to ``out_dir/../<name>.truth.jsonl`` only
    when asked for by the caller through ``truth_path``-free use: see ``main``.
    """
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty; refusing to write into it")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    blocks = [(str(out), b, min(BLOCK, n_docs - b * BLOCK), seed) for b in range(-(-n_docs // BLOCK))]
    workers = workers or min(os.cpu_count() or 1, 4)
    kinds: dict[str, int] = {}
    n_bytes = 0
    if workers > 1 and len(blocks) > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = pool.map(generate_block, *zip(*blocks), chunksize=4)
            for r in results:
                n_bytes += r["bytes"]
                for _, _, kind in r["truth"]:
                    kinds[kind] = kinds.get(kind, 0) + 1
    else:
        for args in blocks:
            r = generate_block(*args)
            n_bytes += r["bytes"]
            for _, _, kind in r["truth"]:
                kinds[kind] = kinds.get(kind, 0) + 1
    return {"docs": n_docs, "bytes": n_bytes, "kinds": kinds, "seconds": time.perf_counter() - t0, "seed": seed}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args(argv)
    print(json.dumps(generate_stream(args.out_dir, args.docs, args.seed, args.workers)))


if __name__ == "__main__":
    main()
