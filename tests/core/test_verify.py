"""Finding and verifying copies: wrapped stories, site boilerplate, exact and near duplicates."""

from __future__ import annotations

import itertools
import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup import build_corpus, scan
from dedup.lsh import signature_pairs
from dedup.phase1.normalise import tokenise
from dedup.phase1.shingle import shingle
from dedup.verify import CLUSTERING


def words(text: str) -> int:
    return len(text.split())


def _pairs(result) -> dict[frozenset[str], dict]:
    return {frozenset((p["a"], p["b"])): p for p in result.to_dict()["pairs"]}


def _clusters(result) -> set[tuple[str, frozenset[str]]]:
    return {(c["source"], frozenset(c["members"])) for c in result.to_dict()["clusters"]}


# ---------------------------------------------------------------- a short story wrapped in a long page


@pytest.mark.parametrize("start", [0, 7, 14, 21, 28])
def test_short_story_wrapped_in_three_times_its_length_is_contained(tmp_path, write_files, make_kit, start):
    kit = make_kit(start)
    story = kit.story()
    wrapped = kit.wrap(story, factor=3)
    assert 150 <= words(story) <= 250
    assert words(wrapped) >= 4 * words(story) - 10
    write_files(
        tmp_path,
        {"orig/story.txt": story, "site/wrapped.txt": wrapped, **{f"other/{i}.txt": kit.body() for i in range(3)}},
    )
    result = scan(tmp_path)
    pairs = result.to_dict()["pairs"]
    assert len(pairs) == 1, pairs
    (pair,) = pairs
    assert (pair["a"], pair["b"], pair["relation"]) == ("site/wrapped.txt", "orig/story.txt", "contains")
    assert pair["b_in_a"] >= 0.8
    assert pair["a_in_b"] <= 0.4
    assert _clusters(result) == {("orig/story.txt", frozenset({"orig/story.txt", "site/wrapped.txt"}))}


@given(st.data())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_wrapped_story_is_found_whatever_the_story_and_wrapper(aeb_articles, data):
    picks = data.draw(st.lists(st.sampled_from(range(len(aeb_articles))), min_size=4, max_size=4, unique=True))
    story = aeb_articles[picks[0]].take(150, 250)
    intro, promo, disclaimer = (aeb_articles[i].take(words(story), words(story) + 20) for i in picks[1:])
    layout = data.draw(st.sampled_from(["middle", "end", "start"]), label="layout")
    parts = {
        "middle": [intro, story, promo, disclaimer],
        "end": [intro, promo, disclaimer, story],
        "start": [story, intro, promo, disclaimer],
    }[layout]
    result = scan(build_corpus(["story.txt", "wrapped.txt"], [story, "\n\n".join(parts)]))
    pairs = result.to_dict()["pairs"]
    assert [(p["a"], p["b"], p["relation"]) for p in pairs] == [("wrapped.txt", "story.txt", "contains")]
    assert pairs[0]["b_in_a"] >= 0.8


def test_banding_pairs_are_datasketchs(kit):
    """``lsh.signature_pairs`` proposes exactly the pairs datasketch's ``MinHashLSH`` finds with the same
    bands and rows, over the same signatures (near-duplicates, a wrapped story, unrelated articles)."""
    from datasketch import MinHashLSH

    from dedup.options import DEFAULT_NUM_PERM, DEFAULT_SEED, optimal_banding
    from dedup.phase1.sign import signatures, to_lean_minhash

    story, body = kit.story(), kit.body()
    texts = [story, kit.wrap(story), body, body.replace(" the ", " a ", 3), *(kit.body() for _ in range(8))]
    sh = shingle(tokenise(texts))
    sig = signatures(sh.hashes, sh.offsets, DEFAULT_NUM_PERM, DEFAULT_SEED)
    for threshold in (0.3, 0.5, 0.8):
        bands, rows = optimal_banding(threshold, DEFAULT_NUM_PERM)
        lsh = MinHashLSH(num_perm=DEFAULT_NUM_PERM, params=(bands, rows))
        minhashes = [to_lean_minhash(s, DEFAULT_SEED) for s in sig]
        for i, m in enumerate(minhashes):
            lsh.insert(i, m)
        theirs = {tuple(sorted((i, j))) for i, m in enumerate(minhashes) for j in lsh.query(m) if j != i}
        ours = {tuple(p) for p in signature_pairs(sig, bands, rows).tolist()}
        assert ours == theirs
        assert (2, 3) in ours


# ---------------------------------------------------------------- one site's template around different articles


