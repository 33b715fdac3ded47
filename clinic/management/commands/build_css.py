"""Write static/css/bootstrap.css: Bootstrap with only the rules the site can use.

Bootstrap's full stylesheet is ~230 KB minified; the public pages use a small part of it. This
reads the package's bootstrap.css and keeps a rule's selector only when every class it needs
(outside :not() and the like) appears in the templates (the project's and crispy-bootstrap5's,
which renders the forms), in a string in the project's Python (widget attributes) or in its
JavaScript. Element, attribute and :root rules stay; of the custom properties (--bs-*) only
those that the kept rules or the site's own CSS read, directly or through one another; of the
@keyframes only those a kept rule names. @media and @supports blocks are filtered the same way.

The output is committed, so nothing is built at deploy time. `--check` fails when it is out of
date (a class added to a template without a rebuild): run `make css`.

The parser is the standard library's: CSS's structure (strings, comments, blocks nested in
@media) is all a filter of selectors needs, and tinycss2 is not a dependency of the site.
"""

import re
import sys
import tokenize
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management.base import BaseCommand, CommandError

SOURCE = "bootstrap/css/bootstrap.css"
STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\''
COMMENT_OR_STRING = re.compile(rf"{STRING}|/\*.*?\*/", re.S)
# What shapes a stylesheet: strings are skipped whole, so braces inside them do not count.
STRUCTURE = re.compile(rf"{STRING}|[{{}}();]", re.S)
SPACE_OUTSIDE_STRINGS = re.compile(rf"({STRING})|\s+", re.S)
# At-rules whose block holds rules (filtered like the top level); other blocks hold declarations.
GROUPING = {"media", "supports", "layer", "container"}
CLASS_NAME = re.compile(r"\.(-?[A-Za-z_][\w-]*)")
# Bootstrap's JavaScript hooks and its data-bs-theme colour modes: kept only if a source uses them.
BOOTSTRAP_ATTRIBUTE = re.compile(r"\[\s*(data-bs-[\w-]+)")
VAR = re.compile(r"var\(\s*(--[\w-]+)")
WORD = re.compile(r"-?[A-Za-z_][\w-]*")


class Rule:
    """A qualified rule (`prelude` is its selector list) or an at-rule (`prelude` starts with
    "@"). `body` is a list of rules for @media and the like, a list of (name, value)
    declarations for a style rule or @font-face, the block's text for @keyframes, and None for
    a statement such as @charset."""

    def __init__(self, prelude, body):
        self.prelude, self.body = prelude, body

    @property
    def at_keyword(self):
        return self.prelude[1:].split(None, 1)[0].split("(")[0].lower() if self.is_at else ""

    @property
    def is_at(self):
        return self.prelude.startswith("@")


def squeeze(text):
    """Whitespace runs to one space, except inside strings."""
    return SPACE_OUTSIDE_STRINGS.sub(lambda m: m.group(1) or " ", text).strip()


def split_top_level(text, separator):
    """Split on `separator` where it is outside strings and brackets."""
    parts, depth, start = [], 0, 0
    for match in re.finditer(rf"{STRING}|[()\[\]{re.escape(separator)}]", text, re.S):
        piece = match.group()
        if piece in "([":
            depth += 1
        elif piece in ")]":
            depth -= 1
        elif piece == separator and depth == 0:
            parts.append(text[start : match.start()])
            start = match.end()
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def blocks(css):
    """(prelude, block text or None) for each rule at the top level of comment-free CSS."""
    depth, parens, start, block_start = 0, 0, 0, 0
    for match in STRUCTURE.finditer(css):
        piece = match.group()
        if piece == "(":
            parens += 1
        elif piece == ")":
            parens -= 1
        elif piece == "{":
            if depth == 0:
                prelude, block_start = css[start : match.start()], match.end()
            depth += 1
        elif piece == "}":
            depth -= 1
            if depth < 0:
                raise ValueError(f"unbalanced '}}' at character {match.start()}")
            if depth == 0:
                yield prelude, css[block_start : match.start()]
                start = match.end()
        elif piece == ";" and depth == 0 and parens == 0:
            yield css[start : match.start()], None
            start = match.end()
    if depth or css[start:].strip():
        raise ValueError("the stylesheet ends inside a rule")


