"""How a benchmark corpus is laid out on disk: with site metadata, or as plain folders.

Most users do not have pages with metadata: they have one flat folder of ``.txt`` exports. The generators
write the same documents (same seed, same text) in one of three layouts:

- ``meta``: the generator's own layout (for the wire corpus YAML front matter with ``date``/``site``/``url``
  and one folder per site);
- ``plain``: no front matter and no site, URL or date anywhere, one flat folder, file names that reveal
  neither the site nor the role (12 random hex digits), one paragraph a line, a blank line between;
- ``wrapped``: plain, and the text hard-wrapped the way agency copy reaches a newsroom as text: lines of at
  most 72 columns (broken at spaces, never inside a word), paragraphs parted either by a blank line or by an
  indented first line (three spaces or a tab, no blank line), in Windows-1252 with CRLF line ends
  (characters outside Windows-1252 are written as ``?``).

Ground truth keeps pointing at what is written: a paragraph's span runs from its first character to its last,
across the line breaks wrapping put into it (offsets count characters of the decoded text, ``\\r`` included).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

__all__ = [
    "LAYOUTS",
    "WRAP_WIDTH",
    "flat_names",
    "front_matter",
    "hex_name",
    "lay_out",
    "parse_layouts",
    "prepare_flat",
    "read_written",
    "rename",
    "write_text",
]

LAYOUTS = ("meta", "plain", "wrapped")
WRAP_WIDTH = 72
WRAPPED_ENCODING = "cp1252"
INDENTS = ("   ", "   ", "\t", "    ")
_WORD = re.compile(r"\S+")


def parse_layouts(text: str) -> list[str]:
    """``meta,plain,wrapped`` as a list; ValueError naming an unknown layout."""
    out = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in out if x not in LAYOUTS]
    if bad or not out:
        raise ValueError(f"unknown layout {', '.join(bad) or '(none)'}: choose from {', '.join(LAYOUTS)}")
    return list(dict.fromkeys(out))


def hex_name(rng: random.Random, used: set[str]) -> str:
    """A fresh file name of 12 random hex digits (``.txt``) that says nothing about its document."""
    while True:
        name = f"{rng.getrandbits(48):012x}.txt"
        if name not in used:
            used.add(name)
            return name


def _to_1252(text: str) -> str:
    """The text as Windows-1252 can hold it: each character it cannot becomes one ``?`` (offsets unchanged)."""
    return text.encode(WRAPPED_ENCODING, "replace").decode(WRAPPED_ENCODING)


def _wrap(paragraph: str, width: int) -> list[tuple[int, int]]:
    """Greedy lines of at most ``width`` characters (a longer word stands alone): (start, end) in ``paragraph``."""
    lines: list[tuple[int, int]] = []
    start = end = None
    for m in _WORD.finditer(paragraph):
        if start is None:
            start, end = m.span()
        elif m.end() - start <= width:
            end = m.end()
        else:
            lines.append((start, end))
            start, end = m.span()
    if start is not None:
        lines.append((start, end))
    return lines


def lay_out(
    paragraphs: list[str], layout: str, rng: random.Random, head: str = ""
) -> tuple[str, list[tuple[int, int]]]:
    """A plain, wrapped or meta document of ``paragraphs`` (in order) and each paragraph's (start, end) in it.

    ``meta``: the plain text under ``head`` (its front matter).

    ``plain``: one paragraph a line, blank lines between. ``wrapped``: lines of at most ``WRAP_WIDTH`` columns
    (a tab counts as 8), CRLF, a blank line between paragraphs or (one document in three) an indented first
    line instead; a paragraph's span then covers all its lines. The caller writes ``wrapped`` text with
    ``write_text`` (Windows-1252).
    """
    if layout == "meta":
        text, spans = lay_out(paragraphs, "plain", rng)
        return head + text, [(a + len(head), b + len(head)) for a, b in spans]
    if layout == "plain":
        parts, spans, pos = [], [], 0
        for i, p in enumerate(paragraphs):
            p = " ".join(p.split())
            if i:
                parts.append("\n\n")
                pos += 2
            parts.append(p)
            spans.append((pos, pos + len(p)))
            pos += len(p)
        return "".join(parts) + "\n", spans
    if layout != "wrapped":
        raise ValueError(f"lay_out: no such layout {layout!r}")
    nl = "\r\n"
    indent = rng.choice(INDENTS) if rng.random() < 1 / 3 else ""
    first_width = WRAP_WIDTH - (8 if indent == "\t" else len(indent))
    parts, spans, pos = [], [], 0
    for i, p in enumerate(paragraphs):
        p = _to_1252(" ".join(p.split()))
        if i:
            sep = nl if indent else nl + nl
            parts.append(sep)
            pos += len(sep)
        parts.append(indent)
        pos += len(indent)
        start = pos
        lines = _wrap(p, first_width)
        # Continuation lines use the whole width: re-wrap what follows the first line.
        if len(lines) > 1:
            rest = p[lines[1][0] :]
            lines = [lines[0]] + [(a + lines[1][0], b + lines[1][0]) for a, b in _wrap(rest, WRAP_WIDTH)]
        for j, (a, b) in enumerate(lines):
            if j:
                parts.append(nl)
                pos += len(nl)
            parts.append(p[a:b])
            pos += b - a
        spans.append((start, pos))
    return "".join(parts) + nl, spans


def write_text(path: Path, text: str, layout: str) -> None:
    """Write one document as its layout is stored: UTF-8, or Windows-1252 for ``wrapped``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    encoding = WRAPPED_ENCODING if layout == "wrapped" else "utf-8"
    with open(path, "w", encoding=encoding, errors="replace", newline="") as f:
        f.write(text)


