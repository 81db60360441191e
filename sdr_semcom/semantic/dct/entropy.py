"""Context-adaptive binary arithmetic coding of quantised 8x8 DCT blocks (compiled with numba).

Each packet is coded on its own: the coder restarts from the codec's *initial probabilities*
(learned from the training images, stored with the codec) and adapts within the packet, so
a packet decodes without any other.

Coder: the LZMA range coder (32-bit range, 11-bit probabilities, adaptation shift 5).
Binarisation of a block (zig-zag order, ``c[0]`` the DC), per colour channel's context set:

- DC: the difference to the previous block of the same channel in the packet (0 for the
  first), as a zero flag, a sign and a magnitude;
- AC: a "coded block" flag (context: was the channel's previous block coded); then, for
  k = 1.. : a significance flag (context: k, and whether coefficient k - 1 was nonzero);
  after each significant coefficient a "last" flag (context k), its magnitude and its sign.
- Magnitude ``m >= 1``: ``m - 1`` in unary over ``UNARY`` adaptive bins (context: frequency
  band and how many magnitudes above 1 the block had so far), the rest in order-0 Exp-Golomb
  on equiprobable bits.

``counts`` (same shape as the probabilities, plus a 0/1 axis) records every adaptive decision
the encoder makes, which is how the initial probabilities are learned.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_OPTS = {"cache": True, "nogil": True}

PROB_BITS = 11
PROB_ONE = 1 << PROB_BITS
MOVE = 5
TOP = 1 << 24
MASK32 = (1 << 32) - 1
UNARY = 14

# context layout (per channel)
CTX_CODED = 0  # 2: was the previous block of this channel in the packet coded?
CTX_DC_ZERO = 2
CTX_DC_SIGN = 3
CTX_DC_MAG = 4  # UNARY bins
CTX_SIG = CTX_DC_MAG + UNARY  # 2 x 63: (k = 1..63) x (coefficient k - 1 nonzero?)
CTX_LAST = CTX_SIG + 2 * 63  # 63
CTX_MAG = CTX_LAST + 63  # 4 bands x 3 (magnitudes > 1 so far in the block: 0, 1, 2+) x UNARY
N_CTX = CTX_MAG + 12 * UNARY


def initial_probabilities(counts: np.ndarray | None = None, channels: int = 3) -> np.ndarray:
    """(channels, N_CTX) probabilities of a 0, in 1/2048: from ``counts`` (channels, N_CTX, 2)
    with a +1 prior, or 1/2 everywhere."""
    if counts is None:
        return np.full((channels, N_CTX), PROB_ONE // 2, np.int64)
    p0 = (counts[..., 0] + 1.0) / (counts.sum(axis=-1) + 2.0)
    return np.clip(np.round(p0 * PROB_ONE), 31, PROB_ONE - 31).astype(np.int64)


@njit(**_OPTS)
def _band(k):
    if k < 3:
        return 0
    if k < 10:
        return 1
    if k < 28:
        return 2
    return 3


# ---------------------------------------------------------------------------------- encoder
@njit(**_OPTS)
def _shift_low(st, out):
    # st: [low, range, cache, cache_size, pos]
    low = st[0]
    if low < 0xFF000000 or low > MASK32:
        carry = low >> 32
        temp = st[2]
        while True:
            if st[4] < out.size:
                out[st[4]] = (temp + carry) & 0xFF
            st[4] += 1
            temp = 0xFF
            st[3] -= 1
            if st[3] == 0:
                break
        st[2] = (low >> 24) & 0xFF
    st[3] += 1
    st[0] = (low & 0x00FFFFFF) << 8


@njit(**_OPTS)
def _enc_bit(st, out, probs, counts, ch, ctx, bit):
    p = probs[ch, ctx]
    bound = (st[1] >> PROB_BITS) * p
    if bit == 0:
        st[1] = bound
        probs[ch, ctx] = p + ((PROB_ONE - p) >> MOVE)
    else:
        st[0] += bound
        st[1] -= bound
        probs[ch, ctx] = p - (p >> MOVE)
    counts[ch, ctx, bit] += 1
    while st[1] < TOP:
        st[1] = (st[1] << 8) & MASK32
        _shift_low(st, out)


@njit(**_OPTS)
def _enc_direct(st, out, value, nbits):
    for i in range(nbits - 1, -1, -1):
        st[1] >>= 1
        if (value >> i) & 1:
            st[0] += st[1]
        while st[1] < TOP:
            st[1] = (st[1] << 8) & MASK32
            _shift_low(st, out)


@njit(**_OPTS)
def _enc_mag(st, out, probs, counts, ch, ctx0, m):
    """m >= 1: unary bins of m - 1 (contexts ctx0..ctx0+UNARY-1), then Exp-Golomb."""
    v = m - 1
    for i in range(UNARY):
        more = 1 if v > i else 0
        _enc_bit(st, out, probs, counts, ch, ctx0 + i, more)
        if not more:
            return
    r = v - UNARY + 1  # >= 1
    nb = 0
    while (r >> (nb + 1)) > 0:
        nb += 1
    _enc_direct(st, out, 0, nb)  # nb zeros, then r in nb + 1 bits (leading 1)
    _enc_direct(st, out, r, nb + 1)


@njit(**_OPTS)
def encode_blocks(coefs, chans, probs_init, counts, out):
    """Code blocks ``coefs`` (N, 64) int32 zig-zag, channel ``chans[i]`` of block i, into ``out``.

    Returns the number of bytes written (the packet), or more than ``out.size`` when it did
    not fit (the bytes beyond are dropped: the caller picks a coarser quantiser).
    """
    probs = probs_init.copy()
    st = np.zeros(5, np.int64)
    st[1] = MASK32
    st[3] = 1
    prev_dc = np.zeros(probs.shape[0], np.int64)
    prev_coded = np.zeros(probs.shape[0], np.int64)
    for b in range(coefs.shape[0]):
        ch = chans[b]
        d = coefs[b, 0] - prev_dc[ch]
        prev_dc[ch] = coefs[b, 0]
        _enc_bit(st, out, probs, counts, ch, CTX_DC_ZERO, 1 if d == 0 else 0)
        if d != 0:
            _enc_bit(st, out, probs, counts, ch, CTX_DC_SIGN, 1 if d < 0 else 0)
            _enc_mag(st, out, probs, counts, ch, CTX_DC_MAG, abs(d))
        last = 0
        for k in range(63, 0, -1):
            if coefs[b, k] != 0:
                last = k
                break
        _enc_bit(st, out, probs, counts, ch, CTX_CODED + prev_coded[ch], 1 if last > 0 else 0)
        prev_coded[ch] = 1 if last > 0 else 0
        if last == 0:
            continue
        big = 0
        for k in range(1, last + 1):
            c = coefs[b, k]
            if k < 63:
                near = 1 if k > 1 and coefs[b, k - 1] != 0 else 0
                _enc_bit(st, out, probs, counts, ch, CTX_SIG + 2 * (k - 1) + near, 1 if c != 0 else 0)
            if c == 0:
                continue
            if k < 63:
                _enc_bit(st, out, probs, counts, ch, CTX_LAST + k - 1, 1 if k == last else 0)
            _enc_mag(st, out, probs, counts, ch, CTX_MAG + (3 * _band(k) + min(big, 2)) * UNARY, abs(c))
            if abs(c) > 1:
                big += 1
            _enc_direct(st, out, 1 if c < 0 else 0, 1)
    for _ in range(5):
        _shift_low(st, out)
    return st[4]


# ---------------------------------------------------------------------------------- decoder
@njit(**_OPTS)
def _dec_norm(st, data):
    # st: [code, range, pos, overrun]
    while st[1] < TOP:
        st[1] = (st[1] << 8) & MASK32
        byte = 0
        if st[2] < data.size:
            byte = data[st[2]]
        else:
            st[3] += 1
        st[2] += 1
        st[0] = ((st[0] << 8) | byte) & MASK32


@njit(**_OPTS)
def _dec_bit(st, data, probs, ch, ctx):
    p = probs[ch, ctx]
    bound = (st[1] >> PROB_BITS) * p
    if st[0] < bound:
        st[1] = bound
        probs[ch, ctx] = p + ((PROB_ONE - p) >> MOVE)
        bit = 0
    else:
        st[0] -= bound
        st[1] -= bound
        probs[ch, ctx] = p - (p >> MOVE)
        bit = 1
    _dec_norm(st, data)
    return bit


@njit(**_OPTS)
def _dec_direct(st, data, nbits):
    v = 0
    for _ in range(nbits):
        st[1] >>= 1
        bit = 0
        if st[0] >= st[1]:
            st[0] -= st[1]
            bit = 1
        v = (v << 1) | bit
        _dec_norm(st, data)
    return v


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


@njit(**_OPTS)
def decode_blocks(data, chans, probs_init):
    """Inverse of :func:`encode_blocks`: (N, 64) int32 coefficients of blocks with channels
    ``chans``, and True when the data ran out, or was not all used (a corrupt or foreign packet:
    arithmetic codes carry no check of their own, the link's CRC is the real guard)."""
    probs = probs_init.copy()
    n = chans.size
    coefs = np.zeros((n, 64), np.int32)
    st = np.zeros(4, np.int64)
    st[1] = MASK32
    for i in range(5):  # the first byte of an LZMA range-coder stream is always 0
        st[0] = ((st[0] << 8) | (data[i] if i < data.size else 0)) & MASK32
    st[2] = 5
    prev_dc = np.zeros(probs.shape[0], np.int64)
    prev_coded = np.zeros(probs.shape[0], np.int64)
    for b in range(n):
        ch = chans[b]
        d = 0
        if not _dec_bit(st, data, probs, ch, CTX_DC_ZERO):
            neg = _dec_bit(st, data, probs, ch, CTX_DC_SIGN)
            d = _dec_mag(st, data, probs, ch, CTX_DC_MAG)
            if neg:
                d = -d
        prev_dc[ch] += d
        coefs[b, 0] = prev_dc[ch]
        coded = _dec_bit(st, data, probs, ch, CTX_CODED + prev_coded[ch])
        prev_coded[ch] = coded
        if not coded:
            continue
        k = 1
        big = 0
        while k <= 63:
            sig = 1
            if k < 63:
                near = 1 if k > 1 and coefs[b, k - 1] != 0 else 0
                sig = _dec_bit(st, data, probs, ch, CTX_SIG + 2 * (k - 1) + near)
            if sig:
                last = 1
                if k < 63:
                    last = _dec_bit(st, data, probs, ch, CTX_LAST + k - 1)
                m = _dec_mag(st, data, probs, ch, CTX_MAG + (3 * _band(k) + min(big, 2)) * UNARY)
                if m > 1:
                    big += 1
                if _dec_direct(st, data, 1):
                    m = -m
                coefs[b, k] = m
                if last:
                    break
            k += 1
        if st[3] > 4:  # read well past the end: corrupt or truncated
            return coefs, True
    # a valid packet is consumed to its last bytes; ending early means the bytes were not ours
    return coefs, st[3] > 4 or data.size - st[2] > 2
