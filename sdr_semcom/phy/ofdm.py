"""Burst OFDM modem with a low-SNR preamble detector.

Burst layout (samples at the link's sample rate, 64-point FFT, 52 used carriers)::

    STF   10 x 32  repeated short symbol, even carriers: detection (auto-correlation at
                   lag 32 less lag 16) + coarse CFO
    LTF   32 + 2 x 64   known long symbol twice: timing, fine CFO, channel, noise
    SIG   3 x 80   BPSK, LDPC(100,42): modulation, frame length, CRC16
    DATA  T x 80   LDPC(1800,902) codewords, BPSK / QPSK / 16-QAM
    gap   zeros between bursts

Every OFDM symbol has 48 data carriers and 4 pilots (+-7, +-21) whose polarity
follows a PN sequence.  The receiver tracks residual CFO and sample-clock
drift jointly over the whole burst from the pilots (a grid search over the
clock offset, then a periodogram over the phase slope), so that it keeps
working where per-symbol pilot estimates are too noisy.

SNR convention used throughout the project: signal power over noise power
*in the occupied band* (52 of 64 carriers), i.e. the mean per-carrier SNR.
"""

from __future__ import annotations

import binascii
import logging
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from . import kernels
from .fec import DATA_CODE, INDEX, KNOWN_LLR, SIG_CODE
from .mapping import Modulation, axis_levels, constellation, map_bits

log = logging.getLogger(__name__)

NFFT = 64
CP = 16
SYM_LEN = NFFT + CP
USED = np.r_[-26:0, 1:27]  # 52 used carriers (signed index)
PILOTS = np.array([-21, -7, 7, 21])
PILOT_BASE = np.array([1, 1, 1, -1], dtype=np.complex64)
DATA = np.array([k for k in USED if k not in PILOTS])  # 48
STF_PERIOD = 32
STF_REPS = 10
STF_LEN = STF_PERIOD * STF_REPS
STF_WINDOW = 7 * STF_PERIOD  # auto-correlation window of the detector
LTF_CP = 32
LTF_LEN = LTF_CP + 2 * NFFT
SIG_SYMS = 3
SIG_LEN = SIG_SYMS * SYM_LEN
PREAMBLE_LEN = STF_LEN + LTF_LEN
MAX_FRAME_BYTES = (1 << 14) - 1
SIG_VERSION = 1
TIMING_BACKOFF = 4  # FFT window starts this many samples inside the CP
DC_BLOCK, DC_WEIGHT = 64, 2.0**-6  # the receiver's DC blocker: time constant 64 / 2**-6 = 4096 samples


def _pn_bits(n: int, seed: int = 0x7F) -> np.ndarray:
    """802.11 scrambler LFSR x^7 + x^4 + 1, as a 0/1 sequence of length n."""
    state = seed & 0x7F
    out = np.empty(127, dtype=np.uint8)
    for i in range(127):
        bit = ((state >> 6) ^ (state >> 3)) & 1
        out[i] = bit
        state = ((state << 1) | bit) & 0x7F
    return np.resize(out, n)


_SCRAMBLE = _pn_bits(8 * (MAX_FRAME_BYTES + 1), seed=0x5D)
_PILOT_POLARITY = 1.0 - 2.0 * _pn_bits(127, seed=0x7F).astype(np.float32)


def _bins(k: np.ndarray) -> np.ndarray:
    return (np.asarray(k) % NFFT).astype(INDEX)


def _freq_to_time(grid: np.ndarray) -> np.ndarray:
    """(..., 64) frequency grid -> (..., 64) time samples at unit power for 52 carriers."""
    return np.fft.ifft(grid, axis=-1) * (NFFT / np.sqrt(len(USED)))


