"""Banal words: the filtered look-up says exactly what a membership test of the banal hashes says."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.phase1.banal import banal_hashes, banal_tokens
from dedup.phase1.normalise import token_hash


@given(
    st.lists(st.integers(0, (1 << 64) - 1), max_size=200),
    st.lists(st.integers(0, len(banal_hashes()) - 1), max_size=50),
    st.randoms(use_true_random=False),
)
@settings(max_examples=25, deadline=None)
def test_banal_tokens_is_membership_in_the_banal_hashes(other, picks, rng):
    table = banal_hashes()
    # Hashes sharing a banal hash's top bits but not equal to it pass the filter and must still be refused.
    near = [int(table[i]) ^ 1 for i in picks]
    values = [*other, *(int(table[i]) for i in picks), *near]
    rng.shuffle(values)
    hashes = np.array(values, dtype=np.uint64)
    assert np.array_equal(banal_tokens(hashes), np.isin(hashes, table))
    # Many tokens (a batch's): those past the filter go to the hash table instead of a binary search.
    many = np.tile(hashes, 20_000 // max(len(hashes), 1))
    assert np.array_equal(banal_tokens(many), np.isin(many, table))


def test_calendar_words_and_numbers_are_banal_and_words_are_not():
    words = ["monday", "2024", "07", "march", "minister", "election"]
    flags = banal_tokens(np.array([token_hash(w) for w in words], dtype=np.uint64))
    assert flags.tolist() == [True, True, True, True, False, False]


def test_the_banal_hashes_are_each_banal_words_token_hash():
    """Hashed in one batch (``_token_hashes``), the table is what ``token_hash`` gives word by word."""
    from dedup.phase1.banal import CALENDAR_WORDS, MAX_NUMBER

    words = {*CALENDAR_WORDS.split(), *map(str, range(MAX_NUMBER + 1))}
    words |= {f"{n:02d}" for n in range(10)} | {f"{n:03d}" for n in range(100)}
    expected = np.unique(np.array([token_hash(w) for w in words], dtype=np.uint64))
    assert np.array_equal(banal_hashes(), expected)
