"""The site's own illustrations: hand-drawn SVG files in static/img/illustrations/.

Pages show them as <img> with the width and height written in each file, so the browser keeps
their room before they load. A condition or treatment page places one with a figure line in
its Markdown (conditions.models.render_markdown); templates with includes/illustration.html.
"""

import functools
import re
import xml.etree.ElementTree as ElementTree
from typing import NamedTuple

from django.conf import settings
from django.contrib.staticfiles import finders
from django.utils.translation import gettext_lazy as _

FOLDER = "img/illustrations/"
# Lower-case words and hyphens: nothing that could leave the folder.
FILE_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\.svg")

# What the site's own pictures show, for templates that use them as content rather than as
# decoration. Figures on condition and treatment pages carry their own text in the Markdown.
DESCRIPTIONS = {
    "clinic.svg": _(
        "Drawing of a low, modern clinic building with large windows, set among trees and tall "
        "prairie grass. Two people walk up the path to the front door, one of them with a cane."
    ),
}


class Illustration(NamedTuple):
    name: str
    url: str
    width: int
    height: int

    @property
    def description(self):
        return DESCRIPTIONS.get(self.name, "")


def url_prefix():
    return f"{settings.STATIC_URL}{FOLDER}"


@functools.cache
def illustration(name):
    """The illustration called `name` ("clinic.svg"), or None if there is no such file.

    Read once per process: the files change only with a release, which restarts it.
    """
    if not FILE_NAME.fullmatch(name or ""):
        return None
    path = finders.find(f"{FOLDER}{name}")
    if path is None:
        return None
    # Our own files, from the repository: not untrusted XML.
    root = ElementTree.parse(path).getroot()  # noqa: S314
    return Illustration(
        name=name,
        url=f"{url_prefix()}{name}",
        width=int(root.attrib["width"]),
        height=int(root.attrib["height"]),
    )


def illustration_at(src):
    """The illustration a page's Markdown points to ("/static/img/illustrations/x.svg"), or
    None: any other address, on this site or another, is no illustration."""
    prefix = url_prefix()
    if not (src or "").startswith(prefix):
        return None
    return illustration(src.removeprefix(prefix))