def _make_preamble() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20250908)
    stf_grid = np.zeros(NFFT, np.complex128)
    even = USED[USED % 2 == 0]
    stf_grid[_bins(even)] = np.exp(1j * np.pi / 2 * rng.integers(0, 4, even.size)) * np.sqrt(2)
    stf_sym = _freq_to_time(stf_grid)[:STF_PERIOD]
    ltf_grid = np.zeros(NFFT, np.complex128)
    ltf_grid[_bins(USED)] = 1 - 2 * rng.integers(0, 2, USED.size)
    ltf_sym = _freq_to_time(ltf_grid)
    stf = np.tile(stf_sym, STF_REPS)
    ltf = np.concatenate([ltf_sym[-LTF_CP:], ltf_sym, ltf_sym])
    return stf.astype(np.complex64), ltf.astype(np.complex64), ltf_grid[_bins(USED)]


STF, LTF, LTF_FREQ = _make_preamble()
_PREAMBLE = np.concatenate([STF, LTF])
_DATA_BINS = _bins(DATA)
_USED_BINS = _bins(USED)
_PILOT_BINS = _bins(PILOTS)
_DATA_F = DATA.astype(np.float64)
_PILOTS_F = PILOTS.astype(np.float64)
_SYM_SCALE = np.sqrt(len(USED)) / NFFT  # inverse of _freq_to_time's scale
_TX_SCALE = 1 / np.sqrt(len(USED))  # = _freq_to_time's scale for an unscaled inverse FFT
_TABLES = {m: constellation(m).astype(np.complex128) for m in Modulation}
_PILOT_BASE_C = PILOT_BASE.astype(np.complex128)
LTF_SYM = LTF[LTF_CP : LTF_CP + NFFT]
_PERM = np.random.default_rng(7).permutation(DATA_CODE.n).astype(INDEX)  # per-codeword bit interleaver


