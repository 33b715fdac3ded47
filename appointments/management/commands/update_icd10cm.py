"""Write appointments/data/icd10cm.tsv.xz, the code set the site checks diagnosis codes against,
from the installed simple-icd-10-cm package (a development dependency)."""

import datetime
import importlib.metadata
import importlib.resources
import lzma
import re
import tempfile
import warnings
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from appointments import icd10cm

PACKAGE = "simple-icd-10-cm"


class Command(BaseCommand):
    help = (
        "Regenerate the ICD-10-CM code file from the installed simple-icd-10-cm package, after "
        "upgrading it to a newer release (make lock LOCK_ARGS='--upgrade-package "
        "simple-icd-10-cm'). Commit the file."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", type=Path, default=icd10cm.CODE_FILE, help="Where to write the file."
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Write nothing; fail if the file differs from what the package gives.",
        )

    def handle(self, *args, output, check, **options):
        try:
            # 2.5 s and 190 MB: only here, never in the site. It reads its data with
            # importlib.resources calls that Python deprecates: not ours to fix.
            with warnings.catch_warnings(action="ignore", category=DeprecationWarning):
                import simple_icd_10_cm as package
        except ImportError:
            raise CommandError(
                f"{PACKAGE} is not installed: install requirements.lock (make install)."
            ) from None
        release = icd10cm.Release(_effective_date(), f"{PACKAGE} {_version()}")
        rows = list(_rows(package))
        if check:
            with tempfile.TemporaryDirectory() as folder:
                fresh = Path(folder) / "fresh.tsv.xz"
                icd10cm.write_code_file(fresh, release, rows)
                if _text(fresh) != _text(output):
                    raise CommandError(
                        f"{output} is not the code set of {release.source} ({release}): run "
                        "manage.py update_icd10cm and commit the file."
                    )
            self.stdout.write(f"{output} is {release} ({len(rows)} codes).")
            return
        icd10cm.write_code_file(output, release, rows)
        billable = sum(1 for _, is_billable, _ in rows if is_billable)
        self.stdout.write(
            f"Wrote {output}: {release} (fiscal year {release.fiscal_year}), {len(rows)} codes, "
            f"{billable} billable, from {release.source}."
        )


def _version():
    return importlib.metadata.version(PACKAGE)


def _effective_date():
    """The release the package holds, from its data file's name: icd10c-tabular-April-1-2026.xml
    is the update that took effect on April 1, 2026."""
    names = [item.name for item in importlib.resources.files("simple_icd_10_cm.data").iterdir()]
    for name in names:
        found = re.search(r"-([A-Z][a-z]+)-(\d{1,2})-(\d{4})\.xml$", name)
        if found:
            return datetime.datetime.strptime(" ".join(found.groups()), "%B %d %Y").date()  # noqa: DTZ007 - a date, no time
    raise CommandError(f"Cannot tell which release {PACKAGE} holds from its files: {names}")


def _rows(package):
    """(code, billable, description) for every category and subcategory, in the tabular order."""
    for code in package.get_all_codes(with_dots=True):
        if not package.is_category_or_subcategory(code):
            continue  # chapters and blocks (M50-M54) are headings, not codes
        description = package.get_description(code)
        if package.is_extended_subcategory(code):
            # The package builds a 7th-character code's title as its parent's, a comma and the
            # character's meaning, with any alternative wordings after a "/" ("initial
            # encounter for open fracture type I or II/initial encounter for open fracture
            # NOS"); CMS's title has the meaning alone. No meaning has a "/" of its own.
            parent = package.get_description(package.get_parent(code))
            meaning = description[len(parent) + 2 :].split("/")[0]
            description = f"{parent}, {meaning}"
        yield code, package.is_leaf(code), " ".join(description.split())


def _text(path):
    try:
        with lzma.open(path, "rt", encoding="utf-8") as file:
            return file.read()
    except FileNotFoundError:
        return None
