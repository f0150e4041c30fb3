"""Syndication on plain folders (issue 19): no rule may need site metadata.

Real files in temporary flat folders, no ``url:`` or other metadata anywhere: a story reused by
several derivatives stays evidence of copying, a site template around unrelated articles stays
boilerplate, and duplicates of a member never outvote its source.
"""

from __future__ import annotations

import shutil

import pytest

from dedup import scan

LINKING = {"exact", "near-duplicate", "contains"}


def _pairs(result) -> dict[frozenset[str], str]:
    frame = result.pairs_frame
    return {frozenset((a, b)): r for a, b, r in zip(frame["a"], frame["b"], frame["relation"])}


def _labels(result, doc: str) -> list[str]:
    para = result.paragraphs_frame
    return para.filter(para["doc"] == doc)["label"].to_list()


def _source_and_rewrites(kit, n: int = 5):
    """A source of six paragraphs and ``n`` partial rewrites: rewrite i takes paragraphs i..i+2 (so each
    paragraph is in two or three rewrites, each rewrite holds a different part of the source) and puts
    its own text of about the same length around them."""
    article = kit.article()
    paras = [p for p in article.paragraphs if len(p.split()) >= 25][:6]
    assert len(paras) == 6, "need six paragraphs of 25+ words"
    rewrites = []
    for i in range(n):
        taken = [paras[(i + k) % 6] for k in range(3)]
        own = kit.filler(sum(len(p.split()) for p in taken)).split("\n\n")
        half = len(own) // 2
        rewrites.append("\n\n".join([*own[:half], *taken, *own[half:]]))
    return "\n\n".join(paras), rewrites


@pytest.mark.parametrize("templated", [False, True], ids=["bare", "under-a-site-template"])
def test_partial_rewrites_pair_with_their_source_without_metadata(tmp_path, kit, write_files, templated):
    source, rewrites = _source_and_rewrites(kit)
    files = {"source.txt": source}
    for i, text in enumerate(rewrites):
        # With a template: the odd rewrites are reposts of one site, beside three unrelated articles of it.
        files[f"rewrite{i}.txt"] = kit.site_repost(text) if templated and i % 2 else text
    others = [kit.body() for _ in range(3)]
    for i, body in enumerate(others):
        files[f"other{i}.txt"] = kit.site_repost(body) if templated else body
    write_files(tmp_path, files)

    result = scan(tmp_path)
    pairs = _pairs(result)
    for i in range(len(rewrites)):
        assert pairs.get(frozenset(("source.txt", f"rewrite{i}.txt"))) in LINKING, i
    (cluster,) = result.clusters_frame.iter_rows(named=True)
    assert cluster["source"] == "source.txt"
    assert sorted(cluster["members"]) == sorted(["source.txt", *(f"rewrite{i}.txt" for i in range(len(rewrites)))])
    # Every paragraph of the source is shared with a rewrite: syndicated, none boilerplate.
    assert set(_labels(result, "source.txt")) == {"syndicated"}
    for i in range(len(rewrites)):
        assert "syndicated" in _labels(result, f"rewrite{i}.txt")
    if templated:
        # The site's template is still found without a site: boilerplate on every page that carries it.
        for name in ["other0.txt", "rewrite1.txt", "rewrite3.txt"]:
            labels = _labels(result, name)
            assert labels[0] == labels[-1] == labels[-2] == "boilerplate", name
        assert all(not (k & {"other0.txt", "other1.txt", "other2.txt"}) for k in pairs)


def test_unrelated_articles_under_one_template_share_nothing(tmp_path, kit, write_files):
    bodies = [kit.body() for _ in range(3)]  # the template is a minority of each page
    files = {f"page{i}.txt": kit.site_repost(b) for i, b in enumerate(bodies)}
    files.update({f"plain{i}.txt": kit.body(200, 300) for i in range(2)})
    write_files(tmp_path, files)

    result = scan(tmp_path)
    assert len(result.pairs) == 0
    assert len(result.clusters_frame) == 0
    for i in range(3):
        labels = _labels(result, f"page{i}.txt")
        assert labels[0] == labels[-2] == labels[-1] == "boilerplate"
        assert "original" in labels


def test_an_exact_copy_of_the_wrapper_does_not_make_it_the_source(tmp_path, seeds, cli):
    folder = tmp_path / "seeds"
    shutil.copytree(seeds.dir, folder)
    shutil.copyfile(folder / seeds.wrapper, folder / "005_copy_of_000.txt")

    run = cli("scan", folder, "--format", "json")
    assert run.returncode == 0, run.stderr
    out = run.json()
    (cluster,) = out["clusters"]
    assert sorted(cluster["members"]) == sorted([seeds.wrapper, seeds.original, "005_copy_of_000.txt"])
    assert cluster["source"] == seeds.original
    roles = {d["id"]: d["role"] for d in out["documents"]}
    assert roles[seeds.original] == "source"
    assert roles[seeds.wrapper] == roles["005_copy_of_000.txt"] == "copy"
