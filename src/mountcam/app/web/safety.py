"""What keeps the camera app safe to leave running: who may talk to it, which files a request
may name, and what an upload may be.

- **Binding** (:func:`check_bind`): loopback by default; any other address needs a token, or
  the server refuses to start (a camera on a café's Wi-Fi is not for everyone).
- **Tokens** (:func:`token_matches`): compared in constant time (``hmac.compare_digest``).
- **Origins** (:func:`origin_allowed`): a browser sends ``Origin`` with every cross-site
  request, so a state-changing request whose ``Origin`` is not the app's own is refused
  (the CSRF defence of the OWASP cheat sheet's "verifying origin with standard headers"); a
  script on the machine sends none and is let through. ``Host`` is checked as well on
  loopback, which stops DNS rebinding (a hostile name that resolves to 127.0.0.1 carries
  its own name in ``Host``).
- **File names** (:func:`capture_path`): a request names a capture by its bare name, which
  must match the camera's own pattern (``MTC_0001.dng``); the resolved path must lie in the
  captures folder and be a regular file, not a symbolic link (checked with ``lstat`` and
  opened with ``O_NOFOLLOW``), so neither ``../``, its percent-encodings, an absolute path nor
  a planted link can reach another file.
- **Uploads** (:func:`image_dimensions`): sizes come from the file's header, before any
  pixel is decoded, so a decompression bomb (a few kilobytes that decode to gigapixels) is
  refused without being decoded.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
import stat
import struct
from pathlib import Path

from mountcam.errors import InvalidSetting, UnreadableFile

#: What a capture's file may be called: a camera number, an optional counter, a known suffix.
CAPTURE_NAME = re.compile(r"^MTC_\d{4,9}(?:-\d{1,4})?\.(?:dng|jpg)$")
#: Largest accepted upload (an image and its depth map each), bytes.
MAX_UPLOAD_BYTES = 64 * 2**20
#: Largest accepted image, pixels (and per side): a scene is resampled to the sensor's grid
#: anyway, and a float RGB copy of 40 Mpx already takes ~0.5 GB.
MAX_UPLOAD_PIXELS = 40_000_000
MAX_UPLOAD_SIDE = 16384
#: Upload suffixes and what they hold.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr")
DEPTH_SUFFIXES = (".npy", ".png", ".tif", ".tiff")


class Refused(Exception):
    """A request the app will not carry out, with the HTTP status and a one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# ---- who may talk to it ---------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve on a non-loopback address without a token (raises InvalidSetting)."""
    if token is not None and len(token) < 8:
        raise InvalidSetting("an access token must be at least 8 characters long")
    if not is_loopback(host) and token is None:
        raise InvalidSetting(
            f"serving on {host} would let anyone on the network use the camera; "
            "give an access token, or serve on 127.0.0.1"
        )


