"""A neighbour process as a link role sees it: timeouts, silence, ``bye`` (pure Python: the GNU Radio
roles in :mod:`.roles` and the Sionna channel process, :mod:`sdr_semcom.channels.sionna_proc`, share it)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from .control import ControlLink, LinkError

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
class Peer:
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


def drain(guards: list, intr, limit_s: float) -> None:
    """Forward / decode what an upstream that stopped had sent: wait until no guard (anything with a
    ``last_activity`` stamp) has seen a sample for :data:`DRAIN_S` (at most ``limit_s``, or until
    ``intr`` (an :class:`~.interrupt.Interrupt`) has a signal)."""
    t0 = time.monotonic()
    while intr.signal is None and time.monotonic() - t0 < limit_s:
        now = time.monotonic()
        if all(g.last_activity is None or now - g.last_activity > DRAIN_S for g in guards):
            return
        time.sleep(POLL_S)


def delivery_summary(done: dict | None) -> str:
    """What each receiver got, from a ``done`` control message (the channel's, or a receiver's own)."""
    if not done:
        return "delivery not confirmed"
    per_rx = done.get("receivers") or {done.get("who", "receiver"): done}
    parts = []
    for name, r in per_rx.items():
        sent = r.get("packets_sent")
        parts.append(f"{name} received {r.get('packets_received')}/{sent if sent is not None else '?'}")
    return "delivered: " + ", ".join(parts)


def undelivered(exc: LinkError, up: Peer, down: dict[str, Peer]) -> LinkError:
    """A channel process's failure: says ``bye`` to its transmitter and receivers, naming the receivers
    that had not said ``done``, and returns the :class:`LinkError` to raise."""
    late = [r for r, p in down.items() if not p.link.get("done")]
    reason = f"{exc}; not delivered to: {', '.join(late)}" if late else str(exc)
    for p in (up, *down.values()):
        p.link.send("bye", reason=reason)
    return LinkError(reason)


def channel_finished(up: Peer, down: dict[str, Peer], signal: str | None) -> dict:
    """A channel process's end: forwards its receivers' ``done`` messages (with their END receipts) to
    the transmitter, or says ``bye`` to everyone when interrupted; returns receiver -> its ``done``."""
    receivers = {r: p.link.get("done") for r, p in down.items()}
    if signal:
        for p in (up, *down.values()):
            p.link.send("bye", reason=f"channel interrupted ({signal})")
    else:
        up.link.send("done", receivers=receivers)
    return receivers
