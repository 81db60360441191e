"""TX, channel and RX as separate processes joined by ZeroMQ PUSH/PULL sockets.

Topology (defaults, all on 127.0.0.1)::

    tx  --PUSH bind :5555-->  channel  --PUSH bind :5556-->  rx (auth)
                                       --PUSH bind :5557-->  rx --role eve

Beside each data socket runs a control socket (data port + 1000, see
:mod:`~sdr_semcom.link.control`, which says why GNU Radio's ZeroMQ blocks alone cannot tell
a sender that its samples were consumed). What each role guarantees:

- every role compiles its kernels (:mod:`~sdr_semcom.link.warmup`) before it connects its data
  socket, and its peers hear its heartbeats meanwhile;
- the channel starts pulling from the transmitter only once each of its receivers is ready,
  so a receiver started late loses nothing;
- a receiver says ``done`` once the ``eot`` stream tag has come through; the channel says
  ``done`` once every receiver has; ``tx`` returns only then (:class:`LinkError` otherwise,
  naming what was not delivered);
- a peer that never shows up (``connect_s``, counted from the end of the warm-up), or is
  neither heard nor sending samples for ``idle_s``, or says ``bye``, ends the process with
  a message naming its address; a receiver still returns what it got (``warning`` in its
  report), and so does a role stopped by SIGINT / SIGTERM (``interrupted`` in its figures).
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from contextlib import ExitStack
from typing import TYPE_CHECKING, Protocol

from ..config import LinkConfig
from ..phy.framing import PayloadType
from ..phy.ofdm import RxBurst
from .control import ControlLink, LinkError, control_address
from .endpoints import LinkReceiver
from .interrupt import Interrupt
from .peers import POLL_S, Peer, PeerLost, PeerTimeout, Timeouts, channel_finished, drain, undelivered
from .warmup import warm_up
from ..radio.base import RxFrontEnd, TxFrontEnd
from ..radio.zmq import ZmqRx

if TYPE_CHECKING:
    from ..calibration.calfile import CalibrationFile

__all__ = ["ForgedDone", "LinkError", "PeerLost", "PeerTimeout", "Recorder", "Timeouts", "run_channel",
           "run_receivers", "run_rx", "run_tx"]
log = logging.getLogger(__name__)

TX_ADDR = "tcp://127.0.0.1:5555"
AUTH_ADDR = "tcp://127.0.0.1:5556"
EVE_ADDR = "tcp://127.0.0.1:5557"
#: The peers whose ``done`` the transmitter takes (``who``): the channel, or a receiver connected to it.
DONE_FROM = ("channel", "rx (auth)", "rx (eve)")


class ForgedDone(LinkError):
    """A ``done`` that is not the receivers' word: from a peer that may not send one, or claiming
    the END frame without quoting its receipt. The transmitter ignores it and keeps waiting."""


def _push_sink(addr: str):
    from ..radio.zmq import push_sink

    return push_sink(addr)


def _pull_source(addr: str):
    from ..radio.zmq import pull_source

    return pull_source(addr)


def _stop(tb) -> None:
    if tb is not None:
        tb.stop()
        tb.wait()


def _tx_graph(cfg: LinkConfig, front: TxFrontEnd, calibration: "CalibrationFile | None" = None):
    """The transmitter's flowgraph, whatever the front end: bursts -> (the calibration's CFO rotator) -> front end."""
    from gnuradio import gr

    from ..blocks import BurstSource

    tb = gr.top_block("semcom_tx")
    src = BurstSource(cfg.modulation, cfg.gap, burst_tags=front.burst_tags, idle_fill=front.idle_fill)
    rotator = None
    if calibration is not None:
        from ..calibration.apply import tx_rotator

        rotator = tx_rotator(calibration, cfg.sample_rate)  # None when the file's correction is 0
    if rotator is None:
        front.connect(tb, src)
    else:  # rotator_cc keeps the stream tags (tx_sob / tx_eob, eot) on their samples
        tb.connect(src, rotator)
        front.connect(tb, rotator)
    return tb, src


def run_tx(payloads: list[tuple[bytes, PayloadType]], cfg: LinkConfig, bind: str = TX_ADDR,
           timeouts: Timeouts = Timeouts(), semantic: bool = False, front: TxFrontEnd | None = None,
           calibration: "CalibrationFile | None" = None) -> dict:
    """Transmit messages through a front end (default: a ZeroMQ PUSH socket at ``bind``).

    ``calibration`` (a :class:`~sdr_semcom.calibration.calfile.CalibrationFile`): the output is
    shifted by its ``cfo_correction_hz`` (a rotator between the burst source and the front end,
    whichever it is; the gains are the front end's business: ``commands.calibrated_radio``).

    Over ZeroMQ it runs until the downstream confirms it consumed them; through a radio or into a
    recording, until the last sample is out (nobody can confirm delivery: ``delivered`` is None).
    Returns the transmitter's figures, with ``delivered`` (the channel's or receiver's ``done``
    message: what each receiver got), ``interrupted`` (None, ``SIGINT`` or ``SIGTERM``) and
    ``radio`` (the front end's counters: a USRP's underflows, late packets).
    Raises :class:`LinkError` when delivery over ZeroMQ is not confirmed.
    """
    if front is None:
        from ..radio.zmq import ZmqTx

        front = ZmqTx(bind)
    if not front.peer:
        return _run_tx_unconfirmed(payloads, cfg, front, semantic, calibration)
    with Interrupt() as intr, ControlLink(control_address(front.address), True, "tx") as link:
        warm_up("tx", cfg, semantic)
        tb, src = _tx_graph(cfg, front, calibration)
        tx = src.transmit(payloads, cfg.mtu)
        down = Peer("channel or receiver", front.address, link, "start 'sdr-semcom channel', or 'sdr-semcom rx' "
                    "connected to this address")
        t0 = time.monotonic()
        tb.start()
        done = rejected = forged = None
        try:
            while intr.signal is None:
                heard = link.get("done")
                if heard is not None and heard is not rejected:
                    try:
                        _check_heard_end(heard, front.address, tx.receipt)
                        done = heard
                        break
                    except ForgedDone as exc:  # not our receivers' word: wait a while for theirs
                        log.warning("%s", exc)
                        rejected, forged = heard, (exc, time.monotonic())
                if forged is not None and time.monotonic() - forged[1] > timeouts.connect_s:
                    raise ForgedDone(f"{forged[0]}; no other 'done' within {timeouts.connect_s:.0f} s")
                try:
                    down.check(t0, timeouts, "tx")
                except PeerTimeout:
                    if front.taken():
                        raise PeerTimeout(f"tx: a peer took {front.taken()} samples from {front.address} but never "
                                          f"answered on {link.address}: delivery not confirmed (only sdr-semcom "
                                          "channel / rx processes answer; GRC scripts don't)") from None
                    raise
                time.sleep(POLL_S)
        except LinkError as exc:
            link.send("bye", reason=str(exc))
            raise LinkError(f"{exc}; {tx.frames_sent} packets not confirmed as delivered") from exc
        finally:
            _stop(tb)
        if intr.signal:
            link.send("bye", reason=f"tx interrupted ({intr.signal})")
        taken = front.taken()
    return {"frames_sent": tx.frames_sent, "payload_bytes": tx.payload_bytes, "samples": taken,
            "airtime_s": taken / cfg.sample_rate, "wall_s": time.monotonic() - t0, "address": front.address,
            "delivered": done, "interrupted": intr.signal, "radio": front.counters()}


def _run_tx_unconfirmed(payloads, cfg: LinkConfig, front: TxFrontEnd, semantic: bool,
                        calibration: "CalibrationFile | None" = None) -> dict:
    """:func:`run_tx` through a radio or into a recording: runs until the stream's last sample is out."""
    with Interrupt() as intr:
        warm_up("tx", cfg, semantic)
        tb, src = _tx_graph(cfg, front, calibration)
        tx = src.transmit(payloads, cfg.mtu)
        t0 = time.monotonic()
        tb.start()
        try:
            while not src.finished and intr.signal is None:
                time.sleep(POLL_S)
        finally:
            if intr.signal is not None:
                tb.stop()
            tb.wait()  # the front end takes what the source wrote before it ended
            front.close()
        written = int(src.nitems_written(0))
    return {"frames_sent": tx.frames_sent, "payload_bytes": tx.payload_bytes, "samples": written,
            "airtime_s": written / cfg.sample_rate, "wall_s": time.monotonic() - t0, "address": front.description,
            "delivered": None, "interrupted": intr.signal, "radio": front.counters()}


