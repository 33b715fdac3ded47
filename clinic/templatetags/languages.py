"""The page you are on, in each language: for the language switch and the hreflang links."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import translation

register = template.Library()


@dataclass(frozen=True)
class PageVersion:
    language: str
    name: str  # the language's own name: "Español" means something to those who read it
    path: str  # with the query parameters the page reads (a search keeps its words)
    url: str  # absolute, without a query, as the canonical link
    current: bool
    default: bool  # the version for every other language (hreflang="x-default")


@register.simple_tag(takes_context=True)
def page_versions(context):
    """This page in every language of settings.LANGUAGES, in that order.

    A page that matched no address (a 404) has no versions of its own: each language's
    home page stands in for it.
    """
    request = context["request"]
    match = request.resolver_match
    # Only the parameters a cached public page reads: anything else in the address
    # (utm_source=…) would otherwise be stored in the page and shown to later visitors.
    query = urlencode(
        [
            (name, value)
            for name in getattr(getattr(match, "func", None), "public_page_query", ())
            for value in request.GET.getlist(name)
        ]
    )
    current = translation.get_language()
    versions = []
    for language, name in settings.LANGUAGES:
        path = _path_in(match, language)
        versions.append(
            PageVersion(
                language=language,
                name=name,
                path=f"{path}?{query}" if query else path,
                url=request.build_absolute_uri(path),
                current=language == current,
                default=language == settings.LANGUAGE_CODE,
            )
        )
    return versions


def _path_in(match, language):
    with translation.override(language):
        if match is not None:
            try:
                return reverse(match.view_name, args=match.args, kwargs=match.kwargs)
            except NoReverseMatch:
                pass
        return reverse("clinic:home")
