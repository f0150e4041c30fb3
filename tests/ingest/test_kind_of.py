"""An input file's kind is the longest known suffix its name ends with, whatever the case and the dots before it
(``walk.kind_of`` looks it up by the name's last one or two dots)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.ingest.walk import SUFFIXES, kind_of


def _longest_suffix(name: str) -> str | None:
    low = name.lower()
    found = [(len(suffix), kind) for suffix, kind in SUFFIXES if low.endswith(suffix)]
    return max(found)[1] if found else None


pieces = st.sampled_from([s for s, _ in SUFFIXES] + [".gz", ".GZ", ".Txt", ".", "..", ".tar", "/", "a", "x.y", ".docx"])
names = st.lists(st.one_of(pieces, st.text(alphabet="aZ.é/_", max_size=4)), max_size=5).map("".join)


@settings(max_examples=300, deadline=None)
@given(names)
def test_the_kind_is_the_longest_suffix_the_name_ends_with(name):
    assert kind_of(name) == _longest_suffix(name)


def test_some_names():
    assert kind_of("2024/Story.HTML.gz") == "html"
    assert kind_of("crawl.warc.gz") == "warc"
    assert kind_of("notes.tar.gz") is None
    assert kind_of("folder.txt/readme") is None
    assert kind_of(".md") == "text"
