"""mountcam.jit: cached numba kernels recompile when a module they call into changes.

Numba alone keys a cached kernel on its own file's content, so a kernel that inlines another
module's ``@njit`` function keeps the old code after that module is edited. These tests build a
two-module package in a temporary folder, run it in fresh interpreters (so only the on-disk
cache carries over), edit the callee and check what the caller returns.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from mountcam import jit

CALLEE = "from mountcam.jit import njit\n\n@njit(cache=True)\ndef value():\n    return {v}\n"
CALLER = textwrap.dedent(
    """
    from mountcam.jit import njit
    from pkgx.callee import value

    @njit(cache=True)
    def twice():
        return 2 * value()
    """
)


def _run(tmp: Path, install: bool) -> int:
    setup = (
        f"from pathlib import Path; from mountcam import jit; "
        f"jit.install_package_cache_locator(Path({str(tmp / 'pkgx')!r}))"
        if install
        else "import mountcam.jit"
    )
    code = f"import sys; sys.path.insert(0, {str(tmp)!r}); {setup}\n"
    code += "from pkgx.caller import twice; print(twice())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.strip().splitlines()[-1])


def _package(tmp: Path, v: int) -> None:
    pkg = tmp / "pkgx"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "caller.py").write_text(CALLER)
    (pkg / "callee.py").write_text(CALLEE.format(v=v))


def test_an_edit_of_a_called_module_recompiles_the_caller(tmp_path):
    _package(tmp_path, 1)
    assert _run(tmp_path, install=True) == 2
    assert list((tmp_path / "pkgx" / "__pycache__").glob("caller.twice-*.nbi"))  # cached
    _package(tmp_path, 5)
    assert _run(tmp_path, install=True) == 10


def test_without_the_package_stamp_numba_keeps_the_stale_kernel(tmp_path):
    # The hazard the locator exists for: numba's own per-file key (the package here is not
    # mountcam's, so mountcam.jit leaves it to numba).
    _package(tmp_path, 1)
    assert _run(tmp_path, install=False) == 2
    _package(tmp_path, 5)
    assert _run(tmp_path, install=False) == 2


def test_mountcam_kernels_use_the_package_locator():
    from mountcam.develop import strip_kernels

    kernel = next(
        obj
        for obj in vars(strip_kernels).values()
        if hasattr(obj, "_cache") and getattr(obj._cache, "_impl", None) is not None
    )
    locator = kernel._cache._impl.locator
    assert getattr(locator, "package_root", None) == jit.PACKAGE_ROOT
    assert locator.get_source_stamp()[1] == jit.package_source_stamp()


def test_the_stamp_covers_every_module_that_uses_numba():
    names = {
        p.relative_to(jit.PACKAGE_ROOT).as_posix() for p in jit._numba_modules(jit.PACKAGE_ROOT)
    }
    assert {
        "develop/strip_kernels.py",
        "develop/demosaic_fast.py",
        "develop/highlights.py",
    } <= names
    assert "errors.py" not in names


def test_develop_survives_numba_workqueue_layer(tmp_path):
    # numba's fallback threading layer aborts the process when parallel kernels are launched
    # from two threads at once; the pipeline then develops its strips one after another.
    # Small strips so that this 192-row picture has several.
    from test_cli_develop import write_foreign_dng

    dng = write_foreign_dng(tmp_path / "f.dng")
    code = (
        "import sys, numpy as np\n"
        "from mountcam.develop import develop\n"
        "from mountcam.develop.schedule import Schedule\n"
        "from mountcam.jit import concurrent_launches_are_safe\n"
        f"img = develop({str(dng)!r}, output_dtype=np.uint8, schedule=Schedule(strip_rows=32))\n"
        f"np.save({str(tmp_path / 'out.npy')!r}, img.pixels)\n"
        "print('safe:', concurrent_launches_are_safe())\n"
    )
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "safe: False" in out.stdout

    from mountcam.develop import develop

    reference = develop(dng, output_dtype=np.uint8).pixels
    got = np.load(tmp_path / "out.npy")
    assert got.shape == reference.shape
    np.testing.assert_array_equal(got, reference)  # strips are exact, serial or not


def test_openmp_workers_wait_passively_unless_the_user_chose() -> None:
    """mountcam.jit sets OMP_WAIT_POLICY=PASSIVE before numba loads OpenMP (spinning workers
    of one thread's kernels starve another thread's on two cores), keeping a user's choice."""
    code = "import os, mountcam.jit; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    for given, expected in ((None, "PASSIVE"), ("ACTIVE", "ACTIVE")):
        run_env = env if given is None else dict(env, OMP_WAIT_POLICY=given)
        out = subprocess.run(
            [sys.executable, "-c", code], env=run_env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == expected
