"""Auto white balance: the camera neutral of the scene's light, estimated from raw statistics.

The estimator is *colour by correlation* (G. D. Finlayson, S. D. Hordley & P. M. Hubel,
"Color by Correlation: A Simple, Unifying Framework for Color Constancy", IEEE PAMI 23(11),
2001) worked in log-chroma space, where a change of light is a translation (J. T. Barron &
Y.-T. Tsai, "Fast Fourier Color Constancy", CVPR 2017, §2):

    u = log(G / R),   v = log(G / B).

For every candidate light ``k`` (the Planckian locus 1800-4000 K, the CIE daylight locus
4000-20 000 K, and the CIE fluorescent, LED and discharge lamps; see
``tools/make_awb_spectra.py``) the camera *knows* how a broad set of real surfaces looks under
it, because it knows its own spectral sensitivities ``S_c(λ)``:

    ρ_{k,c}(surface) = ∫ R(λ) · E_k(λ) · S_c(λ) dλ,      neutral_{k,c} = ∫ E_k(λ) S_c(λ) dλ,

and turns that into a density ``p_k(u, v)`` of white-balanced log-chroma (a Gaussian kernel
density over the surfaces plus a small floor, so an unexpected colour lowers a light's score
without vetoing it). A camera known only by its DNG colour matrices (another camera's DNG)
predicts the same responses as ``ColorMatrix(T_k) · XYZ`` (DNG 1.4 §6 interpolation in mired),
so one estimator serves both. The score of light ``k`` for a frame is the correlation of the
frame's log-chroma histogram ``h`` with ``log p_k`` shifted to that light's neutral:

    L_k = Σ_bins h(u, v) · log p_k(u − U_k, v − V_k) + log prior_k,

``h`` counting each chromaticity bin by the square root of its population, between the
original method's binary presence (one large wall cannot outvote the rest of the scene) and
plain counts. The estimate is the best light refined along its locus by a parabola through its
neighbours' scores (sub-step colour temperature), then by a small translation off the locus
(a light that is a little greener or pinker than the locus: the same correlation evaluated at
shifted neutrals with a Gaussian prior on the shift).

Grey world (G. Buchsbaum, J. Franklin Inst. 310, 1980) and white patch (max-RGB, E. H. Land,
1977) are here as the baselines the issue compares against (see docs/3a.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources

import numpy as np

#: Width of a log-chroma histogram bin (FFCC uses 1/32; finer keeps sub-degree resolution).
BIN = 1.0 / 32.0
#: Half extent of the white-balanced log-chroma window the surface densities cover.
HALF_EXTENT = 2.0
#: Gaussian kernel of the surface density, log-chroma units (≈ the spread camera noise and
#: surfaces between the training set's samples add).
KERNEL_SIGMA = 0.045
#: Floor of the surface density, relative to its mean over the window: colours no surface in
#: the set produces still have a (small) likelihood.
DENSITY_FLOOR = 0.02
#: Exponent of the bin populations in the histogram (0: presence as in Finlayson et al. 2001,
#: 1: counts as in FFCC).
HISTOGRAM_POWER = 0.5
#: Prior on surfaces: chroma scale of the fall-off and the share of exact neutrals.
NEUTRAL_SCALE = 1.0
NEUTRAL_SHARE = 0.1
#: Brighter cells are likelier to be white (Joze et al., "The role of bright pixels in
#: illumination estimation", CIC 2012): each cell counts as its brightness to this power.
BRIGHTNESS_POWER = 0.0
#: Bright surfaces (luminance factor at least this) are nearly neutral (the optimal-colour
#: limit, MacAdam 1935); the frame's brightest cells are matched against them.
BRIGHT_SURFACE_Y = 0.6
BRIGHT_WEIGHT = 0.8
BRIGHT_CELL = 0.8
BRIGHT_PERCENTILE = 99.0
#: The bright cue is trusted fully below CLIPPED_BRIGHT_FULL of the cells clipped, not at all
#: above CLIPPED_BRIGHT_OFF (linearly between): see :func:`bright_trust`.
CLIPPED_BRIGHT_FULL = 0.005
CLIPPED_BRIGHT_OFF = 0.03
#: Cells whose brightest channel is above this fraction of the clip level are left out
#: (clipped colour is wrong colour); cells whose dimmest channel is below ``DARK_FRACTION``
#: carry mostly noise.
CLIP_FRACTION = 0.95
DARK_FRACTION = 0.004
#: Log prior of a source off the daylight and Planckian loci (fluorescent, LED, discharge):
#: such light is less common than daylight and incandescent.
OFF_LOCUS_LOG_PRIOR = {"fluorescent": -1.0, "led": -1.0, "discharge": -3.0}
#: Off-locus refinement: steps (log-chroma) and the Gaussian prior on the shift.
SHIFT_STEP = 0.005
SHIFT_MAX = 0.04
SHIFT_SIGMA = 0.02


@dataclass(frozen=True)
class AwbSpectra:
    """The data file of ``tools/make_awb_spectra.py`` (see there for every source)."""

    illuminant_spd: np.ndarray  # (K, 81)
    illuminant_name: tuple[str, ...]
    illuminant_family: tuple[str, ...]
    illuminant_cct_k: np.ndarray  # (K,)
    reflectance: np.ndarray  # (N, 81)
    reflectance_group: tuple[str, ...]
    cie_xyz_cmfs: np.ndarray  # (81, 3)
    provenance: str


@lru_cache(maxsize=1)
def awb_spectra() -> AwbSpectra:
    """Candidate lights, surfaces and the CIE observer, from ``data/awb/awb_spectra.npz``."""
    path = resources.files("mountcam.data") / "awb" / "awb_spectra.npz"
    with resources.as_file(path) as p, np.load(p) as z:
        return AwbSpectra(
            illuminant_spd=np.asarray(z["illuminant_spd"], dtype=np.float64),
            illuminant_name=tuple(str(s) for s in z["illuminant_name"]),
            illuminant_family=tuple(str(s) for s in z["illuminant_family"]),
            illuminant_cct_k=np.asarray(z["illuminant_cct_k"], dtype=np.float64),
            reflectance=np.asarray(z["reflectance"], dtype=np.float64),
            reflectance_group=tuple(str(s) for s in z["reflectance_group"]),
            cie_xyz_cmfs=np.asarray(z["cie_xyz_cmfs"], dtype=np.float64),
            provenance=str(z["provenance"]),
        )


@dataclass(frozen=True, eq=False)
class AwbModel:
    """What a camera knows about colour, ready for :func:`estimate_neutral`.

    ``neutral`` (K, 3): camera response to each candidate light's white, max 1.
    ``log_density`` (K, M, M): log p_k of white-balanced log-chroma on a grid of ``M`` bins of
    width :data:`BIN` centred on 0 in both u and v.
    """

    names: tuple[str, ...]
    families: tuple[str, ...]
    cct_k: np.ndarray
    neutral: np.ndarray
    log_density: np.ndarray
    log_prior: np.ndarray
    #: (K, M, M) the same for bright surfaces (luminance factor ≥ :data:`BRIGHT_SURFACE_Y`).
    log_density_bright: np.ndarray | None = None

    @cached_property
    def chroma(self) -> np.ndarray:
        """(K, 2) log-chroma (u, v) of each candidate's neutral."""
        return log_chroma(self.neutral)

    def floor_of(self, density: np.ndarray) -> np.ndarray:
        """(K,) the smallest log-density of each candidate in ``density`` (one of the model's
        grids, looked up once: the estimate reads them several times a frame)."""
        if density is self.log_density:
            return self._floor
        if density is self.log_density_bright:
            return self._floor_bright
        return density.reshape(density.shape[0], -1).min(axis=1)

    @cached_property
    def _floor(self) -> np.ndarray:
        return self.log_density.reshape(self.log_density.shape[0], -1).min(axis=1)

    @cached_property
    def _floor_bright(self) -> np.ndarray:
        d = self.log_density_bright
        return d.reshape(d.shape[0], -1).min(axis=1)


