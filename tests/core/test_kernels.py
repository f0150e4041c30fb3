"""The compiled kernels (``dedup.kernels``) give the numpy code's bits: token by token on any text, and whole
scans of real multilingual articles and their copies, byte for byte."""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import kernels
from dedup.phase1.normalise import tokenise
from tests.conftest import AEB_BODIES
from tests.support.backends import scan_with

pytest.importorskip("numba")

# Characters that take every path of the tokeniser: words, apostrophes of all kinds, spaces and dashes,
# scripts without spaces (each character a token), combining marks, astral characters (emoji, CJK extension B).
ALPHABET = [*"abcXYZ éßİ'’‘ʼ -—\u00a0\n.,;0123456789", *"日本語ไทย한국어", "\u0301", "😀", "𠀋", "\U0001d400"]


@pytest.fixture(scope="module")
def loops():
    loaded = kernels.load()
    assert loaded is not None, "numba is installed but the kernels did not load"
    return loaded


def _tokens_both(texts: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple:
    monkeypatch.setenv("DEDUP_KERNELS", "numpy")
    a = tokenise(texts, threads=1)
    monkeypatch.setenv("DEDUP_KERNELS", "auto")
    b = tokenise(texts, threads=1)
    return a, b


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(ALPHABET), max_size=80), min_size=1, max_size=6))
def test_compiled_tokens_equal_numpys(loops, texts):
    with pytest.MonkeyPatch.context() as mp:
        a, b = _tokens_both(texts, mp)
    for field in ("offsets", "starts", "ends", "hashes"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field


def _corpus(folder) -> None:
    """Every aeb body (English, Korean, Russian, Japanese, ...) and copies of some: retyped quotes and dashes,
    a paragraph dropped, wrapped in a site's header and footer, with emoji."""
    data = json.loads(AEB_BODIES.read_text(encoding="utf-8"))
    rng = random.Random(0)
    for n, key in enumerate(sorted(data)):
        body = data[key]["articleBody"]
        (folder / f"{n:03d}.txt").write_text(body, encoding="utf-8")
        if n % 5 == 0:
            paras = [p for p in re.split(r"\n\s*\n", body) if p.strip()]
            if len(paras) > 2:
                paras.pop(rng.randrange(len(paras)))
            copy = "\n\n".join(paras).replace("'", "’").replace(" - ", " — ")
            copy = f"Daily Wire 😀 — don't miss it\n\n{copy}\n\nShare this story 👍 𠀋"
            (folder / f"{n:03d}-copy.txt").write_text(copy, encoding="utf-8")


@pytest.mark.slow
def test_a_scan_gives_the_same_result_with_and_without_the_kernels(cli, tmp_path, monkeypatch):
    _corpus(tmp_path)
    compiled, plain = scan_with(cli, tmp_path, "numba", monkeypatch), scan_with(cli, tmp_path, "numpy", monkeypatch)
    assert compiled["pairs"], "the corpus should hold copies"
    assert json.dumps(compiled, sort_keys=True) == json.dumps(plain, sort_keys=True)


def test_no_writable_cache_folder_means_no_cache_and_no_error(monkeypatch, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    for var in ("DEDUP_CACHE_DIR", "XDG_CACHE_HOME", "TMPDIR"):
        monkeypatch.setenv(var, str(blocked / "below-a-file"))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(kernels.tempfile, "tempdir", str(blocked / "below-a-file"))
    assert kernels.cache_dir() is None
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(blocked / "below-a-file"))
    assert kernels.cache_dir() is None


def test_a_cache_folder_others_can_write_is_not_used(tmp_path):
    """The temporary directory is shared: a cache folder there that others could write (or planted for us)
    would hand this process their code."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    assert not kernels._writable(shared)
    shared.chmod(0o700)
    assert kernels._writable(shared)
    (tmp_path / "link").symlink_to(shared)
    assert not kernels._writable(tmp_path / "link")


def test_numpy_forces_the_fallback(loops, monkeypatch):
    monkeypatch.setenv("DEDUP_KERNELS", "numpy")
    assert kernels.compiled() is None and kernels.backend() == "numpy"
    monkeypatch.setenv("DEDUP_KERNELS", "auto")
    assert kernels.compiled() is loops and kernels.backend() == "numba"
