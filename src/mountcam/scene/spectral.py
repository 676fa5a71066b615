"""From scene content to per-channel signal: RGB -> reflectance spectra -> sensor channels.

RGB scene content is linear-sRGB *reflectance* (IEC 61966-2-1 primaries, D65 white; (1, 1, 1)
is a perfect diffuse white). The sensor integrates spectra with its own spectral sensitivities,
so each RGB triple has to become a plausible reflectance spectrum first ("spectral upsampling").

Method. Jakob & Hanika (2019), "A Low-Dimensional Function Space for Efficient Spectral
Upsampling", Computer Graphics Forum 38(2), 147-155, doi:10.1111/cgf.13626. A reflectance is
the sigmoid of a quadratic polynomial in wavelength,

    R(λ) = 1/2 + U / (2 sqrt(1 + U²)),   U = c0 t² + c1 t + c2,   t = (λ - 380 nm) / 400 nm,

which is smooth, bounded in [0, 1] by construction and has only three coefficients. The
coefficients for an N×N×N grid of linear-sRGB nodes on [0, 1]³ are fitted once (CIELAB residual
under D65, CIE 1931 2° observer, Gauss-Newton / Levenberg-Marquardt with a continuation from
grey) by ``tools/make_rgb_spectra_lut.py`` and shipped in
``mountcam/data/scene/jakob2019_srgb_coeffs.npz``. Neutral nodes are exactly flat spectra; the
whole sRGB cube is reachable, every node reproduces its colour to < 1e-6 ΔE*ab.

Why a node LUT is exact in colour. The LUT is interpolated tetrahedrally (the cell is split
into six tetrahedra along its neutral diagonal; Kasson et al. 1995, the usual colour-LUT
scheme). That is a piecewise-*linear* interpolation, and linear sRGB -> XYZ is linear, so the
XYZ (under D65) of the interpolated spectrum equals the interpolation of the node XYZs, i.e.
exactly the XYZ of the input colour. It is also a convex combination, so spectra stay in
[0, 1]. Only the *spectral shape* between nodes is a blend rather than a fresh sigmoid, which is
what a darker or mixed paint looks like anyway. Tetrahedral rather than trilinear because a
neutral input then blends only neutral (flat) node spectra: grey stays exactly flat, so a grey
RGB surface gives the sensor the same raw ratios as a flat-spectrum chart; it also reads 4
table entries per channel instead of 8.

Because spectra -> channel signal is linear too, interpolating spectra and then integrating is
the same as integrating the node spectra once (:func:`integrate_lut`, a tiny N³×C table) and
interpolating that table per pixel (:func:`apply_lut`, :func:`apply_lut_mosaic`). That is the
hot path: numba kernels, parallel over rows.

Out-of-cube values. Negative components are clamped to 0 (an RGB reflectance cannot be
negative; out-of-gamut colours are mapped onto the cube's faces). If the largest component
``m`` exceeds 1 the pixel is an emitter or a specular highlight: it is evaluated at ``rgb / m``
and the result multiplied by ``m``, i.e. it gets the spectral shape of the in-gamut colour of
the same chromaticity, scaled. NaN is treated as 0, +inf as 1e30.

The colour reference. "Linear sRGB under D65" here uses the matrix built from the sRGB primaries
and the white of the *tabulated* CIE D65 on :data:`mountcam.spectra.WAVELENGTHS_NM`
(x, y = 0.31272, 0.32903 instead of the rounded 0.3127, 0.3290 of IEC 61966-2-1; the matrices
differ by at most 2.3e-4, about the 4-digit rounding of the standard's own matrix). With it a flat spectrum of value r is exactly sRGB (r, r, r), so neutral
charts and neutral pixels are self-consistent to machine precision.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from mountcam.errors import SceneError
from mountcam.jit import njit, prange
from mountcam.scene.scene import PaletteSample, RgbSample, SceneSample
from mountcam.spectra import WAVELENGTHS_NM, cie_xyz_cmfs

#: The shipped Jakob 2019 coefficient table (relative to the ``mountcam`` package).
COEFFS_RESOURCE = "data/scene/jakob2019_srgb_coeffs.npz"

# Numba fast-math without the "no NaNs / no infs" assumptions: the kernels test ``v > 0`` to
# map NaN to 0, and that test must not be optimised away.
_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


# --------------------------------------------------------------------------------------------
# Colorimetry on the common grid
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def d65_spd() -> np.ndarray:
    """CIE D65 relative spectral power on the common grid (81 values, 1.0 at 560 nm)."""
    from mountcam.spectra import tabulated_illuminant

    spd = tabulated_illuminant("D65")
    return _readonly(spd / spd[WAVELENGTHS_NM == 560.0][0])


@lru_cache(maxsize=1)
def d65_xyz_weights() -> np.ndarray:
    """(81, 3) weights turning a reflectance spectrum into CIE XYZ under D65, Y(white) = 1."""
    weights = cie_xyz_cmfs() * d65_spd()[:, None]
    return _readonly(weights / weights[:, 1].sum())


@lru_cache(maxsize=1)
def linear_srgb_to_xyz_matrix() -> np.ndarray:
    """3×3 matrix: linear sRGB -> XYZ (Y of white = 1), white = tabulated D65 on the grid."""
    from mountcam.colorimetry import SRGB_PRIMARIES_XY, normalised_primary_matrix, xyz_to_xy

    white_xyz = d65_xyz_weights().sum(axis=0)
    return _readonly(normalised_primary_matrix(SRGB_PRIMARIES_XY, xyz_to_xy(white_xyz)))


def linear_srgb_to_xyz(rgb: np.ndarray) -> np.ndarray:
    """Linear sRGB (…, 3) -> CIE XYZ (…, 3) under D65 with Y(white) = 1."""
    return np.asarray(rgb, dtype=np.float64) @ linear_srgb_to_xyz_matrix().T


def xyz_to_linear_srgb(xyz: np.ndarray) -> np.ndarray:
    """CIE XYZ (…, 3), Y(white) = 1 -> linear sRGB (…, 3); not clipped."""
    return np.asarray(xyz, dtype=np.float64) @ np.linalg.inv(linear_srgb_to_xyz_matrix()).T


def reflectance_to_linear_srgb(spectra: np.ndarray) -> np.ndarray:
    """Linear sRGB (…, 3) of reflectance spectra (…, 81) seen under D65 (no clipping)."""
    return xyz_to_linear_srgb(np.asarray(spectra, dtype=np.float64) @ d65_xyz_weights())


# --------------------------------------------------------------------------------------------
# The Jakob & Hanika (2019) sigmoid model and the shipped node table
# --------------------------------------------------------------------------------------------


def normalised_wavelengths() -> np.ndarray:
    """The fit's wavelength variable t = (λ - 380) / 400 on the common grid, in [0, 1]."""
    return (WAVELENGTHS_NM - WAVELENGTHS_NM[0]) / (WAVELENGTHS_NM[-1] - WAVELENGTHS_NM[0])


