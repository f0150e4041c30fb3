"""Shared passages, paragraph labels, and the diff / show views (issue 4)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedup import build_corpus, scan

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"
COPY, ORIGINAL = "000_137fe5741023b456.txt", "001_9fe7513b9c6ae974.txt"
AEB = json.loads((ROOT / "benchmarks/data/aeb/ground-truth.json").read_text(encoding="utf-8"))


def bodies(min_paragraphs: int = 8) -> list[list[str]]:
    """Real article bodies as lists of paragraphs, longest-lived order (sorted ids)."""
    out = []
    for key in sorted(AEB):
        paras = [p.strip() for p in AEB[key]["articleBody"].split("\n") if len(p.split()) >= 12]
        if len(paras) >= min_paragraphs:
            out.append(paras)
    return out


def labels_of(result, doc_id: str) -> list[tuple[str, str]]:
    i = result.index_of(doc_id)
    text = result.corpus.texts[i]
    return [(p["label"], text[p["start"] : p["end"]]) for p in result.paragraphs(i)]


def pair(result, a: str, b: str) -> dict:
    for p in result.to_dict()["pairs"]:
        if {p["a"], p["b"]} == {a, b}:
            return p
    raise AssertionError(f"no pair {a} {b}")


def dedup_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dedup.cli", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )


@pytest.fixture(scope="module")
def seeds_json() -> dict:
    proc = dedup_cli("scan", "seeds/", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_seed_labels(seeds_json: dict) -> None:
    docs = {d["id"]: d for d in seeds_json["documents"]}
    text = (SEEDS / COPY).read_text(encoding="utf-8")
    labels = [(p["label"], text[p["start"] : p["end"]]) for p in docs[COPY]["paragraphs"]]
    first_syn = next(k for k, (_, t) in enumerate(labels) if t.startswith("Telegram’s owner and chief executive"))
    last_syn = next(k for k, (_, t) in enumerate(labels) if t.startswith("Privacy is one such example"))
    assert labels[0][1] == "BTCC / BTCC Square / Cryptopolitan /"
    assert labels[first_syn - 1][1] == "Durov accuses France of suppressing free social media"
    assert all(lab == "wrapper" for lab, _ in labels[:first_syn])
    assert all(lab == "syndicated" for lab, _ in labels[first_syn : last_syn + 1])
    assert labels[last_syn + 1][1].startswith("Join a premium crypto trading community")
    assert len(labels) - last_syn - 1 == 5
    assert all(lab == "wrapper" for lab, _ in labels[last_syn + 1 :])
    # The paragraph that differs only by a no-break space is among the syndicated ones.
    assert any("censor\u00a0Telegram" in t for lab, t in labels if lab == "syndicated")

    text1 = (SEEDS / ORIGINAL).read_text(encoding="utf-8")
    labels1 = [(p["label"], text1[p["start"] : p["end"]]) for p in docs[ORIGINAL]["paragraphs"]]
    assert [lab for lab, _ in labels1[:2]] == ["original", "original"]
    assert labels1[-1] == ("original", "If you’re reading this, you’re already ahead. Stay there with our newsletter.")
    assert all(lab == "syndicated" for lab, _ in labels1[2:-1])
    for other in ("002_9bc901dc3b6c5084.txt", "003_b776af7c7e9b7e80.txt", "004_a7b902191fce4d12.txt"):
        assert {p["label"] for p in docs[other]["paragraphs"]} == {"original"}


def test_seed_passage_covers_the_syndicated_run(seeds_json: dict) -> None:
    (p,) = seeds_json["pairs"]
    assert (p["a"], p["b"]) == (COPY, ORIGINAL)
    assert len(p["passages"]) == 1
    t0 = (SEEDS / COPY).read_text(encoding="utf-8")
    t1 = (SEEDS / ORIGINAL).read_text(encoding="utf-8")
    q = p["passages"][0]
    shared0, shared1 = t0[q["a_start"] : q["a_end"]], t1[q["b_start"] : q["b_end"]]
    for shared in (shared0, shared1):
        assert shared.startswith("Telegram’s owner and chief executive")
        assert shared.rstrip(".").endswith("the claim that its chats are private")


def test_offsets_slice_back_in_json(seeds_json: dict) -> None:
    texts = {d["id"]: (SEEDS / d["id"]).read_text(encoding="utf-8") for d in seeds_json["documents"]}
    for d in seeds_json["documents"]:
        for p in d["paragraphs"]:
            piece = texts[d["id"]][p["start"] : p["end"]]
            assert piece and piece == piece.strip() and "\n" not in piece


def _article(paras: list[str], sep: str = "\n") -> str:
    return sep.join(paras) + "\n"


def test_dropped_and_reordered_paragraphs() -> None:
    src = bodies()[0][:10]
    intro = bodies()[9][:4]  # the republisher's own intro, longer than what it dropped
    copy = src[2:5] + [src[7]] + src[5:7] + src[8:]  # first two dropped, paragraph 8 moved up
    result = scan(build_corpus(["copy.txt", "src.txt"], [_article(intro + copy), _article(src)]))
    p = pair(result, "copy.txt", "src.txt")
    assert p["relation"] in ("contains", "near-duplicate")
    labels = dict((t, lab) for lab, t in labels_of(result, "copy.txt"))
    assert all(labels[t] == "syndicated" for t in copy)
    assert all(labels[t] == "wrapper" for t in intro)
    src_labels = [lab for lab, _ in labels_of(result, "src.txt")]
    assert src_labels[:2] == ["original", "original"] and set(src_labels[2:]) == {"syndicated"}
    # The moved paragraph is its own passage: passages never overlap on either side.
    for side in ("a", "b"):
        spans = sorted((q[f"{side}_start"], q[f"{side}_end"]) for q in p["passages"])
        assert all(e1 <= s2 for (_, e1), (s2, _) in zip(spans, spans[1:]))


def test_light_edits_keep_one_passage_per_paragraph() -> None:
    src = bodies()[1][:8]
    edited = [p.replace(" the ", " a ", 1).replace(",", "", 1) for p in src]
    edited[3] = edited[3].replace(" ", "\u00a0", 3).replace("'", "’")
    result = scan(build_corpus(["a.txt", "b.txt"], [_article(edited, "\n\n"), _article(src)]))
    p = pair(result, "a.txt", "b.txt")
    assert p["relation"] == "near-duplicate"
    assert len(p["passages"]) == 1, p["passages"]
    assert {lab for lab, _ in labels_of(result, "a.txt")} == {"syndicated"}


def test_repeated_headline_gives_no_duplicated_or_crossing_passages() -> None:
    src = bodies()[2][:8]
    headline = "Markets rally as central bank signals a pause in its long campaign of rate rises"
    copy = [headline, "By Staff Writer"] + [headline] + src
    original = [headline] + src
    result = scan(build_corpus(["copy.txt", "orig.txt"], [_article(copy), _article(original)]))
    p = pair(result, "copy.txt", "orig.txt")
    pas = sorted((q["a_start"], q["a_end"], q["b_start"], q["b_end"]) for q in p["passages"])
    for x, y in zip(pas, pas[1:]):
        assert x[1] <= y[0] and x[3] <= y[2], pas  # no overlap and no crossing
    b_cover = sum(q[3] - q[2] for q in pas)
    assert b_cover <= len(_article(original))


def test_boilerplate_across_reposts_of_different_articles() -> None:
    header = "Crypto Daily Wire | Markets | Regulation | Opinion | Sign in to your account to keep reading today"
    footer = (
        "All articles reposted on this platform are sourced from public networks and are intended solely for "
        "the purpose of disseminating industry information. They do not represent any official stance of the site. "
        "All intellectual property rights belong to their original authors and we accept no liability whatsoever."
    )
    promo = "Subscribe to our newsletter for the five stories that move markets every morning before the bell."
    arts = bodies()[3:6]
    texts = [_article([header] + a[:7] + [promo, footer]) for a in arts]
    ids = ["repost_1.txt", "repost_2.txt", "repost_3.txt"]
    result = scan(build_corpus(ids, texts))
    assert result.to_dict()["pairs"] == []
    for doc_id in ids:
        labels = dict((t, lab) for lab, t in labels_of(result, doc_id))
        assert labels[header] == labels[footer] == labels[promo] == "boilerplate"
        assert {lab for t, lab in labels.items() if t not in (header, footer, promo)} == {"original"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_offsets_slice_back_to_aligned_text(data: st.DataObject) -> None:
    """Property: every passage slices to text that is shared word for word, and paragraphs slice exactly."""
    pool = bodies()
    src = pool[data.draw(st.integers(0, len(pool) - 1))][:8]
    keep = data.draw(st.lists(st.integers(0, len(src) - 1), min_size=3, max_size=8, unique=True))
    wrap = data.draw(
        st.lists(st.sampled_from(["Read more:", "Share this", "© 2026 News Ltd", "Advertisement"]), max_size=3)
    )
    sep = data.draw(st.sampled_from(["\n", "\n\n", "\r\n"]))
    copy = wrap + [src[k] for k in keep] + wrap[::-1]
    texts = [_article(copy, sep), _article(src, sep)]
    result = scan(build_corpus(["c.txt", "s.txt"], texts))
    from dedup.phase1.normalise import normalise_text

    for row, (a, b) in enumerate(zip(result.pairs["a"].to_list(), result.pairs["b"].to_list())):
        for a0, a1, b0, b1 in result.passages[row].tolist():
            ta, tb = result.corpus.texts[a][a0:a1], result.corpus.texts[b][b0:b1]
            assert ta and tb
            # the same words (punctuation is not part of a token: a quote mark may open one side only)
            assert re.findall(r"\w+", normalise_text(ta))[1:-1] == re.findall(r"\w+", normalise_text(tb))[1:-1]
    for i, text in enumerate(result.corpus.texts):
        for p in result.paragraphs(i):
            assert text[p["start"] : p["end"]].strip() == text[p["start"] : p["end"]] != ""


@pytest.mark.slow
def test_diff_subprocess_plain_and_colour() -> None:
    a, b = f"seeds/{COPY}", f"seeds/{ORIGINAL}"
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")} | {"COLUMNS": "140"}
    plain = dedup_cli("diff", a, b, env=env)
    assert plain.returncode == 0, plain.stderr
    assert "\x1b[" not in plain.stdout  # piped: plain text
    assert "relation: A wraps B" in plain.stdout and "Jaccard 0.51" in plain.stdout
    assert "[wrapper]" in plain.stdout and "shared 1" in plain.stdout and "[original]" in plain.stdout
    coloured = dedup_cli("diff", a, b, env=env | {"FORCE_COLOR": "1", "TERM": "xterm-256color"})
    assert coloured.returncode == 0 and "\x1b[" in coloured.stdout
    no_color = dedup_cli("diff", a, b, env=env | {"FORCE_COLOR": "1", "NO_COLOR": "1", "TERM": "xterm-256color"})
    assert no_color.returncode == 0 and "\x1b[3" not in no_color.stdout  # no colour codes
    assert "[wrapper]" in no_color.stdout
    narrow = dedup_cli("diff", a, b, env=env | {"COLUMNS": "60"})
    assert (
        narrow.returncode == 0
        and "A: " in narrow.stdout
        and all(len(line) <= 60 for line in narrow.stdout.splitlines())
    )
    full = dedup_cli("diff", a, b, "--full", env=env)
    assert "more shared characters" not in full.stdout and "more shared characters" in plain.stdout


@pytest.mark.slow
def test_show_subprocess() -> None:
    proc = dedup_cli("show", f"seeds/{ORIGINAL}", env=dict(os.environ, COLUMNS="160"))
    assert proc.returncode == 0, proc.stderr
    assert "source" in proc.stdout and "[syndicated]" in proc.stdout and COPY in proc.stdout
    missing = dedup_cli("show", "seeds/nope.txt")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "nope.txt" in missing.stderr


@pytest.mark.slow
def test_article_text_is_inert_in_every_view(tmp_path: Path) -> None:
    nasty = "[bold red]not markup[/bold red] \x1b[31mred\x1b[0m bell\x07 \u202eevil"
    body = bodies()[4][:6]
    (tmp_path / "x.txt").write_text(_article([nasty] + body), encoding="utf-8")
    (tmp_path / "y.txt").write_text(_article(body + [nasty]), encoding="utf-8")
    env = dict(os.environ, FORCE_COLOR="1", TERM="xterm-256color", COLUMNS="160")
    for args in (("diff", str(tmp_path / "x.txt"), str(tmp_path / "y.txt")), ("show", str(tmp_path / "x.txt"))):
        out = dedup_cli(*args, env=env).stdout
        assert "[bold red]not markup[/bold red]" in out
        assert "\x1b[31mred" not in out and "\x07" not in out and "\u202e" not in out
        assert "\\x1b[31mred" in out


def test_two_reposts_under_one_template_are_not_paired() -> None:
    """With only two documents nothing recurs three times, so the header and footer must be told by
    where they sit: at the same edge of both, around long text of each one's own."""
    header = "Crypto Daily Wire | Markets | Regulation | Opinion | Sign in to your account to keep reading today"
    footer = (
        "All articles reposted on this platform are sourced from public networks and are intended solely for "
        "the purpose of disseminating industry information. They do not represent any official stance of the "
        "site. All intellectual property rights belong to their original authors and we accept no liability."
    )
    arts = bodies()[3:5]
    texts = [_article([header, f"Headline {k}", "By Staff Writer"] + a[:7] + [footer]) for k, a in enumerate(arts)]
    result = scan(build_corpus(["r1.txt", "r2.txt"], texts))
    assert result.to_dict()["pairs"] == []
    # The same template around one article and its copy still gives the copy.
    src = bodies()[0][:10]
    result = scan(build_corpus(["c.txt", "s.txt"], [_article([header] + src[:6] + [footer]), _article(src)]))
    assert [p["relation"] for p in result.to_dict()["pairs"]] == ["contains"]


