"""Every parameter of a scan, an index add and a query, with its default: the documented behaviour.

The parameter objects are plain frozen dataclasses, so a scan's parameters are recorded whole in its
output (``meta.parameters``) and two runs with equal options give equal results. Rules derived from
several parameters are properties here, computed in one place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

DEFAULT_K = 5  # words per shingle
DEFAULT_NUM_PERM = 128  # MinHash permutations
DEFAULT_SEED = 1
DEFAULT_MAX_FILE_SIZE = 50 * 2**20
# ``batch_docs`` of ``dedup index add`` and ``dedup query``: eight batches make one merged shard of the
# index (``index.merge``), so each posting is rewritten once by merges; the answers do not depend on it.
INDEX_BATCH_DOCS = 8192


@dataclass(frozen=True)
class IngestOptions:
    """How to read: record field names, a forced encoding, the link policy and the size cap."""

    text_field: str | None = None  # column/key holding the article text (json/jsonl/csv/parquet)
    id_field: str | None = None
    date_field: str | None = None
    url_field: str | None = None
    title_field: str | None = None
    encoding: str | None = None  # force a text encoding for .txt/.md/.html/.csv (else detected)
    follow_links: bool = False  # follow symlinks whose target is outside the root
    max_file_size: int = DEFAULT_MAX_FILE_SIZE  # per article file or record; containers are streamed
    exclude: tuple[str, ...] = ()  # gitignore-like globs of paths to leave out of a folder (with its .dedupignore)


@dataclass(frozen=True)
class VerifyParams:
    """Thresholds on the non-boilerplate shingle sets A and B of a pair.

    near-duplicate: |A∩B| / |A| and |A∩B| / |B| both at least ``near_duplicate``;
    contains: the smaller containment below that, the larger at least ``contains``;
    partial: neither, but at least ``partial_min_shared`` shingles in common (about
    that many words of shared passages: more than a common phrase or one quotation).

    contains also takes a short derived text: the larger containment at least ``derived``
    and at least ``derived_min_shared`` shingles in common (a 120-word item that takes
    half its words from a wire story; one shared quotation is fewer shingles than that).

    contains also takes a *short* derived item below ``derived_min_shared`` (a 20-80 word brief rewritten
    from a wire story): at least ``short_min_shared`` shingles in common, the larger containment at least
    ``derived``, and the shared words forming verbatim runs, not scattered phrases: at least ``short_runs``
    runs of ``short_run`` or more consecutive shared shingles (``short_run`` + k - 1 words each) that
    together hold ``derived`` of the item's shingles. Independent texts on one event share names and stock
    phrases here and there, and a quotation at most once.

    A copy read through OCR noise or lightly reworded shares few exact shingles with its source, scattered
    along one diagonal: a pair the counts leave unrelated or partial that shares ``min_shared`` shingles and
    ``spread_min_share`` of the smaller side's is measured by the chains of those shingles whose stretches read
    alike (``AlignParams.chain_*``, ``align.spread_cover``): the shares of each side the chains run through
    stand for the containments (near-duplicate, contains or derived by the thresholds above). Two articles on
    one event sharing quotations and names share dense runs or lists whose words between differ: no chain.

    Before boilerplate is known, documents count as copies of each other (for
    deciding what is boilerplate) only when one holds at least ``copy_group`` of
    the other: two reposts that share nothing but a large site template do not.

    Boilerplate is text found in ``boilerplate_min_docs`` or more groups of copies that
    recurs like a template: mostly on one site (``template_site_share`` of its articles on
    the most common site; articles of unknown site count as one site), or in so
    many unrelated groups (``boilerplate_min_groups_any_site``) that it is stock text
    wherever it appears. A story retold on several sites in versions and rewrites is
    neither, and stays evidence of copying.

    No site is needed to tell the two apart (a known site is extra evidence; a folder is not a
    site): a document *derives* from the few (at most ``derived_top``) partners it shares the most
    text with (at least ``derived_min_shared`` shingles) when they stand clearly above the rest (by
    ``derived_margin`` of what the last of them shares and ``min_shared`` shingles). Partners are
    counted by group of copies, so duplicates do not make a crowd. Below the first partner, each
    must hold ``derived`` of the document and be either a version of one story with the first (the
    two share clearly more with each other than with the document) or a copy of one text with it
    (the shared text at least the document's own text, and ``derived_copy_share`` or more of the
    partner beside what it shares with others, the partner having no copies of its own); a
    document that already has copies joins another story only through a partner holding
    ``derived`` of it. Pages that share only a template share it about equally with every page of
    the site, as much with each other as with the document, and each has more text of its own:
    none derives from another. A rewrite shares the source's sentences with other rewrites, but all
    of what it took only with the source. Text whose holders are mostly (``template_site_share``)
    one story of such links is that story's, never boilerplate, however many holders it has.
    """

    near_duplicate: float = 0.8
    contains: float = 0.5
    partial_min_shared: int = 50
    min_shared: int = 8  # also: the lists of up to max_enumerate holders make a candidate pair with this many
    derived: float = 0.4
    derived_min_shared: int = 25
    short_min_shared: int = 9
    short_run: int = 4
    short_runs: int = 2
    boilerplate_min_docs: int = 3
    copy_group: float = 0.8
    template_site_share: float = 0.67
    boilerplate_min_groups_any_site: int = 25
    derived_margin: float = 0.15
    derived_top: int = 8
    derived_copy_share: float = 0.67
    max_enumerate: int = 32  # a posting list of more articles is linked as a star and a chain, not every pair
    excerpt_tail: int = 32  # shingles before an excerpt's cut that must run on in the text it was cut from
    spread_min_share: float = 0.03  # shared shingles (of the smaller side's) worth looking for a chain (``verify``)

    @property
    def link_share(self) -> float:
        """The least share of an article that a relation needs: a big posting list is worth linking
        (see ``evidence.pair_evidence``) only if it could make a relation by itself."""
        return min(self.contains, self.copy_group, self.near_duplicate)


@dataclass(frozen=True)
class AlignParams:
    """How far to bridge, and what is too short or too repetitive to report."""

    max_gap: int = 30  # tokens bridged between two runs, in either text
    min_tokens: int = 8  # shortest passage reported, in tokens
    max_repeats: int = 8  # a shingle repeated more often in one text is not a seed
    edge_line_words: int = 12  # lines this short (headlines, bylines, navigation) do not part a block from the edge
    # Scattered shared shingles on one diagonal (a copy with OCR errors or light edits, ``align.chains``): runs
    # this many tokens apart at most, their diagonals this many tokens apart at most, continue one chain; a run
    # is kept when one of the ``chain_look`` runs on either side continues it; a chain counts with this many runs
    # and when the two stretches it runs through are this alike character by character (``align.chain_identity``).
    chain_gap: int = 80
    chain_drift: int = 12
    chain_look: int = 4
    chain_runs: int = 2
    chain_identity: float = 0.75
    chain_identity_low: float = 0.6  # ... or this alike by characters with this share of the words the same
    chain_words: float = 0.5
    chain_far: int = 300  # chains that read alike join those that follow across gaps this long that read alike
    word_identity: float = 0.6  # a passage grows by the next words on both sides while they are this alike


@dataclass(frozen=True)
class LabelParams:
    """When a paragraph is boilerplate or syndicated: the share of its characters in boilerplate shingles
    (at least ``near_identical``) or in passages shared with its cluster (more than ``majority``)."""

    near_identical: float = 0.8
    majority: float = 0.5


@dataclass(frozen=True)
class QueryParams:
    """What bounds one index query's cost whatever recurs in the index (``index.service``).

    A fingerprint held by more than ``max_holders`` indexed articles is boilerplate outright; one held by
    more than ``spread`` is too, unless it belongs to a passage that many copies carry (what a scan's big
    posting lists would link), which is told by looking at ``sample`` of its holders.
    """

    max_holders: int = 1000
    spread: int = 64
    sample: int = 8


CANDIDATE_MODES = ("exact", "lsh")


@dataclass(frozen=True)
class CandidateParams:
    """Which pairs of a scan are measured (``candidates``).

    ``exact`` (the default): every pair sharing a shingle, counted from the store's posting lists (about 8
    bytes a distinct shingle an article in phase 2). ``lsh``: the pairs whose MinHash signatures, cut into
    ``bands`` bands of ``rows`` values, agree on a whole band (a few dozen bytes an article); two articles of
    Jaccard similarity s collide with probability 1 - (1 - s**rows)**bands. With ``bands`` and ``rows`` 0
    they are chosen for ``threshold`` as datasketch's ``MinHashLSH(threshold, num_perm)`` chooses them (the
    least sum of the false-positive and false-negative areas, weighted alike): at 0.5 and 128
    permutations, 25 bands of 5 rows. Only one of them given: the other is ``num_perm`` // it. A bucket of
    more than ``max_bucket`` articles links them as a star and a chain, never every pair. The bands see
    Jaccard similarity, blind to a story wrapped in a longer page or a rewrite keeping part of it, so ``lsh``
    also pairs articles that share at least ``containment`` of the smaller one's shingles, estimated on one
    shingle in ``sample`` (``candidates.containment_pairs``; ``containment`` 0: bands alone).
    """

    mode: str = "exact"
    threshold: float = 0.5
    bands: int = 0
    rows: int = 0
    max_bucket: int = 32
    containment: float = 0.2
    sample: int = 4

    def __post_init__(self) -> None:
        if self.mode not in CANDIDATE_MODES:
            raise ValueError(f"candidates mode {self.mode!r} is not one of {', '.join(CANDIDATE_MODES)}")
        if self.max_bucket < 2:
            raise ValueError("candidates max_bucket must be at least 2")
        if not 0 <= self.containment <= 1:
            raise ValueError("candidates containment must be a share from 0 to 1")
        if self.sample < 1 or self.sample > 256 or self.sample & (self.sample - 1):
            raise ValueError("candidates sample must be a power of two from 1 to 256")

    def banding(self, num_perm: int) -> tuple[int, int]:
        """(bands, rows) for signatures of ``num_perm`` values (see the class docstring)."""
        if self.bands and self.rows:
            b, r = self.bands, self.rows
        elif self.bands:
            b, r = self.bands, num_perm // self.bands
        elif self.rows:
            b, r = num_perm // self.rows, self.rows
        else:
            return optimal_banding(self.threshold, num_perm)
        if b < 1 or r < 1 or b * r > num_perm:
            raise ValueError(f"{b} bands of {r} rows need more than the {num_perm} values of a signature")
        return b, r


@lru_cache(maxsize=64)
def optimal_banding(threshold: float, num_perm: int) -> tuple[int, int]:
    """datasketch's ``MinHashLSH._optimal_param`` with equal weights: the (bands, rows), bands * rows at
    most ``num_perm``, minimising the area of false positives below ``threshold`` plus that of false
    negatives above it (the first such in datasketch's order, bands then rows, on ties)."""
    import numpy as np  # here, not at the top: every command's --help reads this module

    b = np.concatenate([np.full(num_perm // k, k) for k in range(1, num_perm + 1)]).astype(np.float64)
    r = np.concatenate([np.arange(1, num_perm // k + 1) for k in range(1, num_perm + 1)]).astype(np.float64)
    # Gauss-Legendre on 64 nodes per interval: exact to far below the differences between choices.
    x, w = np.polynomial.legendre.leggauss(64)

    def area(lo: float, hi: float, collide: bool) -> np.ndarray:
        s = (hi - lo) / 2 * x + (hi + lo) / 2
        p = 1 - (1 - s[None, :] ** r[:, None]) ** b[:, None]
        return (hi - lo) / 2 * ((p if collide else 1 - p) @ w)

    error = 0.5 * area(0.0, threshold, True) + 0.5 * area(threshold, 1.0, False)
    best = int(np.argmin(error))
    return int(b[best]), int(r[best])


@dataclass(frozen=True)
class ScanOptions:
    """Parameters of a scan; the defaults are the documented behaviour.

    ``workers``: processes for phase 1 (None: one per core); ``batch_docs``/``batch_chars``:
    the most articles / characters in one batch (memory per worker); neither changes results.
    ``keep_tokens``: phase 1 also stores every article's word tokens in a compact form (``featurestore.tokens``:
    about 4 bytes a token, a fifth of the store), so phase 2 aligns and labels without tokenising texts again;
    results do not change. On by default (figures: benchmarks/README.md).
    """

    k: int = DEFAULT_K
    num_perm: int = DEFAULT_NUM_PERM
    seed: int = DEFAULT_SEED
    verify: VerifyParams = field(default_factory=VerifyParams)
    align: AlignParams = field(default_factory=AlignParams)
    label: LabelParams = field(default_factory=LabelParams)
    ingest: IngestOptions = field(default_factory=IngestOptions)
    candidates: CandidateParams = field(default_factory=CandidateParams)
    workers: int | None = None
    batch_docs: int = 2000
    batch_chars: int = 32 << 20
    keep_tokens: bool = True

    def __post_init__(self) -> None:
        if self.candidates.bands or self.candidates.rows:  # bands and rows given must fit the signatures
            self.candidates.banding(self.num_perm)


def flatten(options: Any, prefix: str = "") -> dict[str, Any]:
    """Every field of a (nested) options dataclass, with dotted names: ``verify.contains`` -> 0.5 (what
    ``meta.parameters`` records)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(options):
        value = getattr(options, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            out |= flatten(value, f"{prefix}{f.name}.")
        else:
            if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
                out[f"{prefix}{f.name}"] = list(value)
            else:
                out[f"{prefix}{f.name}"] = (
                    value if isinstance(value, int | float | str | bool | type(None)) else str(value)
                )
    return out


# A phase's progress: ``progress(phase, done, total)`` (total None when unknown), what the CLI's bar draws
# (``views.terminal.progress_reporter``) and the scan, the index and phase 2 report through.
Progress = Callable[[str, int, "int | None"], None]


# What phase 1 keeps of an article, as a number: 2 since the HTML reader drops a page's chrome and shingles of
# numbers and date words alone are left out. An index built with another gives other answers than a scan, so it
# is refused with the way out (add its articles again), never queried as if it were current.
# 3 since a token's hash is taken of its OCR-tolerant form (``phase1.tolerant.ocr_fold``); 4 since the content
# hash (the ``exact`` relation) is taken of the tokens' normalised form without that fold (literally the same text).
FEATURES_VERSION = 4


def store_params(options: ScanOptions) -> dict:
    """The parameters a feature store or an index is built with; adding or querying with others would compare
    nothing (``features``: ``FEATURES_VERSION``)."""
    return {"k": options.k, "num_perm": options.num_perm, "seed": options.seed, "features": FEATURES_VERSION}
