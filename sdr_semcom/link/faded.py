"""The link through Sionna's fading channel without GNU Radio's scheduler: frames -> bursts -> faded in
``.venv-sionna`` (:func:`sdr_semcom.channels.launch.fade_offline`) -> receiver(s). For benchmarks
(``codec_bench.py --channel``) that compare payloads through the same fading as the link's processes,
and ``sdr-semcom eval --channel`` (both receivers, independent realisations)."""

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
    job = {"model": fading.model, "delay_spread_ns": fading.delay_spread_ns, "speed_mps": fading.speed_mps,
           "carrier_frequency_hz": fading.carrier_frequency_hz, "snr_db": float(snr_db), "seed": int(seed),
           "sample_rate": cfg.sample_rate}
    return _fade_and_receive(payloads, cfg, {"auth": job}, {"auth": snr_db})


def run_faded_link(payloads: Iterable[bytes | tuple[bytes, PayloadType]], cfg: LinkConfig, fading: FadingSpec,
                   seeds: dict[str, int], roles: Iterable[str] = ("auth", "eve")) -> LoopbackResult:
    """Send messages to both receivers, each through its own realisation of one fading model, as the
    channel process with engine ``sionna`` does: the fading, then each receiver's impairments of ``cfg``
    (CFO, clock error, front end; :mod:`sdr_semcom.channels.impairments`) and its SNR; no multipath
    ``taps`` (the fading is the multipath).

    Parameters
    ----------
    payloads : iterable of bytes or (bytes or list of bytes, PayloadType)
        As for :func:`~sdr_semcom.link.loopback.run_loopback`.
    cfg : LinkConfig
        Modulation, framing, and per role (``cfg.auth``, ``cfg.eve``) the SNR and impairments.
    fading : FadingSpec
        The fading model of both links.
    seeds : dict
        role -> seed of its fading realisation and noise (>= 1; distinct seeds: independent realisations).
    roles : iterable of str
        Which receivers.

    Output
    ------
    :class:`~sdr_semcom.link.loopback.LoopbackResult`, one :class:`RoleResult` per role.

    Raises
    ------
    sdr_semcom.channels.launch.SionnaMissing
        No interpreter with Sionna.
    """
    jobs, snrs = {}, {}
    for role in roles:
        spec = getattr(cfg, role)
        imp = spec.impairments
        jobs[role] = {"model": fading.model, "delay_spread_ns": fading.delay_spread_ns,
                      "speed_mps": fading.speed_mps, "carrier_frequency_hz": fading.carrier_frequency_hz,
                      "snr_db": float(spec.snr_db), "seed": int(seeds[role]), "sample_rate": cfg.sample_rate,
                      "impairments": {f: getattr(imp, f) for f in imp.__dataclass_fields__}}
        snrs[role] = spec.snr_db
    return _fade_and_receive(payloads, cfg, jobs, snrs)


def _fade_and_receive(payloads, cfg: LinkConfig, jobs: dict[str, dict], snrs: dict[str, float]) -> LoopbackResult:
    """Frames -> bursts, faded once per role (one :func:`~sdr_semcom.channels.launch.fade_offline` run),
    each role's copy received."""
    from ..channels.launch import fade_offline
    from ..phy.ofdm import BurstReceiver, modulate_many

    tx = LinkTransmitter(cfg.mtu)
    frames = [f for data, ptype in _as_messages(payloads) for f in tx.frames(data, ptype)] + [tx.end_frame()]
    x = np.concatenate([modulate_many(frames, cfg.mod, cfg.gap), np.zeros(TAIL, np.complex64)])
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        ys, _ = fade_offline([x] * len(jobs), list(jobs.values()), tmp)
    airtime = x.size / cfg.sample_rate
    rx_results = {}
    for role, y in zip(jobs, ys):
        rx, receiver = BurstReceiver(), LinkReceiver(role)
        for burst in rx.feed(y) + rx.flush():
            receiver.push(burst)
        msgs = receiver.finish()
        rx_results[role] = RoleResult(msgs, receiver.report(rx.stats, tx.frames_sent, airtime, snrs[role]), receiver)
    wall = time.perf_counter() - t0
    tx_report = {"frames_sent": tx.frames_sent, "payload_bytes": tx.payload_bytes, "samples": int(x.size),
                 "airtime_s": airtime, "wall_s": wall, "modulation": cfg.mod.name}
    return LoopbackResult(tx_report, rx_results)
