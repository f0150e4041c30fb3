"""The parameter options of ``scan``, ``diff``, ``show``, ``index add`` and ``query``, generated from the
parameter dataclasses of ``dedup.options``: every flag, type and default shown in ``--help`` comes from
the dataclass field, so help cannot disagree with the code. Only what each parameter trades is written here.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .common import DETECTION, INPUT, PERFORMANCE, UsageError, shown

# What each parameter trades, for --help (the README's "Parameters" says the same at more length). Defaults
# are not stated here: they are appended from the dataclasses.
PARAM_HELP = {
    "k": "Words per shingle: larger is stricter about word order and misses shorter shared passages.",
    "num_perm": "MinHash permutations per signature: more gives a finer Jaccard estimate, slower and bigger.",
    "seed": "Seed of the MinHash hashing: signatures compare only under the same seed.",
    "workers": "Worker processes for reading and signing.",
    "batch_docs": "Most articles in one batch: larger is a little faster and uses more memory.",
    "batch_chars": "Most characters in one batch, which bounds each worker's memory.",
    "keep_tokens": "Store every article's tokens in phase 1 (about 4 bytes a token) so phase 2 need not "
    "tokenise again; --no-keep-tokens makes a smaller store and tokenises again.",
    "verify.spread_min_share": "Pairs the counts leave unrelated or partial are looked at for a noisy copy (OCR "
    "errors, light edits) when they share at least this share of the smaller one's shingles.",
    "align.chain_gap": "Shared runs at most this many tokens apart continue one chain (a noisy copy's scattered "
    "shared shingles).",
    "align.chain_drift": "Shared runs whose diagonals are at most this many tokens apart continue one chain.",
    "align.chain_look": "A shared run joins a chain when one of this many runs on either side continues it.",
    "align.chain_runs": "Fewest shared runs in a chain that counts.",
    "align.chain_identity": "A chain counts when its two stretches are at least this alike character by character.",
    "align.chain_identity_low": "A chain also counts when its two stretches are at least this alike character by "
    "character and --align-chain-words of their words are the same.",
    "align.chain_words": "The share of the words that must be the same for --align-chain-identity-low.",
    "align.chain_far": "Chains that read alike join the next one across gaps of up to this many tokens that read "
    "alike too.",
    "align.word_identity": "A passage grows by the next words on both sides while they are at least this alike.",
    "verify.near_duplicate": "Two articles are near-duplicates when each holds at least this share of the other.",
    "verify.contains": "One article contains another when it holds at least this share of it (and they are not "
    "near-duplicates).",
    "verify.partial_min_shared": "Two articles share passages (partial) when they have at least this many shingles "
    "(about as many words) in common.",
    "verify.min_shared": "Fewest shared shingles for any relation: lower finds smaller overlaps, and more noise.",
    "verify.boilerplate_min_docs": "Text recurring in this many different groups of copies is boilerplate.",
    "verify.copy_group": "Before boilerplate is known, two articles count as copies when one holds this share of "
    "the other.",
    "verify.derived": "A short text also counts as contained when at least this share of it is in another "
    "(with --derived-min-shared).",
    "verify.derived_min_shared": "Fewest shared shingles for a derived copy: more than one shared quotation.",
    "verify.short_min_shared": "Fewest shared shingles for a short derived item (with --short-run and --short-runs).",
    "verify.short_run": "A short item's verbatim run: at least this many consecutive shared shingles.",
    "verify.short_runs": "A short derived item shares at least this many verbatim runs with its source.",
    "verify.template_site_share": "Recurring text is a site template when this share of the articles holding it "
    "is on one site.",
    "verify.boilerplate_min_groups_any_site": "Text recurring in this many unrelated groups is boilerplate on any "
    "site.",
    "verify.derived_margin": "An article derives from its closest partners only when they share this much more "
    "than the next one (a share of what the last of them shares).",
    "verify.derived_top": "Most partners one article can derive from at once (a story merged from several sources).",
    "verify.derived_copy_share": "A further partner counts as a copy of the same text when this share of it, "
    "beyond what it shares with others, is in the article.",
    "verify.max_enumerate": "Text held by more articles than this links them as a star and a chain instead of "
    "every pair, which bounds the work on text that recurs widely.",
    "verify.excerpt_tail": "Shingles before an excerpt's cut that must run on in the longer text for the excerpt "
    "to count as cut from it.",
    "align.max_gap": "Tokens bridged between two shared runs, in either text, to make one passage.",
    "align.min_tokens": "Shortest shared passage reported, in tokens.",
    "align.max_repeats": "A shingle repeated more often than this in one text does not start a passage.",
    "align.edge_line_words": "Lines of at most this many words (headlines, bylines, navigation) do not part a "
    "shared block from the article's edge.",
    "label.near_identical": "A paragraph is boilerplate when at least this share of its characters is "
    "boilerplate text.",
    "label.majority": "A paragraph is syndicated when more than this share of its characters is in passages "
    "shared with its cluster.",
    "ingest.text_field": "Column or key holding the article text in JSON, JSONL, CSV and Parquet inputs.",
    "ingest.id_field": "Column or key holding the article id.",
    "ingest.date_field": "Column or key holding the publication date.",
    "ingest.url_field": "Column or key holding the article URL.",
    "ingest.title_field": "Column or key holding the title.",
    "ingest.encoding": "Read every text file in this encoding instead of detecting it.",
    "ingest.follow_links": "Also follow symlinks that lead outside the folder (those inside always are).",
    "ingest.max_file_size": "Skip, with a warning, an article file or record larger than this (e.g. 50MB).",
    "candidates.mode": "Which pairs are measured: exact (every pair sharing a shingle) or lsh (MinHash bands: far "
    "less memory, finds pairs of about --candidates-threshold Jaccard and above).",
    "candidates.threshold": "With lsh: the Jaccard similarity the bands are chosen for (as datasketch's MinHashLSH).",
    "candidates.bands": "With lsh: bands of the signature (0: chosen for the threshold).",
    "candidates.rows": "With lsh: signature values per band (0: chosen for the threshold).",
    "candidates.max_bucket": "With lsh: a band bucket of more articles is linked as a star and a chain.",
    "candidates.containment": "With lsh: also pair articles sharing this share of the smaller one's shingles "
    "(wrapped copies, rewrites), estimated on a sample; 0: the bands alone.",
    "candidates.sample": "With lsh: the containment sample keeps one shingle in N (a power of two up to 256).",
}
# Parameters whose option is not named after the field, and those taking one of a few words.
FLAGS = {"candidates.mode": "--candidates"}
CHOICES = {"candidates.mode": ("exact", "lsh")}
# What a default of None means, where "none" would not say it.
NONE_MEANS = {"workers": "all cores", "ingest.id_field": "the row number", "ingest.encoding": "detected"}
# Groups whose fields are options without a prefix (--contains, --text-field); other nested groups get
# their name as prefix (--align-max-gap).
UNPREFIXED = ("verify", "ingest")
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*", re.I)


def parse_size(text: str) -> int:
    """A size such as ``50MB``, ``1.5G``, ``200k`` or ``1048576`` in bytes (K, M, G, T are powers of 1024)."""
    m = _SIZE.fullmatch(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 50MB, 200KB, 1GB)")
    return int(float(m.group(1)) * 1024 ** " kmgt".index((m.group(2) or " ").lower()))


def show_size(n: int) -> str:
    for unit, power in (("GB", 3), ("MB", 2), ("KB", 1)):
        if n % 1024**power == 0:
            return f"{n // 1024**power}{unit}"
    return str(n)


@dataclass(frozen=True)
class Param:
    """One field of ``ScanOptions`` (or of its nested parameter groups) as a CLI option."""

    name: str  # dotted: "verify.contains"
    flag: str  # "--contains"
    kind: str  # int, float, str, bool, size
    default: Any  # the dataclass default

    @property
    def dest(self) -> str:
        return "param_" + self.name.replace(".", "__")


def show_default(p: Param, default: Any) -> str:
    """A default as ``--help`` shows it: ``50MB``, ``all cores``, ``0.8``."""
    if default is None:
        return NONE_MEANS.get(p.name, "none")
    if p.kind == "size":
        return show_size(default)
    if p.kind == "bool":
        return "on" if default else "off"
    return str(default)


def _kind(name: str, hint: Any, default: Any) -> str | None:
    if name.endswith("max_file_size"):
        return "size"
    if isinstance(default, bool):
        return "bool"
    union = isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
    args = typing.get_args(hint) if union else ()
    base = next((a for a in args if a is not type(None)), hint)
    for kind in (bool, int, float, str):
        if base is kind or isinstance(default, kind):
            return kind.__name__
    return None


def scan_params() -> list[Param]:
    """The CLI options generated from ``ScanOptions`` and its nested parameter groups."""
    from ..options import ScanOptions

    params: list[Param] = []

    def walk(cls: type, instance: Any, prefix: str, flag_prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            value = getattr(instance, f.name)
            name = prefix + f.name
            if dataclasses.is_dataclass(value):
                walk(type(value), value, name + ".", "" if f.name in UNPREFIXED else f.name + "-")
                continue
            kind = _kind(name, hints.get(f.name), value)
            if kind is not None:
                flag = FLAGS.get(name, "--" + (flag_prefix + f.name).replace("_", "-"))
                params.append(Param(name, flag, kind, value))

    walk(ScanOptions, ScanOptions(), "", "")
    return params


def _number(kind: type, what: str, valid: Callable[[Any], bool], problem: str) -> Callable[[str], Any]:
    """An argparse type: ``kind(text)``, which must be ``valid``; otherwise a one-line reason."""

    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if not valid(value):
            raise argparse.ArgumentTypeError(f"{text} {problem}")
        return value

    return convert


_threshold = _number(float, "a number", lambda v: 0.0 <= v <= 1.0, "is not a share between 0 and 1")
_count = _number(int, "a whole number", lambda v: v >= 0, "is negative")


CONVERT: dict[str, Callable[[str], Any]] = {"size": parse_size, "float": _threshold, "int": _count, "str": str}
METAVAR = {"size": "SIZE", "float": "SHARE", "int": "N", "str": "NAME"}


def section_of(p: Param) -> str:
    """The help section of a parameter: input (how articles are read), performance (results do not
    change), or detection (everything that decides the answer)."""
    if p.name.startswith("ingest."):
        return INPUT
    if p.name in ("workers", "batch_docs", "batch_chars", "keep_tokens"):
        return PERFORMANCE
    return DETECTION


def add_param_options(
    parser: argparse.ArgumentParser,
    params: list[Param],
    defaults: dict[str, tuple[Any, str]] | None = None,
    ignored: tuple[str, ...] = (),
) -> None:
    """The parameter options, each in its help section (``section_of``). ``defaults``: a command's own
    default for a parameter, with the note shown after it (``{"batch_docs": (INDEX_BATCH_DOCS, " when
    adding")}``). ``ignored``: prefixes of parameters the command does not use, so it has no option for
    them and refuses them as unknown (``query --candidates lsh``)."""
    defaults = defaults or {}
    (parser.section(INPUT) if hasattr(parser, "section") else parser).add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="Leave out of a folder the paths this gitignore-like glob matches; repeatable, and a .dedupignore "
        "file in the folder adds more (default: none).",
    )
    for p in params:
        if p.name.startswith(ignored):
            continue
        group = parser.section(section_of(p)) if hasattr(parser, "section") else parser
        text = PARAM_HELP.get(p.name) or f"The {p.name} parameter (see README, Parameters)."
        default, note = defaults.get(p.name, (p.default, ""))
        if p.kind == "bool":
            action = "store_false" if default else "store_true"
            flag = p.flag.replace("--", "--no-", 1) if default else p.flag
            shown = "on" if default else "off"
            group.add_argument(
                flag, dest=p.dest, action=action, default=default, help=f"{text[:-1]} (default: {shown})."
            )
            continue
        choices = CHOICES.get(p.name)
        group.add_argument(
            p.flag,
            dest=p.dest,
            type=CONVERT[p.kind],
            default=default,
            choices=choices,
            metavar="|".join(choices) if choices else METAVAR[p.kind],
            help=f"{text[:-1]} (default: {show_default(p, default)}{note}).",
        )


def build_options(args: argparse.Namespace, params: list[Param]) -> Any:
    """``ScanOptions`` from the parsed options."""
    from ..options import ScanOptions

    groups: dict[str, dict[str, Any]] = {"": {}}
    for p in params:
        group, _, field_name = p.name.rpartition(".")
        groups.setdefault(group, {})[field_name] = getattr(args, p.dest, p.default)
    options = ScanOptions()
    groups.setdefault("ingest", {})["exclude"] = tuple(getattr(args, "exclude", None) or ())
    try:
        nested = {g: dataclasses.replace(getattr(options, g), **vals) for g, vals in groups.items() if g}
        return dataclasses.replace(options, **groups[""], **nested)
    except (TypeError, ValueError) as e:
        raise UsageError(f"invalid scan parameters: {shown(e)}") from None
