"""Issue 9 §2-3: installed with its run-time dependencies only, every CLI error is one line.

A fresh virtual environment is built once per test session under the session's tmp folder:
our package is built into a wheel from a copy of the source tree and installed with
``pip install --no-deps``, so a data file missing from the package shows up here; the run-time
dependencies (``[project] dependencies`` of pyproject.toml and what they require, nothing from
the test extras, no colour-science) are linked in from the test environment, which is what
makes the environment take seconds rather than the minutes a download-and-install of numba,
scipy and OpenCV would. Then ``mountcam`` is run as a photographer runs it, in its own process:

- a bad value for each command ends with exit 2 and exactly one line on stderr (no warning of
  a third-party package before it, no traceback);
- commands that need no simulation (``version``, ``scenes list``, ``lenses``, ``sensors show``)
  print nothing on stderr;
- a truncated DNG gives ``develop`` one line, not tifffile's log lines.
"""

from __future__ import annotations

import fcntl
import importlib.metadata as metadata
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def runtime_distributions() -> set[str]:
    """Names of the distributions pyproject.toml's run-time dependencies need, transitively."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    todo = [Requirement(r) for r in project["dependencies"]]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = req.name.lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        todo.extend(Requirement(r) for r in metadata.distribution(req.name).requires or [])
    return seen


def _link_distribution(name: str, site: Path) -> None:
    dist = metadata.distribution(name)
    base = Path(dist.locate_file(""))
    tops = {Path(str(f)).parts[0] for f in dist.files or []}
    for top in tops:
        if top in ("..", "__pycache__") or top.endswith(".pth"):
            continue
        target = site / top
        if not target.exists():
            target.symlink_to(base / top)


def _build(root: Path) -> None:
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    for name in runtime_distributions():
        _link_distribution(name, site)
    source = root / "source"
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--quiet"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(root), str(source)],
        check=True, capture_output=True, cwd=root,
    )  # fmt: skip
    (wheel,) = root.glob("mountcam-*.whl")
    subprocess.run(
        [*pip, "--python", str(venv / "bin/python"), "install", "--no-deps", "--no-index",
         str(wheel)],
        check=True, capture_output=True, cwd=root,
    )  # fmt: skip
    _truncated_dng(root / "truncated.dng")
    (root / "ready").touch()


def _truncated_dng(path: Path) -> None:
    """A real DNG of ours cut after 1000 bytes: its IFD0 tags point past the end."""
    from datetime import UTC, datetime

    import numpy as np

    from mountcam.dng import calibrate_dual, write_dng
    from mountcam.sensor.model import load_sensor
    from mountcam.sensor.rawframe import CaptureMetadata, RawFrame

    meta = CaptureMetadata(
        sensor="IMX989", module="main", mode="binned", bits=12, exposure_s=0.01, iso=100,
        analog_gain=1.0, digital_gain=1.0, temperature_c=35.0, seed=1, frame_index=0,
        timestamp=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), lens_name="", focal_mm=0.0, f_number=0.0,
        as_shot_neutral=(0.5, 1.0, 0.7),
    )  # fmt: skip
    mosaic = np.random.default_rng(1).integers(256, 4095, (64, 96), dtype=np.uint16)
    whole = path.with_suffix(".whole.dng")
    cal = calibrate_dual(load_sensor("imx989").qe)
    write_dng(RawFrame(mosaic, "RGGB", (256.0,) * 4, 4095, meta), whole, calibration=cal)
    path.write_bytes(whole.read_bytes()[:1000])


@pytest.fixture(scope="session")
def runtime_env(tmp_path_factory) -> dict[str, str]:
    # One build for all xdist workers: they share the parent of their base temp folders.
    root = tmp_path_factory.getbasetemp().parent / "mountcam-runtime-venv"
    root.mkdir(exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "ready").exists():
            for child in root.iterdir():
                if child.name != ".lock":
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
            _build(root)
    venv = root / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env |= {"PATH": f"{venv / 'bin'}:{env.get('PATH', '')}", "XDG_CONFIG_HOME": str(root)}
    scratch = tmp_path_factory.mktemp("runtime-cwd")
    shutil.copy2(root / "truncated.dng", scratch / "truncated.dng")
    env["MOUNTCAM_TEST_SCRATCH"] = str(scratch)
    return env


def mountcam(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["mountcam", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=env["MOUNTCAM_TEST_SCRATCH"],
    )


def test_colour_science_is_not_there(runtime_env):
    run = subprocess.run(
        ["python", "-c", "import importlib.util as u; print(u.find_spec('colour'))"],
        env=runtime_env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert run.stdout.strip() == "None"


@pytest.mark.parametrize(
    "args",
    [
        ["shoot", "--scene", "chart:colorchecker", "--out", "shots", "--iso", "50"],
        ["shoot", "--scene", "chart:colorchecker", "--out", "shots", "--shutter", "250"],
        ["shoot", "--scene", "chart:nothing", "--out", "shots"],
        ["shoot", "--scene", "chart:colorchecker", "--out", "shots", "--illuminant", "candle"],
        ["shoot", "--scene", "chart:colorchecker", "--out", "shots", "--module", "m"],
        ["shoot", "--scene", "chart:colorchecker", "--out", "shots", "--crop", "0x0"],
        ["develop", "no-such-file.dng"],
        ["develop", "truncated.dng"],
        ["develop", "truncated.dng", "--format", "gif"],
        ["inspect", "truncated.dng"],
        ["lenses", "show", "summicron-m-51"],
        ["sensors", "show", "imx989", "--iso", "5"],
    ],
)
def test_every_error_is_one_line(runtime_env, args):
    scratch = Path(runtime_env["MOUNTCAM_TEST_SCRATCH"])
    run = mountcam(runtime_env, *args)
    assert run.returncode == 2, (args, run.returncode, run.stderr)
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (args, run.stderr)
    assert not (scratch / "shots").exists() or not any((scratch / "shots").iterdir())


@pytest.mark.parametrize(
    "args", [["version"], ["scenes", "list"], ["lenses"], ["sensors", "show", "imx989"]]
)
def test_commands_print_nothing_on_stderr(runtime_env, args):
    run = mountcam(runtime_env, *args)
    assert run.returncode == 0 and run.stdout and run.stderr == "", (args, run.stderr)
