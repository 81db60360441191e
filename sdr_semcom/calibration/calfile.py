"""The per-device calibration file (TOML): what ``sdr-semcom calibrate`` measured and what ``tx`` /
``rx --calibration FILE`` apply.

Layout (``calibration/README.md`` explains every key; ``calibration/loopback_example.toml`` is one)::

    format = 1
    [device]      source, args (UHD device args), freq_hz, sample_rate, date (UTC, ISO 8601), n_bursts
    [estimates]   each measured figure: {value, spread} (spread: 95 % CI half-width), or a number
    [correction]  cfo_correction_hz (tx shifts its output by it), dc_offset [re, im], iq_gain_db,
                  iq_phase_deg, rx_front_end (rx removes the DC offset and IQ imbalance first)
    [gains]       tx_gain_db, rx_gain_db: recommended; the radio front end sets them
                  (measured_tx_gain_db, measured_rx_gain_db: the gains of the capture)

:meth:`CalibrationFile.load` checks every key (type and range) and names the file, table and key
of what is wrong (:class:`~sdr_semcom.config.ConfigError`, as the link configuration does).
"""

from __future__ import annotations

import datetime
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import ConfigError
from .estimate import CalibrationResult, Estimate

FORMAT = 1
#: [estimates] keys written from a CalibrationResult (Estimate-valued, then plain numbers)
ESTIMATE_KEYS = ("cfo_hz", "cfo_ppm", "sample_clock_ppm", "snr_db", "noise_floor_dbfs", "dc_offset_dbc",
                 "iq_gain_db", "iq_phase_deg", "level_dbfs", "compression_db")
NUMBER_KEYS = ("cfo_range_hz", "peak_dbfs", "clipped", "papr_db")


