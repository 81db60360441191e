"""Gain recommendation: keep the transmitter out of compression, the receiver's converter below
full scale, and the SNR in the operating range.

The rules (:func:`recommend`), from one calibration capture taken at the current gains:

1. **Receiver clipping** (samples at full scale): lower the receive gain by at least 6 dB (the
   level of a clipped capture is underestimated) and change nothing else: clipping also looks
   like compression and costs SNR, so the other figures wait for a clean capture.
2. **Transmitter compression** (the training field's peaks compressed by more than
   ``compression_db``): lower the transmit gain by ``10 log10(compression / (compression_db / 2))``
   dB, at least 2 (a soft amplifier's compression in dB falls with the fourth power of the
   drive's amplitude: this aims at a quarter of the limit, with margin for amplifiers that are
   not so soft).
3. **SNR** outside ``snr_lo_db .. snr_hi_db`` (the PHY decodes QPSK from ~6 dB and 16-QAM from
   ~10 dB; 20-30 dB leaves margin for fading without wasting power): move the transmit gain
   towards the middle of the range (at most ``max_step_db`` a step: compression is checked again
   on the next capture). A rise is limited to the headroom left before the peaks' compression
   reaches half the limit (compression in dB grows with the fourth power of the drive's
   amplitude: ``5 log10(compression_db / 2 / measured)`` dB); under 1 dB of headroom the advice is
   to shorten the path instead.
4. **Receive level**: the data bursts' peaks (max(|I|, |Q|) exceeded by 1e-4 of samples,
   :data:`DATA_PEAK_DB` above their rms) should sit ``backoff_db`` below full scale; the receive
   gain moves the burst rms (after the transmit change) to that target when it is more than
   ``tolerance_db`` away. (Where the receiver's own noise dominates, as in the loopback, this
   leaves the SNR as it is; where the converter's does, raising it helps.)

With a live radio the steps are a loop (:func:`tune_gains`): set the gains, capture, estimate,
apply the advice, until it changes nothing (converged) or ``max_rounds``. ``sdr-semcom
calibrate`` runs one round and prints the advice; the per-device file keeps the recommended gains
(its ``[gains]`` table), which the radio front end sets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from .estimate import CalibrationResult

#: PHY bursts (every modulation): max(|I|, |Q|)^2 over the mean power, exceeded by 1e-4 of samples, dB
#: (measured on 40 bursts of 1000 random bytes per modulation: 9.2-9.7; tests check it).
DATA_PEAK_DB = 9.7


@dataclass(frozen=True)
class GainPolicy:
    """Targets of :func:`recommend` (defaults: a USRP B200/B210's gain ranges)."""

    backoff_db: float = 3.0
    snr_lo_db: float = 20.0
    snr_hi_db: float = 30.0
    compression_db: float = 0.5
    tolerance_db: float = 1.5
    max_step_db: float = 10.0
    tx_range: tuple[float, float] = (0.0, 89.75)
    rx_range: tuple[float, float] = (0.0, 76.0)

    @property
    def target_rms_dbfs(self) -> float:
        """Burst rms that puts the data bursts' peaks ``backoff_db`` below full scale."""
        return -(self.backoff_db + DATA_PEAK_DB)


@dataclass(frozen=True)
class GainAdvice:
    """What to set: the recommended gains (absolute, dB), the changes, and why."""

    tx_gain_db: float
    rx_gain_db: float
    tx_change_db: float
    rx_change_db: float
    reasons: tuple[str, ...]

    @property
    def converged(self) -> bool:
        """Nothing to change."""
        return self.tx_change_db == 0 and self.rx_change_db == 0

    def lines(self) -> list[str]:
        """One line per change (or one saying the gains are right)."""
        out = []
        for what, change in (("tx", self.tx_change_db), ("rx", self.rx_change_db)):
            if change:
                out.append(f"{'raise' if change > 0 else 'lower'} {what} gain by {abs(change):.1f} dB "
                           f"(to {self.tx_gain_db if what == 'tx' else self.rx_gain_db:.1f} dB)")
        return (out or ["gains are right: keep them"]) + [f"  {r}" for r in self.reasons]


def _clamp(v: float, lo: float, hi: float) -> float:
    return min(max(v, lo), hi)


def _round(v: float) -> float:
    return round(v * 2) / 2  # radios step gains in 0.25-1 dB


def recommend(result: CalibrationResult, tx_gain_db: float = 0.0, rx_gain_db: float = 0.0,
              policy: GainPolicy = GainPolicy()) -> GainAdvice:
    """Gains to set after a capture taken at ``tx_gain_db`` / ``rx_gain_db`` (module docstring's rules)."""
    reasons: list[str] = []
    step = policy.max_step_db
    dtx = drx = 0.0
    snr, comp, level = result.snr_db.value, result.compression_db.value, result.level_dbfs.value
    target = policy.target_rms_dbfs
    if result.clipped:
        drx = -max(6.0, level - target + 6.0)
        reasons.append(f"{result.clipped} samples at full scale (peak {result.peak_dbfs:.1f} dBFS): receiver clips")
    else:
        # a soft amplifier's compression (dB) grows with the 4th power of the drive's amplitude: the
        # transmit gain may rise by this much before the training peaks reach half the limit
        headroom = 5 * math.log10(policy.compression_db / 2 / max(-comp, 0.02))
        if comp < -policy.compression_db:
            dtx = -max(2.0, 10 * math.log10(-comp / (policy.compression_db / 2)))
            reasons.append(f"transmitter compresses: training peaks {abs(comp):.1f} dB low (limit "
                           f"{policy.compression_db:.1f} dB)")
        elif snr > policy.snr_hi_db:
            dtx = (policy.snr_lo_db + policy.snr_hi_db) / 2 - snr
            reasons.append(f"SNR {snr:.1f} dB above {policy.snr_hi_db:.0f} dB: less power will do")
        elif snr < policy.snr_lo_db:
            dtx = min((policy.snr_lo_db + policy.snr_hi_db) / 2 - snr, headroom)
            if dtx < 1.0:
                dtx = 0.0
                reasons.append(f"SNR {snr:.1f} dB below {policy.snr_lo_db:.0f} dB, but the transmitter is near "
                               "compression: shorten the path (less attenuation, closer antennas)")
            else:
                reasons.append(f"SNR {snr:.1f} dB below {policy.snr_lo_db:.0f} dB"
                               + (f" (step limited to {headroom:.1f} dB: compression)" if dtx == headroom else ""))
        dtx = _clamp(dtx, -step, step)
        if abs(target - (level + dtx)) > policy.tolerance_db:
            drx = target - (level + dtx)
            reasons.append(f"burst rms {level:.1f} dBFS{f' ({level + dtx:.1f} after the tx change)' if dtx else ''}, "
                           f"target {target:.1f} dBFS (data peaks {policy.backoff_db:.0f} dB below full scale)")
    drx = _clamp(drx, -step, step)
    tx = _clamp(_round(tx_gain_db + dtx), *policy.tx_range)
    rx = _clamp(_round(rx_gain_db + drx), *policy.rx_range)
    if tx != _round(tx_gain_db + dtx) or rx != _round(rx_gain_db + drx):
        reasons.append(f"at the limits: tx {policy.tx_range[0]:g}..{policy.tx_range[1]:g} dB, "
                       f"rx {policy.rx_range[0]:g}..{policy.rx_range[1]:g} dB")
    return GainAdvice(tx, rx, tx - tx_gain_db, rx - rx_gain_db, tuple(reasons))


def tune_gains(measure: Callable[[float, float], CalibrationResult], tx_gain_db: float = 0.0,
               rx_gain_db: float = 0.0, policy: GainPolicy = GainPolicy(),
               max_rounds: int = 8) -> list[tuple[float, float, CalibrationResult, GainAdvice]]:
    """Step the gains until :func:`recommend` changes nothing.

    Parameters
    ----------
    measure : callable
        ``measure(tx_gain_db, rx_gain_db) -> CalibrationResult``: set the gains, capture the calibration
        waveform, estimate (a live radio, or :class:`~sdr_semcom.calibration.Loopback` in tests).

    Output
    ------
    One ``(tx_gain_db, rx_gain_db, result, advice)`` per round; the last advice is converged unless
    ``max_rounds`` ran out.
    """
    rounds = []
    tx, rx = tx_gain_db, rx_gain_db
    for _ in range(max_rounds):
        result = measure(tx, rx)
        advice = recommend(result, tx, rx, policy)
        rounds.append((tx, rx, result, advice))
        if advice.converged:
            break
        tx, rx = advice.tx_gain_db, advice.rx_gain_db
    return rounds
