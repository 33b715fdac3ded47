"""`make mutate`'s summary: the mutation score of each module and the mutants that survived.

Reads what `mutmut run` left in mutants/ and the equivalent mutants declared in
tests/mutation/equivalent.toml (the module, the mutated line as mutmut writes it, and why no
test can tell it apart). An equivalent mutant counts neither for nor against the score.
"""

import sys
from collections import defaultdict

from equivalent import declared, mutated_lines, reason
from mutmut.__main__ import walk_mutatable_files
from mutmut.mutation.data import SourceFileMutationData
from mutmut.stats import status_by_exit_code

TARGET = 90.0


def main():
    equivalent = declared()
    used, finished = set(), set()
    rows, survivors, unchecked = [], [], 0
    for path in sorted(walk_mutatable_files()):
        data = SourceFileMutationData(path=path)
        data.load()
        counts = defaultdict(int)
        for name, exit_code in sorted(data.exit_code_by_key.items()):
            status = status_by_exit_code[exit_code]
            if status in ("killed", "timeout", "segfault", "caught by type check"):
                counts["killed"] += 1
            elif status == "not checked":
                unchecked += 1
            elif status in ("survived", "no tests", "suspicious", "skipped"):
                # "skipped": a mutant's fork found it declared equivalent and ran no test.
                lines = mutated_lines(name, path)
                if reason(lines, path):
                    used.update((str(path), ln) for ln in lines)
                    counts["equivalent"] += 1
                else:
                    counts["survived"] += 1
                    survivors.append((name, status, lines))
        if "not checked" not in map(status_by_exit_code.get, data.exit_code_by_key.values()):
            finished.add(str(path))
        tested = counts["killed"] + counts["survived"]
        score = 100.0 * counts["killed"] / tested if tested else None  # None: not run yet
        row = (counts["killed"], counts["survived"], counts["equivalent"])
        # The time the module's mutants took, one child's seconds (two run at a time).
        seconds = sum(data.durations_by_key.get(name, 0.0) for name in data.exit_code_by_key)
        rows.append((str(path), tested, *row, score, seconds))

    header = f"{'module':38} {'mutants':>7} {'killed':>7} {'survived':>8} {'equiv.':>6}"
    print(f"{header} {'score':>7} {'minutes':>7}")
    for module, tested, killed, survived, equiv, score, seconds in rows:
        shown = "    n/a" if score is None else f"{score:6.1f}%"
        line = f"{module:38} {tested:7} {killed:7} {survived:8} {equiv:6} {shown}"
        print(f"{line} {seconds / 60:7.1f}")
    tested = sum(row[1] for row in rows)
    killed = sum(row[2] for row in rows)
    total = 100.0 * killed / tested if tested else 100.0
    equivalents = sum(row[4] for row in rows)
    minutes = sum(row[6] for row in rows) / 60
    line = f"{'all':38} {tested:7} {killed:7} {tested - killed:8} {equivalents:6} {total:6.1f}%"
    print(f"{line} {minutes:7.1f}")
    print("(minutes: the time the module's mutants took in one child; two run at a time)")
    if unchecked:
        print(f"\n{unchecked} mutants were not checked (the run stopped): run `make mutate` again.")
    if survivors:
        print("\nSurvived (`.venv/bin/mutmut show NAME` shows the change):")
        for name, status, lines in survivors:
            print(f"  {name} ({status}): {' | '.join(lines)[:110]}")
    # Only a module whose every mutant was checked can tell an entry has gone stale.
    stale = [
        (module, line)
        for module, lines in equivalent.items()
        for line in lines
        if module in finished and (module, line) not in used
    ]
    for module, line in stale:
        print(f"\nNo mutant matches the equivalent entry {module}: {line!r}; remove it.")
    below = [row[0] for row in rows if row[5] is not None and row[5] < TARGET]
    if below:
        print(f"\nBelow {TARGET:.0f}%: {', '.join(below)}")
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