def _sent_order(perm: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table`` (code bit positions; the padding value n stays) in sent positions: code bit
    ``perm[i]`` is sent at position i."""
    inv = np.empty(perm.size + 1, np.int64)
    inv[perm] = np.arange(perm.size)
    inv[perm.size] = perm.size
    return inv[table].astype(INDEX)


def _channel_projection(taps=(-8, 24)) -> np.ndarray:
    """Projector of LS channel estimates on the 52 used carriers onto short impulse responses."""
    n = np.arange(*taps)
    f = np.exp(-2j * np.pi * np.outer(USED, n) / NFFT)
    return f @ np.linalg.pinv(f)


_PROJ = _channel_projection()


# --------------------------------------------------------------------------------------- SIG
def _sig_bits(mod: Modulation, length: int) -> np.ndarray:
    word = (SIG_VERSION << 24) | (int(mod) << 22) | (length << 8)  # 26 bits used, 8 reserved
    fields = np.array([(word >> (25 - i)) & 1 for i in range(26)], dtype=np.uint8)
    crc = binascii.crc_hqx(np.packbits(fields).tobytes(), 0xFFFF)
    crc_bits = np.array([(crc >> (15 - i)) & 1 for i in range(16)], dtype=np.uint8)
    return np.concatenate([fields, crc_bits])  # 42 bits = SIG_CODE.k


def _parse_sig(bits: np.ndarray) -> tuple[Modulation, int] | None:
    word = int.from_bytes(np.packbits(bits[:42]).tobytes(), "big") >> 6  # 42 bits in 6 bytes
    fields, crc = word >> 16, word & 0xFFFF
    if binascii.crc_hqx((fields << 6).to_bytes(4, "big"), 0xFFFF) != crc:  # CRC of the 26 bits packed
        return None
    version, mcs, length = fields >> 24, (fields >> 22) & 3, (fields >> 8) & 0x3FFF
    if version != SIG_VERSION or mcs > 2 or length == 0:
        return None
    return Modulation(mcs), length


# --------------------------------------------------------------------------------------- TX
@lru_cache(maxsize=4096)
def _sig_symbols(mod: Modulation, length: int) -> np.ndarray:
    """(3, 48) BPSK data symbols of the SIG field (100 coded bits, the first 44 repeated)."""
    sig_cw = SIG_CODE.encode(_sig_bits(mod, length))
    sig = map_bits(np.resize(sig_cw, SIG_SYMS * len(DATA)), Modulation.BPSK).reshape(SIG_SYMS, len(DATA))
    sig.flags.writeable = False
    return sig


@lru_cache(maxsize=4096)
def _codeword_layout(nbits: int) -> tuple[int, np.ndarray]:
    """Number of codewords for ``nbits`` info bits, and the transmitted-position mask of the last one."""
    ncw = -(-nbits // DATA_CODE.k)
    used_last = nbits - (ncw - 1) * DATA_CODE.k
    sent = np.ones(DATA_CODE.n, bool)
    sent[DATA_CODE.info_cols[used_last:]] = False  # shortened (padding) bits are not sent
    keep_last = sent[_PERM]
    keep_last.flags.writeable = False
    return ncw, keep_last


@lru_cache(maxsize=4096)
def _frame_shape(nbits: int) -> kernels.FrameShape:
    """:func:`_codeword_layout` as the receiver's kernels take it."""
    return kernels.FrameShape(nbits, *_codeword_layout(nbits))


@lru_cache(maxsize=4096)
def coded_bits_len(frame_len: int) -> int:
    """Number of coded bits sent for a frame of ``frame_len`` bytes."""
    ncw, keep_last = _codeword_layout(8 * frame_len)
    return (ncw - 1) * DATA_CODE.n + int(keep_last.sum())


@lru_cache(maxsize=4096)
def data_symbols(frame_len: int, mod: Modulation) -> int:
    """Number of DATA OFDM symbols for a frame of ``frame_len`` bytes."""
    return -(-coded_bits_len(frame_len) // (mod.bits * len(DATA)))


def burst_len(frame_len: int, mod: Modulation) -> int:
    """Burst length in samples (without the inter-burst gap)."""
    return PREAMBLE_LEN + SIG_LEN + data_symbols(frame_len, mod) * SYM_LEN


def modulate(payload: bytes, mod: Modulation = Modulation.QPSK, gap: int = 0) -> np.ndarray:
    """One burst (complex64, unit mean power) carrying ``payload``.

    Parameters
    ----------
    payload : bytes
        1 to 16383 bytes (a link-layer frame).
    mod : Modulation
        Modulation of the DATA symbols.
    gap : int
        Zero samples appended after the burst (the inter-burst gap).

    Output
    ------
    ``burst_len(len(payload), mod) + gap`` complex64 samples.
    """
    return modulate_many([payload], mod, gap)


def modulate_many(payloads, mod: Modulation = Modulation.QPSK, gap: int = 0) -> np.ndarray:
    """The bursts of several frames back to back, each followed by ``gap`` zeros: the same
    samples as :func:`modulate` frame by frame, in three compiled passes for all of them
    (encoding and grids, one inverse FFT, prefixes), so that a transmitting block holds
    Python's GIL a few times per batch instead of per frame.
    """
    mod = Modulation.parse(mod)
    lengths = np.array([len(p) for p in payloads], np.int64)
    if lengths.size == 0:
        return np.zeros(0, np.complex64)
    if lengths.min() < 1 or lengths.max() > MAX_FRAME_BYTES:
        bad = next(int(n) for n in lengths if not 1 <= n <= MAX_FRAME_BYTES)
        raise ValueError(f"burst payload must be 1..{MAX_FRAME_BYTES} bytes, got {bad}")
    layouts = [_codeword_layout(8 * int(n)) for n in lengths]
    batch = kernels.FrameBatch(
        lengths=lengths, ncw=np.array([c for c, _ in layouts], np.int64), keep_last=np.stack([k for _, k in layouts]),
        nsym=np.array([data_symbols(int(n), mod) for n in lengths], np.int64),
        sig=np.stack([_sig_symbols(mod, int(n)) for n in lengths]))
    grid = kernels.frame_grids(np.frombuffer(b"".join(payloads), np.uint8), batch, _TABLES[mod], _TX_LAYOUT)
    time = np.fft.ifft(grid, axis=1, norm="forward")  # unscaled: _TX_SCALE is in the grid
    return kernels.burst_samples(time, SIG_SYMS + batch.nsym, _PREAMBLE, CP, int(gap))


# --------------------------------------------------------------------------------------- RX
CLOCK_RANGE = 100e-6  # the receiver searches sample-clock offsets within +-100 ppm


def _clock_grids(t: int) -> tuple[np.ndarray, np.ndarray]:
    """Coarse and fine clock-offset grids for a burst of ``t`` symbols.

    The coarse step keeps the outermost pilots' phase error at the last symbol under pi/8
    (between 5 and 25 ppm), the fine grid spans one coarse step in 7 points.
    """
    last = SYM_LEN * t
    step = float(np.clip(NFFT / (16 * np.abs(PILOTS).max() * last), 5e-6, 25e-6))
    n = int(np.ceil(CLOCK_RANGE / step))
    return np.linspace(-n * step, n * step, 2 * n + 1), np.linspace(-step / 2, step / 2, 7)


def _periodogram_plan(t: int) -> tuple[np.ndarray, np.ndarray]:
    """FFT plan of the residual-CFO periodogram over ``t`` symbols (2x zero padding, at least 256)."""
    return kernels.fft_plan(max(256, 1 << int(np.ceil(np.log2(2 * t)))))


@lru_cache(maxsize=None)
def _tracking(t: int, track: bool = True) -> kernels.Tracking:
    """The clock search (:func:`_clock_grids`) and periodogram plan for a burst of ``t`` symbols."""
    coarse, fine = _clock_grids(t)
    return kernels.Tracking(coarse, fine, track, *_periodogram_plan(t))


_DEMAP = {m: kernels.Demap(*axis_levels(m)) for m in Modulation}


_FFT_PLAN = kernels.fft_plan(NFFT)  # the SIG and LTF symbols' FFTs (compiled radix-2)

#: The burst format as the compiled transmitter reads it (:class:`kernels.TxLayout`).
_TX_LAYOUT = kernels.TxLayout(
    nfft=NFFT, scale=float(_TX_SCALE), data_bins=_DATA_BINS, pilot_bins=_PILOT_BINS, pilot_ref=_PILOT_BASE_C,
    polarity=_PILOT_POLARITY, data_code=DATA_CODE.tables, perm=_PERM, scramble=_SCRAMBLE)

#: The burst format as the compiled receiver reads it (:class:`kernels.BurstLayout`).
_LAYOUT = kernels.BurstLayout(
    nfft=NFFT, cp=CP, sym_len=SYM_LEN, backoff=TIMING_BACKOFF, sym_scale=float(_SYM_SCALE),
    fft_rev=_FFT_PLAN[0], fft_tw=_FFT_PLAN[1],
    stf_lag=STF_PERIOD, stf_window=STF_WINDOW,
    # the plateau peaks 0..64 samples after the STF start: search the LTF start around there
    ltf_lo=STF_LEN + LTF_CP - 80, ltf_count=128, ltf_sym=LTF_SYM.astype(np.complex128),
    used_bins=_USED_BINS, ltf_freq=LTF_FREQ.astype(np.complex128), proj=_PROJ,
    pilot_bins=_PILOT_BINS, pilot_ref=_PILOT_BASE_C, polarity=_PILOT_POLARITY, pilot_k=_PILOTS_F,
    data_bins=_DATA_BINS, data_k=_DATA_F, half=4,
    sig_syms=SIG_SYMS, sig_levels=_DEMAP[Modulation.BPSK].levels, sig_level_bits=_DEMAP[Modulation.BPSK].level_bits,
    sig_code=SIG_CODE.tables.graph, data_code=DATA_CODE.tables.graph, perm=_PERM,
    sent_checks=_sent_order(_PERM, DATA_CODE.tables.checks), sent_info=_sent_order(_PERM, DATA_CODE.tables.info_cols),
    scramble=_SCRAMBLE, alpha=0.8, known=KNOWN_LLR,
)


@dataclass
class RxBurst:
    """What the receiver got from one detected burst."""

    start: int  # absolute sample index of the burst (STF start estimate)
    payload: bytes | None  # None where the LDPC decoder did not converge
    modulation: Modulation | None
    snr_db: float
    cfo: float  # cycles per sample
    clock_ppm: float
    symbols: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, np.complex64))  # the first 768
    length: int = 0  # frame length in bytes (the SIG field's)
    #: every equalised DATA-carrier symbol (48 a symbol, in time order) of the DATA field
    equalised: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, np.complex64))