def read_written(path: Path) -> str:
    """A document's text as written (UTF-8, else Windows-1252), newlines untranslated: what offsets index."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode(WRAPPED_ENCODING, "replace")


def rename(obj: object, names: dict[str, str]) -> object:
    """``obj`` (JSON-like) with every string key or value found in ``names`` replaced by its new name."""
    if isinstance(obj, str):
        return names.get(obj, obj)
    if isinstance(obj, list):
        return [rename(x, names) for x in obj]
    if isinstance(obj, dict):
        return {names.get(k, k) if isinstance(k, str) else k: rename(v, names) for k, v in obj.items()}
    return obj


def front_matter(date: str, site: str, url: str) -> str:
    """The YAML front matter of the ``meta`` layout."""
    return f"---\ndate: {date}\nsite: {site}\nurl: {url}\n---\n"


def prepare_flat(out: Path, benchmark: str, truth_name: str = "truth.json") -> None:
    """Make ``out`` ready for a flat corpus: create it, or empty an earlier corpus of ``benchmark``; refuse else."""
    out.mkdir(parents=True, exist_ok=True)
    entries = list(out.iterdir())
    if not entries:
        return
    try:
        ours = json.loads((out / truth_name).read_text(encoding="utf-8")).get("benchmark") == benchmark
    except (OSError, ValueError, AttributeError):
        ours = False
    if not ours or any(not p.is_file() for p in entries):
        raise FileExistsError(f"{out}: not empty and not an earlier {benchmark} corpus; refusing to write into it")
    for p in entries:
        p.unlink()


def flat_names(
    out_dir: str | Path, benchmark: str, layout: str, stream: str, n: int
) -> tuple[Path, random.Random, list]:
    """Ready a flat corpus folder (``prepare_flat``) for ``n`` documents in ``layout``: the folder, the layout's
    own random stream seeded with ``stream`` (not the generator's, so one seed gives the same documents in every
    layout) and the documents' random file names."""
    if layout not in LAYOUTS:
        raise ValueError(f"no such layout {layout!r}: choose from {', '.join(LAYOUTS)}")
    out = Path(out_dir)
    prepare_flat(out, benchmark)
    rng = random.Random(stream)
    used: set[str] = set()
    return out, rng, [hex_name(rng, used) for _ in range(n)]
