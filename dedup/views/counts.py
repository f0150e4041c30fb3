"""The counts a result's last line and ``--format summary`` print (how many documents, clusters and related pairs),
in plain words: no ``rich``, so a scan that prints only its summary or nothing (``-o FILE``, ``--format none``) does
not import the terminal's views (~0.1 s of start-up)."""

from __future__ import annotations

from typing import Any


def plural(n: int, noun: str) -> str:
    """``1 document``, ``2 documents``, ``1,000 documents``."""
    return f"{n:,} {noun}{'s' * (n != 1)}"


def contract_counts(data: dict[str, Any]) -> dict[str, int]:
    """The ``counts`` of a JSON contract (``ScanResult.counts``), or counted from it when it has none."""
    return data.get("counts") or {
        "documents": len(data["documents"]),
        "clusters": len(data["clusters"]),
        "in_clusters": sum(d.get("cluster") is not None for d in data["documents"]),
        "pairs": len(data["pairs"]),
        "partial": sum(r["relation"] == "partial" for r in data["pairs"]),
    }


def counts_line(counts: dict[str, int]) -> str:
    """The last line of the clusters table, and all of ``--format summary``: how many documents, clusters,
    documents in them and related pairs a result holds."""
    return (
        f"{plural(counts['documents'], 'document')}, {plural(counts['clusters'], 'cluster')} covering "
        f"{plural(counts['in_clusters'], 'document')}, {plural(counts['pairs'], 'related pair')} "
        f"({counts['partial']} partial)."
    )