@dataclass
class RxStats:
    """Counters of the receiver, for reports."""

    samples: int = 0
    detections: int = 0
    false_alarms: int = 0  # detector fired, LTF not found
    sig_errors: int = 0  # LTF found, SIG failed its CRC
    fec_failures: int = 0  # SIG fine, LDPC did not converge
    decoded: int = 0
    truncated: int = 0  # stream ended inside a burst
    nonfinite_samples: int = 0  # NaN or infinite input samples, replaced by zeros


@dataclass
class _Acquisition:
    """A synchronised burst (positions relative to the receiver's scan point)."""

    dpk: int
    cfo: float
    ltf_start: int = 0
    noise_var: float = 0.0
    snr_db: float = 0.0
    h_full: np.ndarray | None = None
    body: int = 0
    mod: Modulation = Modulation.QPSK
    length: int = 0
    nsym: int = 0
    end: int = 0


class BurstReceiver:
    """Streaming OFDM burst receiver.

    The input first loses its non-finite samples (zeroed, counted in
    :attr:`RxStats.nonfinite_samples`) and its DC offset (a DC blocker,
    :func:`kernels.front_end_clean`: the estimate follows the means of 64-sample blocks with a
    time constant of 4096 samples): detection, synchronisation and the FFTs all see the cleaned
    stream.
    The detector (:func:`kernels.stf_detect`) needs the STF's structure, periodic at 32
    samples but not at 16, so that a DC offset or a tone left in the gaps does not trigger it.

    Parameters
    ----------
    threshold : float
        Detection metric level (0..1) that triggers a detection: the normalised STF
        auto-correlation at lag 32 less the one at lag 16. The plateau sits near
        0.92 SNR / (1 + SNR) (0.4 at 0 dB in-band); on noise alone the 224-sample window keeps it
        near 0, beyond 0.3 with a probability under 1e-9; a DC offset or a tone scores 0.
    ltf_threshold : float
        Normalised LTF cross-correlation level that confirms a detection.
    max_iter : int
        LDPC decoder iterations.

    Input
    -----
    :meth:`feed` takes complex samples in any chunk size.

    Output
    ------
    :meth:`feed` and :meth:`flush` return the :class:`RxBurst` objects completed, in stream
    order. After :meth:`flush` the receiver starts a new stream (sample indices restart at 0).
    """

    WINDOW = STF_WINDOW

    def __init__(self, threshold: float = 0.3, ltf_threshold: float = 0.3, max_iter: int = 40) -> None:
        self.threshold = threshold
        self.ltf_threshold = ltf_threshold
        self.max_iter = max_iter
        self.stats = RxStats()
        self._buf = np.zeros(0, np.complex64)
        self._offset = 0  # absolute index of _buf[0]
        self._scan = 0  # absolute index where the next detection search starts
        self._pending: _Acquisition | None = None  # synchronised burst waiting for its samples
        self._dc = np.zeros(2)  # the DC blocker's estimate (re, im) and its current block's sums
        self._dc_sums = np.zeros(3, np.int64)

    # -- public -----------------------------------------------------------------------------
    def feed(self, samples: np.ndarray) -> list[RxBurst]:
        x = np.asarray(samples, dtype=np.complex64)
        self.stats.samples += x.size
        old = self._buf.size
        self._buf = np.concatenate([self._buf, x]) if old else x.copy()
        self.stats.nonfinite_samples += kernels.front_end_clean(self._buf[old:], self._dc, self._dc_sums, DC_WEIGHT,
                                                                DC_BLOCK)
        out = self._process(final=False)
        keep_from = max(self._scan - self._offset - 2 * self.WINDOW, 0)
        if keep_from:
            self._buf = self._buf[keep_from:]
            self._offset += keep_from
        return out

    def flush(self) -> list[RxBurst]:
        """End of stream: decode what is complete, count a burst cut short as truncated."""
        out = self._process(final=True)
        self._buf = np.zeros(0, np.complex64)
        self._offset = self._scan = 0
        self._pending = None
        self._dc[:] = 0
        self._dc_sums[:] = 0
        return out

    # -- detection ----------------------------------------------------------------------------
    def _process(self, final: bool) -> list[RxBurst]:
        out: list[RxBurst] = []
        lag, w = STF_PERIOD, self.WINDOW
        while True:
            rel = self._scan - self._offset
            x = self._buf[rel:]
            if self._pending is not None:  # a burst whose SIG said how long it is
                acq = self._pending
                if x.size < acq.end and not final:
                    return out
                self._pending = None
            else:
                if x.size < w + lag + 1:
                    return out
                d0, dpk, scanned = kernels.stf_detect(x, lag, w, self.threshold, self.WINDOW + 64)
                if d0 < 0:
                    self._scan += scanned
                    return out
                need = d0 + self.WINDOW + 64 + PREAMBLE_LEN + 64 + SIG_LEN + 2 * SYM_LEN
                if x.size < need or dpk < 0:
                    if final:
                        self.stats.truncated += 1
                        self._scan += x.size
                    else:
                        self._scan += d0
                    return out
                self.stats.detections += 1
                self._scan += dpk  # anchor on the burst: a pending acquisition survives buffer trimming
                x = x[dpk:]
                acq = self._acquire(x, 0)
                if isinstance(acq, int):
                    self._scan += acq
                    continue
                if x.size < acq.end:
                    if not final:
                        self._pending = acq
                        return out
            if x.size < acq.end:  # final and cut short
                self.stats.truncated += 1
                self._scan += x.size
                return out
            out.append(self._demodulate(x, acq, self._scan))
            self._scan += acq.end

    # -- demodulation -------------------------------------------------------------------------
    def _acquire(self, x: np.ndarray, dpk: int) -> "_Acquisition | int":
        """Synchronise on the burst whose STF plateau peaks near ``dpk`` and decode its SIG
        (:func:`kernels.acquire`).

        Returns the acquisition, or the number of samples to skip when there is none.
        """
        status, cfo, ltf_start, h_full, noise_var, snr_db, sig_bits = kernels.acquire(
            x, dpk, _LAYOUT, self.ltf_threshold, self.max_iter)
        if status == 1:
            self.stats.false_alarms += 1
            return dpk + STF_PERIOD
        parsed = _parse_sig(sig_bits) if status == 0 else None
        if parsed is None:
            self.stats.sig_errors += 1
            return ltf_start + NFFT
        acq = _Acquisition(dpk=dpk, cfo=cfo, ltf_start=ltf_start, noise_var=noise_var, snr_db=snr_db, h_full=h_full)
        acq.body = ltf_start + NFFT * 2  # start of SIG (its first CP)
        acq.mod, acq.length = parsed
        acq.nsym = data_symbols(acq.length, acq.mod)
        acq.end = acq.body + SIG_LEN + acq.nsym * SYM_LEN
        return acq

    def _demodulate(self, x: np.ndarray, acq: "_Acquisition", origin: int) -> RxBurst:
        """Equalise and decode a synchronised burst (``origin``: absolute index of ``x[0]``).

        The SIG symbols are transformed again with the data: the pilot tracking
        (:func:`kernels.equalise`) uses every symbol after the LTF.
        """
        t = SIG_SYMS + acq.nsym
        frames = kernels.derotated_frames(x, acq.body + CP - TIMING_BACKOFF, t, SYM_LEN, NFFT, acq.cfo, acq.dpk,
                                          _SYM_SCALE)
        y = np.fft.fft(frames, axis=1)
        eq, data, ok, eps = kernels.demodulate(y, acq.h_full, acq.noise_var, _LAYOUT, _tracking(t), _DEMAP[acq.mod],
                                               _frame_shape(8 * acq.length), self.max_iter)
        start = origin + acq.ltf_start - LTF_CP - STF_LEN
        if ok:
            self.stats.decoded += 1
        else:
            self.stats.fec_failures += 1
        data_eq = eq[SIG_SYMS:].ravel()
        return RxBurst(start, data.tobytes() if ok else None, acq.mod, acq.snr_db, acq.cfo, eps * 1e6,
                       data_eq[: 48 * 16].copy(), acq.length, data_eq)
