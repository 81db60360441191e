"""Receiver front end: non-finite samples and the DC blocker, once per input chunk, before
detection (:func:`.sync.stf_detect` needs finite samples).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._jit import JIT

_EXP = np.uint32(0x7F800000)  # exponent bits of a float32: all set for NaN and infinities
_FIXED = 65536.0  # the DC blocker's sums count in units of 2**-16
_FIXED_MAX = np.float32(32767.0)  # and clamp samples there (int32 range)


@njit(**JIT)
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
