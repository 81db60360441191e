"""Calibration of a radio link: a known waveform sent repeatedly, the impairments it shows at the
receiver (CFO, sample clock, SNR, noise floor, DC offset, IQ imbalance, levels and compression),
the gains to set, and the per-device TOML file that ``tx`` / ``rx --calibration`` load.

- :mod:`.waveform`: :func:`calibration_waveform`, :data:`CAL_LAYOUT`
- :mod:`.estimate`: :func:`estimate` -> :class:`CalibrationResult`
- :mod:`.sources`: :class:`Loopback`, :func:`loopback_capture`, :func:`file_capture`, :func:`uhd_capture`
"""

from .estimate import CalibrationError, CalibrationResult, Estimate, correct_front_end, estimate
from .sources import Capture, Loopback, file_capture, loopback_capture, uhd_capture
from .waveform import CAL_LAYOUT, CalLayout, calibration_waveform

__all__ = ["CAL_LAYOUT", "CalLayout", "CalibrationError", "CalibrationResult", "Capture", "Estimate", "Loopback",
           "calibration_waveform", "correct_front_end", "estimate", "file_capture", "loopback_capture",
           "uhd_capture"]
