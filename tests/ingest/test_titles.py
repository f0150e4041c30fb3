"""Page titles without the site's name (issue 29): ``Council approves bridge | The Harbour Herald`` is the
headline ``Council approves bridge`` in every table, page and JSON."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.ingest.html import extract, without_site_name


def test_the_sites_name_is_dropped_from_a_page_title():
    page = extract(
        "<html><head><title>Council approves the new bridge | The Harbour Herald</title></head>"
        "<body><p>The council approved the bridge on Tuesday.</p></body></html>"
    )
    assert page.title == "Council approves the new bridge"
    named = extract(
        '<html><head><title>Bitcoin falls again — Coinwire</title><meta property="og:site_name" content="Coinwire">'
        "</head><body><p>Text.</p></body></html>"
    )
    assert named.title == "Bitcoin falls again"
    by_host = extract(
        '<html><head><title>Rates rise - Harbour Herald</title><link rel="canonical" '
        'href="https://www.harbourherald.example/2026/rates"></head><body><p>Text.</p></body></html>'
    )
    assert by_host.title == "Rates rise"


def test_a_title_that_does_not_end_in_the_sites_name_is_kept():
    assert without_site_name("Council approves bridge - a history") == "Council approves bridge - a history"
    assert without_site_name("Review | Film") == "Review | Film"  # no longer headline beside it
    assert without_site_name("Rates rise - BBC News", ("bbc.co.uk",)) == "Rates rise - BBC News"
    assert without_site_name("Harbour Herald", ("Harbour Herald",)) == "Harbour Herald"


@settings(deadline=None)  # the machine is shared: no timing in a property
@given(st.text(max_size=80), st.lists(st.one_of(st.none(), st.text(max_size=20)), max_size=3))
def test_the_title_left_is_a_non_empty_beginning_of_the_title(title, names):
    out = without_site_name(title, tuple(names))
    if title:
        assert out and title.startswith(out)
    else:
        assert out == title
