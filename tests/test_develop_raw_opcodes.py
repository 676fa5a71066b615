"""OpcodeList2 (GainMap, MapTable, MapPolynomial) applied before demosaicking (issue 9 §1).

The opcode equations are written out here from the DNG 1.4 specification, chapter 6, and the
DNG SDK's reading of them (``dng_gain_map_interpolator``: map read at pixel centres relative to
the image, held at the map's ends, result clipped at white), pixel by pixel in plain Python,
and compared with the strip kernels. End to end: a CFA DNG whose mosaic was shaded by a known
gain field (up to ×2 in the corners, differently per CFA colour) and which carries four
GainMaps (RowPitch = ColPitch = 2, one per colour, as phones write them) develops to the same
picture as the unshaded file; LibRaw does not apply GainMaps, so its rendering of the unshaded
file is the reference it is checked against. The Adobe DNG SDK (dngpy) reads the GainMap bytes
we write with the same fields.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from foreign_dngs import mosaic_of, write_cfa_dng
from mountcam.develop import DevelopSettings, develop
from mountcam.develop.raw_opcodes import apply_raw_opcodes, prepare_raw_opcodes
from mountcam.dng.opcodes import (
    GainMap,
    MapPolynomial,
    MapTable,
    UnknownOpcode,
    decode_opcode_list,
    encode_opcode_list,
)
from mountcam.errors import UnreadableFile

H, W = 96, 128
WHITE = 16383
LINEAR = DevelopSettings(linear=True, denoise=False, sharpen=False)
NO_OPCODES = DevelopSettings(linear=True, denoise=False, sharpen=False, lens_correction=False)


# --- the equations, written out ---------------------------------------------------------------


def _map_index(pos: int, size: int, origin: float, spacing: float, points: int):
    """dng_gain_map_interpolator's index and fraction along one axis (pixel centre +½)."""
    if points == 1:
        return 0, 0, 0.0
    f = ((pos + 0.5) / size - origin) / spacing
    if f <= 0.0:
        return 0, 0, 0.0
    i = int(f)
    if i >= points - 1:
        return points - 1, points - 1, 0.0
    return i, i + 1, f - i


def reference_gain(op: GainMap, row: int, col: int, plane: int, image_hw) -> float:
    g = op.gains
    mp = min(plane, g.shape[2] - 1)
    r1, r2, fr = _map_index(row, image_hw[0], op.map_origin_v, op.map_spacing_v, g.shape[0])
    c1, c2, fc = _map_index(col, image_hw[1], op.map_origin_h, op.map_spacing_h, g.shape[1])

    def at(c):
        return g[r1, c, mp] * (1 - fr) + g[r2, c, mp] * fr

    return at(c1) + (at(c2) - at(c1)) * fc


def covered(op, row: int, col: int, plane: int, image_hw) -> bool:
    t, left, b, r = op.top, op.left, op.bottom, op.right
    if b <= t or r <= left:
        t, left, b, r = 0, 0, *image_hw
    return (
        t <= row < b
        and left <= col < r
        and (row - t) % op.row_pitch == 0
        and (col - left) % op.col_pitch == 0
        and op.plane <= plane < op.plane + op.planes
    )


def reference(values: np.ndarray, ops, image_hw) -> np.ndarray:
    """x ∈ 0..1 (h, w, P) after ``ops``, pixel by pixel (module text of raw_opcodes)."""
    out = values.astype(np.float64).copy()
    h, w, planes = out.shape
    for op in ops:
        for i in range(h):
            for j in range(w):
                for p in range(planes):
                    if not covered(op, i, j, p, image_hw):
                        continue
                    x = out[i, j, p]
                    if isinstance(op, GainMap):
                        y = min(x * reference_gain(op, i, j, p, image_hw), 1.0)
                    elif isinstance(op, MapTable):
                        k = min(max(int(round(x * 65535)), 0), 65535)
                        y = op.table[min(k, op.table.size - 1)] / 65535.0
                    else:
                        y = min(sum(c * x**n for n, c in enumerate(op.coefficients)), 1.0)
                    out[i, j, p] = y
    return out


