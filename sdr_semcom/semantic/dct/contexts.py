"""Codec v4's entropy coder: neighbour-aware contexts over whole MCUs (compiled with numba).

Same range coder as :mod:`.entropy` (LZMA's; initial probabilities learned, each packet coded
alone), a richer binarisation that uses what the decoder already has *within the packet*: the
MCU's own earlier blocks (its four luma blocks are 2 x 2 neighbours; Cr sits on Cb) and, for the
MCU's first blocks, the nearest MCU earlier in the same packet (the interleaver spreads MCUs, so
that one is adjacent only for a minority; :func:`dc_references`). Each context keeps two
probabilities in 1/2^15 that adapt at two rates (shifts :data:`FAST`, :data:`SLOW`) from the
learned one; a decision is coded with their mean.

Per block (an MCU is Y0 Y1 Y2 Y3 Cb Cr; Y1 is right of Y0, Y2 below it, Y3 right of Y2), AC first:

- **Nonzero count** of the 63 AC coefficients, 6 bits down a binary tree whose contexts are
  chosen by the count predicted from the neighbours (Y1, Y2, Y3: the luma blocks left / above
  within the MCU; Y0: the adjacent reference MCU's luma; Cb: the MCU's luma; Cr: Cb), in
  :data:`N_PRED` buckets.
- **Significance** of coefficient k (zig-zag, until the count is used up; implied when every
  remaining coefficient must be nonzero): context k x remaining count (6 buckets) x how many
  neighbour blocks have coefficient k nonzero (none / 0 / 1 / 2). Neighbours: within the MCU,
  or the adjacent reference MCU's block for Y0, Cb, Cr (:func:`_neighbours`).
- **Magnitude** ``m >= 1``: ``m - 1`` in unary over ``UNARY`` bins (context: frequency band x
  the neighbours' largest magnitude at k (none / 0 / 1 / 2 / 3+) x magnitudes above 1 so far
  in the block (0 / 1 / 2+)), the rest Exp-Golomb; then the **sign** (context: k up to 10 x the
  sum of the neighbours' signs at k).
- **DC**, last: the difference to a prediction, as a zero flag, a sign and a magnitude, in one
  of :data:`DC_KINDS` context sets. Where a left or upper neighbour block is decoded (inside
  the MCU, or in an adjacent reference MCU), the prediction is the DC that continues its edge
  pixels and the gradient across the edge into this block's own (AC-only) edge pixels, averaged
  over the 8 or 16 edge pixels (:func:`_edge_prediction`); the set is chosen by 1 or 2 edges x
  the estimates' spread. Otherwise: from the reference MCU (its nearest luma block when it is
  diagonal, else the mean of its luma DCs; its Cb / Cr), by its distance (1, 2, 3+), or from
  0 for a packet's first MCU.

``counts`` records every adaptive decision the encoder makes (how the initial probabilities are
learned, :func:`.entropy.initial_probabilities`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .entropy import PROB_BITS, TOP, UNARY, _band, _dec_direct, _dec_norm, _enc_direct, _shift_low

_OPTS = {"cache": True, "nogil": True}

DC_KINDS = 9  # edge-predicted: (1 or 2 edges) x spread (3); else reference at distance 1, 2, 3+ / none
DC_SET = 2 + UNARY  # zero flag, sign, magnitude bins
N_PRED = 9  # predicted-count buckets: none, 0, 1, 2, 3-4, 5-7, 8-11, 12-19, 20+
REM_BUCKETS = 6  # remaining count: 1, 2, 3-4, 5-8, 9-16, 17+
NB_STATES = 4  # neighbours at k: none, then 1 + how many are nonzero (0..2)
MAG_NB = 5  # neighbours' largest |c| at k: none, 0, 1, 2, 3+

CTX_DC = 0
CTX_NNZ = CTX_DC + DC_KINDS * DC_SET  # N_PRED x 64 tree nodes
CTX_SIG = CTX_NNZ + N_PRED * 64  # 63 x REM_BUCKETS x NB_STATES
CTX_MAG = CTX_SIG + 63 * REM_BUCKETS * NB_STATES  # 4 bands x MAG_NB x 3 x UNARY
CTX_SIGN = CTX_MAG + 4 * MAG_NB * 3 * UNARY  # SIGN_K x SIGN_NB
SIGN_K = 11  # coefficients 1..9 alone, then 10+
SIGN_NB = 6  # neighbours' signs at k: none, else their sum + 3 (-2..2)
N_CTX = CTX_SIGN + SIGN_K * SIGN_NB

CHANNEL = np.array([0, 0, 0, 0, 1, 2], np.int64)
# neighbours of each block inside its MCU (-1: none); Cr's "left" is Cb (same place, other channel)
LEFT = np.array([-1, 0, -1, 2, -1, 4], np.int64)
UP = np.array([-1, -1, 0, 1, -1, -1], np.int64)


# ------------------------------------------------------------------- adaptive binary decisions
# Each context keeps two probabilities of a 0 in 1/2^15, one adapting fast (shift FAST), one slowly
# (SLOW), both starting from the learned initial probability; a decision is coded with their mean.
P_BITS = 15
P_ONE = 1 << P_BITS
FAST = 3
SLOW = 5


def start_probabilities(probs_init: np.ndarray) -> np.ndarray:
    """(3, N_CTX) learned probabilities in 1/2^PROB_BITS -> the coder's (3, N_CTX, 2) state."""
    p = np.asarray(probs_init, np.int64) << (P_BITS - PROB_BITS)
    return np.ascontiguousarray(np.stack([p, p], axis=-1))