def _check_heard_end(done: dict, bind: str, receipt: bytes) -> None:
    """A ``done`` says the stream's end passed, not that anything was decoded: the transmission is
    delivered only when the receivers that count (every one but the eavesdropper's tap, which may
    lose it all by design) heard the END frame, and prove it by quoting its random ``receipt``
    (:class:`~sdr_semcom.link.endpoints.LinkTransmitter`); :class:`LinkError` otherwise.

    The ``done`` must come from a peer that may send one (:data:`DONE_FROM`): a process that only
    connected to the control socket and said ``done`` never decoded the stream, so it has no receipt
    (and a name is no proof: the receipt is).
    """
    who = done.get("who")
    if not isinstance(who, str) or who not in DONE_FROM:
        raise ForgedDone(f"tx: a 'done' from {who!r} on the control socket of {bind}, not from a channel or receiver "
                         f"({', '.join(DONE_FROM)}): delivery not confirmed")
    per_rx = done.get("receivers") if who == "channel" else {who: done}
    if not isinstance(per_rx, dict) or not per_rx:
        raise ForgedDone(f"tx: the channel's 'done' for {bind} names no receiver: delivery not confirmed")
    required = {name: r for name, r in per_rx.items() if name not in ("eve", "rx (eve)")} or per_rx
    missed, forged = [], []
    for name, r in required.items():
        r = r if isinstance(r, dict) else {}
        if not r.get("end_frame_heard"):
            missed.append(f"{name} ({r.get('packets_received', 0)} packets received)")
        elif not _quotes(r.get("receipt"), receipt):
            forged.append(str(name))
    if missed:
        raise LinkError(f"tx: the stream from {bind} ended, but the END frame was not heard by "
                        f"{', '.join(missed)}: delivery not confirmed")
    if forged:
        raise ForgedDone(f"tx: {', '.join(forged)} said the END frame was heard but did not quote its receipt "
                         f"(a peer that never decoded the stream from {bind}, or an older sdr-semcom?): "
                         "delivery not confirmed")


