import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conditions.factories import ConditionFactory, TreatmentFactory


def result_names(client, query):
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    return [page.name for page, _ in response.context["results"]]


@pytest.fixture
def zebra_pages(db, demo):
    """'zebra' in a name, an alias, a summary and a body: the search must rank them so."""
    ConditionFactory(name="Body match", overview="Pain like a zebra stripe down the leg.")
    TreatmentFactory(name="Summary match", summary="Helps with zebra pain in the back.")
    ConditionFactory(name="Alias match", search_terms="striped horse\nzebra syndrome")
    TreatmentFactory(name="Zebra blocks")
    ConditionFactory(name="Unrelated", overview="Nothing to see.")


def test_search_ranks_name_then_alias_then_summary_then_body(client, zebra_pages):
    assert result_names(client, "zebra") == [
        "Zebra blocks",
        "Alias match",
        "Summary match",
        "Body match",
    ]


def test_search_finds_a_condition_by_its_alias(client, pages):
    names = result_names(client, "sciatica")
    assert names[0] == "Lumbar radicular pain"


def test_search_matches_words_in_the_body(client, pages):
    assert "Failed back surgery syndrome" in result_names(client, "epidural fibrosis")


def test_search_results_have_a_marked_snippet(client, zebra_pages):
    response = client.get("/search/", {"q": "zebra"})
    assert "<mark>zebra</mark> stripe" in response.text


def test_search_never_shows_drafts(client, zebra_pages):
    ConditionFactory(name="Zebra draft", status="draft")
    assert "Zebra draft" not in result_names(client, "zebra")


def test_misspelled_search_shows_the_closest_match(client, pages):
    response = client.get("/search/", {"q": "sciatca"})
    assert response.context["suggestion"] == "sciatica"
    assert "Showing results for <strong>sciatica</strong>" in response.text
    assert "Lumbar radicular pain" in [page.name for page, _ in response.context["results"]]


def test_no_results_page_offers_a_way_on(client, pages):
    response = client.get("/search/", {"q": "qwxzjkv"})
    assert response.context["results"] == []
    assert "No pages matched" in response.text
    assert 'href="/conditions/"' in response.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Type a condition, a treatment or a symptom"),
        ("   ", "Type a condition, a treatment or a symptom"),
        ("!!! ??? ***", "We could not find any words"),
        ("x" * 101, "That search is too long"),
    ],
)
def test_empty_odd_and_long_searches_get_a_friendly_page(client, demo, query, message):
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    assert message in response.text


def test_search_results_are_kept_out_of_the_index_but_their_links_are_followed(client, pages):
    html = client.get("/search/?q=sciatica").text
    assert re.search(r'<meta name="robots" content="noindex, follow">', html)
    assert html.count('name="robots"') == 1


def test_search_escapes_what_was_typed(client, demo):
    response = client.get("/search/", {"q": "<script>alert(1)</script>"})
    assert "<script>alert(1)" not in response.text
    assert "&lt;script&gt;" in response.text


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(max_size=150))
def test_no_query_reaches_an_error(client, zebra_pages, query):
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    assert re.search(r"<h1>Search</h1>", response.text)