def sigmoid_spectra(coefficients: np.ndarray) -> np.ndarray:
    """Reflectances (…, 81) of Jakob 2019 coefficients (…, 3) given in the normalised t.

    ``R = 1/2 + U / (2 sqrt(1 + U²))`` with ``U = c0 t² + c1 t + c2``. Coefficients of ±1e8
    for the constant term give exactly 0 or 1 (used for the black and white nodes).
    """
    c = np.asarray(coefficients, dtype=np.float64)
    t = normalised_wavelengths()
    u = c[..., 0:1] * t**2 + c[..., 1:2] * t + c[..., 2:3]
    return 0.5 + 0.5 * u / np.sqrt(1.0 + u * u)


@lru_cache(maxsize=1)
def _coefficient_file() -> dict[str, np.ndarray]:
    try:
        ref = resources.files("mountcam").joinpath(COEFFS_RESOURCE)
        with ref.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError) as exc:  # pragma: no cover - broken installation
        raise SceneError(
            f"the spectral upsampling table {COEFFS_RESOURCE} is missing or damaged ({exc}); "
            "reinstall mountcam or regenerate it with tools/make_rgb_spectra_lut.py"
        ) from None


def lut_metadata() -> dict[str, str | int]:
    """How the shipped table was made: method, colourspace, illuminant, observer, N."""
    data = _coefficient_file()
    meta: dict[str, str | int] = {
        key: str(data[key]) for key in ("method", "colourspace", "illuminant", "observer")
    }
    meta["size"] = int(data["coefficients"].shape[0])
    return meta


