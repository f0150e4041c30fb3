"""Which way the copying went (issue 28): families of one real story and the copies made from it, of five kinds.

Built from the real English article bodies of ``data/aeb/ground-truth.json`` (MIT licence), each body used
by one family only; the copies' own text (headlines, leads, added sentences, intros) is made of sentences of
*other* real bodies, each used once, so it recurs nowhere else. A family is one **kind**:

- ``rewrite``: an agency story (its headline and the body) and 2–3 papers' rewrites of it, each with its own
  headline and lead, a third to a half of the paragraphs dropped (anywhere, not only at the end), two kept
  paragraphs swapped, one or two sentences of its own added between kept paragraphs, a few words changed;
- ``wrapped``: the original and 1–2 copies that wrap all of it in their own headline and intro and a site's
  promo line and disclaimer (the same on every page of that site);
- ``trimmed``: the original and a copy under its own headline that keeps only the first half to three
  quarters of the paragraphs;
- ``excerpt``: the original and a copy of its first two or three paragraphs, ending in "Continue reading";
- ``chain``: the original, a wrapped copy of it, and a copy of that copy wrapped again (copies of copies).

Each family's source is the original. Unrelated real bodies are written beside the families (``--fillers``).

Variants (``--variant``): ``plain`` (no metadata: one flat folder of ``.txt`` under random names), ``meta``
(front matter with ``site`` and ``url``, no date), ``dated`` (front matter with ``date`` too: the original
first, each copy hours to days later, a copy of a copy after the copy it took; some dates without a time).
``DIR/truth.json`` holds per document its family, kind, role (``source``/``copy``), date and site.

Usage: ``python -m benchmarks.corpora.direction DIR --families 60 --seed 0 --variant dated``
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.corpora.corpus import DATA
from benchmarks.corpora.layouts import hex_name

__all__ = ["KINDS", "VARIANTS", "generate"]

KINDS = ("rewrite", "wrapped", "trimmed", "excerpt", "chain")
VARIANTS = ("plain", "meta", "dated")
MIN_PARAGRAPHS = 8
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z“\"])")


def _bodies() -> list[list[str]]:
    """Real English bodies as lists of paragraphs (of 60 characters or more), eight paragraphs at least."""
    data = json.loads(Path(DATA).read_text(encoding="utf-8"))
    out = []
    for key in sorted(data):
        body = data[key].get("articleBody") or ""
        paras = [" ".join(p.split()) for p in body.split("\n") if len(p.strip()) >= 60]
        if len(paras) >= MIN_PARAGRAPHS and sum(c.isascii() for c in body) > 0.97 * len(body):
            out.append(paras)
    return out


class _Own:
    """Sentences of real bodies no family uses, handed out once each: a copy's own words."""

    def __init__(self, bodies: list[list[str]], rng: random.Random) -> None:
        self.sentences = [s for paras in bodies for p in paras for s in _SENTENCE.split(p) if 40 <= len(s) <= 240]
        rng.shuffle(self.sentences)

    def take(self, n: int = 1) -> str:
        if len(self.sentences) < n:
            raise ValueError("not enough unused real sentences: ask for fewer families")
        out, self.sentences = self.sentences[:n], self.sentences[n:]
        return " ".join(out)

    def headline(self) -> str:
        return " ".join(self.take().split()[:9]).rstrip(",;:")


def _reword(paragraph: str, rng: random.Random) -> str:
    """A few words of the paragraph changed (one in about twelve swapped with its neighbour)."""
    words = paragraph.split()
    for k in range(1, len(words) - 1, 12):
        if rng.random() < 0.5:
            words[k], words[k + 1] = words[k + 1], words[k]
    return " ".join(words)


def _rewrite(story: list[str], own: _Own, rng: random.Random) -> list[str]:
    keep = [p for p in story if rng.random() > rng.uniform(0.33, 0.5)] or story[:3]
    if len(keep) >= 4:
        k = rng.randrange(1, len(keep) - 2)
        keep[k], keep[k + 1] = keep[k + 1], keep[k]
    keep = [_reword(p, rng) if rng.random() < 0.3 else p for p in keep]
    for _ in range(rng.randint(1, 2)):
        keep.insert(rng.randrange(1, len(keep)), own.take())
    return [own.headline(), own.take(2), *keep]


def _wrap(text: list[str], own: _Own, site: dict[str, str]) -> list[str]:
    return [own.headline(), own.take(2), *text, site["promo"], site["disclaimer"]]


