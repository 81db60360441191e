"""The named tuples the kernels take: the burst format, the codes, the per-burst settings and the
channel emulator's state (numba compiles them as typed tuples of arrays and scalars).

:mod:`sdr_semcom.phy.ofdm` defines the burst format and fills :class:`BurstLayout` (receiver)
and :class:`TxLayout` (transmitter) in once; :mod:`sdr_semcom.phy.fec` builds the
:class:`LdpcTables`; the kernels only follow them. Each named tuple passed from Python costs
numba ~0.5 us a call to check (flat arguments ~0.1 us each): the receiver's tuples hold
only what its kernels read.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class LdpcTables(NamedTuple):
    """A code's encoder and decoder tables (built by :func:`sdr_semcom.phy.fec._tables`)."""

    n: int
    k: int
    a_packed: np.ndarray  # (k, words) uint64: column i of A (parity = A u mod 2), 64 bits a word
    info_cols: np.ndarray
    parity_cols: np.ndarray
    row_ptr: np.ndarray  # H row-wise (CSR): checks r use variables col_idx[row_ptr[r]:row_ptr[r+1]]
    col_idx: np.ndarray
    checks: np.ndarray  # (m, max check degree): the same rows padded with n (a variable fixed at 0)

    @property
    def graph(self) -> "LdpcGraph":
        """What the decoder reads of these tables."""
        return LdpcGraph(self.n, self.info_cols, self.row_ptr, self.col_idx, self.checks)


class LdpcGraph(NamedTuple):
    """A code's parity-check matrix as the decoder reads it (:attr:`LdpcTables.graph`)."""

    n: int
    info_cols: np.ndarray
    row_ptr: np.ndarray
    col_idx: np.ndarray
    checks: np.ndarray


class Demap(NamedTuple):
    """A constellation as the demapper reads it (:func:`sdr_semcom.phy.mapping.axis_levels`)."""

    levels: np.ndarray  # PAM levels of one axis
    level_bits: np.ndarray  # (levels, bits per axis): the bits each level carries
    two_axes: bool  # False: BPSK (real axis only)


class Tracking(NamedTuple):
    """The clock and residual-CFO search of one burst length (see :func:`.equaliser.equalise`)."""

    coarse: np.ndarray  # clock offsets searched first
    fine: np.ndarray  # offsets around the best coarse one
    track: bool  # False: no clock search (the SIG symbols alone)
    per_rev: np.ndarray  # FFT plan (:func:`.sync.fft_plan`) of the residual-CFO periodogram
    per_tw: np.ndarray


class FrameShape(NamedTuple):
    """A frame's DATA field: ``nbits`` information bits in ``ncw`` codewords, the last one
    shortened (its positions, in sent order, with ``keep_last`` False are not sent)."""

    nbits: int
    ncw: int
    keep_last: np.ndarray


class FrameBatch(NamedTuple):
    """Several frames for :func:`.tx.frame_grids`, one entry (or row) per frame."""

    lengths: np.ndarray  # bytes
    ncw: np.ndarray  # codewords
    keep_last: np.ndarray  # (frames, n) bool, see FrameShape
    nsym: np.ndarray  # DATA symbols
    sig: np.ndarray  # (frames, SIG symbols, data carriers): the SIG field's values


class BurstLayout(NamedTuple):
    """The burst format's constants that the receiver's kernels need.

    Positions are in samples, carrier lists are FFT bins.
    """

    nfft: int
    cp: int
    sym_len: int
    backoff: int  # FFT windows start this many samples inside the cyclic prefix
    sym_scale: float  # applied to the samples before the FFT
    fft_rev: np.ndarray  # :func:`.sync.fft_plan` of nfft
    fft_tw: np.ndarray
    stf_lag: int  # STF period
    stf_window: int  # STF auto-correlation window
    ltf_lo: int  # first LTF start candidate after the STF plateau peak
    ltf_count: int  # number of LTF start candidates
    ltf_sym: np.ndarray  # one LTF symbol (time domain)
    used_bins: np.ndarray
    ltf_freq: np.ndarray  # LTF values on the used carriers
    proj: np.ndarray  # channel smoothing projector (used x used)
    pilot_bins: np.ndarray
    pilot_ref: np.ndarray  # pilot values before polarity
    polarity: np.ndarray  # pilot polarity per symbol index (cyclic)
    pilot_k: np.ndarray  # signed carrier index of each pilot (float)
    data_bins: np.ndarray
    data_k: np.ndarray  # signed carrier index of each data carrier (float)
    half: int  # common phase smoothed over +-half symbols
    sig_syms: int
    sig_levels: np.ndarray  # SIG constellation (BPSK), see Demap
    sig_level_bits: np.ndarray
    sig_code: LdpcGraph  # SIG code (one codeword, its first bits repeated)
    data_code: LdpcGraph  # DATA code
    perm: np.ndarray  # DATA interleaver: sent position i carries code bit perm[i]
    sent_checks: np.ndarray  # data_code.checks and data_code.info_cols in sent positions
    sent_info: np.ndarray
    scramble: np.ndarray  # scrambler bits (0/1), XORed with the frame's bits
    alpha: float  # min-sum normalisation
    known: float  # LLR of known (shortened) bits


class TxLayout(NamedTuple):
    """The burst format's constants that the transmitter's kernels need (see :class:`BurstLayout`)."""

    nfft: int
    scale: float  # applied to the carriers (before an unscaled inverse FFT)
    data_bins: np.ndarray
    pilot_bins: np.ndarray
    pilot_ref: np.ndarray  # pilot values before polarity
    polarity: np.ndarray  # pilot polarity per symbol index (cyclic)
    data_code: LdpcTables  # DATA code (encoder tables)
    perm: np.ndarray  # interleaver: sent position i carries code bit perm[i]
    scramble: np.ndarray  # scrambler bits (0/1)


class Ziggurat(NamedTuple):
    """Tables of the ziggurat for the standard normal (:func:`.noise.normal_tables`)."""

    k: np.ndarray
    w: np.ndarray
    f: np.ndarray


class EmulatorState(NamedTuple):
    """The channel emulator's constants and state for :func:`.channel.channel_pass`
    (``hist`` and ``state`` change in place)."""

    step: float  # input samples per output sample
    interp: np.ndarray  # (phases, taps) float32 polyphase interpolator
    taps: np.ndarray  # multipath taps (complex128)
    hist: np.ndarray  # the previous len(taps) - 1 interpolated samples, newest last
    ramp: np.ndarray  # exp(2j pi freq i), i < the block size
    freq: float  # CFO, cycles per sample
    sigma: float  # noise standard deviation per component
    state: np.ndarray  # (1,) uint64: SplitMix64 state
    zig: Ziggurat