@dataclass(frozen=True)
class AwbEstimate:
    """An estimated camera neutral (max 1) and what the estimator concluded about the light."""

    neutral: tuple[float, float, float]
    #: Name of the best candidate light ("5200K", "FL11", ...), and its CCT in kelvin.
    light: str
    cct_k: float
    #: Cells of the frame that took part (unclipped, above the noise).
    cells: int
    method: str = "correlation"

    def as_dict(self) -> dict:
        return {
            "neutral": list(self.neutral),
            "light": self.light,
            "cct_k": self.cct_k,
            "cells": self.cells,
            "method": self.method,
        }


def log_chroma(rgb: np.ndarray) -> np.ndarray:
    """(…, 2) log-chroma ``(log G/R, log G/B)`` of positive RGB (…, 3)."""
    rgb = np.asarray(rgb, dtype=np.float64)
    lg = np.log(rgb)
    return np.stack([lg[..., 1] - lg[..., 0], lg[..., 1] - lg[..., 2]], axis=-1)


def chroma_to_neutral(uv: np.ndarray) -> np.ndarray:
    """Inverse of :func:`log_chroma` for a neutral: RGB (3,) with max 1."""
    u, v = float(uv[0]), float(uv[1])
    rgb = np.array([math.exp(-u), 1.0, math.exp(-v)])
    return rgb / rgb.max()


