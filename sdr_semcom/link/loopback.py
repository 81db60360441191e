"""The whole link in one process: TX -> (auth channel -> RX, eve channel -> RX)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterable

from ..config import LinkConfig
from ..phy.framing import Message, PayloadType
from .endpoints import LinkReceiver

ROLES = ("auth", "eve")


@dataclass
class RoleResult:
    """What one receiver got."""

    messages: list[Message]
    report: dict
    receiver: LinkReceiver = field(repr=False)


@dataclass
class LoopbackResult:
    tx: dict
    rx: dict[str, RoleResult]


def _as_messages(payloads: Iterable[bytes | tuple[bytes | list[bytes], PayloadType]]
                 ) -> list[tuple[bytes | list[bytes], PayloadType]]:
    return [p if isinstance(p, tuple) else (p, PayloadType.RAW) for p in payloads]


def run_loopback(
    payloads: Iterable[bytes | tuple[bytes, PayloadType]],
    cfg: LinkConfig | None = None,
    roles: Iterable[str] = ROLES,
) -> LoopbackResult:
    """Send messages through GNU Radio flowgraph TX -> channel(s) -> receiver(s).

    Parameters
    ----------
    payloads : iterable of bytes or (bytes or list of bytes, PayloadType)
        The messages; each is fragmented into frames of at most ``cfg.mtu`` bytes (a list of
        chunks is sent one chunk per frame).
    cfg : LinkConfig
        Modulation, framing and the channel of each role (``cfg.auth``, ``cfg.eve``).
    roles : iterable of str
        Which receivers to run: ``auth`` and/or ``eve``.

    Output
    ------
    :class:`LoopbackResult` with the transmitter's figures and, per role, the
    messages received (incomplete ones with their loss map) and a report.
    """
    from gnuradio import gr

    from ..blocks import BurstSink, BurstSource
    from ..blocks.buffers import big_output_buffer
    from ..blocks.channel_block import make_channel_block

    cfg = cfg or LinkConfig()
    roles = tuple(roles)
    for role in roles:
        if role not in ROLES:
            raise ValueError(f"unknown role '{role}' (auth, eve)")
    tb = gr.top_block("semcom_loopback")
    src = BurstSource(cfg.modulation, cfg.gap)
    tx = src.transmit(_as_messages(payloads), cfg.mtu)
    blocks = {}  # keep references: GNU Radio must not outlive its Python blocks
    for role in roles:
        receiver = LinkReceiver(role)
        chan = make_channel_block(getattr(cfg, role))
        big_output_buffer(chan)  # fewer, larger work() calls into the Python sink
        sink = BurstSink(on_burst=receiver.push)
        tb.connect(src, chan, sink)
        blocks[role] = (receiver, chan, sink)
    t0 = time.perf_counter()
    tb.run()
    wall = time.perf_counter() - t0
    airtime = src.nitems_written(0) / cfg.sample_rate
    tx_report = {
        "frames_sent": tx.frames_sent,
        "payload_bytes": tx.payload_bytes,
        "samples": int(src.nitems_written(0)),
        "airtime_s": airtime,
        "wall_s": wall,
        "modulation": cfg.mod.name,
    }
    rx = {}
    for role, (receiver, _chan, sink) in blocks.items():
        msgs = receiver.finish()
        spec = getattr(cfg, role)
        report = receiver.report(sink.receiver.stats, tx.frames_sent, airtime, spec.snr_db)
        rx[role] = RoleResult(msgs, report, receiver)
    return LoopbackResult(tx_report, rx)
