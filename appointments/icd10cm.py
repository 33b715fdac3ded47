"""ICD-10-CM, the US diagnosis code set: which codes exist, what each means, which are billable.

The one place the code set comes from is `appointments/data/icd10cm.tsv.xz`, generated from the
simple-icd-10-cm package by `manage.py update_icd10cm` and committed. Its first line names the
release (the date CMS's update took effect); then one line per code, `M54.5<TAB>0<TAB>Low back
pain`, where 1 marks a billable code (one with no more specific code under it). A description
that goes on from the code's parent's, as most do ("Low back pain, unspecified" under "Low back
pain"), is written as what follows the comma, after a "+" (`M54.50<TAB>1<TAB>+unspecified`):
the file is 0.3 MB rather than 0.7, and the repeated endings ("initial encounter for closed
fracture") are held once in memory. Importing the package takes 2.5 s and 190 MB; this file
loads in 0.4 s into about 22 MB, once per process, on the first look-up, and every look-up
after that is a dictionary's.
"""

import bisect
import datetime
import difflib
import functools
import lzma
import sys
from dataclasses import dataclass
from pathlib import Path

CODE_FILE = Path(__file__).resolve().parent / "data" / "icd10cm.tsv.xz"
HEADER = "# ICD-10-CM"
GOES_ON = "+"  # the description goes on from the parent's, after a comma
NEAREST = 3  # codes suggested for one that does not exist
MORE_SPECIFIC_SHOWN = 6  # of a category's codes, in the staff note


@dataclass(frozen=True)
class Release:
    effective: datetime.date  # the day CMS's release took effect
    source: str  # what it was generated from: "simple-icd-10-cm 1.5.0"

    @property
    def fiscal_year(self):
        """The US federal fiscal year it belongs to: FY2027 began on October 1, 2026."""
        return self.effective.year + (self.effective.month >= 10)

    def __str__(self):
        return f"ICD-10-CM, {self.effective:%B} {self.effective.day}, {self.effective.year} release"


@dataclass(frozen=True)
class CodeSet:
    release: Release
    codes: dict  # code: (billable, description)
    order: list  # the codes sorted, so the codes under one are a slice


@dataclass(frozen=True)
class Diagnosis:
    """A code as staff see it; `description` is empty for a code that is not in the set."""

    code: str
    description: str = ""
    billable: bool = False
    more_specific: tuple = ()  # the codes one level down, for a code that is not billable

    @property
    def exists(self):
        return bool(self.description)

    @property
    def label(self):
        """ "M96.1 — Postlaminectomy syndrome, not elsewhere classified"."""
        return f"{self.code} — {self.description or 'not an ICD-10-CM code'}"

    @property
    def staff_note(self):
        """What staff should know before billing with it; empty for a billable code."""
        if not self.exists or self.billable:
            return ""
        shown = ", ".join(self.more_specific[:MORE_SPECIFIC_SHOWN])
        more = len(self.more_specific) - MORE_SPECIFIC_SHOWN
        if more > 0:
            shown += f" and {more} more"
        return f"not billable on its own: a more specific code exists ({shown})"

    def __str__(self):
        """The label and the note: "M54.5 — Low back pain; not billable on its own: …"."""
        return f"{self.label}; {self.staff_note}" if self.staff_note else self.label


def write_code_file(path, release, rows):
    """rows: (code, billable, description) for every category and subcategory."""
    descriptions = {code: description for code, _, description in rows}
    lines = [f"{HEADER}\t{release.effective.isoformat()}\t{release.source}\n"]
    for code, billable, description in rows:
        parent = _nearest_above(code, descriptions)
        if parent and description.startswith(f"{descriptions[parent]}, "):
            description = GOES_ON + description[len(descriptions[parent]) + 2 :]
        lines.append(f"{code}\t{int(billable)}\t{description}\n")
    with lzma.open(path, "wt", encoding="utf-8") as file:
        file.write("".join(lines))


def read_code_file(path):
    codes = {}
    with lzma.open(path, "rt", encoding="utf-8") as lines:
        release = _release(next(lines))
        for line in lines:
            code, billable, description = line.rstrip("\n").split("\t")
            codes[code] = (billable == "1", sys.intern(description))
    return CodeSet(release, codes, sorted(codes))


def _release(header):
    marker, effective, source = header.rstrip("\n").split("\t")
    if marker != HEADER:
        raise ValueError(f"Not an ICD-10-CM code file: it starts with {header[:40]!r}")
    return Release(datetime.date.fromisoformat(effective), source)


def _nearest_above(code, codes):
    """The nearest code above in `codes`: T40.2X1's is T40.2 (X is a placeholder), M54.5's M54."""
    for end in range(len(code) - 1, 2, -1):
        if code[:end] in codes:
            return code[:end]
    return None


@functools.cache
def code_set():
    return read_code_file(CODE_FILE)


@functools.cache
def release():
    """Which release the site checks codes against (read without loading the codes)."""
    with lzma.open(CODE_FILE, "rt", encoding="utf-8") as lines:
        return _release(next(lines))


def look_up(code):
    known = code_set().codes.get(code)
    if known is None:
        return Diagnosis(code)
    billable = known[0]
    return Diagnosis(code, _description(code), billable, () if billable else _children(code))


def _description(code):
    codes = code_set().codes
    description = codes[code][1]
    if description.startswith(GOES_ON):
        return f"{_description(_nearest_above(code, codes))}, {description[1:]}"
    return description


def _codes_under(prefix):
    order = code_set().order
    return order[bisect.bisect_left(order, prefix) : bisect.bisect_left(order, prefix + "\uffff")]


def _children(code):
    codes = code_set().codes
    return tuple(other for other in _codes_under(code) if _nearest_above(other, codes) == code)


def nearest(code):
    """At most NEAREST real codes closest to one that does not exist, billable ones first:
    from its category (M54.99: M54.9, M54.89, M54.59), else from codes starting alike."""
    for length in (3, 2, 1):
        candidates = _codes_under(code[:length])
        if candidates:
            break
    close = difflib.get_close_matches(code, candidates, n=NEAREST, cutoff=0.6)
    codes = code_set().codes
    return sorted(close, key=lambda other: not codes[other][0])  # stable: closest first
