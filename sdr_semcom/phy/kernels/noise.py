"""Gaussian noise: the SplitMix64 generator and Marsaglia and Tsang's ziggurat.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._jit import JIT
from .layout import Ziggurat


def normal_tables() -> Ziggurat:
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
    return Ziggurat(k, w, f)


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


@njit(**JIT)
def normals(state, zk, zw, zf, out):
    """Fill ``out`` (even length) with standard normal samples: each pair starts from the two
    32-bit halves of one 64-bit draw (:func:`_normal`)."""
    for i in range(0, out.size - 1, 2):
        z = _splitmix(state)
        out[i] = _normal(np.int64(np.int32(np.uint32(z >> np.uint64(32)))), state, zk, zw, zf)
        out[i + 1] = _normal(np.int64(np.int32(np.uint32(z & np.uint64(0xFFFFFFFF)))), state, zk, zw, zf)
    if out.size % 2:
        out[out.size - 1] = _normal(_int32(state), state, zk, zw, zf)
