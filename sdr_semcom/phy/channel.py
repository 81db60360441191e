"""Channel emulation: clock error, multipath, CFO and AWGN, seeded; receiver front-end
impairments (IQ imbalance, DC offset, a spurious tone).

Two engines apply the same model, in the same order (the order of GNU Radio's
``channels.channel_model``): the receiver's sample clock reads the signal ``1 + ppm``
faster (fractional resampling), the multipath taps filter it, the CFO rotates it,
complex white Gaussian noise is added. The ``semcom`` engine then applies the receiver's
front end (the ``gnuradio`` engine refuses these impairments): IQ imbalance
``y = mu z + nu conj(z)`` with ``mu = (1 + g exp(-j phi)) / 2``, ``nu = (1 - g exp(j phi)) / 2``
(``g``: the Q branch's gain relative to I, ``phi``: its phase error), then a DC offset
(LO leakage; equal on I and Q, phase 45 degrees) and a tone, both given in dB relative to the
burst power (dBc; the bursts have unit mean power). The front end and the interpolator's table
live in :mod:`sdr_semcom.channels.impairments` (plain numpy), where engine ``sionna``'s process takes
them, with the same clock/CFO rule in numpy, to apply after its fading.

* ``engine="semcom"`` (the default): :class:`ChannelEmulator`, one compiled pass per block
  of 2048 samples (16-tap Kaiser-windowed-sinc interpolator at 1024 phases: -34 dB error on
  an OFDM burst against ideal resampling, where GNU Radio's MMSE resampler gives -22 dB;
  Gaussian noise from SplitMix64 and a ziggurat). Its output depends only on the input and
  the seed, never on how the scheduler chunks the stream: runs repeat sample for sample.
  ~15 ns of CPU a sample.
* ``engine="gnuradio"``: GNU Radio's ``channels.channel_model``, a hierarchy of six C++
  blocks (MMSE resampler, FIR, signal source and mixer, a pool of 8192 noise samples,
  adder), ~25 % more CPU in a loopback. Its output varies slightly with the scheduler's
  chunking, so a run's lost packets can differ by one from the next run's.

SNR convention: signal power over noise power *in the occupied band* (52 of the
64 carriers of :mod:`sdr_semcom.phy.ofdm`), with the burst's mean power as the
signal power (gaps between bursts do not count).  The transmitted bursts have
unit mean power and the multipath taps are normalised to unit energy, so the
noise added over the whole sampled band has power ``(64 / 52) / 10**(snr/10)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..channels.impairments import FrontEnd, Impairments, interpolator  # noqa: F401 (re-exported)
from ..channels.spec import FadingSpec
from . import kernels
from .ofdm import NFFT, USED

ENGINES = ("semcom", "gnuradio", "sionna")

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
    engine : str
        ``semcom`` (:class:`ChannelEmulator`, repeatable sample for sample) or ``gnuradio``
        (``channels.channel_model``, without the front-end impairments below);
        :func:`sdr_semcom.blocks.make_channel_block` makes the block. ``sionna``: 3GPP fading
        from Sionna (``fading``) and AWGN, in its own process (:mod:`sdr_semcom.channels`;
        ``sdr-semcom channel``, offline :mod:`sdr_semcom.channels.fade_file`), then the clock error,
        CFO and front end above (:mod:`sdr_semcom.channels.impairments`, the same math in numpy);
        ``taps`` are refused there (the fading is the multipath).
    dc_offset_dbc : float or None
        DC offset power relative to the burst power, dB (at most +20; None: none). The offset is
        ``10**(dBc/20) exp(j pi/4)``.
    tone_dbc : float or None
        Power of a spurious tone (LO spur, interferer) relative to the burst power, dB (at most
        +20; None: none).
    tone_subcarriers : float
        The tone's frequency in units of the subcarrier spacing (fs / 64), within +-32.
    iq_gain_db, iq_phase_deg : float
        IQ imbalance: gain of the Q branch relative to I (within +-6 dB) and its phase error
        (within +-45 degrees).
    fading : FadingSpec or None
        The fading model of engine ``sionna`` (None there: :class:`FadingSpec`'s defaults).
    """

    snr_db: float = 30.0
    cfo_subcarriers: float = 0.0
    clock_ppm: float = 0.0
    taps: tuple[complex, ...] = (1.0,)
    seed: int = 1
    engine: str = "semcom"
    dc_offset_dbc: float | None = None
    tone_dbc: float | None = None
    tone_subcarriers: float = 0.0
    iq_gain_db: float = 0.0
    iq_phase_deg: float = 0.0
    fading: FadingSpec | None = None

    def __post_init__(self) -> None:
        if self.seed < 1:
            raise ValueError("channel seed must be >= 1 (0 would seed from the clock)")
        if self.engine not in ENGINES:
            raise ValueError(f"unknown channel engine '{self.engine}' ({', '.join(ENGINES)})")
        if not math.isfinite(self.snr_db):
            raise ValueError(f"channel snr_db must be a finite number, got {self.snr_db}")
        self.impairments  # checks the ranges (ValueError naming the field)
        if self.engine == "gnuradio" and self.front_end:
            raise ValueError("channel engine 'gnuradio' has no DC offset, tone or IQ imbalance: use engine 'semcom' "
                             "or leave out dc_offset_dbc, tone_dbc, iq_gain_db and iq_phase_deg")
        if self.fading is not None and self.engine != "sionna":
            raise ValueError(f"a fading model ({self.fading.model}) needs engine 'sionna', not '{self.engine}'")
        if self.engine == "sionna" and len(self.taps) > 1:
            raise ValueError("channel engine 'sionna': the fading model is the multipath; leave out taps")
        if not np.all(np.isfinite(np.asarray(self.taps, dtype=np.complex128))):
            raise ValueError("channel taps must be finite")
        if not np.any(np.abs(self.taps) > 0):
            raise ValueError("channel taps must not all be zero")

    @property
    def noise_voltage(self) -> float:
        """Standard deviation of the complex noise GNU Radio adds per sample."""
        return float(np.sqrt((NFFT / len(USED)) / 10 ** (self.snr_db / 10)))

    @property
    def impairments(self) -> Impairments:
        """CFO, clock error and front end (what engine ``sionna`` applies after its fading)."""
        return Impairments.of(self)

    @property
    def front_end(self) -> bool:
        """True where the receiver's front end adds an impairment (DC offset, tone, IQ imbalance)."""
        return self.impairments.front_end

    @property
    def normalised_taps(self) -> list[complex]:
        taps = np.asarray(self.taps, dtype=np.complex128)
        return list(taps / np.linalg.norm(taps))

    @property
    def frequency_offset(self) -> float:
        """Carrier frequency offset in cycles per sample."""
        return self.cfo_subcarriers / NFFT

    @property
    def clock_ratio(self) -> float:
        """Input samples per output sample (``1 + ppm 1e-6``; GNU Radio's ``epsilon``)."""
        return 1.0 + self.clock_ppm * 1e-6


