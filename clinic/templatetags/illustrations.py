from django import template

from clinic.illustrations import illustration as find_illustration

register = template.Library()


@register.simple_tag
def illustration(name):
    """One of the site's illustrations by file name: its address, size and description.

    A name with no file is a mistake in a template, so it fails loudly rather than leaving a
    hole in the page."""
    picture = find_illustration(name)
    if picture is None:
        raise template.TemplateSyntaxError(f"No illustration {name!r} in static/img/illustrations/")
    return picture
