"""Compiled inner loops of the PHY (numba, cached on disk after the first run).

The modem's hot paths are per-sample or per-edge loops that numpy can only
express with many temporary arrays; here they are plain loops compiled by
numba, and the receiver calls them once per input chunk (``front_end_clean``:
non-finite samples, DC) and a handful of times per burst: ``stf_detect``,
``acquire`` (LTF timing, channel, SIG), ``derotated_frames`` (then numpy's FFT)
and ``demodulate`` (pilot tracking, equaliser, LDPC). The burst format's
constants travel in one named tuple, :class:`BurstLayout`. All release the GIL.

Two rules keep the loops fast: index tables are unsigned (numba checks every
signed index for wraparound, which stops vectorisation), and where a loop walks
a window of an array it indexes a view of that window with its loop counter.

The first import compiles them (a few seconds) and caches the machine code in
``__pycache__`` (or ``$NUMBA_CACHE_DIR``); later processes load it in
milliseconds.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

_OPTS = {"cache": True, "nogil": True, "fastmath": False}
_FAST = {**_OPTS, "fastmath": True}  # reassociation allowed: vectorised loops (no NaN/inf reach these)


# ------------------------------------------------------------------------------ detection
_EXP = np.uint32(0x7F800000)  # exponent bits of a float32: all set for NaN and infinities
_FIXED = 65536.0  # the DC blocker's sums count in units of 2**-16
_FIXED_MAX = np.float32(32767.0)  # and clamp samples there (int32 range)


@njit(**_OPTS)
def front_end_clean(x, dc, acc, weight, block):
    """Zero the non-finite samples of ``x`` (complex64) and remove its DC offset, in place.

    The DC estimate ``dc`` (float64 re, im) moves once per ``block`` samples towards the
    block's mean, ``dc += weight (mean - dc)`` (time constant ``block / weight`` samples), and
    each sample loses the estimate of the blocks before its own: a notch at DC far narrower than
    a subcarrier, so the bursts (which never use the DC carrier) pass. The block sums are exact
    integers (2**-16 units, samples clamped to +-32767) in ``acc`` (int64: re, im, samples of the
    current block so far), so that the result does not depend on how the stream is cut, and the
    loops vectorise. Returns the number of samples zeroed.
    """
    bits = x.view(np.uint32)
    words = 0
    for i in range(bits.size):  # vectorised test first: non-finite samples are rare
        words += (bits[i] & _EXP) == _EXP
    bad = 0
    if words:
        for n in range(x.size):
            if (bits[2 * n] & _EXP) == _EXP or (bits[2 * n + 1] & _EXP) == _EXP:
                x[n] = 0j
                bad += 1
    xf = x.view(np.float32)
    n = 0
    while n < x.size:
        m = min(block - acc[2], x.size - n)
        dr = np.float32(dc[0])
        di = np.float32(dc[1])
        sr = 0
        si = 0
        seg = xf[2 * n : 2 * (n + m)]
        for i in range(m):
            vr = seg[2 * i]
            vi = seg[2 * i + 1]
            sr += np.int32(min(max(vr, -_FIXED_MAX), _FIXED_MAX) * np.float32(_FIXED))
            si += np.int32(min(max(vi, -_FIXED_MAX), _FIXED_MAX) * np.float32(_FIXED))
            seg[2 * i] = vr - dr
            seg[2 * i + 1] = vi - di
        acc[0] += sr
        acc[1] += si
        acc[2] += m
        n += m
        if acc[2] == block:
            dc[0] += weight * (acc[0] / (_FIXED * block) - dc[0])
            dc[1] += weight * (acc[1] / (_FIXED * block) - dc[1])
            acc[:] = 0
    return bad


@njit(**_OPTS)
def stf_detect(x, lag, window, threshold, plateau):
    """Find the first preamble in ``x``: a signal periodic with period ``lag`` but not ``lag / 2``.

    ``m(d) = (|R(lag)| - |R(lag/2)|) / sqrt(E0 E1)``, ``R(l) = sum conj(x[d+i]) x[d+i+l]``,
    ``E0 = sum |x[d+i]|^2``, ``E1 = sum |x[d+i+lag]|^2``, ``i < window``: the Schmidl-Cox metric
    less the correlation at half the period. The short training symbol uses only the even
    carriers k, 14 of its 26 with k / 2 odd, so its correlation at ``lag / 2`` nearly cancels
    (-0.08 of its power), while a DC
    offset or a tone (LO leakage, spurs) correlates equally at every lag and scores zero instead
    of one. Running sums in float64, restarted exactly every 4096 positions. Scanning stops
    ``plateau`` positions after the first ``m > threshold``. Returns ``(first, peak, scanned)``:
    the first position above the threshold and the position of the largest metric within
    ``plateau`` of it (-1, -1 without a hit; peak -1 when ``x`` ends before the plateau does)
    and the number of positions computed. ``x`` must be finite (:func:`front_end_clean`).
    """
    half = lag // 2
    n = x.size - lag - window + 1
    thr2 = threshold * threshold
    pr = 0.0
    pi = 0.0
    hr = 0.0
    hi = 0.0
    e0 = 0.0
    e1 = 0.0
    first, peak, best = -1, -1, -1.0
    for d in range(max(n, 0)):
        if d % 4096 == 0:  # exact restart: no drift from add/subtract over long streams
            pr = pi = hr = hi = e0 = e1 = 0.0
            for i in range(d, d + window):
                a = x[i]
                b = x[i + lag]
                h = x[i + half]
                pr += a.real * b.real + a.imag * b.imag
                pi += a.real * b.imag - a.imag * b.real
                hr += a.real * h.real + a.imag * h.imag
                hi += a.real * h.imag - a.imag * h.real
                e0 += a.real * a.real + a.imag * a.imag
                e1 += b.real * b.real + b.imag * b.imag
        else:
            a = x[d + window - 1]
            b = x[d + window - 1 + lag]
            h = x[d + window - 1 + half]
            c = x[d - 1]
            f = x[d - 1 + lag]
            g = x[d - 1 + half]
            pr += a.real * b.real + a.imag * b.imag - (c.real * f.real + c.imag * f.imag)
            pi += a.real * b.imag - a.imag * b.real - (c.real * f.imag - c.imag * f.real)
            hr += a.real * h.real + a.imag * h.imag - (c.real * g.real + c.imag * g.imag)
            hi += a.real * h.imag - a.imag * h.real - (c.real * g.imag - c.imag * g.real)
            e0 += a.real * a.real + a.imag * a.imag - (c.real * c.real + c.imag * c.imag)
            e1 += b.real * b.real + b.imag * b.imag - (f.real * f.real + f.imag * f.imag)
        den = max(e0, 0.0) * max(e1, 0.0)
        p2 = pr * pr + pi * pi
        if first < 0:
            # m > threshold needs |R(lag)|^2 > threshold^2 den: square roots only past that test
            if p2 > thr2 * den and den > 1e-24:
                m = (math.sqrt(p2) - math.sqrt(hr * hr + hi * hi)) / math.sqrt(den)
                if m > threshold:
                    first, best, peak = d, m, d
        else:
            if d >= first + plateau:
                return first, peak, d
            m = (math.sqrt(p2) - math.sqrt(hr * hr + hi * hi)) / math.sqrt(den) if den > 1e-24 else 0.0
            if m > best:
                best, peak = m, d
    if first >= 0:
        return first, -1, max(n, 0)
    return -1, -1, max(n, 0)


@njit(**_FAST)
def ltf_timing(x, dpk, lag, window, lo, count, ltf_sym):
    """Coarse CFO from the STF, then LTF timing by cross-correlation.

    The coarse CFO (cycles/sample) is the phase of the STF auto-correlation over ``window``
    samples from ``dpk``. With it removed, candidate LTF starts ``lo + i`` (``i < count``)
    are scored by ``|c(lo+i)| + |c(lo+i+N)|``, the correlations with the known symbol of both
    LTF copies (N = its length). Returns (coarse cfo, best i, normalised correlation at i,
    fine CFO increment from the two copies at i).
    """
    acc = 0j
    for i in range(window):
        acc += x[dpk + i].conjugate() * x[dpk + i + lag]
    cfo = math.atan2(acc.imag, acc.real) / (2.0 * math.pi * lag)
    nfft = ltf_sym.size
    seg_len = count + 2 * nfft
    sr = np.empty(seg_len)  # the derotated segment, real and imaginary parts apart: the
    si = np.empty(seg_len)  # correlation loops below then vectorise
    w = -2.0 * math.pi * cfo
    rot = complex(math.cos(w * (lo - dpk)), math.sin(w * (lo - dpk)))
    step = complex(math.cos(w), math.sin(w))
    for s in range(seg_len):
        v = x[lo + s] * rot
        sr[s] = v.real
        si[s] = v.imag
        rot *= step
    lr = np.empty(nfft)
    li = np.empty(nfft)
    norm = 0.0
    for k in range(nfft):
        lr[k] = ltf_sym[k].real
        li[k] = ltf_sym[k].imag
        norm += lr[k] * lr[k] + li[k] * li[k]
    mag = np.empty(count + nfft)
    energy = np.empty(count + nfft)
    for i in range(count + nfft):
        cr = 0.0
        ci = 0.0
        e = 0.0
        for k in range(nfft):  # seg * conj(ltf)
            a, b = sr[i + k], si[i + k]
            cr += a * lr[k] + b * li[k]
            ci += b * lr[k] - a * li[k]
            e += a * a + b * b
        mag[i] = math.sqrt(cr * cr + ci * ci)
        energy[i] = e
    best, best_i = -1.0, 0
    for i in range(count):
        q = mag[i] + mag[i + nfft]
        if q > best:
            best, best_i = q, i
    rho = best / (math.sqrt(norm) * (math.sqrt(energy[best_i]) + math.sqrt(energy[best_i + nfft])) + 1e-12)
    ar = 0.0
    ai = 0.0
    for k in range(nfft):  # conj(first copy) * second copy
        a, b = sr[best_i + k], si[best_i + k]
        c, d = sr[best_i + nfft + k], si[best_i + nfft + k]
        ar += a * c + b * d
        ai += a * d - b * c
    return cfo, best_i, rho, math.atan2(ai, ar) / (2.0 * math.pi * nfft)


# ------------------------------------------------------------------------------ FFT
def fft_plan(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Bit-reversal permutation and twiddles ``exp(-2j pi k / n)`` for :func:`fft_inplace`."""
    if n < 2 or n & (n - 1):
        raise ValueError(f"FFT size must be a power of two, got {n}")
    bits = n.bit_length() - 1
    rev = np.array([int(f"{i:0{bits}b}"[::-1], 2) for i in range(n)], dtype=np.int64)
    return rev, np.exp(-2j * np.pi * np.arange(n // 2) / n)


@njit(**_OPTS)
def fft_inplace(a, rev, tw):
    """Radix-2 decimation-in-time FFT of ``a`` (1-D complex128, power-of-two length) in place."""
    n = a.size
    for i in range(n):
        j = rev[i]
        if j > i:
            a[i], a[j] = a[j], a[i]
    half = 1
    while half < n:
        stride = n // (2 * half)
        for start in range(0, n, 2 * half):
            for k in range(half):
                u = a[start + k]
                v = a[start + k + half] * tw[k * stride]
                a[start + k] = u + v
                a[start + k + half] = u - v
        half *= 2


# ------------------------------------------------------------------------------ OFDM symbols
@njit(**_FAST)
def derotated_frames(x, first, count, spacing, nfft, cfo, phase_origin, scale):
    """(count, nfft) complex128 FFT windows, window k starting at ``first + k * spacing``,
    with the CFO removed: sample n is multiplied by ``scale * exp(-2j pi cfo (n - phase_origin))``.
    (numpy's FFT then transforms all rows at once: faster than a per-row FFT here.)
    """
    out = np.empty((count, nfft), np.complex128)
    w = -2.0 * math.pi * cfo
    pr = np.empty(nfft)  # exp(j w i) * scale, i < nfft: the same for every window
    pi = np.empty(nfft)
    inc = complex(math.cos(w), math.sin(w))
    r = complex(scale, 0.0)
    for i in range(nfft):  # by recurrence (error ~1e-14 after a few hundred steps)
        pr[i], pi[i] = r.real, r.imag
        r *= inc
    ph = w * (first - phase_origin)
    rot = complex(math.cos(ph), math.sin(ph))  # exp(j w (window start - phase_origin))
    hop = complex(math.cos(w * spacing), math.sin(w * spacing))
    for k in range(count):
        a = first + k * spacing
        c, d = rot.real, rot.imag
        rot *= hop
        xa, row = x[a : a + nfft], out[k]  # views: indices numba knows are non-negative
        for i in range(nfft):  # independent per sample: vectorises
            rr = c * pr[i] - d * pi[i]
            ri = c * pi[i] + d * pr[i]
            v = xa[i]
            row[i] = complex(v.real * rr - v.imag * ri, v.real * ri + v.imag * rr)
    return out


@njit(**_OPTS)
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


# ------------------------------------------------------------------------------ pilot tracking
@njit(**_FAST)
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


@njit(**_FAST)
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


@njit(**_FAST)
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


@njit(**_FAST)
def _equalise_demap(y, data_bins, data_k, h_data, noise_var, wt, freq, half, eps, delay0, delay_step, levels,
                    level_bits, two_axes):
    """Steps 3 and 4 of :func:`equalise`."""
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


@njit(**_OPTS)
def equalise(y, pilot_bins, pilot_ref, polarity, pilots, data_bins, data_k, h_data, noise_var, delay0, delay_step,
             coarse, fine, track, per_rev, per_tw, half, levels, level_bits, two_axes):
    """Pilot-tracked zero-forcing equalisation and per-axis max-log demapping of (T, nfft) symbols.

    Pilots: pilot p of symbol t is expected at ``pilot_ref[p] * polarity[t % len]`` (channel
    included); symbol t lies ``delay0 + t * delay_step`` samples after the LTF.

    1. Clock offset (with ``track``): the point of ``coarse`` (scored on at most ~32 evenly spaced
       symbols), then of ``best + fine`` (on all symbols), that maximises the coherence of the
       pilots once the clock's phase slope is removed.
    2. Residual CFO: the peak of the periodogram (FFT plan ``per_rev``/``per_tw``) of the
       common pilot phase, when T >= 8.
    3. Common phase of symbol t: the residual CFO ramp plus the angle of the derotated pilot
       sums over symbols ``t - half .. t + half``.
    4. ``eq = y * exp(-j phase_t) * exp(-2j pi k eps delay_t / nfft) / h_k`` per data carrier k,
       noise variance ``noise_var / |h_k|^2``; LLRs (positive = bit 0) per axis from the PAM
       ``levels`` of one axis and the bits ``level_bits[l, i]`` each carries (``two_axes`` False:
       BPSK, real axis only).

    Returns (equalised (T, D) complex64, LLRs float32 in symbol order, clock offset).
    """
    t_len, nfft = y.shape
    p_len = pilot_bins.size
    z = np.empty((t_len, p_len), np.complex128)
    for t in range(t_len):
        pol = polarity[t % polarity.size]
        for p in range(p_len):
            z[t, p] = y[t, pilot_bins[p]] * (pilot_ref[p] * pol).conjugate()
    rot = np.empty(p_len, np.complex128)
    step = np.empty(p_len, np.complex128)
    eps = 0.0
    if track:
        # coarse search on at most ~32 evenly spaced symbols, fine search on all of them
        eps = _best_clock(z, max(1, t_len // 32), pilots, delay0, delay_step, nfft, coarse)
        eps = _best_clock(z, 1, pilots, delay0, delay_step, nfft, eps + fine)
    wt = np.zeros(t_len, np.complex128)
    _phasors(pilots, eps, delay0, delay_step, nfft, rot, step)
    for t in range(t_len):
        for p in range(p_len):
            wt[t] += z[t, p] * rot[p]
            rot[p] *= step[p]
    freq = 0.0
    if t_len >= 8:
        n_per = per_rev.size
        spec = np.zeros(n_per, np.complex128)
        spec[:t_len] = wt
        fft_inplace(spec, per_rev, per_tw)
        k_best = 0
        for k in range(n_per):
            if abs(spec[k]) > abs(spec[k_best]):
                k_best = k
        f = k_best / n_per
        freq = 2.0 * math.pi * (f - 1.0 if f >= 0.5 else f)  # rad / symbol, as numpy's fftfreq
    eq, llr = _equalise_demap(y, data_bins, data_k, h_data, noise_var, wt, freq, half, eps, delay0, delay_step,
                              levels, level_bits, two_axes)
    return eq, llr, eps


# ------------------------------------------------------------------------------ LDPC
@njit(**_OPTS)
def ldpc_encode(info, parity_cols_packed, info_cols, parity_cols, n):
    """Systematic encoding: parity = XOR of the packed parity columns of the set info bits.

    ``parity_cols_packed`` (k, W) uint64: column i of A (parity = A u mod 2) packed 64 bits a word.
    """
    batch, k = info.shape
    words = parity_cols_packed.shape[1]
    out = np.zeros((batch, n), np.uint8)
    acc = np.zeros(words, np.uint64)
    for b in range(batch):
        acc[:] = 0
        for i in range(k):
            if info[b, i]:
                out[b, info_cols[i]] = 1
                for w in range(words):
                    acc[w] ^= parity_cols_packed[i, w]
        for r in range(parity_cols.size):
            out[b, parity_cols[r]] = (acc[r >> 6] >> np.uint64(r & 63)) & np.uint64(1)
    return out


@njit(**_OPTS)
def _hard_ok(llr, checks, hard):
    """Hard decisions of ``llr`` into ``hard`` (uint8, n + 1: ``hard[n]`` stays 0), True where every
    check holds. ``checks`` (m, w): the variables of each check, rows padded with ``n``."""
    n = llr.size
    for v in range(n):
        hard[v] = 1 if llr[v] < 0 else 0
    hard[n] = 0
    bad = np.uint8(0)
    m, w = checks.shape
    for r in range(m):  # no early exit: at high SNR every check is looked at anyway
        s = np.uint8(0)
        for e in range(w):
            s ^= hard[checks[r, e]]
        bad |= s
    return bad == 0


@njit(**_OPTS)
def ldpc_decode(llr, row_ptr, col_idx, checks, max_iter, alpha, clip):
    """Layered normalised min-sum over a batch of codewords.

    ``llr`` (batch, n) channel LLRs (positive = bit 0); the parity-check matrix is given
    row-wise twice: CSR (``col_idx[row_ptr[r]:row_ptr[r+1]]``) for the messages, and
    ``checks`` (see :func:`_hard_ok`) for the syndrome. A codeword whose hard decisions already
    satisfy every check (most of them, at high SNR) is not iterated; the others stop as soon as
    all their checks hold. Returns (hard bits (batch, n) uint8, ok (batch,) bool).
    """
    batch, n = llr.shape
    hard = np.empty((batch, n), np.uint8)
    ok = np.zeros(batch, np.bool_)
    hb = np.empty(n + 1, np.uint8)
    total = np.empty(n)
    r_msg = np.empty(col_idx.size)
    q = np.empty(64)
    for b in range(batch):
        good = _hard_ok(llr[b], checks, hb)
        if not good:
            for v in range(n):
                total[v] = min(max(llr[b, v], -clip), clip)
            r_msg[:] = 0.0
            it = 0
            while not good and it < max_iter:
                for r in range(row_ptr.size - 1):
                    lo, hi = row_ptr[r], row_ptr[r + 1]
                    min1 = 1e300
                    min2 = 1e300
                    idx1 = -1
                    sgn = 1.0
                    for e in range(lo, hi):
                        qe = total[col_idx[e]] - r_msg[e]
                        q[e - lo] = qe
                        if qe < 0:
                            sgn = -sgn
                        m = abs(qe)
                        if m < min1:
                            min2 = min1
                            min1 = m
                            idx1 = e
                        elif m < min2:
                            min2 = m
                    for e in range(lo, hi):
                        qe = q[e - lo]
                        mag = min2 if e == idx1 else min1
                        s = -sgn if qe < 0 else sgn
                        r_new = alpha * s * mag
                        r_msg[e] = r_new
                        total[col_idx[e]] = qe + r_new
                it += 1
                good = _hard_ok(total, checks, hb)
        ok[b] = good
        hard[b] = hb[:n]
    return hard, ok


@njit(**_OPTS)
def decode_frame(llr, nbits, ncw, keep_last, perm, info_cols, row_ptr, col_idx, checks, sent_checks, sent_info,
                 max_iter, alpha, known, scramble):
    """LLRs of one burst's DATA field -> frame bytes.

    Codewords are sent whole except the last, whose positions with ``keep_last`` False
    (interleaved order) are shortened bits known to be 0; each codeword was interleaved
    (sent position i carries code bit ``perm[i]``). A whole codeword whose hard decisions
    satisfy every check is read as sent (``sent_checks`` and ``sent_info``: ``checks`` and
    ``info_cols`` in sent positions), without deinterleaving; the others are deinterleaved
    and decoded (:func:`ldpc_decode`). Each codeword's share of the first ``nbits``
    information bits is descrambled (XOR ``scramble``) and packed MSB first.
    Returns (bytes as uint8 array, True where every codeword satisfied its checks); decoding
    stops at the first codeword that fails (the frame is lost, its bytes are incomplete).
    """
    n = perm.size
    if llr.size < (ncw - 1) * n + np.sum(keep_last) or nbits > ncw * info_cols.size or scramble.size < nbits:
        raise ValueError("decode_frame: fewer LLRs or scrambler bits than the frame layout needs")
    cw = np.empty((1, n))
    hb = np.empty(n + 1, np.uint8)
    out = np.zeros((nbits + 7) // 8, np.uint8)
    k = info_cols.size
    src = 0
    b = 0
    for c in range(ncw):
        if c < ncw - 1 and _hard_ok(llr[src : src + n], sent_checks, hb):  # clean, as sent
            bits, where = hb, sent_info
        else:
            if c < ncw - 1:
                for i in range(n):
                    cw[0, perm[i]] = llr[src + i]
            else:
                s = src
                for i in range(n):
                    if keep_last[i]:
                        cw[0, perm[i]] = llr[s]
                        s += 1
                    else:
                        cw[0, perm[i]] = known
            hard, ok = ldpc_decode(cw, row_ptr, col_idx, checks, max_iter, alpha, known)
            if not ok[0]:
                return out, False  # the frame is lost: the remaining codewords need not be decoded
            bits, where = hard[0], info_cols
        src += n
        for i in range(min(k, nbits - c * k)):
            if bits[where[i]] ^ scramble[b]:
                out[b >> 3] |= np.uint8(0x80 >> (b & 7))
            b += 1
    return out, True


# ------------------------------------------------------------------------------ whole bursts
class BurstLayout(NamedTuple):
    """The burst format's constants that :func:`acquire` and :func:`demodulate` need.

    :mod:`sdr_semcom.phy.ofdm` defines the format and fills this in once; the kernels only
    follow it. Positions are in samples, carrier lists are FFT bins.
    """

    nfft: int
    cp: int
    sym_len: int
    backoff: int  # FFT windows start this many samples inside the cyclic prefix
    sym_scale: float  # applied to the samples before the FFT
    fft_rev: np.ndarray  # :func:`fft_plan` of nfft
    fft_tw: np.ndarray
    stf_lag: int  # STF period
    stf_window: int  # STF auto-correlation window
    ltf_lo: int  # first LTF start candidate after the STF plateau peak
    ltf_count: int  # number of LTF start candidates
    ltf_sym: np.ndarray  # one LTF symbol (time domain)
    used_bins: np.ndarray
    ltf_freq: np.ndarray  # LTF values on the used carriers
    proj: np.ndarray  # channel smoothing projector (used x used)
    pilot_bins: np.ndarray
    pilot_ref: np.ndarray  # pilot values before polarity
    polarity: np.ndarray  # pilot polarity per symbol index (cyclic)
    pilot_k: np.ndarray  # signed carrier index of each pilot (float)
    data_bins: np.ndarray
    data_k: np.ndarray  # signed carrier index of each data carrier (float)
    half: int  # common phase smoothed over +-half symbols
    sig_syms: int
    sig_levels: np.ndarray  # SIG constellation, see :func:`equalise`
    sig_level_bits: np.ndarray
    sig_n: int  # SIG code: length, CSR rows, padded rows, information positions
    sig_row_ptr: np.ndarray
    sig_col_idx: np.ndarray
    sig_checks: np.ndarray
    sig_info_cols: np.ndarray
    perm: np.ndarray  # DATA code: interleaver, information positions, CSR rows, padded rows,
    info_cols: np.ndarray  # and the padded rows and information positions in sent order
    row_ptr: np.ndarray
    col_idx: np.ndarray
    checks: np.ndarray
    sent_checks: np.ndarray
    sent_info: np.ndarray
    scramble: np.ndarray
    alpha: float  # min-sum normalisation
    known: float  # LLR of known (shortened) bits


@njit(**_OPTS)
def equalise_burst(y, h_full, noise_var, lay, coarse, fine, track, per_rev, per_tw, levels, level_bits, two_axes):
    """:func:`equalise` on spectra ``y`` whose first row is a burst's first SIG symbol, with the
    LTF channel ``h_full`` and the carriers, pilots and symbol spacing of ``lay``."""
    return equalise(y, lay.pilot_bins, h_full[lay.pilot_bins] * lay.pilot_ref, lay.polarity, lay.pilot_k,
                    lay.data_bins, lay.data_k, h_full[lay.data_bins], noise_var, lay.sym_len, lay.sym_len, coarse,
                    fine, track, per_rev, per_tw, lay.half, levels, level_bits, two_axes)


@njit(**_OPTS)
def _spectra(x, first, count, spacing, cfo, phase_origin, lay):
    """FFT of ``count`` derotated windows (:func:`derotated_frames`), with :func:`fft_inplace`."""
    frames = derotated_frames(x, first, count, spacing, lay.nfft, cfo, phase_origin, lay.sym_scale)
    for k in range(count):
        fft_inplace(frames[k], lay.fft_rev, lay.fft_tw)
    return frames


@njit(**_OPTS)
def acquire(x, dpk, lay, ltf_threshold, max_iter):
    """Synchronise on the burst whose STF plateau peaks at ``x[dpk]`` and decode its SIG field.

    LTF timing and CFO (:func:`ltf_timing`), channel and noise from the two LTF copies
    (:func:`ltf_channel`), then the SIG symbols: equalised with the LTF channel (no clock
    tracking), their BPSK LLRs combined where the SIG codeword is repeated, LDPC-decoded.

    Returns ``(status, cfo, ltf_start, h_full, noise_var, snr_db, sig_bits)``: status 0 when the
    SIG codeword decoded (``sig_bits``: its information bits), 1 when no LTF correlates above
    ``ltf_threshold`` (a false alarm: the rest is meaningless), 2 when the SIG did not decode.
    ``ltf_start`` is the first sample of the first LTF symbol after its prefix.
    """
    lo = dpk + lay.ltf_lo
    cfo, i, rho, dcfo = ltf_timing(x, dpk, lay.stf_lag, lay.stf_window, lo, lay.ltf_count, lay.ltf_sym)
    none = np.zeros(0, np.uint8)
    if rho < ltf_threshold:
        return 1, cfo, lo + i, np.zeros(lay.nfft, np.complex128), 0.0, 0.0, none
    cfo += dcfo
    ltf_start = lo + i
    ltf = _spectra(x, ltf_start - lay.backoff, 2, lay.nfft, cfo, dpk, lay)  # the two copies: no prefix between
    h_full, noise_var, snr_db = ltf_channel(ltf, lay.used_bins, lay.ltf_freq, lay.proj)
    body = ltf_start + 2 * lay.nfft
    sig = _spectra(x, body + lay.cp - lay.backoff, lay.sig_syms, lay.sym_len, cfo, dpk, lay)
    no_grid, no_rev, no_tw = np.zeros(1), np.zeros(1, np.int64), np.zeros(1, np.complex128)  # no tracking
    _, llr, _ = equalise_burst(sig, h_full, noise_var, lay, no_grid, no_grid, False, no_rev, no_tw, lay.sig_levels,
                               lay.sig_level_bits, False)
    n = lay.sig_n
    cw = np.empty((1, n))
    for v in range(n):
        cw[0, v] = llr[v]
    for v in range(n, llr.size):  # the repeated part of the codeword
        cw[0, v - n] += llr[v]
    hard, ok = ldpc_decode(cw, lay.sig_row_ptr, lay.sig_col_idx, lay.sig_checks, max_iter, lay.alpha, lay.known)
    if not ok[0]:
        return 2, cfo, ltf_start, h_full, noise_var, snr_db, none
    return 0, cfo, ltf_start, h_full, noise_var, snr_db, hard[0][lay.sig_info_cols]


@njit(**_OPTS)
def demodulate(y, h_full, noise_var, coarse, fine, per_rev, per_tw, levels, level_bits, two_axes, nbits, ncw,
               keep_last, lay, max_iter):
    """Equalise the spectra ``y`` of a burst's SIG and DATA symbols (:func:`equalise`, with clock
    tracking over all of them) and decode the DATA field (:func:`decode_frame`).

    Returns (equalised data carriers of every symbol, frame bytes, True where every codeword
    decoded, clock offset).
    """
    eq, llr, eps = equalise_burst(y, h_full, noise_var, lay, coarse, fine, True, per_rev, per_tw, levels, level_bits,
                                  two_axes)
    skip = lay.sig_syms * lay.data_bins.size * level_bits.shape[1] * (2 if two_axes else 1)
    data, ok = decode_frame(llr[skip:], nbits, ncw, keep_last, lay.perm, lay.info_cols, lay.row_ptr, lay.col_idx,
                            lay.checks, lay.sent_checks, lay.sent_info, max_iter, lay.alpha, lay.known, lay.scramble)
    return eq, data, ok, eps


@njit(**_OPTS)
def encode_frame(payload, scramble, ncw, keep_last, perm, parity_cols_packed, info_cols, parity_cols, n, total_bits):
    """Frame bytes -> the coded bits of one burst's DATA field (inverse of :func:`decode_frame`).

    Bits MSB first, scrambled, split into ``ncw`` systematic codewords (the last one shortened:
    its missing info bits are 0 and its positions with ``keep_last`` False are not sent), each
    interleaved (sent position i carries code bit ``perm[i]``), zero-padded to ``total_bits``.
    """
    k = info_cols.size
    nbits = payload.size * 8
    if nbits > ncw * k or scramble.size < nbits or total_bits < (ncw - 1) * n + np.sum(keep_last):
        raise ValueError("encode_frame: the frame does not fit the layout, the scrambler or total_bits")
    bits = np.empty(ncw * k, np.uint8)  # the frame's bits, scrambled, then zeros
    for i in range(nbits):
        bits[i] = ((payload[i >> 3] >> (7 - (i & 7))) & 1) ^ scramble[i]
    bits[nbits:] = 0
    cws = ldpc_encode(bits.reshape(ncw, k), parity_cols_packed, info_cols, parity_cols, n)
    out = np.zeros(total_bits, np.uint8)
    for c in range(ncw - 1):  # whole codewords (views: the loop vectorises)
        dst, cw = out[c * n : (c + 1) * n], cws[c]
        for i in range(n):
            dst[i] = cw[perm[i]]
    pos = (ncw - 1) * n
    for i in range(n):  # the shortened last one
        if keep_last[i]:
            out[pos] = cws[ncw - 1, perm[i]]
            pos += 1
    return out


@njit(**_OPTS)
def burst_samples(symbols, counts, preamble, cp, gap):
    """complex64 samples of bursts back to back: for each frame f, ``preamble``, then its
    ``counts[f]`` rows of ``symbols`` (time domain, frames in order), each after its cyclic
    prefix (its last ``cp`` samples), then ``gap`` zeros."""
    nfft = symbols.shape[1]
    total = 0
    for f in range(counts.size):
        total += preamble.size + counts[f] * (cp + nfft) + gap
    out = np.zeros(total, np.complex64)
    pos = 0
    row = 0
    for f in range(counts.size):
        out[pos : pos + preamble.size] = preamble
        pos += preamble.size
        for t in range(counts[f]):
            sym = symbols[row]
            dst = out[pos : pos + cp + nfft]
            for i in range(cp):
                dst[i] = sym[nfft - cp + i]
            for i in range(nfft):
                dst[cp + i] = sym[i]
            pos += cp + nfft
            row += 1
        pos += gap
    return out


@njit(**_OPTS)
def ofdm_grid(head, coded, table, data_bins, pilot_bins, pilot_base, polarity, nfft, scale, grid):
    """Write the frequency grid (T, nfft) of a burst's OFDM symbols into ``grid``: one per row of
    ``head`` (data carrier values), then those that map ``coded`` bits (MSB first,
    ``log2(len(table))`` bits per carrier) through ``table``; pilots are ``pilot_base`` times the
    polarity of the symbol's index; every carrier is multiplied by ``scale``.
    """
    d_len = data_bins.size
    bps = 0
    while (1 << bps) < table.size:
        bps += 1
    n_head = head.shape[0]
    t_len = n_head + coded.size // (bps * d_len)
    grid[:t_len] = 0
    pos = 0
    for t in range(t_len):
        for j in range(d_len):
            if t < n_head:
                grid[t, data_bins[j]] = head[t, j] * scale
            else:
                idx = 0
                for _ in range(bps):
                    idx = (idx << 1) | coded[pos]
                    pos += 1
                grid[t, data_bins[j]] = table[idx] * scale
        pol = polarity[t % polarity.size] * scale
        for p in range(pilot_bins.size):
            grid[t, pilot_bins[p]] = pilot_base[p] * pol


@njit(**_OPTS)
def frame_grids(data, lengths, ncw, keep_last, nsym, sig, scramble, perm, parity_cols_packed, info_cols, parity_cols,
                n, table, data_bins, pilot_bins, pilot_base, polarity, nfft, scale):
    """Frequency grids of several frames' bursts, stacked in frame order: frame f (bytes
    ``data[sum(lengths[:f]) : ... + lengths[f]]``) gives the rows of ``sig[f]`` then ``nsym[f]``
    DATA symbols (:func:`encode_frame` with ``ncw[f]``, ``keep_last[f]``; :func:`ofdm_grid`).
    """
    d_len = data_bins.size
    bps = 0
    while (1 << bps) < table.size:
        bps += 1
    n_head = sig.shape[1]
    grid = np.empty((lengths.size * n_head + np.sum(nsym), nfft), np.complex128)
    off = 0
    row = 0
    for f in range(lengths.size):
        coded = encode_frame(data[off : off + lengths[f]], scramble, ncw[f], keep_last[f], perm, parity_cols_packed,
                             info_cols, parity_cols, n, nsym[f] * bps * d_len)
        t_len = n_head + nsym[f]
        ofdm_grid(sig[f], coded, table, data_bins, pilot_bins, pilot_base, polarity, nfft, scale,
                  grid[row : row + t_len])
        off += lengths[f]
        row += t_len
    return grid


# ------------------------------------------------------------------------------ channel emulator
def normal_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tables (k, w, f) of Marsaglia and Tsang's ziggurat for the standard normal, 128 layers."""
    m1 = 2147483648.0
    dn = tn = 3.442619855899
    vn = 9.91256303526217e-3
    k, w, f = np.zeros(128, np.int64), np.zeros(128), np.zeros(128)
    q = vn / math.exp(-0.5 * dn * dn)
    k[0], w[0], w[127] = int(dn / q * m1), q / m1, dn / m1
    f[0], f[127] = 1.0, math.exp(-0.5 * dn * dn)
    for i in range(126, 0, -1):
        dn = math.sqrt(-2.0 * math.log(vn / dn + math.exp(-0.5 * dn * dn)))
        k[i + 1] = int(dn / tn * m1)
        tn = dn
        f[i] = math.exp(-0.5 * dn * dn)
        w[i] = dn / m1
    return k, w, f


@njit(nogil=True, inline="always")
def _splitmix(state):
    """Next 64 random bits of the SplitMix64 generator whose state is ``state[0]``."""
    state[0] += np.uint64(0x9E3779B97F4A7C15)
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(nogil=True, inline="always")
def _uniform(state):
    """Uniform in (0, 1]."""
    return ((_splitmix(state) >> np.uint64(11)) + np.uint64(1)) * (1.0 / 9007199254740992.0)


@njit(nogil=True, inline="always")
def _int32(state):
    return np.int64(np.int32(np.uint32(_splitmix(state) >> np.uint64(32))))


@njit(nogil=True, inline="always")
def _normal(hz, state, zk, zw, zf):
    """A standard normal sample from the random 32-bit integer ``hz`` (ziggurat,
    :func:`normal_tables`: 98.8 % of the time one table test; otherwise more draws from
    ``state``; exact up to the tables' precision)."""
    iz = hz & 127
    while True:
        if abs(hz) < zk[iz]:
            return hz * zw[iz]
        x = hz * zw[iz]
        if iz == 0:  # the tail beyond r
            while True:
                x = -math.log(_uniform(state)) * (1.0 / 3.442620)
                if -2.0 * math.log(_uniform(state)) >= x * x:
                    break
            return 3.442620 + x if hz > 0 else -3.442620 - x
        if zf[iz] + _uniform(state) * (zf[iz - 1] - zf[iz]) < math.exp(-0.5 * x * x):
            return x
        hz = _int32(state)
        iz = hz & 127


@njit(**_OPTS)
def normals(state, zk, zw, zf, out):
    """Fill ``out`` (even length) with standard normal samples: each pair starts from the two
    32-bit halves of one 64-bit draw (:func:`_normal`)."""
    for i in range(0, out.size - 1, 2):
        z = _splitmix(state)
        out[i] = _normal(np.int64(np.int32(np.uint32(z >> np.uint64(32)))), state, zk, zw, zf)
        out[i + 1] = _normal(np.int64(np.int32(np.uint32(z & np.uint64(0xFFFFFFFF)))), state, zk, zw, zf)
    if out.size % 2:
        out[out.size - 1] = _normal(_int32(state), state, zk, zw, zf)


@njit(**_FAST)
def _interpolate(re, im, first, phase, interp, out_re, out_im):
    """``out[n] = sum_k interp[phase[n], k] * (re + j im)[first[n] + k]``, output by output.

    Outputs come in runs that share a phase and read consecutive inputs (a clock error of
    20 ppm changes the phase every ~50 outputs); each run is a fixed-tap FIR over array
    views, indexed by loop counters only, so that it vectorises (an index numba cannot prove
    non-negative makes it check for wraparound on every access, and then nothing vectorises).
    """
    n_out = out_re.size
    k_len = interp.shape[1]
    s = 0
    while s < n_out:
        e = s + 1
        while e < n_out and phase[e] == phase[s] and first[e] == first[s] + (e - s):
            e += 1
        h = interp[phase[s]]
        xr, xi = re[first[s] :], im[first[s] :]
        yr, yi = out_re[s:e], out_im[s:e]
        for n in range(e - s):
            acc = np.float32(0.0)
            for k in range(k_len):
                acc += h[k] * xr[n + k]
            yr[n] = acc
        for n in range(e - s):
            acc = np.float32(0.0)
            for k in range(k_len):
                acc += h[k] * xi[n + k]
            yi[n] = acc
        s = e


@njit(**_FAST)
def channel_block(buf, origin, step, m0, n_out, interp, taps, hist, ramp, freq, sigma, state, zk, zw, zf, out):
    """``n_out`` samples of the emulated channel (see :class:`sdr_semcom.phy.channel.ChannelEmulator`).

    Output sample m (``m0 <= m < m0 + n_out``) is the input ``buf`` (complex64) read at time
    ``m * step + origin`` (in samples of ``buf``) through the polyphase interpolator ``interp``
    (float32, P phases x K taps, phase p delays by p / P, nearest phase), filtered by the
    multipath ``taps`` (``hist``: the previous len(taps) - 1 interpolated samples, newest last,
    updated in place), rotated by ``exp(2j pi freq m)`` (``ramp[i] = exp(2j pi freq i)`` for
    i < 2048), plus complex Gaussian noise of standard deviation ``sigma`` per component
    (SplitMix64 state ``state``, ziggurat tables ``zk, zw, zf``: two normals per sample, real
    part first). Writes ``out``.

    The chunk goes through in blocks of 2048 outputs, one pass per step, with scratch arrays
    that stay in cache.
    """
    n_ph, k_len = interp.shape
    m_len = taps.size
    lead = k_len // 2 - 1
    blk = ramp.size
    span = int(blk * step) + k_len + 4  # input samples one block reads, at most
    first = np.empty(blk, np.int64)  # first input sample (from the block's first) and phase per output
    phase = np.empty(blk, np.int64)
    re = np.empty(span, np.float32)
    im = np.empty(span, np.float32)
    yr = np.empty(blk + m_len - 1, np.float32)  # interpolated samples, after the history
    yi = np.empty(blk + m_len - 1, np.float32)
    zr = np.empty(blk)  # after the multipath taps
    zi = np.empty(blk)
    noise = np.empty(2 * blk)
    for start in range(0, n_out, blk):
        count = min(blk, n_out - start)
        base = 0
        for n in range(count):
            t = (m0 + start + n) * step + origin
            i0 = int(t)
            p = int((t - i0) * n_ph + 0.5)
            if p == n_ph:
                p = 0
                i0 += 1
            if n == 0:
                base = i0 - lead
            first[n] = i0 - lead - base
            phase[n] = p
        width = first[count - 1] + k_len
        seg = buf[base : base + width]
        for i in range(width):
            re[i] = seg[i].real
            im[i] = seg[i].imag
        for i in range(m_len - 1):
            yr[i], yi[i] = hist[i].real, hist[i].imag
        _interpolate(re, im, first[:count], phase[:count], interp, yr[m_len - 1 : m_len - 1 + count],
                     yi[m_len - 1 : m_len - 1 + count])
        for i in range(m_len - 1):
            hist[i] = complex(yr[count + i], yi[count + i])
        zr[:count] = 0.0
        zi[:count] = 0.0
        for j in range(m_len):  # z[n] = sum_j taps[j] y[n - j]
            tr, ti = taps[j].real, taps[j].imag
            ar, ai = yr[m_len - 1 - j :], yi[m_len - 1 - j :]
            for n in range(count):
                zr[n] += tr * ar[n] - ti * ai[n]
                zi[n] += tr * ai[n] + ti * ar[n]
        normals(state, zk, zw, zf, noise[: 2 * count])
        ph = 2.0 * math.pi * ((freq * (m0 + start)) % 1.0)  # exact at each block's start
        c0, s0 = math.cos(ph), math.sin(ph)
        o = out[start : start + count]
        for n in range(count):
            cr = c0 * ramp[n].real - s0 * ramp[n].imag
            ci = c0 * ramp[n].imag + s0 * ramp[n].real
            o[n] = complex(zr[n] * cr - zi[n] * ci + sigma * noise[2 * n],
                           zr[n] * ci + zi[n] * cr + sigma * noise[2 * n + 1])
