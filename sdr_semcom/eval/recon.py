"""The reconstructions an evaluation keeps for its mosaic: ``OUT/recon/``, one folder per SNR point.

``recon/<point>/<receiver>/<image>.png``, ``<point>`` the cell's SNR (``20dB``, ``12.5dB``, ``-3dB``) or
``baselines`` (the baselines cell, which has no link), and beside each cell's images its mark
``recon/<point>/<image>.json`` (``image``, ``margin``, ``snr``, ``seed``, ``receivers``: the images saved; a
receiver whose image was lost has none), written after them. The mosaic shows an image's reconstructions only when
their mark says the cell it asks for (:func:`load`): never the images of another SNR point, margin or an unfinished
write. A sweep keeps the cells of its headline SNR and its baselines cells at the claims' margin, seed 0
(:func:`sdr_semcom.eval.run.run_eval`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .cells import BASELINE_CELL

__all__ = ["point_dir", "mark_path", "saved", "save", "load"]


def point_dir(root: Path, snr) -> Path:
    """The folder of an SNR point's reconstructions (``snr``: dB, or the baselines cell's ``'baselines'``)."""
    return Path(root) / (BASELINE_CELL if snr == BASELINE_CELL else f"{float(snr):g}dB")


def mark_path(root: Path, key: tuple) -> Path:
    """The mark of cell ``key`` (``(image, margin, snr, seed)``): ``recon/<point>/<image>.json``."""
    return point_dir(root, key[2]) / f"{key[0]}.json"


def _mark(root: Path, key: tuple) -> dict | None:
    """Cell ``key``'s mark when it names this cell (its margin, SNR point and seed), else None."""
    try:
        m = json.loads(mark_path(root, key).read_text())
        same = (m["image"] == key[0] and float(m["margin"]) == float(key[1]) and m["snr"] == key[2]
                and int(m["seed"]) == int(key[3]) and isinstance(m["receivers"], list))
    except (OSError, ValueError, TypeError, KeyError):  # no mark, or not one (cut, edited): the images rebuilt
        return None
    return m if same else None


def saved(root: Path, key: tuple) -> bool:
    """Whether cell ``key``'s reconstructions are in ``root`` (its mark there, naming this cell)."""
    return _mark(root, key) is not None


def save(root: Path, key: tuple, images: dict[str, np.ndarray], merge: bool = False) -> bool:
    """Cell ``key``'s reconstructions (receiver -> RGB image) into ``root``, then their mark.

    Parameters
    ----------
    root : Path
        ``OUT/recon``.
    key : tuple
        The cell, ``(image, margin, snr, seed)``.
    images : dict
        Receiver name -> uint8 RGB image: every receiver of the cell that has an image.
    merge : bool
        ``images`` are some receivers of a cell already saved (``--resume`` completing a finished cell): added to
        its mark; nothing saved when it has none (the whole cell's images are then rebuilt).

    Output
    ------
    bool
        Whether anything was saved.
    """
    from PIL import Image

    have = _mark(root, key)
    if merge and have is None:
        return False
    folder = point_dir(root, key[2])
    mark_file = mark_path(root, key)
    if have is None:  # another cell's mark (another margin or seed): gone before its images are overwritten
        mark_file.unlink(missing_ok=True)
    for rx, img in images.items():
        png = folder / rx / f"{key[0]}.png"
        png.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.asarray(img, np.uint8)).save(png)
    receivers = sorted(set(images) | set(have["receivers"] if merge else []))
    mark = {"image": key[0], "margin": float(key[1]), "snr": key[2], "seed": int(key[3]), "receivers": receivers}
    mark_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = mark_file.with_name(mark_file.name + ".tmp")
    tmp.write_text(json.dumps(mark))
    os.replace(tmp, mark_file)  # a kill leaves the old mark or the new one
    return True


def load(root: Path, key: tuple) -> dict[str, np.ndarray] | None:
    """Cell ``key``'s reconstructions (receiver -> RGB image); None when ``root`` has no mark naming this cell."""
    from PIL import Image

    m = _mark(root, key)
    if m is None:
        return None
    folder = point_dir(root, key[2])
    out = {}
    for rx in m["receivers"]:
        path = folder / rx / f"{key[0]}.png"
        if path.exists():
            out[rx] = np.asarray(Image.open(path).convert("RGB"))
    return out
