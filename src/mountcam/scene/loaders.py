"""Image files as scene content: PNG, JPEG, TIFF and OpenEXR, plus optional depth maps.

Pixel values become linear-sRGB *reflectance* (1.0 = perfect diffuse white):

- 8- and 16-bit PNG, JPEG and TIFF are taken as sRGB-encoded (IEC 61966-2-1): code values are
  scaled to [0, 1] (by 255 or 65535) and the sRGB transfer function is decoded. Embedded ICC
  profiles and PNG gAMA chunks are ignored.
- Floating-point TIFF (16/32/64-bit) and OpenEXR are taken as already linear; values above 1
  are emitters or speculars. NaN becomes 0, +inf 65504 (the half-float maximum). OpenEXR is
  read by :mod:`mountcam.scene.exr` (scanline, NONE/RLE/ZIPS/ZIP); other EXR compressions go
  through OpenCV when its build has OpenEXR, else are refused with a way out.

Grey images become three equal channels, alpha is dropped, JPEG EXIF orientation is applied.
Anything that is missing, truncated, corrupt or not an image raises
:class:`~mountcam.errors.UnreadableFile`; images above :data:`MAX_PIXELS` are refused before
they are decoded.

Depth maps (:func:`load_depth`): ``.npy`` in metres, 16-bit PNG in millimetres (0 = unknown),
float TIFF in metres. Depth is distance along the optical axis (Z), NaN where unknown.
"""

from __future__ import annotations

import math
import os
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mountcam.errors import SceneError, UnreadableFile
from mountcam.scene.depth_fill import fill_depth_holes
from mountcam.scene.scene import RgbSample, ViewGrid

#: Beyond its edges a picture goes on as its mirror image, fading to its mean colour with this
#: e-folding distance (a fraction of its shorter side).
SURROUND_FADE = 0.25
#: Largest image accepted, in pixels (a 200 Mpx float RGB image is 2.4 GB in memory).
MAX_PIXELS = 200_000_000
ACCEPTED = "PNG, JPEG or TIFF (8/16-bit, sRGB-encoded; or float TIFF, linear) or OpenEXR (linear)"
ACCEPTED_DEPTH = ".npy (metres), 16-bit PNG (millimetres, 0 = unknown) or float TIFF (metres)"

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_EXR_MAGIC = b"\x76\x2f\x31\x01"
_HALF_MAX = 65504.0


