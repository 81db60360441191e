"""Compile (or load from numba's cache) a role's kernels before it listens.

A cold numba cache (fresh install, empty ``NUMBA_CACHE_DIR``) costs tens of seconds of
compilation the first time a kernel runs. Done on the first burst, that time looked like a
silent peer to the idle watchdogs; done here, before a process connects its data socket,
it only delays the process's ``ready`` (its peers hear its heartbeats meanwhile).
"""

from __future__ import annotations

import logging
import time

import numpy as np

from ..config import LinkConfig

log = logging.getLogger(__name__)

ROLES = ("tx", "channel", "rx")


def warm_up(role: str, cfg: LinkConfig, semantic: bool = False) -> float:
    """Run ``role``'s kernels once on a tiny synthetic burst; returns the seconds it took.

    Parameters
    ----------
    role : str
        ``tx`` (modulator), ``channel`` (sdr-semcom's channel emulator, for the engines that use
        it) or ``rx`` (acquisition, demodulation, LDPC decoding).
    cfg : LinkConfig
        Modulation and channel settings of the link.
    semantic : bool
        Also the semantic codec's entropy coder (tx and rx of ``--payload semantic``).
    """
    from ..phy import ofdm

    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (one of {ROLES})")
    t0 = time.monotonic()
    burst = ofdm.modulate_many([bytes(range(40))], cfg.mod, cfg.gap)
    if role == "channel":
        from ..phy.channel import ChannelEmulator

        for spec in (cfg.auth, cfg.eve):
            if spec.engine == "semcom":
                emu = ChannelEmulator(spec)
                emu.process(burst)
                emu.flush()
    elif role == "rx":
        rx = ofdm.BurstReceiver()
        rx.feed(np.concatenate([np.zeros(200, np.complex64), burst, np.zeros(2000, np.complex64)]))
        rx.flush()
    if semantic:
        from ..semantic.dct import entropy

        chans = np.zeros(1, np.int64)
        probs = entropy.initial_probabilities()
        out = np.empty(64, np.uint8)
        n = entropy.encode_blocks(np.zeros((1, 64), np.int32), chans, probs, np.zeros((3, entropy.N_CTX, 2),
                                                                                      np.int64), out)
        entropy.decode_blocks(out[:n], chans, probs)
    took = time.monotonic() - t0
    log.info("%s: kernels ready in %.1f s", role, took)
    return took
