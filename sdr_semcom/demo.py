"""The end-to-end loopback demo: guard -> codec -> radio -> authorized and eavesdropper receivers.

See :mod:`sdr_semcom.pipeline` for what travels. Rebuilding the removed regions is the
generative receiver's job, a later stage.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
from PIL import Image

from .config import LinkConfig
from .link.loopback import run_loopback
from .pipeline import SemanticReceiver, SemanticTransmitter
from .report import constellation_plot, mosaic, write_json
from .semantic.api import ImageCodec
from .semantic.metrics import psnr
from .semantic.weights import load_codec


def run_demo(named: list[tuple[str, np.ndarray]], cfg: LinkConfig, out: Path, db=None, guard=None,
             codec: ImageCodec | None = None) -> dict:
    """Run the demo on ``named`` RGB images; writes images, report.json, mosaic.png and
    constellation.png into ``out``."""
    codec = codec or load_codec()
    tx = SemanticTransmitter(codec, guard, db)
    messages, sent = [], []
    for name, img in named:
        msgs, s = tx.messages(img)
        messages += msgs
        sent.append(s)
        if s.mask is not None:
            Image.fromarray(s.mask.astype(np.uint8) * 255).save(_dir(out / "tx") / f"{name}_mask.png")
        Image.fromarray(s.masked).save(_dir(out / "tx") / f"{name}_sent.png")
    result = run_loopback(messages, cfg)
    report = {"config": asdict(cfg), "codec": codec.id, "database_hash": db.content_hash if db else None,
              "tx": result.tx, "receivers": {}}
    decoded: dict[tuple[str, int], np.ndarray] = {}
    receivers = {"auth": SemanticReceiver(codec, db=db), "eve": SemanticReceiver(codec)}
    for role, rr in result.rx.items():
        items = {it.index: it for it in receivers[role].decode(rr.messages)}
        rows = []
        for i, ((name, _), s) in enumerate(zip(named, sent)):
            it = items.get(i)
            row = {"name": name, "findings_sent": len(s.findings)}
            if it is None or it.image is None:
                row["status"] = "lost (header not received)"
            else:
                Image.fromarray(it.image).save(_dir(out / role) / f"{name}.png")
                decoded[(role, i)] = it.image
                row.update(status="all packets lost (grey)" if it.info.all_lost else "decoded",
                           psnr_db=round(psnr(s.masked, it.image), 2),
                           packets=f"{it.info.packets_received}/{it.info.packets_expected}",
                           regions=it.regions, region_count=it.region_count)
                for key in ("key_check", "embedding_error"):
                    if getattr(it, key):
                        row[key] = getattr(it, key)
            rows.append(row)
        report["receivers"][role] = dict(rr.report, images=rows)
    write_json(out / "report.json", report)
    mosaic([(name, [("original", s.original), ("sent (guarded)", s.masked), ("authorized RX", decoded.get(("auth", i))),
                    ("eavesdropper RX", decoded.get(("eve", i)))]) for i, ((name, _), s) in enumerate(zip(named, sent))],
           out / "mosaic.png")
    constellation_plot({r: rr.receiver for r, rr in result.rx.items()}, out / "constellation.png")
    return report


def _dir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p
