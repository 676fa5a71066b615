"""What :func:`~mountcam.develop.develop` reads: a DNG path, a DngInfo, or a RawFrame, each as a
:class:`~mountcam.dng.reader.DngInfo`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from mountcam.dng.calibration import BASELINE_EXPOSURE_EV, ColorCalibration, calibrate_dual
from mountcam.dng.reader import DngInfo, read_dng
from mountcam.sensor.rawframe import RawFrame


def as_dng_info(raw_or_path: Any, calibration: ColorCalibration | None = None) -> DngInfo:
    """``raw_or_path`` as a DngInfo: read from a path, passed through, or described from a
    RawFrame (:func:`rawframe_info`, with ``calibration``)."""
    if isinstance(raw_or_path, DngInfo):
        return raw_or_path
    if isinstance(raw_or_path, RawFrame):
        return rawframe_info(raw_or_path, calibration)
    if isinstance(raw_or_path, str | os.PathLike):
        return read_dng(raw_or_path)
    raise TypeError(
        f"develop needs a DNG path, a DngInfo or a RawFrame, not {type(raw_or_path).__name__}"
    )


def rawframe_info(frame: RawFrame, calibration: ColorCalibration | None = None) -> DngInfo:
    """A :class:`~mountcam.dng.reader.DngInfo` describing a RawFrame exactly as the DNG writer
    would (same DefaultCrop margin, colour calibration, neutral, lens corrections of the lens
    the frame believes in), without writing a file. ``calibration``: by default the frame's
    own, else the one the CLI writes into DNGs of the frame's sensor."""
    from mountcam.dng.writer import DEMOSAIC_MARGIN_PX

    md = frame.metadata
    if calibration is None:
        calibration = frame.calibration
    cal = calibration if calibration is not None else sensor_calibration(md.sensor)
    h, w = frame.mosaic.shape
    m = DEMOSAIC_MARGIN_PX
    info = DngInfo(
        path=Path(f"<RawFrame {md.module} #{md.frame_index}>"),
        mosaic=frame.mosaic,
        cfa_pattern=frame.cfa_pattern,
        black_level_dn=tuple(float(b) for b in frame.black_level_dn),
        white_level_dn=int(frame.white_level_dn),
        as_shot_neutral=tuple(float(v) for v in md.as_shot_neutral),
        color_matrix_1=np.asarray(cal.color_matrix_1, dtype=np.float64),
        calibration_illuminant_1=int(cal.calibration_illuminant_1),
        default_crop_origin=(float(m), float(m)),
        default_crop_size=(float(w - 2 * m), float(h - 2 * m)),
        active_area=(0, 0, h, w),
        dng_version=(1, 4, 0, 0),
        make="mountcam",
        model=f"mountcam twin {md.module}",
        iso=int(round(md.iso)) if md.iso else None,
        f_number=md.f_number or None,
        focal_mm=md.focal_mm or None,
        color_matrix_2=cal.color_matrix_2,
        calibration_illuminant_2=cal.calibration_illuminant_2,
        forward_matrix_1=cal.forward_matrix_1,
        forward_matrix_2=cal.forward_matrix_2,
        baseline_exposure=BASELINE_EXPOSURE_EV,
    )
    if frame.lens is not None:
        from mountcam.dng.opcodes import encode_opcode_list, lens_opcodes_for_frame
        from mountcam.optics.lens import LensState

        state = frame.lens_state or LensState(md.f_number)
        fit = lens_opcodes_for_frame(frame, frame.lens, state)
        if fit.ops:
            info.opcode_list_3 = encode_opcode_list(fit.ops)
        if fit.list2:  # the lens shading, as GainMaps, as the DNG writer stores it
            info.opcode_list_2 = encode_opcode_list(fit.list2)
    return info


def sensor_calibration(sensor: str) -> ColorCalibration:
    """The colour calibration the CLI writes into DNGs of this sensor (dual-illuminant, A and
    D65, :func:`~mountcam.dng.calibration.calibrate_dual`)."""
    from mountcam.sensor.model import load_sensor

    return calibrate_dual(load_sensor(sensor).qe)
