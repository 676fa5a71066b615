"""Diffraction at the lens's aperture stop: the Airy pattern and its OTF.

An aberration-free lens with a circular pupil forms, for incoherent light of wavelength λ at
working f-number N, the Airy pattern (J. W. Goodman, *Introduction to Fourier Optics*, 3rd ed.,
2005, §4.4.2, the circular aperture, written in image-plane coordinates)::

    I(r) = I0 · [2 J1(v) / v]²,    v = π r / (λ N)

whose first dark ring is at r = 1.21967 λN (the first zero of J1 is 3.8317), and whose optical
transfer function is the autocorrelation of the pupil (Goodman eq. 6-32)::

    H(ν) = (2/π) [acos(s) − s √(1 − s²)],   s = ν / ν_c ≤ 1,   ν_c = 1 / (λN)

and 0 beyond the cutoff ν_c. H is real and non-negative, so it is also the MTF.

Two uses here:

- :func:`airy_psf`: the pattern as a small kernel integrated over square pixels (for
  display, for the lab's predictions, for anyone who wants a spatial kernel).
- :func:`apply_diffraction`: what the capture pipeline calls. mountcam renders the scene
  already *box-filtered over each pixel*, so the pixel aperture is applied once, there. The
  diffraction step must therefore add the lens's point spread function and nothing else —
  not a pixel-integrated PSF, which would apply the pixel aperture a second time. It works in
  the frequency domain: every band is transformed, multiplied by H at the frequencies of the
  pixel grid and transformed back. That is exactly the convolution of the band-limited
  (Whittaker–Shannon) interpolant of the pixel values with the Airy pattern, sampled at the
  pixel centres; no PSF is sampled, truncated or renormalised on the way.

The transform is a type-II DCT (scipy.fft): it is the DFT of the image mirrored about its
edges (half-sample symmetric, like ``np.pad(mode='symmetric')`` or OpenCV's
``BORDER_REFLECT``), so the frame boundary acts as a mirror — no wrap-around from the
opposite edge and no padding to choose — and its frequencies k / (2·n·pitch), k < n, are a
grid on which H is simply evaluated. For a binned 4096 × 3072 window's three bands it takes
~0.3 s on two cores (the transforms use as many threads as numba:
:func:`mountcam.jit.fft_workers`), because the renderer draws the scene out to lengths with
no prime factor above 5 (:func:`fast_plane_shape`); a factor like 43 makes pocketfft ~1.5×
slower.

No f-number is skipped. Even when the Airy disc is small against a pixel the loss near Nyquist
is not: H ≈ 1 − (4/π)·s for small s, so an Airy diameter 2.44·λN of half a pixel still
takes 13 % off the MTF at Nyquist, and f/1.9 at 550 nm on a 1.6 µm pitch takes 41 %
(H(ν_Nyq) = 0.59). The cost is the same for every f-number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.fft
from scipy.special import j1

from mountcam.jit import fft_workers, njit, prange

__all__ = [
    "AIRY_FIRST_ZERO",
    "airy_intensity",
    "airy_psf",
    "apply_diffraction",
    "diffract_plane",
    "diffraction_cutoff_cy_per_m",
    "diffraction_otf",
    "fast_plane_shape",
]

#: First zero of J1(v)/v divided by π: the first dark ring is at r = 1.21967 λN.
AIRY_FIRST_ZERO = 3.8317059702075125 / math.pi

#: Where the kernel of :func:`airy_psf` is cut: values below this fraction of its peak.
PSF_CUTOFF = 1e-4


def _check(wavelength_m: float, f_number: float) -> None:
    if not (math.isfinite(wavelength_m) and wavelength_m > 0):
        raise ValueError(f"wavelength must be positive and finite (got {wavelength_m} m)")
    if not (math.isfinite(f_number) and f_number > 0):
        raise ValueError(f"f-number must be positive and finite (got f/{f_number})")


def diffraction_cutoff_cy_per_m(wavelength_m: float, f_number: float) -> float:
    """Incoherent cutoff ν_c = 1/(λN) of a circular pupil, cycles per metre."""
    _check(wavelength_m, f_number)
    return 1.0 / (wavelength_m * f_number)


def airy_intensity(r_m, wavelength_m: float, f_number: float) -> np.ndarray:
    """The Airy pattern [2 J1(v)/v]², v = π r/(λN), normalised to 1 at its centre.

    ``r_m``: distance from the centre of the pattern in the image plane, metres (any shape).
    Goodman (2005) §4.4.2. Multiply by π / (4 (λN)²) for a density that integrates to 1 over
    the plane (per m²).
    """
    _check(wavelength_m, f_number)
    v = np.pi * np.abs(np.asarray(r_m, dtype=np.float64)) / (wavelength_m * f_number)
    out = np.ones_like(v)
    nz = v > 1e-12
    a = 2.0 * j1(v[nz]) / v[nz]
    out[nz] = a * a
    return out


def diffraction_otf(nu_cy_per_m, wavelength_m: float, f_number: float) -> np.ndarray:
    """Diffraction-limited OTF of a circular aperture (Goodman 2005, eq. 6-32).

    ``nu_cy_per_m``: spatial frequency in the image plane, cycles per metre (any shape; the
    sign is ignored). ``f_number``: the working (image-side) f-number, N·(1 + |m|) for a
    near object. Returns float64 in [0, 1]: 1 at ν = 0, 0 from ν_c = 1/(λN) on;
    H(ν_c/2) = 0.3910.
    """
    s = np.abs(np.asarray(nu_cy_per_m, dtype=np.float64)) / diffraction_cutoff_cy_per_m(
        wavelength_m, f_number
    )
    return _otf_of_s(s)


def _otf_of_s(s: np.ndarray) -> np.ndarray:
    """Goodman eq. 6-32 as a function of s = ν/ν_c ≥ 0 (0 from s = 1 on)."""
    s = np.minimum(s, 1.0)
    return (2.0 / np.pi) * (np.arccos(s) - s * np.sqrt(1.0 - s * s))


def _airy_extent_m(wavelength_m: float, f_number: float) -> float:
    """Radius beyond which the Airy rings' envelope 8/(π v³) is below PSF_CUTOFF."""
    v = (8.0 / (math.pi * PSF_CUTOFF)) ** (1.0 / 3.0)  # 29.4
    return v * wavelength_m * f_number / math.pi  # ≈ 9.4 λN


