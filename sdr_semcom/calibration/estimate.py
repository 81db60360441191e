"""Estimate a receiver's impairments from a capture of the calibration waveform.

:func:`estimate` works on a sample array (a loopback's output, a recording, a live capture);
the steps, in this order (each one works on what the previous ones corrected):

1. **Detection**: on the STF, the normalised auto-correlation at lag 32 less the one at lag 16
   (the PHY's detector: a DC offset, a tone or S8 score 0) over 192 samples, above 0.4; then the
   LTF's cross-correlation, after a coarse CFO correction, gives each burst's start to the sample.
2. **DC offset and noise floor** from the silent gaps (the samples 64 after a burst's end to 32
   before the next burst): the mean of the gaps is the DC offset, the power left around it the
   noise floor (dBFS: relative to a full-scale complex sinusoid, |I| and |Q| within
   ``full_scale``).
3. **IQ imbalance** from second-order statistics of the training field (DC removed): the field
   is one-sided (carriers +6..+26), so the transmitted signal, its channel and noise give
   ``E[z^2] = 0``; with ``y = I + jQ``, ``Q = g (Im z cos(phi) - Re z sin(phi))`` (the model of
   :class:`sdr_semcom.phy.channel.FrontEnd`), ``g = sqrt(E[Q^2] / E[I^2])`` and
   ``sin(phi) = -E[IQ] / sqrt(E[I^2] E[Q^2])``. The capture is then corrected
   (``z = (conj(mu) y - nu conj(y)) / (|mu|^2 - |nu|^2)``) before the next steps.
4. **CFO** per burst in four stages, each resolving the next one's ambiguity: lag 8 on S8
   (unambiguous within +-fs/16: +-4 subcarriers, +-62.5 kHz at 1 MS/s), lag 32 on the STF, lag 64
   and lag 512 on the training field (+-fs/1024 around the previous stage); less, once the clock
   is known, the shift a clock offset gives the one-sided training field (its centroid, carrier 16,
   moves by ``16 ppm fs / 64``).
5. **Timing to a fraction of a sample**: each burst's channel on the training carriers, against
   the first burst's: the phase slope across carriers is the arrival time's offset (the channel
   itself cancels). **Sample-clock offset**: a line through the arrival times against the burst
   index; the transmitter's period is known (:data:`CAL_LAYOUT` ``.period``), so
   ``ppm = (period / measured period - 1) 1e6``: the sign of
   :class:`~sdr_semcom.phy.channel.ChannelSpec`'s ``clock_ppm`` (positive: a transmitted period
   spans fewer receiver samples, i.e. each receiver sample advances ``1 + ppm 1e-6`` transmitter
   samples) and of the PHY receiver's ``clock_ppm``.
6. **SNR** per burst from the 16 repetitions of the training symbol: the noise is half the power
   of the difference of consecutive symbols; the signal power is the STF and LTF's (they span the
   whole band, where the one-sided training field sees only half a multipath channel) less that
   noise. In-band, as everywhere in the project: ``SNR = P_signal / (noise power x 52 / 64)``.
7. **Level, peaks, compression**: burst rms (dBFS), the capture's peak (dBFS of max(|I|, |Q|)),
   samples at full scale (clipping), and the AM/AM compression of the training field: the gain of
   its largest samples (top 10 %) relative to its median samples, against a linear fit (a 16-tap
   channel) of the symbol averaged over its repetitions (0 dB: linear; negative: compressed).

Every estimate comes as an :class:`Estimate`: a value and the half-width of its 95 % confidence
interval (1.96 standard errors of the mean over bursts, or of the clock fit's slope).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ..phy.ofdm import NFFT, USED
from .waveform import CAL_LAYOUT, TRAIN_CARRIERS, CalLayout, fields

#: In-band share of the sampled band (52 of 64 carriers): the project's SNR convention.
IN_BAND = len(USED) / NFFT
DETECT_LAG, DETECT_WINDOW, DETECT_THRESHOLD = 32, 192, 0.4
TAIL_GUARD, HEAD_GUARD = 64, 32  # gap samples skipped after a burst (channel and filter tails) and before one
CLIP_LEVEL = 0.999  # of full scale: a sample at or above it on I or Q counts as clipped
MIN_BURSTS = 3


class CalibrationError(ValueError):
    """A capture the calibration cannot use (too short, no calibration bursts found, ...)."""


@dataclass(frozen=True)
class Estimate:
    """A measured value and the half-width of its 95 % confidence interval."""

    value: float
    spread: float

    def __format__(self, spec: str) -> str:
        return f"{format(self.value, spec)} +- {format(self.spread, spec)}"


def _mean_ci(values) -> Estimate:
    v = np.asarray(values, np.float64)
    spread = 1.96 * v.std(ddof=1) / math.sqrt(v.size) if v.size > 1 else float("nan")
    return Estimate(float(v.mean()), float(spread))


@dataclass(frozen=True)
class CalibrationResult:
    """What :func:`estimate` measured (every :class:`Estimate` with its 95 % CI half-width).

    Attributes
    ----------
    sample_rate, freq_hz : float
        The capture's sample rate and centre frequency (None: not given; then no ``cfo_ppm``).
    n_bursts : int
        Bursts used.
    cfo_hz : Estimate
        Carrier frequency offset seen by the receiver (positive: the received signal is above the
        receiver's centre); a transmitter pre-corrects by shifting its output by ``-cfo_hz``.
    cfo_ppm : Estimate or None
        ``cfo_hz`` relative to ``freq_hz``.
    cfo_range_hz : float
        The CFO estimate's unambiguous range: +-``cfo_range_hz`` (``sample_rate / 16``).
    sample_clock_ppm : Estimate
        Receiver's sample clock relative to the transmitter's, as ChannelSpec's ``clock_ppm``
        (positive: a transmitted period spans ``1 / (1 + ppm 1e-6)`` as many receiver samples).
    snr_db : Estimate
        In-band SNR (52 of 64 carriers), from the training repetitions.
    noise_floor_dbfs : Estimate
        Noise power in the silent gaps over the whole sampled band, dBFS.
    dc_offset : complex
        DC offset (full-scale units); ``dc_offset_dbc`` its power relative to the bursts' signal power.
    iq_gain_db, iq_phase_deg : Estimate
        Q branch's gain relative to I and its phase error.
    level_dbfs : Estimate
        Burst rms (signal and noise), dBFS.
    peak_dbfs : float
        Largest |I| or |Q| of the capture, dB relative to full scale.
    clipped : int
        Samples with |I| or |Q| at full scale (:data:`CLIP_LEVEL`).
    papr_db : float
        Median over bursts of the burst's peak-to-average power ratio.
    compression_db : Estimate
        AM/AM gain of the training field's largest samples relative to its median ones (0: linear).
    per_burst : dict
        Per-burst arrays (``start``, ``arrival``, ``cfo_hz``, ``snr_db``), for plots and checks.
    """

    sample_rate: float
    freq_hz: float | None
    n_bursts: int
    cfo_hz: Estimate
    cfo_ppm: Estimate | None
    cfo_range_hz: float
    sample_clock_ppm: Estimate
    snr_db: Estimate
    noise_floor_dbfs: Estimate
    dc_offset: complex
    dc_offset_dbc: Estimate
    iq_gain_db: Estimate
    iq_phase_deg: Estimate
    level_dbfs: Estimate
    peak_dbfs: float
    clipped: int
    papr_db: float
    compression_db: Estimate
    per_burst: dict = field(repr=False, compare=False, default_factory=dict)

    @property
    def cfo_subcarriers(self) -> float:
        """``cfo_hz`` in units of the PHY's subcarrier spacing (``sample_rate / 64``)."""
        return self.cfo_hz.value / (self.sample_rate / NFFT)

    def to_json(self) -> dict:
        """Plain values (each estimate as ``{"value", "spread"}``), without the per-burst arrays."""
        d = asdict(self)
        d.pop("per_burst")
        d["dc_offset"] = [self.dc_offset.real, self.dc_offset.imag]
        return d


def _wrap(phase: float) -> float:
    return (phase + math.pi) % (2 * math.pi) - math.pi


def _lag_phase(x: np.ndarray, lo: int, hi: int, lag: int) -> float:
    """Phase of sum x[n + lag] conj(x[n]) over n in [lo, hi)."""
    return float(np.angle(np.vdot(x[lo:hi], x[lo + lag : hi + lag])))


def _detect(x: np.ndarray, lay: CalLayout) -> list[int]:
    """Rough burst starts: middles of the runs where the STF's metric is high (the normalised
    auto-correlation at lag 32 less the one at lag 16, as the PHY's detector: the STF is periodic at
    32 samples but not at 16, where S8, a DC offset or a tone are periodic at both and score 0)."""
    lag, w = DETECT_LAG, DETECT_WINDOW
    n = x.size - lag - w + 1
    if x.size < lay.burst_len or n < 1:
        return []

    def window_sum(v: np.ndarray) -> np.ndarray:
        c = np.concatenate([[0], np.cumsum(v)])
        return (c[w:] - c[:-w])[:n]

    r32 = np.abs(window_sum(x[lag:] * np.conj(x[:-lag])))
    r16 = np.abs(window_sum(x[lag // 2 :] * np.conj(x[: -lag // 2])))
    energy = window_sum(np.abs(x[lag:]) ** 2)
    metric = (r32 - r16) / np.maximum(energy, 1e-30 + 1e-6 * energy.max())
    above = np.concatenate([[False], metric > DETECT_THRESHOLD, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    plateau = lay.stf_len - lag - w  # window positions fully inside the STF
    starts = []
    for lo, hi in zip(edges[::2], edges[1::2]):
        if hi - lo >= plateau // 3:
            starts.append(int((lo + hi) // 2 - plateau // 2 - lay.stf))
    return starts


def _refine(x: np.ndarray, start: int, lay: CalLayout) -> tuple[int, float] | None:
    """A burst's start to the sample (LTF cross-correlation after a coarse CFO correction) and its
    normalised correlation; None when the LTF is not there."""
    search = 64
    lo = start + lay.ltf + 32 - search
    ref = fields()["burst"][lay.ltf + 32 : lay.ltf + 32 + 2 * NFFT]
    if lo < 0 or lo + 2 * search + ref.size > x.size or start < 0:
        return None
    f = _coarse_cfo(x, start, lay)
    seg = x[lo : lo + 2 * search + ref.size] * np.exp(-2j * np.pi * f * np.arange(2 * search + ref.size))
    c = np.abs(np.correlate(seg, ref, "valid"))
    e = np.sqrt(np.convolve(np.abs(seg) ** 2, np.ones(ref.size), "valid") * np.sum(np.abs(ref) ** 2))
    norm = c / np.maximum(e, 1e-30)
    k = int(np.argmax(norm))
    return (lo + k - lay.ltf - 32, float(norm[k])) if norm[k] > 0.3 else None


def _coarse_cfo(x: np.ndarray, b: int, lay: CalLayout) -> float:
    """CFO (cycles per sample) from S8 (lag 8) refined on the STF (lag 32), tolerant of a start a few
    dozen samples off."""
    margin = 48
    f = _lag_phase(x, b + margin, b + lay.s8_len - margin - lay.s8_period, lay.s8_period) / (2 * np.pi * lay.s8_period)
    lo, hi = b + lay.stf + margin, b + lay.stf + lay.stf_len - margin - 32
    return f + _wrap(_lag_phase(x, lo, hi, 32) - 2 * np.pi * f * 32) / (2 * np.pi * 32)


def _fine_cfo(x: np.ndarray, b: int, lay: CalLayout) -> float:
    """CFO (cycles per sample) of the burst at ``b`` (exact start): S8, STF, then lags 64 and 512 on
    the training field."""
    f = _coarse_cfo(x, b, lay)
    lo, end = b + lay.train + 8, b + lay.burst_len - 8
    for lag in (NFFT, 8 * NFFT):
        f += _wrap(_lag_phase(x, lo, end - lag, lag) - 2 * np.pi * f * lag) / (2 * np.pi * lag)
    return f


def _iq_moments(seg: np.ndarray) -> np.ndarray:
    i, q = seg.real, seg.imag
    return np.array([np.mean(i * i), np.mean(q * q), np.mean(i * q)])


def _iq_from_moments(m: np.ndarray) -> tuple[float, float]:
    """(gain of Q relative to I, phase error in radians) from E[I^2], E[Q^2], E[IQ]."""
    sii, sqq, siq = m
    g = math.sqrt(sqq / sii)
    return g, math.asin(float(np.clip(-siq / math.sqrt(sii * sqq), -1, 1)))


def iq_coefficients(gain_db: float, phase_deg: float) -> tuple[complex, complex]:
    """``(mu, nu)`` of the IQ imbalance ``y = mu z + nu conj(z)`` (the channel emulator's model)."""
    g, phi = 10 ** (gain_db / 20), math.radians(phase_deg)
    return complex((1 + g * np.exp(-1j * phi)) / 2), complex((1 - g * np.exp(1j * phi)) / 2)


def correct_front_end(x: np.ndarray, dc: complex, gain_db: float, phase_deg: float) -> np.ndarray:
    """Remove a DC offset, then an IQ imbalance (:func:`iq_coefficients`) from ``x`` (complex128)."""
    mu, nu = iq_coefficients(gain_db, phase_deg)
    d = abs(mu) ** 2 - abs(nu) ** 2
    y = np.asarray(x, np.complex128) - dc
    return (mu.conjugate() / d) * y - (nu / d) * np.conj(y)


def _compression(avg: np.ndarray) -> float:
    """AM/AM of the averaged training symbol against a 16-tap circular linear fit: gain of the top
    10 % samples over the median ones, dB."""
    s = fields()["train"]
    delays = np.arange(-4, 12)
    a = np.stack([np.roll(s, d) for d in delays], axis=1)
    h, *_ = np.linalg.lstsq(a, avg, rcond=None)
    lin = a @ h
    amp = np.abs(lin)
    gain = np.abs(avg) / np.maximum(amp, 1e-30)
    top = gain[amp >= np.quantile(amp, 0.9)]
    mid = gain[(amp >= np.quantile(amp, 0.3)) & (amp <= np.quantile(amp, 0.7))]
    return float(20 * np.log10(np.median(top) / np.median(mid)))


def estimate(samples: np.ndarray, sample_rate: float, freq_hz: float | None = None, full_scale: float = 1.0,
             layout: CalLayout = CAL_LAYOUT) -> CalibrationResult:
    """Estimate the impairments of a capture of :func:`~sdr_semcom.calibration.calibration_waveform`.

    Parameters
    ----------
    samples : numpy.ndarray
        Complex baseband samples (any complex dtype), at least 3 complete bursts with the gaps after them.
    sample_rate : float
        Samples per second (for Hz figures).
    freq_hz : float, optional
        Centre frequency (for ``cfo_ppm``).
    full_scale : float
        Amplitude of I or Q at the converter's full scale (1.0 for cf32 from UHD).
    layout : CalLayout
        The waveform's layout.

    Output
    ------
    :class:`CalibrationResult`.

    Raises
    ------
    CalibrationError
        Fewer than 3 complete bursts found, or non-finite samples.
    """
    x = np.asarray(samples).astype(np.complex128) / full_scale
    if x.ndim != 1:
        raise CalibrationError(f"expected a 1-D array of complex samples, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise CalibrationError(f"{int(np.sum(~np.isfinite(x)))} non-finite samples in the capture")
    if not sample_rate > 0:
        raise CalibrationError(f"sample rate must be > 0, got {sample_rate}")
    raw = x
    centred = x - x.mean()
    starts: list[int] = []
    for rough in _detect(centred, layout):
        got = _refine(centred, rough, layout)
        if got is None:
            continue
        b = got[0]
        if b + layout.period - HEAD_GUARD > x.size or (starts and b - starts[-1] < layout.period // 2):
            continue
        starts.append(b)
    if len(starts) < MIN_BURSTS:
        raise CalibrationError(f"found {len(starts)} complete calibration bursts in {x.size} samples, need "
                               f"{MIN_BURSTS}: is the transmitter sending the calibration waveform "
                               "(sdr-semcom calibrate --write-waveform), and the capture long enough "
                               f"({MIN_BURSTS + 1} periods of {layout.period} samples)?")
    b0 = starts[0]
    index = np.array([round((b - b0) / layout.period) for b in starts])

    # 2. gaps: DC offset and noise floor
    gaps = [x[b + layout.burst_len + TAIL_GUARD : b + layout.period - HEAD_GUARD] for b in starts]
    if b0 - layout.gap + TAIL_GUARD >= 0:
        gaps.insert(0, x[b0 - layout.gap + TAIL_GUARD : b0 - HEAD_GUARD])
    dc = complex(np.mean(np.concatenate(gaps)))
    gap_power = np.array([np.mean(np.abs(g - dc) ** 2) for g in gaps])
    x = x - dc

    # 3. IQ imbalance (training fields, DC removed), then correct it
    train = [slice(b + layout.train + NFFT + 8, b + layout.burst_len - 8) for b in starts]
    moments = np.array([_iq_moments(x[s]) for s in train])
    g, phi = _iq_from_moments(moments.mean(axis=0))
    per_iq = np.array([_iq_from_moments(m) for m in moments])
    iq_gain_db, iq_phase_deg = 20 * math.log10(g), math.degrees(phi)
    x = correct_front_end(x, 0j, iq_gain_db, iq_phase_deg)

    # 4-6. per burst: CFO, training symbols, channel, SNR
    reps = layout.train_reps
    cfo, noise, signal, chan, comp, papr, level = [], [], [], [], [], [], []
    bins = TRAIN_CARRIERS % NFFT
    ref = fields()["train_grid"][bins]
    for b in starts:
        f = _fine_cfo(x, b, layout)
        n = np.arange(layout.burst_len)
        seg = x[b : b + layout.burst_len] * np.exp(-2j * np.pi * f * n)
        syms = seg[layout.train + NFFT :].reshape(reps, NFFT)
        sigma2 = np.mean(np.abs(np.diff(syms, axis=0)) ** 2) / 2
        total = np.mean(np.abs(seg[layout.stf : layout.train]) ** 2)  # STF + LTF: the whole band's power
        avg = syms.mean(axis=0)
        cfo.append(f * sample_rate)
        noise.append(sigma2)
        signal.append(max(total - sigma2, 1e-30))
        chan.append(np.fft.fft(avg)[bins] / ref)
        comp.append(_compression(avg))
        burst = raw[b : b + layout.burst_len] - dc
        p = np.abs(burst) ** 2
        papr.append(10 * np.log10(p.max() / p.mean()))
        level.append(10 * np.log10(p.mean()))
    noise, signal = np.array(noise), np.array(signal)
    snr_per = 10 * np.log10(signal / (noise * IN_BAND))

    # 5. arrival times to a fraction of a sample, and the clock
    arrival = []
    for h in chan:
        d = h * np.conj(chan[0])
        arrival.append(-np.angle(np.vdot(d[:-1], d[1:])) * NFFT / (2 * np.pi))
    arrival = np.array(starts, np.float64) + np.array(arrival)
    clock = _clock(index, arrival, layout.period)
    # a clock offset eps scales the one-sided training's frequencies: its lag-64 phase carries an extra
    # 2 pi k eps for each carrier k; remove it (the centroid's) from the training stages' CFO
    cfo = np.array(cfo) - TRAIN_CARRIERS.mean() * clock.value * 1e-6 / NFFT * sample_rate

    sig_power = float(signal.mean())
    dc_dbc = [10 * np.log10(max(abs(complex(np.mean(gp))) ** 2, 1e-30) / sig_power) for gp in gaps]
    cfo_est = _mean_ci(cfo)
    peak = float(np.max(np.maximum(np.abs(raw.real), np.abs(raw.imag))))
    return CalibrationResult(
        sample_rate=float(sample_rate), freq_hz=freq_hz, n_bursts=len(starts), cfo_hz=cfo_est,
        cfo_ppm=Estimate(cfo_est.value / freq_hz * 1e6, cfo_est.spread / abs(freq_hz) * 1e6) if freq_hz else None,
        cfo_range_hz=float(sample_rate / (2 * layout.s8_period)),
        sample_clock_ppm=clock,
        snr_db=Estimate(float(10 * np.log10(signal.sum() / (noise.sum() * IN_BAND))), _mean_ci(snr_per).spread),
        noise_floor_dbfs=Estimate(float(10 * np.log10(gap_power.mean())),
                                  _mean_ci(10 * np.log10(gap_power)).spread),
        dc_offset=dc * full_scale,
        dc_offset_dbc=Estimate(float(10 * np.log10(max(abs(dc) ** 2, 1e-30) / sig_power)), _mean_ci(dc_dbc).spread),
        iq_gain_db=Estimate(iq_gain_db, _mean_ci(20 * np.log10(per_iq[:, 0])).spread),
        iq_phase_deg=Estimate(iq_phase_deg, _mean_ci(np.degrees(per_iq[:, 1])).spread),
        level_dbfs=_mean_ci(level), peak_dbfs=float(20 * np.log10(max(peak, 1e-30))),
        clipped=int(np.sum((np.abs(raw.real) >= CLIP_LEVEL) | (np.abs(raw.imag) >= CLIP_LEVEL))),
        papr_db=float(np.median(papr)), compression_db=_mean_ci(comp),
        per_burst={"start": np.array(starts), "arrival": arrival, "cfo_hz": np.array(cfo), "snr_db": snr_per})


def _clock(index: np.ndarray, arrival: np.ndarray, period: int) -> Estimate:
    """Sample-clock offset (ppm) from a line through the arrival times against the burst index."""
    i = index - index.mean()
    slope = float(np.sum(i * (arrival - arrival.mean())) / np.sum(i * i))
    resid = arrival - arrival.mean() - slope * i
    se = math.sqrt(np.sum(resid**2) / max(len(i) - 2, 1) / np.sum(i * i))
    return Estimate((period / slope - 1) * 1e6, 1.96 * se * period / slope**2 * 1e6)
