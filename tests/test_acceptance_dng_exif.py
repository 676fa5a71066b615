"""Acceptance 3 (issue 4): exiftool reads every EXIF/XMP field of a ``shoot`` DNG with exactly
the value written, as a number (``exiftool -n``) and as photographers see it printed.

Cases: the main module at 2 s (must print "2") and 30 s, a coded Leica lens (Summicron-M 50)
at 1/8000 s with its 35 mm equivalent (132 mm) and an *estimated* f-number (XMP), a
Tri-Elmar's focal ring, artist and copyright from the command line and from the settings
file. The Adobe DNG SDK (dngpy) must read the same artist, copyright and 35 mm focal length.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from conftest import shoot
from mountcam import __version__
from mountcam.dng import read_dng

pytestmark = pytest.mark.skipif(
    shutil.which("exiftool") is None, reason="exiftool is installed by `make test`"
)

CROP = ("--crop", "160x120", "--scene", "chart:colorchecker", "--seed", "11")
ARTIST = "Jane Doe"
COPYRIGHT = "© 2026 Jane Doe, Zürich"


def exiftool(path, *, numeric: bool) -> dict:
    args = ["exiftool", "-j", "-a", "-G1", "-struct"] + (["-n"] if numeric else []) + [str(path)]
    doc = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)[0]
    assert not [k for k in doc if k.endswith(":Warning") or k.endswith(":Error")], doc
    return doc


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    def run(name, *args):
        out = tmp_path_factory.mktemp(name)
        res = shoot(out, *CROP, *args)
        return (
            res,
            exiftool(res["files"][0], numeric=True),
            exiftool(res["files"][0], numeric=False),
        )

    return {
        "main": run(
            "main",
            "--shutter", "2", "--iso", "100", "--count", "2",
            "--artist", ARTIST, "--copyright", COPYRIGHT,
        ),
        "leica": run(
            "leica",
            "--module", "m", "--lens", "summicron-m-50", "--aperture", "2.8",
            "--shutter", "1/8000", "--iso", "3200",
        ),
        "long": run("long", "--shutter", "30", "--iso", "100"),
        "auto": run("auto"),
        "tri": run(
            "tri", "--module", "m", "--lens", "tri-elmar-m-16-18-21", "--focal", "18",
            "--shutter", "1/60", "--iso", "400",
        ),
        "noctilux": run(
            "noctilux", "--module", "m", "--lens", "noctilux-m-50-f0.95", "--aperture", "0.95",
            "--focus", "2.6", "--shutter", "1/1000", "--iso", "100",
        ),
    }  # fmt: skip


def test_camera_and_software(shots):
    for _, n, _ in shots.values():
        assert n["IFD0:Make"] == "mountcam"
        assert n["IFD0:UniqueCameraModel"] == "mountcam IMX989 twin"
        assert n["IFD0:Software"] == f"mountcam {__version__}"
    assert shots["main"][1]["IFD0:Model"] == "mountcam twin main"
    assert shots["leica"][1]["IFD0:Model"] == "mountcam twin m"


@pytest.mark.parametrize(
    "case, numeric, printed",
    [("main", 2, "2"), ("long", 30, "30"), ("leica", 0.000125, "1/8000"), ("tri", 1 / 60, "1/60")],
)
def test_exposure_time_is_the_exact_rational(shots, case, numeric, printed):
    res, n, p = shots[case]
    assert n["ExifIFD:ExposureTime"] == pytest.approx(numeric, rel=1e-9)  # exiftool: 10 digits
    assert str(p["ExifIFD:ExposureTime"]) == printed  # JSON gives "2" as the number 2
    info = read_dng(res["files"][0])
    assert float(info.exposure_time) == pytest.approx(numeric, rel=1e-12)
    assert info.exposure_time.denominator in (1, 60, 8000)  # an exact 1/N or N/1, never rounded


def test_capture_time_with_subseconds_and_zone(shots):
    res, n, p = shots["main"]
    info = read_dng(res["files"][0])
    when = info.datetime_original
    assert n["ExifIFD:DateTimeOriginal"] == when.strftime("%Y:%m:%d %H:%M:%S")
    # JSON turns "012345" into the number 12345: compare as six digits
    assert str(n["ExifIFD:SubSecTimeOriginal"]).zfill(6) == f"{when.microsecond:06d}"
    assert (
        p["ExifIFD:OffsetTimeOriginal"] == when.strftime("%z")[:3] + ":" + when.strftime("%z")[3:]
    )
    stamp = p["Composite:SubSecDateTimeOriginal"]
    assert stamp.startswith(when.strftime("%Y:%m:%d %H:%M:%S.")) and re.search(
        r"[+-]\d\d:\d\d$", stamp
    )


def test_exposure_settings(shots):
    _, n, p = shots["main"]
    assert n["ExifIFD:ISO"] == 100 and n["ExifIFD:ISOSpeed"] == 100
    assert n["ExifIFD:SensitivityType"] == 3 and p["ExifIFD:SensitivityType"] == "ISO Speed"
    assert n["ExifIFD:ExposureProgram"] == 1 and p["ExifIFD:ExposureProgram"] == "Manual"
    assert n["ExifIFD:ExposureMode"] == 1 and p["ExifIFD:ExposureMode"] == "Manual"
    assert n["ExifIFD:MeteringMode"] == 0
    assert n["ExifIFD:WhiteBalance"] == 0 and p["ExifIFD:WhiteBalance"] == "Auto"
    _, n, p = shots["leica"]
    assert n["ExifIFD:ISO"] == 3200
    assert p["ExifIFD:ExposureMode"] == "Manual"  # 1/8000 s and ISO given: manual
    _, n, p = shots["auto"]  # metered: program AE, matrix metering (shoot's defaults)
    assert n["ExifIFD:ExposureMode"] == 0 and p["ExifIFD:ExposureMode"] == "Auto"
    assert n["ExifIFD:ExposureProgram"] == 2 and p["ExifIFD:ExposureProgram"] == "Program AE"
    assert n["ExifIFD:MeteringMode"] == 5 and p["ExifIFD:MeteringMode"] == "Multi-segment"


def test_main_lens_fields(shots):
    _, n, p = shots["main"]
    assert n["ExifIFD:FNumber"] == 1.9 and p["ExifIFD:FNumber"] == 1.9
    assert n["ExifIFD:FocalLength"] == 8.7 and p["ExifIFD:FocalLength"] == "8.7 mm"
    # 8.7 mm × 43.27 / 16.38 (the IMX989's diagonal) = 22.98 mm: the "23 mm" of the issue
    assert n["ExifIFD:FocalLengthIn35mmFormat"] == 23
    assert n["ExifIFD:LensMake"] == "mountcam"
    assert n["ExifIFD:LensModel"] == "mountcam main 8.7 mm f/1.9"
    assert n["ExifIFD:LensInfo"] == "8.7 8.7 1.9 1.9" and p["ExifIFD:LensInfo"] == "8.7mm f/1.9"
    assert n["ExifIFD:MaxApertureValue"] == pytest.approx(1.9, abs=1e-4)
    assert p["ExifIFD:MaxApertureValue"] == 1.9
    # The twin knows no lens serial numbers (an M lens does not transmit one): none written.
    assert not [k for k in n if k.endswith("LensSerialNumber")]
    # the lens shading as four GainMaps (one per CFA colour); distortion and lateral colour
    assert n["XMP-mountcam:LensCorrection"] == "GainMap WarpRectilinear"
    assert p["SubIFD:OpcodeList2"] == "GainMap, GainMap, GainMap, GainMap"
    assert p["SubIFD:OpcodeList3"] == "WarpRectilinear"


def test_leica_lens_with_its_35mm_equivalent_and_estimated_aperture(shots):
    res, n, p = shots["leica"]
    assert n["ExifIFD:LensMake"] == "Leica"
    assert n["ExifIFD:LensModel"] == "Summicron-M 50 mm f/2 (IV, V)"
    assert n["ExifIFD:FocalLength"] == 50
    assert n["ExifIFD:FocalLengthIn35mmFormat"] == 132
    assert p["Composite:FocalLength35efl"] == "50.0 mm (35 mm equivalent: 132.0 mm)"
    assert n["ExifIFD:LensInfo"] == "50 50 2 2"
    assert n["ExifIFD:MaxApertureValue"] == pytest.approx(2.0, abs=1e-4)
    # The body cannot read the aperture ring: the FNumber is its estimate, and the XMP says so.
    est = res["settings"]["f_number"]
    assert n["ExifIFD:FNumber"] == pytest.approx(est, rel=1e-6)
    assert (
        n["XMP-mountcam:FNumberEstimated"] is True or n["XMP-mountcam:FNumberEstimated"] == "True"
    )
    assert float(n["XMP-mountcam:FNumberEstimate"]) == pytest.approx(est, abs=5e-4)
    assert 0 < float(n["XMP-mountcam:FNumberUncertaintyStops"]) < 0.5
    assert n["XMP-mountcam:LensDetection"] == "coded" and n["XMP-mountcam:LensCodeRead"] == 33
    # The twin's truth (which lens, its real ring) never reaches the file.
    assert not [k for k in n if "Simulated" in k or k.endswith(":Scene")]
    assert not [k for k in n if k.endswith(":Illuminant")]
    assert n["XMP-mountcam:LensCorrection"] == "GainMap WarpRectilinear"
    assert p["SubIFD:OpcodeList2"] == "GainMap, GainMap, GainMap, GainMap"
    assert p["SubIFD:OpcodeList3"] == "WarpRectilinear"
    info = read_dng(res["files"][0])  # our reader gives back what was written
    assert (info.lens_make, info.lens_specification, info.focal_length_35mm) == (
        "Leica",
        (50.0, 50.0, 2.0, 2.0),
        132,
    )
    assert info.lens_serial_number is None and info.opcode_list_3


def test_tri_elmar_focal_ring(shots):
    _, n, _ = shots["tri"]
    assert n["ExifIFD:FocalLength"] == 18
    assert n["ExifIFD:FocalLengthIn35mmFormat"] == 48  # 18 mm × 2.64
    assert n["ExifIFD:LensInfo"] == "16 21 4 4"


def test_a_lens_faster_than_f1(shots):
    """Issue 9 §0: f/0.95 has a negative APEX value, which Exif's unsigned MaxApertureValue
    cannot hold (it crashed the writer). EXIF gets 0 (f/1.0); LensSpecification and the XMP
    keep 0.95; LibRaw and the DNG SDK read the file."""
    res, n, _ = shots["noctilux"]
    assert n["ExifIFD:MaxApertureValue"] == 1.0  # APEX 0, the widest Exif can state
    assert n["ExifIFD:LensInfo"] == "50 50 0.95 0.95"
    assert n["XMP-exif:MaxApertureValue"] == pytest.approx(0.95, abs=1e-5)
    assert read_dng(res["files"][0]).lens_specification == (50.0, 50.0, 0.95, 0.95)
    rawpy = pytest.importorskip("rawpy")
    with rawpy.imread(res["files"][0]) as raw:
        assert raw.raw_image.shape == (res["settings"]["height"], res["settings"]["width"])
    dngpy = pytest.importorskip("dngpy")
    from test_dng_sdk_helpers import sdk_validate

    assert sdk_validate(dngpy, res["files"][0]) == []


def test_artist_copyright_and_unique_id(shots):
    res, n, p = shots["main"]
    assert n["IFD0:Artist"] == ARTIST
    assert n["IFD0:Copyright"] == "(c) 2026 Jane Doe, Zurich"  # TIFF ASCII: transliterated
    assert n["XMP-dc:Creator"] == [ARTIST]  # exactly, in XMP (an ordered list)
    assert n["XMP-dc:Rights"] == COPYRIGHT
    ids = [read_dng(f).image_unique_id for f in res["files"]]
    assert n["ExifIFD:ImageUniqueID"] == ids[0]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids) and ids[0] != ids[1]
    assert not [k for k in shots["long"][1] if k.endswith(":Artist") or k.endswith(":Creator")]
    dngpy = pytest.importorskip("dngpy")
    meta = dngpy.Dng(res["files"][0]).metadata
    # The SDK reconciles EXIF with XMP and takes the XMP's exact text.
    assert meta.artist == ARTIST and meta.copyright == COPYRIGHT
    assert meta.focal_length_35mm == 23


def test_settings_file_and_command_line(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('[owner]\nartist = "Ann Owner"\ncopyright = "© Ann"\n', encoding="utf-8")
    monkeypatch.setenv("MOUNTCAM_CONFIG", str(config))
    res = shoot(tmp_path / "a", *CROP, "--shutter", "1/100", "--iso", "100")
    n = exiftool(res["files"][0], numeric=True)
    assert (n["IFD0:Artist"], n["XMP-dc:Rights"]) == ("Ann Owner", "© Ann")
    # The command line wins; an empty value leaves the field out.
    res = shoot(tmp_path / "b", *CROP, "--shutter", "1/100", "--iso", "100", "--artist", "Bo",
                "--copyright", "")  # fmt: skip
    n = exiftool(res["files"][0], numeric=True)
    assert n["IFD0:Artist"] == "Bo" and not [k for k in n if k.endswith("Copyright")]
