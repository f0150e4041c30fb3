"""Shared fixtures: the seed articles, real article text from the aeb benchmark, and the CLI.

Every synthetic corpus in the suite is built from real article bodies
(``benchmarks/data/aeb/ground-truth.json``): stories are whole paragraphs of
one article, wrappers are paragraphs of other, unrelated articles, and site
templates are the fixed texts below, so the pipeline sees real prose.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests check invariants, not speed: no per-example deadline (hypothesis's 200 ms default fails
# examples on a loaded machine; speed is measured in benchmarks/, never in the suite).
settings.register_profile("dedup", deadline=None)
settings.load_profile("dedup")

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
AEB_BODIES = ROOT / "benchmarks" / "data" / "aeb" / "ground-truth.json"

# The five seed articles: 000 wraps the text of 001; 002-004 are other articles on the same topic.
SEED_WRAPPER = "000_137fe5741023b456.txt"
SEED_ORIGINAL = "001_9fe7513b9c6ae974.txt"
SEED_OTHERS = ("002_9bc901dc3b6c5084.txt", "003_b776af7c7e9b7e80.txt", "004_a7b902191fce4d12.txt")

# One reposting site's template (each part about 80 words), used around several different articles.
SITE_HEADER = (
    "Coinwire Square / Market News / Reposted. Welcome to Coinwire Square, the community newsroom of the "
    "Coinwire exchange, where we collect the stories that move digital asset markets from publishers around "
    "the world. Every article below is republished with attribution so our members can follow the news "
    "without leaving the app. Prices quoted in reposted articles may be out of date by the time you read them, "
    "so always check the live order book before you trade. Follow Coinwire Square for daily market coverage."
)
SITE_FOOTER = (
    "Join a premium crypto trading community free for 30 days, normally one hundred dollars a month. Get the "
    "Coinwire app to start your crypto journey today and scan the code to join our more than one hundred million "
    "users. New members receive a welcome bundle of trading fee rebates, access to our research desk, weekly "
    "webinars with market analysts and a copy trading feature that lets you follow experienced traders. Download "
    "the app from your store, verify your identity in minutes and fund your account with a card or transfer."
)
SITE_DISCLAIMER = (
    "All articles reposted on this platform are sourced from public networks and are intended solely for the "
    "purpose of disseminating industry information. They do not represent any official stance of Coinwire. All "
    "intellectual property rights belong to their original authors. If you believe any content infringes upon "
    "your rights, please contact us and we will address the matter promptly. Coinwire makes no warranties "
    "regarding the accuracy or completeness of the republished information and bears no liability for any "
    "actions taken based on it. Nothing here is investment advice."
)


def words(text: str) -> int:
    return len(text.split())


def _five_grams(text: str) -> set[tuple[str, ...]]:
    toks = re.findall(r"\w+", text.lower())
    return {tuple(toks[i : i + 5]) for i in range(len(toks) - 4)}


@dataclass(frozen=True)
class Article:
    """One real article body from the aeb benchmark, as paragraphs."""

    key: str
    url: str
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def words(self) -> int:
        return words(self.text)

    def take(self, lo: int, hi: int) -> str:
        """Leading whole paragraphs of at least ``lo`` words; the last one cut so the total is at most ``hi``."""
        out: list[str] = []
        total = 0
        for para in self.paragraphs:
            n = words(para)
            if total + n > hi:
                para = " ".join(para.split()[: hi - total])
                n = words(para)
            if n:
                out.append(para)
                total += n
            if total >= lo:
                break
        if total < lo:
            raise ValueError(f"article {self.key} has only {total} words, {lo} needed")
        return "\n\n".join(out)


def load_aeb_articles() -> list[Article]:
    """English aeb article bodies of 300+ words that share no 5-word sequence run with any other body.

    Sorted by key, so every test sees the same articles in the same order.
    """
    data = json.loads(AEB_BODIES.read_text(encoding="utf-8"))
    candidates = []
    for key in sorted(data):
        body = data[key]["articleBody"]
        paragraphs = tuple(p.strip() for p in re.split(r"\n\s*\n", body) if p.strip())
        letters = [c for c in body if c.isalpha()]
        latin = sum(c.isascii() for c in letters) / max(1, len(letters))
        if latin > 0.98 and words(body) >= 300 and len(paragraphs) >= 3:
            candidates.append(Article(key, data[key]["url"], paragraphs))
    grams = [_five_grams(a.text) for a in candidates]
    # Keep only bodies that share (almost) nothing with the others, so any pair the pipeline finds in a
    # corpus built from them was put there by the test.
    keep = [
        a
        for i, a in enumerate(candidates)
        if all(len(grams[i] & grams[j]) <= 3 for j in range(len(candidates)) if j != i)
    ]
    assert len(keep) >= 60, f"only {len(keep)} usable aeb articles"
    return keep


@pytest.fixture(scope="session", autouse=True)
def _private_index_cache(tmp_path_factory):
    """Redis indexes cache their shards under DEDUP_CACHE_DIR: a private one for the suite (and the
    CLI subprocesses it starts), never the user's ~/.cache."""
    old = os.environ.get("DEDUP_CACHE_DIR")
    os.environ["DEDUP_CACHE_DIR"] = str(tmp_path_factory.mktemp("dedup-cache"))
    yield
    if old is None:
        os.environ.pop("DEDUP_CACHE_DIR", None)
    else:
        os.environ["DEDUP_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def aeb_articles() -> list[Article]:
    return load_aeb_articles()


class ArticleKit:
    """Hands out distinct real articles, so texts built in one test never share a source article."""

    site_header = SITE_HEADER
    site_footer = SITE_FOOTER
    site_disclaimer = SITE_DISCLAIMER

    def __init__(self, articles: list[Article], start: int = 0) -> None:
        self._articles = articles
        self._next = start

    def article(self) -> Article:
        if self._next >= len(self._articles):
            raise RuntimeError("ran out of aeb articles")
        a = self._articles[self._next]
        self._next += 1
        return a

    def body(self, lo: int = 300, hi: int = 600) -> str:
        """A full article body of ``lo`` to ``hi`` words."""
        return self.article().take(lo, hi)

    def story(self, lo: int = 150, hi: int = 250) -> str:
        """A short story: the first 150 to 250 words of a real article."""
        return self.article().take(lo, hi)

    def filler(self, n_words: int) -> str:
        """About ``n_words`` words of unrelated real text (from one or more fresh articles)."""
        parts, total = [], 0
        while total < n_words:
            article = self.article()
            need = n_words - total
            part = article.take(need, need + 20) if article.words >= need else article.text
            parts.append(part)
            total += words(part)
        return "\n\n".join(parts)

    def wrap(self, story: str, factor: int = 3) -> str:
        """``story`` inside a page of ``factor`` times its length: intro before, promo and disclaimer after."""
        part = factor * words(story) // 3
        intro, promo, disclaimer = self.filler(part), self.filler(part), self.filler(part)
        return "\n\n".join([intro, story, promo, disclaimer])

    @staticmethod
    def site_repost(body: str) -> str:
        """``body`` as one reposting site publishes it: its header, the article, its footer and disclaimer."""
        return "\n\n".join([SITE_HEADER, body, SITE_FOOTER, SITE_DISCLAIMER])


@pytest.fixture
def kit(aeb_articles: list[Article]) -> ArticleKit:
    return ArticleKit(aeb_articles)


@pytest.fixture(scope="session")
def make_kit(aeb_articles: list[Article]):
    """A factory of fresh kits, for tests (e.g. hypothesis ones) that cannot use function-scoped fixtures."""
    return lambda start=0: ArticleKit(aeb_articles, start)


@dataclass(frozen=True)
class Seeds:
    dir: Path = SEEDS
    wrapper: str = SEED_WRAPPER
    original: str = SEED_ORIGINAL
    others: tuple[str, ...] = SEED_OTHERS

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.wrapper, self.original, *self.others)

    def text(self, doc_id: str) -> str:
        return (self.dir / doc_id).read_bytes().decode("utf-8")