def lut_coefficients() -> np.ndarray:
    """The shipped (N, N, N, 3) Jakob 2019 coefficients; axes are linear R, G, B nodes."""
    return _readonly(_coefficient_file()["coefficients"].astype(np.float64))


@lru_cache(maxsize=1)
def reflectance_spectra_lut() -> np.ndarray:
    """(N, N, N, 81) reflectance spectra at the linear-sRGB nodes ``linspace(0, 1, N)``.

    Axis 0 is R, 1 is G, 2 is B; the last axis is :data:`mountcam.spectra.WAVELENGTHS_NM`.
    Values lie in [0, 1]. Cached and read-only.
    """
    return _readonly(sigmoid_spectra(lut_coefficients()))


def reflectance_spectrum(rgb: np.ndarray) -> np.ndarray:
    """Reflectance spectra (…, 81) of linear-sRGB reflectances (…, 3) by tetrahedral lookup.

    A convenience for small inputs (palettes, tests); images go through :func:`apply_lut`.
    Same interpolation, clamping and ``m > 1`` scaling as the kernels.
    """
    spectra = reflectance_spectra_lut()
    n = spectra.shape[0]
    rgb = np.nan_to_num(np.asarray(rgb, dtype=np.float64), nan=0.0, posinf=1e30, neginf=0.0)
    rgb = np.maximum(rgb, 0.0)
    m = rgb.max(axis=-1, keepdims=True)
    scale = np.where(m > 1.0, m, 1.0)
    pos = rgb / scale * (n - 1)
    base = np.minimum(pos.astype(np.int64), n - 2)
    frac = pos - base
    # Tetrahedral interpolation: walk from the base node along the axes in order of
    # decreasing fraction; weights are the successive differences of the sorted fractions.
    order = np.argsort(-frac, axis=-1, kind="stable")
    sorted_frac = np.take_along_axis(frac, order, axis=-1)
    weights = np.concatenate(
        [1.0 - sorted_frac[..., :1], -np.diff(sorted_frac, axis=-1), sorted_frac[..., 2:]],
        axis=-1,
    )
    vertex = base.copy()
    out = weights[..., 0:1] * spectra[vertex[..., 0], vertex[..., 1], vertex[..., 2]]
    for step in range(3):
        np.put_along_axis(
            vertex,
            order[..., step : step + 1],
            np.take_along_axis(vertex, order[..., step : step + 1], axis=-1) + 1,
            axis=-1,
        )
        node = spectra[vertex[..., 0], vertex[..., 1], vertex[..., 2]]
        out = out + weights[..., step + 1 : step + 2] * node
    return out * scale


# --------------------------------------------------------------------------------------------
# Integrated tables and the per-pixel kernels
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RgbLut:
    """Per-channel signal of every RGB node: ``table`` (N, N, N, C) float32, nodes on [0, 1]."""

    table: np.ndarray

    @property
    def size(self) -> int:
        return int(self.table.shape[0])

    @property
    def channels(self) -> int:
        return int(self.table.shape[3])


def _check_weights(weights: np.ndarray) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 1:
        w = w[:, None]
    if w.ndim != 2 or w.shape[0] != WAVELENGTHS_NM.size:
        raise SceneError(
            f"spectral weights must have shape ({WAVELENGTHS_NM.size}, C) on the 380-780 nm "
            f"5 nm grid; got {np.shape(weights)}"
        )
    if not np.all(np.isfinite(w)):
        raise SceneError("spectral weights contain NaN or infinity")
    return w


def integrate_lut(weights: np.ndarray) -> RgbLut:
    """Integrate the node spectra against ``weights`` (81, C): ``table = spectra @ weights``.

    ``weights`` already contains whatever the caller needs (illuminant, quantum efficiency,
    optics transmission, the 5 nm step, absolute scale): this function only does the dot
    product, in float64, and stores float32.
    """
    w = _check_weights(weights)
    table = reflectance_spectra_lut() @ w
    return RgbLut(np.ascontiguousarray(table, dtype=np.float32))


@njit(inline="always", fastmath=_FASTMATH)
def _clean(value: float) -> float:
    # NaN and negatives -> 0 (``v > 0`` is False for NaN); +inf -> a huge finite number.
    if value > 0.0:
        return min(value, 1e30)
    return 0.0


