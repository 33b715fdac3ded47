"""Benchmark: reading generated faxed referrals, field by field, and the time a page takes.

Run with `make bench-fax` (or `make bench`). Generates BENCH_FAXES faxes (25 by default) with
tests/fax_corpus.py: every layout, fine (204x196) and standard (204x98) resolution, Group 4
TIFF and scanned PDF, 1-2° askew and speckled, one to three pages. Each is read
(appointments.faxes.reading.read_pages) and its fields extracted (extraction.extract), and
the suggestions are compared with what the fax says.

A field is right when the suggestion equals the truth, or is left out when the fax does not
give it (urgency); the reason for referral, a paragraph, when it is at least 95% similar
(rapidfuzz ratio: a misread letter or comma does not make it wrong for staff). Targets: at
least 95% of fields right, no wrong date of birth on a fine fax, under 2 s a page.
"""

import io
import os
import resource
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only-secret-key-" + "x" * 40)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.project.settings")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import django  # noqa: E402

django.setup()

from rapidfuzz import fuzz  # noqa: E402

from appointments.faxes.extraction import extract  # noqa: E402
from appointments.faxes.reading import read_pages  # noqa: E402
from tests.fax_corpus import FINE, generate  # noqa: E402

FAXES = int(os.environ.get("BENCH_FAXES", "25"))
SEED = int(os.environ.get("BENCH_SEED", "16"))
REASON_SIMILARITY = 95


def is_right(field, truth, suggested):
    if field == "reason" and truth and suggested:
        return fuzz.ratio(" ".join(truth.split()), " ".join(suggested.split())) >= (
            REASON_SIMILARITY
        )
    return truth == suggested


def cpu_seconds():
    """This process's CPU time and its finished children's (the tesseract runs)."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main():
    faxes = generate(FAXES, seed=SEED)
    right, total = defaultdict(int), defaultdict(int)
    missed = defaultdict(int)
    page_seconds, wrong_births, total_seconds, total_pages = [], [], 0.0, 0
    cpu_started = cpu_seconds()
    for number, fax in enumerate(faxes, start=1):
        started = time.perf_counter()
        pages = read_pages(io.BytesIO(fax.data), fax.content_type)
        found = {field: suggestion.value for field, suggestion in extract(pages).items()}
        seconds = time.perf_counter() - started
        total_seconds += seconds
        total_pages += len(pages)
        page_seconds.extend([seconds / len(pages)] * len(pages))
        wrong = []
        for field in sorted(set(fax.truth) | set(found)):
            ok = is_right(field, fax.truth.get(field), found.get(field))
            for group in ("all", fax.resolution):
                total[group] += 1
                right[group] += ok
            if not ok:
                wrong.append(field if field in found else f"{field} (missing)")
                missed[field] += 1
        born = found.get("date_of_birth")
        if born and born != fax.truth["date_of_birth"]:
            wrong_births.append((number, fax.resolution))
        print(f"{number:3} {fax.description:34} {seconds / len(pages):5.2f} s/page  "
              f"wrong: {', '.join(wrong) or '-'}")  # fmt: skip

    print()
    cpu = cpu_seconds() - cpu_started
    print(f"Faxes: {len(faxes)}, pages: {total_pages}")
    for group in ("all", "fine", "standard"):
        if total[group]:
            share = 100 * right[group] / total[group]
            print(f"Fields right ({group}): {right[group]}/{total[group]} = {share:.1f}%")
    print("Misses by field: " + ", ".join(f"{f} {n}" for f, n in sorted(missed.items())))
    fine_births = [entry for entry in wrong_births if entry[1] == FINE]
    print(f"Wrong dates of birth: {len(wrong_births)} (on fine faxes: {len(fine_births)})")
    print(
        f"Seconds per page: median {statistics.median(page_seconds):.2f}, "
        f"total {total_seconds:.1f} s for {total_pages} pages "
        f"({total_seconds / total_pages:.2f} s/page); load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores"
    )
    # CPU time does not grow when other work shares the machine; wall time does.
    print(f"CPU seconds per page (Python and tesseract): {cpu / total_pages:.2f}")


if __name__ == "__main__":
    main()