def _quotes(quoted, receipt: bytes) -> bool:
    """Whether a ``done``'s ``receipt`` (hex) is the END frame's, compared in constant time."""
    if not isinstance(quoted, str):
        return False
    try:
        return hmac.compare_digest(bytes.fromhex(quoted), receipt)
    except ValueError:
        return False


def run_channel(cfg: LinkConfig, connect: str = TX_ADDR, auth_bind: str = AUTH_ADDR,
                eve_bind: str | None = EVE_ADDR, timeouts: Timeouts = Timeouts()) -> dict:
    """Apply ``cfg.auth`` (and ``cfg.eve``) to the transmitter's samples and forward them.

    Returns ``samples``, ``outputs`` (role -> address), ``receivers`` (role -> its ``done``
    message) and ``interrupted``. Raises :class:`LinkError` naming a receiver that did not
    consume the stream, or an upstream that stopped before its end.
    """
    from gnuradio import gr

    from ..blocks import EotWatch
    from ..blocks.buffers import big_output_buffer
    from ..blocks.channel_block import make_channel_block

    outs = {"auth": (cfg.auth, auth_bind)}
    if eve_bind:
        outs["eve"] = (cfg.eve, eve_bind)
    tb = guard_in = None
    keep = []  # references to the blocks: GNU Radio must not outlive its Python blocks
    with Interrupt() as intr, ExitStack() as links:
        up = Peer("transmitter", connect, links.enter_context(ControlLink(control_address(connect), False, "channel")),
                   "is 'sdr-semcom tx' running?")
        up.link.send("hello")
        warm_up("channel", cfg)
        down = {role: Peer(f"receiver ({role})", addr,
                            links.enter_context(ControlLink(control_address(addr), True, "channel")),
                            f"start 'sdr-semcom rx --role {role}' connected to this address")
                for role, (_, addr) in outs.items()}
        t0 = time.monotonic()
        try:
            while not all(p.link.get("ready") for p in down.values()) and intr.signal is None:
                for p in down.values():
                    p.check(t0, timeouts, "channel")
                up.check(t0, timeouts, "channel")
                time.sleep(POLL_S)
            if intr.signal is None:
                tb = gr.top_block("semcom_channel")
                src = _pull_source(connect)
                guard_in = up.guard = EotWatch()
                tb.connect(src, guard_in)
                for role, (spec, addr) in outs.items():
                    chan, guard, sink = make_channel_block(spec), EotWatch(), _push_sink(addr)
                    big_output_buffer(chan)
                    tb.connect(guard_in, chan, guard, sink)
                    keep.append((chan, guard, sink))
                tb.start()
                up.link.send("ready")
            while not all(p.link.get("done") for p in down.values()) and intr.signal is None:
                if not guard_in.eot.is_set():
                    try:
                        up.check(t0, timeouts, "channel")
                    except PeerLost:  # what it sent still goes out: the receivers write it
                        drain([guard_in] + [g for _, g, _ in keep], intr, timeouts.idle_s)
                        raise
                for p in down.values():
                    p.check(t0, timeouts, "channel")
                time.sleep(POLL_S)
        except LinkError as exc:
            raise undelivered(exc, up, down) from exc
        finally:
            _stop(tb)
        receivers = channel_finished(up, down, intr.signal)
    return {"samples": guard_in.items if guard_in else 0, "outputs": {r: a for r, (_, a) in outs.items()},
            "receivers": receivers, "interrupted": intr.signal}


