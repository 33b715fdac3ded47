"""Site search over the published condition and treatment pages, in the visitor's language."""

import difflib
import re

from clinic.text import fold
from conditions.models import Condition, Treatment, active_language, lines

MAX_QUERY_LENGTH = 100
MAX_RESULTS = 50


def clean_query(raw):
    """Printable characters only, white space folded: nothing odd reaches the database."""
    printable = "".join(char if char.isprintable() else " " for char in raw)
    return re.sub(r"\s+", " ", printable).strip()


def search_pages(text):
    """The published pages matching the text, best first."""
    language = active_language()
    conditions = Condition.objects.published().search(text, language)[:MAX_RESULTS]
    treatments = Treatment.objects.published().search(text, language)[:MAX_RESULTS]
    pages = [*conditions, *treatments]
    pages.sort(key=lambda page: (-page.tier, -page.rank, page.name))
    return pages[:MAX_RESULTS]


def closest_name(text):
    """The published name, other name or search term closest to a misspelled query, if any
    (in Spanish: among the Spanish ones, accents ignored)."""
    language = active_language()
    fields = [f"{field}_{language}" for field in ("name", "also_called", "search_terms")]
    names = (
        Condition.objects.published()
        .order_by()
        .values_list(*fields)
        .union(Treatment.objects.published().order_by().values_list(*fields))
    )
    vocabulary = {
        fold(term): term
        for name, also_called, search_terms in names
        for term in [*lines(name or ""), *lines(also_called or ""), *lines(search_terms or "")]
    }
    found = difflib.get_close_matches(fold(text), vocabulary, n=1, cutoff=0.75)
    return vocabulary[found[0]] if found else None


def find_pages(query):
    """The pages matching the query, and None; when none match, the pages matching the name
    closest to it, and that name (the suggestion)."""
    pages = search_pages(query)
    if not pages:
        suggestion = closest_name(query)
        if suggestion:
            return search_pages(suggestion), suggestion
    return pages, None
