"""XMP for what EXIF cannot say: lens detection, an estimated f-number, the simulation.

The packet goes into TIFF tag 700 (XMP Specification Part 3, §1.1.4 "TIFF": type BYTE or
UNDEFINED, UTF-8, wrapped in an ``<?xpacket?>`` processing instruction). Properties live in
mountcam's own namespace as simple RDF attributes, which exiftool, the DNG SDK and Lightroom
read as they are.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from mountcam.sensor.rawframe import RawFrame

NAMESPACE = "http://ns.mountcam.org/xmp/1.0/"
PREFIX = "mountcam"


def _properties(frame: RawFrame) -> dict[str, object]:
    md = frame.metadata
    props: dict[str, object] = {
        "Module": md.module,
        "SensorMode": md.mode,
        "Scene": md.scene,
        "Illuminant": md.illuminant,
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
    simulated = md.extra.get("simulated_lens")
    if simulated:
        # The twin's ground truth, for measuring the camera against: never what the body read.
        props["SimulatedLens"] = simulated["id"]
        props["SimulatedFNumber"] = f"{simulated['f_number']:g}"
    return props


def xmp_packet(frame: RawFrame) -> bytes:
    """The XMP packet for ``frame``, UTF-8."""
    attrs = "".join(
        f"\n    {PREFIX}:{name}={quoteattr(str(value))}"
        for name, value in _properties(frame).items()
        if value is not None
    )
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f'  <rdf:Description rdf:about=""\n    xmlns:{PREFIX}="{NAMESPACE}"{attrs}/>\n'
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )
    return text.encode("utf-8")
