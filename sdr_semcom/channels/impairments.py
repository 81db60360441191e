"""The receiver's impairments in plain numpy: sample-clock error, carrier frequency offset, front end.

One implementation for both engines. :class:`sdr_semcom.phy.channel.ChannelEmulator` (engine
``semcom``) uses :func:`interpolator`'s table in its compiled pass and :class:`FrontEnd` after it;
the Sionna channel process (:class:`~.sionna_stream.FadingStream`, ``.venv-sionna``: no numba, no
GNU Radio, no PHY) uses :class:`ClockAndCfo` (the compiled pass's resampling and rotation rule in
numpy) and the same :class:`FrontEnd`. Nothing here imports GNU Radio, numba or the PHY.

The model (:mod:`sdr_semcom.phy.channel`'s docstring): the receiver's sample clock reads the signal
``1 + ppm 1e-6`` faster (polyphase Kaiser-windowed-sinc interpolator, nearest of 1024 phases), the
CFO rotates it by ``exp(2j pi f m)`` (``f = cfo_subcarriers / 64`` cycles per sample, ``m`` the
output index), then the front end: IQ imbalance ``y = mu z + nu conj(z)``, a DC offset and a tone.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: Subcarriers of the PHY's FFT (sdr_semcom.phy.ofdm.NFFT): CFO and tone are given in units of fs / NFFT.
NFFT = 64


@dataclass(frozen=True)
class Impairments:
    """A receiver's impairments besides the channel and noise (the keys of ``[auth]`` / ``[eve]``).

    Parameters
    ----------
    cfo_subcarriers : float
        Carrier frequency offset, in units of the subcarrier spacing (fs / 64).
    clock_ppm : float
        Sample-clock error of the receiver relative to the transmitter, ppm (within +-1e5).
    dc_offset_dbc, tone_dbc : float or None
        DC offset (phase 45 degrees) and spurious tone power relative to the burst power, dB (<= +20; None: none).
    tone_subcarriers : float
        The tone's frequency in subcarrier spacings (within +-32).
    iq_gain_db, iq_phase_deg : float
        IQ imbalance: the Q branch's gain relative to I (within +-6 dB) and its phase error (within +-45 degrees).

    Raises
    ------
    ValueError
        A value out of range (the message names it: ``channel NAME must be ...``).
    """

    cfo_subcarriers: float = 0.0
    clock_ppm: float = 0.0
    dc_offset_dbc: float | None = None
    tone_dbc: float | None = None
    tone_subcarriers: float = 0.0
    iq_gain_db: float = 0.0
    iq_phase_deg: float = 0.0

    def __post_init__(self) -> None:
        for name in ("cfo_subcarriers", "clock_ppm", "tone_subcarriers", "iq_gain_db", "iq_phase_deg"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                raise ValueError(f"channel {name} must be a finite number, got {v!r}")
        for name in ("dc_offset_dbc", "tone_dbc"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v)
                                  or v > 20.0):
                raise ValueError(f"channel {name} must be a finite number of dB <= 20 (or left out), got {v}")
        for name, limit in (("tone_subcarriers", NFFT / 2), ("iq_gain_db", 6.0), ("iq_phase_deg", 45.0)):
            if abs(getattr(self, name)) > limit:
                raise ValueError(f"channel {name} must be within +-{limit:g}, got {getattr(self, name)}")
        if abs(self.clock_ppm) >= 1e5:
            raise ValueError(f"channel clock_ppm must be within +-1e5 (10 %), got {self.clock_ppm}")

    @classmethod
    def of(cls, spec) -> "Impairments":
        """The impairments of anything with these fields (a :class:`~sdr_semcom.phy.channel.ChannelSpec`)."""
        return cls(**{f: getattr(spec, f) for f in cls.__dataclass_fields__})

    @property
    def front_end(self) -> bool:
        """True where the receiver's front end adds an impairment (DC offset, tone, IQ imbalance)."""
        return (self.dc_offset_dbc is not None or self.tone_dbc is not None or self.iq_gain_db != 0.0
                or self.iq_phase_deg != 0.0)

    @property
    def any(self) -> bool:
        """True where anything is impaired."""
        return self != Impairments()

    def args(self, prefix: str = "") -> list[str]:
        """These impairments as :mod:`.sionna_proc` options (``--{prefix}cfo`` ...), the defaults left out."""
        out = []
        for f, opt in OPTIONS.items():
            v = getattr(self, f)
            if v != getattr(Impairments, f):
                out += [f"--{prefix}{opt}", repr(float(v))]
        return out


#: field -> :mod:`.sionna_proc` option name
OPTIONS = {"cfo_subcarriers": "cfo", "clock_ppm": "clock-ppm", "dc_offset_dbc": "dc-offset-dbc",
           "tone_dbc": "tone-dbc", "tone_subcarriers": "tone-subcarriers", "iq_gain_db": "iq-gain-db",
           "iq_phase_deg": "iq-phase-deg"}


@lru_cache(maxsize=None)
def interpolator(taps: int = 16, phases: int = 1024, beta: float = 5.0) -> np.ndarray:
    """Fractional-delay filters ``(phases, taps)``: row p reads the signal ``p / phases`` of a
    sample after tap ``taps // 2 - 1`` (Kaiser-windowed sinc, unit gain at DC)."""
    lead = taps // 2 - 1
    x = (np.arange(taps) - lead)[None, :] - (np.arange(phases) / phases)[:, None]
    window = np.i0(beta * np.sqrt(np.clip(1 - (x / (taps / 2)) ** 2, 0, None))) / np.i0(beta)
    h = np.sinc(x) * window
    return (h / h.sum(axis=1, keepdims=True)).astype(np.float32)