@njit(**_OPTS)
def _update(probs, ch, ctx, bit):
    a = probs[ch, ctx, 0]
    b = probs[ch, ctx, 1]
    if bit == 0:
        probs[ch, ctx, 0] = a + ((P_ONE - a) >> FAST)
        probs[ch, ctx, 1] = b + ((P_ONE - b) >> SLOW)
    else:
        probs[ch, ctx, 0] = a - (a >> FAST)
        probs[ch, ctx, 1] = b - (b >> SLOW)


@njit(**_OPTS)
def _enc_bit(st, out, probs, counts, ch, ctx, bit):
    p = (probs[ch, ctx, 0] + probs[ch, ctx, 1]) >> 1
    p = min(max(p, 32), P_ONE - 32)
    bound = (st[1] >> P_BITS) * p
    if bit == 0:
        st[1] = bound
    else:
        st[0] += bound
        st[1] -= bound
    _update(probs, ch, ctx, bit)
    counts[ch, ctx, bit] += 1
    while st[1] < TOP:
        st[1] = (st[1] << 8) & 0xFFFFFFFF
        _shift_low(st, out)


@njit(**_OPTS)
def _dec_bit(st, data, probs, ch, ctx):
    p = (probs[ch, ctx, 0] + probs[ch, ctx, 1]) >> 1
    p = min(max(p, 32), P_ONE - 32)
    bound = (st[1] >> P_BITS) * p
    if st[0] < bound:
        st[1] = bound
        bit = 0
    else:
        st[0] -= bound
        st[1] -= bound
        bit = 1
    _update(probs, ch, ctx, bit)
    _dec_norm(st, data)
    return bit


@njit(**_OPTS)
def _enc_mag(st, out, probs, counts, ch, ctx0, m):
    """m >= 1: unary bins of m - 1 (contexts ctx0..ctx0+UNARY-1), then Exp-Golomb."""
    v = m - 1
    for i in range(UNARY):
        more = 1 if v > i else 0
        _enc_bit(st, out, probs, counts, ch, ctx0 + i, more)
        if not more:
            return
    r = v - UNARY + 1
    nb = 0
    while (r >> (nb + 1)) > 0:
        nb += 1
    _enc_direct(st, out, 0, nb)
    _enc_direct(st, out, r, nb + 1)


@njit(**_OPTS)
def _dec_mag(st, data, probs, ch, ctx0):
    v = 0
    for i in range(UNARY):
        if not _dec_bit(st, data, probs, ch, ctx0 + i):
            return v + 1
        v += 1
    nb = 0
    while _dec_direct(st, data, 1) == 0:
        nb += 1
        if nb > 30:  # corrupt data: no valid Exp-Golomb code is this long
            st[3] += 1000
            return 1
    r = (1 << nb) | _dec_direct(st, data, nb)
    return r + UNARY