@pytest.mark.parametrize("n_reposts", [3, 6])
@pytest.mark.parametrize("length", ["full-article", "short-story"])
def test_site_template_does_not_pair_different_articles(tmp_path, write_files, kit, n_reposts, length):
    """A site reposts different articles under the same ~80-word header, footer and disclaimer.

    The template recurs in 3+ documents that are not copies, so it is boilerplate: the reposts are
    not paired with each other. Two of the reposted articles are also in the folder as published by
    their original outlet; those real copies must still be found.
    """
    assert all(70 <= words(t) <= 95 for t in (kit.site_header, kit.site_footer, kit.site_disclaimer))
    bodies = [kit.body() if length == "full-article" else kit.story() for _ in range(n_reposts)]
    files = {f"site/repost{i}.txt": kit.site_repost(body) for i, body in enumerate(bodies)}
    files |= {"outlet/original0.txt": bodies[0], "outlet/original1.txt": bodies[1]}
    files |= {f"other/{i}.txt": kit.body() for i in range(2)}
    write_files(tmp_path, files)
    result = scan(tmp_path)
    pairs = _pairs(result)

    reposts = [f"site/repost{i}.txt" for i in range(n_reposts)]
    for x, y in itertools.combinations(reposts, 2):
        assert frozenset((x, y)) not in pairs, pairs[frozenset((x, y))]

    for i in range(2):
        repost, original = f"site/repost{i}.txt", f"outlet/original{i}.txt"
        pair = pairs.get(frozenset((repost, original)))
        assert pair is not None, f"{repost} / {original} not found"
        assert pair["relation"] in ("contains", "near-duplicate")
        assert (pair["a"], pair["b"]) == (repost, original)
        assert pair["b_in_a"] >= 0.8
    assert len(pairs) == 2, sorted(pairs)
    assert _clusters(result) == {
        ("outlet/original0.txt", frozenset({"site/repost0.txt", "outlet/original0.txt"})),
        ("outlet/original1.txt", frozenset({"site/repost1.txt", "outlet/original1.txt"})),
    }


