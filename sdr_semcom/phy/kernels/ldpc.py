"""LDPC: systematic encoder, layered normalised min-sum decoder with a fixed-width syndrome check,
and the decoder of a burst's DATA field (deinterleaving, shortened last codeword, descrambling).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._jit import JIT


@njit(**JIT)
def ldpc_encode(info, code):
    """Systematic encoding of ``info`` (batch, k): parity = XOR of the packed parity columns
    (``code.a_packed``, :class:`~.layout.LdpcTables`) of the set info bits. Returns (batch, n) uint8.
    """
    parity_cols_packed, info_cols, parity_cols, n = code.a_packed, code.info_cols, code.parity_cols, code.n
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


@njit(**JIT)
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


@njit(**JIT)
def ldpc_decode(llr, code, max_iter, alpha, clip):
    """Layered normalised min-sum over a batch of codewords.

    ``llr`` (batch, n) channel LLRs (positive = bit 0), clipped to ``+-clip``; the parity-check
    matrix (``code``: :class:`~.layout.LdpcGraph`, or :class:`~.layout.LdpcTables`) is given row-wise twice: CSR
    (``col_idx[row_ptr[r]:row_ptr[r+1]]``) for the messages, and ``checks`` (see
    :func:`_hard_ok`) for the syndrome; ``alpha``: the min-sum normalisation. A codeword whose hard decisions already
    satisfy every check (most of them, at high SNR) is not iterated; the others stop as soon as
    all their checks hold. Returns (hard bits (batch, n) uint8, ok (batch,) bool).
    """
    row_ptr, col_idx, checks = code.row_ptr, code.col_idx, code.checks
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


@njit(**JIT)
def decode_frame(llr, frame, lay, max_iter):
    """LLRs of one burst's DATA field -> frame bytes (the inverse of :func:`~.tx.encode_frame`).

    ``frame`` (:class:`~.layout.FrameShape`): ``nbits`` information bits in ``ncw`` codewords,
    ``keep_last``; from ``lay`` (:class:`~.layout.BurstLayout`): ``data_code``, the interleaver
    ``perm``, ``sent_checks``, ``sent_info``, ``scramble`` and the decoder's ``alpha`` and ``known``.

    Codewords are sent whole except the last, whose positions with ``keep_last`` False
    (interleaved order) are shortened bits known to be 0; each codeword was interleaved
    (sent position i carries code bit ``perm[i]``). A whole codeword whose hard decisions
    satisfy every check is read as sent (``sent_checks`` and ``sent_info``: ``checks`` and
    ``info_cols`` in sent positions), without deinterleaving; the others are deinterleaved
    and decoded (:func:`ldpc_decode`). Each codeword's share of the first ``nbits``
    information bits is descrambled (XOR ``scramble``) and packed MSB first.
    Returns (bytes as uint8 array, ok): ok is one bool, True when every codeword satisfied its
    checks; decoding stops at the first codeword that fails (the frame is lost, its bytes are
    incomplete).
    """
    nbits, ncw, keep_last = frame.nbits, frame.ncw, frame.keep_last
    perm, info_cols, scramble = lay.perm, lay.data_code.info_cols, lay.scramble
    sent_checks, sent_info, known = lay.sent_checks, lay.sent_info, lay.known
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
            hard, ok = ldpc_decode(cw, lay.data_code, max_iter, lay.alpha, known)
            if not ok[0]:
                return out, False  # the frame is lost: the remaining codewords need not be decoded
            bits, where = hard[0], info_cols
        src += n
        for i in range(min(k, nbits - c * k)):
            if bits[where[i]] ^ scramble[b]:
                out[b >> 3] |= np.uint8(0x80 >> (b & 7))
            b += 1
    return out, True
