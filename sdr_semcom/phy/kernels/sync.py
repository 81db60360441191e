"""Synchronisation: STF detection, LTF timing and CFO, derotation and the FFT of OFDM symbols.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._jit import JIT, JIT_FAST


@njit(**JIT)
def stf_detect(x, lag, window, threshold, plateau):
    """Find the first preamble in ``x``: a signal periodic with period ``lag`` but not ``lag / 2``.

    ``m(d) = (|R(lag)| - |R(lag/2)|) / sqrt(E0 E1)``, ``R(l) = sum conj(x[d+i]) x[d+i+l]``,
    ``E0 = sum |x[d+i]|^2``, ``E1 = sum |x[d+i+lag]|^2``, ``i < window``: the Schmidl-Cox metric
    less the correlation at half the period. The short training symbol uses only the even
    carriers k, 14 of its 26 with k / 2 odd, so its correlation at ``lag / 2`` nearly cancels
    (-0.08 of its power), while a DC offset or a tone (LO leakage, spurs) correlates equally at
    every lag and scores zero instead of one. Running sums in float64, restarted exactly every
    4096 positions. Scanning stops ``plateau`` positions after the first ``m > threshold``.
    Returns ``(first, peak, scanned)``: the first position above the threshold and the position
    of the largest metric within ``plateau`` of it (-1, -1 without a hit; peak -1 when ``x``
    ends before the plateau does) and the number of positions computed. ``x`` must be finite
    (:func:`.front_end.front_end_clean`).
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


@njit(**JIT_FAST)
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


def fft_plan(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Bit-reversal permutation and twiddles ``exp(-2j pi k / n)`` for :func:`fft_inplace`."""
    if n < 2 or n & (n - 1):
        raise ValueError(f"FFT size must be a power of two, got {n}")
    bits = n.bit_length() - 1
    rev = np.array([int(f"{i:0{bits}b}"[::-1], 2) for i in range(n)], dtype=np.int64)
    return rev, np.exp(-2j * np.pi * np.arange(n // 2) / n)


@njit(**JIT)
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


@njit(**JIT_FAST)
def derotated_frames(x, first, count, spacing, nfft, cfo, phase_origin, scale):
    """(count, nfft) complex128 FFT windows, window k starting at ``first + k * spacing``,
    with the CFO removed: sample n is multiplied by ``scale * exp(-2j pi cfo (n - phase_origin))``.
    (For a whole burst numpy's FFT then transforms all rows at once, faster than a per-row
    FFT; :func:`spectra` does the few SIG and LTF symbols with :func:`fft_inplace`.)
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


@njit(**JIT)
def spectra(x, first, count, spacing, cfo, phase_origin, lay):
    """FFT of ``count`` derotated windows (:func:`derotated_frames`), with :func:`fft_inplace`;
    the FFT size, scale and plan come from ``lay`` (:class:`~.layout.BurstLayout`)."""
    frames = derotated_frames(x, first, count, spacing, lay.nfft, cfo, phase_origin, lay.sym_scale)
    for k in range(count):
        fft_inplace(frames[k], lay.fft_rev, lay.fft_tw)
    return frames
