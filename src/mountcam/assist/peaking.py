"""Focus peaking: mark the edges that are in focus, and nothing when nothing is.

**The measure: the same edge seen at two scales.** An edge of contrast C blurred by a Gaussian
of σ_b (the lens's defocus, diffraction and the pixel, together) has, after a derivative-of-
Gaussian filter of scale s, the peak gradient C / (√(2π) · √(σ_b² + s²)) (Lindeberg, "Edge
detection and ridge detection with automatic scale selection", IJCV 30(2), 1998, §4: the
scale-space signature of a diffuse step edge). The ratio of the peak gradients at a fine scale
s_f and a coarse scale s_c,

    r = g(s_f) / g(s_c) = √(σ_b² + s_c²) / √(σ_b² + s_f²),

does not depend on the edge's contrast, only on its blur: with s_f = 0.8 px and s_c = 2 px a
sharp edge (σ_b ≈ 0.5 px) gives r ≈ 2.3, an edge blurred by σ_b = 1.5 px r ≈ 1.5, and one blurred
by 3 px r ≈ 1.17. A pixel is *sharp* when r ≥ ``min_ratio`` (1.7 by default: σ_b ≲ 1.2 px).

**Which sharp edges light up.** Peaking should draw outlines, not flood a textured subject,
so among sharp pixels only the strongest fine-scale gradients are lit: at or above the
``1 − target_fraction`` quantile of the frame's fine-scale gradient (the automatic
threshold: about 1 % of the pixels on a scene that is sharp throughout), never below a noise
floor (``noise_sigmas`` times the fine gradient's noise, from the image noise estimated by
Immerkær's method, "Fast noise variance estimation", CVIU 64(2), 1996, eq. 2) and never on
edges that are weak at the coarse scale too (pure noise is strong only at the fine scale).
On a scene that is out of focus throughout, no edge passes the ratio, and (almost) nothing
lights up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mountcam.assist.overlay import paint

#: Fine and coarse scales of the derivative-of-Gaussian filters, pixels.
FINE_SIGMA_PX = 0.8
COARSE_SIGMA_PX = 2.0

#: Immerkær's noise operator, 3×3 (eq. 1).
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


@dataclass(frozen=True)
class PeakingSettings:
    """How eager the peaking is. ``target_fraction``: the share of pixels lit on a scene sharp
    throughout; ``min_ratio``: fine/coarse gradient ratio that counts as sharp; ``noise_sigmas``:
    the floor, in noise standard deviations of the fine gradient."""

    target_fraction: float = 0.01
    min_ratio: float = 1.7
    noise_sigmas: float = 6.0

    def __post_init__(self) -> None:
        if not 0 < self.target_fraction < 0.5:
            raise ValueError("peaking's target fraction must be between 0 and 0.5")
        if not 1.0 < self.min_ratio < COARSE_SIGMA_PX / FINE_SIGMA_PX:
            raise ValueError(
                f"peaking's sharpness ratio must be between 1 and {COARSE_SIGMA_PX / FINE_SIGMA_PX}"
            )
        if self.noise_sigmas < 0:
            raise ValueError("peaking's noise floor cannot be negative")


def _derivative_kernels(sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Sampled 1-D Gaussian and its derivative (radius 3σ, at least 1), float32."""
    radius = max(1, int(np.ceil(3 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-0.5 * (x / sigma) ** 2)
    g /= g.sum()
    d = -x / sigma**2 * g
    # Normalise the derivative to unit response on a ramp of slope 1 (so that gradients at
    # both scales are in the same units: level per pixel).
    d /= -(d * x).sum()
    return g.astype(np.float32), d.astype(np.float32)


def gradient_magnitude(level: np.ndarray, sigma_px: float) -> np.ndarray:
    """|∇(G_σ * level)|, float32, by separable derivative-of-Gaussian filters (reflected edges)."""
    import cv2

    g, d = _derivative_kernels(sigma_px)
    src = level.astype(np.float32, copy=False)
    gx = cv2.sepFilter2D(src, cv2.CV_32F, d, g, borderType=cv2.BORDER_REFLECT)
    gy = cv2.sepFilter2D(src, cv2.CV_32F, g, d, borderType=cv2.BORDER_REFLECT)
    return cv2.magnitude(gx, gy)


def noise_sigma(level: np.ndarray) -> float:
    """Standard deviation of white noise in ``level`` (Immerkær 1996, eq. 2), same units."""
    import cv2

    h, w = level.shape
    if h < 3 or w < 3:
        return 0.0
    response = cv2.filter2D(level.astype(np.float32, copy=False), cv2.CV_32F, _NOISE_KERNEL)
    inner = np.abs(response[1:-1, 1:-1])
    return float(np.sqrt(np.pi / 2) * inner.sum(dtype=np.float64) / (6 * (w - 2) * (h - 2)))


def _gradient_noise_gain(sigma_px: float) -> float:
    """Standard deviation of one gradient component for unit white noise (the filter's norm)."""
    g, d = _derivative_kernels(sigma_px)
    return float(np.sqrt((g.astype(np.float64) ** 2).sum() * (d.astype(np.float64) ** 2).sum()))


def focus_peaking(level: np.ndarray, settings: PeakingSettings | None = None) -> np.ndarray:
    """Boolean (H, W) mask of in-focus edges of a one-channel ``level`` image (display luma)."""
    s = settings or PeakingSettings()
    if level.ndim != 2 or min(level.shape) < 8:
        raise ValueError(f"peaking reads an (H, W) image at least 8×8; got {level.shape}")
    fine = gradient_magnitude(level, FINE_SIGMA_PX)
    coarse = gradient_magnitude(level, COARSE_SIGMA_PX)
    sigma = noise_sigma(level)
    # Noise floors of each magnitude (a 2-D Rayleigh-ish magnitude; sigmas × component std).
    fine_floor = s.noise_sigmas * sigma * _gradient_noise_gain(FINE_SIGMA_PX)
    coarse_floor = s.noise_sigmas * sigma * _gradient_noise_gain(COARSE_SIGMA_PX)
    # The automatic level: the frame's top target_fraction of fine gradients, sampled on every
    # fourth row and column (~49 k values at 1024×768: the quantile moves by far less than from
    # frame to frame with the noise, and the sort costs a sixteenth).
    sample = fine[::4, ::4]
    auto = float(np.quantile(sample, 1.0 - s.target_fraction)) if sample.size else 0.0
    threshold = max(auto, fine_floor, np.finfo(np.float32).tiny)
    return (fine >= threshold) & (fine >= s.min_ratio * coarse) & (coarse > coarse_floor)


#: Colours a photographer can choose for peaking, 8-bit sRGB.
PEAKING_COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (255, 32, 32),
    "yellow": (255, 230, 0),
    "green": (0, 255, 64),
    "blue": (40, 120, 255),
    "white": (255, 255, 255),
}


def peaking_colour(name: str) -> tuple[int, int, int]:
    """The 8-bit colour of a peaking colour name (``PEAKING_COLOURS``)."""
    try:
        return PEAKING_COLOURS[name]
    except KeyError:
        raise ValueError(
            f"peaking colour {name!r} is not one of {', '.join(PEAKING_COLOURS)}"
        ) from None


def draw_peaking(
    rgb8: np.ndarray,
    mask: np.ndarray,
    colour: tuple[int, int, int] = PEAKING_COLOURS["red"],
    *,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Paint the mask's pixels in ``colour`` on an (H, W, 3) uint8 image."""
    if out is None:
        out = rgb8.copy()
    if mask.shape != out.shape[:2]:
        raise ValueError(f"peaking mask {mask.shape} does not match the image {out.shape[:2]}")
    return paint(out, mask, colour)
