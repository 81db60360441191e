"""Sionna's 3GPP TDL / CDL / Rayleigh fading as a continuous stream: time-varying taps at the link's sample rate.

Sionna's ``TDL`` draws its Doppler, arrival angles and phases anew on every call and starts each
call at t = 0, and computing the taps for every sample costs ~1.9 kB and ~5 us per sample
(/work/shared/sdr-stack.md). :class:`FadingStream` keeps one set of draws for the whole stream
(drawn as ``TDL.__call__`` draws them, from its own seeded generator), evaluates the paths'
sum-of-sinusoids coefficients (TR 38.901 TDL, Sionna's [SoS] generator) in float64 on a grid
of one point every ``K`` samples, turns them into discrete taps with Sionna's
``cir_to_time_channel`` (sinc pulse, lags ``l_min`` .. ``l_max`` from
``time_lag_discrete_time_channel``), interpolates the taps linearly between grid points, filters
the stream with them, carrying the last ``L - 1`` input samples into the next call, and adds the
noise once, on the output. The phases advance in float64 and are wrapped at each call, so they
keep their resolution however long the stream runs. The output depends on the samples and the
seed only, never on how the stream is cut into calls.

The CDL models (TR 38.901 7.7.1) are the same kind of sum: 20 rays per cluster, each a complex
constant (antenna fields, polarisation, random initial phase, power) turning at its own Doppler
shift (the UT's velocity projected on the ray's arrival direction). Sionna's ``CDL`` computes
them for given times only; :func:`_cdl_draws` runs its steps once, with a seeded generator, to take
each ray's constant and Doppler shift, and the stream evaluates the rays as it does the TDL's
sinusoids (test: same coefficients as ``CDL.__call__`` for the same seed, to 1e-9). The SISO link
it is evaluated on is :data:`~.spec.CDL_LINK`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .impairments import ClockAndCfo, FrontEnd, Impairments
from .spec import MODELS, SPEED_OF_LIGHT, FadingSpec

#: Taps are computed every K samples and interpolated linearly; :func:`choose_k` takes the largest
#: power of two up to MAX_K whose interpolation error stays below TAP_ERROR_DB (measured in
#: tests/unit/test_sionna_stream.py against taps computed for every sample).
MAX_K = 256
TAP_ERROR_DB = -60.0
#: grid points per block in :meth:`FadingStream._grid_coefficients`
GRID_BLOCK = 16
#: Noise over the whole sampled band for a given in-band SNR: the PHY uses 52 of 64 carriers
#: (sdr_semcom.phy.channel's convention: signal power over noise power in the occupied band).
BAND_FACTOR = 64.0 / 52.0
NUM_SINUSOIDS = 20
LOS_ANGLE = math.acos(0.7)  # Sionna's TDL default angle of arrival of the LoS path


class FadingStream:
    """A fading channel (3GPP TDL, CDL or Rayleigh/Jakes) plus AWGN applied to a complex stream, call by call.

    Parameters
    ----------
    spec : FadingSpec
        Model, delay spread, speed, carrier frequency.
    sample_rate : float
        The stream's sample rate, Hz (the taps are spaced 1 / sample_rate).
    snr_db : float or None
        In-band SNR (signal over noise in 52 of 64 carriers, for unit mean signal power); None: no noise.
    seed : int
        Seeds the fading draws (Doppler angles, phases) and, separately, the noise.
    k : int or None
        Taps are computed every ``k`` samples and interpolated linearly in between (1: every sample;
        None: :func:`choose_k`, from the Doppler shift).
    impairments : Impairments or None
        The receiver's clock error and CFO (applied after the fading, before the noise) and front end
        (after the noise), as engine ``semcom`` applies them (:mod:`.impairments`); None: none.

    Input
    -----
    x : numpy.ndarray, complex
        The next samples of the stream (any length, any cut).

    Output
    ------
    numpy.ndarray, complex64
        Without clock error or CFO, as many samples as went in: output sample n is
        ``sum_l h_l(n - D) x[n - D - l]`` over lags ``l_min .. l_max`` (:attr:`lags`), plus noise; the
        signal is delayed by ``D = -l_min`` samples (:attr:`delay`, 6), the Sionna convention without its
        extra ``L - 1`` samples. With them, that signal resampled and rotated by
        :class:`~.impairments.ClockAndCfo` (8 samples more delay, about ``n / (1 + ppm 1e-6)`` samples
        out), then the noise and the front end; :meth:`output_index` maps input to output indices.
    """

    def __init__(self, spec: FadingSpec, sample_rate: float, snr_db: float | None, seed: int,
                 k: int | None = None, impairments: Impairments | None = None) -> None:
        from sionna.phy.channel import time_lag_discrete_time_channel

        self.spec, self.fs, self.seed = spec, float(sample_rate), int(seed)
        self.k = choose_k(spec.doppler_hz, self.fs) if k is None else int(k)
        if self.k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        d = _cdl_draws(spec, self.seed) if spec.family == "cdl" else _tdl_draws(spec, self.seed)
        self.mean_powers = d.powers  # per path, NLoS part, the LoS power apart (sum + los = 1)
        self.path_delays_s = delays = d.delays
        self.los_power = d.los_power
        self.l_min, self.l_max = time_lag_discrete_time_channel(self.fs, max(3e-6, float(delays.max()) + 1e-12))
        self.delay = -self.l_min
        self.lags = np.arange(self.l_min, self.l_max + 1)
        self._w = d.w  # rad/s per sinusoid (m, s)
        self._phase = d.phase.copy()  # phases at the grid point self._g0 (float64, wrapped)
        self._amp = d.amp  # (m, 1) or (m, s)
        self._w_los, self._phase_los = d.w_los, d.phase_los
        self._g0 = 0  # the grid index the phases refer to
        # discrete taps: h_l(t) = sum_m a_m(t) sinc(l - fs tau_m) (Sionna's cir_to_time_channel)
        self._sinc = _sinc_matrix(self.fs, delays, self.l_min, self.l_max)  # (m, L)
        self.noise_std = 0.0 if snr_db is None else math.sqrt(BAND_FACTOR / 10 ** (snr_db / 10) / 2)
        self._noise = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, 0x5E7])))
        self._hist = np.zeros(len(self.lags) - 1, np.complex64)  # the last L - 1 inputs
        self._n = 0  # stream index of the next input sample
        imp = impairments if impairments is not None else Impairments()
        self.impairments = imp
        self._clock = ClockAndCfo(imp.clock_ppm, imp.cfo_subcarriers) if imp.clock_ppm or imp.cfo_subcarriers else None
        self._front = FrontEnd(imp) if imp.front_end else None
        self._m = 0  # stream index of the next output sample

    def output_index(self, n_in: float) -> float:
        """Where the signal of input sample ``n_in`` lands in the output (fractional with a clock error)."""
        n = n_in + self.delay
        return self._clock.output_index(n) if self._clock is not None else n

    # ------------------------------------------------------------------ the channel itself
    def path_coefficients(self, t_index: np.ndarray) -> np.ndarray:
        """Path coefficients ``a_m`` (m, len(t_index)), complex128, at the stream's sample indices ``t_index``.

        Any indices: they are taken relative to the grid point the phases were last advanced to
        (float64: exact to well below a microradian for offsets of hours).
        """
        dt = (np.asarray(t_index, np.float64) - self._g0 * self.k) / self.fs  # small: the phases carry the rest
        arg = self._phase[:, :, None] + self._w[:, :, None] * dt[None, None, :]
        a = (self._amp[:, :, None] * np.exp(1j * arg)).sum(axis=1)
        if self.los_power > 0:
            a[0] += math.sqrt(self.los_power) * np.exp(1j * (self._phase_los + self._w_los * dt))
        return a

    def _grid_coefficients(self, g_first: int, count: int) -> np.ndarray:
        """:meth:`path_coefficients` at the grid points ``g_first .. g_first + count - 1`` (times ``g k``).

        Grid point ``g = g_first + A q + b`` (``b < A``) of sinusoid (m, s) is
        ``c exp(j w k (A q + b) / fs)``: a product of two exponentials, one per block of A points
        and one within a block, so the sum over the sinusoids is one batched matrix product per
        path, and only ``count / A + A`` exponentials per sinusoid are computed.
        """
        step = self.k / self.fs
        blk = GRID_BLOCK
        nblk = -(-count // blk)
        c = self._amp * np.exp(1j * (self._phase + self._w * (g_first - self._g0) * step))  # (m, s)
        within = np.exp(1j * self._w[..., None] * (step * np.arange(blk)))  # (m, s, blk)
        blocks = np.exp(1j * self._w[..., None] * (step * blk * np.arange(nblk)))  # (m, s, nblk)
        a = np.matmul((c[..., None] * blocks).transpose(0, 2, 1), within).reshape(len(c), -1)[:, :count]
        if self.los_power > 0:
            dt = (np.arange(count) + (g_first - self._g0)) * step
            a[0] += math.sqrt(self.los_power) * np.exp(1j * (self._phase_los + self._w_los * dt))
        return a

    def taps(self, t_index: np.ndarray) -> np.ndarray:
        """Discrete taps (len(t_index), L), complex128, for lags :attr:`lags` at sample indices ``t_index``."""
        return self.path_coefficients(t_index).T @ self._sinc

    def process(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.complex64)
        n, n0, k = x.size, self._n, self.k
        if n == 0:
            return np.zeros(0, np.complex64)
        big_l = len(self.lags)
        # taps at times t = n0 - D .. n0 + n - 1 - D, from grid points g k covering them
        t0 = n0 - self.delay
        g_first = t0 // k
        g_last = (t0 + n - 1) // k + 1
        grid = (self._grid_coefficients(g_first, g_last - g_first + 1).T @ self._sinc).astype(np.complex64)  # (G, L)
        # the samples in whole grid segments (the first and last padded): in segment g the taps are
        # A_g + (j / k) B_g at its j-th sample, so each segment is two k x L by L products
        s0 = t0 - g_first * k
        nseg = g_last - g_first
        xb = np.concatenate([self._hist, x])
        xe = np.concatenate([np.zeros(s0, np.complex64), xb, np.zeros(nseg * k - s0 - n, np.complex64)])
        win = np.lib.stride_tricks.sliding_window_view(xe, big_l)[: nseg * k, ::-1]  # row r: xe[r + L - 1 - i]
        ab = np.stack([grid[:-1], grid[1:] - grid[:-1]], axis=-1)  # (nseg, L, 2)
        uv = np.matmul(win.reshape(nseg, k, big_l), ab)  # (nseg, k, 2)
        y = (uv[..., 0] + self._ramp(k) * uv[..., 1]).reshape(-1)[s0: s0 + n]
        self._hist = xb[-(big_l - 1):].copy()
        self._advance(g_first)
        self._n = n0 + n
        if self._clock is not None:
            y = self._clock.process(y)
        if self.noise_std:
            y += (self._noise.standard_normal(2 * y.size, np.float32).view(np.complex64) * np.float32(self.noise_std))
        if self._front is not None:
            y = self._front.apply(y, self._m)
        self._m += y.size
        return y

    @staticmethod
    def _ramp(k: int) -> np.ndarray:
        return (np.arange(k, dtype=np.float32) / np.float32(k))[None, :]

    def _advance(self, g: int) -> None:
        """Move the phases' reference to grid point ``g`` (wrapped to +-pi, float64)."""
        dt = (g - self._g0) * self.k / self.fs
        self._phase = np.remainder(self._phase + self._w * dt + np.pi, 2 * np.pi) - np.pi
        self._phase_los = math.remainder(self._phase_los + self._w_los * dt, 2 * math.pi)
        self._g0 = g