class Recorder(Protocol):
    """What a receiver chain needs of a recorder beside its receiver (``capture.session.Recorder``).

    ``block``: a GNU Radio sink of complex64 fed the same samples as the receiver, from the first;
    ``note(burst)``: called with every :class:`RxBurst` the receiver returns; ``tick()``: called
    every poll (progress); ``wait_for(items)``: returns once the recorder has taken ``items``
    samples (or soon after); ``stopped``: set when the recorder cannot or need not go on (its sample
    limit, a full disk), ``stop_reason`` says why.
    """

    block: object
    stopped: threading.Event
    stop_reason: str | None

    def note(self, burst: RxBurst) -> None: ...

    def tick(self) -> None: ...

    def wait_for(self, items: int) -> None: ...


def _rx_chain(tb, src, role: str, calibration: "CalibrationFile | None" = None, recorder: Recorder | None = None):
    """One receiver chain, whatever the front end: samples -> watch (activity, ``eot``) -> burst receiver
    (with a calibration file: its own :class:`~sdr_semcom.calibration.apply.CorrectingReceiver`).

    ``recorder`` (``sdr-semcom capture``): fed the watch's samples beside the burst receiver, and
    told every burst it returns.
    """
    from ..blocks import BurstSink, EotWatch

    burst_receiver = None
    if calibration is not None:
        from ..calibration.apply import rx_receiver

        burst_receiver = rx_receiver(calibration)  # None when the file's rx_front_end is false
    receiver = LinkReceiver(role)
    guard = EotWatch()
    on_burst = receiver.push
    if recorder is not None:
        def on_burst(b: RxBurst) -> None:
            receiver.push(b)
            recorder.note(b)

        tb.connect(guard, recorder.block)
    sink = BurstSink(on_burst=on_burst, receiver=burst_receiver)
    tb.connect(src, guard, sink)
    return receiver, guard, sink


