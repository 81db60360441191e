"""Burst OFDM modem with a low-SNR preamble detector.

Burst layout (samples at the link's sample rate, 64-point FFT, 52 used carriers)::

    STF   6 x 32   repeated short symbol: detection (auto-correlation) + coarse CFO
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

from .fec import DATA_CODE, KNOWN_LLR, SIG_CODE
from .mapping import Modulation, demap_llr, map_bits

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
LTF_CP = 32
LTF_LEN = LTF_CP + 2 * NFFT
SIG_SYMS = 3
SIG_LEN = SIG_SYMS * SYM_LEN
PREAMBLE_LEN = STF_LEN + LTF_LEN
MAX_FRAME_BYTES = (1 << 14) - 1
SIG_VERSION = 1
TIMING_BACKOFF = 4  # FFT window starts this many samples inside the CP


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
    return np.asarray(k) % NFFT


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
LTF_SYM = LTF[LTF_CP : LTF_CP + NFFT]
_PERM = np.random.default_rng(7).permutation(DATA_CODE.n)  # per-codeword bit interleaver


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
    fields, crc_bits = bits[:26], bits[26:42]
    crc = int(np.packbits(crc_bits).view(">u2")[0])
    if binascii.crc_hqx(np.packbits(fields).tobytes(), 0xFFFF) != crc:
        return None
    word = int("".join(map(str, fields)), 2)
    version, mcs, length = word >> 24, (word >> 22) & 3, (word >> 8) & 0x3FFF
    if version != SIG_VERSION or mcs > 2 or length == 0:
        return None
    return Modulation(mcs), length


# --------------------------------------------------------------------------------------- TX
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


def coded_bits_len(frame_len: int) -> int:
    """Number of coded bits sent for a frame of ``frame_len`` bytes."""
    ncw, keep_last = _codeword_layout(8 * frame_len)
    return (ncw - 1) * DATA_CODE.n + int(keep_last.sum())


def data_symbols(frame_len: int, mod: Modulation) -> int:
    """Number of DATA OFDM symbols for a frame of ``frame_len`` bytes."""
    return -(-coded_bits_len(frame_len) // (mod.bits * len(DATA)))


def burst_len(frame_len: int, mod: Modulation) -> int:
    """Burst length in samples (without the inter-burst gap)."""
    return PREAMBLE_LEN + SIG_LEN + data_symbols(frame_len, mod) * SYM_LEN


def _ofdm_symbols(data: np.ndarray) -> np.ndarray:
    """(T, 48) data symbols -> (T * 80) time samples with pilots and CP (pilot polarity from symbol 0)."""
    t = data.shape[0]
    grid = np.zeros((t, NFFT), np.complex64)
    grid[:, _bins(DATA)] = data
    pol = _PILOT_POLARITY[np.arange(t) % 127][:, None]
    grid[:, _bins(PILOTS)] = pol * PILOT_BASE
    time = _freq_to_time(grid)
    return np.concatenate([time[:, -CP:], time], axis=1).ravel()


def modulate(payload: bytes, mod: Modulation = Modulation.QPSK) -> np.ndarray:
    """One burst (complex64, unit mean power) carrying ``payload``.

    Parameters
    ----------
    payload : bytes
        1 to 16383 bytes (a link-layer frame).
    mod : Modulation
        Modulation of the DATA symbols.
    """
    mod = Modulation.parse(mod)
    if not 1 <= len(payload) <= MAX_FRAME_BYTES:
        raise ValueError(f"burst payload must be 1..{MAX_FRAME_BYTES} bytes, got {len(payload)}")
    bits = np.unpackbits(np.frombuffer(payload, np.uint8)) ^ _SCRAMBLE[: 8 * len(payload)]
    ncw, keep_last = _codeword_layout(bits.size)
    info = np.zeros(ncw * DATA_CODE.k, np.uint8)
    info[: bits.size] = bits
    cws = DATA_CODE.encode(info.reshape(ncw, DATA_CODE.k))[:, _PERM]
    coded = np.concatenate([cws[:-1].ravel(), cws[-1][keep_last]])
    nsym = data_symbols(len(payload), mod)
    coded = np.concatenate([coded, np.zeros(nsym * mod.bits * len(DATA) - coded.size, np.uint8)])
    data = map_bits(coded, mod).reshape(nsym, len(DATA))

    sig_cw = SIG_CODE.encode(_sig_bits(mod, len(payload)))
    sig_bits = np.resize(sig_cw, SIG_SYMS * len(DATA))  # 100 coded bits, first 44 repeated
    sig = map_bits(sig_bits, Modulation.BPSK).reshape(SIG_SYMS, len(DATA))
    body = _ofdm_symbols(np.concatenate([sig, data]))
    return np.concatenate([STF, LTF, body]).astype(np.complex64)


# --------------------------------------------------------------------------------------- RX
@dataclass
class RxBurst:
    """What the receiver got from one detected burst."""

    start: int  # absolute sample index of the burst (STF start estimate)
    payload: bytes | None  # None where the LDPC decoder did not converge
    modulation: Modulation | None
    snr_db: float
    cfo: float  # cycles per sample
    clock_ppm: float
    symbols: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, np.complex64))


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
    sig: np.ndarray | None = None
    mod: Modulation = Modulation.QPSK
    length: int = 0
    nsym: int = 0
    end: int = 0


class BurstReceiver:
    """Streaming OFDM burst receiver.

    Parameters
    ----------
    threshold : float
        Normalised STF auto-correlation level (0..1) that triggers a detection. The plateau
        sits near SNR / (1 + SNR) (0.45 at 0 dB in-band); on noise alone the 224-sample
        window keeps it near 0.06, beyond 0.3 with a probability of about 1e-9.
    ltf_threshold : float
        Normalised LTF cross-correlation level that confirms a detection.
    max_iter : int
        LDPC decoder iterations.

    Input
    -----
    :meth:`feed` takes complex samples in any chunk size.

    Output
    ------
    :meth:`feed` and :meth:`flush` return the :class:`RxBurst` objects completed. After
    :meth:`flush` the receiver starts a new stream (sample indices restart at 0).
    """

    WINDOW = 7 * STF_PERIOD

    def __init__(self, threshold: float = 0.3, ltf_threshold: float = 0.3, max_iter: int = 40) -> None:
        self.threshold = threshold
        self.ltf_threshold = ltf_threshold
        self.max_iter = max_iter
        self.stats = RxStats()
        self._buf = np.zeros(0, np.complex64)
        self._offset = 0  # absolute index of _buf[0]
        self._scan = 0  # absolute index where the next detection search starts
        self._pending: _Acquisition | None = None  # synchronised burst waiting for its samples

    # -- public -----------------------------------------------------------------------------
    def feed(self, samples: np.ndarray) -> list[RxBurst]:
        x = np.asarray(samples, dtype=np.complex64)
        self.stats.samples += x.size
        self._buf = np.concatenate([self._buf, x]) if self._buf.size else x.copy()
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
        return out

    # -- detection ----------------------------------------------------------------------------
    def _metric(self, x: np.ndarray) -> np.ndarray:
        """Schmidl-Cox style metric at every position where a full window fits."""
        lag, w = STF_PERIOD, self.WINDOW
        prod = np.conj(x[:-lag]) * x[lag:]
        energy = np.abs(x[lag:]) ** 2
        cp = np.concatenate([[0], np.cumsum(prod, dtype=np.complex128)])
        ce = np.concatenate([[0], np.cumsum(energy, dtype=np.float64)])
        p = cp[w:] - cp[:-w]
        e = ce[w:] - ce[:-w]
        e0 = np.concatenate([[0], np.cumsum(np.abs(x[:-lag]) ** 2, dtype=np.float64)])
        e0 = e0[w:] - e0[:-w]
        den = np.sqrt(e * e0)
        return np.where(den > 1e-12, np.abs(p) / np.maximum(den, 1e-12), 0.0)

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
                metric = self._metric(x)
                hits = np.nonzero(metric > self.threshold)[0]
                if hits.size == 0:
                    self._scan += metric.size
                    return out
                d0 = int(hits[0])
                need = d0 + self.WINDOW + 64 + PREAMBLE_LEN + 64 + SIG_LEN + 2 * SYM_LEN
                if x.size < need:
                    if final:
                        self.stats.truncated += 1
                        self._scan += x.size
                    else:
                        self._scan += d0
                    return out
                seg = slice(d0, min(d0 + self.WINDOW + 64, metric.size))  # covers the plateau
                dpk = d0 + int(np.argmax(metric[seg]))
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
            burst = self._demodulate(x, acq)
            burst.start += self._scan
            out.append(burst)
            self._scan += acq.end

    # -- demodulation -------------------------------------------------------------------------
    def _symbols(self, x: np.ndarray, acq: "_Acquisition", start: int, count: int) -> np.ndarray:
        """FFT of ``count`` OFDM symbols whose first CP starts at ``start`` (CFO removed)."""
        a = start + CP - TIMING_BACKOFF
        b = a + (count - 1) * SYM_LEN + NFFT
        y = x[a:b] * np.exp(-2j * np.pi * acq.cfo * np.arange(a - acq.dpk, b - acq.dpk))
        y = np.lib.stride_tricks.as_strided(y, (count, NFFT), (SYM_LEN * y.itemsize, y.itemsize))
        return np.fft.fft(y, axis=1) * (np.sqrt(len(USED)) / NFFT)

    def _acquire(self, x: np.ndarray, dpk: int) -> "_Acquisition | int":
        """Synchronise on the burst whose STF plateau peaks near ``dpk`` and decode its SIG.

        Returns the acquisition, or the number of samples to skip when there is none.
        """
        lag, w = STF_PERIOD, self.WINDOW
        p = np.sum(np.conj(x[dpk : dpk + w]) * x[dpk + lag : dpk + lag + w])
        acq = _Acquisition(dpk=dpk, cfo=float(np.angle(p) / (2 * np.pi * lag)))
        # fine timing: LTF cross-correlation around where the LTF should start
        lo = dpk + STF_LEN + LTF_CP - 80  # the plateau peak sits 0..64 samples after the STF start
        hi = dpk + STF_LEN + LTF_CP + 48
        seg = x[lo : hi + 2 * NFFT] * np.exp(-2j * np.pi * acq.cfo * np.arange(lo - dpk, hi + 2 * NFFT - dpk))
        win = np.lib.stride_tricks.sliding_window_view(seg, NFFT)
        c = win @ np.conj(LTF_SYM)
        energy = np.sum(np.abs(win) ** 2, axis=1)
        q = np.abs(c[: hi - lo]) + np.abs(c[NFFT : NFFT + hi - lo])
        i = int(np.argmax(q))
        rho = q[i] / (np.linalg.norm(LTF_SYM) * (np.sqrt(energy[i]) + np.sqrt(energy[i + NFFT])) + 1e-12)
        if rho < self.ltf_threshold:
            self.stats.false_alarms += 1
            return dpk + lag
        acq.ltf_start = lo + i  # first LTF symbol (after its CP)
        l1, l2 = seg[i : i + NFFT], seg[i + NFFT : i + 2 * NFFT]
        acq.cfo += float(np.angle(np.sum(np.conj(l1) * l2)) / (2 * np.pi * NFFT))

        ltf1 = self._symbols(x, acq, acq.ltf_start - CP, 1)  # the two LTF symbols are 64 apart: no CP
        ltf2 = self._symbols(x, acq, acq.ltf_start + NFFT - CP, 1)
        y1, y2 = ltf1[0, _bins(USED)], ltf2[0, _bins(USED)]
        h_ls = (y1 + y2) / 2 / LTF_FREQ
        acq.noise_var = float(np.mean(np.abs(y1 - y2) ** 2) / 2)
        h = _PROJ @ h_ls
        acq.snr_db = float(10 * np.log10(max(np.mean(np.abs(h) ** 2), 1e-12) / max(acq.noise_var, 1e-12)))
        acq.h_full = np.zeros(NFFT, np.complex128)
        acq.h_full[_bins(USED)] = h

        acq.body = acq.ltf_start + NFFT * 2  # start of SIG (its first CP)
        acq.sig = self._symbols(x, acq, acq.body, SIG_SYMS)
        eq_sig, nv_sig, _ = self._equalise(acq.sig, acq.h_full, acq.noise_var, track_clock=False)
        llr = demap_llr(eq_sig, nv_sig, Modulation.BPSK)
        llr_sig = llr[: SIG_CODE.n].copy()
        llr_sig[: llr.size - SIG_CODE.n] += llr[SIG_CODE.n :]
        sig_info, sig_ok = SIG_CODE.decode(llr_sig, max_iter=self.max_iter)
        parsed = _parse_sig(sig_info) if sig_ok[0] else None
        if parsed is None:
            self.stats.sig_errors += 1
            return acq.ltf_start + NFFT
        acq.mod, acq.length = parsed
        acq.nsym = data_symbols(acq.length, acq.mod)
        acq.end = acq.body + SIG_LEN + acq.nsym * SYM_LEN
        return acq

    def _demodulate(self, x: np.ndarray, acq: "_Acquisition") -> RxBurst:
        data = self._symbols(x, acq, acq.body + SIG_LEN, acq.nsym)
        eq, nv, ppm = self._equalise(np.concatenate([acq.sig, data]), acq.h_full, acq.noise_var)
        eq, nv = eq[SIG_SYMS:], nv[SIG_SYMS:]
        payload = self._decode_data(demap_llr(eq, nv, acq.mod), acq.length)
        start = acq.ltf_start - LTF_CP - STF_LEN
        if payload is None:
            self.stats.fec_failures += 1
        else:
            self.stats.decoded += 1
        return RxBurst(start, payload, acq.mod, acq.snr_db, acq.cfo, ppm, eq.ravel()[: 48 * 16].astype(np.complex64))

    @staticmethod
    def _equalise(y: np.ndarray, h_full: np.ndarray, noise_var: float, track_clock: bool = True):
        """Pilot-tracked zero-forcing equalisation of (T, 64) symbols.

        ``y`` starts with the first SIG symbol. Returns (T, 48) equalised data
        symbols, their noise variances, and the clock offset estimate in ppm.
        """
        t = y.shape[0]
        pol = _PILOT_POLARITY[np.arange(t) % 127][:, None]
        ref = h_full[_bins(PILOTS)][None, :] * pol * PILOT_BASE
        z = y[:, _bins(PILOTS)] * np.conj(ref)  # (T, 4)
        tt = np.arange(t)[:, None]
        delay = SYM_LEN * (tt + 1)  # samples since the LTF, per symbol

        def clock_fit(grid):
            ph = np.exp(-2j * np.pi * PILOTS[None, None, :] * grid[:, None, None] * delay[None] / NFFT)
            score = np.abs((z[None] * ph).sum(axis=2)).sum(axis=1)
            return grid[int(np.argmax(score))]

        eps = 0.0
        if track_clock:
            eps = clock_fit(np.linspace(-100e-6, 100e-6, 41))
            eps = clock_fit(eps + np.linspace(-5e-6, 5e-6, 11))
        slope = np.exp(-2j * np.pi * PILOTS[None, :] * eps * delay / NFFT)
        wt = (z * slope).sum(axis=1)  # common phase per symbol
        nfft = max(1024, 1 << int(np.ceil(np.log2(8 * t))))
        spec = np.abs(np.fft.fft(wt, nfft))
        freq = np.fft.fftfreq(nfft)[int(np.argmax(spec))] * 2 * np.pi  # rad / symbol
        base = np.exp(-1j * freq * np.arange(t))
        u = wt * base
        csum = np.concatenate([[0], np.cumsum(u)])
        idx = np.arange(t)
        smooth = csum[np.minimum(idx + 5, t)] - csum[np.maximum(idx - 4, 0)]  # +-4 symbols
        phase = np.angle(smooth) + freq * np.arange(t)
        rot = np.exp(-1j * phase)[:, None]
        kd = DATA[None, :]
        drift = np.exp(-2j * np.pi * kd * eps * delay / NFFT)
        hd = h_full[_bins(DATA)][None, :]
        eq = y[:, _bins(DATA)] * rot * drift / hd
        nv = np.broadcast_to(noise_var / np.maximum(np.abs(hd) ** 2, 1e-12), eq.shape)
        return eq, nv, eps * 1e6

    @staticmethod
    def _decode_data(llr: np.ndarray, length: int) -> bytes | None:
        nbits = 8 * length
        ncw, keep_last = _codeword_layout(nbits)
        n = DATA_CODE.n
        inter = np.full((ncw, n), KNOWN_LLR, np.float32)  # shortened bits are known zeros
        inter[:-1] = llr[: (ncw - 1) * n].reshape(ncw - 1, n)
        inter[-1, keep_last] = llr[(ncw - 1) * n : (ncw - 1) * n + int(keep_last.sum())]
        full = np.empty_like(inter)
        full[:, _PERM] = inter  # undo the interleaver
        info, ok = DATA_CODE.decode(full)
        if not ok.all():
            return None
        bits = info.ravel()[:nbits] ^ _SCRAMBLE[:nbits]
        return np.packbits(bits).tobytes()
