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


def assert_kernels_agree(actual: np.ndarray, expected: np.ndarray) -> None:
    """Two compiled kernels doing the same arithmetic, to float32 rounding.

    They agree bit for bit only when both were compiled the same way: numba optimises a
    parallel kernel loaded from its disk cache differently from a freshly compiled one
    (numba/numba#10617), and under fastmath a float64 sum then rounds to float32 one ulp
    apart now and then (seen: 1 pixel in 20 000, at 2.3e-5). Within 4e-7 relative (a few
    float32 ulps) and 1e-12 absolute (either side of the clip at 0); a wrong tap or band is
    off by orders of magnitude more.
    """
    np.testing.assert_allclose(actual, expected, rtol=4e-7, atol=1e-12)


def green_sites(mosaic: np.ndarray) -> np.ndarray:
    """Both green sites of an RGGB mosaic, stacked into one (H, W/2) image."""
    return np.concatenate([mosaic[0::2, 1::2], mosaic[1::2, 0::2]], axis=0)


@pytest.fixture
def out_dir(tmp_path):
    return tmp_path / "out"


def twin_capture(
    scene,
    *,
    seed: int = 1,
    crop=None,
    mode: str = "binned",
    bits: int = 12,
    iso=None,
    exposure_s=None,
    ev: float = 0.0,
    metering: str = "average",
    white_balance="auto",
    count: int = 1,
    truth: bool = False,
    ideal_optics: bool = False,
    module: str = "main",
    lens=None,
    f_number=None,
    focus_m=None,
    focal_mm=None,
    sensor_cfa: str = "quad",
):
    """``count`` frames of ``scene`` through the Camera API on the twin (shutter and ISO given:
    manual; either missing: metered). Returns (camera, frames); ``camera.truth(frame)`` holds
    what only the twin knows. ``sensor_cfa="bayer"``: an ideal Bayer sensor (full mode)."""
    from mountcam.body.backend import SimulatedBackend
    from mountcam.body.camera import Camera
    from mountcam.body.settings import Controls

    backend = SimulatedBackend(
        scene, seed=seed, truth_image=truth, ideal_optics=ideal_optics, sensor_cfa=sensor_cfa
    )
    camera = Camera(backend)
    if lens is not None:
        camera.attach_lens(lens)
    camera.configure(module=module, mode=mode, bits=bits, crop=crop)
    if f_number is not None or focus_m is not None or focal_mm is not None:
        camera.set_lens(f_number=f_number, focus_m=focus_m, focal_mm=focal_mm)
    camera.set_controls(
        Controls.for_exposure(
            exposure_s, iso, ev=ev, metering=metering, white_balance=white_balance
        )
    )
    return camera, camera.capture_frames(count)