@njit(inline="always", fastmath=_FASTMATH)
def _cell(value: float, last: int) -> tuple[int, float]:
    # Node index i (0 <= i <= last - 1) and fraction in [0, 1] for value in [0, 1].
    pos = value * last
    i = int(pos)
    if i > last - 1:
        i = last - 1
    return i, pos - i


@njit(inline="always", fastmath=_FASTMATH)
def _tetrahedron(fr, fg, fb):
    # Tetrahedral interpolation in the unit cell: the cell is split along its neutral diagonal
    # into 6 tetrahedra; the one holding (fr, fg, fb) is chosen by sorting the fractions. Returns
    # the offsets of the two intermediate vertices and the 4 barycentric weights (vertices
    # 000, first, second, 111).
    if fr >= fg:
        if fg >= fb:  # r >= g >= b
            return 1, 0, 0, 1, 1, 0, 1.0 - fr, fr - fg, fg - fb, fb
        if fr >= fb:  # r >= b > g
            return 1, 0, 0, 1, 0, 1, 1.0 - fr, fr - fb, fb - fg, fg
        # b > r >= g
        return 0, 0, 1, 1, 0, 1, 1.0 - fb, fb - fr, fr - fg, fg
    if fb >= fg:  # b >= g > r
        return 0, 0, 1, 0, 1, 1, 1.0 - fb, fb - fg, fg - fr, fr
    if fb >= fr:  # g > b >= r
        return 0, 1, 0, 0, 1, 1, 1.0 - fg, fg - fb, fb - fr, fr
    # g > r > b
    return 0, 1, 0, 1, 1, 0, 1.0 - fg, fg - fr, fr - fb, fb


@njit(inline="always", fastmath=_FASTMATH)
def _prepare(r, g, b):
    # Clamp, then fold emitters / speculars (max > 1) back into the cube and return the scale.
    r = _clean(r)
    g = _clean(g)
    b = _clean(b)
    m = max(r, max(g, b))
    scale = 1.0
    if m > 1.0:
        scale = m
        r = r / m
        g = g / m
        b = b / m
    return r, g, b, scale


@njit(parallel=True, cache=True, fastmath=_FASTMATH)
def _lut_full_kernel(rgb, table, out):  # pragma: no cover - compiled
    height, width = rgb.shape[0], rgb.shape[1]
    last = table.shape[0] - 1
    channels = table.shape[3]
    for y in prange(height):
        for x in range(width):
            r, g, b, scale = _prepare(rgb[y, x, 0], rgb[y, x, 1], rgb[y, x, 2])
            i, fr = _cell(r, last)
            j, fg = _cell(g, last)
            k, fb = _cell(b, last)
            a0, a1, a2, b0, b1, b2, w0, w1, w2, w3 = _tetrahedron(fr, fg, fb)
            for ch in range(channels):
                value = (
                    w0 * table[i, j, k, ch]
                    + w1 * table[i + a0, j + a1, k + a2, ch]
                    + w2 * table[i + b0, j + b1, k + b2, ch]
                    + w3 * table[i + 1, j + 1, k + 1, ch]
                )
                out[y, x, ch] = scale * value


@njit(parallel=True, cache=True, fastmath=_FASTMATH)
def _lut_mosaic_kernel(rgb, table, cfa, oy, ox, out):  # pragma: no cover - compiled
    height, width = rgb.shape[0], rgb.shape[1]
    last = table.shape[0] - 1
    ph, pw = cfa.shape[0], cfa.shape[1]
    for y in prange(height):
        cy = (y + oy) % ph
        cx = ox  # running CFA column: avoids an integer division per pixel
        for x in range(width):
            ch = cfa[cy, cx]
            cx += 1
            if cx == pw:
                cx = 0
            r, g, b, scale = _prepare(rgb[y, x, 0], rgb[y, x, 1], rgb[y, x, 2])
            i, fr = _cell(r, last)
            j, fg = _cell(g, last)
            k, fb = _cell(b, last)
            a0, a1, a2, b0, b1, b2, w0, w1, w2, w3 = _tetrahedron(fr, fg, fb)
            value = (
                w0 * table[i, j, k, ch]
                + w1 * table[i + a0, j + a1, k + a2, ch]
                + w2 * table[i + b0, j + b1, k + b2, ch]
                + w3 * table[i + 1, j + 1, k + 1, ch]
            )
            out[y, x] = scale * value


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise SceneError(f"RGB content must have shape (H, W, 3); got {rgb.shape}")
    return np.ascontiguousarray(rgb, dtype=np.float32)


