"""White balance: the camera neutral to develop with, from a setting.

The result is always a *camera neutral* — the camera RGB of the scene white, max component 1,
in the same sense as the DNG tag AsShotNeutral — because that is what both the white-balance
gains (``1/neutral``) and the DNG colour model (which finds the white point and the matrices
from it, see :mod:`mountcam.develop.colour`) need.

- ``as-shot``: AsShotNeutral from the file (or D65 through the profile when the file has none).
- presets: the white point of a CIE standard illuminant (CIE 15:2004 Table T.3 / T.8
  chromaticities), taken into camera space through the profile's interpolated ColorMatrix:
  daylight = D55, cloudy = D65, shade = D75, tungsten = A, fluorescent = F2 (cool white).
- kelvin: the Planckian locus at that temperature (Robertson's table; Duv = 0), likewise.
- ``auto``: estimated from the raw in camera space with the *shades of grey* estimator
  (G. D. Finlayson & E. Trezzi, "Shades of Gray and Colour Constancy", CIC 2004) with
  Minkowski norm p = 6, between grey world (p = 1) and white patch (p = ∞), on 2×2-binned
  CFA values with clipped and near-black cells left out.
"""

from __future__ import annotations

import numpy as np

from mountcam.develop.colour import D65_XY, ColourProfile, cct_to_xy
from mountcam.errors import UnreadableFile

#: Preset -> CIE 1931 xy of the standard illuminant it stands for (CIE 15:2004).
PRESET_XY: dict[str, tuple[float, float]] = {
    "daylight": (0.33242, 0.34743),  # D55
    "cloudy": (0.31271, 0.32902),  # D65
    "shade": (0.29902, 0.31485),  # D75
    "tungsten": (0.44757, 0.40745),  # A
    "fluorescent": (0.37208, 0.37529),  # F2, cool white fluorescent
}

#: Minkowski norm of the auto white balance (Finlayson & Trezzi found p = 6 best on their sets).
AUTO_WB_NORM = 6.0
#: Cells with any channel above this fraction of the clip level are left out of the estimate.
AUTO_WB_CLIP_FRACTION = 0.95
#: ... and cells whose brightest channel is below this fraction (noise, no colour information).
AUTO_WB_DARK_FRACTION = 0.01


def neutral_for(
    wb: str | int,
    profile: ColourProfile,
    as_shot_neutral=None,
    cfa_planes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Camera neutral (3,), max 1, for white balance setting ``wb``.

    ``cfa_planes``: for ``auto``, the R, G, B sample planes (any shape each, black-subtracted,
    scaled so the raw clip level is 1.0), e.g. from :func:`cfa_planes`.
    """
    if wb == "as-shot":
        if as_shot_neutral is not None:
            n = np.asarray(as_shot_neutral, dtype=np.float64)
            if n.shape != (3,) or not np.all(n > 0):
                raise UnreadableFile(f"AsShotNeutral {tuple(n)} is not three positive values")
            return n / n.max()
        return profile.xy_to_neutral(D65_XY)
    if wb == "auto":
        if cfa_planes is None:
            raise ValueError("auto white balance needs the raw CFA planes")
        return auto_neutral(*cfa_planes)
    if isinstance(wb, int):
        return profile.xy_to_neutral(cct_to_xy(float(wb)))
    if wb in PRESET_XY:
        return profile.xy_to_neutral(PRESET_XY[wb])
    raise ValueError(f"unknown white balance {wb!r}")


def cfa_planes(
    mosaic: np.ndarray, pattern: str, black_dn, white_dn: float, max_cells: int = 1 << 18
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R, G, B planes of 2×2 CFA cells (G the mean of the two greens), black-subtracted and
    scaled to 1.0 = white level, subsampled to at most ``max_cells`` cells for speed."""
    h, w = mosaic.shape[0] // 2 * 2, mosaic.shape[1] // 2 * 2
    step = max(1, int(np.ceil(np.sqrt((h // 2) * (w // 2) / max_cells))))
    planes: dict[str, list[np.ndarray]] = {"R": [], "G": [], "B": []}
    for k, colour in enumerate(pattern):
        dy, dx = divmod(k, 2)
        sub = mosaic[dy:h:2, dx:w:2][::step, ::step].astype(np.float32)
        scale = np.float32(1.0 / (white_dn - black_dn[k]))
        planes[colour].append((sub - np.float32(black_dn[k])) * scale)
    return (
        planes["R"][0],
        0.5 * (planes["G"][0] + planes["G"][1]),
        planes["B"][0],
    )


def auto_neutral(r: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shades-of-grey estimate of the camera neutral from unbalanced camera planes (1.0 =
    clip). Falls back to grey world over everything when too few cells qualify."""
    stack = np.stack([np.ravel(r), np.ravel(g), np.ravel(b)], axis=1).astype(np.float64)
    hi = stack.max(axis=1)
    ok = (hi < AUTO_WB_CLIP_FRACTION) & (hi > AUTO_WB_DARK_FRACTION) & np.all(stack > 0, axis=1)
    use = stack[ok] if ok.sum() >= 64 else np.clip(stack, 1e-6, None)
    p = AUTO_WB_NORM
    est = np.power(np.mean(np.power(use, p), axis=0), 1.0 / p)
    if not np.all(est > 0):
        return np.ones(3)
    return est / est.max()
