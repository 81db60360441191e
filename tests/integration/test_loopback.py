"""The GNU Radio loopback in one process: bytes in == bytes out, PER vs SNR, CRC accounting."""

import dataclasses

import numpy as np
import pytest

from sdr_semcom.config import LinkConfig
from sdr_semcom.link.endpoints import LinkReceiver
from sdr_semcom.link.loopback import run_loopback
from sdr_semcom.phy import ofdm
from sdr_semcom.phy.channel import ChannelSpec, impaired
from sdr_semcom.phy.framing import Fragmenter, PayloadType, build_frame


def test_bytes_in_equal_bytes_out_both_receivers(rng):
    msgs = [rng.bytes(5000), rng.bytes(10), (rng.bytes(384 * 2), PayloadType.EMBEDDING)]
    cfg = LinkConfig(auth=impaired(25, seed=1), eve=impaired(20, seed=2), mtu=700)
    res = run_loopback(msgs, cfg)
    for role in ("auth", "eve"):
        got = res.rx[role].messages
        assert [m.data for m in got] == [msgs[0], msgs[1], msgs[2][0]]
        assert got[2].ptype is PayloadType.EMBEDDING
        rep = res.rx[role].report
        assert rep["packets_sent"] == res.tx["frames_sent"] == 8 + 1 + 2
        assert rep["per"] == 0 and rep["end_frame_heard"]
    assert res.rx["auth"].report["snr_est_db"] == pytest.approx(25, abs=2)


@pytest.mark.parametrize("mod", ["bpsk", "16qam"])
def test_other_modulations(mod, rng):
    msg = rng.bytes(3000)
    res = run_loopback([msg], LinkConfig(modulation=mod, auth=impaired(25)), roles=["auth"])
    assert res.rx["auth"].messages[0].data == msg


def test_per_falls_with_snr(rng):
    msg = rng.bytes(40 * 200)
    per = {}
    for snr in (2.0, 4.0, 8.0):
        cfg = LinkConfig(mtu=200, auth=impaired(snr, seed=3))
        per[snr] = run_loopback([msg], cfg, roles=["auth"]).rx["auth"].report["per"]
    assert per[2.0] > 0.5
    assert per[2.0] >= per[4.0] >= per[8.0]
    assert per[8.0] == 0


def test_lost_packets_are_listed_by_sequence_number(rng):
    msg = rng.bytes(30 * 200)
    res = run_loopback([msg], LinkConfig(mtu=200, eve=impaired(3.5, seed=9)), roles=["eve"])
    rep = res.rx["eve"].report
    assert 0 < rep["packets_lost"] < 30
    assert len(rep["lost_seqs"]) == rep["packets_lost"]
    (m,) = res.rx["eve"].messages
    assert m.missing == rep["lost_seqs"]  # one message: fragment index == sequence number


def test_crc_failure_is_counted(rng):
    """A frame whose bytes were corrupted before the modem decodes fine but fails its CRC."""
    frame = bytearray(build_frame(Fragmenter(mtu=100).split(rng.bytes(80))[0]))
    frame[20] ^= 0x40
    x = np.concatenate([np.zeros(500, np.complex64), ofdm.modulate(bytes(frame)), np.zeros(2000, np.complex64)])
    rx = ofdm.BurstReceiver()
    lr = LinkReceiver()
    for b in rx.feed(x) + rx.flush():
        lr.push(b)
    assert lr.crc_failures == 1 and not lr.seqs
    assert lr.report(rx.stats, 1, 1.0, None)["packets_lost"] == 1


def test_channel_without_impairments_is_clean(rng):
    msg = rng.bytes(2000)
    cfg = dataclasses.replace(LinkConfig(), auth=ChannelSpec(snr_db=40))
    assert run_loopback([msg], cfg, roles=["auth"]).rx["auth"].messages[0].data == msg


def test_unknown_role():
    with pytest.raises(ValueError, match="unknown role"):
        run_loopback([b"x"], roles=["bob"])


def test_semcom_channel_engine_repeats_a_run_exactly(rng):
    """GNU Radio hands the emulator block different chunks from run to run: the packets lost must not
    change (with ``channel_model`` they can differ by one)."""
    msg = rng.bytes(40 * 200)
    cfg = LinkConfig(mtu=200, auth=impaired(4.0, seed=3), eve=impaired(3.5, seed=4))
    assert cfg.auth.engine == "semcom"  # the default
    a, b = run_loopback([msg], cfg), run_loopback([msg], cfg)
    for role in ("auth", "eve"):
        ra, rb = a.rx[role].report, b.rx[role].report
        assert 0 < ra["packets_lost"] < ra["packets_sent"]  # a channel that loses some, not all
        assert ra["lost_seqs"] == rb["lost_seqs"] and ra["snr_est_db"] == rb["snr_est_db"]
