"""One vocabulary: the phrase for a pair's relation and the names of the measures, the same in every output.

Every view (the scan table, ``diff``, ``show``, ``query``, the HTML report, the serve pages) and the JSON
(``pairs[].phrase``) say a pair's relation with ``phrase``, in terms of ``a`` and ``b``, and put the
articles' names in with ``say``. The rules (also in the README, *Relations and measures*):

- ``A copies B``: a near-duplicate or exact copy whose direction is known; B is the source of A;
- ``A wraps B``: A holds (nearly) all of B inside text of its own (a headline, intro, promo): A copies B;
- ``A abridges B (holds N % of it)``: A holds part of B and B is its source: a rewrite, a trimmed copy or an
  excerpt. N is the share of B found in A, so a copy that holds only part of its source says so;
- ``A contains B (direction unknown)``, ``A and B are near-duplicates (direction unknown)``, ``A and B are the
  same text``: the evidence does not say which is the source;
- ``A and B share passages``: a partial pair, no copy.

The measures: ``Jaccard`` (shared text over the union of both), ``A in B`` (the share of A's text found in
B) and ``B in A``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MEASURES = {"jaccard": "Jaccard", "a_in_b": "A in B", "b_in_a": "B in A"}
MEASURE_NOTE = "A in B: the share of A's text found in B; Jaccard: the text they share over all of both."


def phrase(relation: str | None, copies: int, a_in_b: float, b_in_a: float) -> str:
    """The relation of a pair in words, with ``a`` and ``b`` standing for its two articles.

    ``copies``: 1 when a copies b, -1 when b copies a, 0 when not known; ``a_in_b``/``b_in_a``: the two
    containments (boilerplate aside). None: no relation."""
    if relation is None:
        return "no relation"
    if relation == "partial":
        return "a and b share passages"
    if relation in ("exact", "near-duplicate"):
        if copies:
            copier, source = ("a", "b") if copies > 0 else ("b", "a")
            return f"{copier} copies {source}"
        return "a and b are the same text" if relation == "exact" else "a and b are near-duplicates (direction unknown)"
    container, inner = ("a", "b") if b_in_a >= a_in_b else ("b", "a")
    if not copies:
        return f"{container} contains {inner} (direction unknown)"
    copier = "a" if copies > 0 else "b"
    if copier == container:
        return f"{container} wraps {inner}"
    held = min(a_in_b, b_in_a)  # the share of the container (the source) found in the copy
    return f"{inner} abridges {container} (holds {round(100 * held)} % of it)"


def say(text: str, a: str, b: str) -> str:
    """``phrase``'s words with the articles' names (or "this", "it", ...) in place of ``a`` and ``b`` (the
    phrases use no other word "a" or "b")."""
    words = text.split(" ")
    return " ".join(a if w == "a" else b if w == "b" else w for w in words)


def _copies(row: Mapping[str, Any]) -> int:
    """Which side of a pair row copies: 1 a, -1 b, 0 not known (from phase 2's ``copies`` or the JSON's
    ``copy``)."""
    if row.get("copies") is not None:
        return int(row["copies"])
    copy = row.get("copy")
    return 1 if copy is not None and copy == row.get("a") else -1 if copy is not None and copy == row.get("b") else 0


def pair_words(row: Mapping[str, Any] | None, swap: bool = False) -> str:
    """A pair (a JSON ``pairs`` row, or phase 2's) in words with ``A`` and ``B`` for its articles: ``A`` is the
    row's ``a``, or its ``b`` with ``swap`` (the article a view is about). "no relation" for None."""
    if row is None:
        return "no relation"
    text = row.get("phrase") or phrase(row.get("relation"), _copies(row), row["a_in_b"], row["b_in_a"])
    return say(text, "B", "A") if swap else say(text, "A", "B")


def in_words(words: str, a: str, b: str) -> str:
    """``pair_words``' phrase with other names (or "this", "the source") for ``A`` and ``B``."""
    return " ".join(a if w == "A" else b if w == "B" else w for w in words.split(" "))