def _rx_report(cfg: LinkConfig, role: str, receiver: LinkReceiver, guard, sink) -> dict:
    receiver.finish()
    report = receiver.report(sink.receiver.stats, None, guard.items / cfg.sample_rate, None)
    if cfg.states(f"{role}.snr_db"):  # what the config says the channel runs at; the receiver cannot know
        report["snr_configured_db"] = getattr(cfg, role).snr_db
    return report


def run_rx(cfg: LinkConfig, role: str = "auth", connect: str | None = None,
           timeouts: Timeouts = Timeouts(), semantic: bool = False,
           calibration: "CalibrationFile | None" = None,
           recorder: Recorder | None = None) -> tuple[LinkReceiver, dict]:
    """Receive from a ZeroMQ upstream until the end of transmission; returns the receiver and its report.

    ``calibration`` (a :class:`~sdr_semcom.calibration.calfile.CalibrationFile`): the burst receiver
    first removes its DC offset and IQ imbalance (when its ``rx_front_end`` says so).

    The report says ``warning`` (why the stream ended before its ``eot`` tag) and
    ``interrupted`` (None, ``SIGINT`` or ``SIGTERM``); what was received is in it either way.
    Raises :class:`PeerTimeout` when nothing was heard within the connect timeout.
    ``recorder`` (``sdr-semcom capture``): also fed every sample and burst; the run ends when it
    stops (``warning`` then says why).
    (Radios and recordings: :func:`run_receivers`.)
    """
    from gnuradio import gr

    connect = connect or (AUTH_ADDR if role == "auth" else EVE_ADDR)
    what = f"rx ({role})"
    with Interrupt() as intr, ControlLink(control_address(connect), False, what) as link:
        link.send("hello")
        warm_up("rx", cfg, semantic)
        tb = gr.top_block(f"semcom_rx_{role}")
        (src,) = ZmqRx(connect).sources(tb)
        receiver, guard, sink = _rx_chain(tb, src, role, calibration, recorder)
        up = Peer("upstream process", connect, link, "is the upstream process running?", guard)
        warning = None
        t0 = time.monotonic()
        tb.start()
        link.send("ready")
        try:
            while not sink.eot.is_set() and intr.signal is None:
                if recorder is not None:
                    recorder.tick()
                    if recorder.stopped.is_set():
                        warning = f"{what}: {recorder.stop_reason}"
                        break
                up.check(t0, timeouts, what)
                time.sleep(POLL_S)
        except PeerLost as exc:
            warning = str(exc)
            drain([guard], intr, timeouts.idle_s)
        except PeerTimeout as exc:
            link.send("bye", reason=str(exc))
            raise
        finally:
            if recorder is not None:
                recorder.wait_for(guard.items)
            _stop(tb)
            sink.flush()
        report = _rx_report(cfg, role, receiver, guard, sink)
        report.update(address=connect, warning=warning, stream_ended=sink.eot.is_set(), interrupted=intr.signal)
        if report["stream_ended"]:
            receipt = receiver.end_receipt.hex() if receiver.end_receipt is not None else None
            link.send("done", receipt=receipt,
                      **{k: report[k] for k in ("packets_received", "packets_sent", "end_frame_heard")})
        else:
            link.send("bye", reason=warning or f"{what} interrupted ({intr.signal})")
    if warning:
        log.warning(warning)
    return receiver, report


#: A radio receiver: once one chain heard the END frame, how long the others may take to hear it too.
END_GRACE_S = 2.0


