"""The compact stored token form (``featurestore.tokens``) decodes to exactly the tokens phase 1 computed."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.featurestore import tokens as token_form
from dedup.hashing import KeyTable, distinct
from dedup.phase1.normalise import tokenise

_PIECES = [
    "word",
    "a",
    "don't",
    "Ü",
    "東京",
    "😀x",
    "...",
    "—",
    " ",
    "  ",
    "\n\n",
    "\t" * 20,
    "x" * 15,
    "y" * 40,
    "-" * 16,
]


@settings(max_examples=120, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_PIECES), max_size=60).map("".join), min_size=1, max_size=6))
def test_compact_tokens_decode_to_the_tokens_of_the_texts(texts):
    t = tokenise(texts)
    packed = token_form.encode(t.offsets, t.hashes, t.starts, t.ends)
    assert packed is not None
    assert packed.words.dtype == np.uint32 and packed.words.nbytes == 4 * len(t.hashes)
    # every stretch of consecutive articles decodes alone, as ``Shard.tokens`` reads them
    for a in range(len(texts)):
        for b in range(a + 1, len(texts) + 1):
            lo, hi = packed.index[a, 0], packed.index[b, 0]
            hashes, starts, ends = token_form.decode(
                packed.words[lo:hi],
                np.diff(packed.index[a : b + 1, 0]),
                packed.vocab,
                packed.wide[packed.index[a, 1] : packed.index[b, 1]],
            )
            assert np.array_equal(hashes, t.hashes[lo:hi])
            assert np.array_equal(starts, t.starts[lo:hi]) and np.array_equal(ends, t.ends[lo:hi])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 2**64 - 1), max_size=80, unique=True),
    st.lists(st.integers(0, 2**64 - 1), max_size=80),
)
def test_the_hash_table_finds_each_keys_row_as_a_binary_search_does(keys, others):
    """``KeyTable.find`` (the encoder's and the banal filter's look-up) gives every key's row in the sorted
    keys and -1 for any other hash, whatever the keys collide on (tables of 16 slots and more)."""
    vocab = np.unique(np.array(keys, dtype=np.uint64))
    queries = np.concatenate([vocab, np.array(others, dtype=np.uint64), vocab[::-1]])
    at = np.minimum(np.searchsorted(vocab, queries), max(len(vocab) - 1, 0))
    known = vocab[at] == queries if len(vocab) else np.zeros(len(queries), dtype=bool)
    expected = np.where(known, at, -1)
    assert KeyTable(vocab).find(queries).tolist() == expected.tolist()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=300), st.integers(0, 9000), st.integers(0, 2**32))
def test_distinct_is_np_unique(words, n, seed):
    """``distinct`` (the encoder's vocabulary) is exactly ``np.unique``, on few and on many tokens (the
    direct-mapped table's path), zero and the largest hash included."""
    rng = np.random.default_rng(seed)
    pool = np.array([*words, 0, 2**64 - 1], dtype=np.uint64)
    hashes = pool[rng.integers(0, len(pool), n)]
    assert distinct(hashes).tolist() == np.unique(hashes).tolist()


_SAME_HASH = ["man", "men", "ﬁne", "fine", "FINE", "rn", "m", "z" * 70, "Straße", "STRASSE", "\U0001d400b"]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(_PIECES + _SAME_HASH), max_size=40).map(" ".join), min_size=1, max_size=5),
    st.lists(st.sampled_from(_PIECES + _SAME_HASH), max_size=20).map(" ".join),
)
def test_the_token_form_from_vocabulary_numbers_is_the_form_from_hashes(texts, before):
    """``encode`` with the tokens' vocabulary numbers (a vocabulary kept from an earlier call, words the OCR
    fold or NFKC give one hash, tokens too long for the vocabulary) stores exactly the form built from hashes."""
    from dedup.phase1.normalise import TokenCache

    cache = TokenCache()
    tokenise([before], cache=cache)
    tokens = tokenise(texts, cache=cache)
    plain = token_form.encode(tokens.offsets, tokens.hashes, tokens.starts, tokens.ends)
    numbered = token_form.encode(tokens.offsets, tokens.hashes, tokens.starts, tokens.ends, words=tokens.words)
    for field in ("index", "words", "vocab", "wide"):
        a, b = getattr(plain, field), getattr(numbered, field)
        assert a.dtype == b.dtype and np.array_equal(a, b), field
    if tokens.words is not None:  # equal numbers, equal hashes
        assert len({(int(w), int(h)) for w, h in zip(tokens.words, tokens.hashes)}) == len(set(tokens.words.tolist()))
