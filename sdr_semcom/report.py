"""Writing what a receiver got: images, report.json, constellation plot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from .link import rawimage
from .link.endpoints import LinkReceiver


def save_received(receiver: LinkReceiver, out: Path, mtu: int) -> list[dict]:
    """Save every received message: raw images as PNG, anything else as .bin."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for msg in receiver.messages:
        name = f"msg_{msg.stream:02d}_{msg.msg_id:04d}"
        row = {"msg_id": msg.msg_id, "complete": msg.complete, "missing_fragments": msg.missing}
        decoded = rawimage.decode(msg, mtu)
        if decoded is not None:
            img, frac = decoded
            Image.fromarray(img).save(out / f"{name}.png")
            row.update(file=f"{name}.png", bytes_received_fraction=frac)
        elif msg.complete:
            (out / f"{name}.bin").write_bytes(msg.data)
            row.update(file=f"{name}.bin")
        rows.append(row)
    return rows


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, default=_jsonable) + "\n")


def _jsonable(o):
    if isinstance(o, (np.integer, np.floating)):
        return o.item()
    if isinstance(o, complex):
        return [o.real, o.imag]
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def constellation_plot(receivers: dict[str, LinkReceiver], path: Path) -> None:
    """One scatter panel per receiver of its equalised data symbols."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(receivers), figsize=(4.5 * len(receivers), 4.5), squeeze=False)
    for ax, (role, rx) in zip(axes[0], receivers.items()):
        pts = np.concatenate(rx.symbols) if rx.symbols else np.zeros(0, np.complex64)
        ax.plot(pts.real, pts.imag, ".", ms=2, alpha=0.5)
        snr = f"{np.median(rx.snr_estimates):.1f} dB est." if rx.snr_estimates else "no burst"
        ax.set_title(f"{role}: {pts.size} symbols, {snr}")
        ax.set_xlim(-2, 2)
        ax.set_ylim(-2, 2)
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def mosaic(rows: list[tuple[str, list[tuple[str, np.ndarray | None]]]], path: Path, cell: int = 160) -> None:
    """A grid image: one row per item, one column per stage (None: an empty grey cell)."""
    from PIL import ImageDraw

    ncol = max(len(cols) for _, cols in rows)
    label_h = 16
    grid = Image.new("RGB", (ncol * cell, len(rows) * (cell + label_h)), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    for r, (name, cols) in enumerate(rows):
        for c, (title, img) in enumerate(cols):
            x, y = c * cell, r * (cell + label_h)
            draw.text((x + 3, y + 2), f"{name}: {title}" if c == 0 else title, fill=(0, 0, 0))
            tile = Image.new("RGB", (cell, cell), (200, 200, 200)) if img is None else \
                Image.fromarray(np.asarray(img, np.uint8)).convert("RGB").resize((cell, cell))
            grid.paste(tile, (x, y + label_h))
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)