@dataclass(frozen=True)
class _Draws:
    """One realisation's sum of sinusoids: path ``m`` is ``sum_s amp[m, s] exp(j (phase[m, s] + w[m, s] t))``,
    plus ``sqrt(los_power) exp(j (phase_los + w_los t))`` on path 0; ``powers`` (NLoS, per path) and
    ``los_power`` sum to 1; ``delays`` in s."""

    powers: np.ndarray
    delays: np.ndarray
    los_power: float
    amp: np.ndarray
    phase: np.ndarray
    w: np.ndarray
    w_los: float = 0.0
    phase_los: float = 0.0


def _tdl_draws(spec: FadingSpec, seed: int) -> _Draws:
    """Rayleigh / TDL: the draws as ``TDL.__call__`` makes them (batch 1, one antenna each side), from
    our own generator seeded with ``seed``."""
    import torch

    powers, delays, los_power = _tdl_profile(spec)
    gen = torch.Generator().manual_seed(seed)
    m, s = len(powers), NUM_SINUSOIDS
    omega = 2 * math.pi * spec.speed_mps / SPEED_OF_LIGHT * spec.carrier_frequency_hz  # rad/s
    torch.rand((1,), generator=gen)  # TDL's Doppler draw (min speed = max speed here: unused)
    theta = torch.rand((m, s), generator=gen).double().numpy() * (2 * math.pi / s) - math.pi / s
    alpha = 2 * math.pi / s * np.arange(1, s + 1) + theta
    phi = torch.rand((m, s), generator=gen).double().numpy() * 2 * math.pi - math.pi
    w_los = phase_los = 0.0
    if los_power > 0:
        phase_los = float(torch.rand((1,), generator=gen).double() * 2 * math.pi - math.pi)
        w_los = omega * math.cos(LOS_ANGLE)
    return _Draws(powers, delays, los_power, np.sqrt(powers / s)[:, None], phi, omega * np.cos(alpha), w_los, phase_los)


