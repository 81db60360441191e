"""Compiled inner loops of the PHY (numba, cached on disk after the first run).

The modem's hot paths are per-sample or per-edge loops that numpy can only
express with many temporary arrays; here they are plain loops compiled by
numba.  Each function is small, has no Python objects in its signature and is
called once per burst (or per codeword batch), so the Python overhead per burst
stays at a few dozen calls.

The first import compiles them (a few seconds) and caches the machine code in
``__pycache__`` (or ``$NUMBA_CACHE_DIR``); later processes load it in
milliseconds.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_OPTS = {"cache": True, "nogil": True, "fastmath": False}
_FAST = {**_OPTS, "fastmath": True}  # reassociation allowed: vectorised loops (no NaN/inf reach these)


# ------------------------------------------------------------------------------ detection
@njit(**_OPTS)
def stf_detect(x, lag, window, threshold, plateau):
    """Find the first preamble in ``x`` with the normalised delayed auto-correlation.

    ``m(d) = |sum conj(x[d+i]) x[d+i+lag]|^2 / (sum |x[d+i]|^2 * sum |x[d+i+lag]|^2)``, ``i < window``
    (the square of the Schmidl-Cox metric: no square root per sample), with running sums in
    float64 restarted exactly every 4096 positions. Scanning stops ``plateau`` positions after the
    first ``m > threshold**2``. Returns ``(first, peak, scanned)``: the first position above the
    threshold and the position of the largest metric within ``plateau`` of it (-1, -1 without a
    hit; peak -1 when ``x`` ends before the plateau does) and the number of positions computed.
    """
    n = x.size - lag - window + 1
    thr2 = threshold * threshold
    pr = 0.0
    pi = 0.0
    e0 = 0.0
    e1 = 0.0
    first, peak, best = -1, -1, -1.0
    for d in range(max(n, 0)):
        if d % 4096 == 0:  # exact restart: no drift from add/subtract over long streams
            pr = pi = e0 = e1 = 0.0
            for i in range(d, d + window):
                a = x[i]
                b = x[i + lag]
                pr += a.real * b.real + a.imag * b.imag
                pi += a.real * b.imag - a.imag * b.real
                e0 += a.real * a.real + a.imag * a.imag
                e1 += b.real * b.real + b.imag * b.imag
        else:
            a = x[d + window - 1]
            b = x[d + window - 1 + lag]
            c = x[d - 1]
            f = x[d - 1 + lag]
            pr += a.real * b.real + a.imag * b.imag - (c.real * f.real + c.imag * f.imag)
            pi += a.real * b.imag - a.imag * b.real - (c.real * f.imag - c.imag * f.real)
            e0 += a.real * a.real + a.imag * a.imag - (c.real * c.real + c.imag * c.imag)
            e1 += b.real * b.real + b.imag * b.imag - (f.real * f.real + f.imag * f.imag)
        den = max(e0, 0.0) * max(e1, 0.0)
        m = (pr * pr + pi * pi) / den if den > 1e-24 else 0.0
        if first < 0:
            if m > thr2:
                first, best, peak = d, m, d
        else:
            if d >= first + plateau:
                return first, peak, d
            if m > best:
                best, peak = m, d
    if first >= 0:
        return first, -1, max(n, 0)
    return -1, -1, max(n, 0)


@njit(**_OPTS)
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
    seg = np.empty(seg_len, np.complex128)
    w = -2.0 * math.pi * cfo
    rot = complex(math.cos(w * (lo - dpk)), math.sin(w * (lo - dpk)))
    step = complex(math.cos(w), math.sin(w))
    for s in range(seg_len):
        seg[s] = x[lo + s] * rot
        rot *= step
    corr = np.empty(count + nfft, np.complex128)
    energy = np.empty(count + nfft)
    for i in range(count + nfft):
        c = 0j
        e = 0.0
        for k in range(nfft):
            v = seg[i + k]
            c += v * ltf_sym[k].conjugate()
            e += v.real * v.real + v.imag * v.imag
        corr[i] = c
        energy[i] = e
    best, best_i = -1.0, 0
    for i in range(count):
        q = abs(corr[i]) + abs(corr[i + nfft])
        if q > best:
            best, best_i = q, i
    norm = 0.0
    for k in range(nfft):
        norm += abs(ltf_sym[k]) ** 2
    rho = best / (math.sqrt(norm) * (math.sqrt(energy[best_i]) + math.sqrt(energy[best_i + nfft])) + 1e-12)
    acc = 0j
    for k in range(nfft):
        acc += seg[best_i + k].conjugate() * seg[best_i + nfft + k]
    return cfo, best_i, rho, math.atan2(acc.imag, acc.real) / (2.0 * math.pi * nfft)


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
@njit(**_OPTS)
def derotated_frames(x, first, count, spacing, nfft, cfo, phase_origin, scale):
    """(count, nfft) complex128 FFT windows, window k starting at ``first + k * spacing``,
    with the CFO removed: sample n is multiplied by ``scale * exp(-2j pi cfo (n - phase_origin))``.
    (numpy's FFT then transforms all rows at once: faster than a per-row FFT here.)
    """
    out = np.empty((count, nfft), np.complex128)
    w = -2.0 * math.pi * cfo
    step = complex(math.cos(w), math.sin(w))
    for k in range(count):
        a = first + k * spacing
        ph = w * (a - phase_origin)
        rot = complex(math.cos(ph), math.sin(ph)) * scale
        for i in range(nfft):
            out[k, i] = x[a + i] * rot
            rot *= step
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
def _phasors(k, eps, delay0, delay_step, nfft, rot, step):
    """Clock-drift phasors of carriers ``k`` at the first symbol (``rot``) and per symbol (``step``)."""
    for p in range(k.size):
        w = -2.0 * math.pi * k[p] * eps / nfft
        rot[p] = complex(math.cos(w * delay0), math.sin(w * delay0))
        step[p] = complex(math.cos(w * delay_step), math.sin(w * delay_step))


@njit(**_FAST)
def _clock_score(z, pilots, delay0, delay_step, nfft, eps, rot, step):
    """Sum over symbols of ``|sum_p z[t, p] exp(-2j pi k_p eps delay_t / nfft)|``."""
    t_len, p_len = z.shape
    _phasors(pilots, eps, delay0, delay_step, nfft, rot, step)
    score = 0.0
    for t in range(t_len):
        acc = 0j
        for p in range(p_len):
            acc += z[t, p] * rot[p]
            rot[p] *= step[p]
        score += abs(acc)
    return score


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
    for j in range(d_len):
        inv_nv[j] = abs(h_data[j]) ** 2 / max(noise_var, 1e-12)
        drift[j] /= h_data[j]
    u = np.empty(t_len, np.complex128)
    for t in range(t_len):
        u[t] = wt[t] * complex(math.cos(freq * t), -math.sin(freq * t))
    for t in range(t_len):
        sm = 0j
        for i in range(max(t - half, 0), min(t + half + 1, t_len)):
            sm += u[i]
        ph = -(math.atan2(sm.imag, sm.real) + freq * t)
        rot = complex(math.cos(ph), math.sin(ph))
        for j in range(d_len):
            eq[t, j] = y[t, data_bins[j]] * rot * drift[j]
            drift[j] *= step[j]
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
        every = max(1, t_len // 32)
        zs = z[::every]
        best = -1.0
        for g in range(coarse.size):
            score = _clock_score(zs, pilots, delay0, delay_step * every, nfft, coarse[g], rot, step)
            if score > best:
                best, eps = score, coarse[g]
        centre = eps
        best = -1.0
        for g in range(fine.size):
            score = _clock_score(z, pilots, delay0, delay_step, nfft, centre + fine[g], rot, step)
            if score > best:
                best, eps = score, centre + fine[g]
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
def _syndrome_ok(total, row_ptr, col_idx):
    for r in range(row_ptr.size - 1):
        par = False
        for e in range(row_ptr[r], row_ptr[r + 1]):
            par ^= total[col_idx[e]] < 0
        if par:
            return False
    return True


@njit(**_OPTS)
def ldpc_decode(llr, row_ptr, col_idx, max_iter, alpha, clip):
    """Layered normalised min-sum over a batch of codewords.

    ``llr`` (batch, n) channel LLRs (positive = bit 0); the parity-check matrix is given
    row-wise (CSR: ``col_idx[row_ptr[r]:row_ptr[r+1]]``). Each codeword stops as soon as all
    its checks hold. Returns (hard bits (batch, n) uint8, ok (batch,) bool).
    """
    batch, n = llr.shape
    n_edges = col_idx.size
    hard = np.empty((batch, n), np.uint8)
    ok = np.zeros(batch, np.bool_)
    total = np.empty(n)
    r_msg = np.empty(n_edges)
    q = np.empty(64)
    for b in range(batch):
        good = _syndrome_ok(llr[b], row_ptr, col_idx)  # most codewords arrive clean at high SNR
        if good:
            for v in range(n):
                hard[b, v] = llr[b, v] < 0
            ok[b] = True
            continue
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
            good = _syndrome_ok(total, row_ptr, col_idx)
        ok[b] = good
        for v in range(n):
            hard[b, v] = 1 if total[v] < 0 else 0
    return hard, ok


@njit(**_OPTS)
def decode_frame(llr, nbits, ncw, keep_last, perm, info_cols, row_ptr, col_idx, max_iter, alpha, known, scramble):
    """LLRs of one burst's DATA field -> frame bytes.

    Codewords are sent whole except the last, whose positions with ``keep_last`` False
    (interleaved order) are shortened bits known to be 0; each codeword was interleaved
    (sent position i carries code bit ``perm[i]``). After decoding, the first ``nbits``
    information bits are descrambled (XOR ``scramble``) and packed MSB first.
    Returns (bytes as uint8 array, True where every codeword satisfied its checks).
    """
    n = perm.size
    if llr.size < (ncw - 1) * n + np.sum(keep_last) or nbits > ncw * info_cols.size or scramble.size < nbits:
        raise ValueError("decode_frame: fewer LLRs or scrambler bits than the frame layout needs")
    full = np.empty((ncw, n))
    src = 0
    for c in range(ncw - 1):
        for i in range(n):
            full[c, perm[i]] = llr[src + i]
        src += n
    for i in range(n):
        if keep_last[i]:
            full[ncw - 1, perm[i]] = llr[src]
            src += 1
        else:
            full[ncw - 1, perm[i]] = known
    hard, ok = ldpc_decode(full, row_ptr, col_idx, max_iter, alpha, known)
    out = np.zeros((nbits + 7) // 8, np.uint8)
    k = info_cols.size
    b = 0
    for c in range(ncw):
        for i in range(min(k, nbits - c * k)):
            if hard[c, info_cols[i]] ^ scramble[b]:
                out[b >> 3] |= np.uint8(0x80 >> (b & 7))
            b += 1
    return out, ok.all()


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
    info = np.zeros((ncw, k), np.uint8)
    b = 0
    for c in range(ncw):
        for i in range(min(k, nbits - c * k)):
            info[c, i] = ((payload[b >> 3] >> (7 - (b & 7))) & 1) ^ scramble[b]
            b += 1
    cws = ldpc_encode(info, parity_cols_packed, info_cols, parity_cols, n)
    out = np.zeros(total_bits, np.uint8)
    pos = 0
    for c in range(ncw):
        for i in range(n):
            if c < ncw - 1 or keep_last[i]:
                out[pos] = cws[c, perm[i]]
                pos += 1
    return out


@njit(**_OPTS)
def ofdm_grid(head, coded, table, data_bins, pilot_bins, pilot_base, polarity, nfft, scale):
    """Frequency grid (T, nfft) of a burst's OFDM symbols: one per row of ``head`` (data carrier
    values), then those that map ``coded`` bits (MSB first, ``log2(len(table))`` bits per carrier)
    through ``table``; pilots are ``pilot_base`` times the polarity of the symbol's index; every
    carrier is multiplied by ``scale``.
    """
    d_len = data_bins.size
    bps = 0
    while (1 << bps) < table.size:
        bps += 1
    n_head = head.shape[0]
    t_len = n_head + coded.size // (bps * d_len)
    grid = np.zeros((t_len, nfft), np.complex128)
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
    return grid