def parse(css):
    """The rules of comment-free CSS."""
    rules = []
    for prelude, block in blocks(css):
        rule = Rule(squeeze(prelude), block)
        if block is None:
            pass
        elif rule.at_keyword in GROUPING:
            rule.body = parse(block)
        elif rule.at_keyword.endswith("keyframes"):
            rule.body = squeeze(block)
        else:
            rule.body = [
                (squeeze(name).lower(), squeeze(value))
                for name, _, value in (d.partition(":") for d in split_top_level(block, ";"))
            ]
        rules.append(rule)
    return rules


def without_comments(css):
    return COMMENT_OR_STRING.sub(lambda m: " " if m.group().startswith("/*") else m.group(), css)


def needs(selector):
    """The class names and data-bs-* attributes an element must have for `selector` to match.

    Classes in brackets do not count: `.btn:not(.active)` matches buttons that are never active,
    and the rare `:is(.a, .b)` is kept when its other classes are used (keeping too much is safe).
    """
    required = set(BOOTSTRAP_ATTRIBUTE.findall(selector))
    outside, depth, index = [], 0, 0
    for match in re.finditer(rf"{STRING}|[()\[\]]", selector):
        if depth == 0:
            outside.append(selector[index : match.start()])
        piece = match.group()
        if piece in "([":
            depth += 1
        elif piece in ")]":
            depth -= 1
        index = match.end()
    outside.append(selector[index:])
    return required | set(CLASS_NAME.findall("".join(outside)))


def keep_used_selectors(rules, used):
    """Style rules cut down to the selectors that can match; @keyframes and the like as they are."""
    kept = []
    for rule in rules:
        if rule.is_at and rule.at_keyword in GROUPING:
            rule.body = keep_used_selectors(rule.body, used)
            if not rule.body:
                continue
        elif not rule.is_at:
            selectors = [s for s in split_top_level(rule.prelude, ",") if needs(s) <= used]
            if not selectors:
                continue
            rule.prelude = ",".join(selectors)
        kept.append(rule)
    return kept


def style_rules(rules):
    for rule in rules:
        if rule.is_at and rule.at_keyword in GROUPING:
            yield from style_rules(rule.body)
        elif isinstance(rule.body, list):
            yield rule


def keep_read_properties(rules, read_elsewhere):
    """Drop the custom properties nothing reads, and the rules and keyframes left empty."""
    declarations = [d for rule in style_rules(rules) for d in rule.body]
    definitions = {}
    for name, value in declarations:
        if name.startswith("--"):
            definitions.setdefault(name, []).append(value)
    read = set(read_elsewhere)
    for name, value in declarations:
        if not name.startswith("--"):
            read.update(VAR.findall(value))
    pending = list(read)
    while pending:  # a property read by a read property is read too
        for value in definitions.get(pending.pop(), []):
            for name in VAR.findall(value):
                if name not in read:
                    read.add(name)
                    pending.append(name)
    words = set()
    for rule in style_rules(rules):
        rule.body = [(n, v) for n, v in rule.body if not n.startswith("--") or n in read]
        words.update(w for _, value in rule.body for w in WORD.findall(value))
    return prune(rules, words)


def prune(rules, words):
    kept = []
    for rule in rules:
        if rule.is_at and rule.at_keyword in GROUPING:
            rule.body = prune(rule.body, words)
        elif rule.at_keyword.endswith("keyframes") and rule.prelude.split()[-1] not in words:
            continue
        if rule.body == []:
            continue
        kept.append(rule)
    return kept


def serialize(rules):
    lines = []
    for rule in rules:
        if rule.body is None:
            lines.append(f"{rule.prelude};")
        elif isinstance(rule.body, str):
            lines.append(f"{rule.prelude}{{{rule.body}}}")
        elif rule.is_at and rule.at_keyword in GROUPING:
            lines += [f"{rule.prelude}{{", serialize(rule.body), "}"]
        else:
            body = ";".join(f"{name}:{value}" for name, value in rule.body)
            lines.append(f"{rule.prelude}{{{body}}}")
    return "\n".join(lines)