def _tdl_profile(spec: FadingSpec) -> tuple[np.ndarray, np.ndarray, float]:
    """(mean powers of the NLoS paths, their delays in s, LoS power), summing to 1, from Sionna's TDL tables."""
    name = MODELS[spec.model]
    if name is None:
        return np.ones(1), np.zeros(1), 0.0
    from sionna.phy.channel.tr38901 import TDL

    tdl = TDL(name, delay_spread=spec.delay_spread_ns * 1e-9, carrier_frequency=spec.carrier_frequency_hz,
              precision="double")
    powers = tdl.mean_powers.real.double().numpy().copy()  # the first path's includes the LoS power
    delays = tdl.delays.double().numpy().copy()
    los = float(tdl.mean_power_los.real) if tdl.los else 0.0
    powers[0] -= los
    return powers, delays, los


def cdl_model(spec: FadingSpec, generator=None):
    """Sionna's ``CDL`` on this project's SISO link (:data:`~.spec.CDL_LINK`: downlink, one vertical omni
    element each side, UT velocity ``[speed, 0, 0]``), float64; its random draws come from ``generator``
    (None: Sionna's global one, as ``CDL`` itself)."""
    import torch
    from sionna.phy.channel.tr38901 import CDL, Antenna

    class _SeededCDL(CDL):
        @property
        def torch_rng(self):
            return generator if generator is not None else super().torch_rng

    fc = spec.carrier_frequency_hz
    ant = [Antenna("single", "V", "omni", fc, precision="double") for _ in range(2)]
    return _SeededCDL(MODELS[spec.model], spec.delay_spread_ns * 1e-9, fc, ut_array=ant[0], bs_array=ant[1],
                      direction="downlink", ut_velocity=torch.tensor([spec.speed_mps, 0.0, 0.0], dtype=torch.float64),
                      precision="double")


