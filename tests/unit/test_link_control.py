"""The link's control socket, signal handling and receiver reports without the END frame."""

import os
import signal
import time

import pytest

from sdr_semcom.link.control import BEAT_S, ControlLink, LinkError, control_address
from sdr_semcom.link.endpoints import INCOMPLETE, LinkReceiver, LinkTransmitter
from sdr_semcom.link.interrupt import EXIT_STATUS, Interrupt
from sdr_semcom.phy.framing import parse_frame
from sdr_semcom.phy.ofdm import RxStats
from tests.conftest import free_ports


def _wait(cond, timeout=5.0):
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            return False
        time.sleep(0.01)
    return True


def test_control_address_offsets_the_port():
    assert control_address("tcp://127.0.0.1:5555") == "tcp://127.0.0.1:6555"
    assert control_address("tcp://*:7000") == "tcp://*:8000"
    assert control_address("ipc:///tmp/x") == "ipc:///tmp/x.ctl"
    for bad, why in (("tcp://host", "numeric port"), ("tcp://h:65000", "pick a port"), ("inproc://x", "only tcp")):
        with pytest.raises(ValueError, match=why):
            control_address(bad)


def test_control_link_messages_and_heartbeats_both_ways():
    (port,) = free_ports(1)
    addr = f"tcp://127.0.0.1:{port}"
    with ControlLink(addr, True, "up") as up:
        down = ControlLink(addr, False, "down")
        assert up.last_heard is None and up.get("hello") is None
        down.send("hello")
        assert _wait(lambda: up.get("hello") is not None)
        assert up.get("hello")["who"] == "down"
        assert _wait(lambda: down.last_heard is not None)  # the upstream's heartbeats reach it
        first = down.last_heard
        assert _wait(lambda: down.last_heard > first)
        down.send("done", packets_received=3)
        down.close()  # the queued message leaves before the socket closes
        assert _wait(lambda: up.get("done") is not None)
        assert up.get("done")["packets_received"] == 3
        time.sleep(2 * BEAT_S)
        silent_since = up.last_heard
        time.sleep(4 * BEAT_S)
        assert up.last_heard == silent_since  # a closed peer stops beating
        with pytest.raises(ValueError, match="unknown control message"):
            up.send("hi")
    with pytest.raises(LinkError, match="cannot bind the control socket"):
        with ControlLink(addr, True, "a"), ControlLink(addr, True, "b"):
            pass


def test_interrupt_records_the_signal_and_restores_the_handler():
    before = signal.getsignal(signal.SIGTERM)
    with Interrupt() as intr:
        assert intr.signal is None
        os.kill(os.getpid(), signal.SIGTERM)
        assert _wait(lambda: intr.signal is not None)
    assert intr.signal == "SIGTERM" and EXIT_STATUS["SIGTERM"] == 143 and EXIT_STATUS["SIGINT"] == 130
    assert signal.getsignal(signal.SIGTERM) is before


def _received(frames) -> LinkReceiver:
    rx = LinkReceiver()
    for f in frames:
        rx._accept(parse_frame(f))
    return rx


def test_report_without_end_frame_bounds_the_count_and_gives_no_per():
    tx = LinkTransmitter(100)
    frames = tx.frames(bytes(1000))  # 10 frames
    rep = _received(frames[:3] + frames[5:7]).report(RxStats(), None, 1.0, None)
    assert rep["status"] == INCOMPLETE and not rep["end_frame_heard"]
    assert rep["packets_sent"] is None and rep["per"] is None and rep["packets_lost"] is None
    assert rep["packets_sent_at_least"] == 7 and rep["packets_lost_at_least"] == 2 and rep["lost_seqs"] == [3, 4]
    full = _received(frames[:3] + frames[5:] + [tx.end_frame()]).report(RxStats(), None, 1.0, None)
    assert full["status"] == "complete" and full["packets_sent"] == full["packets_sent_at_least"] == 10
    assert full["packets_lost"] == 2 and full["per"] == 0.2


