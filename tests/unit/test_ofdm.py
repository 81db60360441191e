import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdr_semcom.phy import ofdm
from sdr_semcom.phy.channel import ChannelEmulator, ChannelSpec, impaired
from sdr_semcom.phy.mapping import Modulation
from tests.conftest import awgn


def _stream(payloads, mod, gap=300):
    parts = [np.zeros(500, np.complex64)]
    for p in payloads:
        parts += [ofdm.modulate(p, mod), np.zeros(gap, np.complex64)]
    return np.concatenate(parts + [np.zeros(1000, np.complex64)])


def _receive(x, chunk=4096, rx=None):
    rx = rx or ofdm.BurstReceiver()
    out = []
    for i in range(0, x.size, chunk):
        out += rx.feed(x[i : i + chunk])
    return out + rx.flush(), rx


@pytest.mark.parametrize("mod", list(Modulation))
def test_bytes_in_equal_bytes_out_at_high_snr(mod, rng):
    payloads = [rng.bytes(n) for n in (1, 50, 113, 900)]
    out, rx = _receive(awgn(_stream(payloads, mod), 30, rng, cfo=0.3 / 64))
    assert [b.payload for b in out] == payloads
    assert all(b.modulation is mod for b in out)
    assert rx.stats.decoded == 4 and rx.stats.false_alarms == 0


def test_burst_length_matches_layout(rng):
    for n, mod in [(1, Modulation.BPSK), (500, Modulation.QPSK), (2000, Modulation.QAM16)]:
        assert ofdm.modulate(rng.bytes(n), mod).size == ofdm.burst_len(n, mod)
    x = ofdm.modulate(b"x" * 100)
    assert np.mean(np.abs(x) ** 2) == pytest.approx(1.0, rel=0.05)
    padded = ofdm.modulate(b"x" * 100, gap=37)
    assert padded.size == x.size + 37 and np.array_equal(padded[: x.size], x) and not padded[x.size :].any()


def test_chunking_does_not_change_the_result(rng):
    payloads = [rng.bytes(300) for _ in range(3)]
    x = awgn(_stream(payloads, Modulation.QPSK), 12, rng)
    a, _ = _receive(x, chunk=100_000)
    b, _ = _receive(x, chunk=777)
    assert [p.payload for p in a] == [p.payload for p in b] == payloads
    assert [p.start for p in a] == [p.start for p in b]


def test_qpsk_at_6db_with_multipath_cfo(rng):
    payloads = [rng.bytes(200) for _ in range(10)]
    taps = (1.0, 0.35 * np.exp(1j), 0.0, 0.15 * np.exp(2.1j))
    out, _ = _receive(awgn(_stream(payloads, Modulation.QPSK), 6, rng, cfo=0.3 / 64, taps=taps))
    assert [b.payload for b in out if b.payload] == payloads


def test_sig_estimates_snr(rng):
    # measured over 8 seeds, 16 bursts each: median error -0.04..+0.44 dB at 10 dB (one burst alone: up to 1.6 dB)
    out, _ = _receive(awgn(_stream([rng.bytes(400) for _ in range(16)], Modulation.QPSK), 10, rng))
    assert len(out) == 16
    assert np.median([b.snr_db for b in out]) == pytest.approx(10.2, abs=0.5)


def test_truncated_capture_is_counted_not_crashed(rng):
    x = _stream([rng.bytes(800)], Modulation.QPSK)
    out, rx = _receive(awgn(x[: x.size // 2], 25, rng))
    assert out == [] and rx.stats.truncated == 1


def test_noise_alone_gives_nothing(rng):
    out, rx = _receive(awgn(np.zeros(200_000, np.complex64), -100, rng))
    assert out == [] and rx.stats.decoded == 0


def test_payload_size_limits():
    with pytest.raises(ValueError, match="1..16383"):
        ofdm.modulate(b"")
    with pytest.raises(ValueError):
        ofdm.modulate(b"x" * 20000)


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=0, max_size=4000), st.integers(1, 3000))
def test_receiver_never_crashes_on_arbitrary_samples(raw, chunk):
    """Any float32 pair is a sample here, NaN, inf and 1e38 included: no crash, every sample
    counted, and no packet made out of it."""
    x = np.frombuffer(raw[: len(raw) // 8 * 8], np.complex64)
    with np.errstate(all="ignore"):
        out, rx = _receive(x, chunk=chunk)
    assert rx.stats.samples == x.size
    assert [b.payload for b in out if b.payload is not None] == [] and rx.stats.decoded == 0


@pytest.mark.parametrize("mod", list(Modulation))
def test_modulate_many_equals_frame_by_frame(mod, rng):
    frames = [rng.bytes(n) for n in (700, 1, 333, 1801)]
    one_by_one = np.concatenate([ofdm.modulate(f, mod, gap=50) for f in frames])
    np.testing.assert_array_equal(ofdm.modulate_many(frames, mod, gap=50), one_by_one)
    with pytest.raises(ValueError, match="1..16383 bytes, got 0"):
        ofdm.modulate_many([b"x", b""], mod)


def _through(spec: ChannelSpec, payloads, gap=400) -> np.ndarray:
    x = np.concatenate([np.zeros(gap, np.complex64), ofdm.modulate_many(payloads, Modulation.QPSK, gap)])
    emu = ChannelEmulator(spec)
    return np.concatenate([emu.process(x), emu.flush()])


@pytest.mark.parametrize("front_end", [{"dc_offset_dbc": -20.0}, {"tone_dbc": -20.0, "tone_subcarriers": 5.3},
                                       {"tone_dbc": -20.0, "tone_subcarriers": 7.0},  # on a pilot
                                       {"iq_gain_db": 0.5, "iq_phase_deg": 3.0},
                                       {"dc_offset_dbc": -10.0, "tone_dbc": -20.0, "tone_subcarriers": -11.6,
                                        "iq_gain_db": -0.5, "iq_phase_deg": 3.0}], ids=["dc", "tone", "tone-pilot",
                                                                                         "iq", "all"])
def test_front_end_impairments_cost_no_packet_at_30db(front_end):
    """Before the detector needed the STF's structure, a -20 dBc DC offset or tone lost 25-50 %."""
    rng = np.random.default_rng(12)
    payloads = [rng.bytes(200) for _ in range(100)]
    spec = impaired(30, seed=3)
    clean = _receive(_through(spec, payloads))[0]
    out, rx = _receive(_through(ChannelSpec(**{**spec.__dict__, **front_end}), payloads))
    assert [b.payload for b in clean] == payloads
    assert [b.payload for b in out] == payloads
    assert rx.stats.false_alarms == 0


def test_nonfinite_samples_are_zeroed_and_counted(rng):
    payloads = [rng.bytes(120) for _ in range(4)]
    x = awgn(_stream(payloads, Modulation.QPSK), 25, rng)
    x[3] = np.nan  # before the first burst: it used to cost the next two bursts
    x[200:210] = np.inf
    x[-500] = complex(np.nan, 0.0)  # in the gap after the last burst
    out, rx = _receive(x, chunk=1000)
    assert [b.payload for b in out] == payloads
    assert rx.stats.nonfinite_samples == 12
