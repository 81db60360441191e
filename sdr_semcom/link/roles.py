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

import logging
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Protocol

from ..config import LinkConfig
from ..phy.framing import PayloadType
from ..phy.ofdm import RxBurst
from .control import ControlLink, LinkError, control_address
from .endpoints import LinkReceiver
from .interrupt import Interrupt
from .warmup import warm_up

__all__ = ["LinkError", "PeerLost", "PeerTimeout", "Recorder", "Timeouts", "run_channel", "run_rx", "run_tx"]
log = logging.getLogger(__name__)

TX_ADDR = "tcp://127.0.0.1:5555"
AUTH_ADDR = "tcp://127.0.0.1:5556"
EVE_ADDR = "tcp://127.0.0.1:5557"
ZMQ_TIMEOUT_MS = 100
POLL_S = 0.05
#: After an upstream stopped: how long its samples must have stopped flowing before we stop too.
DRAIN_S = 0.5


class PeerTimeout(LinkError):
    """A peer did not show up within the connect timeout."""


class PeerLost(LinkError):
    """A peer went silent, or stopped and said why (``bye``)."""


@dataclass
class Timeouts:
    connect_s: float = 15.0  # until a peer is first heard (counted after this process's warm-up)
    idle_s: float = 5.0  # a peer neither heard nor sending samples, after it was first heard


@dataclass
class _Peer:
    """A neighbour process as one role sees it."""

    name: str  # "transmitter", "receiver (auth)"...
    address: str  # its data address
    link: ControlLink
    hint: str  # what to do when it never shows up
    guard: object | None = None  # EotWatch on the samples from it (upstream peers)

    def last_activity(self) -> float | None:
        stamps = [self.link.last_heard, getattr(self.guard, "last_activity", None)]
        stamps = [s for s in stamps if s is not None]
        return max(stamps) if stamps else None

    def check(self, t0: float, timeouts: Timeouts, what: str) -> None:
        """Raise :class:`PeerLost` / :class:`PeerTimeout` if the peer said bye, went silent, or never came."""
        bye = self.link.get("bye")
        if bye is not None:
            raise PeerLost(f"{what}: the {self.name} on {self.address} stopped: {bye.get('reason', 'no reason given')}")
        last, now = self.last_activity(), time.monotonic()
        if last is None and now - t0 > timeouts.connect_s:
            raise PeerTimeout(f"{what}: no {self.name} on {self.address} within {timeouts.connect_s:.0f} s "
                              f"({self.hint})")
        if last is not None and now - last > timeouts.idle_s:
            raise PeerLost(f"{what}: the {self.name} on {self.address} went silent for {timeouts.idle_s:.0f} s "
                           f"(no samples, no heartbeat on {self.link.address})")


def _push_sink(addr: str):
    from gnuradio import gr, zeromq

    return zeromq.push_sink(gr.sizeof_gr_complex, 1, addr, ZMQ_TIMEOUT_MS, True, -1)


def _pull_source(addr: str):
    from gnuradio import gr, zeromq

    from ..blocks.buffers import big_output_buffer

    src = zeromq.pull_source(gr.sizeof_gr_complex, 1, addr, ZMQ_TIMEOUT_MS, True, -1)
    big_output_buffer(src)  # feeds a Python block: fewer, larger work() calls
    return src


def _drain(guards: list, intr: Interrupt, limit_s: float) -> None:
    """Forward / decode what an upstream that stopped had sent: wait until no guard has seen a
    sample for :data:`DRAIN_S` (at most ``limit_s``, or until interrupted)."""
    t0 = time.monotonic()
    while intr.signal is None and time.monotonic() - t0 < limit_s:
        now = time.monotonic()
        if all(g.last_activity is None or now - g.last_activity > DRAIN_S for g in guards):
            return
        time.sleep(POLL_S)


def _stop(tb) -> None:
    if tb is not None:
        tb.stop()
        tb.wait()