def _ops():
    rng = np.random.default_rng(3)
    gm = GainMap(3, 2, 37, 50, 0, 2, 2, 3, 0.3, 0.2, 0.05, -0.1, rng.uniform(0.5, 2.0, (4, 6, 2)))
    whole = GainMap(0, 0, 0, 0, 1, 2, 1, 1, 1.0, 1.0, 0.0, 0.0, np.full((1, 1, 1), 1.3))
    table = MapTable(0, 1, 40, 52, 0, 3, 1, 2, (np.sqrt(np.arange(4000) / 3999) * 65535).round())
    poly = MapPolynomial(5, 0, 30, 52, 2, 1, 1, 1, (0.01, 0.6, 0.5))
    return [gm, whole, table, poly]


def test_the_kernels_equal_the_equations():
    rng = np.random.default_rng(1)
    image_hw = (40, 52)
    x = rng.uniform(0.0, 0.95, (40, 52, 3)).astype(np.float32)
    ops = _ops()
    # the codec round trip on the way: what is applied is what a file would carry
    prepared = prepare_raw_opcodes(decode_opcode_list(encode_opcode_list(ops)), image_hw, planes=3)
    got = apply_raw_opcodes(x.copy(), prepared)
    want = reference(x, ops, image_hw)
    assert np.abs(got - want).max() < 2e-6
    assert np.abs(got - x).max() > 0.3  # the ops do change the values


def test_windows_with_a_cfa_unit_equal_the_whole_image():
    """Strip by strip at odd offsets, in units where white is a per-CFA-position gain (as the
    pipeline's levels step leaves them), equals the whole image in 0..1."""
    rng = np.random.default_rng(2)
    image_hw = (40, 52)
    x = rng.uniform(0.0, 0.95, (40, 52)).astype(np.float32)
    gains = rng.uniform(0.8, 1.6, (3, 5, 1))
    ops = [GainMap(i, j, 40, 52, 0, 1, 2, 2, 0.5, 0.25, 0.0, 0.0, gains * (1 + i + 2 * j)) for i in (0, 1) for j in (0, 1)]  # fmt: skip
    ops.append(MapPolynomial(0, 0, 0, 0, 0, 1, 1, 1, (0.0, 1.2, -0.2)))
    prepared = prepare_raw_opcodes(ops, image_hw)
    whole = apply_raw_opcodes(x.copy(), prepared)
    unit = np.array([[2.0, 1.0], [1.0, 1.5]], np.float32)[:, :, None]
    strips = []
    for a, b in ((0, 13), (13, 14), (14, 40)):
        for c, d in ((0, 7), (7, 52)):
            part = np.ascontiguousarray(x[a:b, c:d] * unit[(np.arange(a, b) & 1)[:, None], (np.arange(c, d) & 1)[None, :], 0])  # fmt: skip
            apply_raw_opcodes(part, prepared, window_rc=(a, c), unit=unit, parity=(a & 1, c & 1))
            strips.append(((a, b, c, d), part))
    for (a, b, c, d), part in strips:
        scale = unit[(np.arange(a, b) & 1)[:, None], (np.arange(c, d) & 1)[None, :], 0]
        assert np.abs(part / scale - whole[a:b, c:d]).max() < 2e-6


def test_the_dng_sdk_reads_our_gain_map_bytes(tmp_path):
    dngpy = pytest.importorskip("dngpy")
    gains = np.random.default_rng(4).uniform(0.9, 2.0, (5, 7, 1)).astype(np.float32)
    op = GainMap(0, 1, H, W, 0, 1, 2, 2, 0.25, 1 / 6, 0.0, 0.0, gains)
    path = write_cfa_dng(
        tmp_path / "g.dng", np.zeros((H, W), np.uint16), opcode_list_2=encode_opcode_list([op])
    )
    sdk = dngpy.Dng(str(path)).get_gainmap()
    assert (sdk.rows, sdk.cols, sdk.planes) == (5, 7, 1)
    assert (sdk.spacing_v, sdk.spacing_h, sdk.origin_v, sdk.origin_h) == (0.25, 1 / 6, 0.0, 0.0)
    assert np.array_equal(np.asarray(sdk.to_numpy()).reshape(gains.shape), gains)


