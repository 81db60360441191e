"""Writing what the commands did: received images, report rows, report.json, summary lines, plots.

Every line a command prints about its results, and every row of its ``report.json``, is made
here (the CLI only echoes them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from .link import rawimage
from .link.endpoints import LinkReceiver
from .link.peers import delivery_summary  # noqa: F401  (re-exported: the CLI reads it from here)

if TYPE_CHECKING:
    from .pipeline import ReceivedItem
    from .privacy.guard import GuardResult

#: status of an image whose feature header (METADATA message) did not arrive
LOST_HEADER = "lost (header not received)"


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


# ---------------------------------------------------------------------------------- report rows
def image_row(item: "ReceivedItem | None") -> dict:
    """What a receiver got of one image: status, packets, removed regions (no file, no name).

    ``None``: nothing at all arrived for this image.
    """
    if item is None:
        return {"status": LOST_HEADER, "regions": []}
    row = {"status": LOST_HEADER} if item.image is None else {
        "status": "all packets lost (grey)" if item.info.all_lost else "decoded", "all_lost": item.info.all_lost,
        "packets": f"{item.info.packets_received}/{item.info.packets_expected}"}
    row.update(regions=item.regions, region_count=item.region_count)
    for key in ("key_check", "embedding_error", "session", "margin", "features_verified"):
        if getattr(item, key, None) is not None:
            row[key] = getattr(item, key)
    if getattr(item, "packets_rejected", 0):
        row["packets_rejected"] = item.packets_rejected
    return row


def save_items(items: list["ReceivedItem"], out: Path, filled: dict | None = None) -> list[dict]:
    """A receiver's decoded images as ``img_NNNN.png`` in ``out``; one report row each.

    ``filled``: ``index -> (filled image, region rows)`` (``generative.fill_item``), written as
    ``img_NNNN_filled.png``; the rows (box, category, backend per region) go to ``filled_regions``.
    """
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for it in items:
        row = {"index": it.index, **image_row(it)}
        if it.image is not None:
            row["file"] = f"img_{it.index:04d}.png"
            Image.fromarray(it.image).save(out / row["file"])
        img, regions = (filled or {}).get(it.index, (None, []))
        if img is not None:
            row.update(filled_file=f"img_{it.index:04d}_filled.png", filled_regions=regions)
            Image.fromarray(img).save(out / row["filled_file"])
        rows.append(row)
    return rows


def backend_counts(rows: list[dict]) -> str:
    """``'face_prior 2, telea 1'``: which backend filled how many regions, over report rows' ``filled_regions``."""
    from collections import Counter

    n = Counter(g["backend"] for r in rows for g in r.get("filled_regions", []))
    return ", ".join(f"{k} {v}" for k, v in sorted(n.items())) or "nothing to fill"


def guard_report(image: str, db, res: "GuardResult") -> dict:
    """The findings file the ``guard`` command writes per image."""
    return {"image": image, "database": db.name, "database_hash": db.content_hash,
            "findings": [f.to_json() for f in res.findings], "unserved_entries": res.unserved,
            "removed_fraction": float(res.mask.mean())}


# ------------------------------------------------------------------------------- summary lines
def guard_line(image: str, res: "GuardResult") -> str:
    msg = f"{len(res.removed)} region(s) removed" if res.removed else "no finding: passed through unchanged"
    return f"{image}: {msg}"


def link_lines(tx: dict, receivers: dict[str, dict]) -> list[str]:
    """Transmitter and per-receiver figures of a loopback run: packets, SNR, PER, goodput."""
    lines = [f"tx: {tx['frames_sent']} packets, {tx['payload_bytes']} B, {tx['airtime_s']:.3f} s on air"]
    for role, r in receivers.items():
        per = "n/a" if r["per"] is None else f"{r['per']:.3f}"
        est = "n/a" if r["snr_est_db"] is None else f"{r['snr_est_db']:.1f}"
        lines.append(f"{role:>5}: SNR {r['snr_db']} dB (est. {est}), received {r['packets_received']}/"
                     f"{r['packets_sent']}, PER {per}, goodput {r['goodput_bps'] / 1e3:.1f} kbit/s")
    return lines


def demo_lines(report: dict, out: Path) -> list[str]:
    """What ``demo`` prints: link figures, then images decoded and regions identified per receiver."""
    lines = link_lines(report["tx"], report["receivers"])
    for role, r in report["receivers"].items():
        ps = [i["psnr_db"] for i in r["images"] if "psnr_db" in i]
        aligned = sum(1 for i in r["images"] for g in i.get("regions", []) if g.get("entry"))
        regions = sum(len(i.get("regions", [])) for i in r["images"])
        mean = f"{np.mean(ps):.1f} dB" if ps else "n/a"
        lines.append(f"{role:>5}: {len(ps)}/{len(r['images'])} images decoded, mean PSNR {mean} (vs the masked image "
                     f"at its own size); removed regions identified: {aligned}/{regions}")
        lines.append(f"{role:>5}: regions filled by {backend_counts(r['images'])}")
    lines.append(f"wrote {out}/report.json, {out}/constellation.png, {out}/tx/, {out}/auth/, {out}/eve/")
    return lines


def rx_line(role: str, report: dict, out: Path) -> str:
    """A receiver's summary: packets received of sent (or of at least how many, and why), where it wrote."""
    line = f"rx ({role}): received {report['packets_received']}"
    if report["packets_sent"] is not None:
        line += f"/{report['packets_sent']} packets"
    else:
        line += f" packets of at least {report['packets_sent_at_least']} sent ({report['status']})"
    if report.get("interrupted"):
        line += f", interrupted by {report['interrupted']}"
    radio = report.get("radio") or {}
    if "overflows" in radio:
        line += f", {radio['overflows']} overflow(s)"
    if report.get("images"):
        line += f"; regions filled by {backend_counts(report['images'])}"
    return f"{line}; wrote {out}/report.json"


def db_lines(d) -> list[str]:
    """What ``db show`` prints: name, hash, threshold, one line per entry (never the secret or features)."""
    lines = [f"database {d.name}  sha256 {d.content_hash}  threshold {d.threshold}"]
    for e in d.entries:
        enrolled = f"  enrolled from {len(e.enrolled.embeddings)} image(s)" if e.enrolled else ""
        if e.enrolled and e.enrolled.references:
            enrolled += f", {len(e.enrolled.references)} reference photo(s)"
        lines.append(f"  {e.id:<16} {e.category:<14} {e.policy:<7} {e.description}{enrolled}")
    return lines