# --------------------------------------------------------------------------------------------
# sRGB transfer function (IEC 61966-2-1)
# --------------------------------------------------------------------------------------------


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1] -> linear (IEC 61966-2-1 piecewise EOTF), float32."""
    v = np.asarray(encoded, dtype=np.float64)
    linear = np.where(v <= 0.04045, v / 12.92, ((np.maximum(v, 0.04045) + 0.055) / 1.055) ** 2.4)
    return linear.astype(np.float32)


def _decode_integer(pixels: np.ndarray) -> np.ndarray:
    """uint8 / uint16 sRGB code values -> linear float32 via a lookup table (exact per code)."""
    levels = np.iinfo(pixels.dtype).max
    table = srgb_decode(np.arange(levels + 1, dtype=np.float64) / levels)
    return table[pixels]


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------


def _unreadable(path: Path, why: str) -> UnreadableFile:
    return UnreadableFile(f"cannot read image '{path}': {why}; accepted: {ACCEPTED}")


def _check_size(path: Path, width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise _unreadable(path, f"it declares an empty {width}x{height} image")
    if width * height > MAX_PIXELS:
        raise UnreadableFile(
            f"image '{path}' is {width}x{height} ({width * height / 1e6:.0f} Mpx); the limit is "
            f"{MAX_PIXELS / 1e6:.0f} Mpx, downscale it first"
        )


def _read_png(path: Path, data: bytes) -> np.ndarray:
    import cv2

    if len(data) < 24 or data[12:16] != b"IHDR":
        raise _unreadable(path, "the PNG header is damaged")
    width, height = struct.unpack(">II", data[16:24])
    _check_size(path, width, height)
    pixels = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise _unreadable(path, "the PNG data is truncated or corrupt")
    if pixels.ndim == 3:  # OpenCV hands back BGR / BGRA
        pixels = pixels[..., 2::-1] if pixels.shape[2] >= 3 else pixels[..., :1]
    return pixels


def _read_jpeg(path: Path) -> np.ndarray:
    # Pillow, not OpenCV: libjpeg only *warns* about a truncated file and OpenCV then returns a
    # half-grey image; Pillow raises. Pillow's own decompression-bomb guard (~179 Mpx) also
    # applies to JPEG.
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path, formats=("JPEG",)) as image:
                _check_size(path, *image.size)
                image.load()
                image = ImageOps.exif_transpose(image)
                if image.mode not in ("L", "RGB"):
                    image = image.convert("RGB")
                return np.asarray(image)
    except UnreadableFile:
        raise
    except Image.DecompressionBombError:
        raise UnreadableFile(
            f"image '{path}' is too large for the JPEG decoder (about 179 Mpx at most); "
            "downscale it first"
        ) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise _unreadable(path, f"the JPEG data is truncated or corrupt ({exc})") from None


def _read_tiff(path: Path) -> np.ndarray:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            shape = dict(zip(page.axes, page.shape, strict=True))
            _check_size(path, shape.get("X", 0), shape.get("Y", 0))
            pixels = page.asarray()
            axes = page.axes
            if page.photometric == tifffile.PHOTOMETRIC.PALETTE:
                pixels, axes = page.asrgb(), "YXS"
    except UnreadableFile:
        raise
    except Exception as exc:  # tifffile raises many kinds for damaged files
        raise _unreadable(path, f"the TIFF data is truncated or corrupt ({exc})") from None
    # Bring to (Y, X[, S]); drop any other leading axes of size 1.
    order = [axes.index(a) for a in "YXS" if a in axes]
    others = [i for i, a in enumerate(axes) if a not in "YXS"]
    if any(pixels.shape[i] != 1 for i in others):
        raise _unreadable(path, f"it holds a {axes} stack, not a single image")
    pixels = np.transpose(pixels, others + order).reshape([pixels.shape[i] for i in order])
    return pixels


def _read_exr(path: Path, data: bytes) -> np.ndarray:
    from mountcam.scene import exr

    try:
        header = exr.read_header(data)
        _check_size(path, header.width, header.height)
        return exr.decode(data, header)
    except exr.ExrError as exc:
        raise _unreadable(path, str(exc)) from None


def read_linear_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as linear-sRGB reflectance, (H, W, 3) float32.

    See the module docstring for the formats and how each is interpreted.
    """
    file = Path(path)
    if not file.exists():
        raise UnreadableFile(f"no such file: '{file}'")
    if not file.is_file():
        raise UnreadableFile(f"'{file}' is not a file; give an image file ({ACCEPTED})")
    try:
        with open(file, "rb") as handle:
            head = handle.read(8)
            data = head + handle.read() if head.startswith((_PNG_MAGIC, _EXR_MAGIC)) else b""
    except OSError as exc:
        raise UnreadableFile(f"cannot read '{file}': {exc.strerror or exc}") from None

    if head.startswith(_PNG_MAGIC):
        pixels = _read_png(file, data)
    elif head.startswith(_JPEG_MAGIC):
        pixels = _read_jpeg(file)
    elif head.startswith(_TIFF_MAGICS):
        pixels = _read_tiff(file)
    elif head.startswith(_EXR_MAGIC):
        pixels = _read_exr(file, data)
    elif not head:
        raise _unreadable(file, "the file is empty")
    else:
        raise _unreadable(file, "it is not an image in a format mountcam reads")
    return _to_linear_rgb(file, pixels)


def _to_linear_rgb(path: Path, pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4) or pixels.size == 0:
        raise _unreadable(path, f"unexpected pixel layout {pixels.shape}")
    # 1 = grey, 2 = grey + alpha, 3 = RGB, 4 = RGBA (alpha is dropped).
    pixels = pixels[:, :, :1] if pixels.shape[2] <= 2 else pixels[:, :, :3]
    if pixels.dtype in (np.uint8, np.uint16):
        linear = _decode_integer(pixels)
    elif pixels.dtype == np.bool_:
        linear = pixels.astype(np.float32)
    elif np.issubdtype(pixels.dtype, np.floating):
        linear = np.nan_to_num(
            pixels.astype(np.float32), nan=0.0, posinf=_HALF_MAX, neginf=-_HALF_MAX
        )
    else:
        raise _unreadable(path, f"{pixels.dtype} samples are not supported (use 8/16-bit or float)")
    if linear.shape[2] == 1:
        linear = np.repeat(linear, 3, axis=2)
    return np.ascontiguousarray(linear, dtype=np.float32)


