"""Clusters and sources: the result never depends on file order or names, and the original is the source."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup import build_corpus, scan


def _canonical(result: dict) -> dict:
    """``to_dict()`` output without anything that depends on cluster numbering or pair orientation.

    Clusters become (source, member set); each document maps to (chars, role, its cluster's members);
    each related pair maps (x, y) to (relation, jaccard, share of x found in y) for both orders.
    """
    members = {c["id"]: frozenset(c["members"]) for c in result["clusters"]}
    docs = {d["id"]: (d["chars"], d["role"], members.get(d["cluster"])) for d in result["documents"]}
    clusters = {(c["source"], frozenset(c["members"])) for c in result["clusters"]}
    pairs = {}
    for p in result["pairs"]:
        pairs[(p["a"], p["b"])] = (p["relation"], p["jaccard"], p["a_in_b"])
        pairs[(p["b"], p["a"])] = (p["relation"], p["jaccard"], p["b_in_a"])
    return {"documents": docs, "clusters": clusters, "pairs": pairs}


def _renamed(result: dict, mapping: dict[str, str]) -> dict:
    docs = [{**d, "id": mapping[d["id"]]} for d in result["documents"]]
    clusters = [
        {**c, "source": mapping[c["source"]], "members": [mapping[m] for m in c["members"]]} for c in result["clusters"]
    ]
    pairs = [{**p, "a": mapping[p["a"]], "b": mapping[p["b"]]} for p in result["pairs"]]
    return {"documents": docs, "clusters": clusters, "pairs": pairs}


def _without_paths(result: dict) -> dict:
    """The result without file paths and wall-clock timings (the folder differs; time always does)."""
    meta = {k: v for k, v in result["meta"].items() if k != "timings"}
    docs = [{k: v for k, v in d.items() if k != "path"} for d in result["documents"]]
    return {**result, "meta": meta, "documents": docs}


def _write(root: Path, files: dict[str, str], order: list[str]) -> None:
    for rel in order:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[rel].encode("utf-8"))


@pytest.fixture(scope="module")
def mixed_corpus(make_kit) -> dict[str, str]:
    """A folder's worth of articles whose clusters and sources are fixed by their content alone.

    - story0 wrapped by two different pages (source: story0),
    - story1 wrapped by one page,
    - three different articles reposted under one site template, one of them also as published,
    - three unrelated articles.
    No two texts are exact or near copies, so no source is decided by the id tie-break.
    """
    kit = make_kit(40)
    story0, story1 = kit.story(), kit.story()
    reposted = [kit.body() for _ in range(3)]
    files = {
        "story0.txt": story0,
        "wrap0a.txt": kit.wrap(story0),
        "wrap0b.md": kit.wrap(story0),
        "story1.txt": story1,
        "wrap1.txt": kit.wrap(story1),
        **{f"repost{i}.txt": kit.site_repost(body) for i, body in enumerate(reposted)},
        "reposted0-original.txt": reposted[0],
        **{f"single{i}.txt": kit.body() for i in range(3)},
    }
    return files


def test_mixed_corpus_result(tmp_path, mixed_corpus):
    _write(tmp_path, mixed_corpus, sorted(mixed_corpus))
    result = _canonical(scan(tmp_path).to_dict())
    assert result["clusters"] == {
        ("story0.txt", frozenset({"story0.txt", "wrap0a.txt", "wrap0b.md"})),
        ("story1.txt", frozenset({"story1.txt", "wrap1.txt"})),
        ("reposted0-original.txt", frozenset({"reposted0-original.txt", "repost0.txt"})),
    }
    for name in ("repost1.txt", "repost2.txt", "single0.txt", "single1.txt", "single2.txt"):
        assert result["documents"][name][1:] == (None, None)


name_strategy = st.tuples(
    st.sampled_from(["", "a/", "a/b/", "z/"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=10),
    st.sampled_from([".txt", ".md"]),
).map("".join)


@given(st.data())
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@pytest.mark.slow
def test_renaming_and_reordering_files_never_changes_the_result(mixed_corpus, data):
    originals = sorted(mixed_corpus)
    new_names = data.draw(
        st.lists(name_strategy, min_size=len(originals), max_size=len(originals), unique=True), label="names"
    )
    mapping = dict(zip(originals, new_names))
    order = data.draw(st.permutations(new_names), label="creation order")
    with tempfile.TemporaryDirectory() as d1, tempfile.TemporaryDirectory() as d2:
        _write(Path(d1), mixed_corpus, originals)
        renamed_files = {mapping[k]: v for k, v in mixed_corpus.items()}
        _write(Path(d2), renamed_files, list(order))
        reference = scan(d1).to_dict()
        renamed = scan(d2).to_dict()
    back = {v: k for k, v in mapping.items()}
    assert _canonical(_renamed(renamed, back)) == _canonical(reference)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_creation_order_of_the_same_files_never_changes_the_result(tmp_path, mixed_corpus, kit, seed):
    files = dict(mixed_corpus)
    body = kit.body()
    files |= {"dup/a.txt": body, "dup/b.txt": body.upper(), "dup/c.txt": body.replace(" the ", " a ", 2)}
    order = sorted(files)
    random.Random(seed).shuffle(order)
    _write(tmp_path / "sorted", files, sorted(files))
    _write(tmp_path / "shuffled", files, order)
    reference = _without_paths(scan(tmp_path / "sorted").to_dict())
    assert _without_paths(scan(tmp_path / "shuffled").to_dict()) == reference


@given(st.data())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@pytest.mark.slow
def test_build_corpus_input_order_never_changes_the_result(mixed_corpus, make_kit, data):
    kit = make_kit(70)
    body = kit.body()
    files = dict(mixed_corpus) | {"dup/a.txt": body, "dup/b.txt": body.upper(), "dup/c.md": body + "\n\nUpdated."}
    ids = sorted(files)
    reference = scan(build_corpus(ids, [files[i] for i in ids])).to_dict()
    shuffled = data.draw(st.permutations(ids))
    result = scan(build_corpus(shuffled, [files[i] for i in shuffled])).to_dict()
    del result["meta"]["timings"], reference["meta"]["timings"]  # wall-clock seconds, never equal
    assert result == reference


# ---------------------------------------------------------------- the source rule


def test_original_is_the_source_whatever_the_names(tmp_path, write_files, kit):
    story = kit.story()
    write_files(
        tmp_path,
        {
            "zzz-original.txt": story,
            "aaa-wrap.txt": kit.wrap(story),
            "bbb-wrap.txt": kit.wrap(story, factor=2),
            "ccc-wrap.md": kit.wrap(story, factor=4),
        },
    )
    result = scan(tmp_path)
    (cluster,) = result.to_dict()["clusters"]
    assert cluster["source"] == "zzz-original.txt"
    assert sorted(cluster["members"]) == ["aaa-wrap.txt", "bbb-wrap.txt", "ccc-wrap.md", "zzz-original.txt"]
    roles = {d["id"]: d["role"] for d in result.to_dict()["documents"]}
    assert roles == {
        "zzz-original.txt": "source",
        "aaa-wrap.txt": "copy",
        "bbb-wrap.txt": "copy",
        "ccc-wrap.md": "copy",
    }
    for p in result.to_dict()["pairs"]:
        if "zzz-original.txt" in (p["a"], p["b"]):
            assert p["b"] == "zzz-original.txt"
            assert p["relation"] == "contains"


def test_seed_original_is_the_source(seeds):
    (cluster,) = scan(seeds.dir).to_dict()["clusters"]
    assert cluster["source"] == seeds.original


def test_original_is_the_source_when_an_excerpt_is_also_republished(tmp_path, write_files, kit):
    paragraphs = kit.article().take(400, 600).split("\n\n")
    full = "\n\n".join(paragraphs)
    excerpt = "\n\n".join([*paragraphs[: max(2, len(paragraphs) * 2 // 3)], "Continue reading…"])
    write_files(tmp_path, {"original.txt": full, "excerpt.txt": excerpt, "wrapped.txt": kit.wrap(full, factor=1)})
    (cluster,) = scan(tmp_path).to_dict()["clusters"]
    assert set(cluster["members"]) == {"original.txt", "excerpt.txt", "wrapped.txt"}
    assert cluster["source"] == "original.txt"


@pytest.mark.parametrize(
    "dates",
    [
        pytest.param(("2024-05-02", "2024-05-01", "2024-06-11"), id="plain-dates"),
        pytest.param(("2024-05-02T09:00:00Z", "2024-05-01T18:30:00Z", "2024-06-11"), id="mixed-formats"),
    ],
)
def test_copies_with_dates_earliest_is_the_source(tmp_path, write_files, kit, dates):
    """The same article published three times with front-matter dates: the earliest is the source."""
    body = kit.body()
    late, early, latest = dates
    write_files(
        tmp_path,
        {
            "a-late.md": f"---\ndate: {late}\n---\n{body}",
            "b-early.md": f"---\ndate: {early}\n---\n{body}",
            "c-latest.md": f"---\ndate: {latest}\n---\n{body}",
        },
    )
    (cluster,) = scan(tmp_path).to_dict()["clusters"]
    assert sorted(cluster["members"]) == ["a-late.md", "b-early.md", "c-latest.md"]
    assert cluster["source"] == "b-early.md"


def test_exact_copies_without_dates_pick_the_smallest_id(tmp_path, write_files, kit):
    body = kit.body()
    write_files(tmp_path, {"m.txt": body, "c.txt": body, "x/a.txt": body.upper()})
    result = scan(tmp_path).to_dict()
    (cluster,) = result["clusters"]
    assert cluster["source"] == "c.txt"
    assert sorted(cluster["members"]) == ["c.txt", "m.txt", "x/a.txt"]
    assert {p["relation"] for p in result["pairs"]} == {"exact"}


def test_copies_of_copies_form_one_cluster(tmp_path, write_files, kit):
    """A wrapper of an edited copy joins the original's cluster through the copy."""
    body = kit.body(400, 600)
    tokens = body.split(" ")
    tokens[len(tokens) // 2] = "reportedly"
    edited = " ".join(tokens)
    write_files(tmp_path, {"original.txt": body, "edited.txt": edited, "wrapped-edited.txt": kit.wrap(edited)})
    result = scan(tmp_path).to_dict()
    (cluster,) = result["clusters"]
    assert sorted(cluster["members"]) == ["edited.txt", "original.txt", "wrapped-edited.txt"]
    assert cluster["source"] in ("original.txt", "edited.txt")


def test_clusters_are_numbered_in_id_order(tmp_path, write_files, kit):
    files = {}
    for prefix in ("m", "b", "x"):
        story = kit.story()
        files |= {f"{prefix}1.txt": story, f"{prefix}2.txt": kit.wrap(story)}
    write_files(tmp_path, files)
    result = scan(tmp_path).to_dict()
    assert [c["id"] for c in result["clusters"]] == [0, 1, 2]
    assert [sorted(c["members"]) for c in result["clusters"]] == [
        ["b1.txt", "b2.txt"],
        ["m1.txt", "m2.txt"],
        ["x1.txt", "x2.txt"],
    ]
    for d in result["documents"]:
        assert d["cluster"] == {"b": 0, "m": 1, "x": 2}[d["id"][0]]


@pytest.mark.parametrize(
    ("lines", "excerpt"),
    [
        (["The minister said the plan would cut waiting lists by a third over two years and", "…", "x"], False),
        (["Officials said the vote would be held on Tuesday after a medical st…", "More at example.com (Daily)"], True),
        (["Officials said the vote would be held on Tuesday.", "Read more… (The Daily Examiner)"], True),
        (["Officials said the vote would be held on Tuesday.", "Continue reading on The Daily Premium"], True),
        (["Officials said the vote would be held on Tuesday.", "Read more: Senate passes budget", "More text."], False),
        (["Continue reading the main story", "The vote will be held on Tuesday."] + ["More."] * 9, False),
        (["He paused. “We will see what happens…”", "Reporting by Jane Doe."], False),
        (["The article ended on a thought that trailed off..."], False),
    ],
)
def test_excerpts_are_told_from_originals(lines, excerpt):
    from dedup.excerpt import is_excerpt
    from dedup.ingest.model import split_paragraphs

    text = "\n".join(lines) + "\n"
    assert is_excerpt(text, np.array(split_paragraphs(text)).reshape(-1, 2)) is excerpt


@settings(max_examples=60, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(
            st.integers(0, 9),
            st.integers(0, 9),
            st.sampled_from(["exact", "near-duplicate", "partial", "excerpt", "other"]),
            st.floats(0, 1),
            st.floats(0, 1),
        ).filter(lambda p: p[0] < p[1]),
        max_size=30,
    ),
    data=st.data(),
)
def test_a_few_pairs_cluster_as_polars_clusters_them(pairs, data):
    """``cluster`` of a few pairs (a query's: numpy and Python) is what its polars path gives: members,
    sources, roles and versions, the mean page containments summed as polars sums them."""
    import polars as pl

    import dedup.cluster as clustering

    n = 10
    frame = pl.DataFrame(
        {
            "a": [p[0] for p in pairs],
            "b": [p[1] for p in pairs],
            "relation": [p[2] for p in pairs],
            "page_a_in_b": [p[3] for p in pairs],
            "page_b_in_a": [p[4] for p in pairs],
        },
        schema={"a": pl.Int64, "b": pl.Int64, "relation": pl.Utf8}
        | dict.fromkeys(["page_a_in_b", "page_b_in_a"], pl.Float64),
    )

    class Docs:
        ids = [f"d{i}" for i in range(n)]
        dates = [data.draw(st.sampled_from([None, "2024-01-01", "2024-01-02"])) for _ in range(n)]

        def __len__(self) -> int:
            return n

    syndicated = np.asarray(data.draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    excerpt = np.asarray(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    site = np.asarray(data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.int64)
    linking = ["exact", "near-duplicate", "partial", "excerpt"]
    few = clustering.cluster(Docs(), frame, linking, syndicated, excerpt, site)
    saved = clustering.FEW_PAIRS
    clustering.FEW_PAIRS = -1
    try:
        many = clustering.cluster(Docs(), frame, linking, syndicated, excerpt, site)
    finally:
        clustering.FEW_PAIRS = saved
    assert few.cluster.tolist() == many.cluster.tolist()
    assert (few.sources, few.members, few.versions, few.ranked, few.role) == (
        many.sources,
        many.members,
        many.versions,
        many.ranked,
        many.role,
    )
    assert few.same_text.tolist() == many.same_text.tolist()


@settings(max_examples=200, deadline=None)
@given(
    sides=st.lists(
        st.tuples(st.integers(0, 5), st.floats(0, 1) | st.sampled_from([0.0, 1.0, 0.5, 1 / 3, 5e-324]), st.booleans()),
        max_size=80,
    ),
)
def test_mean_containments_are_polars_means(sides):
    """``held_by``'s compensated sums are polars' ``mean`` of the same values, bit for bit."""
    import polars as pl

    from dedup.cluster import held_by

    doc = np.asarray([s[0] for s in sides], dtype=np.int64)
    value = np.asarray([s[1] for s in sides], dtype=np.float64)
    other = np.asarray([s[2] for s in sides], dtype=bool)
    got = np.zeros(6)
    # held_by takes a pair's ``other`` once for both of its sides: sides here are two halves of pairs.
    half = len(sides) // 2
    held_by(got, doc[: 2 * half], value[: 2 * half], other[:half])
    frame = pl.DataFrame(
        {"doc": doc[: 2 * half], "held": value[: 2 * half], "other": np.concatenate([other[:half], other[:half]])}
    )
    per_doc = (
        frame.with_columns(pl.col("other").any().over("doc").alias("any_other"))
        .filter(pl.col("other") | ~pl.col("any_other"))
        .group_by("doc")
        .agg(pl.col("held").mean())
    )
    want = np.zeros(6)
    want[per_doc["doc"].to_numpy()] = per_doc["held"].to_numpy()
    assert got.tolist() == want.tolist()