def _check_cfa(
    cfa: np.ndarray, channels: int, origin: tuple[int, int]
) -> tuple[np.ndarray, int, int]:
    pattern = np.asarray(cfa)
    if pattern.ndim != 2 or pattern.size == 0 or not np.issubdtype(pattern.dtype, np.integer):
        raise SceneError(
            f"the CFA must be a non-empty 2-D integer array; got {pattern.dtype} {pattern.shape}"
        )
    bad = pattern[(pattern < 0) | (pattern >= channels)]
    if bad.size:
        raise SceneError(
            f"the CFA names channel {int(bad[0])} but the weights have {channels} channels "
            f"(0-{channels - 1})"
        )
    ph, pw = pattern.shape
    # Non-negative offsets so that (y + oy) % ph never sees a negative operand.
    return (
        np.ascontiguousarray(pattern, dtype=np.int64),
        int(origin[0]) % ph,
        int(origin[1]) % pw,
    )


def apply_lut(rgb: np.ndarray, lut: RgbLut, out: np.ndarray | None = None) -> np.ndarray:
    """Per-channel signal (H, W, C) float32 of linear-sRGB reflectance ``rgb`` (H, W, 3).

    Tetrahedral interpolation in ``lut.table``; negatives clamp to 0, pixels whose largest
    component ``m`` exceeds 1 are evaluated at ``rgb / m`` and scaled by ``m``. ``out``: an
    (H, W, C) float32 C-contiguous array to write into (e.g. a buffer reused band by band).
    """
    pixels = _check_rgb(rgb)
    out = _out_array(out, pixels.shape[:2] + (lut.channels,))
    _lut_full_kernel(pixels, np.ascontiguousarray(lut.table, dtype=np.float32), out)
    return out


def apply_lut_mosaic(
    rgb: np.ndarray, lut: RgbLut, cfa: np.ndarray, origin: tuple[int, int] = (0, 0)
) -> np.ndarray:
    """Like :func:`apply_lut` but only the CFA's channel at each pixel: (H, W) float32.

    Pixel ``(r, c)`` gets channel ``cfa[(r + origin[0]) % ph, (c + origin[1]) % pw]``, so a
    tile or crop of a larger mosaic passes its own offset as ``origin``.
    """
    pixels = _check_rgb(rgb)
    pattern, oy, ox = _check_cfa(cfa, lut.channels, origin)
    out = np.empty(pixels.shape[:2], dtype=np.float32)
    _lut_mosaic_kernel(
        pixels, np.ascontiguousarray(lut.table, dtype=np.float32), pattern, oy, ox, out
    )
    return out


# --------------------------------------------------------------------------------------------
# Palette content (charts with exact spectra)
# --------------------------------------------------------------------------------------------


@njit(parallel=True, cache=True, fastmath=_FASTMATH)
def _palette_full_kernel(
    index, weight, has_weight, background, bg_scalar, table, out
):  # pragma: no cover
    height, width = index.shape[0], index.shape[1]
    channels = table.shape[1]
    for y in prange(height):
        for x in range(width):
            k = index[y, x]
            if has_weight:
                w = weight[y, x]
                bg = background[0, 0] if bg_scalar else background[y, x]
                for ch in range(channels):
                    out[y, x, ch] = w * table[k, ch] + (1.0 - w) * table[bg, ch]
            else:
                for ch in range(channels):
                    out[y, x, ch] = table[k, ch]


@njit(parallel=True, cache=True, fastmath=_FASTMATH)
def _palette_mosaic_kernel(
    index, weight, has_weight, background, bg_scalar, table, cfa, oy, ox, out
):  # pragma: no cover - compiled
    height, width = index.shape[0], index.shape[1]
    ph, pw = cfa.shape[0], cfa.shape[1]
    for y in prange(height):
        cy = (y + oy) % ph
        cx = ox  # running CFA column: avoids an integer division per pixel
        for x in range(width):
            ch = cfa[cy, cx]
            cx += 1
            if cx == pw:
                cx = 0
            k = index[y, x]
            if has_weight:
                w = weight[y, x]
                bg = background[0, 0] if bg_scalar else background[y, x]
                out[y, x] = w * table[k, ch] + (1.0 - w) * table[bg, ch]
            else:
                out[y, x] = table[k, ch]