# --------------------------------------------------------------------------------------------
# Depth maps
# --------------------------------------------------------------------------------------------


def load_depth(path: str | os.PathLike) -> np.ndarray:
    """Read a depth map: (H, W) float32 metres along the optical axis, NaN where unknown.

    ``.npy``: float metres. 16-bit PNG: millimetres (so 0.001-65.535 m), 0 = unknown. Float
    TIFF: metres. Non-finite and non-positive values mean "unknown" and become NaN.
    """
    file = Path(path)
    if not file.exists():
        raise UnreadableFile(f"no such depth file: '{file}'")
    suffix = file.suffix.lower()
    try:
        if suffix == ".npy":
            depth = np.load(file, allow_pickle=False)
            if depth.ndim == 3 and depth.shape[2] == 1:
                depth = depth[:, :, 0]
            if depth.ndim != 2 or not (
                np.issubdtype(depth.dtype, np.floating) or np.issubdtype(depth.dtype, np.integer)
            ):
                raise SceneError(
                    f"depth '{file}' must be a 2-D array of metres; got {depth.dtype} {depth.shape}"
                )
            depth = depth.astype(np.float32)
        elif suffix == ".png":
            import cv2

            raw = cv2.imdecode(np.fromfile(file, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
            if raw is None:
                raise UnreadableFile(f"cannot read depth '{file}': truncated or not a PNG")
            if raw.dtype != np.uint16 or raw.ndim != 2:
                raise SceneError(
                    f"depth PNG '{file}' must be single-channel 16-bit (millimetres); got "
                    f"{raw.dtype} with shape {raw.shape}"
                )
            depth = raw.astype(np.float32) / 1000.0
        elif suffix in (".tif", ".tiff"):
            import tifffile

            depth = np.squeeze(tifffile.imread(file))
            if depth.ndim != 2 or not np.issubdtype(depth.dtype, np.floating):
                raise SceneError(f"depth TIFF '{file}' must be a single float channel (metres)")
            depth = depth.astype(np.float32)
        else:
            raise UnreadableFile(f"cannot read depth '{file}'; accepted: {ACCEPTED_DEPTH}")
    except (SceneError, UnreadableFile):
        raise
    except Exception as exc:
        raise UnreadableFile(
            f"cannot read depth '{file}' ({exc}); accepted: {ACCEPTED_DEPTH}"
        ) from None
    depth[~(np.isfinite(depth) & (depth > 0))] = np.nan
    return depth


# --------------------------------------------------------------------------------------------
# Image content
# --------------------------------------------------------------------------------------------


def _box_matrix(n_out: int, first: float, step: float, n_in: int):
    """Sparse (n_out, n_in) weights: overlap of output apertures with input pixels / step.

    Output pixel ``i`` is centred at input coordinate ``first + i * step`` (input pixel ``j``
    covers ``[j - 0.5, j + 0.5]``); parts of an aperture outside the image contribute 0.
    """
    from scipy import sparse

    centres = first + step * np.arange(n_out) + 0.5  # in edge coordinates: pixel j = [j, j+1]
    lo, hi = centres - 0.5 * step, centres + 0.5 * step
    span = int(math.ceil(step)) + 2
    cols = np.floor(lo).astype(np.int64)[:, None] + np.arange(span)[None, :]
    overlap = np.minimum(hi[:, None], cols + 1.0) - np.maximum(lo[:, None], cols)
    keep = (overlap > 0) & (cols >= 0) & (cols < n_in)
    rows = np.broadcast_to(np.arange(n_out)[:, None], cols.shape)
    return sparse.csr_matrix(
        ((overlap[keep] / step).astype(np.float32), (rows[keep], cols[keep])),
        shape=(n_out, n_in),
    )


@dataclass
class ImageContent:
    """An image (linear-sRGB reflectance) spanning u in [-1, 1] and v in [-aspect, aspect].

    ``rgb`` is (H, W, 3) float32; ``depth_m`` optional (H, W) float32 metres. Holes in the
    depth map (NaN) are filled when the content is made (:mod:`mountcam.scene.depth_fill`:
    edge-aware, from the farther side), and ``depth_filled_fraction`` says how much was
    filled. Rendering:
    where output pixels are larger than image pixels the image (as little squares) is
    box-filtered exactly over each output aperture (separable sparse weights, any non-integer
    scale and offset); otherwise it is interpolated bilinearly (``cv2.warpAffine``). Outside
    the image: its mirror image fading to its mean colour (e-folding over
    :data:`SURROUND_FADE` of its shorter side), then the mean, never black; depth likewise
    fades to the farthest depth. Depth is resampled nearest-neighbour (averaging depths across
    an occlusion edge would invent surfaces that are not there).
    """

    rgb: np.ndarray
    depth_m: np.ndarray | None = None
    source: str = ""
    aspect: float = field(init=False)
    #: Fraction of the depth map's pixels that had no depth and were filled (0 without holes).
    depth_filled_fraction: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        rgb = np.asarray(self.rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
            raise SceneError(f"image content must be (H, W, 3); got {rgb.shape}")
        self.rgb = np.ascontiguousarray(rgb, dtype=np.float32)
        if self.depth_m is not None:
            depth = np.asarray(self.depth_m, dtype=np.float32)
            if depth.shape != rgb.shape[:2]:
                raise SceneError(
                    f"depth map is {depth.shape[1]}x{depth.shape[0]} but the image is "
                    f"{rgb.shape[1]}x{rgb.shape[0]}; they must be the same size"
                )
            if not np.isfinite(depth).any():
                raise SceneError("the depth map has no valid depth (all unknown)")
            self.depth_m, self.depth_filled_fraction = fill_depth_holes(depth, self.rgb)
        self.aspect = rgb.shape[0] / rgb.shape[1]

    def info(self) -> dict:
        """How the content was made, for a capture's metadata (see :meth:`Scene.info`)."""
        info: dict = {
            "source": self.source,
            "size_px": [self.width, self.height],
            "surround": f"mirrored, fading to the mean colour over {SURROUND_FADE:g} of the "
            "shorter side; the mean beyond",
        }
        if self.depth_m is not None:
            info["depth_filled_fraction"] = round(self.depth_filled_fraction, 6)
        return info

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    def _to_pixels(self, grid: ViewGrid) -> tuple[float, float, float]:
        """Image-pixel coordinates of output pixel (0, 0) and the output step in image pixels."""
        k = self.width / 2.0  # image pixels per canvas unit
        return (
            k * grid.x0 + self.width / 2.0 - 0.5,
            k * grid.y0 + self.height / 2.0 - 0.5,
            k * grid.step,
        )

    def render(self, grid: ViewGrid) -> RgbSample:
        px0, py0, step = self._to_pixels(grid)
        # Where the view reaches beyond the picture, the picture goes on as its mirror image
        # fading into a wall of its mean colour (never black): render from the picture grown
        # by a mirrored margin, the mean beyond that.
        image, depth, pad = self._extended(grid, px0, py0, step)
        px0, py0 = px0 + pad, py0 + pad
        if step > 1.0:
            rgb = self._render_box(image, grid, px0, py0, step)
        else:
            rgb = self._render_bilinear(image, grid, px0, py0, step)
        rendered_depth = None
        if depth is not None:
            rendered_depth = self._render_depth(depth, grid, px0, py0, step)
        return RgbSample(rgb=rgb, depth_m=rendered_depth)

    def _mean(self) -> np.ndarray:
        return self.rgb.reshape(-1, 3).mean(axis=0)

    def _extended(self, grid: ViewGrid, px0: float, py0: float, step: float):
        """(picture, depth, margin): the picture as is when the view stays inside it, else grown
        by a mirrored margin (up to :data:`SURROUND_FADE_PX` × 3) fading to its mean colour
        and, for depth, to its farthest depth."""
        x_lo, x_hi = px0 - step, px0 + step * grid.width
        y_lo, y_hi = py0 - step, py0 + step * grid.height
        if x_lo >= -0.5 and y_lo >= -0.5 and x_hi <= self.width - 0.5 and y_hi <= self.height - 0.5:
            return self.rgb, self.depth_m, 0
        fade = SURROUND_FADE * min(self.width, self.height)
        need = max(-x_lo, -y_lo, x_hi - self.width, y_hi - self.height, 1.0)
        pad = int(min(math.ceil(need) + 2, math.ceil(3.0 * fade) + 2))
        mean = self._mean()
        grown = np.pad(self.rgb, ((pad, pad), (pad, pad), (0, 0)), mode="symmetric")
        ys = np.arange(-pad, self.height + pad)
        xs = np.arange(-pad, self.width + pad)
        dy = np.maximum(np.maximum(-ys, ys - (self.height - 1)), 0)
        dx = np.maximum(np.maximum(-xs, xs - (self.width - 1)), 0)
        weight = np.exp(-np.hypot(dy[:, None], dx[None, :]) / fade).astype(np.float32)
        grown = mean + (grown - mean) * weight[..., None]
        depth = None
        if self.depth_m is not None:
            far = float(np.max(self.depth_m))
            depth = np.pad(self.depth_m, pad, mode="symmetric")
            depth = (far + (depth - far) * weight).astype(np.float32)
        return np.ascontiguousarray(grown, dtype=np.float32), depth, pad

    def _render_box(self, image, grid: ViewGrid, px0: float, py0: float, step: float):
        h, w = image.shape[:2]
        wy = _box_matrix(grid.height, py0, step, h)
        wx = _box_matrix(grid.width, px0, step, w)
        rows = wy @ image.reshape(h, w * 3)  # (H_out, W_in * 3)
        cols = rows.reshape(grid.height, w, 3).transpose(1, 0, 2).reshape(w, grid.height * 3)
        out = (wx @ cols).reshape(grid.width, grid.height, 3).transpose(1, 0, 2)
        # The part of each aperture beyond the grown picture sees the picture's mean.
        inside = np.asarray(wy.sum(axis=1)).ravel()[:, None] * np.asarray(wx.sum(axis=1)).ravel()
        if image is not self.rgb:
            out = out + np.maximum(1.0 - inside, 0.0)[..., None] * self._mean()
        return np.ascontiguousarray(out, dtype=np.float32)

    def _render_bilinear(self, image, grid: ViewGrid, px0: float, py0: float, step: float):
        import cv2

        matrix = np.array([[step, 0.0, px0], [0.0, step, py0]])
        border = (0.0, 0.0, 0.0, 0.0)
        if image is not self.rgb:
            border = (*(float(m) for m in self._mean()), 0.0)
        return cv2.warpAffine(
            image,
            matrix,
            (grid.width, grid.height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=border,
        )

    def _render_depth(self, depth, grid: ViewGrid, px0: float, py0: float, step: float):
        h, w = depth.shape
        cols = np.floor(px0 + step * np.arange(grid.width) + 0.5).astype(np.int64)
        rows = np.floor(py0 + step * np.arange(grid.height) + 0.5).astype(np.int64)
        # Beyond the grown picture: the farthest depth of the scene.
        out = np.full((grid.height, grid.width), np.max(depth), dtype=np.float32)
        col_ok = (cols >= 0) & (cols < w)
        row_ok = (rows >= 0) & (rows < h)
        if col_ok.any() and row_ok.any():
            out[np.ix_(row_ok, col_ok)] = depth[np.ix_(rows[row_ok], cols[col_ok])]
        return out


def load_image_content(
    path: str | os.PathLike, depth_path: str | os.PathLike | None = None
) -> ImageContent:
    """An image file (and optionally its depth map) as scene content; ``aspect = h / w``."""
    rgb = read_linear_rgb(path)
    depth = load_depth(depth_path) if depth_path is not None else None
    if depth is not None and depth.shape != rgb.shape[:2]:
        raise SceneError(
            f"depth map '{depth_path}' is {depth.shape[1]}x{depth.shape[0]} but image '{path}' "
            f"is {rgb.shape[1]}x{rgb.shape[0]}; they must be the same size"
        )
    return ImageContent(rgb=rgb, depth_m=depth, source=str(path))
