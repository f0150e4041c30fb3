"""The library entry point: ``scan(path)`` on the seeds, its dict contract and its polars frames."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dedup import ScanResult, build_corpus, scan

PAIR_KEYS = {"a", "b", "relation", "jaccard", "a_in_b", "b_in_a"}
DOCUMENT_KEYS = {"id", "path", "chars", "cluster", "role"}


@pytest.mark.parametrize("as_type", [str, Path])
def test_scan_seeds_to_dict(seeds, check_seed_result, as_type):
    result = scan(as_type(seeds.dir))
    assert isinstance(result, ScanResult)
    out = result.to_dict()
    assert set(out) == {"meta", "documents", "clusters", "pairs"}
    assert out["meta"]["format_version"] == 2 and out["meta"]["parameters"]["k"] == 5
    check_seed_result(out, seeds)
    # The contract is plain JSON.
    assert json.loads(json.dumps(out)) == out


def test_seed_paths_point_at_the_files(seeds):
    for d in scan(seeds.dir).to_dict()["documents"]:
        assert Path(d["path"]).read_bytes().decode("utf-8") == seeds.text(d["id"])


def test_documents_frame(seeds):
    frame = scan(seeds.dir).documents_frame
    assert isinstance(frame, pl.DataFrame)
    assert frame.height == 5
    assert frame.schema["id"] == pl.Utf8
    assert frame.schema["chars"].is_integer()
    assert frame.schema["cluster"].is_integer()
    assert frame.schema["role"] == pl.Utf8
    rows = {r["id"]: r for r in frame.iter_rows(named=True)}
    assert rows[seeds.original]["role"] == "source"
    assert rows[seeds.wrapper]["role"] == "copy"
    assert rows[seeds.original]["cluster"] == rows[seeds.wrapper]["cluster"] == 0
    assert frame.filter(pl.col("cluster").is_null())["id"].sort().to_list() == sorted(seeds.others)
    assert frame.filter(pl.col("role").is_null()).height == 3


def test_clusters_frame(seeds):
    frame = scan(seeds.dir).clusters_frame
    assert frame.columns[:3] == ["id", "source", "members"]
    assert frame.height == 1
    row = frame.row(0, named=True)
    assert row["id"] == 0
    assert row["source"] == seeds.original
    assert sorted(row["members"]) == sorted([seeds.wrapper, seeds.original])
    assert frame.schema["members"] == pl.List(pl.Utf8)


def test_pairs_frame(seeds):
    frame = scan(seeds.dir).pairs_frame
    assert set(frame.columns) >= PAIR_KEYS
    assert frame.height == 1
    row = frame.row(0, named=True)
    assert (row["a"], row["b"], row["relation"]) == (seeds.wrapper, seeds.original, "contains")
    assert row["b_in_a"] >= 0.8
    for col in ("jaccard", "a_in_b", "b_in_a"):
        assert frame.schema[col] == pl.Float64


def test_frames_agree_with_to_dict(seeds):
    result = scan(seeds.dir)
    out = result.to_dict()
    assert result.documents_frame.select(sorted(DOCUMENT_KEYS)).to_dicts() == [
        {k: d[k] for k in sorted(DOCUMENT_KEYS)} for d in out["documents"]
    ]
    assert result.clusters_frame.select("id", "source", "members").to_dicts() == [
        {k: c[k] for k in ("id", "source", "members")} for c in out["clusters"]
    ]
    frame_pairs = sorted(result.pairs_frame.select(sorted(PAIR_KEYS)).rows())
    dict_pairs = sorted(tuple(p[k] for k in sorted(PAIR_KEYS)) for p in out["pairs"])
    assert frame_pairs == dict_pairs


def test_scan_of_an_in_memory_corpus_matches_the_folder(seeds, check_seed_result):
    texts = [seeds.text(i) for i in seeds.ids]
    from_memory = scan(build_corpus(list(seeds.ids), texts)).to_dict()
    check_seed_result(from_memory, seeds)
    from_folder = scan(seeds.dir).to_dict()

    def strip(result):
        meta = {k: v for k, v in result["meta"].items() if k not in ("timings", "inputs")}
        return {
            **result,
            "meta": meta,
            "documents": [{k: v for k, v in d.items() if k != "path"} for d in result["documents"]],
        }

    assert strip(from_memory) == strip(from_folder)


def test_scan_is_repeatable(seeds):
    first, second = scan(seeds.dir).to_dict(), scan(seeds.dir).to_dict()
    del first["meta"]["timings"], second["meta"]["timings"]
    assert first == second


def test_seeds_with_the_others_removed_still_cluster(tmp_path, seeds, write_files):
    write_files(tmp_path, {i: seeds.text(i) for i in (seeds.wrapper, seeds.original)})
    (cluster,) = scan(tmp_path).to_dict()["clusters"]
    assert cluster["source"] == seeds.original


def test_index_of_and_unknown_ids(seeds):
    result = scan(seeds.dir)
    for i, doc_id in enumerate(result.corpus.ids):
        assert result.index_of(doc_id) == i
    with pytest.raises(KeyError):
        result.index_of("not-there.txt")


@given(
    values=st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 40), max_size=200),
    members=st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 40), max_size=200),
)
def test_boilerplate_membership_is_isin(values, members):
    """Label's membership test against the sorted boilerplate fingerprints (a directory by their top bits,
    ``label.FingerprintSet``) is ``np.isin``, duplicates and all, whatever the values' order."""
    import numpy as np

    from dedup.label import FingerprintSet

    v = np.array(values, dtype=np.uint64)
    s = np.unique(np.array(members, dtype=np.uint64))
    assert FingerprintSet(s, 64).contains(v).tolist() == np.isin(v, s).tolist()