@dataclass(frozen=True)
class CalibrationFile:
    """One device's calibration (see the module docstring for the file).

    Parameters
    ----------
    sample_rate : float
        Rate of the calibration capture, Hz.
    freq_hz : float or None
        Centre frequency (None: not given).
    cfo_correction_hz : float
        The transmitter shifts its output by this (``-cfo_hz`` measured): the receiver then sees
        no offset. 0: no correction.
    dc_offset : complex
        Receiver DC offset (full-scale units), subtracted by ``rx`` when ``rx_front_end``.
    iq_gain_db, iq_phase_deg : float
        Receiver IQ imbalance (Q relative to I), undone by ``rx`` when ``rx_front_end``.
    rx_front_end : bool
        Whether ``rx`` corrects DC offset and IQ imbalance before its burst receiver.
    tx_gain_db, rx_gain_db : float or None
        Recommended gains, for the radio front end to set (None: no recommendation).
    source, args, date : str
        Where the capture came from (``loopback``, ``file``, ``uhd``), the UHD device args or file
        path, and when (UTC, ISO 8601).
    n_bursts : int
    estimates : dict
        Every measured figure: name -> :class:`Estimate` or number.
    measured_gains : tuple of float or None
        (tx, rx) gains the capture was taken at.
    """

    sample_rate: float
    freq_hz: float | None = None
    cfo_correction_hz: float = 0.0
    dc_offset: complex = 0j
    iq_gain_db: float = 0.0
    iq_phase_deg: float = 0.0
    rx_front_end: bool = True
    tx_gain_db: float | None = None
    rx_gain_db: float | None = None
    source: str = "loopback"
    args: str = ""
    date: str = ""
    n_bursts: int = 0
    estimates: dict = field(default_factory=dict, compare=False)
    measured_gains: tuple[float, float] | None = None

    @classmethod
    def from_result(cls, result: CalibrationResult, source: str, args: str = "",
                    gains: tuple[float, float] | None = None, measured_gains: tuple[float, float] | None = None,
                    rx_front_end: bool = True) -> "CalibrationFile":
        """The file for a measurement: ``gains`` the recommended (tx, rx), ``measured_gains`` those of the capture."""
        est = {k: getattr(result, k) for k in ESTIMATE_KEYS if getattr(result, k) is not None}
        est.update({k: getattr(result, k) for k in NUMBER_KEYS})
        return cls(sample_rate=result.sample_rate, freq_hz=result.freq_hz, cfo_correction_hz=-result.cfo_hz.value,
                   dc_offset=result.dc_offset, iq_gain_db=result.iq_gain_db.value,
                   iq_phase_deg=result.iq_phase_deg.value, rx_front_end=rx_front_end,
                   tx_gain_db=gains[0] if gains else None, rx_gain_db=gains[1] if gains else None,
                   source=source, args=args, n_bursts=result.n_bursts, estimates=est,
                   date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                   measured_gains=measured_gains)

    # ------------------------------------------------------------------------------------ writing
    def to_toml(self) -> str:
        """The file's text."""
        lines = ["# sdr-semcom calibration (written by 'sdr-semcom calibrate'; read by tx / rx --calibration)",
                 "# calibration/README.md explains every key", f"format = {FORMAT}", "", "[device]",
                 f"source = {_str(self.source)}", f"args = {_str(self.args)}"]
        if self.freq_hz is not None:
            lines.append(f"freq_hz = {_num(self.freq_hz)}")
        lines += [f"sample_rate = {_num(self.sample_rate)}", f"date = {_str(self.date)}", f"n_bursts = {self.n_bursts}",
                  "", "[estimates]  # value and spread (half-width of the 95 % confidence interval)"]
        for k, v in self.estimates.items():
            if isinstance(v, Estimate):
                lines.append(f"{k} = {{ value = {_short(v.value)}, spread = {_short(v.spread)} }}")
            else:
                lines.append(f"{k} = {_short(v)}")
        lines += ["", "[correction]",
                  f"cfo_correction_hz = {_num(self.cfo_correction_hz)}  # tx shifts its output by this",
                  f"dc_offset = [{_num(self.dc_offset.real)}, {_num(self.dc_offset.imag)}]  # rx subtracts it (re, im)",
                  f"iq_gain_db = {_num(self.iq_gain_db)}  # Q relative to I; rx undoes it",
                  f"iq_phase_deg = {_num(self.iq_phase_deg)}",
                  f"rx_front_end = {'true' if self.rx_front_end else 'false'}  # rx corrects DC and IQ first"]
        lines += ["", "[gains]  # recommended; the radio front end sets them"]
        for k in ("tx_gain_db", "rx_gain_db"):
            if getattr(self, k) is not None:
                lines.append(f"{k} = {_num(getattr(self, k))}")
        if self.measured_gains is not None:
            lines += [f"measured_tx_gain_db = {_num(self.measured_gains[0])}",
                      f"measured_rx_gain_db = {_num(self.measured_gains[1])}"]
        return "\n".join(lines) + "\n"

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_toml())
        return path

    # ------------------------------------------------------------------------------------ reading
    @classmethod
    def load(cls, path: str | Path) -> "CalibrationFile":
        """Read and check a calibration file.

        Raises
        ------
        ConfigError
            Unreadable file, unknown or missing key, a value of the wrong type or out of range.
        """
        try:
            data = tomllib.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read calibration file: {exc}") from exc
        return from_dict(data, str(path))


def _num(v: float) -> str:
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return str(int(v))
    return repr(float(v))


