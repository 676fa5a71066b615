"""XMP for what EXIF cannot say: lens detection, an estimated f-number, the readout.

Only what the camera knows goes here: the twin's truth (scene, light, the lens's real rings)
is not part of a frame (see :class:`mountcam.sensor.rawframe.TwinTruth`).

The packet goes into TIFF tag 700 (XMP Specification Part 3, §1.1.4 "TIFF": type BYTE or
UNDEFINED, UTF-8, wrapped in an ``<?xpacket?>`` processing instruction). Properties live in
mountcam's own namespace as simple RDF attributes, which exiftool, the DNG SDK and Lightroom
read as they are.

Artist and copyright also go to Dublin Core (``dc:creator``, an ordered list, and
``dc:rights``, a language alternative; XMP Specification Part 2 §8.4), as the Metadata Working
Group's guidelines ask for mirrored EXIF fields; unlike the ASCII TIFF tags, they keep any
character (``©``, accents). What the camera did about the lens goes in ``mountcam:Lens
Correction*``: the opcodes written to OpcodeList3 and how closely they fit the lens model, or
why none were written.
"""

from __future__ import annotations

from fractions import Fraction
from xml.sax.saxutils import escape, quoteattr

from mountcam.sensor.rawframe import RawFrame

NAMESPACE = "http://ns.mountcam.org/xmp/1.0/"
PREFIX = "mountcam"
#: The Exif schema of XMP (XMP Specification Part 2, §8.5 / CIPA DC-010 "exif:").
EXIF_NAMESPACE = "http://ns.adobe.com/exif/1.0/"


def _properties(frame: RawFrame) -> dict[str, object]:
    md = frame.metadata
    props: dict[str, object] = {
        "Module": md.module,
        "SensorMode": md.mode,
        "SimulationSeed": md.seed,
        "FrameIndex": md.frame_index,
    }
    detection = md.extra.get("lens_detection")
    if detection:
        props["LensDetection"] = detection["detection_state"]
        props["LensCodeRead"] = detection["code_read"]
        props["LensIdentifiedBy"] = detection["identified_by"] or "none"
    estimate = md.extra.get("f_number_estimate")
    if estimate:
        props["FNumberEstimated"] = "True"
        props["FNumberEstimate"] = f"{estimate['f_number']:.3f}"
        props["FNumberUncertaintyStops"] = f"{estimate['sigma_stops']:.3f}"
    return props


def _lens_fit_properties(lens_fit) -> dict[str, object]:
    if lens_fit is None:
        return {}
    props: dict[str, object] = {
        "LensCorrection": " ".join(dict.fromkeys(lens_fit.names)) or "none",
    }
    if lens_fit.ops or lens_fit.list2:
        props["LensCorrectionWarpErrorPx"] = f"{lens_fit.warp_error_px:.3g}"
        props["LensCorrectionVignetteError"] = f"{lens_fit.vignette_error:.3g}"
    if lens_fit.skipped:
        props["LensCorrectionSkipped"] = "; ".join(lens_fit.skipped)
    return props


def _dublin_core(artist: str | None, copyright: str | None) -> str:
    parts = []
    if artist:
        parts.append(
            f"   <dc:creator><rdf:Seq><rdf:li>{escape(artist)}</rdf:li></rdf:Seq></dc:creator>\n"
        )
    if copyright:
        parts.append(
            '   <dc:rights><rdf:Alt><rdf:li xml:lang="x-default">'
            f"{escape(copyright)}</rdf:li></rdf:Alt></dc:rights>\n"
        )
    return "".join(parts)


def xmp_packet(
    frame: RawFrame,
    *,
    artist: str | None = None,
    copyright: str | None = None,
    lens_fit=None,
    max_aperture_apex: Fraction | None = None,
) -> bytes:
    """The XMP packet for ``frame``, UTF-8. ``lens_fit``: the
    :class:`~mountcam.dng.opcodes.LensOpcodeFit` the writer used, if any.
    ``max_aperture_apex``: the lens's exact APEX maximum aperture, written as
    ``exif:MaxApertureValue`` (an XMP Rational may be negative, the EXIF tag may not: f/0.95)."""
    props = _properties(frame) | _lens_fit_properties(lens_fit)
    attrs = "".join(
        f"\n    {PREFIX}:{name}={quoteattr(str(value))}"
        for name, value in props.items()
        if value is not None
    )
    namespaces = f'\n    xmlns:{PREFIX}="{NAMESPACE}"'
    if max_aperture_apex is not None:
        namespaces += f'\n    xmlns:exif="{EXIF_NAMESPACE}"'
        apex = Fraction(max_aperture_apex)
        attrs += f'\n    exif:MaxApertureValue="{apex.numerator}/{apex.denominator}"'
    dc = _dublin_core(artist, copyright)
    body = (
        f'  <rdf:Description rdf:about=""{namespaces}{attrs}/>\n'
        if not dc
        else f'  <rdf:Description rdf:about=""{namespaces}'
        f'\n    xmlns:dc="http://purl.org/dc/elements/1.1/"{attrs}>\n{dc}  </rdf:Description>\n'
    )
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f"{body}"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )
    return text.encode("utf-8")
