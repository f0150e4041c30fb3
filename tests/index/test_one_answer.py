"""One answer in scan, query and serve (issue 28): a rewrite of an indexed original that an aggregator's
near-copy of it is also indexed beside is paired with both by ``dedup query`` and ``/api/query``, as by
``dedup scan``; and ``scan DIR --index`` lists an article both in DIR and in the index once."""

from __future__ import annotations

import pytest

from tests.conftest import SEED_ORIGINAL, SEED_OTHERS, SEED_WRAPPER, SEEDS
from tests.support.serving import Server


def _pairs(answer: dict, doc: str) -> dict[str, str]:
    """The relation of ``doc``'s pairs, by partner."""
    return {(p["b"] if p["a"] == doc else p["a"]): p["relation"] for p in answer["pairs"] if doc in (p["a"], p["b"])}


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    """An original, an aggregator's near-copy of it (its line, one word changed, its footer) and a paper's
    rewrite (its own lead, two paragraphs in three kept, another story's paragraph put in)."""
    root = tmp_path_factory.mktemp("three")
    original = (SEEDS / SEED_ORIGINAL).read_text(encoding="utf-8")
    other = [p for p in (SEEDS / SEED_OTHERS[1]).read_text(encoding="utf-8").split("\n") if p.strip()]
    paras = [p for p in original.split("\n") if p.strip()]
    near = "From the wires:\n" + original.replace("advised followers", "told followers") + "\nFollow us for more.\n"
    kept = ["Telegram's chief has again criticised Paris, this time over a police search of X's offices."]
    for i, p in enumerate(paras):
        if i % 3 != 2:
            kept.append(p)
        elif i % 6 == 2:
            kept.append(other[i % len(other)])
    (root / "archive").mkdir()
    (root / "archive" / "original.txt").write_text(original, encoding="utf-8")
    (root / "archive" / "nearcopy.txt").write_text(near, encoding="utf-8")
    (root / "new").mkdir()
    (root / "new" / "rewrite.txt").write_text("\n".join(kept), encoding="utf-8")
    (root / "all").mkdir()
    for f in [*(root / "archive").iterdir(), root / "new" / "rewrite.txt"]:
        (root / "all" / f.name).write_bytes(f.read_bytes())
    return root


def test_a_rewrite_is_paired_with_the_original_and_its_near_copy_by_query_scan_and_serve(three, cli):
    index = three / "index"
    assert cli("index", "add", three / "archive", "--index", index, "-q").returncode == 0
    scanned = _pairs(cli("scan", three / "all", "--format", "json").json(), "rewrite.txt")
    assert set(scanned) == {"original.txt", "nearcopy.txt"}
    with_index = _pairs(cli("scan", three / "new", "--index", index, "--format", "json").json(), "rewrite.txt")
    assert with_index == scanned
    asked = cli("query", three / "new" / "rewrite.txt", "--index", index, "--format", "json").json()
    assert _pairs(asked, "rewrite.txt") == scanned
    assert {p["indexed"] for p in asked["pairs"]} == {"original.txt", "nearcopy.txt"}
    text = (three / "new" / "rewrite.txt").read_text(encoding="utf-8")
    with Server(index) as server:
        served = server.client.post("/api/query", json={"text": text, "id": "rewrite.txt"}).json()
    assert _pairs(served, "rewrite.txt") == scanned


def test_scan_with_an_index_lists_an_indexed_article_once(tmp_path, cli):
    index = tmp_path / "index"
    assert cli("index", "add", *sorted(SEEDS.glob("00[1-4]*")), "--index", index, "-q").returncode == 0
    run = cli("scan", SEEDS, "--index", index, "--format", "json")
    assert run.returncode == 0, run.stderr
    data = run.json()
    ids = [d["id"] for d in data["documents"]]
    assert sorted(ids) == sorted(p.name for p in SEEDS.iterdir())  # 5 documents, each once
    assert {d["id"]: d["indexed"] for d in data["documents"]} == {
        SEED_WRAPPER: False,
        SEED_ORIGINAL: True,
        **dict.fromkeys(SEED_OTHERS, True),
    }
    assert data["meta"]["inputs"]["already_indexed"] == 4
    assert all(p["a"] != p["b"] for p in data["pairs"])
    assert [(c["source"], sorted(c["members"])) for c in data["clusters"]] == [
        (SEED_ORIGINAL, sorted([SEED_WRAPPER, SEED_ORIGINAL]))
    ]
    # Every article of the folder already indexed: still a scan of them, not "no readable articles".
    only = tmp_path / "only"
    only.mkdir()
    (only / SEED_ORIGINAL).write_bytes((SEEDS / SEED_ORIGINAL).read_bytes())
    again = cli("scan", only, "--index", index, "--format", "json")
    assert again.returncode == 0, again.stderr
    assert len(again.json()["documents"]) == 4