@given(st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_site_template_does_not_pair_any_short_stories(aeb_articles, make_kit, data):
    """Same as above for any 3 to 6 short stories (150-250 words): the template must never link them."""
    kit = make_kit()
    picks = data.draw(st.lists(st.sampled_from(range(len(aeb_articles))), min_size=3, max_size=6, unique=True))
    lengths = data.draw(st.lists(st.integers(150, 250), min_size=len(picks), max_size=len(picks)), label="words")
    stories = [aeb_articles[i].take(n - 5, n) for i, n in zip(picks, lengths)]
    ids = [f"site/repost{i}.txt" for i in range(len(stories))] + ["outlet/original0.txt"]
    texts = [kit.site_repost(s) for s in stories] + [stories[0]]
    result = scan(build_corpus(ids, texts))
    pairs = _pairs(result)
    assert set(pairs) == {frozenset(("site/repost0.txt", "outlet/original0.txt"))}, sorted(map(sorted, pairs))
    assert _clusters(result) == {
        ("outlet/original0.txt", frozenset({"site/repost0.txt", "outlet/original0.txt"})),
    }


def test_site_template_alone_links_nothing(tmp_path, write_files, kit):
    write_files(tmp_path, {f"site/{i}.txt": kit.site_repost(kit.body()) for i in range(4)})
    result = scan(tmp_path)
    assert result.to_dict()["pairs"] == []
    assert result.to_dict()["clusters"] == []


# ---------------------------------------------------------------- exact and near duplicates


def _retype(text: str) -> str:
    """The same text as another site might store it: ASCII quotes, no-break spaces, upper case, CRLF."""
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = re.sub(r"(?<=\w) (?=\w)", lambda m: "\u00a0" if m.start() % 3 == 0 else " ", text)
    text = "\r\n".join(line.upper() if i % 2 else line for i, line in enumerate(text.split("\n")))
    return text.replace("\r\n\r\n", "\r\n\r\n\r\n")


def test_copies_identical_after_normalisation_are_exact(tmp_path, write_files, kit):
    body = kit.body()
    body = body.replace("'", "’") if "’" not in body else body  # make sure there is typography to fold
    retyped = _retype(body)
    assert retyped != body
    write_files(tmp_path, {"a.txt": body, "b.txt": retyped, "c.md": body.upper(), "d.txt": kit.body()})
    result = scan(tmp_path)
    pairs = result.to_dict()["pairs"]
    assert {frozenset((p["a"], p["b"])) for p in pairs} == {
        frozenset(("a.txt", "b.txt")),
        frozenset(("a.txt", "c.md")),
        frozenset(("b.txt", "c.md")),
    }
    for p in pairs:
        assert (p["relation"], p["jaccard"], p["a_in_b"], p["b_in_a"]) == ("exact", 1.0, 1.0, 1.0)
    assert [set(c["members"]) for c in result.to_dict()["clusters"]] == [{"a.txt", "b.txt", "c.md"}]


def _edit_words(text: str, positions: list[int]) -> str:
    tokens = text.split(" ")
    for p in positions:
        tokens[p] = "replaced" + str(p)
    return " ".join(tokens)


@pytest.mark.parametrize("n_edits", [1, 3, 5])
def test_a_few_edited_words_make_a_near_duplicate(tmp_path, write_files, kit, n_edits):
    body = kit.body(400, 600)
    n = len(body.split(" "))
    edited = _edit_words(body, [n * (i + 1) // (n_edits + 1) for i in range(n_edits)])
    write_files(tmp_path, {"original.txt": body, "edited.txt": edited, "other.txt": kit.body()})
    result = scan(tmp_path)
    pairs = result.to_dict()["pairs"]
    assert len(pairs) == 1
    (p,) = pairs
    assert {p["a"], p["b"]} == {"original.txt", "edited.txt"}
    assert p["relation"] == "near-duplicate"
    assert 0.8 <= min(p["a_in_b"], p["b_in_a"]) < 1.0
    assert p["jaccard"] < 1.0


def test_near_duplicate_with_a_sentence_added_and_one_removed(tmp_path, write_files, kit):
    paragraphs = kit.article().take(500, 700).split("\n\n")
    edited = paragraphs[:]
    edited.insert(2, "This story has been updated with a comment from the company spokesperson.")
    shortest = min(range(3, len(edited)), key=lambda i: words(edited[i]))
    del edited[shortest]
    assert words("\n\n".join(edited)) >= 0.9 * words("\n\n".join(paragraphs))
    write_files(tmp_path, {"v1.txt": "\n\n".join(paragraphs), "v2.txt": "\n\n".join(edited)})
    (p,) = scan(tmp_path).to_dict()["pairs"]
    assert p["relation"] == "near-duplicate"


# ---------------------------------------------------------------- different articles


def test_different_articles_on_the_same_topic_are_not_paired(seeds):
    texts = {i: seeds.text(i) for i in (seeds.original, *seeds.others)}
    result = scan(build_corpus(list(texts), list(texts.values())))
    assert result.to_dict()["pairs"] == []
    assert result.to_dict()["clusters"] == []


def test_many_unrelated_real_articles_give_no_pairs(aeb_articles):
    arts = aeb_articles[:60]
    result = scan(build_corpus([a.key for a in arts], [a.text for a in arts]))
    assert result.pairs_frame.height == 0
    assert result.clusters_frame.height == 0


def test_shared_quotation_is_partial_and_not_clustered(tmp_path, write_files, kit):
    quote = kit.article().take(90, 110)
    a = "\n\n".join([kit.body(), quote, kit.body(200, 300)])
    b = "\n\n".join([kit.body(), quote])
    write_files(tmp_path, {"a.txt": a, "b.txt": b})
    result = scan(tmp_path)
    (p,) = result.to_dict()["pairs"]
    assert p["relation"] == "partial"
    assert p["relation"] not in CLUSTERING
    assert result.to_dict()["clusters"] == []
    assert all(d["cluster"] is None for d in result.to_dict()["documents"])


def test_measures_are_consistent(tmp_path, write_files, seeds, kit):
    """Jaccard follows from the two containments: |A∩B|/|A∪B| = 1 / (1/a_in_b + 1/b_in_a - 1)."""
    story, body = kit.story(), kit.body()
    files = {i: seeds.text(i) for i in seeds.ids}
    files |= {"story.txt": story, "wrapped.txt": kit.wrap(story), "body.txt": body, "edited.txt": body[:-200]}
    write_files(tmp_path, files)
    pairs = scan(tmp_path).to_dict()["pairs"]
    assert len(pairs) >= 3
    for p in pairs:
        assert p["a"] != p["b"]
        assert 0 < p["a_in_b"] <= p["b_in_a"] <= 1
        assert p["jaccard"] == pytest.approx(1 / (1 / p["a_in_b"] + 1 / p["b_in_a"] - 1), abs=2e-3)


def _retype_randomly(text: str, rng: random.Random) -> str:
    """``text`` with typography another site might use: each change is one the normaliser must fold."""
    swaps = {"’": "'", "'": "’", "“": '"', "”": '"', '"': "“", "–": "-", "—": "-"}
    out = []
    for word in re.split(r"( )", text):
        if word == " ":
            out.append(rng.choice([" ", " ", "\u00a0", "\u2009", "\u3000"]))
            continue
        choice = rng.random()
        if choice < 0.1:
            word = word.upper()
        elif choice < 0.15:
            word = "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in word)
        out.append("".join(swaps.get(c, c) if rng.random() < 0.5 else c for c in word))
    retyped = "".join(out)
    return retyped.replace("\n", "\r\n") if rng.random() < 0.5 else retyped


@given(st.data())
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_retyped_copy_is_exact(aeb_articles, data):
    article = aeb_articles[data.draw(st.integers(0, len(aeb_articles) - 1), label="article")]
    rng = random.Random(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    text = article.take(150, 400)
    retyped = _retype_randomly(text, rng)
    result = scan(build_corpus(["a.txt", "b.txt"], [text, retyped]))
    pairs = result.to_dict()["pairs"]
    assert [(p["relation"], p["jaccard"]) for p in pairs] == [("exact", 1.0)]
