"""What ``tx`` and ``rx --calibration FILE`` do with a :class:`~sdr_semcom.calibration.calfile.CalibrationFile`.

- **tx**: shifts its output by ``cfo_correction_hz`` (:func:`precorrect` on arrays,
  :func:`tx_rotator` as a GNU Radio block between the burst source and the sink), so that the
  receiver the file was measured with sees no carrier offset.
- **rx**: removes the DC offset and the IQ imbalance before the burst receiver
  (:class:`CorrectingReceiver`, a :class:`~sdr_semcom.phy.ofdm.BurstReceiver`), when the file's
  ``rx_front_end`` says so. Cheap (a complex multiply-add per sample), and useful where the IQ
  imbalance's image would cap the SNR: an image at -20 dBc leaves at most 20 dB (calibration/README.md,
  "What the corrections are worth", has the figures).
- **gains**: ``tx_gain_db`` / ``rx_gain_db`` are for the radio front end to set: :func:`radio_gain`
  puts them into a USRP's :class:`~sdr_semcom.radio.UhdSettings` when ``--gain`` / ``--norm-gain``
  were not given, and says what it did (``not set`` only where there is no radio: ZeroMQ, a recording).
"""

from __future__ import annotations

import numpy as np

from dataclasses import replace

from ..phy.ofdm import BurstReceiver
from ..radio.options import RadioOptions
from .calfile import CalibrationFile
from .estimate import correct_front_end


def precorrect(samples: np.ndarray, shift_hz: float, sample_rate: float, start: int = 0) -> np.ndarray:
    """``samples`` (sample ``start`` onwards of a stream) shifted in frequency by ``shift_hz`` (complex64)."""
    n = np.arange(start, start + len(samples), dtype=np.float64)
    cycles = np.mod(n * (shift_hz / sample_rate), 1.0)
    return (np.asarray(samples) * np.exp(2j * np.pi * cycles)).astype(np.complex64)


def tx_rotator(cal: CalibrationFile, sample_rate: float):
    """A GNU Radio ``blocks.rotator_cc`` shifting by ``cal.cfo_correction_hz`` (None when it is 0)."""
    if not cal.cfo_correction_hz:
        return None
    from gnuradio import blocks

    return blocks.rotator_cc(2 * np.pi * cal.cfo_correction_hz / sample_rate)


class CorrectingReceiver(BurstReceiver):
    """A :class:`~sdr_semcom.phy.ofdm.BurstReceiver` whose input first loses a DC offset and an IQ imbalance.

    Parameters
    ----------
    dc_offset : complex
        Subtracted first.
    iq_gain_db, iq_phase_deg : float
        The IQ imbalance to undo (Q relative to I; :func:`~sdr_semcom.calibration.correct_front_end`).
    **kwargs
        :class:`~sdr_semcom.phy.ofdm.BurstReceiver`'s.
    """

    def __init__(self, dc_offset: complex = 0j, iq_gain_db: float = 0.0, iq_phase_deg: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.dc_offset, self.iq_gain_db, self.iq_phase_deg = complex(dc_offset), iq_gain_db, iq_phase_deg

    def feed(self, samples: np.ndarray):
        y = correct_front_end(samples, self.dc_offset, self.iq_gain_db, self.iq_phase_deg)
        return super().feed(y.astype(np.complex64))


def rx_receiver(cal: CalibrationFile | None) -> BurstReceiver | None:
    """The burst receiver ``rx`` runs with ``cal`` (None: the default one)."""
    if cal is None or not cal.rx_front_end:
        return None
    return CorrectingReceiver(cal.dc_offset, cal.iq_gain_db, cal.iq_phase_deg)


def radio_gain(cal: CalibrationFile, radio: RadioOptions, role: str) -> tuple[RadioOptions, str | None]:
    """The front end ``role`` opens with ``cal``'s recommended gain, and the line that says what became of it.

    Parameters
    ----------
    cal : CalibrationFile
        Its ``tx_gain_db`` (``role="tx"``) or ``rx_gain_db`` (``"rx"``) is the recommendation.
    radio : RadioOptions
        The front end asked for; a USRP's (``kind="uhd"``) gets the recommended gain in its
        :class:`~sdr_semcom.radio.UhdSettings` unless ``gain`` or ``norm_gain`` was given (the user's
        choice wins). Every channel gets it (``rx --role both``: both of a B210's).
    role : str
        ``tx`` or ``rx``.

    Returns
    -------
    RadioOptions, str or None
        ``radio``, with the gain where it was set; the line (None: the file recommends no gain).
    """
    gain = cal.tx_gain_db if role == "tx" else cal.rx_gain_db
    if gain is None:
        return radio, None
    said = f"{role}: calibration recommends {role} gain {gain:.1f} dB"
    if radio.kind != "uhd":
        where = "ZeroMQ" if radio.kind == "zmq" else "a recording (--radio file)"
        return radio, f"{said}: not set (no radio to set it on: {where})"
    s = radio.uhd
    if s.gain is not None or s.norm_gain is not None:
        given = f"--gain {s.gain:g} dB" if s.gain is not None else f"--norm-gain {s.norm_gain:g}"
        return radio, f"{said}; {given} given on the command line is used instead"
    chans = ", ".join(map(str, s.channels))
    return (replace(radio, uhd=replace(s, gain=float(gain))),
            f"{said}: set on the USRP (channel{'s' if len(s.channels) > 1 else ''} {chans}; --gain overrides it)")
