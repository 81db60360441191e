"""Gray-mapped constellations (BPSK, QPSK, 16-QAM) and max-log LLR demapping."""

from __future__ import annotations

import enum

import numpy as np


class Modulation(enum.IntEnum):
    """Modulation of the data symbols; the value is the SIG field's MCS code."""

    BPSK = 0
    QPSK = 1
    QAM16 = 2

    @property
    def bits(self) -> int:
        return {Modulation.BPSK: 1, Modulation.QPSK: 2, Modulation.QAM16: 4}[self]

    @classmethod
    def parse(cls, name: str | int | "Modulation") -> "Modulation":
        """Accept ``"qpsk"``, ``"16qam"``, ``"QAM16"``, 1, ... ."""
        if isinstance(name, (int, Modulation)):
            return cls(int(name))
        key = name.strip().upper().replace("-", "")
        aliases = {"16QAM": "QAM16", "QAM": "QAM16"}
        try:
            return cls[aliases.get(key, key)]
        except KeyError:
            raise ValueError(f"unknown modulation '{name}' (bpsk, qpsk, 16qam)") from None


def _table(mod: Modulation) -> np.ndarray:
    """Constellation points indexed by the integer value of their bits (MSB first)."""
    if mod is Modulation.BPSK:
        return np.array([1.0, -1.0], dtype=np.complex64)
    if mod is Modulation.QPSK:
        pts = [(1 - 2 * (i >> 1)) + 1j * (1 - 2 * (i & 1)) for i in range(4)]
        return (np.array(pts) / np.sqrt(2)).astype(np.complex64)
    pam = {0b00: -3, 0b01: -1, 0b11: 1, 0b10: 3}  # Gray
    pts = [pam[i >> 2] + 1j * pam[i & 3] for i in range(16)]
    return (np.array(pts) / np.sqrt(10)).astype(np.complex64)


_TABLES = {m: _table(m) for m in Modulation}
_BITS = {m: ((np.arange(2 ** m.bits)[:, None] >> np.arange(m.bits - 1, -1, -1)) & 1).astype(bool) for m in Modulation}


def constellation(mod: Modulation) -> np.ndarray:
    """Unit-average-power points of ``mod``, indexed by their bit pattern."""
    return _TABLES[mod].copy()


def map_bits(bits: np.ndarray, mod: Modulation) -> np.ndarray:
    """Map bits (length a multiple of ``mod.bits``) to complex symbols."""
    b = np.asarray(bits, dtype=np.int64).reshape(-1, mod.bits)
    idx = b @ (1 << np.arange(mod.bits - 1, -1, -1))
    return _TABLES[mod][idx]


def demap_llr(symbols: np.ndarray, noise_var: np.ndarray | float, mod: Modulation) -> np.ndarray:
    """Max-log LLRs (positive = bit 0) of equalised symbols: the plain definition, over the whole
    constellation (the receiver's compiled per-axis demapper is tested against it).

    Input
    -----
    symbols : complex array (any shape), equalised symbols
    noise_var : per-symbol complex noise variance after equalisation (broadcastable)

    Output
    ------
    float32 array of ``symbols.size * mod.bits`` LLRs, bits of each symbol in order
    """
    y = np.asarray(symbols).reshape(-1, 1)
    nv = np.broadcast_to(np.asarray(noise_var, dtype=np.float64), np.shape(symbols)).reshape(-1, 1)
    d = np.abs(y - _TABLES[mod][None, :]) ** 2  # (N, M)
    bits = _BITS[mod]  # (M, b)
    llr = np.empty((y.shape[0], mod.bits), dtype=np.float32)
    for i in range(mod.bits):
        d1 = d[:, bits[:, i]].min(axis=1)
        d0 = d[:, ~bits[:, i]].min(axis=1)
        llr[:, i] = (d1 - d0) / np.maximum(nv[:, 0], 1e-12)
    return llr.ravel()


def axis_levels(mod: Modulation) -> tuple[np.ndarray, np.ndarray, bool]:
    """Per-axis description of a square Gray constellation, for per-axis LLRs.

    Returns ``(levels, level_bits, two_axes)``: the amplitudes of one axis, the bits each
    level carries on that axis (``(L, bits per axis)``), and False for BPSK (real axis only).
    The bits of a symbol are the real axis' bits followed by the imaginary axis' bits.
    """
    pts = _TABLES[mod]
    per_axis = mod.bits if mod is Modulation.BPSK else mod.bits // 2
    levels, bits = [], []
    for idx in range(2**per_axis):
        point = pts[idx << per_axis if mod is not Modulation.BPSK else idx]
        levels.append(float(point.real))
        bits.append([(idx >> (per_axis - 1 - i)) & 1 for i in range(per_axis)])
    return np.array(levels), np.array(bits, dtype=np.uint8), mod is not Modulation.BPSK
