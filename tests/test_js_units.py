"""The front end's unit tests (tests/js) under Node's own test runner, as part of the suite."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
JS_TESTS = sorted((ROOT / "tests" / "js").glob("*.test.mjs"))


# Dates are whole days in the visitor's zone: also run where local days and UTC days differ
# by a half hour and summer time starts within the tests' ranges.
@pytest.mark.parametrize("zone", ["UTC", "America/St_Johns"])
def test_the_front_end_unit_tests_pass(zone: str) -> None:
    node = shutil.which("node")
    assert node, "Node.js runs the front end's unit tests; the set-up command needs it too"
    assert JS_TESTS, "no tests/js/*.test.mjs found"
    result = subprocess.run(
        [node, "--test", "--test-reporter=spec", *map(str, JS_TESTS)],
        cwd=ROOT,
        env={**os.environ, "TZ": zone},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