def slim(css, used, read_elsewhere):
    """`css` with only the rules that `used` classes can match. `read_elsewhere`: custom
    properties other stylesheets read."""
    licence = re.search(r"/\*!.*?\*/", css, re.S)  # Bootstrap's MIT licence goes with it
    rules = keep_used_selectors(parse(without_comments(css)), used)
    rules = keep_read_properties(rules, read_elsewhere)
    # @charset counts only as the file's very first bytes.
    charset = [r for r in rules if r.at_keyword == "charset"]
    header = (
        "/* Built by `manage.py build_css` (make css) from Bootstrap's bootstrap.css: only the\n"
        "   rules the site's templates can use. Do not edit; run `make css` after changing them. */"
    )
    parts = [
        serialize(charset),
        licence and licence.group(),
        header,
        serialize([r for r in rules if r not in charset]),
    ]
    return "\n".join(filter(None, parts)) + "\n"


def project_paths():
    """The apps of this project (not the installed packages, even in a .venv inside it)."""
    base = Path(settings.BASE_DIR).resolve()
    environment = Path(sys.prefix).resolve()
    return [
        Path(config.path)
        for config in apps.get_app_configs()
        if Path(config.path).resolve().is_relative_to(base)
        and not Path(config.path).resolve().is_relative_to(environment)
    ]


def template_dirs():
    dirs = [Path(d) for engine in settings.TEMPLATES for d in engine.get("DIRS", [])]
    dirs += [path / "templates" for path in project_paths()]
    # The forms are rendered with crispy-bootstrap5's templates.
    dirs.append(Path(apps.get_app_config("crispy_bootstrap5").path) / "templates")
    return [d for d in dirs if d.is_dir()]


def python_strings(path):
    with path.open("rb") as source:
        for piece in tokenize.tokenize(source.readline):
            if piece.type == tokenize.STRING:
                yield piece.string


def used_words():
    """Every word that could be a class name in what renders the public pages."""
    texts = [p.read_text() for d in template_dirs() for p in sorted(d.rglob("*.html"))]
    for app in project_paths():
        for path in sorted(app.rglob("*.py")):
            if "migrations" not in path.relative_to(app).parts:
                texts += python_strings(path)
    for static in map(Path, settings.STATICFILES_DIRS):
        texts += [p.read_text() for p in sorted(static.rglob("*.js"))]
    return {word for text in texts for word in WORD.findall(text)}


def read_by_site_css(output):
    """The custom properties the site's own stylesheets read."""
    names = set()
    for static in map(Path, settings.STATICFILES_DIRS):
        for path in static.rglob("*.css"):
            if path.resolve() != output.resolve():
                names.update(VAR.findall(without_comments(path.read_text())))
    return names


class Command(BaseCommand):
    help = "Rebuild static/css/bootstrap.css from Bootstrap and the classes the templates use."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing; fail if the committed file differs from a fresh build.",
        )

    def handle(self, *args, check=False, **options):
        output = Path(settings.BASE_DIR) / "static" / "css" / "bootstrap.css"
        source = finders.find(SOURCE)
        if source is None:
            raise CommandError(f"{SOURCE} not found: is django-bootstrap-static installed?")
        full = Path(source).read_text()
        built = slim(full, used_words(), read_by_site_css(output))
        current = output.read_text() if output.exists() else None
        if check:
            if built != current:
                raise CommandError(
                    f"{output.relative_to(settings.BASE_DIR)} is out of date with the templates: "
                    "run make css (manage.py build_css) and commit the result."
                )
            self.stdout.write(f"{output.name} is up to date.")
            return
        output.write_text(built)
        self.stdout.write(
            f"Wrote {output.relative_to(settings.BASE_DIR)}: {len(built.encode()):,} bytes "
            f"(Bootstrap's full stylesheet: {len(full.encode()):,})."
        )