def _short(v: float) -> str:
    """A measured figure to 7 significant digits (the corrections keep every digit)."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return str(int(v))
    return repr(float(f"{float(v):.7g}"))


def _str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------------------- checks
def _number(where: str, v, lo: float = -math.inf, hi: float = math.inf) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ConfigError(f"{where}: must be a finite number, got {v!r}")
    if not lo <= v <= hi:
        raise ConfigError(f"{where}: must be within {lo:g}..{hi:g}, got {v!r}")
    return float(v)


def _table(where: str, data: dict, name: str, known: dict, required: tuple[str, ...] = ()) -> dict:
    t = data.get(name, {})
    if not isinstance(t, dict):
        raise ConfigError(f"{where}: [{name}] must be a table, got {t!r}")
    unknown = set(t) - set(known)
    if unknown:
        raise ConfigError(f"{where}: [{name}] unknown keys {sorted(unknown)} (known: {', '.join(known)})")
    for k in required:
        if k not in t:
            raise ConfigError(f"{where}: [{name}] {k}: missing")
    return {k: known[k](f"{where}: [{name}] {k}", v) for k, v in t.items()}


def _string(where: str, v) -> str:
    if not isinstance(v, str):
        raise ConfigError(f"{where}: must be a string, got {v!r}")
    return v


def _flag(where: str, v) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(f"{where}: must be true or false, got {v!r}")
    return v


def _dc(where: str, v) -> complex:
    if not isinstance(v, list) or len(v) != 2:
        raise ConfigError(f"{where}: must be [re, im] (two numbers), got {v!r}")
    return complex(_number(f"{where}[0]", v[0], -1e3, 1e3), _number(f"{where}[1]", v[1], -1e3, 1e3))


def _estimate(where: str, v) -> Estimate | float:
    if isinstance(v, dict):
        if set(v) != {"value", "spread"}:
            raise ConfigError(f"{where}: must be {{ value = ..., spread = ... }}, got keys {sorted(v)}")
        vals = []
        for k in ("value", "spread"):
            x = v[k]
            if isinstance(x, bool) or not isinstance(x, (int, float)):
                raise ConfigError(f"{where}.{k}: must be a number, got {x!r}")
            vals.append(float(x))
        return Estimate(*vals)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(f"{where}: must be a number or {{ value, spread }}, got {v!r}")
    return float(v)


_DEVICE = {"source": lambda w, v: _string(w, v), "args": lambda w, v: _string(w, v),
           "freq_hz": lambda w, v: _number(w, v, 0, 1e12), "sample_rate": lambda w, v: _number(w, v, 1.0, 1e10),
           "date": lambda w, v: _string(w, v), "n_bursts": lambda w, v: int(_number(w, v, 0, 1e9))}
_CORRECTION = {"cfo_correction_hz": lambda w, v: _number(w, v), "dc_offset": _dc,
               "iq_gain_db": lambda w, v: _number(w, v, -6, 6), "iq_phase_deg": lambda w, v: _number(w, v, -45, 45),
               "rx_front_end": _flag}
_GAINS = {k: (lambda w, v: _number(w, v, -50, 200))
          for k in ("tx_gain_db", "rx_gain_db", "measured_tx_gain_db", "measured_rx_gain_db")}


def from_dict(data: dict, source: str = "calibration") -> CalibrationFile:
    """A parsed TOML document -> :class:`CalibrationFile`, every key checked (``source`` names the file)."""
    known = ("format", "device", "estimates", "correction", "gains")
    unknown = set(data) - set(known)
    if unknown:
        raise ConfigError(f"{source}: unknown keys {sorted(unknown)} (known: {', '.join(known)})")
    if data.get("format") != FORMAT:
        raise ConfigError(f"{source}: format: must be {FORMAT} (a file written by 'sdr-semcom calibrate'), "
                          f"got {data.get('format')!r}")
    dev = _table(source, data, "device", _DEVICE, ("sample_rate",))
    corr = _table(source, data, "correction", _CORRECTION, ("cfo_correction_hz",))
    gains = _table(source, data, "gains", _GAINS)
    est = data.get("estimates", {})
    if not isinstance(est, dict):
        raise ConfigError(f"{source}: [estimates] must be a table, got {est!r}")
    est = {k: _estimate(f"{source}: [estimates] {k}", v) for k, v in est.items()}
    if abs(corr["cfo_correction_hz"]) >= dev["sample_rate"] / 2:
        raise ConfigError(f"{source}: [correction] cfo_correction_hz: must be within +-sample_rate / 2 "
                          f"({dev['sample_rate'] / 2:g} Hz), got {corr['cfo_correction_hz']!r}")
    measured = None
    if "measured_tx_gain_db" in gains and "measured_rx_gain_db" in gains:
        measured = (gains["measured_tx_gain_db"], gains["measured_rx_gain_db"])
    return CalibrationFile(
        sample_rate=dev["sample_rate"], freq_hz=dev.get("freq_hz"), cfo_correction_hz=corr["cfo_correction_hz"],
        dc_offset=corr.get("dc_offset", 0j), iq_gain_db=corr.get("iq_gain_db", 0.0),
        iq_phase_deg=corr.get("iq_phase_deg", 0.0), rx_front_end=corr.get("rx_front_end", True),
        tx_gain_db=gains.get("tx_gain_db"), rx_gain_db=gains.get("rx_gain_db"), source=dev.get("source", ""),
        args=dev.get("args", ""), date=dev.get("date", ""), n_bursts=dev.get("n_bursts", 0), estimates=est,
        measured_gains=measured)