def _palette_inputs(sample: PaletteSample, weights: np.ndarray):
    w = _check_weights(weights)
    spectra = np.asarray(sample.spectra, dtype=np.float64)
    if spectra.ndim != 2 or spectra.shape[1] != WAVELENGTHS_NM.size:
        raise SceneError(f"palette spectra must have shape (K, 81); got {spectra.shape}")
    k = spectra.shape[0]
    table = np.ascontiguousarray(spectra @ w, dtype=np.float32)
    index = np.ascontiguousarray(sample.index, dtype=np.uint8)
    if index.ndim != 2:
        raise SceneError(f"palette index must be (H, W); got {index.shape}")
    if index.size and int(index.max()) >= k:
        raise SceneError(f"palette index {int(index.max())} but only {k} spectra")
    has_weight = sample.weight is not None
    if has_weight:
        weight = np.ascontiguousarray(sample.weight, dtype=np.float32)
        if weight.shape != index.shape:
            raise SceneError(f"palette weight {weight.shape} does not match index {index.shape}")
    else:
        weight = np.zeros((1, 1), dtype=np.float32)
    background = np.asarray(sample.background)
    bg_scalar = background.ndim == 0
    background = np.ascontiguousarray(np.atleast_2d(background), dtype=np.uint8)
    if not bg_scalar and background.shape != index.shape:
        raise SceneError(f"palette background {background.shape} does not match {index.shape}")
    if has_weight and background.size and int(background.max()) >= k:
        raise SceneError(f"palette background {int(background.max())} but only {k} spectra")
    return index, weight, has_weight, background, bg_scalar, table


def palette_signal(
    sample: PaletteSample, weights: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """(H, W, C) float32: ``w * T[index] + (1 - w) * T[background]`` with T = spectra @ weights
    (into ``out`` if given, as in :func:`apply_lut`)."""
    index, weight, has_weight, background, bg_scalar, table = _palette_inputs(sample, weights)
    out = _out_array(out, index.shape + (table.shape[1],))
    _palette_full_kernel(index, weight, has_weight, background, bg_scalar, table, out)
    return out


def palette_signal_mosaic(
    sample: PaletteSample,
    weights: np.ndarray,
    cfa: np.ndarray,
    origin: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """(H, W) float32: :func:`palette_signal` evaluated only for each pixel's CFA channel."""
    index, weight, has_weight, background, bg_scalar, table = _palette_inputs(sample, weights)
    pattern, oy, ox = _check_cfa(cfa, table.shape[1], origin)
    out = np.empty(index.shape, dtype=np.float32)
    _palette_mosaic_kernel(
        index, weight, has_weight, background, bg_scalar, table, pattern, oy, ox, out
    )
    return out


def _out_array(out: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    if out is None:
        return np.empty(shape, dtype=np.float32)
    if out.shape != shape or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise SceneError(f"out must be a C-contiguous float32 array of shape {shape}")
    return out


def channel_signal(
    sample: SceneSample,
    weights: np.ndarray,
    cfa: np.ndarray | None = None,
    origin: tuple[int, int] = (0, 0),
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Per-channel signal of a rendered sample: what the sensor calls.

    ``weights`` (81, C) maps a reflectance spectrum to channel signal (the caller folds in the
    illuminant's radiance, optics, quantum efficiency and the wavelength step). Returns
    (H, W, C) float32 when ``cfa`` is None, else the (H, W) mosaic where pixel (r, c) holds
    channel ``cfa[(r + origin[0]) % ph, (c + origin[1]) % pw]``. ``out`` (without ``cfa``):
    an (H, W, C) float32 array to write into.
    """
    if isinstance(sample, PaletteSample):
        if cfa is None:
            return palette_signal(sample, weights, out)
        return palette_signal_mosaic(sample, weights, cfa, origin)
    if isinstance(sample, RgbSample):
        lut = integrate_lut(weights)
        if cfa is None:
            return apply_lut(sample.rgb, lut, out)
        return apply_lut_mosaic(sample.rgb, lut, cfa, origin)
    raise SceneError(f"cannot compute a signal for {type(sample).__name__}")


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    array.setflags(write=False)
    return array
