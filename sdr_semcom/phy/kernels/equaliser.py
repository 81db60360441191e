"""Channel estimate, pilot tracking (clock offset, residual CFO, common phase), zero-forcing
equaliser and max-log demapper.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._jit import JIT, JIT_FAST
from .sync import fft_inplace


@njit(**JIT)
def ltf_channel(ltf, used_bins, ltf_freq, proj):
    """Channel from the spectra of the two LTF copies (2, nfft).

    Least squares on the used carriers (the mean of both copies over the known values),
    smoothed by ``proj`` (projection on short impulse responses); noise variance per carrier
    from the difference of the copies. Returns (channel on all nfft bins, noise variance, SNR dB).
    """
    n_used = used_bins.size
    h_ls = np.empty(n_used, np.complex128)
    noise = 0.0
    for u in range(n_used):
        a = ltf[0, used_bins[u]]
        b = ltf[1, used_bins[u]]
        h_ls[u] = (a + b) / 2 / ltf_freq[u]
        d = a - b
        noise += d.real * d.real + d.imag * d.imag
    noise_var = noise / n_used / 2
    h_full = np.zeros(ltf.shape[1], np.complex128)
    power = 0.0
    for u in range(n_used):
        acc = 0j
        for v in range(n_used):
            acc += proj[u, v] * h_ls[v]
        h_full[used_bins[u]] = acc
        power += acc.real * acc.real + acc.imag * acc.imag
    snr_db = 10.0 * math.log10(max(power / n_used, 1e-12) / max(noise_var, 1e-12))
    return h_full, noise_var, snr_db


@njit(**JIT_FAST)
def _ipow(z, n):
    """``z ** n`` for a unit-modulus ``z`` and an integer ``n`` (square-and-multiply: a few
    complex products instead of a cosine and a sine; the error stays near 1e-15 for |n| < 100)."""
    if n < 0:
        z, n = z.conjugate(), -n
    out = 1 + 0j
    while n:
        if n & 1:
            out *= z
        z *= z
        n >>= 1
    return out


@njit(**JIT_FAST)
def _phasors(k, eps, delay0, delay_step, nfft, rot, step):
    """Clock-drift phasors ``exp(-2j pi k eps d / nfft)`` of the integer carriers ``k`` at the first
    symbol (``d = delay0``: ``rot``) and per symbol (``d = delay_step``: ``step``)."""
    w = -2.0 * math.pi * eps / nfft
    b0 = complex(math.cos(w * delay0), math.sin(w * delay0))
    b1 = complex(math.cos(w * delay_step), math.sin(w * delay_step))
    for p in range(k.size):
        kp = int(k[p])
        rot[p] = _ipow(b0, kp)
        step[p] = _ipow(b1, kp)


@njit(**JIT_FAST)
def _best_clock(z, stride, pilots, delay0, delay_step, nfft, grid):
    """The point of ``grid`` that maximises the sum over symbols ``t = 0, stride, 2 stride, ...`` of
    ``|sum_p z[t, p] exp(-2j pi k_p eps delay_t / nfft)|`` (all points in one pass over the
    symbols, real and imaginary parts apart: the loops over points and pilots vectorise)."""
    t_len, p_len = z.shape
    g_len = grid.size
    n = g_len * p_len
    rot = np.empty(p_len, np.complex128)
    step = np.empty(p_len, np.complex128)
    rr, ri, sr, si = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for g in range(g_len):
        _phasors(pilots, grid[g], delay0, delay_step * stride, nfft, rot, step)
        for p in range(p_len):
            rr[g * p_len + p], ri[g * p_len + p] = rot[p].real, rot[p].imag
            sr[g * p_len + p], si[g * p_len + p] = step[p].real, step[p].imag
    zr, zi = np.empty(n), np.empty(n)
    pr, pi = np.empty(n), np.empty(n)
    score = np.zeros(g_len)
    for t in range(0, t_len, stride):
        for g in range(g_len):
            for p in range(p_len):
                zr[g * p_len + p], zi[g * p_len + p] = z[t, p].real, z[t, p].imag
        for i in range(n):
            pr[i] = zr[i] * rr[i] - zi[i] * ri[i]
            pi[i] = zr[i] * ri[i] + zi[i] * rr[i]
            a = rr[i] * sr[i] - ri[i] * si[i]
            ri[i] = rr[i] * si[i] + ri[i] * sr[i]
            rr[i] = a
        for g in range(g_len):
            ar = 0.0
            ai = 0.0
            for p in range(p_len):
                ar += pr[g * p_len + p]
                ai += pi[g * p_len + p]
            score[g] += math.sqrt(ar * ar + ai * ai)
    return grid[np.argmax(score)]


@njit(**JIT_FAST)
def _equalise_demap(y, h_data, noise_var, wt, freq, eps, lay, demap):
    """Steps 3 and 4 of :func:`equalise`."""
    data_bins, data_k, half = lay.data_bins, lay.data_k, lay.half
    delay0 = delay_step = lay.sym_len
    levels, level_bits, two_axes = demap.levels, demap.level_bits, demap.two_axes
    t_len, nfft = y.shape
    d_len = data_bins.size
    nb = level_bits.shape[1]
    bits_per_sym = nb * (2 if two_axes else 1)
    eq = np.empty((t_len, d_len), np.complex64)
    llr = np.empty(t_len * d_len * bits_per_sym, np.float32)
    inv_nv = np.empty(d_len)
    drift = np.empty(d_len, np.complex128)  # clock-drift phasor per carrier, advanced per symbol
    step = np.empty(d_len, np.complex128)
    _phasors(data_k, eps, delay0, delay_step, nfft, drift, step)
    dr = np.empty(d_len)  # drift / h and its step, real and imaginary parts apart: the loop
    di = np.empty(d_len)  # over carriers below then vectorises
    sr = np.empty(d_len)
    si = np.empty(d_len)
    for j in range(d_len):
        inv_nv[j] = abs(h_data[j]) ** 2 / max(noise_var, 1e-12)
        g = drift[j] / h_data[j]
        dr[j], di[j], sr[j], si[j] = g.real, g.imag, step[j].real, step[j].imag
    ramp = np.empty(t_len, np.complex128)  # exp(j freq t), by recurrence
    u = np.empty(t_len, np.complex128)  # pilot sums without the CFO ramp
    inc = complex(math.cos(freq), math.sin(freq))
    r = 1 + 0j
    for t in range(t_len):
        ramp[t] = r
        u[t] = wt[t] * r.conjugate()
        r *= inc
    sm = 0j  # running sum of u over symbols t - half .. t + half
    for i in range(min(half, t_len)):
        sm += u[i]
    for t in range(t_len):
        if t + half < t_len:
            sm += u[t + half]
        if t - half - 1 >= 0:
            sm -= u[t - half - 1]
        mag = abs(sm)  # rot = exp(-j (angle(sm) + freq t))
        rot = (sm.conjugate() / mag if mag > 0 else 1 + 0j) * ramp[t].conjugate()
        rr, ri = rot.real, rot.imag
        for j in range(d_len):
            cr = rr * dr[j] - ri * di[j]
            ci = rr * di[j] + ri * dr[j]
            v = y[t, data_bins[j]]
            eq[t, j] = complex(v.real * cr - v.imag * ci, v.real * ci + v.imag * cr)
            a = dr[j] * sr[j] - di[j] * si[j]
            di[j] = dr[j] * si[j] + di[j] * sr[j]
            dr[j] = a
    # LLRs per axis: (min distance to a level whose bit is 1) - (... bit 0), over the noise variance
    axes = 2 if two_axes else 1
    n_lv = levels.size
    if n_lv == 2:  # one bit per axis: (a - l1)^2 - (a - l0)^2 = c (2a - l0 - l1)
        level_sum = levels[0] + levels[1]
        c = (levels[0] - levels[1]) if level_bits[0, 0] == 0 else (levels[1] - levels[0])
        for t in range(t_len):
            for j in range(d_len):
                base = (t * d_len + j) * axes
                w = c * inv_nv[j]
                llr[base] = w * (2.0 * eq[t, j].real - level_sum)
                if two_axes:
                    llr[base + 1] = w * (2.0 * eq[t, j].imag - level_sum)
        return eq, llr
    ones = np.empty((nb, n_lv // 2), np.int64)  # levels whose bit i is 1 / 0
    zeros = np.empty((nb, n_lv // 2), np.int64)
    for i in range(nb):
        n1 = n0 = 0
        for lv in range(n_lv):
            if level_bits[lv, i]:
                ones[i, n1] = lv
                n1 += 1
            else:
                zeros[i, n0] = lv
                n0 += 1
    if n_lv == 4 and nb == 2:  # 16-QAM
        l0, l1, l2, l3 = levels[0], levels[1], levels[2], levels[3]
        a1, b1, a0, b0 = ones[0, 0], ones[0, 1], zeros[0, 0], zeros[0, 1]
        c1, e1, c0, e0 = ones[1, 0], ones[1, 1], zeros[1, 0], zeros[1, 1]
        d = np.empty(4)
        pos = 0
        for t in range(t_len):
            for j in range(d_len):
                for axis in range(axes):
                    a = eq[t, j].real if axis == 0 else eq[t, j].imag
                    d[0] = (a - l0) ** 2
                    d[1] = (a - l1) ** 2
                    d[2] = (a - l2) ** 2
                    d[3] = (a - l3) ** 2
                    llr[pos] = (min(d[a1], d[b1]) - min(d[a0], d[b0])) * inv_nv[j]
                    llr[pos + 1] = (min(d[c1], d[e1]) - min(d[c0], d[e0])) * inv_nv[j]
                    pos += 2
        return eq, llr
    raise ValueError("equalise: only 2- and 4-level axes (BPSK, QPSK, 16-QAM) are implemented")


@njit(**JIT)
def equalise(y, h_full, noise_var, lay, track, demap):
    """Pilot-tracked zero-forcing equalisation and per-axis max-log demapping of (T, nfft) symbols.

    ``y``: the spectra of consecutive OFDM symbols, the first one a burst's first SIG symbol;
    ``h_full``: the LTF channel on all bins; carriers, pilots (:class:`~.layout.BurstLayout`
    ``lay``), the clock search (:class:`~.layout.Tracking` ``track``) and the constellation
    (:class:`~.layout.Demap` ``demap``) as named tuples.

    Pilots: pilot p of symbol t is expected at ``h * pilot_ref[p] * polarity[t % len]``;
    symbol t lies ``(t + 1) * sym_len`` samples after the LTF.

    1. Clock offset (with ``track.track``): the point of ``track.coarse`` (scored on at most ~32
       evenly spaced symbols), then of ``best + track.fine`` (on all symbols), that maximises the
       coherence of the pilots once the clock's phase slope is removed.
    2. Residual CFO: the peak of the periodogram (FFT plan ``track.per_rev``/``track.per_tw``)
       of the common pilot phase, when T >= 8.
    3. Common phase of symbol t: the residual CFO ramp plus the angle of the derotated pilot
       sums over symbols ``t - half .. t + half``.
    4. ``eq = y * exp(-j phase_t) * exp(-2j pi k eps delay_t / nfft) / h_k`` per data carrier k,
       noise variance ``noise_var / |h_k|^2``; LLRs (positive = bit 0) per axis from the PAM
       ``demap.levels`` of one axis and the bits ``demap.level_bits[l, i]`` each carries
       (``demap.two_axes`` False: BPSK, real axis only).

    Returns (equalised (T, D) complex64, LLRs float32 in symbol order, clock offset).
    """
    pilot_bins, polarity, pilots, nfft = lay.pilot_bins, lay.polarity, lay.pilot_k, lay.nfft
    pilot_ref = h_full[pilot_bins] * lay.pilot_ref
    h_data = h_full[lay.data_bins]
    delay0 = delay_step = lay.sym_len
    t_len = y.shape[0]
    p_len = pilot_bins.size
    z = np.empty((t_len, p_len), np.complex128)
    for t in range(t_len):
        pol = polarity[t % polarity.size]
        for p in range(p_len):
            z[t, p] = y[t, pilot_bins[p]] * (pilot_ref[p] * pol).conjugate()
    rot = np.empty(p_len, np.complex128)
    step = np.empty(p_len, np.complex128)
    eps = 0.0
    if track.track:
        # coarse search on at most ~32 evenly spaced symbols, fine search on all of them
        eps = _best_clock(z, max(1, t_len // 32), pilots, delay0, delay_step, nfft, track.coarse)
        eps = _best_clock(z, 1, pilots, delay0, delay_step, nfft, eps + track.fine)
    wt = np.zeros(t_len, np.complex128)
    _phasors(pilots, eps, delay0, delay_step, nfft, rot, step)
    for t in range(t_len):
        for p in range(p_len):
            wt[t] += z[t, p] * rot[p]
            rot[p] *= step[p]
    freq = 0.0
    if t_len >= 8:
        n_per = track.per_rev.size
        spec = np.zeros(n_per, np.complex128)
        spec[:t_len] = wt
        fft_inplace(spec, track.per_rev, track.per_tw)
        k_best = 0
        for k in range(n_per):
            if abs(spec[k]) > abs(spec[k_best]):
                k_best = k
        f = k_best / n_per
        freq = 2.0 * math.pi * (f - 1.0 if f >= 0.5 else f)  # rad / symbol, as numpy's fftfreq
    eq, llr = _equalise_demap(y, h_data, noise_var, wt, freq, eps, lay, demap)
    return eq, llr, eps
