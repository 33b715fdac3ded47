"""'Also called' names true synonyms only; search terms are found by search and never shown."""

import hashlib
import html
import json
import re

import pytest
from django.contrib.postgres.search import SearchQuery
from django.core.management import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from conditions.content_format import TREATMENT_SECTIONS
from conditions.management.commands.import_content import fingerprint, page_state
from conditions.models import Condition, Treatment
from tests.admin_forms import admin_form_data
from tests.conditions.conftest import rewrite, run
from tests.conditions.factories import ConditionFactory, TreatmentFactory
from tests.conditions.test_pages import json_ld

# The last migration before `aliases` was split (rename here if migrations are renumbered).
BEFORE_SPLIT = ("conditions", "0002_search_index_and_content_editor_group")


def also_called_text(page_html):
    """The text of every "Also called" line on a page, joined."""
    found = re.findall(r'<p class="aliases">(.*?)</p>', page_html, re.S)
    return html.unescape(" | ".join(found))


def result_names(client, query):
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    return [page.name for page, _ in response.context["results"]]


def all_pages():
    return [*Condition.objects.published(), *Treatment.objects.published()]


def test_pages_show_synonyms_but_no_search_term(client, pages):
    text = also_called_text(client.get("/conditions/lumbar-radicular-pain/").text)
    assert text == "Also called sciatica, lumbar radiculopathy"
    assert "pinched nerve" not in text
    spacer = client.get("/treatments/interspinous-spacer/").text
    assert also_called_text(spacer) == "Also called interspinous process spacer"
    assert "Superion" not in spacer and "Vertiflex" not in spacer


def test_no_page_and_no_index_shows_a_search_term_as_a_synonym(client, pages):
    index = client.get("/conditions/").text
    for page in all_pages():
        shown = also_called_text(client.get(page.get_absolute_url()).text)
        synonyms = ", ".join(page.also_called_list)
        assert shown == (f"Also called {synonyms}" if synonyms else ""), page.name
        # Whole names: "disc decompression" is a search term inside a synonym, and that is fine.
        search_terms = {term.lower() for term in page.search_terms.splitlines()}
        assert not search_terms & {name.lower() for name in page.also_called_list}, page.name
        if isinstance(page, Condition) and synonyms:
            assert f'<p class="aliases">Also called {html.escape(synonyms)}</p>' in index


def test_structured_data_names_only_synonyms(client, pages):
    spacer = json_ld(client.get("/treatments/interspinous-spacer/").text)["MedicalWebPage"]
    assert spacer["about"]["alternateName"] == ["interspinous process spacer"]
    lumbar = json_ld(client.get("/conditions/lumbar-radicular-pain/").text)["MedicalWebPage"]
    assert lumbar["about"]["alternateName"] == ["sciatica", "lumbar radiculopathy"]
    # Nothing but search terms: no alternateName at all.
    nerve_blocks = json_ld(client.get("/treatments/nerve-blocks/").text)["MedicalWebPage"]
    assert "alternateName" not in nerve_blocks["about"]


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("sciatica", "Lumbar radicular pain"),  # a synonym
        ("pinched nerve in the lower back", "Lumbar radicular pain"),  # an everyday phrase
        ("Superion", "Interspinous spacer"),  # a brand
        ("vertiflex", "Interspinous spacer"),
        ("Intracept", "Basivertebral nerve ablation"),
        ("reflex sympathetic dystrophy", "Complex regional pain syndrome"),  # an older name
    ],
)
def test_search_finds_pages_by_synonyms_and_search_terms(client, pages, query, first):
    assert result_names(client, query)[0] == first


def test_misspelled_search_term_suggests_the_term(client, pages):
    response = client.get("/search/", {"q": "superoin"})
    assert response.context["suggestion"] == "Superion"
    assert "Interspinous spacer" in [page.name for page, _ in response.context["results"]]


def test_synonyms_and_search_terms_rank_alike_after_the_name(client, demo):
    ConditionFactory(name="Summary match", summary="Helps with zebra pain.")
    ConditionFactory(name="Synonym match", also_called="zebra disease")
    TreatmentFactory(name="Search term match", search_terms="Zebrax\nzebra brand")
    ConditionFactory(name="Split match", also_called="striped horse", search_terms="zebra")
    TreatmentFactory(name="Zebra blocks")
    assert result_names(client, "zebra") == [
        "Zebra blocks",
        "Search term match",
        "Split match",
        "Synonym match",
        "Summary match",
    ]
    # Words may come from either list, as they could from the one list before.
    assert result_names(client, "striped zebra")[0] == "Split match"


def test_editor_adds_a_search_term_that_search_finds_and_the_page_never_shows(
    editor_client, client, pages
):
    condition = Condition.objects.get(slug="lumbar-radicular-pain")
    url = f"/admin/conditions/condition/{condition.pk}/change/"
    form = editor_client.get(url)
    assert "Shown on the page as “Also called …”" in form.text
    assert "Never shown on the page; search finds the page by them." in form.text
    data = admin_form_data(form)
    data["search_terms"] += "\r\nsiatica"
    response = editor_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    editor_client.logout()
    assert "Lumbar radicular pain" in result_names(client, "siatica")
    assert "siatica" not in client.get(condition.get_absolute_url()).text


# The import


