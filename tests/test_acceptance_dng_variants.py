"""Acceptance 1 and 2 over every DNG variant the camera writes.

Variants: module main | m (a Summicron-M 28 at f/2.8 on the M mount), readout binned | full,
ADC 10 | 12 | 14 bit, raw uncompressed | lossless JPEG, with | without lens opcodes
(OpcodeList3). The twin simulates each (module, mode, bits) once, on a small centred window,
and every capture is then written in all four file variants.

1. The Adobe DNG SDK (dngpy) opens each file with no warning and no error; its validator's
   C-level output is captured (see ``test_dng_sdk_helpers``).
2. LibRaw (rawpy) and tifffile decode exactly the DN values written.
"""

from __future__ import annotations

import inspect
import itertools
import math

import numpy as np
import pytest
import rawpy
import tifffile

from mountcam.dng import write_dng
from test_dng_sdk_helpers import sdk_validate

CAPTURES = list(itertools.product(("main", "m"), ("binned", "full"), (10, 12, 14)))
COMPRESSIONS = ("none", "ljpeg")
#: Lens opcodes need write_dng's ``lens_profile`` (and the lens the body believes in).
OPCODES = (False, True) if "lens_profile" in inspect.signature(write_dng).parameters else (False,)
CROP = (160, 120)


def _capture(module: str, mode: str, bits: int):
    """One frame from the twin, and the lens the body believes is attached (as `shoot`)."""
    from conftest import twin_capture

    m = module == "m"
    _, (frame,) = twin_capture(
        "chart:colorchecker",
        module=module,
        mode=mode,
        bits=bits,
        exposure_s=1 / 250,
        iso=400,
        lens="summicron-m-28" if m else None,
        f_number=2.8 if m else None,
        crop=CROP,
        seed=11,
        focus_m=math.inf,
    )
    return frame, frame.lens, frame.lens_state, frame.calibration


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    """{(module, mode, bits, compression, opcodes): (path, frame)} for every variant."""
    out = {}
    for module, mode, bits in CAPTURES:
        frame, profile, state, calibration = _capture(module, mode, bits)
        folder = tmp_path_factory.mktemp(f"{module}-{mode}-{bits}")
        for compression, opcodes in itertools.product(COMPRESSIONS, OPCODES):
            lens = {"lens_profile": profile if opcodes else None, "lens_state": state}
            path = write_dng(
                frame,
                folder / f"{compression}-{int(opcodes)}.dng",
                calibration=calibration,
                compression=compression,
                **lens,
            )
            out[(module, mode, bits, compression, opcodes)] = (path, frame)
    return out


KEYS = [
    pytest.param(*c, comp, op, id=f"{c[0]}-{c[1]}-{c[2]}bit-{comp}-{'opcodes' if op else 'plain'}")
    for c in CAPTURES
    for comp in COMPRESSIONS
    for op in OPCODES
]


@pytest.mark.parametrize("module, mode, bits, compression, opcodes", KEYS)
def test_dng_sdk_opens_every_variant_without_warning(
    variants, module, mode, bits, compression, opcodes
):
    dngpy = pytest.importorskip("dngpy")
    path, frame = variants[(module, mode, bits, compression, opcodes)]
    assert sdk_validate(dngpy, path) == []
    pixels = dngpy.Dng(str(path)).raw_pixels
    assert np.array_equal(np.asarray(pixels).reshape(frame.mosaic.shape), frame.mosaic)


@pytest.mark.parametrize("module, mode, bits, compression, opcodes", KEYS)
def test_libraw_and_tifffile_decode_the_dn_written(
    variants, module, mode, bits, compression, opcodes
):
    path, frame = variants[(module, mode, bits, compression, opcodes)]
    assert frame.mosaic.shape == (CROP[1], CROP[0])
    assert 0 < frame.mosaic.max() <= 2**bits - 1
    with rawpy.imread(str(path)) as raw:
        assert np.array_equal(raw.raw_image, frame.mosaic)
        assert raw.white_level == 2**bits - 1
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0].pages[0]
        assert page.compression == (7 if compression == "ljpeg" else 1)
        assert page.is_tiled == (compression == "ljpeg")
        assert np.array_equal(page.asarray(), frame.mosaic)
        assert (51022 in page.tags) == opcodes  # OpcodeList3
