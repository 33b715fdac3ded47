"""The equivalent mutants declared in equivalent.toml: a mutant is one when a line it adds is
declared for its module. The report leaves them out of the score; a mutant's fork (the plugin)
does not run their tests, which would all pass: each cost a survivor's run of every test that
reaches its function, seconds to minutes."""

import contextlib
import difflib
import re
import tomllib
from collections import defaultdict
from functools import cache
from pathlib import Path

from mutmut.mutation.data import MutantLineSpans
from mutmut.mutation.diff_apply import generated_function_names, get_diff_for_mutant
from mutmut.utils.format_utils import orig_function_and_class_names_from_key

DECLARED = Path(__file__).with_name("equivalent.toml")
# The project, which holds mutants/ (this file is also copied into mutants/tests/mutation/).
PROJECT = next(here for here in Path(__file__).resolve().parents if (here / "mutants").is_dir())
SKIPPED = 34  # the exit code mutmut reads as "skipped"


@cache
def declared():
    """{module's path: {the line a mutant adds: why no test can tell it apart}}"""
    equivalent = defaultdict(dict)
    for entry in tomllib.loads(DECLARED.read_text())["equivalent"]:
        equivalent[entry["module"]][entry["line"].strip()] = entry["reason"]
    return equivalent


def mutated_lines(name, path):
    """The lines the mutant adds, which say what it changed."""
    with contextlib.chdir(PROJECT):  # mutmut reads its mutants from mutants/ under it
        functions = _function_sources(name, path)
        if functions is None:  # no index of the mutated file: mutmut's own diff
            diff = get_diff_for_mutant(name, path=path).splitlines()
        else:
            diff = difflib.unified_diff(*functions, lineterm="")
    added = [line for line in diff if line[:1] == "+" and line[:3] != "+++"]
    return [line[1:].strip() for line in added]


def _function_sources(name, path):
    """The unmutated copy and the mutant of the function, as lines of text read by mutmut's
    index of the mutated file, each named as the original; or None without an index. The text
    is what mutmut's diff prints without parsing them again (libcst writes back what it read):
    a fifth of the time, 25 ms less in every fork of a long function."""
    spans = MutantLineSpans.load(path)
    if spans is None:
        return None
    names = generated_function_names(name)
    try:
        sources = spans.read_function_sources(list(names))
    except (KeyError, ValueError):
        return None
    original = orig_function_and_class_names_from_key(name)[0].rpartition(".")[-1]
    return [
        source.replace(f"def {generated}(", f"def {original}(", 1).splitlines()
        for generated, source in zip(names, sources, strict=True)
    ]


def reason(lines, path):
    """Why the mutant that adds these lines to the module at `path` is equivalent, or None."""
    known = declared().get(str(path), {})
    return next((known[line] for line in lines if line in known), None)


def of_mutant(name):
    """Why mutmut's mutant `name` is declared equivalent, or None."""
    module = re.match(r"(.+?)\.x[_ǁ]", name).group(1)
    path = module.replace(".", "/") + ".py"
    return reason(mutated_lines(name, path), path) if path in declared() else None
