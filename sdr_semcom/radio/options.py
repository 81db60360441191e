"""What a role is told about its radio front end (``--radio``, ``--args``, ``--freq``, ...), checked.

No GNU Radio import here: the CLI builds a :class:`RadioOptions` before anything heavy loads, and a
wrong combination is a :class:`RadioError` (the CLI's usage error) before any device is opened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..link.control import LinkError

#: The front ends: ZeroMQ sockets (the default: the processes on one machine), a USRP through
#: gr-uhd, a recording (raw complex64 samples, SigMF's ``cf32_le``).
RADIOS = ("zmq", "uhd", "file")
#: How a transmitter feeds a USRP: ``tagged`` bursts (``tx_sob`` / ``tx_eob``: the radio sends
#: nothing between them) or ``continuous`` (zeros between bursts: the radio streams all along).
BURST_MODES = ("tagged", "continuous")
#: Reference sources UHD knows for ``--clock-source`` / ``--time-source``.
REF_SOURCES = ("internal", "external", "gpsdo", "mimo")
#: Where a transmitter tunes when ``--freq`` is not given: 2.45 GHz, the middle of the 2.4 GHz ISM band.
DEFAULT_FREQ = 2.45e9


class RadioError(LinkError):
    """A front end that cannot be used: no USRP answered, a recording that cannot be read, a sample
    rate that does not match. The message names the device args or the file, and what to do."""


class RecordingError(RadioError, ValueError):
    """A recording that cannot be used (metadata unreadable or invalid, another datatype or sample
    rate, data file missing or cut mid-sample) or cannot be written. The message names the file.
    The same error whichever command reads it (``rx --radio file``, ``decode``, ``calibrate``)."""


@dataclass(frozen=True)
class UhdSettings:
    """A USRP's settings (gr-uhd ``usrp_source`` / ``usrp_sink``).

    Parameters
    ----------
    args : str
        UHD device args (``type=b200``, ``serial=30AD2F1``, ``addr=192.168.10.2``); empty: the first found.
    freq : float
        Centre frequency, Hz.
    gain : float or None
        Gain in dB (None: UHD's default, or ``norm_gain``).
    norm_gain : float or None
        Gain as a fraction 0..1 of the device's range (instead of ``gain``).
    antenna, subdev : str or None
        Antenna port (``TX/RX``, ``RX2``) and subdevice spec (``A:A A:B`` for both B210 channels).
    channels : tuple of int
        Channels streamed (one per receiver chain: ``(0, 1)`` for the authorized and the
        eavesdropper's receiver on one B210).
    clock_source, time_source : str or None
        Frequency and time references (``internal``, ``external``, ``gpsdo``, ``mimo``).
    lo_offset : float
        Tune the LO this far (Hz) from ``freq`` and shift back digitally (``tune_request``), which
        moves the LO leakage / DC spike out of the signal's band.
    burst_mode : str
        Transmitter only: ``tagged`` or ``continuous`` (:data:`BURST_MODES`).
    """

    args: str = ""
    freq: float = DEFAULT_FREQ
    gain: float | None = None
    norm_gain: float | None = None
    antenna: str | None = None
    subdev: str | None = None
    channels: tuple[int, ...] = (0,)
    clock_source: str | None = None
    time_source: str | None = None
    lo_offset: float = 0.0
    burst_mode: str = "tagged"

    def __post_init__(self) -> None:
        if self.gain is not None and self.norm_gain is not None:
            raise RadioError("give --gain (dB) or --norm-gain (0..1), not both")
        if self.norm_gain is not None and not 0 <= self.norm_gain <= 1:
            raise RadioError(f"--norm-gain must be within 0..1, got {self.norm_gain}")
        if not self.freq > 0:
            raise RadioError(f"--freq must be > 0 Hz, got {self.freq}")
        if not self.channels or min(self.channels) < 0 or len(set(self.channels)) != len(self.channels):
            raise RadioError(f"--channel: distinct channel numbers >= 0, got {list(self.channels)}")
        if self.burst_mode not in BURST_MODES:
            raise RadioError(f"--burst-mode must be one of {', '.join(BURST_MODES)}, got {self.burst_mode!r}")
        for name, src in (("--clock-source", self.clock_source), ("--time-source", self.time_source)):
            if src is not None and src not in REF_SOURCES:
                raise RadioError(f"{name} must be one of {', '.join(REF_SOURCES)}, got {src!r}")


@dataclass(frozen=True)
class RadioOptions:
    """Which front end a role uses, and its settings.

    Parameters
    ----------
    kind : str
        ``zmq``, ``uhd`` or ``file`` (:data:`RADIOS`).
    address : str or None
        ``zmq``: the data socket's address (tx binds it, rx connects to it).
    paths : tuple of Path
        ``file``: the recording written (tx, one) or read (rx, one per receiver chain, or one for all).
    uhd : UhdSettings
        ``uhd``: the device's settings.
    rate : float or None
        Sample rate, S/s (None: the link configuration's ``sample_rate``).
    """

    kind: str = "zmq"
    address: str | None = None
    paths: tuple[Path, ...] = ()
    uhd: UhdSettings = field(default_factory=UhdSettings)
    rate: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in RADIOS:
            raise RadioError(f"--radio must be one of {', '.join(RADIOS)}, got {self.kind!r}")
        if self.rate is not None and not self.rate > 0:
            raise RadioError(f"--rate must be > 0 S/s, got {self.rate}")