def _cdl_draws(spec: FadingSpec, seed: int) -> _Draws:
    """CDL-A..E: Sionna's own steps (``CDL.__call__``: random coupling of the rays' angles, then the
    initial phases, TR 38.901 steps 8 and 10), evaluated once at t = 0 for each ray's complex
    amplitude (field pattern, polarisation, power) and, from its arrival direction, its Doppler
    shift ``2 pi v . r_rx / lambda``; clusters ordered by delay and the LoS ray on the first, as
    Sionna does (step 11)."""
    import torch
    from sionna.phy import PI
    from sionna.phy.utils import rand

    gen = torch.Generator().manual_seed(seed)
    cdl = cdl_model(spec, gen)
    cir = cdl._cir_gen
    velocity = cdl._get_velocity(1)
    topo = cdl._create_topology(1, velocity)
    rays = cdl._create_rays(1)
    phi = rand((*rays.aoa.shape, 4), dtype=cir.dtype, device=cir.device, generator=gen) * 2 * PI - PI  # step 10
    t0 = torch.zeros(1, dtype=torch.float64)
    kf = float(cdl._k_factor)
    amp = cir._step_11_nlos(phi, topo, rays, t0)[0, 0, 0, :, :, 0, 0, 0].numpy() * math.sqrt(1 / (kf + 1))
    v = velocity[0].numpy()
    two_pi_over_lambda = 2 * math.pi * spec.carrier_frequency_hz / SPEED_OF_LIGHT

    def doppler(zoa, aoa):  # rad/s, arrival direction (7.1-6) . velocity
        z, a = zoa.numpy(), aoa.numpy()
        return two_pi_over_lambda * (np.sin(z) * np.cos(a) * v[0] + np.sin(z) * np.sin(a) * v[1] + np.cos(z) * v[2])

    w = doppler(rays.zoa[0, 0, 0], rays.aoa[0, 0, 0])
    order = torch.argsort(rays.delays, dim=-1)[0, 0, 0].numpy()  # as _step_11_reduce_nlos
    delays = rays.delays[0, 0, 0].numpy()[order]
    amp, w = amp[order], w[order]
    powers = cdl._powers.numpy()[order] / (kf + 1)
    los_power = w_los = phase_los = 0.0
    if kf > 0:
        c_los = complex(cir._step_11_los(topo, t0).reshape(-1)[0]) * math.sqrt(kf / (kf + 1))
        los_power, phase_los = abs(c_los) ** 2, math.atan2(c_los.imag, c_los.real)
        w_los = float(doppler(topo.los_zoa.reshape(-1), topo.los_aoa.reshape(-1))[0])
    return _Draws(powers, delays, los_power, np.abs(amp), np.angle(amp), w, w_los, phase_los)


