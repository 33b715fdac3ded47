"""What one mutant's fork costs, as mutmut runs it: a warm process (one run of the tests, as
mutmut's first run warms it) forks three times and runs the tests again in each fork, with the
arguments mutmut gives pytest. Run from mutants/, after `make mutate` has made it:

    cd mutants && ../.venv/bin/python ../tests/mutation/fork_cost.py TEST_ID...
"""

import os
import sys
import time
import tomllib

sys.path.insert(0, os.getcwd())

import pytest

with open("pyproject.toml", "rb") as project:
    config = tomllib.load(project)["tool"]["mutmut"]
# mutmut's own arguments (PytestRunner._pytest_args_regular_run and execute_pytest), then ours.
ARGS = ["--rootdir=.", "--tb=native", "-x", "-q", "-p", "no:randomly", "-p", "no:random-order"]
ARGS += sys.argv[1:] + config["pytest_add_cli_args"]

os.environ["MUTANT_UNDER_TEST"] = "stats"
pytest.main(ARGS)
os.environ["MUTANT_UNDER_TEST"] = "none.of_them__mutmut_1"  # a fork, with no mutant active
for _ in range(3):
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        with open(os.devnull, "w") as quiet:
            sys.stdout = sys.stderr = quiet
            os._exit(int(pytest.main(ARGS)))
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    print(f"fork: exit {code}, {time.perf_counter() - start:.3f} s", file=sys.__stderr__)
