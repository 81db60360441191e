"""``python -m sdr_semcom.channels.sionna_proc``: the link's channel process with Sionna's 3GPP fading.

The same place in the link as ``sdr-semcom channel`` (:func:`sdr_semcom.link.roles.run_channel`)
and the same wire: it PULLs the transmitter's IQ (GNU Radio ZeroMQ messages with tags,
:mod:`.gr_zmq`), applies one :class:`~.sionna_stream.FadingStream` per receiver (authorized and
eavesdropper: independent realisations from their seeds) and PUSHes the result, tags moved with
the signal's delay; beside each data socket it speaks the control protocol of
:mod:`sdr_semcom.link.control` (hello, ready, beats, done, bye). It imports neither GNU Radio nor
the PHY, so it runs under ``.venv-sionna`` (numpy 2) where GNU Radio (numpy 1.24) cannot;
``sdr-semcom channel --engine sionna`` starts it there with the link config's values.

Exit status: 0 once every receiver confirmed it consumed the transmission, 1 when not (the
message names the peer and address), 2 for bad arguments, 130 / 143 on SIGINT / SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field

from ..link.control import ControlLink, LinkError, control_address
from ..link.interrupt import EXIT_STATUS, Interrupt
from ..link.peers import POLL_S, Peer, PeerLost, Timeouts, channel_finished, delivery_summary, drain, undelivered
from . import gr_zmq
from .impairments import OPTIONS, Impairments
from .spec import DEFAULT_CARRIER_HZ, DEFAULT_DELAY_SPREAD_NS, DEFAULT_SPEED_MPS, MODELS, FadingSpec

log = logging.getLogger(__name__)
TX_ADDR, AUTH_ADDR, EVE_ADDR = "tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556", "tcp://127.0.0.1:5557"
#: ZeroMQ high-water mark of the output sockets (messages): a slow receiver holds the channel back
HWM = 64


@dataclass
class Output:
    """One receiver's channel: fading, SNR, seed, the address its PUSH socket binds, and its receiver's
    impairments (clock error, CFO, front end: applied after the fading)."""

    role: str
    address: str
    spec: FadingSpec
    snr_db: float | None
    seed: int
    impairments: Impairments = Impairments()


@dataclass
class _Guard:
    """What flowed on a stream: samples, when last, whether the ``eot`` tag passed (like blocks.EotWatch)."""

    items: int = 0
    last_activity: float | None = None
    eot: bool = False
    pending: list = field(default_factory=list)  # tags not yet sent (their shifted offset lies ahead)


def run(outputs: list[Output], connect: str = TX_ADDR, sample_rate: float = 1e6, timeouts: Timeouts = Timeouts(),
        k: int | None = None) -> dict:
    """Fade the transmitter's stream for each output until every receiver says ``done``.

    Parameters
    ----------
    outputs : list of Output
        The receivers (``auth`` first, ``eve`` optional).
    connect : str
        The transmitter's data address.
    sample_rate : float
        The stream's sample rate, Hz.
    timeouts : Timeouts
        Connect and idle timeouts.
    k : int or None
        Tap grid spacing (None: from the Doppler shift, :func:`.sionna_stream.choose_k`).

    Output
    ------
    dict
        ``samples``, ``outputs`` (role -> address), ``receivers`` (role -> its ``done``), ``interrupted``,
        ``k`` (role -> tap grid spacing), ``cpu_s`` and ``busy_s`` (CPU and wall time spent fading).

    Raises
    ------
    LinkError
        A receiver that did not consume the stream, or an upstream that stopped before its end.
    """
    import numpy as np
    import zmq

    from .sionna_stream import FadingStream

    guard_in, outs, chans = _Guard(), {o.role: o for o in outputs}, {}
    receivers: dict = {}
    cpu = busy = 0.0
    with Interrupt() as intr, ExitStack() as stack:
        up = Peer("transmitter", connect, stack.enter_context(ControlLink(control_address(connect), False, "channel")),
                  "is 'sdr-semcom tx' running?", guard_in)
        up.link.send("hello")
        for o in outputs:  # the warm-up: importing Sionna and torch takes seconds
            chans[o.role] = FadingStream(o.spec, sample_rate, o.snr_db, o.seed, k, o.impairments)
        down = {o.role: Peer(f"receiver ({o.role})", o.address,
                             stack.enter_context(ControlLink(control_address(o.address), True, "channel")),
                             f"start 'sdr-semcom rx --role {o.role}' connected to this address") for o in outputs}
        ctx = zmq.Context()
        stack.callback(ctx.term)
        t0 = time.monotonic()
        try:
            while not all(p.link.get("ready") for p in down.values()) and intr.signal is None:
                for p in (*down.values(), up):
                    p.check(t0, timeouts, "channel")
                time.sleep(POLL_S)
            pull = ctx.socket(zmq.PULL)
            stack.callback(pull.close, 0)
            pull.connect(connect)
            push = {}
            for role, o in outs.items():
                push[role] = ctx.socket(zmq.PUSH)
                push[role].setsockopt(zmq.SNDHWM, HWM)
                stack.callback(push[role].close, 0)
                try:
                    push[role].bind(o.address)
                except zmq.ZMQError as exc:
                    raise LinkError(f"channel: cannot bind {o.address}: {exc}") from exc
            out_guard = {role: _Guard() for role in outs}
            up.link.send("ready")
            while not all(p.link.get("done") for p in down.values()) and intr.signal is None:
                if pull.poll(int(POLL_S * 1000)):
                    c0, w0 = time.process_time(), time.monotonic()
                    offset, tags, samples = gr_zmq.parse(pull.recv(copy=True))
                    x = np.frombuffer(samples, np.complex64)
                    guard_in.items += x.size
                    guard_in.last_activity = time.monotonic()
                    guard_in.eot |= any(t.key == "eot" for t in tags)
                    for role, chan in chans.items():
                        y = chan.process(x)
                        g = out_guard[role]
                        n_in = guard_in.items - x.size  # the chunk's first input sample
                        g.pending += [gr_zmq.Tag(int(round(chan.output_index(n_in + t.offset - offset))), t.pmts, t.key)
                                      for t in tags]
                        now = [t for t in g.pending if t.offset < g.items + y.size]
                        g.pending = [t for t in g.pending if t.offset >= g.items + y.size]
                        _send(push[role], gr_zmq.build(g.items, now, y.tobytes()), down[role], t0, timeouts, intr)
                        g.items += y.size
                        g.last_activity = time.monotonic()
                        g.eot |= any(t.key == "eot" for t in now)
                    cpu += time.process_time() - c0
                    busy += time.monotonic() - w0
                if not guard_in.eot:
                    try:
                        up.check(t0, timeouts, "channel")
                    except PeerLost:
                        drain([guard_in], intr, timeouts.idle_s)
                        raise
                for p in down.values():
                    p.check(t0, timeouts, "channel")
        except LinkError as exc:
            raise undelivered(exc, up, down) from exc
        receivers = channel_finished(up, down, intr.signal)
    return {"samples": guard_in.items, "outputs": {r: o.address for r, o in outs.items()}, "receivers": receivers,
            "interrupted": intr.signal, "k": {r: c.k for r, c in chans.items()}, "cpu_s": cpu, "busy_s": busy}


def _send(sock, msg: bytes, peer: Peer, t0: float, timeouts: Timeouts, intr: Interrupt) -> None:
    """Send ``msg``, waiting while the receiver's queue is full (checking that it is still alive); a
    receiver that already said ``done`` (it heard the end and stopped reading) gets nothing more."""
    import zmq

    while intr.signal is None and peer.link.get("done") is None:
        if sock.poll(int(POLL_S * 1000), zmq.POLLOUT):
            sock.send(msg, zmq.NOBLOCK)
            return
        peer.check(t0, timeouts, "channel")


# ----------------------------------------------------------------------------------- command line
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sdr_semcom.channels.sionna_proc",
                                description="Channel process with Sionna's 3GPP TDL / CDL / Rayleigh fading "
                                            "(started by 'sdr-semcom channel --engine sionna').")
    p.add_argument("--connect", default=TX_ADDR, help="transmitter's address")
    p.add_argument("--auth-bind", default=AUTH_ADDR)
    p.add_argument("--eve-bind", default=EVE_ADDR)
    p.add_argument("--no-eve", action="store_true", help="no eavesdropper tap")
    for prefix, seed in (("", 1), ("eve-", 2)):
        who = "eavesdropper's" if prefix else "authorized link's"
        p.add_argument(f"--{prefix}model", choices=list(MODELS), default=None if prefix else "tdl-a",
                       help=f"{who} fading model" + (" (default: the authorized link's)" if prefix else ""))
        p.add_argument(f"--{prefix}delay-spread", type=float, metavar="NS",
                       default=None if prefix else DEFAULT_DELAY_SPREAD_NS, help=f"{who} RMS delay spread, ns")
        g = p.add_mutually_exclusive_group()
        g.add_argument(f"--{prefix}speed", type=float, metavar="M_S", help=f"{who} receiver speed, m/s "
                       f"(default {DEFAULT_SPEED_MPS:.3f}: 3 km/h)" if not prefix else f"{who} speed, m/s")
        g.add_argument(f"--{prefix}doppler", type=float, metavar="HZ", help=f"{who} maximum Doppler shift, Hz")
        p.add_argument(f"--{prefix}carrier-frequency", type=float, metavar="HZ",
                       default=None if prefix else DEFAULT_CARRIER_HZ, help=f"{who} carrier frequency, Hz")
        p.add_argument(f"--{prefix}snr", type=float, default=None if prefix else 20.0, metavar="DB",
                       help=f"{who} in-band SNR, dB")
        p.add_argument(f"--{prefix}seed", type=int, default=seed, help=f"{who} seed (fading and noise)")
        for field_name, opt in OPTIONS.items():
            p.add_argument(f"--{prefix}{opt}", type=float, dest=f"{prefix.replace('-', '_')}{field_name}",
                           help=f"{who} receiver: {field_name} (after the fading; default none)")
    p.add_argument("--sample-rate", type=float, default=1e6, help="Hz")
    p.add_argument("--k", type=int, help="tap grid spacing, samples (default: from the Doppler shift)")
    p.add_argument("--connect-timeout", type=float, default=15.0)
    p.add_argument("--idle-timeout", type=float, default=5.0)
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def outputs_from_args(a: argparse.Namespace, p: argparse.ArgumentParser) -> list[Output]:
    """The command line's outputs; a bad value is a usage error (exit 2) naming the option."""

    def spec(prefix: str, base: FadingSpec | None) -> FadingSpec:
        get = lambda name: getattr(a, prefix + name)  # noqa: E731
        fc = get("carrier_frequency") if get("carrier_frequency") is not None else base.carrier_frequency_hz
        if get("doppler") is not None:
            speed = FadingSpec.speed_for_doppler(get("doppler"), fc)
        elif get("speed") is not None:
            speed = get("speed")
        else:
            speed = base.speed_mps if base else DEFAULT_SPEED_MPS
        try:
            return FadingSpec(get("model") or base.model,
                              get("delay_spread") if get("delay_spread") is not None else base.delay_spread_ns,
                              float(speed), float(fc))
        except ValueError as exc:
            p.error(f"{'--eve-* ' if prefix else ''}{exc}")

    def impairments(prefix: str, base: Impairments | None) -> Impairments:
        given = {f: getattr(a, prefix + f) for f in OPTIONS if getattr(a, prefix + f) is not None}
        try:
            return Impairments(**{**(base.__dict__ if base else {}), **given})
        except ValueError as exc:
            p.error(f"{'--eve-* ' if prefix else ''}{exc}")

    auth = spec("", None)
    auth_imp = impairments("", None)
    outs = [Output("auth", a.auth_bind, auth, a.snr, a.seed, auth_imp)]
    if not a.no_eve:
        outs.append(Output("eve", a.eve_bind, spec("eve_", auth), a.eve_snr if a.eve_snr is not None else 8.0,
                           a.eve_seed, impairments("eve_", None)))
    for o in outs:
        if o.seed < 1:
            p.error(f"--{'eve-' if o.role == 'eve' else ''}seed must be >= 1, got {o.seed}")
    return outs