def _family(kind: str, story: list[str], own: _Own, sites: list[dict[str, str]], rng: random.Random) -> list[dict]:
    """The documents of one family: dicts of text paragraphs, role, the document it was made from, site."""
    original = {"paras": [own.headline(), *story], "role": "source", "from": None, "site": "agency.example"}
    docs = [original]
    if kind == "rewrite":
        for _ in range(rng.randint(2, 3)):
            docs.append({"paras": _rewrite(story, own, rng), "role": "copy", "from": 0})
    elif kind == "wrapped":
        for _ in range(rng.randint(1, 2)):
            site = rng.choice(sites)
            docs.append({"paras": _wrap(original["paras"], own, site), "role": "copy", "from": 0, "site": site["name"]})
    elif kind == "trimmed":
        cut = max(3, round(len(story) * rng.uniform(0.5, 0.75)))
        docs.append({"paras": [own.headline(), *story[:cut]], "role": "copy", "from": 0})
    elif kind == "excerpt":
        n = rng.randint(2, 3)
        docs.append({"paras": [original["paras"][0], *story[:n], "Continue reading…"], "role": "copy", "from": 0})
    elif kind == "chain":
        first, second = rng.sample(sites, 2)
        docs.append({"paras": _wrap(original["paras"], own, first), "role": "copy", "from": 0, "site": first["name"]})
        docs.append({"paras": _wrap(docs[1]["paras"], own, second), "role": "copy", "from": 1, "site": second["name"]})
    for k, d in enumerate(docs):
        d.setdefault("site", f"paper{k}-{rng.randrange(10**6)}.example")
    return docs


def _dates(docs: list[dict], start: datetime, rng: random.Random) -> list[str]:
    """The original at ``start``, each copy hours to days after what it was made from; one date in three
    without a time (then a day or more after, so the dates differ at their precision)."""
    when: list[datetime] = []
    out = []
    for d in docs:
        t = start if d["from"] is None else when[d["from"]] + timedelta(hours=rng.randint(2, 60))
        day_only = rng.random() < 1 / 3
        if day_only and d["from"] is not None:
            t = (when[d["from"]] + timedelta(days=1)).replace(hour=0, minute=0)
        when.append(t)
        out.append(t.date().isoformat() if day_only else t.isoformat(timespec="minutes"))
    return out


def generate(out: str | Path, families: int = 60, seed: int = 0, variant: str = "dated", fillers: int = 20) -> dict:
    """Write the corpus to ``out`` (made or emptied of ``.txt``) and return its truth (also ``truth.json``)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}: choose from {', '.join(VARIANTS)}")
    rng = random.Random(seed)
    bodies = _bodies()
    rng.shuffle(bodies)
    if families + fillers + 10 > len(bodies):
        raise ValueError(f"{len(bodies)} real bodies hold at most {len(bodies) - fillers - 10} families")
    stories, fill, spare = bodies[:families], bodies[families : families + fillers], bodies[families + fillers :]
    own = _Own(spare, rng)
    sites = [
        {"name": f"site{k}.example", "promo": own.take(), "disclaimer": "Disclaimer: " + own.take()} for k in range(6)
    ]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.txt"):
        old.unlink()
    used: set[str] = set()
    truth: dict = {"benchmark": "direction", "seed": seed, "variant": variant, "documents": {}, "families": []}
    start = datetime(2024, 3, 1, 8, 0, tzinfo=UTC).replace(tzinfo=None)
    for f in range(families):
        kind = KINDS[f % len(KINDS)]
        docs = _family(kind, stories[f], own, sites, rng)
        dates = _dates(docs, start + timedelta(days=f), rng)
        names = [hex_name(rng, used) for _ in docs]
        order = list(range(len(docs)))
        rng.shuffle(order)  # the order of writing says nothing
        for k in order:
            d, name = docs[k], names[k]
            head = ""
            if variant != "plain":
                lines = [f"site: {d['site']}", f"url: https://{d['site']}/story/{name[:-4]}"]
                if variant == "dated":
                    lines.insert(0, f"date: {dates[k]}")
                head = "---\n" + "\n".join(lines) + "\n---\n"
            (out / name).write_text(head + "\n\n".join(d["paras"]) + "\n", encoding="utf-8")
            truth["documents"][name] = {
                "family": f,
                "kind": kind,
                "role": d["role"],
                "from": names[d["from"]] if d["from"] is not None else None,
                "date": dates[k] if variant == "dated" else None,
                "site": d["site"] if variant != "plain" else None,
            }
        truth["families"].append({"id": f, "kind": kind, "source": names[0], "members": names})
    for paras in fill:
        name = hex_name(rng, used)
        (out / name).write_text("\n\n".join(paras) + "\n", encoding="utf-8")
        truth["documents"][name] = {"family": None, "kind": None, "role": None, "from": None, "date": None}
    (out / "truth.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")
    return truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.corpora.direction", description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--families", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variant", choices=VARIANTS, default="dated")
    args = parser.parse_args(argv)
    truth = generate(args.out, args.families, args.seed, args.variant)
    print(f"{len(truth['documents'])} documents, {len(truth['families'])} families in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