def test_unknown_opcodes_in_list_2_warn_or_refuse():
    optional = UnknownOpcode(4, (1, 3, 0, 0), 1, b"\0" * 8)  # FixBadPixelsConstant
    with pytest.warns(RuntimeWarning, match=r"skipping optional opcode 4 \(FixBadPixelsConstant\)"):
        assert prepare_raw_opcodes([optional], (H, W)) is None
    required = UnknownOpcode(10, (1, 3, 0, 0), 0, b"")
    with pytest.raises(UnreadableFile, match=r"requires opcode 10 \(DeltaPerRow\)"):
        prepare_raw_opcodes([required], (H, W))


# --- end to end ---------------------------------------------------------------------------------


def _scene() -> np.ndarray:
    """Linear camera RGB (= linear sRGB for this file's colour matrix): six flat patches."""
    rgb = np.empty((H, W, 3))
    colours = [(0.40, 0.20, 0.10), (0.10, 0.30, 0.45), (0.18, 0.18, 0.18),
               (0.05, 0.40, 0.08), (0.45, 0.42, 0.12), (0.30, 0.30, 0.30)]  # fmt: skip
    for k, colour in enumerate(colours):
        i, j = divmod(k, 3)
        rgb[i * 48 : (i + 1) * 48, j * 43 : (j + 1) * 43 + (1 if j == 2 else 0)] = colour
    return rgb


def _shading_ops() -> list[GainMap]:
    """Four GainMaps, one per CFA position, correcting a fall-off to 1/1.6–1/2 in the corners
    that differs per colour (lens colour shading)."""
    v, h = np.meshgrid(np.linspace(-1, 1, 9), np.linspace(-1, 1, 11), indexing="ij")
    r2 = (v**2 + h**2) / 2
    ops = []
    for k, strength in enumerate((1.0, 0.8, 0.8, 0.6)):
        i, j = divmod(k, 2)
        gains = (1 + strength * r2)[:, :, None].astype(np.float32)
        ops.append(GainMap(i, j, H, W, 0, 1, 2, 2, 1 / 8, 1 / 10, 0.0, 0.0, gains))
    return ops


def _shaded_mosaic(x: np.ndarray, ops) -> np.ndarray:
    """Raw DN a sensor with the maps' inverse shading would give for x ∈ 0..1."""
    shaded = x.copy()
    for op in ops:
        for i in range(op.top, H, 2):
            for j in range(op.left, W, 2):
                shaded[i, j] /= reference_gain(op, i, j, 0, (H, W))
    return np.round(shaded * WHITE).astype(np.uint16)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gainmap")
    x = mosaic_of(_scene())
    ops = _shading_ops()
    flat = write_cfa_dng(folder / "flat.dng", np.round(x * WHITE), white=WHITE)
    shaded = write_cfa_dng(
        folder / "shaded.dng",
        _shaded_mosaic(x, ops),
        white=WHITE,
        opcode_list_2=encode_opcode_list(ops),
    )
    return flat, shaded


def _patch_means(rgb: np.ndarray) -> np.ndarray:
    """Mean of each patch's interior (6 px in from its edges), (6, 3)."""
    means = []
    for k in range(6):
        i, j = divmod(k, 3)
        means.append(rgb[i * 48 + 6 : (i + 1) * 48 - 6, j * 43 + 6 : (j + 1) * 43 - 6].mean((0, 1)))
    return np.array(means)


def test_gain_maps_undo_the_shading_they_describe(files):
    flat, shaded = files
    want = develop(flat, LINEAR).pixels
    got = develop(shaded, LINEAR).pixels
    assert np.abs(got - want).max() < 2e-3
    # Skipped, the corners stay up to 2× too dark: the test can fail.
    skipped = develop(shaded, NO_OPCODES).pixels
    assert (want[:4, :4] / skipped[:4, :4]).min() > 1.5


