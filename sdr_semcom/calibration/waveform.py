"""The calibration waveform: a known burst sent repeatedly, with silent gaps.

One period (samples at the link's sample rate, 64-point FFT as :mod:`sdr_semcom.phy.ofdm`)::

    S8     32 x 8     a sequence periodic at 8 samples (carriers +-8, +-16, +-24): coarse CFO,
                      unambiguous within +-4 subcarriers (+-fs/16)
    STF    10 x 32    the PHY's short training field: CFO within +-1 subcarrier, detection
    LTF    32 + 2x64  the PHY's long training field: timing (cross-correlation)
    TRAIN  17 x 64    one 64-sample symbol, carriers +6..+26 only (one-sided, random QPSK), sent
                      17 times: the first is the cyclic prefix of the other 16. Fine CFO (lag 64 and
                      lag 512), SNR (symbol-to-symbol differences), channel phase slope (timing to a
                      fraction of a sample), IQ imbalance (a one-sided signal has E[z^2] = 0, so
                      the received second-order statistics show the IQ imbalance alone), gain
                      compression (received against the known symbol)
    GAP    1024       zeros: noise floor and DC offset

Each field has unit mean power, like the PHY's bursts; the burst's period is
:data:`CAL_LAYOUT` ``.period`` (2848 samples, 2.8 ms at 1 MS/s).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ..phy.ofdm import LTF, NFFT, STF, USED

#: Carriers of the training symbol (signed index): one-sided, none within 5 of DC.
TRAIN_CARRIERS = np.arange(6, 27)


class CalLayout(NamedTuple):
    """Offsets of the calibration burst's fields (samples from the burst's first sample)."""

    s8_period: int = 8
    s8_len: int = 256
    stf_len: int = len(STF)
    ltf_len: int = len(LTF)
    train_reps: int = 16  # symbols after the first (which serves as cyclic prefix)
    gap: int = 1024

    @property
    def stf(self) -> int:
        return self.s8_len

    @property
    def ltf(self) -> int:
        return self.s8_len + self.stf_len

    @property
    def train(self) -> int:
        """First sample of the training field (its cyclic-prefix symbol)."""
        return self.ltf + self.ltf_len

    @property
    def burst_len(self) -> int:
        return self.train + NFFT * (self.train_reps + 1)

    @property
    def period(self) -> int:
        return self.burst_len + self.gap


CAL_LAYOUT = CalLayout()


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.sqrt(np.mean(np.abs(x) ** 2))


def _symbol(carriers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    grid = np.zeros(NFFT, np.complex128)
    grid[np.asarray(carriers) % NFFT] = np.exp(1j * np.pi / 2 * rng.integers(0, 4, len(carriers)) + 1j * np.pi / 4)
    return _unit(np.fft.ifft(grid))


@lru_cache(maxsize=1)
def fields() -> dict[str, np.ndarray]:
    """The known fields (complex128): ``s8`` (8 samples), ``train`` (one 64-sample symbol) and
    ``train_grid`` (its 64 frequency bins), ``burst`` (the whole burst, without the gap)."""
    rng = np.random.default_rng(20261129)
    s8_carriers = np.array([k for k in USED if k % 8 == 0])
    s8 = _symbol(s8_carriers, rng)[: CAL_LAYOUT.s8_period]
    train = _symbol(TRAIN_CARRIERS, rng)
    burst = np.concatenate([np.tile(s8, CAL_LAYOUT.s8_len // CAL_LAYOUT.s8_period), STF.astype(np.complex128),
                            LTF.astype(np.complex128), np.tile(train, CAL_LAYOUT.train_reps + 1)])
    out = {"s8": s8, "train": train, "train_grid": np.fft.fft(train), "burst": burst}
    for v in out.values():
        v.flags.writeable = False
    return out


def calibration_waveform(n_bursts: int = 32, lead: int | None = None) -> np.ndarray:
    """The calibration transmission: ``lead`` zeros (default: one gap), then ``n_bursts`` periods
    (burst + gap).

    Parameters
    ----------
    n_bursts : int
        Number of bursts (>= 3: the clock estimate fits a line through their arrival times).
    lead : int, optional
        Zeros before the first burst (default: the gap, so the first burst has a noise gap before it).

    Output
    ------
    complex64 samples, unit mean power within each burst, peak amplitude under 1 (|I|, |Q| < 1
    once scaled to a burst rms of -6 dBFS or less).
    """
    if n_bursts < 3:
        raise ValueError(f"calibration needs at least 3 bursts, got {n_bursts}")
    lead = CAL_LAYOUT.gap if lead is None else int(lead)
    period = np.concatenate([fields()["burst"], np.zeros(CAL_LAYOUT.gap)])
    return np.concatenate([np.zeros(lead), np.tile(period, n_bursts)]).astype(np.complex64)
