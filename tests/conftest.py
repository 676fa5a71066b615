"""Shared helpers: run the real ``mountcam`` CLI in-process and read what it wrote."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from mountcam.app.cli import app


def run_cli(*args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``mountcam ARGS``."""
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def shoot(out_dir, *args: str) -> dict:
    """``mountcam shoot ... --out DIR --json``; returns the parsed JSON (asserting success)."""
    code, stdout, stderr = run_cli("shoot", *args, "--out", str(out_dir), "--json")
    assert code == 0, stderr
    return json.loads(stdout)


def sensor_figures(*args: str) -> dict:
    code, stdout, stderr = run_cli("sensors", "show", "imx989", *args, "--json")
    assert code == 0, stderr
    return json.loads(stdout)


def read_raw(path) -> np.ndarray:
    """The CFA mosaic as LibRaw reads it (uint16)."""
    import rawpy

    with rawpy.imread(str(path)) as raw:
        return raw.raw_image.copy()


def green_sites(mosaic: np.ndarray) -> np.ndarray:
    """Both green sites of an RGGB mosaic, stacked into one (H, W/2) image."""
    return np.concatenate([mosaic[0::2, 1::2], mosaic[1::2, 0::2]], axis=0)


@pytest.fixture
def out_dir(tmp_path):
    return tmp_path / "out"
