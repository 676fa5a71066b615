"""ICC v4 display profiles for the output colour spaces: sRGB, Display P3, linear Rec.709.

Each profile is a matrix/TRC RGB display profile as ICC.1:2010 (profile version 4.3) defines
it (§7 header and tag table, §9 tags, §10 tag types), built byte by byte:

- header (§7.2): class ``mntr``, data colour space ``RGB ``, PCS ``XYZ ``, PCS illuminant D50,
  and the profile ID, the MD5 of the profile with the flags, rendering intent and ID fields set
  to zero (§7.2.18);
- ``desc``, ``cprt``: multiLocalizedUnicodeType (§10), English;
- ``wtpt``: the PCS white D50, as v4 asks of display profiles (§9.2);
- ``chad`` (§9.2, Annex E): the Bradford adaptation from the colour space's white (D65) to D50;
- ``rXYZ``/``gXYZ``/``bXYZ``: the primaries' XYZ adapted to D50 with that same matrix, so
  that R + G + B = D50;
- ``rTRC``/``gTRC``/``bTRC``: parametricCurveType (§10). sRGB and Display P3 use function
  type 3 with IEC 61966-2-1's constants (γ 2.4, a = 1/1.055, b = 0.055/1.055, c = 1/12.92,
  d = 0.04045); linear Rec.709 uses type 0 with γ = 1.

Primaries and white (CIE 1931 xy): ITU-R BT.709 / IEC 61966-2-1 for sRGB and linear Rec.709;
SMPTE EG 432-1 (DCI-P3 primaries) with the D65 white for Display P3 (Apple's definition).
"""

from __future__ import annotations

import hashlib
import struct
from functools import cache

import numpy as np

from mountcam.errors import InvalidSetting

#: D50, the ICC PCS illuminant, as ICC.1 §7.2.16 encodes it (s15Fixed16 0xF6D6, 0x10000, 0xD32D).
D50_XYZ = (0.9642, 1.0, 0.8249)
D65_XY = (0.3127, 0.3290)
#: Bradford cone response matrix (Lam 1985; ICC.1 Annex E).
BRADFORD = np.array(
    [
        [0.8951, 0.2664, -0.1614],
        [-0.7502, 1.7135, 0.0367],
        [0.0389, -0.0685, 1.0296],
    ]
)
SRGB_TRC = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)

#: name -> (description, primaries xy (R, G, B), white xy, parametric curve (type, params)).
SPACES: dict[str, tuple[str, tuple, tuple[float, float], tuple[int, tuple[float, ...]]]] = {
    "srgb": (
        "sRGB IEC61966-2.1 (mountcam)",
        ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06)),
        D65_XY,
        (3, SRGB_TRC),
    ),
    "display-p3": (
        "Display P3 (mountcam)",
        ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)),
        D65_XY,
        (3, SRGB_TRC),
    ),
    "linear-rec709": (
        "Linear Rec.709 / sRGB primaries, D65 (mountcam)",
        ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06)),
        D65_XY,
        (0, (1.0,)),
    ),
}
COPYRIGHT = "No copyright, use freely (CC0)."


def _xy_to_xyz(xy: tuple[float, float]) -> np.ndarray:
    x, y = xy
    return np.array([x / y, 1.0, (1 - x - y) / y])


def rgb_to_xyz_matrix(name: str) -> np.ndarray:
    """3×3 linear RGB -> XYZ (Y of white = 1) of colour space ``name``, at its own white
    (SMPTE RP 177 derivation: the primaries' columns scaled so that RGB (1, 1, 1) is white)."""
    _, primaries, white, _ = _space(name)
    cols = np.stack([_xy_to_xyz(p) for p in primaries], axis=1)
    scale = np.linalg.solve(cols, _xy_to_xyz(white))
    return cols * scale


def bradford(src_xyz, dst_xyz) -> np.ndarray:
    """Bradford chromatic adaptation matrix (XYZ -> XYZ) from white ``src_xyz`` to ``dst_xyz``."""
    src = BRADFORD @ np.asarray(src_xyz, float)
    dst = BRADFORD @ np.asarray(dst_xyz, float)
    return np.linalg.inv(BRADFORD) @ np.diag(dst / src) @ BRADFORD


def _space(name: str):
    try:
        return SPACES[name]
    except KeyError:
        raise InvalidSetting(
            f"no ICC profile for colour space {name!r}; choose one of {', '.join(SPACES)}"
        ) from None


def _s15f16(values) -> bytes:
    return b"".join(struct.pack(">i", round(float(v) * 65536)) for v in values)


def _xyz_tag(xyz) -> bytes:
    return b"XYZ " + bytes(4) + _s15f16(xyz)


def _mluc(text: str) -> bytes:
    body = text.encode("utf-16-be")
    # type signature, reserved, record count, record size, then one record: en-US, length,
    # offset from the start of the tag (16 header bytes + 12 record bytes = 28).
    return b"mluc" + bytes(4) + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(body), 28) + body


def _para(kind: int, params: tuple[float, ...]) -> bytes:
    return b"para" + bytes(4) + struct.pack(">HH", kind, 0) + _s15f16(params)


@cache
def icc_profile(name: str) -> bytes:
    """The ICC v4.3 profile bytes for colour space ``name`` ("srgb", "display-p3",
    "linear-rec709")."""
    description, _, white, (kind, params) = _space(name)
    white_xyz = _xy_to_xyz(white)
    chad = bradford(white_xyz, D50_XYZ)
    colorants = chad @ rgb_to_xyz_matrix(name)
    trc = _para(kind, params)
    tags: list[tuple[bytes, bytes]] = [
        (b"desc", _mluc(description)),
        (b"cprt", _mluc(COPYRIGHT)),
        (b"wtpt", _xyz_tag(D50_XYZ)),
        (b"chad", b"sf32" + bytes(4) + _s15f16(chad.ravel())),
        (b"rXYZ", _xyz_tag(colorants[:, 0])),
        (b"gXYZ", _xyz_tag(colorants[:, 1])),
        (b"bXYZ", _xyz_tag(colorants[:, 2])),
        (b"rTRC", trc),
        (b"gTRC", trc),
        (b"bTRC", trc),
    ]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    entries, blobs, placed = [], [], {}
    for sig, data in tags:
        if data not in placed:  # the three TRCs share one copy (§7.3.5 allows it)
            placed[data] = offset
            padded = data + bytes(-len(data) % 4)
            blobs.append(padded)
            offset += len(padded)
        entries.append(struct.pack(">4sII", sig, placed[data], len(data)))
    size = offset
    header = bytearray(128)
    struct.pack_into(
        ">I4sI4s4s4s", header, 0, size, b"\0\0\0\0", 0x04300000, b"mntr", b"RGB ", b"XYZ "
    )
    struct.pack_into(">6H", header, 24, 2026, 1, 1, 0, 0, 0)  # fixed: identical bytes each run
    header[36:40] = b"acsp"
    header[68:80] = _s15f16(D50_XYZ)
    header[80:84] = b"mcam"
    profile = bytearray(header + struct.pack(">I", len(tags)) + b"".join(entries) + b"".join(blobs))
    # Profile ID (§7.2.18): MD5 with flags (44), rendering intent (64) and the ID (84) zeroed;
    # all three are zero here already.
    profile[84:100] = hashlib.md5(bytes(profile)).digest()
    return bytes(profile)
