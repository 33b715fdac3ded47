"""requirements.lock, which `make install` and CI install from, keeps up with pyproject.toml."""

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# The runtime dependencies and the dev extra; the s3 extra is installed only where it is used.
REQUIREMENTS = [
    Requirement(line)
    for line in [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["dev"]]
]
# One entry per package: "name==version \" then its hashes and "# via" comments.
ENTRY = re.compile(r"^([A-Za-z0-9][\w.-]*)==(\S+).*?(?=^[A-Za-z0-9]|\Z)", re.MULTILINE | re.DOTALL)


def locked():
    """{canonical name: (pinned version, the whole entry)} from requirements.lock."""
    text = (ROOT / "requirements.lock").read_text()
    return {canonicalize_name(entry[1]): (entry[2], entry[0]) for entry in ENTRY.finditer(text)}


@pytest.mark.parametrize("requirement", REQUIREMENTS, ids=str)
def test_each_dependency_is_pinned_within_its_range(requirement):
    version, _ = locked().get(canonicalize_name(requirement.name), (None, None))
    assert version, f"{requirement.name} is not in requirements.lock: run `make lock`"
    assert requirement.specifier.contains(version, prereleases=True), (
        f"requirements.lock pins {requirement.name}=={version}, outside {requirement}: "
        "run `make lock`"
    )


def brought_by_extras(requirement):
    """What the requirement's extras add, from the installed package's metadata."""
    dependencies = [Requirement(line) for line in metadata.requires(requirement.name) or []]
    return [
        dependency
        for dependency in dependencies
        if dependency.marker
        and "extra" in str(dependency.marker)
        and any(dependency.marker.evaluate({"extra": extra}) for extra in requirement.extras)
    ]


@pytest.mark.parametrize("requirement", [r for r in REQUIREMENTS if r.extras], ids=str)
def test_what_an_extra_brings_is_pinned_too(requirement):
    # The lock names psycopg, not psycopg[binary]: pip would leave psycopg-binary out unnoticed.
    brought = brought_by_extras(requirement)
    assert brought, f"{requirement} brings nothing: is the extra's name right?"
    assert [r.name for r in brought if canonicalize_name(r.name) not in locked()] == []


def test_every_pin_carries_hashes():
    # pip's --require-hashes refuses the whole file otherwise; this says which entry.
    entries = locked()
    assert len(entries) > 50
    assert [name for name, (_, entry) in entries.items() if "--hash=sha256:" not in entry] == []