def airy_psf(
    pitch_m: float,
    wavelength_m: float,
    f_number: float,
    *,
    size_px: int | None = None,
    supersample: int = 9,
) -> np.ndarray:
    """The Airy pattern integrated over square pixels of ``pitch_m``, centred, summing to 1.

    Each pixel is the mean of ``supersample`` × ``supersample`` point samples of
    :func:`airy_intensity` at the centres of equal sub-squares (midpoint rule). Without
    ``size_px`` the kernel is cut to the smallest odd square outside which every pixel is
    below 1e-4 of the peak pixel; the cut discards the faint outer rings (about 2/(π v) of
    the energy beyond v = π r/(λN), i.e. ~2 % at the cut for a large pattern) and the
    normalisation to sum 1 gives it back to the kept part. ``size_px`` (odd) fixes the size.

    This kernel *includes* the pixel aperture. It is not what :func:`apply_diffraction` uses
    (mountcam's renders are already pixel-integrated); it is the right kernel for a point
    source falling on a sensor.
    """
    _check(wavelength_m, f_number)
    if not (math.isfinite(pitch_m) and pitch_m > 0):
        raise ValueError(f"pixel pitch must be positive (got {pitch_m} m)")
    if supersample < 1:
        raise ValueError(f"supersample must be at least 1 (got {supersample})")
    if size_px is not None:
        if size_px < 1 or size_px % 2 == 0:
            raise ValueError(f"size_px must be a positive odd number (got {size_px})")
        half = size_px // 2
    else:
        half = max(1, math.ceil(_airy_extent_m(wavelength_m, f_number) / pitch_m) + 1)
    n = 2 * half + 1
    sub = (np.arange(n * supersample) + 0.5) / supersample - half - 0.5  # sub-sample centres
    sub *= pitch_m
    r = np.hypot(sub[:, None], sub[None, :])
    fine = airy_intensity(r, wavelength_m, f_number)
    psf = fine.reshape(n, supersample, n, supersample).mean(axis=(1, 3))
    if size_px is None:
        # Chebyshev ring of each pixel; keep the rings out to the last one above the cutoff.
        idx = np.abs(np.arange(n) - half)
        ring = np.maximum(idx[:, None], idx[None, :])
        ring_max = np.zeros(half + 1)
        np.maximum.at(ring_max, ring.ravel(), psf.ravel())
        above = np.flatnonzero(ring_max >= PSF_CUTOFF * psf.max())
        keep = int(above[-1]) if above.size else 0
        psf = psf[half - keep : half + keep + 1, half - keep : half + keep + 1]
    return (psf / psf.sum()).astype(np.float32)


#: Samples of H(s) on [0, 1] for the fast multiply; linear interpolation between them is
#: within 1e-7 of eq. 6-32 below s = 0.999 and within 3e-7 everywhere (float32 spectra).
_OTF_LUT_N = 8192
_OTF_LUT = _otf_of_s(np.linspace(0.0, 1.0, _OTF_LUT_N + 1))


@njit(parallel=True, cache=True)
def _multiply_otf(spec, fy, fx, lam_n, lut):  # pragma: no cover - compiled
    """spec[k, m] *= H(λN·√(fy[k]² + fx[m]²)) in place, H from ``lut`` (s on [0, 1])."""
    h, w = spec.shape
    n = lut.shape[0] - 1
    for k in prange(h):
        sy2 = (fy[k] * lam_n) ** 2
        # fx increases along the row: the cutoff is crossed once. Find it first (searched,
        # then settled by the same test), so that the loop below has no exit and vectorises.
        end = 0
        if sy2 < 1.0:
            end = np.searchsorted(fx, math.sqrt(1.0 - sy2) / lam_n)
            while end > 0 and sy2 + (fx[end - 1] * lam_n) ** 2 >= 1.0:
                end -= 1
            while end < w and sy2 + (fx[end] * lam_n) ** 2 < 1.0:
                end += 1
        for m in range(end):
            t = math.sqrt(sy2 + (fx[m] * lam_n) ** 2) * n
            i = int(t)
            f = t - i
            spec[k, m] *= lut[i] + f * (lut[i + 1] - lut[i])
        for m in range(end, w):
            spec[k, m] = 0.0