def dc_references(cells: np.ndarray, grid_w: int) -> tuple[np.ndarray, np.ndarray]:
    """For each MCU of a packet (``cells``: raster indices, sorted), the nearest MCU earlier in the
    packet: (position in ``cells`` or -1; where it is, ``dist * 16 + dr * 4 + dc + 5`` with ``dr``,
    ``dc`` its row and column offset clipped to -1..1 (left: 0, -1; above: -1, 0) and ``dist``
    the Chebyshev distance clipped to 3; 0 where there is none).

    Parameters
    ----------
    cells : ndarray
        Sorted raster indices of the packet's MCUs.
    grid_w : int
        MCUs per row.

    Output
    ------
    (ndarray, ndarray)
        int64 arrays of ``cells.size``.
    """
    r, c = np.divmod(cells.astype(np.int64), grid_w)
    n = cells.size
    ref = np.full(n, -1, np.int64)
    where = np.zeros(n, np.int64)
    if n < 2:
        return ref, where
    dr = r[:, None] - r[None, :]
    dc = c[:, None] - c[None, :]
    cheb = np.maximum(np.abs(dr), np.abs(dc))
    score = cheb * 4096 + dr * dr + dc * dc  # nearest by Chebyshev distance, then Euclidean
    score[np.triu_indices(n)] = np.iinfo(np.int64).max  # only MCUs earlier in the packet
    ref[1:] = np.argmin(score[1:], axis=1)
    i = np.arange(1, n)
    d = np.minimum(cheb[i, ref[1:]], 3)
    code = np.clip(-dr[i, ref[1:]], -1, 1) * 4 + np.clip(-dc[i, ref[1:]], -1, 1) + 5  # where the reference is
    where[1:] = d * 16 + code
    return ref, where


@njit(**_OPTS)
def _pred_bucket(p):
    if p < 0:
        return 0
    if p < 3:
        return 1 + p
    if p < 5:
        return 4
    if p < 8:
        return 5
    if p < 12:
        return 6
    if p < 20:
        return 7
    return 8


@njit(**_OPTS)
def _rem_bucket(n):
    if n < 3:
        return n - 1
    if n < 5:
        return 2
    if n < 9:
        return 3
    if n < 17:
        return 4
    return 5


@njit(**_OPTS)
def _med(a, b, c):
    """Median edge detector (LOCO-I): a left, b above, c above-left."""
    if c >= max(a, b):
        return min(a, b)
    if c <= min(a, b):
        return max(a, b)
    return a + b - c


