"""The colour system in static/css/site.css: every pair of colours it declares reads with WCAG AA
contrast in light and in dark mode, and the header carries the practice's logo."""

import re

import pytest
from django.conf import settings

CSS = settings.BASE_DIR / "static" / "css"
PAIR = re.compile(r"contrast: (--[\w-]+) on (--[\w-]+) ([\d.]+)")
HEX = re.compile(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b")


def site_css():
    return (CSS / "site.css").read_text()


def block_after(css, opening):
    """The text of the { } block that `opening` (a regex ending at its brace) starts."""
    match = re.search(opening, css)
    assert match, f"site.css has no {opening!r}"
    depth, start = 1, match.end()
    for index in range(start, len(css)):
        depth += {"{": 1, "}": -1}.get(css[index], 0)
        if depth == 0:
            return css[start:index]
    raise AssertionError(f"{opening!r}: unclosed block")


def declarations(block):
    return dict(re.findall(r"(--[\w-]+):\s*([^;]+);", block))


def tokens():
    """The custom properties of each mode: light from the first :root, dark on top of it."""
    css = re.sub(r"/\*.*?\*/", "", site_css(), flags=re.S)
    light = declarations(block_after(css, r"(?m)^:root\s*\{"))
    dark_media = block_after(css, r"@media \(prefers-color-scheme: dark\)\s*\{")
    dark = {**light, **declarations(block_after(dark_media, r":root\s*\{"))}
    return {"light": light, "dark": dark}


def colour(properties, name):
    value = properties[name].strip()
    while value.startswith("var("):
        value = properties[value[4:-1].strip()].strip()
    assert HEX.fullmatch(value), f"{name} is {value!r}, not a hex colour"
    if len(value) == 4:
        value = "#" + "".join(c * 2 for c in value[1:])
    return tuple(int(value[i : i + 2], 16) for i in (1, 3, 5))


def contrast(one, other):
    """WCAG 2 contrast ratio of two sRGB colours."""

    def luminance(rgb):
        linear = [c / 255 for c in rgb]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in linear]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(one), luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_contrast_formula_is_wcags():
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21)
    # #767676 on white is the well-known lightest grey that passes 4.5:1; #777777 fails.
    assert contrast((0x76,) * 3, (255,) * 3) == pytest.approx(4.54, abs=0.01)
    assert contrast((0x77,) * 3, (255,) * 3) < 4.5


def test_the_declared_pairs_cover_text_buttons_the_emergency_box_and_focus():
    pairs = {(text, background) for text, background, _ in PAIR.findall(site_css())}
    for pair in [
        ("--clinic-ink", "--clinic-bg"),
        ("--clinic-ink-muted", "--clinic-surface"),
        ("--clinic-primary", "--clinic-surface"),
        ("--clinic-on-primary", "--clinic-primary"),
        ("--clinic-on-band", "--clinic-band"),
        ("--clinic-on-danger", "--clinic-danger-band"),
        ("--clinic-danger", "--clinic-surface"),
        ("--clinic-focus-text", "--clinic-focus"),
        ("--clinic-border-strong", "--clinic-surface"),
    ]:
        assert pair in pairs, pair


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_every_declared_pair_passes_wcag_aa(mode):
    properties = tokens()[mode]
    pairs = PAIR.findall(site_css())
    assert len(pairs) >= 30
    failures = []
    for text, background, minimum in pairs:
        ratio = contrast(colour(properties, text), colour(properties, background))
        if ratio < float(minimum):
            failures.append(f"{text} on {background}: {ratio:.2f}, needs {minimum}")
    assert failures == [], f"{mode} mode:\n" + "\n".join(failures)


def test_dark_mode_gives_every_colour_token_a_value_of_its_own():
    css = re.sub(r"/\*.*?\*/", "", site_css(), flags=re.S)
    light = declarations(block_after(css, r"(?m)^:root\s*\{"))
    dark_media = block_after(css, r"@media \(prefers-color-scheme: dark\)\s*\{")
    dark = declarations(block_after(dark_media, r":root\s*\{"))
    light_colours = {name for name, value in light.items() if HEX.fullmatch(value.strip())}
    assert light_colours - set(dark) == set()


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_bootstraps_rgb_triplets_match_their_colours(mode):
    properties = tokens()[mode]
    triplets = {n: v for n, v in properties.items() if n.startswith("--bs-") and n.endswith("-rgb")}
    assert len(triplets) >= 4
    for name, value in triplets.items():
        expected = colour(properties, name.removesuffix("-rgb"))
        assert tuple(int(part) for part in value.split(",")) == expected, (mode, name)


@pytest.mark.parametrize("name", ["site.css", "request.css", "print.css"])
def test_colours_are_tokens_not_literals(name):
    """Outside the token blocks the public stylesheets name colours only through tokens, so dark
    mode (and the contrast check) reaches all of them. Paper is black on white."""
    css = re.sub(r"/\*.*?\*/", "", (CSS / name).read_text(), flags=re.S)
    if name == "site.css":
        css = css.replace(block_after(css, r"(?m)^:root\s*\{"), "")
        dark_media = block_after(css, r"@media \(prefers-color-scheme: dark\)\s*\{")
        css = css.replace(block_after(dark_media, r":root\s*\{"), "")
    literals = set(HEX.findall(css)) - ({"#000", "#fff"} if name == "print.css" else set())
    assert literals == set()


def test_the_header_shows_the_logo_beside_the_practices_name(client, demo):
    html = client.get("/").text
    brand = re.search(r'<a class="navbar-brand site-brand"[^>]*>(.*?)</a>', html, re.S).group(1)
    # Decorative: the name beside it is the link's text.
    assert re.search(r'<img class="site-logo" src="/static/img/logo\.svg" alt=""', brand)
    assert demo.name.replace("&", "&amp;") in brand
    assert '<meta name="color-scheme" content="light dark">' in html
    assert 'href="/static/css/bootstrap.css"' in html
    assert "bootstrap.min.css" not in html