def run_receivers(cfg: LinkConfig, roles: tuple[str, ...], front: RxFrontEnd, timeouts: Timeouts = Timeouts(),
                  semantic: bool = False, on_ready=None, calibration: "CalibrationFile | None" = None,
                  recorder: Recorder | None = None) -> dict[str, tuple[LinkReceiver, dict]]:
    """Receive through a radio or from recordings, one chain per role; returns role -> (receiver, report).

    A recording ends at its end (``stream_ended``). A radio streams forever: reception ends when
    every chain heard the END frame (or :data:`END_GRACE_S` after the first did: ``stream_ended``
    for all, the chain that missed it says so in its ``status``); otherwise when no burst decoded
    for ``timeouts.idle_s`` after the first, or none within ``timeouts.connect_s`` (``warning``
    says which; what arrived is in the report). Each report's ``radio`` holds the
    front end's counters (a USRP's ``overflows``). ``on_ready`` (a callable taking a line) is told
    when the receivers listen: the moment to start the transmitter. ``calibration``: as
    :func:`run_rx`'s, for every chain (each its own correcting burst receiver). ``recorder``
    (``sdr-semcom capture``): fed the first chain's samples and bursts; reception also ends when it
    stops (``warning`` says why).
    """
    from gnuradio import gr

    with Interrupt() as intr:
        warm_up("rx", cfg, semantic)
        tb = gr.top_block("semcom_rx_" + "_".join(roles))
        chains = {}
        heard: list[float] = []  # time of the last decoded burst, any chain

        def watch(push):
            def on_burst(b):
                push(b)
                if b.payload is not None:
                    heard[:] = [time.monotonic()]
            return on_burst

        for i, (role, src) in enumerate(zip(roles, front.sources(tb))):
            receiver, guard, sink = _rx_chain(tb, src, role, calibration, recorder if i == 0 else None)
            sink.on_burst = watch(sink.on_burst)
            chains[role] = (receiver, guard, sink)
        warning = None
        t0 = time.monotonic()
        first_end = None
        tb.start()
        if on_ready is not None:
            on_ready(f"rx ({', '.join(roles)}): listening on {front.description}")
        try:
            while intr.signal is None:
                time.sleep(POLL_S)
                now = time.monotonic()
                if recorder is not None:
                    recorder.tick()
                    if recorder.stopped.is_set():
                        warning = f"rx ({', '.join(roles)}): {recorder.stop_reason}"
                        break
                if front.lengths is not None:
                    if all(g.items >= n for (_, g, _), n in zip(chains.values(), front.lengths)):
                        break
                    continue
                ends = [r.expected_frames is not None for r, _, _ in chains.values()]
                if all(ends):
                    break
                if any(ends):
                    first_end = first_end or now
                    if now - first_end > END_GRACE_S:
                        break
                elif heard and now - heard[0] > timeouts.idle_s:
                    warning = (f"rx: no burst decoded for {timeouts.idle_s:.0f} s on {front.description} and no "
                               "END frame: the transmitter stopped, or the link faded")
                    break
                elif not heard and now - t0 > timeouts.connect_s:
                    warning = (f"rx: no burst decoded within {timeouts.connect_s:.0f} s on {front.description}: "
                               "is the transmitter on, on the same --freq and --rate? (hw_setup.md, troubleshooting)")
                    break
        finally:
            if recorder is not None:
                recorder.wait_for(next(iter(chains.values()))[1].items)
            if front.lengths is not None and intr.signal is None and warning is None:
                tb.wait()  # a recording's sources end by themselves: every sample gets decoded
            else:
                _stop(tb)
            for _, _, sink in chains.values():
                sink.flush()
        # the transmission ended for this process when a recording ran out, or any chain heard the
        # END frame (a chain that missed it says so in its report's status)
        ended = (front.lengths is not None and intr.signal is None and warning is None) or \
            any(r.expected_frames is not None for r, _, _ in chains.values())
        out = {}
        for role, (receiver, guard, sink) in chains.items():
            report = _rx_report(cfg, role, receiver, guard, sink)
            report.update(address=front.description, warning=None if ended else warning, stream_ended=ended,
                          interrupted=intr.signal, radio={"kind": front.kind, **front.counters()})
            out[role] = (receiver, report)
    if warning:
        log.warning(warning)
    return out
