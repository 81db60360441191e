"""Channel models that run outside GNU Radio: 3GPP fading from Sionna as a streaming channel process.

Nothing here imports GNU Radio, numba or the PHY: :mod:`.sionna_proc` runs under a separate
interpreter (``.venv-sionna``, numpy 2) and needs only pyzmq, numpy, torch and Sionna.
:mod:`.spec` (pure Python) is shared with the main venv's config and CLI.
"""

from __future__ import annotations

import os


def single_threaded_blas(env: dict | None = None) -> dict:
    """One BLAS thread and a kept heap, set in ``env`` (default: this process's environment, where it
    must run before numpy is imported; :mod:`.launch` sets them for the processes it starts).

    The matrix products of :class:`~.sionna_stream.FadingStream` are small (a few hundred by 16):
    OpenBLAS's threads, on 2 cores shared with the transmitter and receivers, made its tap
    computation 80 times slower (measured: 451 -> 5 ns per sample). glibc returning freed arrays
    to the OS triples the per-call time (sdr-stack.md); its variables act only when set before
    the process starts.
    """
    env = os.environ if env is None else env
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    env.setdefault("MALLOC_TRIM_THRESHOLD_", str(1 << 30))
    env.setdefault("MALLOC_MMAP_MAX_", "0")
    return env
