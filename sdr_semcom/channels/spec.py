"""The fading channel's settings (pure Python: read by the main venv's config and by the Sionna process).

The models are 3GPP TR 38.901's tapped delay lines (section 7.7.2, tables 7.7.2-1..5) as Sionna
implements them (sum of 20 sinusoids per tap), its clustered delay lines (section 7.7.1, tables
7.7.1-1..5: 20 rays per cluster, each with its own arrival angle and so its own Doppler shift) on a
SISO link, and ``rayleigh``: one tap, Jakes spectrum, the same sum-of-sinusoids generator.

The CDL link (:data:`CDL_LINK`): downlink (the base station transmits, the moving UT receives), one
single-polarised (vertical) element with Sionna's ``omni`` pattern (0 dBi in every direction) at
each end, so the link's mean power is the clusters' (1) and the angles act only through the
Doppler shifts; the UT moves horizontally along the global x axis (velocity ``[speed, 0, 0]``),
the base station stands still; Sionna's default orientations (UT ``[pi, 0, 0]``, BS ``[0, 0, 0]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: ``--model`` values -> Sionna's ``TDL`` / ``CDL`` model name (None: flat Rayleigh, one path)
MODELS = {"rayleigh": None, "tdl-a": "A", "tdl-b": "B", "tdl-c": "C", "tdl-d": "D", "tdl-e": "E",
          "cdl-a": "A", "cdl-b": "B", "cdl-c": "C", "cdl-d": "D", "cdl-e": "E"}
#: The SISO link the CDL models are evaluated on (see the module docstring).
CDL_LINK = {"direction": "downlink", "antenna": "single-polarised (V) omni element at each end",
            "ut_velocity": "[speed, 0, 0] m/s (horizontal, along x)"}
SPEED_OF_LIGHT = 299792458.0
#: 38.901 table 7.7.3-2's "long" delay spread: frequency-selective at this PHY's 1 MS/s
#: (TDL-A's last tap at 9.66 x 300 ns = 2.9 us, well inside the 16 us cyclic prefix).
DEFAULT_DELAY_SPREAD_NS = 300.0
DEFAULT_CARRIER_HZ = 2.4e9
#: Walking speed (3 km/h).
DEFAULT_SPEED_MPS = 3.0 / 3.6


@dataclass(frozen=True)
class FadingSpec:
    """A time-varying fading channel.

    Parameters
    ----------
    model : str
        One of :data:`MODELS` (``rayleigh``, ``tdl-a`` .. ``tdl-e``, ``cdl-a`` .. ``cdl-e``).
    delay_spread_ns : float
        RMS delay spread the TDL's / CDL's normalised delays are scaled by, ns (ignored by ``rayleigh``).
    speed_mps : float
        Receiver speed, m/s; the maximum Doppler shift is ``speed * fc / c``.
    carrier_frequency_hz : float
        Carrier frequency, Hz.
    """

    model: str = "tdl-a"
    delay_spread_ns: float = DEFAULT_DELAY_SPREAD_NS
    speed_mps: float = DEFAULT_SPEED_MPS
    carrier_frequency_hz: float = DEFAULT_CARRIER_HZ

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"unknown fading model {self.model!r} (one of {', '.join(MODELS)})")
        for name, lo, hi in (("delay_spread_ns", 0.0, 1e5), ("speed_mps", 0.0, 1e3),
                             ("carrier_frequency_hz", 1e6, 1e12)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
                raise ValueError(f"fading {name} must be a number in {lo:g}..{hi:g}, got {v!r}")

    @property
    def family(self) -> str:
        """``rayleigh``, ``tdl`` or ``cdl``."""
        return self.model.split("-")[0]

    @property
    def doppler_hz(self) -> float:
        """Maximum Doppler shift, Hz."""
        return self.speed_mps * self.carrier_frequency_hz / SPEED_OF_LIGHT

    @staticmethod
    def speed_for_doppler(doppler_hz: float, carrier_frequency_hz: float) -> float:
        """The speed (m/s) that gives a maximum Doppler shift of ``doppler_hz`` at ``carrier_frequency_hz``."""
        return doppler_hz * SPEED_OF_LIGHT / carrier_frequency_hz

    def args(self) -> list[str]:
        """This spec as :mod:`.sionna_proc` command-line arguments."""
        return ["--model", self.model, "--delay-spread", repr(float(self.delay_spread_ns)),
                "--speed", repr(float(self.speed_mps)), "--carrier-frequency", repr(float(self.carrier_frequency_hz))]
