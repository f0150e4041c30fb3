"""Reading a folder: which files, their ids, their text as stored, paragraphs, dates and errors."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from dedup import build_corpus, read_folder, scan


def _paragraph_texts(corpus, i: int) -> list[str]:
    text = corpus.texts[i]
    return [text[s:e] for s, e in corpus.paragraphs(i).tolist()]


def test_walks_subfolders_and_reads_the_kinds_it_knows(tmp_path, kit, write_files):
    write_files(
        tmp_path,
        {
            "top.txt": kit.story(),
            "notes.md": kit.story(),
            "a/b/deep.txt": kit.story(),
            "a/c/deeper/also.md": kit.story(),
            "page.html": "<p>" + kit.story() + "</p>",
            "data.json": '{"text": "an article in a record"}',
            "README": kit.story(),
            "a/backup.txt.bak": kit.story(),
            "a/b/image.png": b"\x89PNG\r\n\x1a\n\x00\x00",
        },
    )
    corpus = read_folder(tmp_path)
    assert sorted(corpus.ids) == ["a/b/deep.txt", "a/c/deeper/also.md", "data.json", "notes.md", "page.html", "top.txt"]
    # Files of kinds dedup does not read are listed, never read (issue 28).
    assert sorted(e.rsplit("/", 1)[-1] for e in corpus.errors) == [
        "README: unsupported (no extension); skipped",
        "backup.txt.bak: unsupported (.bak); skipped",
        "image.png: unsupported (.png); skipped",
    ]


def test_ids_are_relative_paths_with_forward_slashes(tmp_path, kit, write_files):
    write_files(tmp_path, {"x/y/z.txt": kit.story(), "x/w.md": kit.story()})
    corpus = read_folder(tmp_path)
    assert set(corpus.ids) == {"x/y/z.txt", "x/w.md"}
    for doc_id, path in zip(corpus.ids, corpus.paths):
        assert "\\" not in doc_id
        assert Path(path) == tmp_path / doc_id


def test_ids_do_not_depend_on_how_the_folder_is_named(tmp_path, kit, write_files):
    texts = {"one.txt": kit.story(), "sub/two.txt": kit.story()}
    write_files(tmp_path / "first", texts)
    write_files(tmp_path / "second" / "nested", texts)
    a = read_folder(tmp_path / "first")
    b = read_folder(tmp_path / "second" / "nested")
    assert sorted(a.ids) == sorted(b.ids) == ["one.txt", "sub/two.txt"]


def test_hidden_files_and_folders_are_skipped(tmp_path, kit, write_files):
    write_files(tmp_path, {"visible.txt": kit.story(), ".hidden.txt": kit.story(), ".git/notes.md": kit.story()})
    assert read_folder(tmp_path).ids == ["visible.txt"]


def test_text_is_kept_exactly_as_stored(tmp_path, write_files):
    raw = "Line one\r\nLine two\rLine three\n\n\u00a0Café ‘quoted’\r\n"
    write_files(tmp_path, {"doc.txt": raw})
    corpus = read_folder(tmp_path)
    assert corpus.texts == [raw]
    assert scan(tmp_path).documents_frame.row(0, named=True)["chars"] == len(raw)


def test_paragraphs_are_the_non_blank_lines_trimmed(tmp_path, write_files):
    text = "  First paragraph here.  \n\n\n\tSecond one\t\nThird\n   \n\nFourth, last"
    write_files(tmp_path, {"doc.txt": text})
    corpus = read_folder(tmp_path)
    assert _paragraph_texts(corpus, 0) == ["First paragraph here.", "Second one", "Third", "Fourth, last"]


def test_crlf_paragraph_offsets_slice_the_text_as_read(tmp_path, kit, write_files):
    body = kit.body()
    lines = body.split("\n")
    crlf = "\r\n".join(lines) + "\r\n"
    write_files(tmp_path, {"crlf.txt": crlf})
    corpus = read_folder(tmp_path)
    assert "\r" in corpus.texts[0]
    got = _paragraph_texts(corpus, 0)
    assert got == [line.strip() for line in lines if line.strip()]
    assert all("\r" not in p and "\n" not in p for p in got)


def test_paragraph_offsets_are_code_points(tmp_path, write_files):
    text = "Ünïcödé 😀 first line\n中文的第二行\n𝔘𝔫𝔦 third"
    write_files(tmp_path, {"u.txt": text})
    assert _paragraph_texts(read_folder(tmp_path), 0) == ["Ünïcödé 😀 first line", "中文的第二行", "𝔘𝔫𝔦 third"]


_LINE_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(" \t\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029\u00a0\u3000")),
        st.characters(codec="utf-8"),
    ),
    max_size=200,
)


@given(_LINE_TEXT)
def test_paragraphs_property(text):
    """For any text: paragraphs are exactly the stripped non-blank lines, in order, as slices of the text."""
    if text.startswith("---"):  # that would be front matter
        text = "x" + text
    corpus = build_corpus(["doc"], [text])
    spans = corpus.paragraphs(0).tolist()
    assert [text[s:e] for s, e in spans] == [line.strip() for line in text.splitlines() if line.strip()]
    ends = [e for _, e in spans]
    starts = [s for s, _ in spans]
    assert all(s < e for s, e in spans)
    assert all(e <= s for e, s in zip(ends, starts[1:]))


def test_legacy_encoding_is_read_and_an_unreadable_file_is_a_one_line_error(tmp_path, kit, write_files):
    good = {"good1.txt": kit.story(), "sub/good2.md": kit.story()}
    latin = ("Café au lait, Windows-1252 encoded\n" + kit.story()).encode("cp1252", "ignore")
    stray = "Crème brûlée, UTF-8 with one stray byte: ".encode() + b"\xe9\n" + kit.story().encode()
    write_files(tmp_path, {**good, "sub/latin.txt": latin, "sub/stray.txt": stray, "sub/empty.txt": b"  \n"})
    corpus = read_folder(tmp_path)
    assert sorted(corpus.ids) == sorted([*good, "sub/latin.txt", "sub/stray.txt"])
    assert corpus.texts[corpus.ids.index("sub/latin.txt")].startswith("Café au lait")
    assert corpus.texts[corpus.ids.index("sub/stray.txt")].startswith("Crème brûlée, UTF-8 with one stray byte: \ufffd")
    assert len(corpus.errors) == 1
    message = corpus.errors[0]
    assert "\n" not in message
    assert str(tmp_path / "sub" / "empty.txt") in message and "no text" in message


def test_scan_of_a_folder_with_an_unreadable_file_still_finds_copies(tmp_path, kit, write_files):
    story = kit.story()
    write_files(tmp_path, {"orig.txt": story, "wrap.txt": kit.wrap(story), "broken.txt": b"\x00\x01 ... \x02"})
    result = scan(tmp_path)
    assert result.corpus.ids == ["orig.txt", "wrap.txt"]
    assert [(Path(s.path).name, s.reason) for s in result.skipped] == [("broken.txt", "no text")]
    assert result.pairs_frame.select("a", "b", "relation").rows() == [("wrap.txt", "orig.txt", "contains")]


def test_front_matter_date_is_parsed(tmp_path, kit, write_files):
    write_files(
        tmp_path,
        {
            "plain.md": "---\ndate: 2024-03-05\ntitle: Something\n---\n" + kit.story(),
            "quoted.md": '---\r\ntitle: "x"\r\ndate: "2024-03-05T10:30:00Z"\r\n---\r\n' + kit.story(),
            "none.txt": kit.story(),
            "junk.md": "---\ndate: sometime last week\n---\n" + kit.story(),
        },
    )
    corpus = read_folder(tmp_path)
    dates = dict(zip(corpus.ids, corpus.dates))
    assert dates == {
        "junk.md": None,
        "none.txt": None,
        "plain.md": "2024-03-05T00:00:00",
        "quoted.md": "2024-03-05T10:30:00+00:00",
    }


def test_front_matter_is_not_a_paragraph(tmp_path, write_files):
    write_files(tmp_path, {"a.md": "---\ndate: 2024-03-05\nauthor: Someone\n---\nThe body.\n\nSecond paragraph.\n"})
    assert _paragraph_texts(read_folder(tmp_path), 0) == ["The body.", "Second paragraph."]


def test_empty_files_are_skipped_with_a_reason_and_never_clustered(tmp_path, kit, write_files):
    write_files(tmp_path, {"empty1.txt": "", "empty2.txt": "", "blank.md": "\n \r\n\t\n", "story.txt": kit.story()})
    result = scan(tmp_path)
    assert result.corpus.ids == ["story.txt"]
    skipped = sorted((Path(s.path).name, s.reason) for s in result.skipped)
    assert skipped == [("blank.md", "no text"), ("empty1.txt", "no text"), ("empty2.txt", "no text")]
    assert result.pairs_frame.height == 0
    assert result.clusters_frame.height == 0
