"""The M bayonet's states: attach/detach, code reading, lens detection auto/manual/off."""

from __future__ import annotations

import pytest

from mountcam.body.mount import Mount
from mountcam.errors import InvalidSetting, NoLensAttached
from mountcam.optics.lens import LensProfile


def lens(lens_id: str, code: int, mount: str = "M") -> LensProfile:
    return LensProfile(
        id=lens_id,
        name=lens_id.title(),
        mount=mount,
        focal_mm=50.0,
        max_f=2.0,
        min_f=16.0,
        min_focus_m=0.7,
        transmittance=0.9,
        code=code,
    )


SUMMICRON = lens("summicron-50", 11)
ELMARIT = lens("elmarit-28", 29)
OLD_SUMMARON = lens("summaron-35", 0)
CATALOGUE = {lens.code: lens for lens in (SUMMICRON, ELMARIT)}


@pytest.fixture
def mount():
    return Mount(CATALOGUE.get)


def test_nothing_attached_refuses(mount):
    with pytest.raises(NoLensAttached):
        mount.identify()
    with pytest.raises(NoLensAttached):
        mount.detach()


def test_a_known_code_selects_its_profile(mount):
    mount.attach(SUMMICRON)
    ident = mount.require_identified()
    assert (ident.state, ident.method, ident.profile, ident.code_read) == (
        "coded",
        "code",
        SUMMICRON,
        11,
    )


def test_an_uncoded_lens_needs_a_manual_choice(mount):
    mount.attach(OLD_SUMMARON)
    assert mount.identify().state == "uncoded"
    with pytest.raises(InvalidSetting, match="uncoded"):
        mount.require_identified()
    mount.choose_manually(ELMARIT)  # the photographer picks (here: a wrong one, as people do)
    ident = mount.require_identified()
    assert (ident.state, ident.method, ident.profile) == ("uncoded", "manual", ELMARIT)


def test_an_unknown_code_is_reported_and_needs_a_manual_choice(mount):
    mount.attach(SUMMICRON, code_read=42)  # a dirty flange reads 42
    ident = mount.identify()
    assert (ident.state, ident.code_read, ident.profile) == ("unknown-code", 42, None)
    with pytest.raises(InvalidSetting, match="code 42"):
        mount.require_identified()
    mount.choose_manually(SUMMICRON)
    assert mount.require_identified().method == "manual"


def test_a_coded_lens_overrides_a_manual_choice(mount):
    mount.choose_manually(ELMARIT)
    mount.set_detection("manual")
    mount.attach(SUMMICRON)
    ident = mount.require_identified()
    assert (ident.profile, ident.method) == (SUMMICRON, "code")


def test_detection_off_records_no_lens_but_allows_capture(mount):
    mount.attach(OLD_SUMMARON)
    mount.set_detection("off")
    ident = mount.require_identified()
    assert (ident.state, ident.profile, ident.method) == ("off", None, None)
    assert ident.as_dict()["lens_id"] is None


def test_attach_detach_and_bad_requests(mount):
    mount.attach(SUMMICRON)
    with pytest.raises(InvalidSetting, match="already"):
        mount.attach(ELMARIT)
    assert mount.detach() is SUMMICRON
    with pytest.raises(InvalidSetting, match="0-63"):
        mount.attach(SUMMICRON, code_read=64)
    with pytest.raises(InvalidSetting, match="does not fit"):
        mount.attach(lens("main", 0, mount="fixed"))
    with pytest.raises(InvalidSetting, match="auto, manual or off"):
        mount.set_detection("smart")
    assert mount.lens is None