@pytest.fixture(scope="session")
def seeds() -> Seeds:
    return Seeds()


SEED_DOCUMENT_KEYS = {"id", "path", "chars", "cluster", "role"}
SEED_CLUSTER_KEYS = {"id", "source", "members"}
SEED_PAIR_KEYS = {"a", "b", "relation", "jaccard", "a_in_b", "b_in_a"}


def _check_seed_result(result: dict, seeds: Seeds) -> None:
    """The issue's acceptance check on a scan of ``seeds/`` (the ``to_dict()`` / ``--format json`` contract)."""
    docs = {d["id"]: d for d in result["documents"]}
    assert set(docs) == set(seeds.ids)
    for d in result["documents"]:
        assert set(d) >= SEED_DOCUMENT_KEYS
    for c in result["clusters"]:
        assert set(c) >= SEED_CLUSTER_KEYS
    for p in result["pairs"]:
        assert set(p) >= SEED_PAIR_KEYS

    (cluster,) = result["clusters"]
    assert sorted(cluster["members"]) == sorted([seeds.wrapper, seeds.original])
    assert cluster["source"] == seeds.original

    (pair,) = result["pairs"]
    assert (pair["a"], pair["b"], pair["relation"]) == (seeds.wrapper, seeds.original, "contains")
    assert pair["b_in_a"] >= 0.8
    assert 0 < pair["a_in_b"] < pair["b_in_a"]
    assert 0 < pair["jaccard"] <= pair["a_in_b"]

    assert docs[seeds.original]["role"] == "source"
    assert docs[seeds.wrapper]["role"] == "copy"
    assert docs[seeds.original]["cluster"] == docs[seeds.wrapper]["cluster"] == cluster["id"]
    for other in seeds.others:
        assert docs[other]["cluster"] is None
        assert docs[other]["role"] is None
        assert other not in cluster["members"]
        assert all(other not in (p["a"], p["b"]) for p in result["pairs"])
    for doc_id, d in docs.items():
        assert d["chars"] == len(seeds.text(doc_id))


