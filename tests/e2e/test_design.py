"""The design in a real browser: lines of prose short enough to read on a wide screen, the logo
in the header and on paper, and dark mode when the visitor's system asks for it."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)

MAX_CHARACTERS_PER_LINE = 75
READING_PAGES = [
    "/",
    "/conditions/failed-back-surgery-syndrome/",
    "/treatments/radiofrequency-ablation/",
    "/providers/",
]
# Each rendered line of each paragraph, list item and description in the main content, as
# the characters on it: a character's line is the bottom of its box (Range.getClientRects).
LINES_OF_PROSE = """() => {
  const range = document.createRange();
  const lines = [];
  for (const block of document.querySelectorAll("main p, main li, main dd")) {
    const byLine = new Map();
    const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      // A nested list item counts as its own block; a button's label is not prose.
      if (node.parentElement.closest("p, li, dd") !== block) continue;
      if (node.parentElement.closest(".btn")) continue;
      for (let index = 0; index < node.length; index++) {
        range.setStart(node, index);
        range.setEnd(node, index + 1);
        const box = range.getBoundingClientRect();
        if (!box.width && !box.height) continue;
        const bottom = Math.round(box.bottom);
        byLine.set(bottom, (byLine.get(bottom) || "") + node.data[index]);
      }
    }
    lines.push(...[...byLine.values()].map((line) => line.replace(/\\s+/g, " ").trim()));
  }
  return lines;
}"""


def relative_luminance(css_colour):
    red, green, blue = (int(part) / 255 for part in css_colour[4:-1].split(",")[:3])
    linear = [
        c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_prose_lines_stay_under_75_characters_on_a_wide_screen(site, page, base_url):
    page.set_viewport_size({"width": 1280, "height": 900})
    for path in READING_PAGES:
        page.goto(base_url + path)
        lines = page.evaluate(LINES_OF_PROSE)
        assert len(lines) > 10, path  # the measure found the page's prose
        longest = max(lines, key=len)
        assert len(longest) <= MAX_CHARACTERS_PER_LINE, (
            f"{path}: {len(longest)} characters: {longest!r}"
        )


def test_the_logo_sits_beside_the_name_in_the_header_and_on_paper(site, page, base_url):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(base_url + "/")
    brand = page.get_by_role("link", name="Bluestem Spine & Pain Center")
    logo = brand.locator("img")
    expect(logo).to_be_visible()
    expect(logo).to_have_attribute("alt", "")  # decorative: the name is the link's text
    assert page.evaluate("document.querySelector('.site-logo').naturalWidth") > 0  # it loaded
    box, name = logo.bounding_box(), brand.locator(".site-brand-name").bounding_box()
    assert box["height"] == 56 and box["x"] + box["width"] < name["x"]

    page.emulate_media(media="print")
    expect(page.locator(".print-letterhead-logo")).to_be_visible()


def test_dark_mode_follows_the_visitors_setting(site, page, base_url):
    page.goto(base_url + "/")
    background = "getComputedStyle(document.body).backgroundColor"
    assert relative_luminance(page.evaluate(background)) > 0.8
    page.emulate_media(color_scheme="dark")
    assert relative_luminance(page.evaluate(background)) < 0.05
    card = page.locator(".card").first.evaluate("card => getComputedStyle(card).backgroundColor")
    assert relative_luminance(card) < 0.05
