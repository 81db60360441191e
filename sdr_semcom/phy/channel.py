"""Channel emulation on GNU Radio's ``channels.channel_model``.

SNR convention: signal power over noise power *in the occupied band* (52 of the
64 carriers of :mod:`sdr_semcom.phy.ofdm`), with the burst's mean power as the
signal power (gaps between bursts do not count).  The transmitted bursts have
unit mean power and the multipath taps are normalised to unit energy, so the
noise added over the whole sampled band has power ``(64 / 52) / 10**(snr/10)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ofdm import NFFT, USED

#: The benchmark's multipath profile: 3 taps within 3 samples (normalised to unit energy).
MULTIPATH_TAPS: tuple[complex, ...] = (1.0, 0.35 * np.exp(1j), 0.0, 0.15 * np.exp(2.1j))


@dataclass(frozen=True)
class ChannelSpec:
    """Impairments of one link (transmitter to one receiver).

    Parameters
    ----------
    snr_db : float
        In-band SNR in dB (see module docstring).
    cfo_subcarriers : float
        Carrier frequency offset in units of the subcarrier spacing (fs / 64).
    clock_ppm : float
        Sample-clock error of the receiver relative to the transmitter, ppm.
    taps : tuple of complex
        Multipath impulse response at the sample rate (normalised on use).
    seed : int
        Noise seed (>= 1; GNU Radio seeds from the clock on 0).
    """

    snr_db: float = 30.0
    cfo_subcarriers: float = 0.0
    clock_ppm: float = 0.0
    taps: tuple[complex, ...] = (1.0,)
    seed: int = 1

    def __post_init__(self) -> None:
        if self.seed < 1:
            raise ValueError("channel seed must be >= 1 (0 would seed from the clock)")
        if not np.any(np.abs(self.taps) > 0):
            raise ValueError("channel taps must not all be zero")

    @property
    def noise_voltage(self) -> float:
        """Standard deviation of the complex noise GNU Radio adds per sample."""
        return float(np.sqrt((NFFT / len(USED)) / 10 ** (self.snr_db / 10)))

    @property
    def normalised_taps(self) -> list[complex]:
        taps = np.asarray(self.taps, dtype=np.complex128)
        return list(taps / np.linalg.norm(taps))

    def make_block(self, block_tags: bool = False):
        """A configured ``gnuradio.channels.channel_model``.

        ``block_tags=True`` stops stream tags (needed between GNU Radio's stock
        ``ofdm_tx`` and ``ofdm_rx`` in one process, whose length tags would leak).
        """
        from gnuradio import channels

        return channels.channel_model(
            noise_voltage=self.noise_voltage,
            frequency_offset=self.cfo_subcarriers / NFFT,
            epsilon=1.0 + self.clock_ppm * 1e-6,
            taps=self.normalised_taps,
            noise_seed=self.seed,
            block_tags=block_tags,
        )


def impaired(snr_db: float, seed: int = 1) -> ChannelSpec:
    """The benchmark's standard impairments: 0.3-subcarrier CFO, 20 ppm clock, 3-tap multipath."""
    return ChannelSpec(snr_db=snr_db, cfo_subcarriers=0.3, clock_ppm=20.0, taps=MULTIPATH_TAPS, seed=seed)
