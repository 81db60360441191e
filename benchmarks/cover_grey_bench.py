"""``generative/region.py cover_grey`` before and after vectorising its largest-rectangle search: the same
rectangles, wall time per call taken in turns (old, new, old, ...), medians with ranges.

    PYTHONPATH=$PWD python -m benchmarks.cover_grey_bench [--turns 15]

Scenes: seeded noise images with touching grey boxes (the eavesdropper's merged head regions) at the eval's
256 px and at 512 / 1024 px, ``count`` = 6 regions (t1's six faces); the grey is covered on a grid 4x coarser.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def stack_scan(m: np.ndarray) -> tuple[int, int, int, int]:
    """``_largest_rectangle`` before vectorising (pure Python histogram stack): the reference."""
    best, best_rect = 0, (0, 0, 0, 0)
    heights = np.zeros(m.shape[1] + 1, int)
    for y in range(m.shape[0]):
        heights[:-1] = np.where(m[y], heights[:-1] + 1, 0)
        stack: list[int] = []
        for x, hx in enumerate(heights):
            while stack and heights[stack[-1]] >= hx:
                top = stack.pop()
                left = stack[-1] + 1 if stack else 0
                area = heights[top] * (x - left)
                if area > best:
                    best, best_rect = area, (left, y + 1 - int(heights[top]), x, y + 1)
            stack.append(x)
    return best_rect


def scene(side: int, seed: int = 0, boxes: int = 6) -> np.ndarray:
    """A ``side`` x ``side`` noise image with ``boxes`` grey head-like boxes side by side (touching: merged)."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, size=(side, side, 3)).astype(np.uint8)
    img[(np.abs(img.astype(int) - 127) <= 25).all(axis=2)] = 0
    w = side // (boxes + 1)
    for i in range(boxes):
        y0 = int(side * 0.3 + rng.integers(-side // 16, side // 16))
        img[y0:y0 + int(1.4 * w), side // 14 + i * w: side // 14 + (i + 1) * w + 2] = 127
    return img


def main() -> None:
    from sdr_semcom.generative import region

    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=15)
    args = ap.parse_args()
    new = region._largest_rectangle
    for side in (256, 512, 1024):
        img = scene(side)
        times = {"old": [], "new": []}
        boxes = {}
        for _ in range(args.turns):
            for name, fn in (("old", stack_scan), ("new", new)):
                region._largest_rectangle = fn
                t = time.perf_counter()
                out = region.cover_grey(img, [], 6)
                times[name].append(time.perf_counter() - t)
                boxes[name] = [r.box for r in out]
        region._largest_rectangle = new
        assert boxes["old"] == boxes["new"], side
        med = {k: np.median(v) * 1e3 for k, v in times.items()}
        print(f"{side} px, {len(boxes['new'])} rectangles (identical): old {med['old']:.1f} ms "
              f"[{min(times['old']) * 1e3:.1f}-{max(times['old']) * 1e3:.1f}], new {med['new']:.1f} ms "
              f"[{min(times['new']) * 1e3:.1f}-{max(times['new']) * 1e3:.1f}], x{med['old'] / med['new']:.1f}")


if __name__ == "__main__":
    main()