def _impairments_note(imp: Impairments) -> str:
    changed = {f: getattr(imp, f) for f in OPTIONS if getattr(imp, f) != getattr(Impairments, f)}
    return "".join(f", {k} {v:g}" for k, v in changed.items())


def main(argv: list[str] | None = None) -> int:
    from . import single_threaded_blas

    single_threaded_blas()  # before numpy
    p = parser()
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO if a.verbose else logging.WARNING, format="%(message)s")
    if a.sample_rate <= 0:
        p.error(f"--sample-rate must be > 0, got {a.sample_rate}")
    outs = outputs_from_args(a, p)
    for o in outs:
        s = o.spec
        print(f"channel (sionna): {o.role}: {s.model}, delay spread {s.delay_spread_ns:g} ns, {s.speed_mps:.3g} m/s "
              f"(Doppler {s.doppler_hz:.3g} Hz at {s.carrier_frequency_hz / 1e9:g} GHz), SNR {o.snr_db} dB, "
              f"seed {o.seed}{_impairments_note(o.impairments)} -> {o.address}", flush=True)
    try:
        r = run(outs, a.connect, a.sample_rate, Timeouts(a.connect_timeout, a.idle_timeout), a.k)
    except LinkError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    if r["interrupted"]:
        print(f"channel: interrupted by {r['interrupted']} after {r['samples']} samples")
        return EXIT_STATUS[r["interrupted"]]
    rate = r["samples"] * len(outs) / r["cpu_s"] / 1e6 if r["cpu_s"] else float("nan")
    print(f"channel: forwarded {r['samples']} samples to {', '.join(r['outputs'].values())}; "
          f"{delivery_summary(r)} (fading: {rate:.2f} MS/s per output per CPU second, K = "
          f"{', '.join(f'{k}: {v}' for k, v in r['k'].items())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