# ---- building the model ----------------------------------------------------------------------


def surface_weights(spectra: AwbSpectra) -> np.ndarray:
    """How often each reflectance of the set is expected in a scene (N,), summing to 1.

    Munsell samples colour space evenly, but the world's surfaces are mostly of low chroma
    (Attewell & Baddeley 2007; the peaked priors FFCC learns): a Munsell colour is weighted by
    ``exp(-C / NEUTRAL_SCALE)`` with ``C`` its log-chroma distance from neutral under an
    equal-energy light; the neutrals of the set carry :data:`NEUTRAL_SHARE` of the total."""
    refl = spectra.reflectance
    resp = refl @ spectra.cie_xyz_cmfs  # colorimetric chroma is enough for a weight
    white = spectra.cie_xyz_cmfs.sum(axis=0)
    chroma = np.linalg.norm(log_chroma(np.clip(resp / white, 1e-6, None)), axis=1)
    w = np.exp(-chroma / NEUTRAL_SCALE)
    groups = np.array(spectra.reflectance_group)
    neutral = groups == "neutral"
    w[neutral] = 0.0
    w /= w.sum()
    w = (1 - NEUTRAL_SHARE) * w
    w[neutral] = NEUTRAL_SHARE / neutral.sum()
    return w


def _density_grid(balanced: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """(K, M, M) log density of each candidate's white-balanced surface log-chroma."""
    from scipy.ndimage import gaussian_filter

    m = int(round(2 * HALF_EXTENT / BIN))
    edges = (np.arange(m + 1) - m / 2) * BIN
    out = np.empty((len(balanced), m, m))
    for k, uv in enumerate(balanced):
        hist, _, _ = np.histogram2d(uv[:, 0], uv[:, 1], bins=(edges, edges), weights=weights)
        dens = gaussian_filter(hist, KERNEL_SIGMA / BIN, mode="constant")
        dens /= dens.sum()
        dens += DENSITY_FLOOR / dens.size
        out[k] = np.log(dens / dens.sum())
    return out.astype(np.float32)


def _model_from_responses(
    spectra: AwbSpectra, white: np.ndarray, surfaces: np.ndarray, keep: np.ndarray
) -> AwbModel:
    balanced = []
    for k in np.flatnonzero(keep):
        resp = np.clip(surfaces[k] / white[k], 1e-6, None)
        balanced.append(log_chroma(resp))
    families = tuple(spectra.illuminant_family[k] for k in np.flatnonzero(keep))
    weights = surface_weights(spectra)
    y = spectra.reflectance @ spectra.cie_xyz_cmfs[:, 1] / spectra.cie_xyz_cmfs[:, 1].sum()
    bright_weights = np.where(y >= BRIGHT_SURFACE_Y, 1.0, 0.0)
    bright_weights /= bright_weights.sum()
    prior = np.array([OFF_LOCUS_LOG_PRIOR.get(f, 0.0) for f in families])
    neutral = white[keep] / white[keep].max(axis=1, keepdims=True)
    return AwbModel(
        names=tuple(spectra.illuminant_name[k] for k in np.flatnonzero(keep)),
        families=families,
        cct_k=spectra.illuminant_cct_k[keep],
        neutral=neutral,
        log_density=_density_grid(balanced, weights),
        log_prior=prior,
        log_density_bright=_density_grid(balanced, bright_weights),
    )


def model_from_sensitivities(sensitivities: np.ndarray) -> AwbModel:
    """The model of a camera whose spectral responsivity per unit *energy* is known, (81, 3)
    R, G, B on mountcam's grid (a photon-counting sensor's QE times λ)."""
    sens = np.ascontiguousarray(sensitivities, dtype=np.float64)
    if sens.shape != (81, 3) or not np.all(np.isfinite(sens)):
        raise ValueError(f"spectral sensitivities must be a finite (81, 3) array, not {sens.shape}")
    return _model_from_sensitivities_cached(sens.tobytes())


@lru_cache(maxsize=4)
def _model_from_sensitivities_cached(sens_bytes: bytes) -> AwbModel:
    sens = np.frombuffer(sens_bytes, dtype=np.float64).reshape(81, 3)
    spectra = awb_spectra()
    spd = spectra.illuminant_spd
    white = spd @ sens  # (K, 3)
    surfaces = np.einsum("nl,kl,lc->knc", spectra.reflectance, spd, sens)
    keep = np.all(white > 0, axis=1)
    return _model_from_responses(spectra, white, surfaces, keep)


def model_from_quantum_efficiency(qe: np.ndarray) -> AwbModel:
    """:func:`model_from_sensitivities` for a sensor preset's quantum efficiency (81, 3):
    photo-electrons per unit energy are QE·λ/(h·c)."""
    from mountcam.spectra import WAVELENGTHS_NM

    qe = np.asarray(qe, dtype=np.float64)
    return model_from_sensitivities(qe * (WAVELENGTHS_NM / WAVELENGTHS_NM.max())[:, None])


def model_from_colour_matrices(xyz_to_camera: Callable[[float], np.ndarray]) -> AwbModel:
    """The model of a camera known only by its colour calibration: ``xyz_to_camera(cct_k)``
    returns the 3×3 XYZ -> camera matrix for a light of that correlated colour temperature
    (a DNG's ColorMatrix1/2 interpolated in mired, DNG 1.4 §6). Responses are predicted as
    ``M · XYZ``; lights without a meaningful CCT (discharge lamps) are left out."""
    spectra = awb_spectra()
    spd = spectra.illuminant_spd
    cmfs = spectra.cie_xyz_cmfs
    white_xyz = spd @ cmfs
    white_xyz = white_xyz / white_xyz[:, 1:2]
    surf_xyz = np.einsum("nl,kl,lc->knc", spectra.reflectance, spd, cmfs)
    surf_xyz = surf_xyz / (spd @ cmfs)[:, 1][:, None, None]
    k_all = spd.shape[0]
    white = np.zeros((k_all, 3))
    surfaces = np.zeros((k_all, spectra.reflectance.shape[0], 3))
    keep = np.zeros(k_all, dtype=bool)
    for k in range(k_all):
        cct = spectra.illuminant_cct_k[k]
        if not np.isfinite(cct) or spectra.illuminant_family[k] == "discharge":
            continue
        m = np.asarray(xyz_to_camera(float(cct)), dtype=np.float64)
        white[k] = m @ white_xyz[k]
        surfaces[k] = surf_xyz[k] @ m.T
        keep[k] = bool(np.all(white[k] > 0))
    return _model_from_responses(spectra, white, surfaces, keep)


# ---- presets and colour temperatures ----------------------------------------------------------

#: White-balance presets: the light each stands for, as a colour temperature on the daylight or
#: Planckian locus or as a named candidate light. Daylight D55, cloudy D65, shade D75 and
#: tungsten A are the CIE illuminants cameras and raw converters use for them (CIE 15:2004
#: Table T.1: D-series at 5503/6504/7504 K, A a 2856 K Planckian radiator); fluorescent is
#: cool white FL2; flash is 6000 K daylight-locus light (the preset of Canon and Nikon bodies,
#: 5400-6000 K for xenon flash).
PRESETS: dict[str, float | str] = {
    "daylight": 5503.0,
    "cloudy": 6504.0,
    "shade": 7504.0,
    "tungsten": 2856.0,
    "fluorescent": "FL2",
    "flash": 6000.0,
}
#: Colour temperatures a Kelvin setting may take, K (the range of the candidate lights).
KELVIN_RANGE = (1800.0, 20000.0)


def kelvin_neutral(model: AwbModel, cct_k: float) -> np.ndarray:
    """Camera neutral (max 1) of a light of colour temperature ``cct_k`` on the Planckian locus
    (below 4000 K) or the CIE daylight locus (from 4000 K), interpolated between the model's
    candidates linearly in mired and log-chroma."""
    lo, hi = KELVIN_RANGE
    if not (math.isfinite(cct_k) and lo <= cct_k <= hi):
        raise ValueError(f"colour temperature {cct_k:g} K is outside {lo:.0f}-{hi:.0f} K")
    locus = [k for k, f in enumerate(model.families) if f in ("planckian", "daylight")]
    mired = 1e6 / model.cct_k[locus]
    order = np.argsort(mired)
    x = mired[order]
    uv = model.chroma[locus][order]
    target = 1e6 / cct_k
    chroma = np.array([np.interp(target, x, uv[:, 0]), np.interp(target, x, uv[:, 1])])
    return chroma_to_neutral(chroma)


def preset_neutral(model: AwbModel, preset: str) -> np.ndarray:
    """Camera neutral (max 1) of a white-balance preset (:data:`PRESETS`)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown white-balance preset {preset!r}; use {', '.join(PRESETS)}")
    light = PRESETS[preset]
    if isinstance(light, str):
        return model.neutral[model.names.index(light)].copy()
    return kelvin_neutral(model, light)


# ---- statistics of a frame -------------------------------------------------------------------


def cfa_cells(
    mosaic: np.ndarray,
    cfa_pattern: str,
    black_level_dn,
    white_level_dn: float,
    max_cells: int = 1 << 16,
) -> np.ndarray:
    """(n, 3) R, G, B of the mosaic's 2×2 CFA cells (G the mean of the two greens),
    black-subtracted and scaled so the clip level is 1.0, on a regular subsample of at most
    ``max_cells`` cells. Works for any 2×2 Bayer phase (RGGB, BGGR, GRBG, GBRG)."""
    pattern = cfa_pattern.upper()
    if sorted(pattern) != ["B", "G", "G", "R"]:
        raise ValueError(f"CFA pattern {cfa_pattern!r} is not a 2×2 Bayer layout")
    black = np.broadcast_to(np.asarray(black_level_dn, dtype=np.float64), (4,))
    h, w = mosaic.shape[0] // 2 * 2, mosaic.shape[1] // 2 * 2
    step = max(1, int(math.ceil(math.sqrt((h // 2) * (w // 2) / max_cells))))
    planes: dict[str, list[np.ndarray]] = {"R": [], "G": [], "B": []}
    for k, colour in enumerate(pattern):
        dy, dx = divmod(k, 2)
        sub = mosaic[dy:h:2, dx:w:2][::step, ::step].astype(np.float32)
        planes[colour].append((sub - np.float32(black[k])) / np.float32(white_level_dn - black[k]))
    g = 0.5 * (planes["G"][0] + planes["G"][1])
    return np.stack([planes["R"][0].ravel(), g.ravel(), planes["B"][0].ravel()], axis=1)


def usable_cells(cells: np.ndarray) -> np.ndarray:
    """The rows of ``cells`` (n, 3; 1.0 = clip) that carry colour: none clipped, none lost in
    the noise floor."""
    cells = np.asarray(cells, dtype=np.float64)
    ok = (cells.max(axis=1) < CLIP_FRACTION) & (cells.min(axis=1) > DARK_FRACTION)
    return cells[ok]


# ---- estimators ------------------------------------------------------------------------------


def _histogram(uv: np.ndarray, brightness: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Occupied log-chroma bins (b, 2) (bin centres, absolute) and their weights (b,)."""
    idx = np.floor(uv / BIN).astype(np.int64)
    # One integer key per bin, ordered as the (u, v) rows lexicographically: a 1-D unique is
    # ~10x faster than np.unique(axis=0), which sorts the rows as structured records.
    lo = idx.min(axis=0)
    span = int(idx[:, 1].max() - lo[1]) + 1
    flat = (idx[:, 0] - lo[0]) * span + (idx[:, 1] - lo[1])
    uniq, inverse = np.unique(flat, return_inverse=True)
    keys = np.stack([uniq // span + lo[0], uniq % span + lo[1]], axis=1)
    counts = np.bincount(inverse.ravel(), weights=brightness**BRIGHTNESS_POWER)
    weights = counts.astype(np.float64) ** HISTOGRAM_POWER
    return (keys + 0.5) * BIN, weights / weights.sum()


def _scores(model: AwbModel, centres: np.ndarray, weights: np.ndarray, density=None):
    """Mean log-likelihood of the frame's histogram under each candidate (K,)."""
    density = model.log_density if density is None else density
    ks = np.arange(len(model.names))
    return _weighted_lookup(density, model.floor_of(density), ks, model.chroma, centres, weights)


def _score_shifts(model: AwbModel, k: int, centres, weights, chromas: np.ndarray) -> np.ndarray:
    """Mean log-likelihood under candidate ``k``'s density placed at each of ``chromas``."""
    ks = np.full(len(chromas), k)
    density = model.log_density
    return _weighted_lookup(density, model.floor_of(density), ks, chromas, centres, weights)


def _weighted_lookup(density, floor, ks, chromas, centres, weights) -> np.ndarray:
    """Σ_b weights[b] · (``density[ks[i]]`` sampled bilinearly at ``centres[b] − chromas[i]``),
    for each i, in one compiled pass (no (len(ks), b) temporaries: the live view runs AWB on
    every frame). Equal to the numpy form within rounding (tests/test_control_awb.py)."""
    from mountcam.control.awb_kernels import weighted_bilinear_lookup

    return weighted_bilinear_lookup(
        np.ascontiguousarray(density, dtype=np.float64),
        floor,
        np.ascontiguousarray(ks, dtype=np.int64),
        np.ascontiguousarray(chromas, dtype=np.float64),
        np.ascontiguousarray(centres, dtype=np.float64),
        np.ascontiguousarray(weights, dtype=np.float64),
        BIN,
    )


def bright_trust(cells: np.ndarray) -> float:
    """How far to trust the bright-surface cue, 0 to 1: fully while the frame's highlights are
    intact, not at all once :data:`CLIPPED_BRIGHT_OFF` of its cells are clipped (the whites
    are then among the clipped cells the estimate leaves out, and the brightest cells left
    are coloured: a ColorChecker shot 2 EV over was 11.5° off with the cue, 0.7° without)."""
    cells = np.asarray(cells)
    lit = cells.max(axis=1) > DARK_FRACTION
    if not lit.any():
        return 0.0
    clipped = float((cells[lit].max(axis=1) >= CLIP_FRACTION).mean())
    span = CLIPPED_BRIGHT_OFF - CLIPPED_BRIGHT_FULL
    return float(np.clip((CLIPPED_BRIGHT_OFF - clipped) / span, 0.0, 1.0))


def estimate_neutral(cells: np.ndarray, model: AwbModel) -> AwbEstimate:
    """The camera neutral of the light in a frame from its CFA cells (n, 3; black-subtracted,
    1.0 = clip; e.g. :func:`cfa_cells`), by colour by correlation (module docstring).

    Falls back to grey world over all unclipped cells when fewer than 32 cells carry colour
    (a nearly black or fully clipped frame)."""
    use = usable_cells(cells)
    if use.shape[0] < 32:
        est = grey_world(cells)
        return AwbEstimate(tuple(float(v) for v in est), "grey world", float("nan"), len(use))
    uv = log_chroma(use)
    lum = use.max(axis=1)
    centres, weights = _histogram(uv, lum / use.max())
    scores = _scores(model, centres, weights)
    bright_weight = BRIGHT_WEIGHT * bright_trust(cells)
    if bright_weight > 0 and model.log_density_bright is not None:
        bright = lum >= BRIGHT_CELL * np.percentile(lum, BRIGHT_PERCENTILE)
        bc, bw = _histogram(uv[bright], lum[bright])
        scores = (1 - bright_weight) * scores + bright_weight * _scores(
            model, bc, bw, model.log_density_bright
        )
    n_cells = int(use.shape[0])
    # Scores are mean log-likelihoods per unit histogram weight; the prior counts as much as
    # one effective cell would, so it only breaks near-ties.
    total = scores + model.log_prior / math.sqrt(n_cells)
    best = int(np.argmax(total))
    chroma = model.chroma[best].copy()

    # Along the locus: a parabola through the neighbours in mired (same family, adjacent).
    fam = model.families[best]
    if fam in ("planckian", "daylight"):
        locus = [
            k for k in range(len(model.names)) if model.families[k] in ("planckian", "daylight")
        ]
        pos = locus.index(best)
        if 0 < pos < len(locus) - 1:
            a, b, c = (total[locus[pos - 1]], total[best], total[locus[pos + 1]])
            denom = a - 2 * b + c
            if denom < 0:
                t = float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5))
                nb = locus[pos + 1] if t > 0 else locus[pos - 1]
                chroma = (1 - abs(t)) * model.chroma[best] + abs(t) * model.chroma[nb]
    # Off the locus: translate the neutral (same surface density) under a Gaussian prior,
    # coarse to fine.
    best_shift = np.zeros(2)
    offsets = np.array([(du, dv) for du in range(-2, 3) for dv in range(-2, 3)], dtype=float)
    for step in (4 * SHIFT_STEP, SHIFT_STEP):
        shifts = best_shift + step * offsets
        shifts = shifts[np.abs(shifts).max(axis=1) <= SHIFT_MAX + 1e-9]
        vals = _score_shifts(model, best, centres, weights, chroma + shifts)
        vals -= (shifts**2).sum(axis=1) / (2 * SHIFT_SIGMA**2) / math.sqrt(n_cells)
        best_shift = shifts[int(np.argmax(vals))]
    neutral = chroma_to_neutral(chroma + best_shift)
    return AwbEstimate(
        tuple(float(v) for v in neutral),
        model.names[best],
        float(model.cct_k[best]),
        n_cells,
    )


def grey_world(cells: np.ndarray) -> np.ndarray:
    """Grey-world neutral (Buchsbaum 1980): the mean of every unclipped cell, max 1."""
    cells = np.asarray(cells, dtype=np.float64)
    ok = cells.max(axis=1) < CLIP_FRACTION
    est = np.clip(cells[ok] if ok.any() else cells, 0.0, None).mean(axis=0)
    return est / est.max() if np.all(est > 0) else np.ones(3)


def white_patch(cells: np.ndarray) -> np.ndarray:
    """White-patch (max-RGB) neutral (Land 1977): each channel's largest unclipped value,
    max 1 (taken at the 99.5th percentile so one hot pixel does not decide)."""
    cells = np.asarray(cells, dtype=np.float64)
    ok = cells.max(axis=1) < CLIP_FRACTION
    est = np.percentile(cells[ok] if ok.any() else cells, 99.5, axis=0)
    return est / est.max() if np.all(est > 0) else np.ones(3)


def angular_error_deg(a, b) -> float:
    """Angle between two RGB vectors in degrees (the recovery error of colour constancy
    papers, e.g. Hordley & Finlayson, JOSA A 23(5), 2006)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    return math.degrees(math.acos(min(1.0, max(-1.0, cos))))
