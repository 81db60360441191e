"""A burst's receiver in two calls: :func:`acquire` (LTF timing, CFO, channel, SIG) once the
detector has fired, :func:`demodulate` (pilot tracking, equaliser, demapper, DATA decoding) once
the burst's samples are in.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._jit import JIT
from .equaliser import equalise, ltf_channel
from .layout import Demap, Tracking
from .ldpc import decode_frame, ldpc_decode
from .sync import ltf_timing, spectra


@njit(**JIT)
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
    ltf = spectra(x, ltf_start - lay.backoff, 2, lay.nfft, cfo, dpk, lay)  # the two copies: no prefix between
    h_full, noise_var, snr_db = ltf_channel(ltf, lay.used_bins, lay.ltf_freq, lay.proj)
    body = ltf_start + 2 * lay.nfft
    sig = spectra(x, body + lay.cp - lay.backoff, lay.sig_syms, lay.sym_len, cfo, dpk, lay)
    no_grid = np.zeros(1)
    no_tracking = Tracking(no_grid, no_grid, False, np.zeros(1, np.int64), np.zeros(1, np.complex128))
    _, llr, _ = equalise(sig, h_full, noise_var, lay, no_tracking, Demap(lay.sig_levels, lay.sig_level_bits, False))
    n = lay.sig_code.n
    cw = np.empty((1, n))
    for v in range(n):
        cw[0, v] = llr[v]
    for v in range(n, llr.size):  # the repeated part of the codeword
        cw[0, v - n] += llr[v]
    hard, ok = ldpc_decode(cw, lay.sig_code, max_iter, lay.alpha, lay.known)
    if not ok[0]:
        return 2, cfo, ltf_start, h_full, noise_var, snr_db, none
    return 0, cfo, ltf_start, h_full, noise_var, snr_db, hard[0][lay.sig_code.info_cols]


@njit(**JIT)
def demodulate(y, h_full, noise_var, lay, track, demap, frame, max_iter):
    """Equalise the spectra ``y`` of a burst's SIG and DATA symbols (:func:`~.equaliser.equalise`,
    with the clock search ``track`` over all of them) and decode the DATA field
    (:func:`~.ldpc.decode_frame` of :class:`~.layout.FrameShape` ``frame``).

    Returns (equalised data carriers of every symbol, frame bytes, True when every codeword
    decoded, clock offset).
    """
    eq, llr, eps = equalise(y, h_full, noise_var, lay, track, demap)
    skip = lay.sig_syms * lay.data_bins.size * demap.level_bits.shape[1] * (2 if demap.two_axes else 1)
    data, ok = decode_frame(llr[skip:], frame, lay, max_iter)
    return eq, data, ok, eps