_ZIGGURAT = kernels.normal_tables()


class ChannelEmulator:
    """Streaming channel (see the module docstring), usable alone or in a GNU Radio block.

    Parameters
    ----------
    spec : ChannelSpec
        The impairments and the noise seed.

    Input
    -----
    :meth:`process` takes complex samples in any chunk size.

    Output
    ------
    :meth:`process` returns the channel's output samples that the input so far determines
    (complex64; about ``len / (1 + ppm)``, minus the interpolator's 8-sample look-ahead);
    :meth:`flush` the rest. Output sample m is the input read at time ``m (1 + ppm 1e-6)``.
    """

    def __init__(self, spec: ChannelSpec) -> None:
        self.spec = spec
        self._interp = interpolator()
        self._lead = self._interp.shape[1] // 2 - 1
        self._step = spec.clock_ratio
        taps = np.asarray(spec.normalised_taps, np.complex128)
        freq = spec.frequency_offset
        self._em = kernels.EmulatorState(
            step=self._step, interp=self._interp, taps=taps, hist=np.zeros(taps.size - 1, np.complex128),
            ramp=np.exp(2j * np.pi * freq * np.arange(2048)),  # the kernel's block: 2048 outputs
            freq=freq, sigma=spec.noise_voltage / math.sqrt(2.0),
            state=np.array([spec.seed], np.uint64),  # SplitMix64 noise generator
            zig=_ZIGGURAT)
        self._buf = np.zeros(self._lead, np.complex64)  # silence before the first sample
        self._base = -self._lead  # stream index of _buf[0] (the input's first sample is 0)
        self._m = 0  # index of the next output sample
        self._front_end = FrontEnd(spec) if spec.front_end else None

    @property
    def step(self) -> float:
        """Input samples per output sample."""
        return self._step

    def process(self, x: np.ndarray, max_out: int | None = None) -> np.ndarray:
        """Add ``x`` to the stream; return the outputs it completes (at most ``max_out``: the
        others come with the next call)."""
        buf = np.concatenate([self._buf, np.asarray(x, np.complex64)])
        k_len = self._interp.shape[1]
        # output m reads buf[floor(t) + 1 - lead + K - 1] at most (t = m step - base, rounded up to
        # the next phase): t < len(buf) - K + lead
        limit = (buf.size - k_len + self._lead + self._base) / self._step
        n_out = max(0, math.ceil(limit) - 1 - self._m)
        if max_out is not None:
            n_out = min(n_out, max_out)
        out = np.empty(n_out, np.complex64)
        kernels.channel_pass(buf, float(-self._base), self._m, n_out, self._em, out)
        if self._front_end is not None:
            out = self._front_end.apply(out, self._m)
        self._m += n_out
        keep = max(int(self._m * self._step) - self._base - self._lead, 0)  # first sample still needed
        self._buf = buf[keep:]
        self._base += keep
        return out

    def flush(self) -> np.ndarray:
        """The outputs that read the input's last samples (the look-ahead is filled with zeros)."""
        return self.process(np.zeros(self._interp.shape[1] + 1, np.complex64))


def impaired(snr_db: float, seed: int = 1, engine: str = "semcom") -> ChannelSpec:
    """The benchmark's standard impairments: 0.3-subcarrier CFO, 20 ppm clock, 3-tap multipath."""
    return ChannelSpec(snr_db=snr_db, cfo_subcarriers=0.3, clock_ppm=20.0, taps=MULTIPATH_TAPS, seed=seed,
                       engine=engine)
