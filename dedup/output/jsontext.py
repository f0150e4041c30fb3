"""JSON text built from polars columns, a batch of records at a time: byte for byte what
``json.dumps(value, ensure_ascii=False, indent=1)`` writes for the same records, so the JSON contract can
be written out without holding the whole result as Python dicts.

With ``indent=1`` the members of a list or object at nesting level L each go on a line of their own indented
by L + 1 spaces, separated by ``","``, and its closing bracket on a line indented by L; a key is followed by
``": "``; an empty list is ``[]``. Strings are escaped as ``json`` escapes them with ``ensure_ascii=False``
(quote, backslash and C0 controls; everything else as is); floats are Python's shortest repr.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import polars as pl

# What ``json`` escapes in a string with ensure_ascii=False, and how: quote, backslash, C0 controls.
_ESCAPES = {c: json.dumps(c)[1:-1] for c in [*map(chr, range(0x20)), '"', "\\"]}


def value(obj: Any, level: int) -> str:
    """A small Python value (meta, say) as json.dumps writes it at nesting ``level``."""
    # Every line break json.dumps writes is indentation: a string's own line breaks are escaped.
    return json.dumps(obj, ensure_ascii=False, indent=1).replace("\n", "\n" + " " * level)


def literals(s: pl.Series) -> pl.Series:
    """Each value of ``s`` as a JSON literal (null for a missing one): text, integers and floats vectorised,
    anything else (not in the contract's tables) value by value."""
    if s.dtype == pl.Utf8:
        return strings(s)
    if s.dtype.is_integer():
        return s.cast(pl.Utf8).fill_null("null")
    if s.dtype.is_float():
        return _floats(s)
    return pl.Series(s.name, [json.dumps(v, ensure_ascii=False) for v in s.to_list()], dtype=pl.Utf8)


def escaped(text: pl.Expr) -> pl.Expr:
    """Text escaped as in a JSON string (without the quotes)."""
    return text.str.replace_many(list(_ESCAPES), list(_ESCAPES.values()))


def strings(s: pl.Series) -> pl.Series:
    """Strings as JSON string literals (null for a missing one)."""
    return pl.select(('"' + escaped(pl.lit(s.cast(pl.Utf8))) + '"').fill_null("null").alias(s.name)).to_series()


def _floats(s: pl.Series) -> pl.Series:
    """Floats as Python's repr. polars writes the same digits for values in [0, 1] (the measures, rounded);
    any other value is left to Python."""
    s = s.cast(pl.Float64)
    out = s.cast(pl.Utf8).fill_null("null")
    odd = ~(s.is_between(0.0, 1.0).fill_null(True))
    if odd.any():
        rows = np.flatnonzero(odd.to_numpy())
        out = out.scatter(rows, pl.Series([json.dumps(v) for v in s.gather(rows).to_list()], dtype=pl.Utf8))
    return out.alias(s.name)


def objects(fields: Mapping[str, pl.Series], level: int) -> pl.Series:
    """Per row, the JSON object of ``fields`` (key: a Series of JSON literals, one a row) at ``level``."""
    pad = "\n" + " " * (level + 1)
    parts: list[pl.Expr] = []
    for k, (key, lits) in enumerate(fields.items()):
        parts.append(pl.lit(("{" if k == 0 else ",") + pad + json.dumps(key, ensure_ascii=False) + ": "))
        parts.append(pl.lit(lits))
    parts.append(pl.lit("\n" + " " * level + "}"))
    return pl.select(pl.concat_str(parts).alias("json")).to_series()


def arrays(items: pl.Series, owner: np.ndarray, n: int, level: int) -> pl.Series:
    """For each owner 0..n-1, the JSON array (at ``level``) of its ``items`` (JSON texts at ``level`` + 1,
    in order; ``owner[k]`` owns item k, ascending)."""
    pad = "\n" + " " * (level + 1)
    out = pl.Series("json", ["[]"] * n, dtype=pl.Utf8)
    if len(items):
        joined = (
            pl.DataFrame({"o": owner, "s": items})
            .group_by("o", maintain_order=True)
            .agg(pl.col("s").str.join("," + pad))
        )
        body = "[" + pad + joined["s"] + "\n" + " " * level + "]"
        out = out.scatter(joined["o"].to_numpy(), body)
    return out


def document(parts: Iterable[tuple[str, Any]]) -> Iterator[str]:
    """The top-level object, member by member: a key with a small Python value, or a key with an iterable
    of batches (Series of JSON texts of the array's items, at level 2; or one item as an iterator of its
    text's pieces), written as one array at level 1."""
    yield "{"
    for k, (key, member) in enumerate(parts):
        yield ("" if k == 0 else ",") + "\n " + json.dumps(key, ensure_ascii=False) + ": "
        if not isinstance(member, Iterator):
            yield value(member, 1)
            continue
        empty = True
        for batch in member:
            if isinstance(batch, Iterator):  # one item, in text pieces
                yield "[\n  " if empty else ",\n  "
                yield from batch
            elif len(batch):
                yield ("[\n  " if empty else ",\n  ") + batch.str.join(",\n  ").item()
            else:
                continue
            empty = False
        yield "[]" if empty else "\n ]"
    yield "\n}\n"