class ClockAndCfo:
    """Sample-clock error and CFO on a stream, in numpy: the rule of the compiled channel pass
    (:func:`sdr_semcom.phy.kernels.channel.channel_pass` without taps and noise), made causal.

    Parameters
    ----------
    clock_ppm : float
        The receiver's clock error, ppm.
    cfo_subcarriers : float
        Carrier frequency offset, subcarrier spacings (fs / 64).

    Input
    -----
    x : numpy.ndarray, complex
        The next samples of the stream (any cut).

    Output
    ------
    numpy.ndarray, complex64
        The outputs these samples complete: output ``n`` is the engine ``semcom``'s output ``m = n - D``
        (the input read at time ``m (1 + ppm 1e-6)`` by the nearest of the interpolator's phases, rotated
        by ``exp(2j pi f m)``), delayed by :attr:`delay` = ``D`` = 8 samples so that each output needs no
        input beyond the newest; about ``len(x) / (1 + ppm 1e-6)`` per call, and the same stream
        however the input is cut.
    """

    def __init__(self, clock_ppm: float = 0.0, cfo_subcarriers: float = 0.0) -> None:
        self._interp = interpolator()
        self._phases, k_len = self._interp.shape
        self._lead = k_len // 2 - 1
        self.delay = k_len - self._lead - 1  # samples of look-ahead the interpolator needs
        self.step = 1.0 + clock_ppm * 1e-6
        self.freq = cfo_subcarriers / NFFT
        pad = self._lead + int(math.ceil(self.delay * self.step)) + 2  # silence before the stream
        self._buf = np.zeros(pad, np.complex64)
        self._base = -pad  # stream index of _buf[0]
        self._n = 0  # the next output's index

    def output_index(self, n_in: float) -> float:
        """Where input sample ``n_in`` lands in the output (fractional)."""
        return n_in / self.step + self.delay

    def _read(self, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """First input sample read (stream index) and interpolator phase of outputs ``n``."""
        t = (n - self.delay).astype(np.float64) * self.step
        i0 = np.floor(t).astype(np.int64)
        p = np.floor((t - i0) * self._phases + 0.5).astype(np.int64)
        wrap = p == self._phases
        p[wrap] = 0
        i0[wrap] += 1
        return i0 - self._lead, p

    def process(self, x: np.ndarray) -> np.ndarray:
        buf = np.concatenate([self._buf, np.asarray(x, np.complex64)])
        end = self._base + buf.size  # stream index after the newest input
        k_len = self._interp.shape[1]
        hi = int((end + 2) / self.step) + self.delay + 2  # a bound on the outputs ready
        n = np.arange(self._n, max(hi, self._n))
        first, p = self._read(n)
        ready = first + k_len <= end
        n, first, p = n[ready], first[ready], p[ready]
        idx = (first - self._base)[:, None] + np.arange(k_len)[None, :]
        y = np.einsum("ij,ij->i", buf[idx], self._interp[p]).astype(np.complex64)
        if self.freq:
            angle = (2 * np.pi * np.mod((n - self.delay).astype(np.float64) * self.freq, 1.0)).astype(np.float32)
            rot = np.empty(n.size, np.complex64)  # float32 cos / sin: ~30x faster than complex128 exp
            rot.real, rot.imag = np.cos(angle), np.sin(angle)
            y *= rot
        if n.size:
            self._n = int(n[-1]) + 1
        nxt, _ = self._read(np.array([self._n]))
        keep = max(int(nxt[0]) - self._base - 1, 0)
        self._buf = buf[keep:]
        self._base += keep
        return y


class FrontEnd:
    """The receiver front end's impairments (:class:`Impairments` or a ``ChannelSpec``: IQ imbalance, DC
    offset, tone), applied to output samples by their stream index, so that the result does not depend
    on chunking."""

    def __init__(self, spec) -> None:
        g = 10 ** (spec.iq_gain_db / 20)
        phi = math.radians(spec.iq_phase_deg)
        self.mu = complex((1 + g * np.exp(-1j * phi)) / 2)
        self.nu = complex((1 - g * np.exp(1j * phi)) / 2)
        self.dc = 0j if spec.dc_offset_dbc is None else 10 ** (spec.dc_offset_dbc / 20) * np.exp(1j * np.pi / 4)
        self.tone = 0.0 if spec.tone_dbc is None else 10 ** (spec.tone_dbc / 20)
        self.freq = spec.tone_subcarriers / NFFT

    def apply(self, z: np.ndarray, m0: int) -> np.ndarray:
        """``z``: output samples ``m0, m0 + 1, ...`` of the channel; returns them impaired (complex64)."""
        y = z.astype(np.complex128)
        if self.nu != 0 or self.mu != 1:
            y = self.mu * y + self.nu * np.conj(y)
        y += self.dc
        if self.tone:
            cycles = np.mod(np.arange(m0, m0 + z.size, dtype=np.float64) * self.freq, 1.0)  # exact per index
            y += self.tone * np.exp(2j * np.pi * cycles)
        return y.astype(np.complex64)