def test_gain_mapped_file_matches_libraw_on_the_unshaded_file(files):
    import rawpy

    flat, shaded = files
    with rawpy.imread(str(flat)) as raw:
        libraw = raw.postprocess(
            use_camera_wb=True, no_auto_bright=True, gamma=(1, 1), output_bps=16,
            output_color=rawpy.ColorSpace.sRGB,
        ).astype(np.float64) / 65535.0  # fmt: skip
    ours = develop(shaded, LINEAR).pixels.astype(np.float64)
    assert np.abs(_patch_means(ours) - _patch_means(libraw)).max() < 0.01
    assert np.abs(_patch_means(ours) - _patch_means(_scene())).max() < 0.005


@pytest.mark.parametrize("kind", ["MapPolynomial", "MapTable"])
def test_value_maps_linearise_the_raw_values(tmp_path, kind):
    """Raw values stored through the inverse of P(x) = 0.4x + 0.6x² come back linear when the
    file carries P as a MapPolynomial or as a 65536-entry MapTable."""
    x = mosaic_of(_scene())
    stored = (-0.4 + np.sqrt(0.16 + 2.4 * x)) / 1.2  # P(stored) = x
    if kind == "MapPolynomial":
        op = MapPolynomial(0, 0, H, W, 0, 1, 1, 1, (0.0, 0.4, 0.6))
        raw = np.round(stored * WHITE)
    else:
        k = np.arange(65536) / 65535.0
        op = MapTable(0, 0, H, W, 0, 1, 1, 1, np.round(65535 * (0.4 * k + 0.6 * k * k)))
        raw = np.round(stored * WHITE)
    flat = write_cfa_dng(tmp_path / "flat.dng", np.round(x * WHITE), white=WHITE)
    mapped = write_cfa_dng(
        tmp_path / "m.dng", raw, white=WHITE, opcode_list_2=encode_opcode_list([op])
    )
    want = _patch_means(develop(flat, LINEAR).pixels)
    got = _patch_means(develop(mapped, LINEAR).pixels)
    skipped = _patch_means(develop(mapped, NO_OPCODES).pixels)
    assert np.abs(got - want).max() < 2e-3
    assert np.abs(skipped - want).max() > 0.05


def test_an_optional_opcode_in_list_2_is_skipped_with_a_warning(files, tmp_path):
    flat, _ = files
    data = encode_opcode_list([UnknownOpcode(4, (1, 3, 0, 0), 1, b"\0" * 8)])
    path = write_cfa_dng(
        tmp_path / "u.dng",
        np.round(mosaic_of(_scene()) * WHITE),
        white=WHITE,
        opcode_list_2=data,
    )
    with pytest.warns(RuntimeWarning, match="skipping optional opcode 4"):
        got = develop(path, LINEAR).pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(got, develop(flat, LINEAR).pixels)


def test_a_rawframe_develops_with_the_lens_shading_its_dng_would_carry(tmp_path):
    """develop(RawFrame) (live view, the Camera API) describes the frame as the DNG writer
    would: the lens shading's GainMaps in OpcodeList2 too (they moved there from OpcodeList3's
    FixVignetteRadial), so a flat field comes out as flat as from the DNG."""
    from mountcam import Camera, SimulatedBackend
    from mountcam.develop.pipeline import rawframe_info
    from mountcam.dng.reader import read_dng
    from mountcam.dng.writer import write_dng
    from mountcam.scene import load_scene

    scene = load_scene("chart:flat", reflectance=0.5, luminance_cd_m2=200)
    camera = Camera(SimulatedBackend(scene, seed=1))
    camera.configure(crop=(512, 384))
    frame = camera.capture()
    stored = read_dng(write_dng(frame, tmp_path / "flat.dng"))
    described = rawframe_info(frame)
    assert stored.opcode_list_2 is not None
    assert described.opcode_list_2 == stored.opcode_list_2
    assert described.opcode_list_3 == stored.opcode_list_3
    rgb = develop(frame, LINEAR).pixels
    h, w = rgb.shape[:2]
    ratio = rgb[:30, :30].mean((0, 1)) / rgb[
        h // 2 - 20 : h // 2 + 20, w // 2 - 20 : w // 2 + 20
    ].mean((0, 1))
    assert np.abs(ratio - 1).max() < 0.01  # 0.97-0.98 without the GainMaps