def test_control_link_to_a_peer_that_never_listens_closes():
    """A DEALER whose peer never answers (a GRC script upstream) must not block once its queue is full."""
    (port,) = free_ports(1)
    link = ControlLink(f"tcp://127.0.0.1:{port}", False, "rx")
    for _ in range(1500):  # more than ZeroMQ's default high-water mark (1000)
        link.send("beat")
    time.sleep(0.3)
    t0 = time.monotonic()
    link.close()
    assert time.monotonic() - t0 < 3 and link.last_heard is None


def test_tx_success_needs_the_end_frame_heard_by_the_receivers_that_count():
    """A ``done`` only says the stream ended: tx fails when the authorized receiver decoded nothing or
    missed the END frame; the eavesdropper's tap may lose everything."""
    from sdr_semcom.link.roles import _check_heard_end

    receipt = bytes(range(16))
    ok = {"packets_received": 12, "packets_sent": 12, "end_frame_heard": True, "receipt": receipt.hex()}
    lost = {"packets_received": 0, "packets_sent": None, "end_frame_heard": False, "receipt": None}
    _check_heard_end({"who": "channel", "receivers": {"auth": ok, "eve": lost}}, "tcp://x", receipt)  # tap lost it all
    with pytest.raises(LinkError, match=r"not heard by auth \(0 packets received\)"):
        _check_heard_end({"who": "channel", "receivers": {"auth": lost, "eve": ok}}, "tcp://x", receipt)
    with pytest.raises(LinkError, match=r"not heard by rx \(auth\)"):
        _check_heard_end({"who": "rx (auth)", **lost}, "tcp://x", receipt)  # rx connected to tx directly
    _check_heard_end({"who": "rx (auth)", **ok}, "tcp://x", receipt)


def test_a_done_without_the_end_receipt_or_from_a_stranger_is_forged():
    """What a process that only connected to the control socket can say: every claim, no receipt."""
    from sdr_semcom.link.roles import ForgedDone, _check_heard_end

    receipt = bytes(range(16))
    claim = {"packets_received": 12, "packets_sent": 12, "end_frame_heard": True}
    for rogue in ({"who": "channel", "receivers": {"auth": claim}},  # a channel's words, no receipt
                  {"who": "channel", "receivers": {"auth": {**claim, "receipt": bytes(16).hex()}}},  # a guess
                  {"who": "channel", "receivers": {"auth": {**claim, "receipt": "not hex"}}},
                  {"who": "channel", "receivers": {"auth": {**claim, "receipt": 7}}},
                  {"who": "channel", "receivers": "all"}, {"who": "channel"},
                  {"who": "mallory", **claim, "receipt": receipt.hex()},  # a name tx does not take done from
                  {"who": ["channel"], **claim}):
        with pytest.raises(ForgedDone):
            _check_heard_end(rogue, "tcp://x", receipt)


def test_end_frame_carries_a_fresh_receipt_the_receiver_reads():
    a, b = LinkTransmitter(100), LinkTransmitter(100)
    assert a.receipt != b.receipt and len(a.receipt) == 16
    frames = a.frames(b"x" * 250)
    rx = _received(frames + [a.end_frame()])
    assert rx.end_receipt == a.receipt and rx.expected_frames == 3
    assert _received(frames).end_receipt is None


def test_control_token_drops_messages_without_it(monkeypatch):
    """With a shared token set, a peer without it is not heard (not even its heartbeats), and the
    token never shows in what was heard."""
    from sdr_semcom.link.control import TOKEN_ENV

    (port,) = free_ports(1)
    addr = f"tcp://127.0.0.1:{port}"
    monkeypatch.setenv(TOKEN_ENV, "lab-secret")
    with ControlLink(addr, True, "tx") as up, ControlLink(addr, False, "rogue", token="guess") as rogue:
        rogue.send("done", end_frame_heard=True)
        assert _wait(lambda: up.rejected >= 2)  # its done and its beats
        assert up.get("done") is None and up.last_heard is None
        with ControlLink(addr, False, "channel") as peer:  # the token from the environment
            peer.send("done", receivers={})
            assert _wait(lambda: up.get("done") is not None)
            assert up.get("done")["who"] == "channel" and "token" not in up.get("done")
            assert _wait(lambda: peer.last_heard is not None)  # and it hears the upstream's beats
