"""The transmitter: frame bytes -> coded bits (:func:`encode_frame`) -> frequency grids
(:func:`ofdm_grid`, :func:`frame_grids`), and bursts assembled from time-domain symbols
(:func:`burst_samples`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._jit import JIT
from .ldpc import ldpc_encode


@njit(**JIT)
def encode_frame(payload, ncw, keep_last, tx, total_bits):
    """Frame bytes -> the coded bits of one burst's DATA field (inverse of :func:`~.ldpc.decode_frame`).

    Bits MSB first, scrambled, split into ``ncw`` systematic codewords (the last one shortened:
    its missing info bits are 0 and its positions with ``keep_last`` False are not sent), each
    interleaved (sent position i carries code bit ``perm[i]``), zero-padded to ``total_bits``;
    the code, ``perm`` and ``scramble`` come from ``tx`` (:class:`~.layout.TxLayout`).
    """
    scramble, perm, n = tx.scramble, tx.perm, tx.data_code.n
    k = tx.data_code.info_cols.size
    nbits = payload.size * 8
    if nbits > ncw * k or scramble.size < nbits or total_bits < (ncw - 1) * n + np.sum(keep_last):
        raise ValueError("encode_frame: the frame does not fit the layout, the scrambler or total_bits")
    bits = np.empty(ncw * k, np.uint8)  # the frame's bits, scrambled, then zeros
    for i in range(nbits):
        bits[i] = ((payload[i >> 3] >> (7 - (i & 7))) & 1) ^ scramble[i]
    bits[nbits:] = 0
    cws = ldpc_encode(bits.reshape(ncw, k), tx.data_code)
    out = np.zeros(total_bits, np.uint8)
    for c in range(ncw - 1):  # whole codewords (views: the loop vectorises)
        dst, cw = out[c * n : (c + 1) * n], cws[c]
        for i in range(n):
            dst[i] = cw[perm[i]]
    pos = (ncw - 1) * n
    for i in range(n):  # the shortened last one
        if keep_last[i]:
            out[pos] = cws[ncw - 1, perm[i]]
            pos += 1
    return out


@njit(**JIT)
def burst_samples(symbols, counts, preamble, cp, gap):
    """complex64 samples of bursts back to back: for each frame f, ``preamble``, then its
    ``counts[f]`` rows of ``symbols`` (time domain, frames in order), each after its cyclic
    prefix (its last ``cp`` samples), then ``gap`` zeros."""
    nfft = symbols.shape[1]
    total = 0
    for f in range(counts.size):
        total += preamble.size + counts[f] * (cp + nfft) + gap
    out = np.zeros(total, np.complex64)
    pos = 0
    row = 0
    for f in range(counts.size):
        out[pos : pos + preamble.size] = preamble
        pos += preamble.size
        for t in range(counts[f]):
            sym = symbols[row]
            dst = out[pos : pos + cp + nfft]
            for i in range(cp):
                dst[i] = sym[nfft - cp + i]
            for i in range(nfft):
                dst[cp + i] = sym[i]
            pos += cp + nfft
            row += 1
        pos += gap
    return out


@njit(**JIT)
def ofdm_grid(head, coded, table, tx, grid):
    """Write the frequency grid (T, nfft) of a burst's OFDM symbols into ``grid``: one per row of
    ``head`` (data carrier values), then those that map ``coded`` bits (MSB first,
    ``log2(len(table))`` bits per carrier) through ``table``; pilots are ``tx.pilot_ref`` times
    the polarity of the symbol's index; every carrier is multiplied by ``tx.scale``
    (:class:`~.layout.TxLayout`).
    """
    data_bins, pilot_bins, pilot_base, polarity = tx.data_bins, tx.pilot_bins, tx.pilot_ref, tx.polarity
    scale = tx.scale
    d_len = data_bins.size
    bps = 0
    while (1 << bps) < table.size:
        bps += 1
    n_head = head.shape[0]
    t_len = n_head + coded.size // (bps * d_len)
    grid[:t_len] = 0
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


@njit(**JIT)
def frame_grids(data, batch, table, tx):
    """Frequency grids of several frames' bursts, stacked in frame order: frame f (bytes
    ``data[sum(lengths[:f]) : ... + lengths[f]]``) gives the rows of ``sig[f]`` then ``nsym[f]``
    DATA symbols (:func:`encode_frame` with ``ncw[f]``, ``keep_last[f]``; :func:`ofdm_grid`),
    the per-frame arrays from ``batch`` (:class:`~.layout.FrameBatch`), the constellation
    ``table`` of the DATA symbols, the format from ``tx`` (:class:`~.layout.TxLayout`).
    """
    lengths, ncw, keep_last, nsym, sig = batch.lengths, batch.ncw, batch.keep_last, batch.nsym, batch.sig
    nfft = tx.nfft
    d_len = tx.data_bins.size
    bps = 0
    while (1 << bps) < table.size:
        bps += 1
    n_head = sig.shape[1]
    grid = np.empty((lengths.size * n_head + np.sum(nsym), nfft), np.complex128)
    off = 0
    row = 0
    for f in range(lengths.size):
        coded = encode_frame(data[off : off + lengths[f]], ncw[f], keep_last[f], tx, nsym[f] * bps * d_len)
        t_len = n_head + nsym[f]
        ofdm_grid(sig[f], coded, table, tx, grid[row : row + t_len])
        off += lengths[f]
        row += t_len
    return grid