def token_matches(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def loopback_hosts(port: int) -> frozenset[str]:
    """The ``Host`` values a browser on this machine sends to a loopback server."""
    return frozenset(
        {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
        | ({"127.0.0.1", "localhost", "[::1]"} if port == 80 else set())
    )


def origin_allowed(origin: str | None, host: str | None) -> bool:
    """A request's ``Origin`` is the app's own (``http(s)://`` + the ``Host`` it was sent
    to), or absent (a script). ``null`` (sandboxed frames, file:// pages) is foreign."""
    if origin is None:
        return True
    if host is None:
        return False
    return origin.lower() in (f"http://{host}".lower(), f"https://{host}".lower())


# ---- file names -----------------------------------------------------------------------------
def capture_path(folder: Path, name: str) -> Path:
    """The capture ``name`` in ``folder``: refused (404, and nothing touched) unless it is a
    camera file name, lies in the folder and is a regular file that is not a link."""
    if not CAPTURE_NAME.fullmatch(name):
        raise Refused(404, f"no capture called {name!r}")
    root = folder.resolve()
    path = root / name
    try:
        info = path.lstat()
    except OSError:
        raise Refused(404, f"no capture called {name!r}") from None
    if not stat.S_ISREG(info.st_mode) or path.resolve().parent != root:
        raise Refused(404, f"no capture called {name!r}")
    return path


def open_capture(path: Path):
    """Open a checked capture for reading without following a link planted meanwhile."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    return os.fdopen(fd, "rb")


# ---- uploads --------------------------------------------------------------------------------
def upload_suffix(filename: str | None, allowed: tuple[str, ...], what: str) -> str:
    """The suffix of an uploaded file's name (the name itself is never used on disk)."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in allowed:
        raise Refused(415, f"{what} must be one of {', '.join(allowed)} (got {filename!r})")
    return suffix


def image_dimensions(path: Path) -> tuple[int, int]:
    """(width, height) from the file's header alone (PNG, JPEG, TIFF, EXR, NumPy)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            import numpy as np

            with open(path, "rb") as f:
                version = np.lib.format.read_magic(f)
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, _, _ = read_header(f)
            if len(shape) < 2:
                raise UnreadableFile(f"a depth map is a 2-D array (got shape {shape})")
            return int(shape[1]), int(shape[0])
        if suffix == ".exr":
            from mountcam.scene.exr import read_header

            with open(path, "rb") as f:
                header = read_header(f.read(1 << 16))
            return header.width, header.height
        if suffix in (".tif", ".tiff"):
            import tifffile

            with tifffile.TiffFile(path) as tif:
                page = tif.pages[0]
                return int(page.imagewidth), int(page.imagelength)
        with open(path, "rb") as f:
            head = f.read(1 << 16)
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            return _png_size(head)
        if head.startswith(b"\xff\xd8"):
            return _jpeg_size(path)
        raise UnreadableFile(f"{path.suffix} file is neither PNG nor JPEG inside")
    except UnreadableFile:
        raise
    except Exception as exc:
        raise UnreadableFile(f"cannot read the image's header ({exc})") from None


def _png_size(head: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (PNG spec, 11.2.2): it must come first."""
    if head[12:16] != b"IHDR":
        raise UnreadableFile("the PNG does not start with its IHDR header")
    w, h = struct.unpack(">II", head[16:24])
    return w, h


#: JPEG start-of-frame markers (ITU T.81, B.1.1.3): SOF0-SOF15 but DHT, JPG and DAC.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(path: Path) -> tuple[int, int]:
    """Width and height from a JPEG's start-of-frame segment, walking the marker segments
    (ITU T.81, B.2.2) without decoding anything."""
    with open(path, "rb") as f:
        f.read(2)
        while True:
            marker = f.read(2)
            if len(marker) < 2 or marker[0] != 0xFF:
                raise UnreadableFile("the JPEG has no frame header")
            kind = marker[1]
            if kind == 0xFF:  # fill byte
                f.seek(-1, 1)
                continue
            if kind in (0x01, *range(0xD0, 0xD8)):  # markers without a length
                continue
            (length,) = struct.unpack(">H", f.read(2))
            if kind in _SOF_MARKERS:
                _, h, w = struct.unpack(">BHH", f.read(5))
                return w, h
            if kind == 0xD9 or length < 2:
                raise UnreadableFile("the JPEG has no frame header")
            f.seek(length - 2, 1)


def check_dimensions(path: Path) -> tuple[int, int]:
    """Refuse (413) an image larger than :data:`MAX_UPLOAD_PIXELS` or :data:`MAX_UPLOAD_SIDE`."""
    w, h = image_dimensions(path)
    if w <= 0 or h <= 0:
        raise Refused(400, f"the image declares an empty {w}x{h} picture")
    if w > MAX_UPLOAD_SIDE or h > MAX_UPLOAD_SIDE or w * h > MAX_UPLOAD_PIXELS:
        raise Refused(
            413,
            f"the image is {w}x{h} ({w * h / 1e6:.0f} Mpx); the camera app takes up to "
            f"{MAX_UPLOAD_PIXELS / 1e6:.0f} Mpx and {MAX_UPLOAD_SIDE} pixels a side",
        )
    return w, h
