"""Depth of field: thin-lens circle of confusion, aperture kernels, layered defocus rendering."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mountcam.errors import InvalidSetting
from mountcam.optics.blur_spot import aperture_kernel, polygon_circumradius
from mountcam.optics.defocus import coc_diameter_m, render_defocus, signed_coc_px
from mountcam.optics.imaging import image_distance_m

PITCH = 3.2e-6


def lens(focal_mm: float, f_number: float, focus_m: float = 2.0) -> dict:
    return dict(focal_m=focal_mm / 1000.0, f_number=f_number, focus_m=focus_m, pixel_pitch_m=PITCH)


def equivalent_diameter(spot: np.ndarray) -> float:
    """Area-equivalent diameter of a uniformly lit blur spot: 2·sqrt(flux / plateau / π).

    A geometric blur spot is flat inside and its flux is fixed, so flux / plateau is its area
    whatever its outline and however soft its edge (antialiasing, the pyramid's resampling);
    the plateau is the median over the central quarter of the spot's extent, found from the
    spot itself (pixels above a tenth of the peak), so no expected size enters the estimate.
    """
    flux = float(spot.sum())
    rows, cols = np.nonzero(spot > 0.1 * spot.max())
    cy, cx = rows.mean(), cols.mean()
    extent = 0.5 * max(np.ptp(rows), np.ptp(cols), 1)
    yy, xx = np.mgrid[: spot.shape[0], : spot.shape[1]]
    core = np.hypot(yy - cy, xx - cx) <= max(1.0, extent / 4.0)
    plateau = float(np.median(spot[core]))
    return 2.0 * math.sqrt(flux / plateau / math.pi)


def half_plateau_diameter(spot: np.ndarray) -> float:
    """Second estimator: area of the region above half the plateau → equivalent diameter."""
    flux = float(spot.sum())
    plateau = flux / (math.pi * equivalent_diameter(spot) ** 2 / 4.0)
    return 2.0 * math.sqrt(np.count_nonzero(spot > plateau / 2.0) / math.pi)


def point_scene(size: int, depth_point: float, depth_background: float):
    img = np.zeros((size, size, 3), np.float32)
    img[size // 2, size // 2] = (1.0, 2.0, 0.5)
    depth = np.full((size, size), depth_background, np.float32)
    depth[size // 2, size // 2] = depth_point
    return img, depth


# ----------------------------------------------------------------------------- (a) CoC formula


def test_coc_hand_computed_50mm_f2():
    # 50 mm f/2 focused at 2 m, point at 4 m: A = 25 mm, m = 50/1950,
    # c = 25 mm · (2/4) · 50/1950 = 0.320513 mm = 100.16 px of 3.2 µm.
    c = coc_diameter_m(0.050, 2.0, 2.0, 4.0)
    assert c == pytest.approx(0.025 * 0.5 * 0.05 / 1.95, rel=1e-12)
    assert c == pytest.approx(3.205128e-4, rel=1e-6)
    # Point at 1 m (in front): 25 mm · 1/1 · 50/1950 = 0.641 mm; at infinity: A·m = 0.641 mm.
    assert coc_diameter_m(0.050, 2.0, 2.0, 1.0) == pytest.approx(6.410256e-4, rel=1e-6)
    assert coc_diameter_m(0.050, 2.0, 2.0, math.inf) == pytest.approx(6.410256e-4, rel=1e-6)
    assert coc_diameter_m(0.050, 2.0, 2.0, 2.0) == 0.0


def test_coc_matches_image_distances():
    # c = A·|v − v_f|/v from the thin-lens image distances, independently of the closed form.
    f, n, zf = 0.09, 1.4, 3.0
    vf = image_distance_m(f, zf)
    for z in (0.05, 0.5, 1.0, 2.9, 3.1, 10.0, 1e4):  # 0.05 m < f: a virtual image
        v = image_distance_m(f, z)
        assert coc_diameter_m(f, n, zf, z) == pytest.approx(f / n * abs(v - vf) / abs(v), rel=1e-9)


def test_coc_infinity_focus_and_depth():
    # Focused at infinity: c = A·f/z (and 0 at infinity); 28 mm f/2.8 at 1 m: 10 mm·28 mm/1 m.
    assert coc_diameter_m(0.028, 2.8, math.inf, 1.0) == pytest.approx(0.01 * 0.028, rel=1e-12)
    assert coc_diameter_m(0.028, 2.8, math.inf, math.inf) == 0.0
    z = np.array([1.0, 2.0, 4.0, np.inf, np.nan])
    signed = coc_diameter_m(0.05, 2.0, 2.0, z, signed=True)
    assert signed.shape == (5,)
    assert signed[0] < 0 and signed[1] == 0 and signed[2] > 0 and signed[3] > signed[2]
    assert np.isnan(signed[4])
    np.testing.assert_allclose(np.abs(signed[:4]), coc_diameter_m(0.05, 2.0, 2.0, z[:4]))
    assert np.all(coc_diameter_m(0.028, 2.8, math.inf, z[:3], signed=True) < 0)


def test_coc_rejects_impossible_settings():
    with pytest.raises(InvalidSetting):
        coc_diameter_m(0.05, 2.0, 0.04, 1.0)  # focus closer than f
    with pytest.raises(InvalidSetting):
        coc_diameter_m(0.05, 0.0, 2.0, 1.0)
    with pytest.raises(InvalidSetting):
        coc_diameter_m(0.05, 2.0, 2.0, np.array([1.0, -1.0]))


def test_signed_coc_px_treats_unknown_depth_as_far():
    depth = np.array([[np.nan, np.inf, -1.0, 4.0, 1.0]], np.float32)
    c = signed_coc_px(depth, **lens(50, 2.0))
    far = coc_diameter_m(0.05, 2.0, 2.0, math.inf) / PITCH
    np.testing.assert_allclose(c[0, :3], far, rtol=1e-6)
    assert c[0, 3] == pytest.approx(100.16, abs=0.01)
    assert c[0, 4] == pytest.approx(-2 * 100.16, abs=0.02)


# ----------------------------------------------------------------------------- (f) kernels


def test_aperture_kernel_circle_and_polygons_sum_to_one():
    for blades in (0, 3, 5, 6, 9, 12):
        k = aperture_kernel(40.0, blades)
        assert k.dtype == np.float32 and k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
        assert float(k.sum(dtype=np.float64)) == pytest.approx(1.0, abs=1e-6)
        # Area-equivalent convention: the lit area is π·D²/4 for every outline.
        assert equivalent_diameter(k) == pytest.approx(40.0, rel=0.01)


def test_aperture_kernel_blade_count_changes_shape():
    circle, hexagon = aperture_kernel(40.0, 0), aperture_kernel(40.0, 6)
    assert hexagon.shape[0] > circle.shape[0]  # the vertices reach beyond the equal-area circle
    n = max(circle.shape[0], hexagon.shape[0])

    def pad(k):
        p = (n - k.shape[0]) // 2
        return np.pad(k, p)

    c, h = pad(circle), pad(hexagon)
    plateau = c.max()
    assert np.abs(c - h).max() > 0.5 * plateau  # they differ by whole pixels of the spot
    mid = n // 2
    # Vertex along +x (rotation 0): the hexagon reaches R = 1.0996·20 px on the row through the
    # centre, the circle 20 px; straight up is an edge at R·cos 30° = 19.04 px.
    r_vertex = polygon_circumradius(40.0, 6)
    assert r_vertex == pytest.approx(20.0 * math.sqrt(2 * math.pi / (6 * math.sin(math.pi / 3))))
    row_extent = np.count_nonzero(h[mid] > plateau / 2) / 2
    col_extent = np.count_nonzero(h[:, mid] > plateau / 2) / 2
    assert row_extent == pytest.approx(r_vertex, abs=0.6)
    assert col_extent == pytest.approx(r_vertex * math.cos(math.pi / 6), abs=0.6)
    # Six-fold symmetry: a 180° turn leaves a hexagon unchanged, not a pentagon.
    np.testing.assert_allclose(h, h[::-1, ::-1], atol=1e-7)
    pentagon = aperture_kernel(40.0, 5)
    assert np.abs(pentagon - pentagon[::-1, ::-1]).max() > 0.5 * pentagon.max()
    # Rotating by one blade step (60°) gives the same hexagon.
    np.testing.assert_allclose(aperture_kernel(40.0, 6, math.pi / 3), hexagon, atol=1e-7)


def test_aperture_kernel_subpixel_is_delta_and_bad_blades_raise():
    np.testing.assert_array_equal(aperture_kernel(0.6, 0), np.ones((1, 1), np.float32))
    assert aperture_kernel(1.0, 0).sum() == pytest.approx(1.0)
    for blades in (-1, 1, 2):
        with pytest.raises(InvalidSetting):
            aperture_kernel(10.0, blades)


# ----------------------------------------------------------------------------- (b) blur diameter

CASES = [
    (focal, n, z)
    for focal in (28.0, 50.0, 90.0)
    for n in (2.0, 4.0)
    for z in (1.5, 4.0)  # focused at 2 m: one point in front, one behind
]


@pytest.mark.parametrize("focal,f_number,z", CASES)
def test_point_blur_diameter_matches_thin_lens_coc(focal, f_number, z):
    expected = coc_diameter_m(focal / 1000, f_number, 2.0, z) / PITCH
    # A crop of 512 px, or twice the blur where that is more: the image edge must stay outside
    # the blur spot's own blur radius, or the edge renormalisation (docs/defocus.md) shows.
    size = max(512, 64 * math.ceil((2 * expected + 64) / 64))
    # The point on a black wall at its own depth, and the point in front of / behind a black
    # background at another depth (infinity for a near point, the focus plane for a far one
    # would hide it, so 20 m).
    for background in (z, math.inf if z < 2.0 else 20.0):
        img, depth = point_scene(size, z, background)
        out = render_defocus(img, depth, **lens(focal, f_number))
        spot = out[..., 1]
        assert equivalent_diameter(spot) == pytest.approx(expected, rel=0.05)
        assert half_plateau_diameter(spot) == pytest.approx(expected, rel=0.05)


@pytest.mark.parametrize("blades", [5, 6])
def test_polygon_point_blur_has_coc_area(blades):
    expected = coc_diameter_m(0.05, 2.0, 2.0, 4.0) / PITCH
    img, depth = point_scene(384, 4.0, 4.0)
    out = render_defocus(img, depth, **lens(50, 2.0), blades=blades)
    assert equivalent_diameter(out[..., 1]) == pytest.approx(expected, rel=0.05)


# ----------------------------------------------------------------------------- (e) energy


@pytest.mark.parametrize("z,background", [(4.0, 4.0), (1.2, math.inf), (6.0, 30.0), (1.6, 1.6)])
def test_defocused_point_keeps_its_flux(z, background):
    img, depth = point_scene(512, z, background)
    out = render_defocus(img, depth, **lens(50, 1.4))
    np.testing.assert_allclose(out.sum(axis=(0, 1), dtype=np.float64), (1.0, 2.0, 0.5), rtol=1e-3)
    assert out.min() >= -1e-6


# ----------------------------------------------------------------------------- (c) sharp over blur


def test_in_focus_foreground_stays_exact_over_blurred_background():
    rng = np.random.default_rng(7)
    size = 384
    img = rng.random((size, size, 3), dtype=np.float32)  # textured far background
    depth = np.full((size, size), 8.0, np.float32)  # 50 mm f/1.4 at 2 m: 8 m → 107 px blur
    fg = np.zeros((size, size), bool)
    fg[120:260, 100:280] = True
    img[fg] = rng.random((int(fg.sum()), 3), dtype=np.float32) * 2.0  # textured foreground
    depth[fg] = 2.0
    out = render_defocus(img, depth, **lens(50, 1.4))

    # "Rendered alone" the in-focus foreground is the input itself: compare outside a 2 px band.
    inner = np.zeros_like(fg)
    inner[122:258, 102:278] = True
    rms = np.sqrt(np.mean((out[inner] - img[inner]) ** 2)) / np.sqrt(np.mean(img[inner] ** 2))
    assert rms < 0.01
    # In fact it is exact, edges included: nothing blurred lies in front of it.
    np.testing.assert_array_equal(out[fg], img[fg])

    # No dark (or bright) halo in the background next to it: the blurred background keeps its
    # mean level (0.5 for uniform noise) right up to the foreground's edge.
    ring = np.zeros_like(fg)
    ring[110:270, 90:290] = True
    ring &= ~fg
    far_away = np.zeros_like(fg)
    far_away[300:370, 40:340] = True
    assert out[ring].mean() == pytest.approx(0.5, abs=0.02)
    assert out[far_away].mean() == pytest.approx(0.5, abs=0.02)
    assert out[ring].std() < 0.05  # and it is blurred, not the raw noise (std 0.29)


# ----------------------------------------------------------------------------- (d) blur over sharp


def test_defocused_foreground_spreads_over_in_focus_background():
    size = 400
    img = np.zeros((size, size, 3), np.float32)
    img[:, :200] = (1.0, 0.0, 0.0)  # near red half-plane
    img[:, 200:] = (0.0, 1.0, 0.0)  # in-focus green half-plane
    depth = np.full((size, size), 2.0, np.float32)
    depth[:, :200] = 1.0
    out = render_defocus(img, depth, **lens(50, 2.0))
    blur = coc_diameter_m(0.05, 2.0, 2.0, 1.0) / PITCH  # 200 px
    row = out[200]
    # Background pixels near the edge take the foreground's colour, semi-transparently:
    assert 0.35 < row[201, 0] < 0.65  # half the blur disk of a point just right of the edge
    assert row[220, 0] > 0.1 and row[220, 1] > 0.5
    assert np.all(np.diff(row[150:300, 0]) <= 1e-6)  # red fades monotonically to the right
    # … up to the blur radius (plus the few pixels the resampling pyramid softens an edge by)
    # and no further: beyond it the background is untouched (to round-off).
    beyond = int(200 + blur / 2 + 16)
    np.testing.assert_allclose(out[:, beyond:], img[:, beyond:], atol=1e-5)
    inside = int(200 - blur / 2 - 16)
    np.testing.assert_allclose(out[:, :inside], img[:, :inside], atol=1e-5)
    # Red + green = 1 everywhere: no dark or bright halo where the two mix.
    np.testing.assert_allclose(out[..., 0] + out[..., 1], 1.0, atol=1e-5)


@pytest.mark.parametrize("gap", [3, 10, 40])
def test_bokeh_next_to_a_sharp_occluder_is_cut_not_brightened(gap):
    # A lamp on a dark far wall, `gap` px beside the edge of an in-focus dark occluder. Its blur
    # disk must be cut by the occluder's silhouette and stay uniformly lit: the hidden wall
    # behind the occluder is extrapolated as "wall", not as "lamp" (docs/defocus.md).
    size = 400
    img = np.zeros((size, size, 3), np.float32)
    depth = np.full((size, size), 6.0, np.float32)
    depth[:, 200:] = 2.0
    img[200, 200 - gap] = 1000.0
    out = render_defocus(img, depth, **lens(50, 2.0))[..., 0]
    d = coc_diameter_m(0.05, 2.0, 2.0, 6.0) / PITCH  # 134 px
    plateau = 1000.0 / (math.pi * d * d / 4.0)
    assert np.all(out[:, 200:] == 0.0)  # the occluder is exact
    assert out.max() < 1.08 * plateau
    # Flux = the part of the disk left of the edge (circular segment at distance `gap`).
    r = d / 2
    cut = r * r * math.acos(gap / r) - gap * math.sqrt(r * r - gap * gap)
    assert out.sum() / 1000.0 == pytest.approx(1.0 - cut / (math.pi * r * r), abs=0.03)


def test_in_focus_pixels_are_never_blended_across_the_focus_plane():
    # Coarse layer spacing (one layer per two octaves) must still keep the in-focus band exact.
    rng = np.random.default_rng(4)
    img = rng.random((128, 96, 3), dtype=np.float32)
    # 1.8 m → 2 m (in focus, rows 40–89) → 2.2 m: blur ramps of up to 22 px on either side.
    z = np.concatenate(
        [np.linspace(1.8, 2.0, 40, endpoint=False), np.full(50, 2.0), np.linspace(2.0, 2.2, 38)]
    )
    depth = np.repeat(z.astype(np.float32)[:, None], 96, axis=1)
    for lpo in (0.5, 2.0, 4.0):
        out = render_defocus(img, depth, **lens(50, 2.0), layers_per_octave=lpo)
        # Rows more than a blur radius (11 px) from the ramps are in focus and untouched.
        np.testing.assert_array_equal(out[55:75], img[55:75])
        assert np.isfinite(out).all()
        assert np.abs(out[:20] - img[:20]).max() > 0.05  # and the ramps are blurred


# ----------------------------------------------------------------------------- normalisation


def test_uniform_radiance_stays_uniform_at_any_depth():
    # A wall of one colour with a depth map full of steps and ramps must render to the same
    # colour everywhere: any mismatch of coverage between layers would show as a dark or
    # bright halo.
    rng = np.random.default_rng(3)
    blocks = rng.choice([0.8, 1.0, 1.3, 2.0, 2.0, 3.0, 6.0, np.inf], size=(12, 16))
    depth = np.kron(blocks, np.ones((24, 24))).astype(np.float32)
    depth[200:] = np.linspace(0.7, 12.0, 88, dtype=np.float32)[:, None]  # a ground-plane ramp
    colour = np.array([0.3, 0.55, 0.7], np.float32)
    img = np.broadcast_to(colour, depth.shape + (3,)).copy()
    for blades in (0, 6):
        out = render_defocus(img, depth, **lens(50, 0.95), blades=blades)
        np.testing.assert_allclose(out, img, atol=1e-5)


def test_everything_in_focus_is_returned_unchanged():
    rng = np.random.default_rng(1)
    img = rng.random((64, 80, 3), dtype=np.float32)
    depth = np.full((64, 80), 2.0, np.float32)
    depth[10:20] = 2.0001  # blur far below a pixel
    np.testing.assert_array_equal(render_defocus(img, depth, **lens(50, 2.0)), img)
    # Two-dimensional planes come back two-dimensional.
    np.testing.assert_array_equal(render_defocus(img[..., 0], depth, **lens(50, 2.0)), img[..., 0])


def test_unknown_depth_renders_as_infinity():
    rng = np.random.default_rng(2)
    img = rng.random((96, 96, 3), dtype=np.float32)
    inf = render_defocus(img, np.full((96, 96), np.inf, np.float32), **lens(28, 2.0))
    nan = render_defocus(img, np.full((96, 96), np.nan, np.float32), **lens(28, 2.0))
    np.testing.assert_array_equal(inf, nan)
    assert inf.std() < img.std()


def test_render_rejects_bad_input():
    img = np.zeros((8, 8, 3), np.float32)
    with pytest.raises(InvalidSetting):
        render_defocus(img, np.ones((8, 9), np.float32), **lens(50, 2.0))
    with pytest.raises(InvalidSetting):
        render_defocus(img, np.ones((8, 8), np.float32), **lens(50, 2.0), blades=2)


def test_rendering_into_the_image_itself_gives_the_same_picture():
    """out=planes (what the capture passes, to hold one image less at 50 MP) must not change
    a pixel: the image is read only before the result is written."""
    rng = np.random.default_rng(4)
    img = rng.uniform(0.0, 2.0, (160, 200, 3)).astype(np.float32)
    depth = np.full((160, 200), 2.0, np.float32)
    depth[:, :70] = 1.2  # in front of the focus plane
    depth[60:120, 120:] = 6.0  # behind it
    depth[10:30, 80:100] = np.nan  # unknown: rendered at infinity
    reference = render_defocus(img, depth, **lens(50, 1.4))
    buffer = img.copy()
    same = render_defocus(buffer, depth, **lens(50, 1.4), out=buffer)
    assert same is buffer
    assert np.array_equal(same, reference)
    grey = render_defocus(img[..., 1], depth, **lens(50, 1.4))
    plane = np.ascontiguousarray(img[..., 1])
    assert np.array_equal(render_defocus(plane, depth, **lens(50, 1.4), out=plane), grey)
    with pytest.raises(InvalidSetting, match="C-contiguous float32"):
        render_defocus(img, depth, **lens(50, 1.4), out=np.empty((160, 200, 3)))