def run_tx(payloads: list[tuple[bytes, PayloadType]], cfg: LinkConfig, bind: str = TX_ADDR,
           timeouts: Timeouts = Timeouts(), semantic: bool = False) -> dict:
    """Transmit messages on a ZeroMQ PUSH socket until the downstream confirms it consumed them.

    Returns the transmitter's figures, with ``delivered`` (the channel's or receiver's ``done``
    message: what each receiver got) and ``interrupted`` (None, ``SIGINT`` or ``SIGTERM``).
    Raises :class:`LinkError` when delivery is not confirmed.
    """
    from gnuradio import gr

    from ..blocks import BurstSource

    with Interrupt() as intr, ControlLink(control_address(bind), True, "tx") as link:
        warm_up("tx", cfg, semantic)
        tb = gr.top_block("semcom_tx")
        src = BurstSource(cfg.modulation, cfg.gap)
        sink = _push_sink(bind)
        tb.connect(src, sink)
        tx = src.transmit(payloads, cfg.mtu)
        down = _Peer("channel or receiver", bind, link, "start 'sdr-semcom channel', or 'sdr-semcom rx' connected "
                     "to this address")
        t0 = time.monotonic()
        tb.start()
        try:
            while link.get("done") is None and intr.signal is None:
                try:
                    down.check(t0, timeouts, "tx")
                except PeerTimeout:
                    if sink.nitems_read(0):
                        raise PeerTimeout(f"tx: a peer took {sink.nitems_read(0)} samples from {bind} but never "
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
        else:
            _check_heard_end(link.get("done"), bind)
        taken = int(sink.nitems_read(0))
    return {"frames_sent": tx.frames_sent, "payload_bytes": tx.payload_bytes, "samples": taken,
            "airtime_s": taken / cfg.sample_rate, "wall_s": time.monotonic() - t0, "address": bind,
            "delivered": link.get("done"), "interrupted": intr.signal}


def _check_heard_end(done: dict, bind: str) -> None:
    """A ``done`` says the stream's end passed, not that anything was decoded: the transmission is
    delivered only when the receivers that count (every one but the eavesdropper's tap, which may
    lose it all by design) heard the END frame; :class:`LinkError` otherwise."""
    per_rx = done.get("receivers") or {done.get("who", "receiver"): done}
    required = {name: r for name, r in per_rx.items() if name != "eve"} or per_rx
    missed = [f"{name} ({(r or {}).get('packets_received', 0)} packets received)"
              for name, r in required.items() if not (r or {}).get("end_frame_heard")]
    if missed:
        raise LinkError(f"tx: the stream from {bind} ended, but the END frame was not heard by "
                        f"{', '.join(missed)}: delivery not confirmed")


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
        up = _Peer("transmitter", connect, links.enter_context(ControlLink(control_address(connect), False, "channel")),
                   "is 'sdr-semcom tx' running?")
        up.link.send("hello")
        warm_up("channel", cfg)
        down = {role: _Peer(f"receiver ({role})", addr,
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
                        _drain([guard_in] + [g for _, g, _ in keep], intr, timeouts.idle_s)
                        raise
                for p in down.values():
                    p.check(t0, timeouts, "channel")
                time.sleep(POLL_S)
        except LinkError as exc:
            late = [r for r, p in down.items() if not p.link.get("done")]
            reason = f"{exc}; not delivered to: {', '.join(late)}" if late else str(exc)
            for p in (up, *down.values()):
                p.link.send("bye", reason=reason)
            raise LinkError(reason) from exc
        finally:
            _stop(tb)
        receivers = {r: p.link.get("done") for r, p in down.items()}
        if intr.signal:
            for p in (up, *down.values()):
                p.link.send("bye", reason=f"channel interrupted ({intr.signal})")
        else:
            up.link.send("done", receivers=receivers)
    return {"samples": guard_in.items if guard_in else 0, "outputs": {r: a for r, (_, a) in outs.items()},
            "receivers": receivers, "interrupted": intr.signal}


class Recorder(Protocol):
    """What :func:`run_rx` needs of a recorder beside its receiver (``capture.session.Recorder``).

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


def run_rx(cfg: LinkConfig, role: str = "auth", connect: str | None = None,
           timeouts: Timeouts = Timeouts(), semantic: bool = False,
           recorder: Recorder | None = None) -> tuple[LinkReceiver, dict]:
    """Receive until the end of transmission; returns the receiver and its report.

    The report says ``warning`` (why the stream ended before its ``eot`` tag) and
    ``interrupted`` (None, ``SIGINT`` or ``SIGTERM``); what was received is in it either way.
    Raises :class:`PeerTimeout` when nothing was heard within the connect timeout.
    ``recorder`` (``sdr-semcom capture``): also fed every sample and burst; the run ends when it
    stops (``warning`` then says why).
    """
    from gnuradio import gr

    from ..blocks import BurstSink, EotWatch

    connect = connect or (AUTH_ADDR if role == "auth" else EVE_ADDR)
    what = f"rx ({role})"
    receiver = LinkReceiver(role)
    with Interrupt() as intr, ControlLink(control_address(connect), False, what) as link:
        link.send("hello")
        warm_up("rx", cfg, semantic)
        tb = gr.top_block(f"semcom_rx_{role}")
        src = _pull_source(connect)
        guard = EotWatch()
        if recorder is None:
            sink = BurstSink(on_burst=receiver.push)
        else:
            def on_burst(b: RxBurst) -> None:
                receiver.push(b)
                recorder.note(b)

            sink = BurstSink(on_burst=on_burst)
            tb.connect(guard, recorder.block)
        tb.connect(src, guard, sink)
        up = _Peer("upstream process", connect, link, "is the upstream process running?", guard)
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
            _drain([guard], intr, timeouts.idle_s)
        except PeerTimeout as exc:
            link.send("bye", reason=str(exc))
            raise
        finally:
            if recorder is not None:
                recorder.wait_for(guard.items)
            _stop(tb)
            sink.flush()
        receiver.finish()
        report = receiver.report(sink.receiver.stats, None, guard.items / cfg.sample_rate, None)
        if cfg.states(f"{role}.snr_db"):  # what the config says the channel runs at; the receiver cannot know
            report["snr_configured_db"] = getattr(cfg, role).snr_db
        report.update(address=connect, warning=warning, stream_ended=sink.eot.is_set(), interrupted=intr.signal)
        if report["stream_ended"]:
            link.send("done", **{k: report[k] for k in ("packets_received", "packets_sent", "end_frame_heard")})
        else:
            link.send("bye", reason=warning or f"{what} interrupted ({intr.signal})")
    if warning:
        log.warning(warning)
    return receiver, report

