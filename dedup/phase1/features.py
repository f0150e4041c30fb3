"""Phase 1: one batch of articles → the compact features the store keeps.

normalise → shingle → sign, then per article: its distinct shingle fingerprints, its
MinHash signature, the hash of its normalised text, where it is cut short if it is an
excerpt, its paragraph spans, and its tokens (hash and span of each word: phase 2 builds
shingles from them without tokenising again). Nothing
here depends on other batches, so batches run in any process in any order.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import chain, islice
from typing import TYPE_CHECKING

import numpy as np
import xxhash

from .. import escape
from ..excerpt import excerpt_cut, maybe_cut_from_tokens, phrase_docs
from ..featurestore import ShardData, bucket_bounds
from ..kernels import native
from ..longtext import LongText
from .banal import informative
from .normalise import TokenCache, Tokens, segments, tokenise
from .shingle import Shingles, _kgram_hashes, shingle
from .sign import EMPTY, densified, raw_bins, signatures

if TYPE_CHECKING:
    from ..ingest import Article
    from ..options import ScanOptions


def _storable(value: str | None) -> str | None:
    """A metadata string as the store can hold it: undecodable bytes (lone surrogates) escaped."""
    return escape.name(value) if value is not None and _SURROGATE.search(value) else value


def content_hashes(tokens: Tokens) -> np.ndarray:
    """Hash of each document's normalised token sequence; equal hashes mean the same text (``exact``).

    Over the exact token hashes (``Tokens.exact``: NFKC, casefold, typographic quotes, dashes and spaces
    folded, but not the OCR fold), so two texts that differ by one letter OCR confuses ("man", "men") are
    not the same text; shingles, signatures and evidence stay on the folded hashes, which still pair them.
    """
    if tokens.exact is None:
        raise ValueError("content hashes need the tokens' exact hashes (tokenise's, not a store's)")
    data = memoryview(np.ascontiguousarray(tokens.exact, dtype="<u8")).cast("B")
    bounds = (np.asarray(tokens.offsets, dtype=np.int64) * 8).tolist()
    digest = xxhash.xxh3_64_intdigest
    return np.array([digest(data[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])], dtype=np.uint64)


FP_LOW_BITS = 16  # a fingerprint is a shingle hash with its low bits cleared; they number the batch's articles
FP_MASK = np.uint64(~((1 << FP_LOW_BITS) - 1) & 0xFFFFFFFFFFFFFFFF)
MAX_BATCH = (1 << FP_LOW_BITS) - 1


def fingerprints(hashes: np.ndarray) -> np.ndarray:
    """The fingerprint of each shingle hash (48 bits: the store's postings compare these)."""
    return hashes & FP_MASK


_BUCKETED = 1 << 16  # hashes from which ``sorted_keys`` sorts by buckets


def sorted_keys(keys: np.ndarray) -> np.ndarray:
    """``np.sort`` of many uniform 64-bit hashes (a batch's fingerprints), by buckets: a stable radix sort of
    their top 12 bits (at most) puts them in cache-sized buckets, each sorted on its own (1.3 M keys: 69 -> 42
    ms). Skewed keys sort as well, in fewer, larger buckets. Compiled: a radix sort of a copy (``_read.radix_sort``;
    the sorted values are the same whatever the method)."""
    kernel = native("read")
    if kernel is not None and keys.dtype == np.uint64:
        out = np.array(keys, dtype=np.uint64, order="C", copy=True)
        kernel.radix_sort(out)
        return out
    if len(keys) < _BUCKETED:
        return np.sort(keys)
    bits = min(12, (len(keys) // 512).bit_length())
    top = np.right_shift(keys, np.uint64(64 - bits)).astype(np.uint16)
    out = keys[np.argsort(top, kind="stable")]
    bounds = np.zeros((1 << bits) + 1, dtype=np.int64)
    np.cumsum(np.bincount(top, minlength=1 << bits), out=bounds[1:])
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        if hi - lo > 1:
            out[lo:hi].sort()
    return out


def postings(sh: Shingles) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each document's distinct shingle fingerprints as (fingerprints, documents) sorted by
    fingerprint then document, and how many each document has.

    One sort of fingerprints packed with the document number, no argsort: duplicates within a
    document become equal keys and drop out.
    """
    n_docs = len(sh.offsets) - 1
    if n_docs > MAX_BATCH + 1:
        raise ValueError(f"a batch holds at most {MAX_BATCH + 1} articles")
    keys = fingerprints(sh.hashes)
    keys |= np.repeat(np.arange(n_docs, dtype=np.uint64), np.diff(sh.offsets))
    keys = sorted_keys(keys)
    if len(keys) > 1:
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    docs = (keys & ~FP_MASK).astype(np.uint32)
    keys &= FP_MASK
    return keys, docs, np.bincount(docs, minlength=n_docs).astype(np.int64)


LONG_CHARS = 1 << 23  # an article longer than this is tokenised segment by segment (memory per segment)
_SEGMENT_CHARS = 1 << 21
LONG_THREADS = 2  # a long article's segments are worked on by this many threads (numpy releases the GIL)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _segment_bins(ext: np.ndarray, k: int, num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """MinHash bins and sorted distinct fingerprints of the full shingles of token hashes ``ext``."""
    starts = np.arange(len(ext) - k + 1, dtype=np.int64)
    hashes = _kgram_hashes(ext, starts, np.full(len(starts), k, dtype=np.int64), k)
    hashes = hashes[informative(ext, starts, starts + k - 1)]  # as ``shingle`` does: banal ones left out
    return raw_bins(hashes, num_perm, seed), _sorted_unique(fingerprints(hashes))


def long_features(
    text: str | LongText, k: int, num_perm: int, seed: int, threads: int | None = None, start: int = 0
) -> tuple:
    """(sorted distinct fingerprints, signature, content hash, token count) of one very long text from
    ``start``, read segment by segment: each segment's shingles include the k-1 tokens before it, MinHash
    bins merge by minimum and the content hash streams, so the result is the same as in one piece, in
    bounded memory. Segments are tokenised and hashed on ``LONG_THREADS`` threads (at most ``threads``),
    a few ahead, sharing one vocabulary; the results are taken in order."""
    carry = np.zeros(0, dtype=np.uint64)
    raw = np.full(num_perm, EMPTY, dtype=np.uint32)
    digest = xxhash.xxh3_64()
    parts: list[np.ndarray] = []
    n_tokens = 0
    cache = TokenCache()
    workers = max(1, min(LONG_THREADS, threads or LONG_THREADS))

    def tokens_of(piece: str) -> tuple[np.ndarray, np.ndarray]:
        found = tokenise([piece], threads=1, cache=cache)
        return found.hashes, found.exact

    def merge(found: tuple[np.ndarray, np.ndarray]) -> None:
        nonlocal raw
        np.minimum(raw, found[0], out=raw)
        parts.append(found[1])
        # Merged like a binary counter: each fingerprint takes part in O(log n) merges, so the text costs
        # O(n log n) however many segments it has (merging everything every few segments was quadratic).
        while len(parts) > 1 and 2 * len(parts[-1]) >= len(parts[-2]):
            last = parts.pop()
            parts[-1] = _sorted_unique(np.concatenate([parts[-1], last]))

    with ThreadPoolExecutor(workers) as pool:
        if isinstance(text, LongText):
            pieces = text.segments(start, _SEGMENT_CHARS)
        else:
            pieces = segments(text, start, _SEGMENT_CHARS)
        tokenised: deque = deque(pool.submit(tokens_of, p) for p in islice(pieces, workers))
        binned: deque = deque()
        while tokenised:
            h, exact = tokenised.popleft().result()
            for p in islice(pieces, 1):
                tokenised.append(pool.submit(tokens_of, p))
            digest.update(np.ascontiguousarray(exact, dtype="<u8").tobytes())  # as ``content_hashes``
            n_tokens += len(h)
            ext = np.concatenate([carry, h])
            carry = ext[-(k - 1) :] if k > 1 else ext[:0]
            if len(ext) >= k:
                binned.append(pool.submit(_segment_bins, ext, k, num_perm, seed))
            while len(binned) > workers or (binned and binned[0].done()):
                merge(binned.popleft().result())
        while binned:
            merge(binned.popleft().result())
    if 0 < n_tokens < k:  # a short text is one shingle of all its tokens
        hashes = _kgram_hashes(carry, np.zeros(1, dtype=np.int64), np.array([n_tokens]), k)
        raw = raw_bins(hashes, num_perm, seed)
        parts.append(fingerprints(hashes))
    fps = _sorted_unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)
    return fps, densified(raw, seed), np.uint64(digest.intdigest()), n_tokens


def _utf8_size(text: str | LongText, piece: int = 1 << 20) -> int:
    """Bytes of ``text`` in UTF-8 (lone surrogates kept), a piece at a time: no copy of a huge text."""
    if isinstance(text, LongText):
        return text.utf8_size()
    if text.isascii():
        return len(text)
    return sum(len(text[i : i + piece].encode("utf-8", "surrogatepass")) for i in range(0, len(text), piece))


def _utf8_sizes(texts: list) -> list[int]:
    """``_utf8_size`` of each text, the ``str`` ones counted by the compiled kernel where there is one."""
    kernel = native("read")
    if kernel is None or not all(type(t) is str for t in texts):
        return [_utf8_size(t) for t in texts]
    return kernel.utf8_sizes(texts)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (a sort and a mask: cheaper than ``np.unique`` on large uint64 arrays)."""
    out = np.sort(values)
    if len(out) > 1:
        out = out[np.concatenate(([True], out[1:] != out[:-1]))]
    return out


def _paragraph_array(articles: Sequence[Article], total: int) -> np.ndarray:
    """All the articles' paragraph spans as one (total, 2) array: lists of tuples in one C-level pass, a
    segmented huge text's array (``read_text_segmented``) as it is."""
    if not any(isinstance(a.paragraphs, np.ndarray) for a in articles):
        spans = chain.from_iterable(chain.from_iterable(a.paragraphs for a in articles))
        return np.fromiter(spans, dtype=np.int64, count=2 * total).reshape(-1, 2)
    parts = [
        np.asarray(a.paragraphs, dtype=np.int64).reshape(-1, 2)
        if isinstance(a.paragraphs, np.ndarray)
        else np.fromiter(chain.from_iterable(a.paragraphs), dtype=np.int64, count=2 * len(a.paragraphs)).reshape(-1, 2)
        for a in articles
    ]
    return np.concatenate(parts) if parts else np.zeros((0, 2), dtype=np.int64)


def extract(
    articles: Sequence[Article],
    k: int,
    num_perm: int,
    seed: int,
    *,
    threads: int | None = None,
    keep_tokens: bool = False,
    cache: TokenCache | None = None,
) -> ShardData:
    """The features of a batch of articles (see the module docstring); ``keep_tokens``: with each article's
    tokens (``ScanOptions.keep_tokens``); ``cache``: the tokeniser's vocabulary and work buffers to share with
    other calls (``tokenise``'s: a long-lived caller, such as a server's queries, need not normalise and hash
    a token again that an earlier call saw; the features are the same with or without it)."""
    texts = [a.text for a in articles]
    body_starts = [int(a.body_start) for a in articles]
    # Long texts (and a LongText: a huge file read segment by segment) are tokenised on their own below
    # (never copied: a body is read from its start on).
    short = [isinstance(t, str) and len(t) <= LONG_CHARS for t in texts]
    long = [i for i, ok in enumerate(short) if not ok]
    tokens = tokenise(
        [t if ok else "" for t, ok in zip(texts, short)],
        threads=threads,
        cache=cache,
        body_starts=[b * ok for b, ok in zip(body_starts, short)],
    )
    sh = shingle(tokens, k)
    sig = signatures(sh.hashes, sh.offsets, num_perm, seed)
    fps, fp_docs, n_shingles = postings(sh)
    content = content_hashes(tokens)
    has_text = np.diff(tokens.offsets) > 0
    if long:
        keys = [fps | fp_docs.astype(np.uint64)]
        for i in long:
            long_fps, sig[i], content[i], n_tok = long_features(texts[i], k, num_perm, seed, threads, body_starts[i])
            keys.append(long_fps | np.uint64(i))
            n_shingles[i], has_text[i] = len(long_fps), n_tok > 0
        merged = np.sort(np.concatenate(keys))
        fps, fp_docs = merged & FP_MASK, (merged & ~FP_MASK).astype(np.uint32)
    n_docs = len(articles)
    para_counts = [len(a.paragraphs) for a in articles]
    para_offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(para_counts, out=para_offsets[1:])
    paragraphs = _paragraph_array(articles, int(para_offsets[-1]))
    # The excerpt test's gate from the tokens' marks (the phrases' words): the texts holding neither an
    # ellipsis nor a phrase's run of marks are not lowered and searched again (the same cuts).
    if tokens.marks is not None:
        phrase = phrase_docs(tokens.offsets, tokens.starts, tokens.ends, tokens.marks).tolist()
        maybe = [not ok or maybe_cut_from_tokens(t, b, p) for t, b, p, ok in zip(texts, body_starts, phrase, short)]
    else:
        maybe = [True] * len(texts)
    cuts = np.array(
        [
            excerpt_cut(t, paragraphs[para_offsets[i] : para_offsets[i + 1]]) if maybe[i] else -1
            for i, t in enumerate(texts)
        ],
        dtype=np.int64,
    )
    docs = {  # names as read (``escape.stored``: lossless, valid UTF-8); escaped only where shown
        "id": [escape.stored(a.id) for a in articles],
        "path": [escape.stored(a.path) for a in articles],
        "kind": [_storable(a.kind) for a in articles],
        "title": [_storable(a.title) for a in articles],
        "url": [_storable(a.url) for a in articles],
        "site": [_storable(a.site) for a in articles],
        "date": [_storable(a.date) for a in articles],
        "encoding": [_storable(a.encoding) for a in articles],
        "chars": [len(t) for t in texts],
        "bytes": _utf8_sizes(texts),
        "body_start": body_starts,
        "content_hash": content,
        "n_shingles": n_shingles,
        "has_text": has_text,
        "cut": cuts,
    }
    return ShardData(
        docs=docs,
        texts=texts,
        paragraphs=paragraphs,
        para_offsets=para_offsets,
        postings=fps,
        posting_docs=fp_docs,
        bucket_bounds=bucket_bounds(fps),
        signatures=sig,
        # Each article's tokens, for phase 2's passages and labels (none for a long one: tokenised again there).
        token_offsets=tokens.offsets if keep_tokens else None,
        token_hashes=tokens.hashes if keep_tokens else None,
        token_spans=np.stack([tokens.starts, tokens.ends], axis=1).astype(np.uint32) if keep_tokens else None,
        token_words=tokens.words if keep_tokens else None,
    )


def extract_with(
    articles: Sequence[Article],
    options: ScanOptions,
    *,
    threads: int | None = None,
    cache: TokenCache | None = None,
) -> ShardData:
    """``extract`` with a scan's parameters (shingle size, signature length and seed, whether to keep tokens);
    ``cache``: as ``extract``'s."""
    return extract(
        articles,
        k=options.k,
        num_perm=options.num_perm,
        seed=options.seed,
        threads=threads,
        keep_tokens=options.keep_tokens,
        cache=cache,
    )
