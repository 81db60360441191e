"""The compiled PHY kernels against their plain numpy definitions."""

import numpy as np
import pytest

from sdr_semcom.phy import kernels, ofdm
from sdr_semcom.phy.fec import DATA_CODE
from sdr_semcom.phy.mapping import Modulation, axis_levels, demap_llr


@pytest.mark.parametrize("n", [2, 64, 1024])
def test_fft_matches_numpy(n, rng):
    a = rng.normal(size=n) + 1j * rng.normal(size=n)
    got = a.copy()
    kernels.fft_inplace(got, *kernels.fft_plan(n))
    np.testing.assert_allclose(got, np.fft.fft(a), atol=1e-9 * n)


def test_fft_plan_rejects_other_sizes():
    with pytest.raises(ValueError, match="power of two"):
        kernels.fft_plan(48)


def test_stf_detect_matches_the_metric_definition(rng):
    x = (rng.normal(size=3000) + 1j * rng.normal(size=3000)).astype(np.complex64) * 0.1
    x[1000:1320] += ofdm.STF
    lag, w = ofdm.STF_PERIOD, 7 * ofdm.STF_PERIOD
    n = x.size - lag - w + 1
    corr = lambda off: np.array([np.vdot(x[d : d + w], x[d + off : d + off + w]) for d in range(n)])  # noqa: E731
    e0 = np.array([np.vdot(x[d : d + w], x[d : d + w]).real for d in range(n)])
    e1 = np.array([np.vdot(x[d + lag : d + lag + w], x[d + lag : d + lag + w]).real for d in range(n)])
    m = (np.abs(corr(lag)) - np.abs(corr(lag // 2))) / np.sqrt(e0 * e1)
    first, peak, scanned = kernels.stf_detect(x, lag, w, 0.5, 288)
    assert first == int(np.argmax(m > 0.5))
    assert peak == first + int(np.argmax(m[first : first + 288]))
    assert scanned == first + 288
    assert kernels.stf_detect(x[:900], lag, w, 0.5, 288)[0] == -1


@pytest.mark.parametrize("offender", ["dc", "tone"])
def test_stf_detect_ignores_dc_and_tones_but_finds_the_stf_under_them(offender, rng):
    """Both correlate equally at lags 32 and 16 (Schmidl-Cox alone scores them 1)."""
    t = np.arange(4000)
    spur = np.full(t.size, 0.3 + 0.2j) if offender == "dc" else 0.3 * np.exp(2j * np.pi * 0.0831 * t)
    x = (spur + 0.01 * (rng.normal(size=t.size) + 1j * rng.normal(size=t.size))).astype(np.complex64)
    lag, w = ofdm.STF_PERIOD, ofdm.STF_WINDOW
    assert kernels.stf_detect(x, lag, w, 0.3, 288)[0] == -1
    x[2000:2320] += ofdm.STF
    first, peak, _ = kernels.stf_detect(x, lag, w, 0.3, 288)
    assert 2000 - w < first < 2000 and 2000 <= peak <= 2000 + ofdm.STF_LEN - w - lag  # window within the STF


def test_front_end_clean_zeroes_nonfinite_samples_and_removes_dc_in_any_chunks(rng):
    x = (rng.normal(size=30_000) + 1j * rng.normal(size=30_000)).astype(np.complex64) * 0.1 + (0.5 - 0.25j)
    x[[3, 700, 701]] = [np.nan, np.inf, complex(1.0, -np.inf)]
    block, weight = 64, 2.0**-4
    whole, dc, sums = x.copy(), np.zeros(2), np.zeros(3, np.int64)
    assert kernels.front_end_clean(whole, dc, sums, weight, block) == 3
    v = np.where(np.isfinite(x), x, 0).astype(np.complex64)
    fixed = np.trunc(v.real * 65536.0) + 1j * np.trunc(v.imag * 65536.0)  # the sums count truncated 2**-16 units
    est, want = 0j, np.empty(x.size, np.complex64)
    for b in range(0, x.size - block + 1, block):  # each block loses the estimate of the blocks before it
        want[b : b + block] = v[b : b + block] - np.complex64(est)
        est += weight * (fixed[b : b + block].mean() / 65536.0 - est)
    want[x.size // block * block :] = v[x.size // block * block :] - np.complex64(est)
    np.testing.assert_allclose(whole, want, atol=1e-6)
    assert abs(whole[20_000:].mean()) < 0.01 and abs(complex(*dc) - (0.5 - 0.25j)) < 0.01
    cut, dc2, sums2, bad = x.copy(), np.zeros(2), np.zeros(3, np.int64), 0
    for i in range(0, x.size, 777):
        bad += kernels.front_end_clean(cut[i : i + 777], dc2, sums2, weight, block)
    assert bad == 3 and np.array_equal(cut, whole) and np.array_equal(dc2, dc) and np.array_equal(sums2, sums)


@pytest.mark.parametrize("mod", list(Modulation))
def test_equaliser_llrs_match_the_reference_demapper(mod, rng):
    """Flat channel, no clock offset, no noise on the pilots: LLRs equal max-log over the constellation."""
    t = 12
    h = np.zeros(ofdm.NFFT, complex)
    h[ofdm._USED_BINS] = 0.5 + 0.2j
    y = (rng.normal(size=(t, ofdm.NFFT)) + 1j * rng.normal(size=(t, ofdm.NFFT))) * 0.3
    pol = ofdm._PILOT_POLARITY[np.arange(t) % 127][:, None]
    y[:, ofdm._PILOT_BINS] = h[ofdm._PILOT_BINS] * ofdm.PILOT_BASE * pol
    eq, llr, eps = kernels.equalise(y, h, 0.01, ofdm._LAYOUT, ofdm._tracking(t, False), kernels.Demap(*axis_levels(mod)))
    want_eq = y[:, ofdm._DATA_BINS] / h[ofdm._DATA_BINS]
    np.testing.assert_allclose(eq, want_eq, rtol=1e-5, atol=1e-6)
    nv = 0.01 / np.abs(h[ofdm._DATA_BINS]) ** 2
    np.testing.assert_allclose(llr, demap_llr(want_eq, np.broadcast_to(nv, want_eq.shape), mod), rtol=1e-4, atol=1e-3)
    assert eps == 0.0


def test_ltf_timing_matches_its_definition(rng):
    """Timing, CFO and correlation level of a preamble with a known CFO, against numpy."""
    cfo = 0.004  # cycles / sample
    x = np.zeros(2000, np.complex128)
    x[300 : 300 + ofdm.PREAMBLE_LEN] = ofdm._PREAMBLE
    x = (x * np.exp(2j * np.pi * cfo * np.arange(x.size)) + 0.05 * (rng.normal(size=x.size) + 1j * rng.normal(
        size=x.size))).astype(np.complex64)
    lay, dpk = ofdm._LAYOUT, 300 + 20
    coarse, i, rho, dcfo = kernels.ltf_timing(x, dpk, lay.stf_lag, lay.stf_window, dpk + lay.ltf_lo, lay.ltf_count,
                                              lay.ltf_sym)
    acc = np.vdot(x[dpk : dpk + lay.stf_window], x[dpk + lay.stf_lag : dpk + lay.stf_lag + lay.stf_window])
    assert coarse == pytest.approx(np.angle(acc) / (2 * np.pi * lay.stf_lag), rel=1e-6)  # numpy sums in complex64
    assert dpk + lay.ltf_lo + i == 300 + ofdm.STF_LEN + ofdm.LTF_CP  # first LTF symbol after its prefix
    assert 0.95 < rho <= 1.0
    assert coarse + dcfo == pytest.approx(cfo, abs=2e-5)


def test_acquire_reads_the_sig_of_a_burst_and_rejects_noise(rng):
    burst = ofdm.modulate(bytes(range(200)), "16qam")
    x = np.concatenate([np.zeros(100, np.complex64), burst, np.zeros(100, np.complex64)])
    lay = ofdm._LAYOUT
    status, cfo, ltf_start, h, _nv, _snr, bits = kernels.acquire(x, 100, lay, 0.3, 40)
    assert status == 0 and ltf_start == 100 + ofdm.STF_LEN + ofdm.LTF_CP and abs(cfo) < 1e-6
    assert ofdm._parse_sig(bits) == (Modulation.QAM16, 200)
    np.testing.assert_allclose(np.abs(h[lay.used_bins]), 1.0, atol=1e-3)
    noise = (rng.normal(size=3000) + 1j * rng.normal(size=3000)).astype(np.complex64)
    assert kernels.acquire(noise, 100, lay, 0.3, 40)[0] == 1


def test_parse_sig_inverts_sig_bits_and_checks_the_crc():
    for mod, length in [(Modulation.BPSK, 1), (Modulation.QPSK, 520), (Modulation.QAM16, ofdm.MAX_FRAME_BYTES)]:
        bits = ofdm._sig_bits(mod, length)
        assert ofdm._parse_sig(bits) == (mod, length)
        for flip in (0, 20, 41):
            bad = bits.copy()
            bad[flip] ^= 1
            assert ofdm._parse_sig(bad) is None


def test_axis_levels_describe_the_constellation():
    levels, bits, two_axes = axis_levels(Modulation.QAM16)
    assert two_axes and levels.size == 4 and bits.shape == (4, 2)
    assert not axis_levels(Modulation.BPSK)[2]


@pytest.mark.parametrize("errors", ["none", "first codeword", "every 7th bit", "too many"])
def test_decode_frame_inverts_encode_frame(errors, rng):
    """Clean codewords are read as sent, dirty ones decoded; a codeword beyond repair loses the frame."""
    payload = np.frombuffer(rng.bytes(300), np.uint8)
    ncw, keep = ofdm._codeword_layout(8 * payload.size)
    assert ncw == 3
    assert ofdm._TX_LAYOUT.data_code is DATA_CODE.tables
    bits = kernels.encode_frame(payload, ncw, keep, ofdm._TX_LAYOUT, ofdm.coded_bits_len(payload.size))
    llr = (1.0 - 2.0 * bits[: ofdm.coded_bits_len(payload.size)]).astype(np.float32) * 4
    if errors == "first codeword":
        llr[5:60:11] *= -0.2  # weakly wrong bits in the first codeword only
    elif errors == "every 7th bit":
        llr[::7] *= -0.2  # in every codeword, the last (shortened) one included
    elif errors == "too many":
        llr[DATA_CODE.n : 2 * DATA_CODE.n : 2] *= -1  # half the second codeword confidently wrong
    data, ok = kernels.decode_frame(llr, kernels.FrameShape(8 * payload.size, ncw, keep), ofdm._LAYOUT, 40)
    assert ok == (errors != "too many")
    if ok:
        assert data.tobytes() == payload.tobytes()


def test_frame_kernels_refuse_a_layout_that_does_not_fit():
    ncw, keep = ofdm._codeword_layout(8 * 300)
    with pytest.raises(ValueError, match="total_bits"):
        kernels.encode_frame(np.zeros(300, np.uint8), ncw, keep, ofdm._TX_LAYOUT, 100)
    with pytest.raises(ValueError, match="fewer LLRs"):
        kernels.decode_frame(np.zeros(100, np.float32), kernels.FrameShape(2400, ncw, keep), ofdm._LAYOUT, 40)


def test_kernel_caches_are_keyed_by_every_kernel_module():
    """A cached kernel holds the kernels it calls: its cache must go stale when any of them changes."""
    from sdr_semcom.phy.kernels import _jit

    digest = _jit.package_digest()
    assert len(digest) == 12
    for kernel in (kernels.demodulate, kernels.ldpc_encode, kernels.channel_pass):
        locator = kernel._cache._impl.locator
        assert type(locator).__name__.startswith("SdrSemcom")
        assert locator.get_source_stamp() == digest and locator.get_disambiguator().endswith("-" + digest)
