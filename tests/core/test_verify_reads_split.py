"""Verification's reads of articles (``phase2._read_pairs``) give the same answers however the pairs are split.

A small corpus's reads are one batch; with a scan's kept pool of two workers that batch is split in two so that
both cores read (``READ_SPLIT_PAIRS``). Each look (chains, excerpts' tails, short items' runs) must give, pair
for pair and in the pairs' order, what the one batch read here gives.
"""

from __future__ import annotations

import numpy as np

import dedup.phase2 as phase2
from dedup import pipeline
from dedup.featurestore import FeatureStore
from dedup.options import ScanOptions, store_params
from dedup.workers import Pool, Processes


def test_split_reads_give_the_one_batch_answers(tmp_path, make_kit, write_files, monkeypatch):
    kit = make_kit()
    files = {}
    for i in range(6):  # stories, each reposted by a site and excerpted (its first paragraphs)
        body = kit.body()
        files[f"s{i}.txt"] = body
        files[f"r{i}.txt"] = kit.site_repost(body)
        files[f"e{i}.txt"] = "\n\n".join(body.split("\n\n")[:2])
    options = ScanOptions(workers=2)
    fs = FeatureStore(tmp_path / "store", params=store_params(options), create=True)
    folder = write_files(tmp_path / "in", files)
    names, _ = pipeline.ingest(fs, str(folder), options, lambda *a: None)
    fs.commit(names)
    table = phase2.DocTable(fs.docs())
    a, b = np.triu_indices(len(table), 1)  # every pair: the related ones among them
    context = phase2._ReadContext(fs, options.k, options)
    with Pool(2) as pool:
        for kind in ("spread", "tail", "runs"):
            monkeypatch.setattr(phase2, "READ_SPLIT_PAIRS", 1 << 40)
            whole = phase2._read_pairs(Processes(2, pool), kind, context, table, a, b)
            monkeypatch.setattr(phase2, "READ_SPLIT_PAIRS", 2)
            split = phase2._read_pairs(Processes(2, pool), kind, context, table, a, b)
            assert len(whole) == len(split) == len(a)
            for w, g in zip(whole, split):
                if kind == "runs":
                    assert np.array_equal(w[0], g[0]) and w[1] == g[1]
                else:
                    assert np.array_equal(w, g)
            if kind == "runs":  # a story's runs in its repost and excerpt: not all nothing
                assert max(len(runs) for runs, _ in whole) > 0
