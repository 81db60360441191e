"""The ``sdr-semcom calibrate`` command as a function: capture, estimate, recommend gains, print, write.

:mod:`sdr_semcom.cli` parses the options and calls :func:`calibrate`; errors are
:class:`~sdr_semcom.calibration.CalibrationError` (the CLI prints one line, exit 1).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .calfile import CalibrationFile
from .estimate import CalibrationError, CalibrationResult
from .gains import GainAdvice, GainPolicy, recommend
from .sources import Capture, Loopback, file_capture, loopback_capture, uhd_capture
from .waveform import CAL_LAYOUT, calibration_waveform

SOURCES = ("loopback", "file", "uhd")
#: The loopback's nominal gains: its ``Loopback`` impairments hold at these (a B210's mid-range).
LOOPBACK_TX_GAIN_DB, LOOPBACK_RX_GAIN_DB = 60.0, 40.0


class Request(NamedTuple):
    """What ``sdr-semcom calibrate`` was asked to do."""

    source: str = "loopback"
    path: str | None = None  # --source file
    device_args: str = ""  # --source uhd
    freq_hz: float | None = None
    sample_rate: float | None = None
    n_bursts: int = 32
    tx_gain_db: float = LOOPBACK_TX_GAIN_DB  # the gains the capture is taken at
    rx_gain_db: float = LOOPBACK_RX_GAIN_DB
    out: Path | None = None
    save_capture: Path | None = None


class Outcome(NamedTuple):
    capture: Capture
    result: CalibrationResult
    advice: GainAdvice
    file: CalibrationFile
    lines: list[str]


def write_waveform(path: str | Path, n_bursts: int = 32) -> str:
    """Write the calibration waveform (raw cf32, periodic: send it with ``--repeat``); returns a summary line."""
    x = calibration_waveform(n_bursts, lead=0)
    path = Path(path)
    _write(path, x.tofile)
    return (f"wrote {path}: {n_bursts} calibration bursts, {x.size} samples (cf32, period {CAL_LAYOUT.period}; "
            "unit burst power: scale it to your DAC's range); send it repeated, e.g. "
            f"tx_samples_from_file --file {path} --repeat --rate RATE --freq FREQ")


def _write(path: Path, write) -> None:
    """``write(path)`` after making its folder; an OSError becomes a :class:`CalibrationError` naming the path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot write: {exc.strerror or exc}") from None


def capture(req: Request, link: Loopback) -> Capture:
    """The samples ``req`` asks for (``link``: the loopback's impairments at the nominal gains)."""
    if req.path and req.source != "file":
        raise CalibrationError(f"a PATH ({req.path}) is read with --source file only (the source is {req.source})")
    if req.source == "loopback":
        rate = req.sample_rate or link.sample_rate
        link = replace(link, sample_rate=rate, tx_gain_db=link.tx_gain_db + req.tx_gain_db - LOOPBACK_TX_GAIN_DB,
                       rx_gain_db=link.rx_gain_db + req.rx_gain_db - LOOPBACK_RX_GAIN_DB)
        return loopback_capture(link, req.n_bursts, req.freq_hz)
    if req.source == "file":
        if not req.path:
            raise CalibrationError("--source file needs the recording's path (sdr-semcom calibrate --source file "
                                   "PATH)")
        return file_capture(req.path, req.sample_rate, req.freq_hz)
    if req.source == "uhd":
        return uhd_capture(req.device_args, req.sample_rate or 1e6, req.freq_hz, req.rx_gain_db, req.n_bursts)
    raise CalibrationError(f"unknown source {req.source!r} ({', '.join(SOURCES)})")


def calibrate(req: Request, link: Loopback = Loopback(), policy: GainPolicy = GainPolicy()) -> Outcome:
    """Capture, estimate, recommend gains, write the file (``req.out``); the lines to print."""
    from .estimate import estimate

    cap = capture(req, link)
    if req.save_capture:
        _write(req.save_capture, np.asarray(cap.samples, np.complex64).tofile)
    result = estimate(cap.samples, cap.sample_rate, cap.freq_hz)
    advice = recommend(result, req.tx_gain_db, req.rx_gain_db, policy)
    cal = CalibrationFile.from_result(result, cap.source, cap.device, gains=(advice.tx_gain_db, advice.rx_gain_db),
                                      measured_gains=(req.tx_gain_db, req.rx_gain_db))
    lines = result_lines(result, cap) + ["gains (at tx %.1f dB, rx %.1f dB):" % (req.tx_gain_db, req.rx_gain_db)]
    lines += [f"  {line}" for line in advice.lines()]
    if req.save_capture:
        lines.append(f"wrote the capture to {req.save_capture} (cf32, {cap.sample_rate:g} S/s)")
    if req.out:
        _write(req.out, cal.save)
        lines.append(f"wrote {req.out} (tx / rx --calibration {req.out})")
    return Outcome(cap, result, advice, cal, lines)


def result_lines(r: CalibrationResult, cap: Capture) -> list[str]:
    """The printed table of a :class:`CalibrationResult`."""
    where = {"loopback": "loopback (channel emulator)", "file": cap.device, "uhd": f"USRP {cap.device!r}"}[cap.source]
    freq = f", {cap.freq_hz / 1e6:g} MHz" if cap.freq_hz else ""
    ppm = f"{r.cfo_ppm.value:+.3f} ppm of the carrier; " if r.cfo_ppm else ""
    rows = [("CFO", r.cfo_hz, "Hz", f"{ppm}{r.cfo_subcarriers:+.4f} subcarriers; range +-{r.cfo_range_hz / 1e3:g} kHz"),
            ("sample clock", r.sample_clock_ppm, "ppm", "receiver relative to transmitter"),
            ("SNR (in-band)", r.snr_db, "dB", "52 of 64 carriers"),
            ("noise floor", r.noise_floor_dbfs, "dBFS", "silent gaps, whole band"),
            ("DC offset", r.dc_offset_dbc, "dBc", f"{r.dc_offset.real:+.5f}{r.dc_offset.imag:+.5f}j"),
            ("IQ gain (Q/I)", r.iq_gain_db, "dB", ""),
            ("IQ phase", r.iq_phase_deg, "deg", ""),
            ("burst level", r.level_dbfs, "dBFS", f"peak {r.peak_dbfs:.1f} dBFS, {r.clipped} samples clipped, "
                                                  f"PAPR {r.papr_db:.1f} dB"),
            ("compression", r.compression_db, "dB", "training peaks vs median (0: linear)")]
    out = [f"calibration: {where}, {r.n_bursts} bursts at {cap.sample_rate / 1e6:g} MS/s{freq}",
           f"  {'estimate':<15}{'value':>12}  {'unit':<5}{'95 % CI':>10}  notes"]
    for name, est, unit, note in rows:
        out.append(f"  {name:<15}{est.value:>12.3f}  {unit:<5}{'+-' + format(est.spread, '.3f'):>10}  {note}".rstrip())
    return out
