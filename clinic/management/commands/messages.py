"""Collect the interface strings into the catalogues, or check that every one is translated.

`manage.py messages` (what `make messages` runs) collects every string marked for translation
into each app's locale/<language>/LC_MESSAGES/django.po (templates/ into clinic's).

`manage.py messages --check` does the same collection in a temporary copy of the project and
lists, per catalogue, every string with an empty or fuzzy translation, including strings
added to the code since the catalogues were last collected; it fails if there is any. The
tests run it, so a page with an untranslated word cannot be merged. The real catalogues are
not touched.

How the strings are collected (which files, which options) is written here only.
"""

import ast
import contextlib
import functools
import re
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand, CommandError, call_command
from django.test.utils import override_settings


def collect_options():
    """makemessages' options: every language but the default, staff-only templates and
    make mutate's copy of the apps (mutants/) left out."""
    return {
        "locale": [code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE],
        "ignore_patterns": [".venv", "mutants", "tests", "templates/admin"],
        "no_obsolete": True,
    }


# What makemessages reads (its default extensions) and the catalogues; nothing else is copied.
COPIED_SUFFIXES = {".py", ".html", ".txt", ".po"}


class Command(BaseCommand):
    help = (
        "Collect the interface strings into each app's catalogues; with --check, list the "
        "strings without a translation instead, and fail if there are any."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing; list every string whose translation is empty or fuzzy.",
        )

    def handle(self, *args, check=False, verbosity=1, **options):
        if not check:
            call_command("makemessages", verbosity=verbosity, **collect_options())
            return
        missing = 0
        for catalogue, entries in collected_catalogues():
            if entries:
                missing += len(entries)
                self.stdout.write(f"{catalogue}: {len(entries)} without a translation")
                for entry in entries:
                    self.stdout.write(f"  {entry}")
        if missing:
            raise CommandError(
                f"{missing} interface strings have no translation (listed above). Run "
                "`make messages`, translate them in those files (and remove each `fuzzy` mark "
                "once the translation is right), then `make compilemessages`."
            )
        self.stdout.write("Every interface string has a translation.")


def collected_catalogues():
    """(catalogue path, untranslated entries) for each catalogue, as `make messages` would
    leave them, collected in a copy of the project (the current directory)."""
    root = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="messages-") as temporary:
        copy = Path(temporary) / "project"
        # makemessages skips the collected static files and uploads; the copy skips them and
        # the patients' attachments too.
        skipped = {
            Path(path).resolve()
            for path in (settings.STATIC_ROOT, settings.MEDIA_ROOT, settings.PRIVATE_MEDIA_ROOT)
            if path
        }
        shutil.copytree(root, copy, ignore=functools.partial(_not_copied, skipped))
        # Catalogues named by settings are written in the copy too; one outside the project
        # would be written for real, so it is left out.
        locale_paths = [
            copy / Path(path).resolve().relative_to(root.resolve())
            for path in settings.LOCALE_PATHS
            if Path(path).resolve().is_relative_to(root.resolve())
        ]
        with override_settings(LOCALE_PATHS=locale_paths), contextlib.chdir(copy):
            call_command("makemessages", verbosity=0, **collect_options())
        return [
            (str(path.relative_to(copy)), untranslated(path.read_text(encoding="utf-8")))
            for path in sorted(copy.rglob("locale/*/LC_MESSAGES/django.po"))
        ]


def _not_copied(skipped, directory, names):
    not_copied = []
    for name in names:
        path = Path(directory, name)
        if (
            name.startswith(".")
            or name in ("__pycache__", "mutants")  # mutants/: make mutate's copy of the apps
            or path.resolve() in skipped
            or (path.is_file() and path.suffix not in COPIED_SUFFIXES)
        ):
            not_copied.append(name)
    return not_copied


_FIELD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(".*")$')


def untranslated(catalogue):
    """Each entry of a .po file's text whose translation is empty or marked fuzzy, as text
    for a person to find it: the string, its context if any, "(fuzzy)" if so."""
    found = []
    for block in re.split(r"\n[ \t]*\n", catalogue):
        fields, field, fuzzy = {}, None, False
        for line in block.strip().splitlines():
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            elif match := _FIELD.match(line):
                field = match[1]
                fields[field] = ast.literal_eval(match[2])
            elif line.startswith('"') and field:
                fields[field] += ast.literal_eval(line)
        if not fields.get("msgid"):
            continue  # the header, or an obsolete (#~) entry
        translations = [text for name, text in fields.items() if name.startswith("msgstr")]
        if fuzzy or not translations or not all(translations):
            entry = repr(fields["msgid"])
            if "msgctxt" in fields:
                entry += f" (context {fields['msgctxt']!r})"
            found.append(entry + (" (fuzzy)" if fuzzy else ""))
    return found
