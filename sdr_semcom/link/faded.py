"""The link through Sionna's fading channel without GNU Radio's scheduler: frames -> bursts -> faded in
``.venv-sionna`` (:func:`sdr_semcom.channels.launch.fade_offline`) -> receiver. For benchmarks
(``codec_bench.py --channel``) that compare payloads through the same fading as the link's processes."""

from __future__ import annotations

import tempfile
import time
from typing import Iterable

import numpy as np

from ..channels.spec import FadingSpec
from ..config import LinkConfig
from ..phy.framing import PayloadType
from .endpoints import LinkReceiver, LinkTransmitter
from .loopback import LoopbackResult, RoleResult, _as_messages

#: zeros after the last burst: the channel's delay and the receiver's look-ahead
TAIL = 4096


def run_faded(payloads: Iterable[bytes | tuple[bytes, PayloadType]], cfg: LinkConfig, fading: FadingSpec,
              snr_db: float, seed: int) -> LoopbackResult:
    """Send messages through one fading channel to the authorized receiver (PHY in numpy, no flowgraph).

    Parameters
    ----------
    payloads : iterable of bytes or (bytes or list of bytes, PayloadType)
        As for :func:`~sdr_semcom.link.loopback.run_loopback`.
    cfg : LinkConfig
        Modulation, ``mtu``, ``gap``, ``sample_rate`` (its channel specs are not used).
    fading : FadingSpec
        Model, delay spread, speed, carrier frequency.
    snr_db : float
        In-band SNR (the burst power averaged over the fading).
    seed : int
        The channel realisation and noise.

    Output
    ------
    :class:`~sdr_semcom.link.loopback.LoopbackResult`: ``rx["auth"]`` only; ``tx["wall_s"]`` counts the
    fading process (its start included).

    Raises
    ------
    sdr_semcom.channels.launch.SionnaMissing
        No interpreter with Sionna.
    """
    from ..channels.launch import fade_offline
    from ..phy.ofdm import BurstReceiver, modulate_many

    tx = LinkTransmitter(cfg.mtu)
    frames = [f for data, ptype in _as_messages(payloads) for f in tx.frames(data, ptype)] + [tx.end_frame()]
    x = np.concatenate([modulate_many(frames, cfg.mod, cfg.gap), np.zeros(TAIL, np.complex64)])
    job = {"model": fading.model, "delay_spread_ns": fading.delay_spread_ns, "speed_mps": fading.speed_mps,
           "carrier_frequency_hz": fading.carrier_frequency_hz, "snr_db": float(snr_db), "seed": int(seed),
           "sample_rate": cfg.sample_rate}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        (y,), _ = fade_offline([x], [job], tmp)
    rx, receiver = BurstReceiver(), LinkReceiver("auth")
    for burst in rx.feed(y) + rx.flush():
        receiver.push(burst)
    wall = time.perf_counter() - t0
    airtime = x.size / cfg.sample_rate
    msgs = receiver.finish()
    report = receiver.report(rx.stats, tx.frames_sent, airtime, snr_db)
    tx_report = {"frames_sent": tx.frames_sent, "payload_bytes": tx.payload_bytes, "samples": int(x.size),
                 "airtime_s": airtime, "wall_s": wall, "modulation": cfg.mod.name}
    return LoopbackResult(tx_report, {"auth": RoleResult(msgs, report, receiver)})