def choose_k(doppler_hz: float, sample_rate: float) -> int:
    """Largest power of two <= :data:`MAX_K` for which linear interpolation of the taps between grid
    points K samples apart keeps its error power below :data:`TAP_ERROR_DB` relative to the taps.

    Interpolating ``exp(j w t)`` linearly over steps of ``theta = w K / fs`` radians leaves a mean
    square error of ``theta**4 / 120``; the Doppler components have ``|w| <= 2 pi fD``.
    """
    if doppler_hz <= 0:
        return MAX_K
    theta_max = (120 * 10 ** (TAP_ERROR_DB / 10)) ** 0.25
    k_max = theta_max * sample_rate / (2 * math.pi * doppler_hz)
    k = 1
    while 2 * k <= min(k_max, MAX_K):
        k *= 2
    return k


def _sinc_matrix(fs: float, delays: np.ndarray, l_min: int, l_max: int) -> np.ndarray:
    """(paths, L) sinc weights by Sionna's ``cir_to_time_channel`` (its a = 1 per path, one time step)."""
    import torch
    from sionna.phy.channel import cir_to_time_channel

    m = len(delays)
    a = torch.eye(m, dtype=torch.complex128).reshape(m, 1, 1, 1, 1, m, 1)  # batch b: path b alone
    tau = torch.tensor(delays, dtype=torch.float64).reshape(1, 1, 1, m).expand(m, 1, 1, m)
    hm = cir_to_time_channel(fs, a, tau, l_min, l_max)  # (m, 1, 1, 1, 1, 1, L)
    return hm.reshape(m, l_max - l_min + 1).numpy()
