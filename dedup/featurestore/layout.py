"""The feature store's format on disk: its name and version (the manifest's ``format`` and ``version``), the
schema of ``docs.parquet`` and the vocabulary of a shard's files, for the writer (``store``) and the checks
(``validate``) alike.

Layout (``FORMAT_VERSION`` 1), a directory::

    manifest.json            {"format": "dedup-feature-store", "version": 1,
                              "params": {"k": 5, "num_perm": 128, "seed": 1}, "shards": ["000000-0000", ...]}
    shards/<name>/           one batch of articles, written once and never changed
        docs.parquet         one row per article: id, path, kind, title, url, site, date, encoding,
                             chars, bytes, body_start, content_hash, n_shingles, has_text, cut
        text.bin             the extracted texts, UTF-8 (lone surrogates kept), back to back
        text_offsets.npy     int64 (n + 1): byte offsets of each text in text.bin
        paragraphs.npy       int64 (p, 2): start and end (code points) of every paragraph, article by article
        para_offsets.npy     int64 (n + 1): article i's paragraphs are rows para_offsets[i]:para_offsets[i+1]
        postings.npy         uint64: the distinct shingle fingerprints of every article, sorted by fingerprint
        posting_docs.npy     uint32: the article (row in docs.parquet) of each fingerprint
        bucket_bounds.npy    int64 (257): where each bucket (a fingerprint's top 8 bits) starts in the postings
        directory.npy        int32 (2**bits + 1), merged index shards only: the same by the top ``bits`` bits
                             (``directory_bits``), for the index's look-ups; computed when absent
        filter.npy           uint8, merged index shards only: a Bloom filter of the fingerprints (``bloom``);
                             computed when absent
        signatures.npy       uint32 (n, num_perm): MinHash signature of each article
        token_index.npy      int64 (n + 1, 2), optional: article i's word tokens are rows index[i, 0]:[i + 1, 0]
                             of token_words, its wide spans rows index[i, 1]:[i + 1, 1] of token_wide
        token_words.npy      uint32 (t,), optional: each token in text order, in the compact form (``tokens``):
                             its hash's row in token_vocab (24 bits), its gap and length (8 bits)
        token_vocab.npy      uint64 (v,), optional: the shard's distinct token hashes (``normalise.tokenise``)
        token_wide.npy       uint32 (w, 2), optional: start and end (code points) of the tokens whose gap or
                             length is too long for their word; phase 2 builds shingles, passages and labels
                             from these instead of tokenising the text again. An article with text but no
                             tokens here (one over ``features.LONG_CHARS``, or a shard without these files:
                             written before them, with ``--no-keep-tokens``, or merged) is tokenised from its
                             text. (The earlier form, token_offsets/token_hashes/token_spans, is not read.)
"""

from __future__ import annotations

import numpy as np
import polars as pl

FORMAT = "dedup-feature-store"
FORMAT_VERSION = 1

DOC_SCHEMA = {
    "id": pl.Utf8,
    "path": pl.Utf8,
    "kind": pl.Utf8,
    "title": pl.Utf8,
    "url": pl.Utf8,
    "site": pl.Utf8,
    "date": pl.Utf8,
    "encoding": pl.Utf8,
    "chars": pl.Int64,
    "bytes": pl.Int64,
    "body_start": pl.Int64,
    "content_hash": pl.UInt64,
    "n_shingles": pl.Int64,
    "has_text": pl.Boolean,
    "cut": pl.Int64,
}

_I8, _U8, _U4, _U1, _I4 = (np.dtype(t) for t in (np.int64, np.uint64, np.uint32, np.uint8, np.int32))
# file -> (dtypes allowed, dimensions, required); None: not an array
FILES: dict[str, tuple[tuple[np.dtype, ...], int, bool] | None] = {
    "docs.parquet": None,
    "text.bin": None,
    "text_offsets.npy": ((_I8,), 1, True),
    "paragraphs.npy": ((_I8,), 2, True),
    "para_offsets.npy": ((_I8,), 1, True),
    "postings.npy": ((_U8,), 1, True),
    "posting_docs.npy": ((_U4,), 1, True),
    "bucket_bounds.npy": ((_I8,), 1, False),
    "directory.npy": ((_I4, _I8), 1, False),
    "filter.npy": ((_U1,), 1, False),
    "signatures.npy": ((_U4,), 2, True),
    "token_index.npy": ((_I8,), 2, False),
    "token_words.npy": ((_U4,), 1, False),
    "token_vocab.npy": ((_U8,), 1, False),
    "token_wide.npy": ((_U4,), 2, False),
}
TOKEN_FILES = ("token_index", "token_words", "token_vocab", "token_wide")  # all four or none
REQUIRED = frozenset(f for f, spec in FILES.items() if spec is None or spec[2])