def test_excerpts_in_large_wrappers_join_their_source() -> None:
    """Three sites each run the first third of one story, cut with "…" and a link to the rest, inside a
    template larger than the excerpt; each site also reposts other articles under the same template.
    The story then recurs in three groups like a template does, but its cut marks it as an excerpt."""
    pool = bodies()
    story = pool[6][:9]
    ids, texts = ["source.txt"], [_article(story)]
    templates = [
        (
            "The Harbor Ledger | Local | Business | Sport | Weather | Sign in to read more from the Ledger",
            "Copyright The Harbor Ledger Media Group. Reproduction of this page in any form without the written "
            "consent of the publisher is prohibited; photographs are supplied by agencies under licence.",
        ),
        (
            "MONEYWIRE — markets, deals and the people behind them. Log in · Register · Newsletters · Podcasts",
            "MoneyWire is an independent publication. Nothing here is investment advice; read the terms of use and "
            "the privacy notice before relying on any figure quoted in our coverage of companies and markets.",
        ),
        (
            "Riverside Post · Since 1887 · Today's paper · Obituaries · Classifieds · Events near you",
            "All content © Riverside Post Company unless otherwise noted. Comments are moderated by our community "
            "team and may be removed if they break the house rules published on the help pages of the site.",
        ),
    ]
    for n, (head, foot) in enumerate(templates):
        site = f"site{n}.example"
        cut = story[:3] + [story[3][: len(story[3]) // 2].rstrip(" ,.;") + "…", f"More at {site}"]
        ids.append(f"{site}/excerpt.txt")
        texts.append(_article([head] + cut + [foot]))
        for k, other in enumerate(pool[10 + 2 * n : 12 + 2 * n]):
            ids.append(f"{site}/other{k}.txt")
            texts.append(_article([head] + other[:6] + [foot]))
    result = scan(build_corpus(ids, texts))
    (cluster,) = result.to_dict()["clusters"]
    assert cluster["source"] == "source.txt"
    assert sorted(cluster["members"]) == sorted(["source.txt"] + [f"site{n}.example/excerpt.txt" for n in range(3)])
    labels = dict((t, lab) for lab, t in labels_of(result, "site1.example/excerpt.txt"))
    assert all(labels[p] == "syndicated" for p in story[:3])
