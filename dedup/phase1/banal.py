"""Banal shingles: word sequences with no content of their own, which are evidence of nothing.

A blog's month archive ("Juli 2010 Juni 2010 Mai 2010 ..."), a calendar widget, a list of dates or
page numbers, a table of figures: two unrelated pages share such runs by the dozen, and a pair made of
them is no copy. Text-reuse tools filter these banalities before counting (passim drops n-grams by
document frequency; others use stop-n-grams). Here a shingle is *banal* when every one of its words is
a number (0-9999, as the tokeniser splits "12:30" or "1,234" into numbers) or a calendar word (a month
or a weekday, full or abbreviated, in the languages below): such shingles are left out of every
article's shingle set, so they neither pair articles nor count towards a pair's measures, and passages
are not seeded on them. A sentence that merely mentions a date keeps its shingles: one word of content
in five is enough.

The vocabulary is fixed (a persisted index must give the same answers after an upgrade), hashed once
with the tokeniser's own hash.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..hashing import KeyTable
from .normalise import _token_hashes

MAX_NUMBER = 9999  # numbers up to this (years, days, counts, page numbers) are banal words

# Months and weekdays, full and abbreviated: English, German, French, Spanish, Portuguese, Italian, Dutch.
CALENDAR_WORDS = """
january february march april may june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec
monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun
januar februar märz maerz april mai juni juli august september oktober november dezember jänner
jan feb mär mrz apr jun jul aug sep sept okt nov dez
montag dienstag mittwoch donnerstag freitag samstag sonntag sonnabend
janvier février fevrier mars avril mai juin juillet août aout septembre octobre novembre décembre decembre
janv févr fevr avr juil sept déc
lundi mardi mercredi jeudi vendredi samedi dimanche
enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre diciembre
ene abr ago dic
lunes martes miércoles miercoles jueves viernes sábado sabado domingo
janeiro fevereiro março marco abril maio junho julho agosto setembro outubro novembro dezembro
fev
segunda terça terca quarta quinta sexta feira
gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre
gen mag giu lug ott
lunedì martedì mercoledì giovedì venerdì sabato domenica
januari februari maart april mei juni juli augustus september oktober november december
mrt
maandag dinsdag woensdag donderdag vrijdag zaterdag zondag
am pm
"""


@lru_cache(maxsize=1)
def banal_hashes() -> np.ndarray:
    """The sorted token hashes of the banal words."""
    words = set(CALENDAR_WORDS.split())
    words.update(str(n) for n in range(MAX_NUMBER + 1))
    words.update(f"{n:02d}" for n in range(10))
    words.update(f"{n:03d}" for n in range(100))
    return np.unique(_token_hashes(sorted(words))[0])  # normalised in one call: ~10,000 words, every scan's start


_FILTER_BITS = 18  # the filter is indexed by a hash's top 18 bits (256 KB: 16 let a quarter of words through)
_FILTER_SHIFT = np.uint64(64 - _FILTER_BITS)


@lru_cache(maxsize=1)
def _banal_filter() -> np.ndarray:
    """One flag per value of a hash's top ``_FILTER_BITS`` bits: whether some banal word's hash has them."""
    flags = np.zeros(1 << _FILTER_BITS, dtype=bool)
    flags[(banal_hashes() >> _FILTER_SHIFT).astype(np.intp)] = True
    return flags


_SEARCHED = 2048  # up to this many tokens past the filter are searched, more are looked up in the hash table


@lru_cache(maxsize=1)
def _banal_table() -> KeyTable:
    """The banal words' hashes as a hash table (a binary search of the tokens the filter lets through was
    3 % of a scan)."""
    return KeyTable(banal_hashes())


def banal_tokens(hashes: np.ndarray) -> np.ndarray:
    """Whether each token (by its hash) is a banal word: a look-up of its top bits rules out most tokens
    (a binary search of every token over the table was a tenth of a scan), the rest in a hash table (or
    a binary search, for a few)."""
    hashes = np.asarray(hashes, dtype=np.uint64)
    out = _banal_filter()[np.right_shift(hashes, _FILTER_SHIFT).view(np.int64)]  # a view: no copy to intp
    maybe = np.flatnonzero(out)
    if len(maybe) > _SEARCHED:
        out[maybe] = _banal_table().find(hashes[maybe]) >= 0
    elif len(maybe):  # a few tokens (one article's, in align): a binary search costs fewer numpy calls
        table, h = banal_hashes(), hashes[maybe]
        out[maybe] = table[np.minimum(np.searchsorted(table, h), len(table) - 1)] == h
    return out


def informative(hashes: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Whether each shingle (tokens ``first``..``last`` of ``hashes``) holds a word that is not banal."""
    content = np.zeros(len(hashes) + 1, dtype=np.int64)
    np.cumsum(~banal_tokens(hashes), out=content[1:])
    return content[last + 1] - content[first] > 0