def fast_plane_shape(height: int, width: int) -> tuple[int, int]:
    """The smallest (H, W) ≥ (height, width) whose DCTs are fast: 5-smooth lengths
    (``scipy.fft.next_fast_len``). pocketfft has no short pass for a large prime factor:
    a 3276 × 4300 plane (4300 = 2²·5²·43) takes 1.5× as long as 3375 × 4320, 3 % larger.
    The renderer draws that much more of the scene around a window rather than pad it.
    """
    return (
        scipy.fft.next_fast_len(int(height), real=True),
        scipy.fft.next_fast_len(int(width), real=True),
    )


def diffract_plane(
    plane: np.ndarray, wavelength_m: float, f_number: float, pitch_m: float
) -> np.ndarray:
    """One band of :func:`apply_diffraction`, (H, W) float32, without clipping; ``plane`` (a
    C-contiguous float32 array) is used as scratch and must not be used afterwards.

    The capture calls this band by band, so that no (H, W, 3) image is held at 50 MP.
    """
    _check(float(wavelength_m), f_number)
    h, w = plane.shape
    fy = np.arange(h, dtype=np.float64) / (2.0 * h * pitch_m)
    fx = np.arange(w, dtype=np.float64) / (2.0 * w * pitch_m)
    spec = scipy.fft.dctn(plane, type=2, workers=fft_workers(), overwrite_x=True)
    _multiply_otf(spec, fy, fx, float(wavelength_m) * f_number, _OTF_LUT)
    return scipy.fft.idctn(spec, type=2, workers=fft_workers(), overwrite_x=True)


def apply_diffraction(
    planes: np.ndarray,
    wavelengths_m: float | Sequence[float],
    f_number: float,
    pitch_m: float,
    *,
    clip_negative: bool = True,
) -> np.ndarray:
    """Blur each colour band by the diffraction of a circular aperture; (H, W[, C]) float32.

    ``planes``: linear image, (H, W, C) or (H, W), already box-filtered over each pixel (as
    mountcam renders). ``wavelengths_m``: one effective wavelength per band (a number for a
    single plane). ``f_number``: the working f-number. ``pitch_m``: pixel pitch.

    Per band: type-II DCT over both axes, multiplication by the OTF H(√(fx² + fy²)) at the
    DCT frequencies fx = l/(2·W·pitch), fy = k/(2·H·pitch), inverse DCT. This is the exact
    convolution with the Airy pattern of the band-limited image, mirrored about the frame
    edges. The mean of every band (its energy) is preserved exactly (H(0) = 1).

    Where λN < 2·pitch the OTF is still non-zero at Nyquist and its cut there makes the
    discrete kernel ring slightly (at most ~2 % of its peak below zero); ``clip_negative``
    (default) sets the resulting small negative values to 0, as irradiance cannot be
    negative; this changes the band's sum only where such values occur (a black/white edge).
    """
    a = np.asarray(planes)
    if a.ndim not in (2, 3):
        raise ValueError(f"planes must be (H, W) or (H, W, C) (got shape {a.shape})")
    if not (math.isfinite(pitch_m) and pitch_m > 0):
        raise ValueError(f"pixel pitch must be positive (got {pitch_m} m)")
    bands = a[:, :, None] if a.ndim == 2 else a
    lams = np.atleast_1d(np.asarray(wavelengths_m, dtype=np.float64))
    if lams.shape != (bands.shape[2],):
        raise ValueError(
            f"need one wavelength per band: {bands.shape[2]} band(s), {lams.size} wavelength(s)"
        )
    for lam in lams:
        _check(float(lam), f_number)
    h, w = bands.shape[:2]
    fy = np.arange(h, dtype=np.float64) / (2.0 * h * pitch_m)
    fx = np.arange(w, dtype=np.float64) / (2.0 * w * pitch_m)
    out = np.empty(bands.shape, dtype=np.float32)
    for c, lam in enumerate(lams):
        plane = np.ascontiguousarray(bands[:, :, c], dtype=np.float32)
        spec = scipy.fft.dctn(plane, type=2, workers=fft_workers())
        _multiply_otf(spec, fy, fx, float(lam) * f_number, _OTF_LUT)
        res = scipy.fft.idctn(spec, type=2, workers=fft_workers(), overwrite_x=True)
        if clip_negative:
            np.maximum(res, 0.0, out=res)
        out[:, :, c] = res
    return out[:, :, 0] if a.ndim == 2 else out