@njit(**_OPTS)
def _pixels(coefs, steps, zz, basis, out):
    """8x8 inverse DCT (orthonormal) of zig-zag ``coefs`` dequantised by ``steps`` into ``out``."""
    x = np.zeros((8, 8))
    for k in range(64):
        if coefs[k] != 0:
            z = zz[k]
            x[z // 8, z % 8] = coefs[k] * steps[k]
    t = basis.T @ x
    out[:, :] = t @ basis


@njit(**_OPTS)
def _edge_offsets(own, nb, side, est, n):
    """Append to ``est`` the DC offsets (pixel units) that make block ``own`` (DC left out) continue
    neighbour ``nb`` smoothly across their shared edge (side 0: ``nb`` is left, 1: above): the
    neighbour's edge pixel plus the mean of the two gradients across the edge, minus ours."""
    for i in range(8):
        if side == 0:
            a0, a1, n7, n6 = own[i, 0], own[i, 1], nb[i, 7], nb[i, 6]
        else:
            a0, a1, n7, n6 = own[0, i], own[1, i], nb[7, i], nb[6, i]
        est[n] = n7 + 0.5 * ((n7 - n6) + (a1 - a0)) - a0
        n += 1
    return n


@njit(**_OPTS)
def _edge_prediction(pix, own, m, blk, ref, where, step0):
    """(DC prediction in quantiser steps, number of edges used, spread of the estimates in steps)
    of block ``blk`` of MCU ``m`` from the decoded pixels of its left / upper neighbours that the
    decoder has: inside the MCU, or in the adjacent reference MCU."""
    est = np.empty(16)
    n = 0
    if blk == 1:
        n = _edge_offsets(own, pix[m, 0], 0, est, n)
    elif blk == 2:
        n = _edge_offsets(own, pix[m, 0], 1, est, n)
    elif blk == 3:
        n = _edge_offsets(own, pix[m, 2], 0, est, n)
        n = _edge_offsets(own, pix[m, 1], 1, est, n)
    elif ref[m] >= 0 and where[m] // 16 == 1:
        r, code = ref[m], where[m] % 16  # code = dr * 4 + dc + 5
        if code == 4:  # left neighbour
            n = _edge_offsets(own, pix[r, 1 if blk == 0 else blk], 0, est, n)
        elif code == 2:  # above
            n = _edge_offsets(own, pix[r, 2 if blk == 0 else blk], 1, est, n)
    if n == 0:
        return 0, 0, 0
    mean = est[:n].mean()
    spread = (est[:n].max() - est[:n].min()) * 8.0 / step0
    v = mean * 8.0 / step0
    return int(np.floor(v + 0.5)), n // 8, spread


@njit(**_OPTS)
def _dc_prediction(q, m, blk, ref, where):
    """(prediction, context set) of block ``blk``'s DC in MCU ``m`` (earlier blocks decoded)."""
    if blk == 1 or blk == 2:
        return q[m, 0, 0], blk - 1
    if blk == 3:
        return _med(q[m, 2, 0], q[m, 1, 0], q[m, 0, 0]), 2
    r = ref[m]
    if r < 0:
        return 0, 5  # no reference: the farthest set
    dist = where[m] // 16
    kind = 2 + dist  # distance 1, 2, 3+: sets 3, 4, 5
    if blk >= 4:
        return q[r, blk, 0], kind
    if dist == 1:
        code = where[m] % 16  # dr * 4 + dc + 5, dr in {-1, 0}
        if code == 4:  # left: its top-right block
            return q[r, 1, 0], kind
        if code == 1:  # above-left: its bottom-right
            return q[r, 3, 0], kind
        if code == 2 or code == 3:  # above or above-right: its bottom-left
            return q[r, 2, 0], kind
    s = q[r, 0, 0] + q[r, 1, 0] + q[r, 2, 0] + q[r, 3, 0]
    return (s + 2) // 4 if s >= 0 else -((-s + 2) // 4), kind


@njit(**_OPTS)
def _nnz_prediction(nnz, m, blk, ref, where):
    if blk == 0:
        r = ref[m]
        if r >= 0 and where[m] // 16 == 1:
            return (nnz[r, 0] + nnz[r, 1] + nnz[r, 2] + nnz[r, 3] + 2) // 4
        return -1
    if blk == 4:
        return (nnz[m, 0] + nnz[m, 1] + nnz[m, 2] + nnz[m, 3] + 2) // 4
    a, b = LEFT[blk], UP[blk]
    if a >= 0 and b >= 0:
        return (nnz[m, a] + nnz[m, b] + 1) // 2
    if a >= 0:
        return nnz[m, a]
    return nnz[m, b]


@njit(**_OPTS)
def _neighbours(m, blk, ref, where):
    """(MCU, block) of the left and upper neighbours of block ``blk`` of MCU ``m`` that the decoder
    has before it (block -1 where none): inside the MCU (Cr's "left" is Cb, same place), or in the
    reference MCU when that is the left or upper neighbour (for Y0, Cb, Cr)."""
    if blk == 1 or blk == 2 or blk == 3 or blk == 5:
        return m, LEFT[blk], m, UP[blk]
    r = ref[m]
    if r >= 0 and where[m] // 16 == 1:
        code = where[m] % 16
        if code == 4:  # left
            return r, 1 if blk == 0 else blk, m, -1
        if code == 2:  # above
            return m, -1, r, 2 if blk == 0 else blk
    return m, -1, m, -1


@njit(**_OPTS)
def _nb_at(q, ma, a, mb, b, k):
    """(significance state, magnitude state, sign context) of the neighbours' coefficient k."""
    sk = min(k, SIGN_K) - 1
    if a < 0 and b < 0:
        return 0, 0, CTX_SIGN + sk * SIGN_NB
    nz = 0
    big = 0
    sg = 0
    if a >= 0:
        v = q[ma, a, k]
        nz += v != 0
        big = max(big, abs(v))
        sg += (v > 0) - (v < 0)
    if b >= 0:
        v = q[mb, b, k]
        nz += v != 0
        big = max(big, abs(v))
        sg += (v > 0) - (v < 0)
    return 1 + nz, 1 + min(big, 3), CTX_SIGN + sk * SIGN_NB + sg + 3


@njit(**_OPTS)
def _dc_context(pix, own, q, m, blk, ref, where, step0):
    """(prediction, context set) of the DC of block ``blk`` in MCU ``m``, its AC known."""
    pred, edges, spread = _edge_prediction(pix, own, m, blk, ref, where, step0)
    if edges > 0:
        sb = 0 if spread < 1.5 else 1 if spread < 4 else 2
        return pred, 3 * (edges - 1) + sb
    pred, kind = _dc_prediction(q, m, blk, ref, where)  # far (or diagonal) reference: kinds 3..5
    return pred, kind + 3


@njit(**_OPTS)
def _nnz_context(nnz, m, blk, ref, where):
    return CTX_NNZ + 64 * _pred_bucket(_nnz_prediction(nnz, m, blk, ref, where))


@njit(**_OPTS)
def _mag_context(k, nbm, big):
    return CTX_MAG + ((_band(k) * MAG_NB + nbm) * 3 + min(big, 2)) * UNARY


# ------------------------------------------------------------------- rate-distortion optimised quantisation
#: -log2(p / P_ONE) for p = 0 .. P_ONE: the bits a decision coded with probability p costs
_COST = -np.log2(np.maximum(np.arange(P_ONE + 1), 1) / P_ONE)


@njit(**_OPTS)
def _bit_cost(probs, ch, ctx, bit):
    p = (probs[ch, ctx, 0] + probs[ch, ctx, 1]) >> 1
    p = min(max(p, 32), P_ONE - 32)
    return _COST[p] if bit == 0 else _COST[P_ONE - p]


@njit(**_OPTS)
def _mag_cost(probs, ch, ctx0, m):
    """Bits of magnitude ``m >= 1`` as :func:`_enc_mag` codes it, with today's probabilities."""
    v = m - 1
    bits = 0.0
    for i in range(UNARY):
        more = 1 if v > i else 0
        bits += _bit_cost(probs, ch, ctx0 + i, more)
        if not more:
            return bits
    r = v - UNARY + 1
    nb = 0
    while (r >> (nb + 1)) > 0:
        nb += 1
    return bits + 2 * nb + 1


@njit(**_OPTS)
def _ac_bits(lv, ch, base, nbs, nbm, sgn, probs):
    """Bits of a block's AC levels ``lv`` (64, zig-zag; ``lv[0]`` ignored) as :func:`encode_mcus` codes
    them, with the contexts' probabilities as they stand (no adaptation within the block); ``base`` the
    nonzero count's context, ``nbs``, ``nbm``, ``sgn`` the neighbour states of each k (:func:`_nb_at`)."""
    cnt = 0
    for k in range(1, 64):
        if lv[k] != 0:
            cnt += 1
    bits = 0.0
    node = 1
    for i in range(5, -1, -1):
        bit = (cnt >> i) & 1
        bits += _bit_cost(probs, ch, base + node, bit)
        node = 2 * node + bit
    rem = cnt
    big = 0
    for k in range(1, 64):
        if rem == 0:
            break
        c = lv[k]
        if rem < 64 - k:
            ctx = CTX_SIG + ((k - 1) * REM_BUCKETS + _rem_bucket(rem)) * NB_STATES + nbs[k]
            bits += _bit_cost(probs, ch, ctx, 1 if c != 0 else 0)
        if c == 0:
            continue
        rem -= 1
        bits += _mag_cost(probs, ch, _mag_context(k, nbm[k], big), abs(c))
        if abs(c) > 1:
            big += 1
        bits += _bit_cost(probs, ch, sgn[k], 1 if c < 0 else 0)
    return bits


@njit(**_OPTS)
def _rdoq_block(q, m, blk, x, step, lam, probs, ch, base, ma, a, mb, b):
    """Rate-distortion optimised quantisation of block ``blk`` of MCU ``m`` (its AC, in place in ``q``):
    from the last coefficient back, lower each level by one or to 0 where ``lam`` x the bits saved
    (:func:`_ac_bits`, the coder's own contexts as they stand) exceeds the squared error added (``x``
    the block's unquantised coefficients, ``step`` its quantiser steps); then zero the whole AC if
    that costs less still. The DC is left as quantised."""
    nbs = np.zeros(64, np.int64)
    nbm = np.zeros(64, np.int64)
    sgn = np.zeros(64, np.int64)
    for k in range(1, 64):
        nbs[k], nbm[k], sgn[k] = _nb_at(q, ma, a, mb, b, k)
    lv = q[m, blk].copy()
    cost = lam * _ac_bits(lv, ch, base, nbs, nbm, sgn, probs)  # + squared error added so far (0)
    added = 0.0
    for k in range(63, 0, -1):
        a0 = abs(lv[k])
        if a0 == 0:
            continue
        s = 1 if lv[k] > 0 else -1
        ax = abs(x[k]) / step[k]
        s2 = step[k] * step[k]
        e0 = (ax - a0) * (ax - a0)
        best_v, best_cost, best_add = a0, cost, 0.0
        for v in (a0 - 1, 0):
            if v == best_v or (v == 0 and a0 == 1):
                continue
            lv[k] = s * v
            add = s2 * ((ax - v) * (ax - v) - e0)
            c = lam * _ac_bits(lv, ch, base, nbs, nbm, sgn, probs) + added + add
            if c < best_cost:
                best_v, best_cost, best_add = v, c, add
        lv[k] = s * best_v
        cost = best_cost
        added += best_add
    zero = lv.copy()
    add = 0.0
    for k in range(1, 64):
        if lv[k] != 0:
            ax = abs(x[k]) / step[k]
            add += step[k] * step[k] * (ax * ax - (ax - abs(lv[k])) ** 2)
            zero[k] = 0
    if add > 0 and lam * _ac_bits(zero, ch, base, nbs, nbm, sgn, probs) + add < cost - added:
        lv = zero
    for k in range(1, 64):
        q[m, blk, k] = lv[k]


@njit(**_OPTS)
def encode_mcus(q, ref, where, steps, zz, basis, probs_init, counts, out, x, lam):
    """Code the MCUs ``q`` (N, 6, 64) int32 zig-zag of one packet into ``out``; ``ref`` and
    ``where`` from :func:`dc_references`, ``steps`` (6, 64) the quantiser steps, ``zz`` and
    ``basis`` the zig-zag position -> row-major index map and the 8-point DCT matrix. Returns the bytes written
    (more than ``out.size``: did not fit, the rest dropped).

    Rate-distortion optimised quantisation (encoder only, the bitstream is the same): where ``lam[blk] > 0``,
    block ``blk`` of each MCU is requantised first by :func:`_rdoq_block` from ``x`` (N, 6, 64) float, the
    unquantised coefficients, with Lagrange multiplier ``lam[blk]`` (squared coefficient error per bit), and
    ``q`` is left holding the levels that were coded. ``x`` may be empty where ``lam`` is all 0."""
    probs = probs_init.copy()  # (3, N_CTX, 2): start_probabilities
    st = np.zeros(5, np.int64)
    st[1] = (1 << 32) - 1
    st[3] = 1
    n = q.shape[0]
    nnz = np.zeros((n, 6), np.int64)
    pix = np.zeros((n, 6, 8, 8))
    own = np.zeros((8, 8))
    ac = np.zeros(64, np.int32)
    for m in range(n):
        for blk in range(6):
            ch = CHANNEL[blk]
            base = _nnz_context(nnz, m, blk, ref, where)
            ma, a, mb, b = _neighbours(m, blk, ref, where)
            if lam[blk] > 0:
                _rdoq_block(q, m, blk, x[m, blk], steps[blk], lam[blk], probs, ch, base, ma, a, mb, b)
            cnt = 0
            for k in range(1, 64):
                if q[m, blk, k] != 0:
                    cnt += 1
            nnz[m, blk] = cnt
            node = 1
            for i in range(5, -1, -1):
                bit = (cnt >> i) & 1
                _enc_bit(st, out, probs, counts, ch, base + node, bit)
                node = 2 * node + bit
            rem = cnt
            big = 0
            for k in range(1, 64):
                if rem == 0:
                    break
                c = q[m, blk, k]
                nbs, nbm, sgn = _nb_at(q, ma, a, mb, b, k)
                if rem < 64 - k:
                    ctx = CTX_SIG + ((k - 1) * REM_BUCKETS + _rem_bucket(rem)) * NB_STATES + nbs
                    _enc_bit(st, out, probs, counts, ch, ctx, 1 if c != 0 else 0)
                if c == 0:
                    continue
                rem -= 1
                _enc_mag(st, out, probs, counts, ch, _mag_context(k, nbm, big), abs(c))
                if abs(c) > 1:
                    big += 1
                _enc_bit(st, out, probs, counts, ch, sgn, 1 if c < 0 else 0)
            ac[:] = q[m, blk]
            ac[0] = 0
            _pixels(ac, steps[blk], zz, basis, own)
            pred, kind = _dc_context(pix, own, q, m, blk, ref, where, steps[blk, 0])
            d = q[m, blk, 0] - pred
            base = CTX_DC + kind * DC_SET
            _enc_bit(st, out, probs, counts, ch, base, 1 if d == 0 else 0)
            if d != 0:
                _enc_bit(st, out, probs, counts, ch, base + 1, 1 if d < 0 else 0)
                _enc_mag(st, out, probs, counts, ch, base + 2, abs(d))
            pix[m, blk] = own + q[m, blk, 0] * steps[blk, 0] / 8.0
    for _ in range(5):
        _shift_low(st, out)
    return st[4]


@njit(**_OPTS)
def decode_mcus(data, ref, where, steps, zz, basis, probs_init):
    """Inverse of :func:`encode_mcus`: (N, 6, 64) int32 coefficients, and True when the data ran
    out or was not all used (a corrupt or foreign packet)."""
    probs = probs_init.copy()
    n = ref.size
    q = np.zeros((n, 6, 64), np.int32)
    nnz = np.zeros((n, 6), np.int64)
    pix = np.zeros((n, 6, 8, 8))
    own = np.zeros((8, 8))
    st = np.zeros(4, np.int64)
    st[1] = (1 << 32) - 1
    for i in range(5):
        st[0] = ((st[0] << 8) | (data[i] if i < data.size else 0)) & ((1 << 32) - 1)
    st[2] = 5
    for m in range(n):
        for blk in range(6):
            ch = CHANNEL[blk]
            base = _nnz_context(nnz, m, blk, ref, where)
            node = 1
            for i in range(6):
                node = 2 * node + _dec_bit(st, data, probs, ch, base + node)
            cnt = node - 64
            nnz[m, blk] = cnt
            rem = cnt
            big = 0
            ma, a, mb, b = _neighbours(m, blk, ref, where)
            for k in range(1, 64):
                if rem == 0:
                    break
                nbs, nbm, sgn = _nb_at(q, ma, a, mb, b, k)
                sig = 1
                if rem < 64 - k:
                    ctx = CTX_SIG + ((k - 1) * REM_BUCKETS + _rem_bucket(rem)) * NB_STATES + nbs
                    sig = _dec_bit(st, data, probs, ch, ctx)
                if not sig:
                    continue
                rem -= 1
                v = _dec_mag(st, data, probs, ch, _mag_context(k, nbm, big))
                if v > 1:
                    big += 1
                if _dec_bit(st, data, probs, ch, sgn):
                    v = -v
                q[m, blk, k] = v
            if st[3] > 4:  # read well past the end: corrupt or truncated
                return q, True
            _pixels(q[m, blk], steps[blk], zz, basis, own)  # DC still 0
            pred, kind = _dc_context(pix, own, q, m, blk, ref, where, steps[blk, 0])
            base = CTX_DC + kind * DC_SET
            d = 0
            if not _dec_bit(st, data, probs, ch, base):
                neg = _dec_bit(st, data, probs, ch, base + 1)
                d = _dec_mag(st, data, probs, ch, base + 2)
                if neg:
                    d = -d
            q[m, blk, 0] = pred + d
            pix[m, blk] = own + q[m, blk, 0] * steps[blk, 0] / 8.0
    return q, st[3] > 4 or data.size - st[2] > 2
