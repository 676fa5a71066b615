"""Issue 9 §3, the slow half (``make interop``): in the fresh environment of
``tests/test_runtime_install.py`` (run-time dependencies only, our wheel), a real shot and its
development print nothing on stderr: no third-party warning, no progress residue. Slow
because the installed copy compiles its numba kernels on first use (about a minute), which is
why ``make test`` checks only the refusals and the commands that simulate nothing.
"""

from __future__ import annotations

import pytest

from test_runtime_install import mountcam, runtime_env  # noqa: F401 - runtime_env: a fixture

pytestmark = pytest.mark.interop


def test_a_shot_and_its_development_print_nothing_on_stderr(runtime_env):  # noqa: F811
    run = mountcam(runtime_env, "shoot", "--scene", "chart:colorchecker", "--crop", "128x96",
                   "--seed", "1", "--out", "quiet-shots")  # fmt: skip
    assert run.returncode == 0 and run.stderr == "", run.stderr
    run = mountcam(runtime_env, "develop", "quiet-shots/MTC_0001.dng", "--out-dir", "quiet-jpegs")
    assert run.returncode == 0 and run.stderr == "", run.stderr
