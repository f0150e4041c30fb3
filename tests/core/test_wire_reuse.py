"""Wire reuse (issue 11): versions and rewrites of one agency story are found and the agency text is the
source; a story told many times is never boilerplate; independent stories of one event stay apart."""

from __future__ import annotations

import random
import re

import pytest

from dedup import scan


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?”])\s+", text.replace("\n\n", " ")) if len(s.split()) >= 6]


def _page(site: str, slug: str, date: str, paragraphs: list[str]) -> str:
    head = f"---\ndate: {date}\nurl: https://{site}/news/{slug}\n---\n"
    return head + "\n\n".join(paragraphs) + "\n"


def _reword(sentence: str, rng: random.Random) -> str:
    """A paper's light edit: one word of the sentence swapped for another."""
    words = sentence.split()
    words[rng.randrange(len(words))] = rng.choice(["reportedly", "officials", "later", "also", "now"])
    return " ".join(words)


@pytest.fixture
def family(tmp_path, kit):
    """Three agency versions of one story (first take, fuller lead, correction) and four newspaper rewrites,
    each on its own site with its own lead and kicker, dropping, reordering and rewording sentences."""
    rng = random.Random(11)
    story = _sentences(kit.article().text)[:18]
    assert len(story) >= 14
    v1 = story[:8]
    v2 = story[:12]
    v3 = [s.replace(" said", " told reporters", 1) if k == 3 else s for k, s in enumerate(story[:16])]
    files = {
        "wire/v1.txt": _page(
            "wire.example", "v1", "2024-06-01T08:00:00+00:00", [" ".join(v1[i : i + 2]) for i in range(0, 8, 2)]
        ),
        "wire/v2.txt": _page(
            "wire.example", "v2", "2024-06-01T10:00:00+00:00", [" ".join(v2[i : i + 2]) for i in range(0, 12, 2)]
        ),
        "wire/v3.txt": _page(
            "wire.example", "v3", "2024-06-01T12:00:00+00:00", [" ".join(v3[i : i + 2]) for i in range(0, 16, 2)]
        ),
    }
    story_sentences = set(story) | set(v3)
    for n in range(4):
        taken = [s for s in story[:14] if rng.random() > 0.2]  # drops sentences
        k = rng.randrange(2, len(taken) - 4)
        taken[k : k + 4] = taken[k + 2 : k + 4] + taken[k : k + 2]  # moves two sentences down
        taken = [_reword(s, rng) if rng.random() < 0.15 else s for s in taken]
        lead, kicker = kit.filler(20), kit.filler(12)
        body = [" ".join(taken[i : i + 2]) for i in range(0, len(taken), 2)]
        files[f"papers/p{n}.txt"] = _page(
            f"paper{n}.example", f"r{n}", f"2024-06-01T1{4 + n}:00:00+00:00", [lead, *body, kicker]
        )
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    return tmp_path, story_sentences


def _shingles(text: str) -> set[int]:
    from dedup.ingest.model import front_matter
    from dedup.phase1.normalise import tokenise
    from dedup.phase1.shingle import shingle

    return set(shingle(tokenise([text[front_matter(text)[1] :]]), 5).hashes.tolist())


def test_versions_and_rewrites_cluster_with_the_first_take_as_source(family):
    root, story = family
    agency = set().union(*(_shingles((root / f"wire/v{k}.txt").read_text()) for k in (1, 2, 3)))
    for n in range(4):  # each rewrite takes 40 % or more of its word 5-grams from the agency text
        own = _shingles((root / f"papers/p{n}.txt").read_text())
        assert len(own & agency) >= 0.4 * len(own)
    result = scan(root)
    (cluster,) = result.clusters_frame.to_dicts()
    assert set(cluster["members"]) == {
        "wire/v1.txt",
        "wire/v2.txt",
        "wire/v3.txt",
        *(f"papers/p{n}.txt" for n in range(4)),
    }
    assert cluster["source"] == "wire/v1.txt"
    assert set(cluster["versions"]) == {"wire/v2.txt", "wire/v3.txt"}
    assert set(cluster["derived"]) == {f"papers/p{n}.txt" for n in range(4)}
    # No paragraph that carries the story is boilerplate, however many times it is told.
    for doc in result.to_dict()["documents"]:
        text = result.corpus.texts[result.index_of(doc["id"])]
        for p in doc["paragraphs"]:
            if any(s in text[p["start"] : p["end"]] for s in story):
                assert p["label"] != "boilerplate", (doc["id"], text[p["start"] : p["start"] + 60])
                if doc["id"] != "wire/v3.txt":  # v3's last paragraphs are its own additions
                    assert p["label"] == "syndicated", (doc["id"], text[p["start"] : p["start"] + 60])


def test_a_short_item_taking_half_a_story_is_derived(tmp_path, kit):
    """A 100-word item that takes about half its words from a wire story: contains, with its passage."""
    story = kit.article().take(300, 400)
    taken = " ".join(story.split()[:55])
    own = kit.filler(50)
    (tmp_path / "wire.txt").write_text(story, encoding="utf-8")
    (tmp_path / "brief.txt").write_text(f"{own}\n\n{taken}\n", encoding="utf-8")
    result = scan(tmp_path)
    (pair,) = result.pairs_frame.to_dicts()
    assert (pair["a"], pair["b"], pair["relation"]) == ("wire.txt", "brief.txt", "contains")
    assert 0.4 <= pair["b_in_a"] < 0.6
    (passage,) = result.pair_passages(0)
    assert taken.startswith(
        result.corpus.texts[result.index_of("brief.txt")][passage["b_start"] : passage["b_end"]][:40]
    )


def test_independent_stories_of_one_event_sharing_a_quotation_stay_apart(tmp_path, kit):
    quote = (
        "“We are doing everything we can to bring the people who are still missing home to their families "
        "tonight,” the regional fire chief told reporters outside the station."
    )
    for name, site in (("a.txt", "one.example"), ("b.txt", "two.example"), ("c.txt", "three.example")):
        body = kit.article().take(150, 250).split("\n\n")
        body.insert(1, quote)
        (tmp_path / name).write_text(_page(site, name, "2024-06-01T09:00:00+00:00", body), encoding="utf-8")
    result = scan(tmp_path)
    assert result.pairs_frame.height == 0
    assert result.clusters_frame.height == 0