def test_import_reads_both_lists(db, content):
    spacer_file = content / "treatments" / "interspinous-spacer.md"
    run(content)
    spacer = Treatment.objects.get(slug="interspinous-spacer")
    assert spacer.also_called_list == ["interspinous process spacer"]
    assert {"Superion", "Vertiflex"} <= set(spacer.search_terms.splitlines())

    rewrite(spacer_file, 'also_called = ["', 'also_called = ["spinous process spacer", "')
    rewrite(spacer_file, 'search_terms = ["', 'search_terms = ["Coflex", "')
    assert "1 updated" in run(content)
    spacer.refresh_from_db()
    assert spacer.also_called_list == ["spinous process spacer", "interspinous process spacer"]
    assert spacer.search_terms.splitlines()[0] == "Coflex"


def test_an_editors_search_terms_are_never_overwritten(db, content):
    run(content)
    spacer = Treatment.objects.get(slug="interspinous-spacer")
    spacer.search_terms += "\nspacer implant"
    spacer.save()
    rewrite(content / "treatments" / "interspinous-spacer.md", "## Recovery", "## Recovery\n\nNew.")
    assert "kept as edited in the admin: Interspinous spacer" in run(content)
    spacer.refresh_from_db()
    assert spacer.search_terms.endswith("spacer implant")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("also_called = [", 'aliases = ["fibro"]\nalso_called = [', "'aliases' is no longer read"),
        ('search_terms = ["', 'search_terms = ["FMS", "', "FMS: a synonym or a search term"),
        (
            "search_terms = [",
            'search_terms = "fibro"\nold_terms = [',
            "'search_terms' must be a list",
        ),
    ],
)
def test_an_unsorted_name_list_is_refused_by_file_name(db, content, old, new, message):
    rewrite(content / "conditions" / "fibromyalgia.md", old, new)
    with pytest.raises(CommandError, match=rf"fibromyalgia\.md: .*{re.escape(message)}"):
        run(content)
    assert not Condition.objects.exists()


# The migration


def old_import_fingerprint(page, category):
    """The fingerprint import_content wrote before the split: one `aliases` field."""
    state = {
        "name": page.name,
        "aliases": page.aliases,
        "summary": page.summary,
        **{field: getattr(page, field) for field in TREATMENT_SECTIONS.values()},
        "faqs": [],
        "references": [],
        "category": category.slug,
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


@pytest.fixture
def before_split(transactional_db):
    """The database as it was before the split; put back to the latest state afterwards."""
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE_SPLIT])
    yield executor.loader.project_state([BEFORE_SPLIT]).apps
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_migration_moves_aliases_to_search_terms_and_import_still_knows_its_pages(before_split):
    apps = before_split
    category = apps.get_model("conditions", "TreatmentCategory").objects.create(
        name="Spine", slug="spine"
    )
    old_treatment = apps.get_model("conditions", "Treatment")
    sections = dict.fromkeys(TREATMENT_SECTIONS.values(), "Text.")
    imported = old_treatment.objects.create(
        name="Interspinous spacer", slug="interspinous-spacer", summary="A spacer.",
        aliases="interspinous process spacer\nSuperion", category=category, **sections,
    )  # fmt: skip
    imported.import_fingerprint = old_import_fingerprint(imported, category)
    imported.save()
    edited = old_treatment.objects.create(
        name="Nerve blocks", slug="nerve-blocks", summary="Edited in the admin.",
        aliases="genicular nerve block", category=category, **sections,
    )  # fmt: skip
    edited.import_fingerprint = "what the import wrote before an editor changed the summary"
    edited.save()
    apps.get_model("conditions", "HistoricalTreatment").objects.create(
        id=edited.pk, name=edited.name, slug=edited.slug, summary=edited.summary,
        aliases="genicular nerve block", history_date="2026-11-01T00:00:00Z", history_type="~",
        category_id=category.pk, status="published", published_at="2026-11-01T00:00:00Z",
        created_at="2026-11-01T00:00:00Z", updated_at="2026-11-01T00:00:00Z", **sections,
    )  # fmt: skip

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    spacer = Treatment.objects.get(slug="interspinous-spacer")
    assert spacer.also_called == ""  # nothing is shown as a synonym until someone sorts it
    assert spacer.search_terms == "interspinous process spacer\nSuperion"
    # The importer takes the migrated page for its own, so it fills also_called from the file.
    state = page_state(spacer, TREATMENT_SECTIONS, {"category": "spine"})
    assert spacer.import_fingerprint == fingerprint(state)
    blocks = Treatment.objects.get(slug="nerve-blocks")
    assert blocks.search_terms == "genicular nerve block"
    assert blocks.import_fingerprint == "what the import wrote before an editor changed the summary"
    assert blocks.history.get().search_terms == "genicular nerve block"
    # Searchable by the moved terms, on SQLite and on PostgreSQL's stored vector.
    assert [page.name for page in Treatment.objects.search("Superion")] == ["Interspinous spacer"]
    assert [page.name for page in Treatment.objects.search("genicular")] == ["Nerve blocks"]
    if connection.vendor == "postgresql":
        vector_finds = Treatment.objects.filter(search_vector=SearchQuery("superion"))
        assert list(vector_finds) == [spacer]


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite rebuilds a table from the migration state, so the review columns kept in "
    "the database for one release (conditions 0007) are gone there and cannot come back",
)
def test_migration_back_joins_both_lists_into_aliases(before_split):
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    TreatmentFactory(
        slug="spacer", also_called="interspinous process spacer", search_terms="Superion"
    )

    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE_SPLIT])
    old_treatment = executor.loader.project_state([BEFORE_SPLIT]).apps.get_model(
        "conditions", "Treatment"
    )
    assert old_treatment.objects.get(slug="spacer").aliases == (
        "interspinous process spacer\nSuperion"
    )
