"""The channel emulator's pass: fractional resampling (polyphase interpolator), multipath taps,
CFO and Gaussian noise, block by block.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._jit import JIT_FAST
from .noise import normals


@njit(**JIT_FAST)
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


@njit(**JIT_FAST)
def channel_pass(buf, origin, m0, n_out, em, out):
    """``n_out`` samples of the emulated channel (see :class:`sdr_semcom.phy.channel.ChannelEmulator`).

    The channel's constants and state are the fields of ``em`` (:class:`~.layout.EmulatorState`).
    Output sample m (``m0 <= m < m0 + n_out``) is the input ``buf`` (complex64) read at time
    ``m * step + origin`` (in samples of ``buf``) through the polyphase interpolator ``interp``
    (float32, P phases x K taps, phase p delays by p / P, nearest phase), filtered by the
    multipath ``taps`` (``hist``: the previous len(taps) - 1 interpolated samples, newest last,
    updated in place), rotated by ``exp(2j pi freq m)`` (``ramp[i] = exp(2j pi freq i)`` for
    i < 2048), plus complex Gaussian noise of standard deviation ``sigma`` per component
    (SplitMix64 state ``state``, updated in place; ziggurat tables ``zig``: two normals per sample,
    real part first). Writes ``out``.

    The chunk goes through in blocks of 2048 outputs, one pass per step, with scratch arrays
    that stay in cache.
    """
    step, interp, taps, hist, ramp, freq, sigma, state = em.step, em.interp, em.taps, em.hist, em.ramp, em.freq, \
        em.sigma, em.state
    zk, zw, zf = em.zig.k, em.zig.w, em.zig.f
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
