"""Where a calibration capture comes from: the loopback (the channel emulator with impairments,
for tests and demos), a recording (raw cf32 or SigMF), or a live USRP (gr-uhd).

Every source returns a :class:`Capture` (samples and the rate, centre frequency and device they
were taken with); :func:`sdr_semcom.calibration.estimate` works on its samples alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..phy.channel import MULTIPATH_TAPS, ChannelEmulator, ChannelSpec
from ..phy.ofdm import NFFT
from .estimate import CalibrationError
from .waveform import CAL_LAYOUT, calibration_waveform


class Capture(NamedTuple):
    """Samples and what they were taken with."""

    samples: np.ndarray
    sample_rate: float
    freq_hz: float | None
    source: str  # "loopback", "file", "uhd"
    device: str  # the file's path or the UHD device args ("" for the loopback)


def rapp(x: np.ndarray, sat: float, smoothness: float = 2.0) -> np.ndarray:
    """Rapp's solid-state amplifier model: amplitude ``r / (1 + (r / sat)^(2p))^(1 / (2p))``, phase kept.

    Parameters
    ----------
    x : numpy.ndarray
        Complex input.
    sat : float
        Output saturation amplitude.
    smoothness : float
        ``p``: large is a hard clipper, 2 a typical PA.
    """
    r = np.abs(x)
    return x / (1 + (r / sat) ** (2 * smoothness)) ** (1 / (2 * smoothness))


@dataclass(frozen=True)
class Loopback:
    """A simulated link for calibration: transmitter (gain, Rapp power amplifier) -> the channel
    emulator (:class:`~sdr_semcom.phy.channel.ChannelSpec`) -> receiver (gain, ADC clipping at full scale).

    Parameters
    ----------
    snr_db : float
        In-band SNR at transmit gain 0 dB (raising the transmit gain raises it, until the amplifier
        compresses; the receive gain leaves it: the receiver's own noise dominates).
    cfo_hz, clock_ppm : float
        Carrier frequency offset (Hz at ``sample_rate``) and receiver sample-clock offset.
    multipath : bool
        The benchmark's 3-tap channel (:data:`~sdr_semcom.phy.channel.MULTIPATH_TAPS`) instead of a flat one.
    dc_offset_dbc, iq_gain_db, iq_phase_deg : float
        The receiver front end's DC offset (None: none) and IQ imbalance.
    tone_dbc, tone_subcarriers : float
        A spurious tone at the receiver (None: none) and its frequency in subcarriers.
    tx_gain_db, rx_gain_db : float
        Gains relative to nominal.
    pa_sat_db : float or None
        The amplifier's saturation amplitude relative to the burst rms at transmit gain 0 (None: linear).
    level_dbfs : float
        Burst rms at the receiver's converter at both gains 0, dBFS.
    sample_rate : float
    seed : int
        Noise seed.
    """

    snr_db: float = 25.0
    cfo_hz: float = 0.0
    clock_ppm: float = 0.0
    multipath: bool = False
    dc_offset_dbc: float | None = None
    iq_gain_db: float = 0.0
    iq_phase_deg: float = 0.0
    tone_dbc: float | None = None
    tone_subcarriers: float = 0.0
    tx_gain_db: float = 0.0
    rx_gain_db: float = 0.0
    pa_sat_db: float | None = None
    level_dbfs: float = -20.0
    sample_rate: float = 1e6
    seed: int = 1

    def channel(self) -> ChannelSpec:
        """The channel emulator's part (raises ValueError on a bad impairment)."""
        return ChannelSpec(snr_db=self.snr_db, cfo_subcarriers=self.cfo_hz / (self.sample_rate / NFFT),
                           clock_ppm=self.clock_ppm, taps=MULTIPATH_TAPS if self.multipath else (1.0,),
                           seed=self.seed, dc_offset_dbc=self.dc_offset_dbc, iq_gain_db=self.iq_gain_db,
                           iq_phase_deg=self.iq_phase_deg, tone_dbc=self.tone_dbc,
                           tone_subcarriers=self.tone_subcarriers)

    def run(self, waveform: np.ndarray) -> np.ndarray:
        """``waveform`` (unit burst power) through transmitter, channel and receiver."""
        x = np.asarray(waveform, np.complex128) * 10 ** (self.tx_gain_db / 20)
        if self.pa_sat_db is not None:
            x = rapp(x, 10 ** (self.pa_sat_db / 20))
        emu = ChannelEmulator(self.channel())
        y = np.concatenate([emu.process(x.astype(np.complex64)), emu.flush()]).astype(np.complex128)
        y *= 10 ** ((self.level_dbfs + self.rx_gain_db) / 20)
        return (np.clip(y.real, -1, 1) + 1j * np.clip(y.imag, -1, 1)).astype(np.complex64)


def loopback_capture(link: Loopback, n_bursts: int = 32, freq_hz: float | None = None) -> Capture:
    """The calibration waveform (``n_bursts`` bursts) through ``link``."""
    try:
        link.channel()
    except ValueError as exc:
        raise CalibrationError(f"loopback: {exc}") from None
    y = link.run(calibration_waveform(n_bursts))
    return Capture(y, link.sample_rate, freq_hz, "loopback", "")


def file_capture(path: str | Path, sample_rate: float | None = None, freq_hz: float | None = None) -> Capture:
    """A recording: raw interleaved float32 I/Q (``.cf32``, ``.fc32``, ``.bin``, ...) or SigMF
    (``.sigmf-data`` with its ``.sigmf-meta``, datatype ``cf32_le`` or ``ci16_le``), as ``rx --radio
    file`` and ``decode`` read and ``tx --radio file --output NAME.sigmf-data`` / ``capture`` write
    them: the meta file is read and checked by the radio package
    (:func:`sdr_semcom.radio.file.read_meta`); its ``core:sample_rate`` and ``captures[0]``
    ``core:frequency`` are used unless given (a given rate must match the file's).

    Raises
    ------
    RecordingError
        A meta file that is unreadable, not valid SigMF, of another datatype, or whose rate
        contradicts a given one (the error ``rx --radio file`` and ``decode`` give).
    CalibrationError
        An unreadable or odd-sized raw file, or no sample rate at all.
    """
    from ..radio.file import DATATYPE, check_meta, meta_path, read_meta, read_samples

    path = Path(path)
    if path.suffix == ".sigmf-meta":
        path = path.with_suffix(".sigmf-data")
    doc = read_meta(path)  # RecordingError: as rx --radio file and decode refuse the file
    if doc is not None and sample_rate:
        check_meta(path, sample_rate)
    if doc is not None:
        sample_rate = sample_rate or doc["global"].get("core:sample_rate")
        freq_hz = freq_hz or (doc.get("captures") or [{}])[0].get("core:frequency")
    if not path.is_file():
        raise CalibrationError(f"{path}: no such file")
    if not sample_rate:
        said = f"{meta_path(path).name} does not state core:sample_rate" if doc is not None else \
            "a raw file does not say it"
        raise CalibrationError(f"{path}: give the sample rate (--rate): {said}")
    dtype = doc["global"]["core:datatype"] if doc is not None else DATATYPE
    if dtype == DATATYPE and path.stat().st_size % 8:
        raise CalibrationError(f"{path}: odd number of float32 values: not interleaved complex float32 (cf32)")
    try:
        samples = read_samples(path, dtype)
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot read: {exc}") from None
    return Capture(samples, float(sample_rate), float(freq_hz) if freq_hz else None, "file", str(path))


def uhd_capture(args: str, sample_rate: float, freq_hz: float | None, gain_db: float, n_bursts: int = 32,
                channel: int = 0) -> Capture:
    """A live capture from a USRP: ``n_bursts + 2`` periods of the waveform.

    The USRP is opened by the radio package (:func:`sdr_semcom.radio.uhd.open_usrp`, as ``rx --radio
    uhd`` opens it): one place opens a device, and no device is one line naming the args
    (:class:`~sdr_semcom.radio.RadioError`). The transmitter (another USRP, or this one's TX port
    through an attenuator) must send the calibration waveform meanwhile (``sdr-semcom calibrate
    --write-waveform cal.cf32``, then e.g. UHD's ``tx_samples_from_file --file cal.cf32 --repeat``).

    Parameters
    ----------
    args : str
        UHD device args (empty: the first USRP found).
    sample_rate : float
        S/s; the device must run at it exactly.
    freq_hz : float or None
        Centre frequency (None: :data:`~sdr_semcom.radio.DEFAULT_FREQ`, where ``tx`` / ``rx`` tune
        without ``--freq``).
    gain_db : float
        Receive gain, dB.
    n_bursts : int
    channel : int

    Raises
    ------
    RadioError
        No device answering ``args``, or a setting it refused (one line).
    CalibrationError
        gr-uhd missing, or streaming failed.
    """
    from ..radio.options import DEFAULT_FREQ, UhdSettings

    try:
        from gnuradio import blocks, gr
        from gnuradio import uhd  # noqa: F401  (gr-uhd present: open_usrp imports it)
    except ImportError as exc:
        raise CalibrationError(f"--source uhd needs gr-uhd (Debian package gnuradio): {exc}") from None
    from ..radio.uhd import open_usrp

    freq_hz = freq_hz or DEFAULT_FREQ
    settings = UhdSettings(args=args, freq=freq_hz, gain=gain_db, channels=(channel,))
    src = open_usrp("rx", settings, sample_rate,
                    fallback="or calibrate from a recording (--source file) or the loopback (--source loopback)")
    try:
        n = (n_bursts + 2) * CAL_LAYOUT.period
        tb = gr.top_block("semcom_calibrate")
        head = blocks.head(gr.sizeof_gr_complex, int(math.ceil(n)))
        sink = blocks.vector_sink_c()
        tb.connect(src, head, sink)
        tb.run()
    except RuntimeError as exc:
        raise CalibrationError(f"USRP {args!r}: {' '.join(str(exc).split())}") from None
    return Capture(np.array(sink.data(), np.complex64), float(src.get_samp_rate()), freq_hz, "uhd", args)
