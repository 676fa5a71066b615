"""The Leica M bayonet of the ``m`` module: attaching lenses and identifying them.

A Leica M body identifies a lens by the 6-bit code on its bayonet flange, read optically
(Leica calls it "6-bit coding"). The body's lens-detection menu offers:

- ``auto``: a coded lens the body knows selects its profile; an uncoded lens (code 0) or a
  code the body does not know (dirty or damaged flange, a newer lens) needs a manual choice;
- ``manual``: the manual choice is used for uncoded lenses, but a known code still wins
  (the code is what is really on the camera; a stale manual choice is not);
- ``off``: the body records no lens at all and applies no lens data.

Everything the body *cannot* read stays with the lens: its aperture ring and focus ring
(:class:`~mountcam.optics.lens.LensState`), exactly as on a real M. The physical lens that is
attached always forms the image; identification only decides what the body believes and
writes into the capture's metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mountcam.errors import InvalidSetting, LensNotIdentified, NoLensAttached
from mountcam.optics.lens import LensProfile, LensState, check_state

DETECTION_MODES = ("auto", "manual", "off")
CODE_BITS = 6


@dataclass(frozen=True)
class Identification:
    """What the body concluded about the attached lens.

    ``state`` is one of ``coded`` (known code), ``uncoded`` (code 0), ``unknown-code`` (a code
    the catalogue does not hold) or ``off`` (detection switched off); ``method`` is how the
    profile was chosen: ``code``, ``manual``, or None when the body uses no profile.
    """

    state: str
    code_read: int | None
    profile: LensProfile | None
    method: str | None

    def as_dict(self) -> dict:
        return {
            "detection_state": self.state,
            "code_read": self.code_read,
            "lens_id": self.profile.id if self.profile else None,
            "lens_name": self.profile.name if self.profile else None,
            "identified_by": self.method,
        }


class Mount:
    """The M bayonet: holds at most one lens, reads its code, keeps the detection settings.

    ``lookup_code`` maps a 6-bit code to a catalogue profile (None when the code is unknown);
    it is injected so the mount does not depend on where the catalogue lives.
    """

    def __init__(self, lookup_code: Callable[[int], LensProfile | None]) -> None:
        self._lookup_code = lookup_code
        self.lens: LensProfile | None = None
        self.code_read: int | None = None
        self.detection = "auto"
        self.manual_choice: LensProfile | None = None
        #: How the attached lens's rings are set (aperture, focus, focal selector). They belong
        #: to the lens: the body cannot read them, only the light that passes.
        self.rings: LensState | None = None
        #: What the photographer has told the body about the rings (the manual lens menu's
        #: aperture and, for a zoom the body cannot read, the focal length); None: not told.
        self.declared_f_number: float | None = None
        self.declared_focal_mm: float | None = None
        self.declared_focus_m: float | None = None

    # ---- the photographer's actions --------------------------------------------------------
    def attach(self, lens: LensProfile, code_read: int | None = None) -> None:
        """Mount ``lens``. ``code_read`` is what the body reads from the flange: by default the
        lens's own code (0 for an uncoded lens); pass another value to model a dirty, damaged
        or home-made coding."""
        if lens.mount not in ("M", "adapted"):
            raise InvalidSetting(
                f"{lens.name} has a {lens.mount} mount and does not fit the M bayonet"
            )
        if self.lens is not None:
            raise InvalidSetting(f"{self.lens.name} is already on the M mount; detach it first")
        code = (lens.code or 0) if code_read is None else int(code_read)
        if not 0 <= code < 2**CODE_BITS:
            raise InvalidSetting(f"a 6-bit lens code is 0-63 (got {code})")
        self.lens, self.code_read = lens, code
        self.rings = LensState(lens.max_f)  # wide open, at infinity, as lenses are put on
        self.declared_f_number = self.declared_focal_mm = self.declared_focus_m = None

    def detach(self) -> LensProfile:
        if self.lens is None:
            raise NoLensAttached()
        lens, self.lens, self.code_read, self.rings = self.lens, None, None, None
        self.declared_f_number = self.declared_focal_mm = self.declared_focus_m = None
        return lens

    def turn_rings(
        self,
        f_number: float | None = None,
        focus_m: float | None = None,
        focal_mm: float | None = None,
    ) -> LensState:
        """Turn the attached lens's aperture ring (f-number), focus ring (metres) and, on a
        lens with several focal lengths, its focal selector (mm); None leaves a ring where it
        is. Refuses settings the lens does not have (naming its range)."""
        if self.lens is None or self.rings is None:
            raise NoLensAttached()
        now = self.rings
        state = LensState(
            now.f_number if f_number is None else float(f_number),
            now.focus_m if focus_m is None else float(focus_m),
            now.focal_mm if focal_mm is None else float(focal_mm),
        )
        self.rings = check_state(self.lens, state)
        return self.rings

    def set_detection(self, mode: str) -> None:
        if mode not in DETECTION_MODES:
            raise InvalidSetting(f"lens detection '{mode}' does not exist; use auto, manual or off")
        self.detection = mode

    def choose_manually(self, lens: LensProfile | None) -> None:
        """The lens-detection menu's manual choice (None clears it)."""
        if lens is not None and lens.mount not in ("M", "adapted"):
            raise InvalidSetting(f"{lens.name} is not an M-mount lens")
        self.manual_choice = lens

    # ---- what the body concludes ----------------------------------------------------------
    def identify(self) -> Identification:
        """Identify the attached lens as the detection settings say (see the module doc)."""
        if self.lens is None:
            raise NoLensAttached()
        code = self.code_read
        if self.detection == "off":
            return Identification("off", code, None, None)
        known = self._lookup_code(code) if code else None
        if known is not None:
            return Identification("coded", code, known, "code")
        state = "uncoded" if code == 0 else "unknown-code"
        if self.manual_choice is not None:
            return Identification(state, code, self.manual_choice, "manual")
        return Identification(state, code, None, None)

    def require_identified(self) -> Identification:
        """Identification that a capture can use, or a refusal that says what to do."""
        ident = self.identify()
        if ident.state == "off" or ident.profile is not None:
            return ident
        if ident.state == "uncoded":
            raise LensNotIdentified(
                "the lens on the M mount is uncoded; choose it in lens detection's manual "
                "lens menu or switch detection off"
            )
        raise LensNotIdentified(
            f"the M mount reads lens code {ident.code_read}, which no catalogue lens has (a dirty "
            "or damaged code?); choose the lens manually or switch detection off"
        )