@pytest.fixture(scope="session")
def check_seed_result():
    return _check_seed_result


def _write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``{relative path: text or bytes}`` under ``root`` byte for byte (no newline translation)."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return root


@pytest.fixture(scope="session")
def write_files():
    return _write_files


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


def _run_cli(*args: str | os.PathLike[str], cwd: Path | None = None, script: bool = False) -> CliRun:
    """Run the real CLI in a fresh process: ``python -m dedup.cli`` or the installed ``dedup`` script."""
    if script:
        exe = Path(sys.executable).with_name("dedup")
        assert exe.exists(), f"console script not installed at {exe}"
        cmd = [str(exe)]
    else:
        cmd = [sys.executable, "-m", "dedup.cli"]
    # No config file and no DEDUP_INDEX of the machine's user: a test's options are all on its command line.
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8", "DEDUP_CONFIG": ""}
    env.pop("DEDUP_INDEX", None)
    proc = subprocess.run(
        [*cmd, *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd or ROOT,
        env=env,
        timeout=600,
    )
    return CliRun(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def cli():
    """``cli(*args, cwd=None, script=False)`` runs ``dedup`` in a subprocess and returns a ``CliRun``."""
    return _run_cli


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests mirror the package (``core/`` for dedup's top-level modules, ``ingest/``, ``output/``, ``views/``,
    ``cli/``, ``index/``, ``serve/``, ``distributed/``; ``benchmarks/`` for the benchmark harness; shared
    fixtures in ``support/``) and are grouped by layer: the library in process, ``cli/`` (the real command
    line in a subprocess), ``index/`` (the persistent index, local and on real Redis servers), ``serve/``
    (the HTTP server and the pages, in a real server process and headless Chromium) and ``distributed/``
    (marked ``ray``: the scan on a real local Ray cluster of two nodes). These four folders mark their tests
    by their layer and ``slow`` (a module elsewhere that runs the command line says so with ``pytestmark``),
    so ``pytest -m "not slow"`` runs the quick part of the library's tests."""
    layers = {"cli": "cli", "index": "index", "serve": "serve", "distributed": "ray"}
    for item in items:
        layer = layers.get(item.path.parent.name)
        if layer is not None:
            item.add_marker(getattr(pytest.mark, layer))
            item.add_marker(pytest.mark.slow)
