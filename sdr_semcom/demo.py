"""The end-to-end loopback demo: guard -> codec -> radio -> authorized and eavesdropper receivers.

Per image the transmitter sends three messages: the feature header (METADATA), the feature
packets (FEATURES, one per burst) and what the guard removed (EMBEDDING: boxes + keyed text
embeddings). Both receivers decode the masked image from the features; only the authorized one
can align the embeddings with its database. (Rebuilding the removed regions is the generative
receiver's job, a later stage.)
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PIL import Image

from .config import LinkConfig
from .link.loopback import run_loopback
from .phy.framing import PayloadType
from .report import constellation_plot, mosaic, write_json
from .semantic.codec import SemanticCodec
from .semantic.link import image_messages, received_images
from .semantic.train import psnr

log = logging.getLogger(__name__)


def run_demo(named: list[tuple[str, np.ndarray]], cfg: LinkConfig, out: Path, db=None, guard=None,
             codec: SemanticCodec | None = None, embed_bits: int = 8) -> dict:
    """Run the demo on ``named`` RGB images; writes images, report.json and constellation.png into ``out``."""
    from .privacy.embedding import Aligner, KeyedEmbedding, text_encoder
    from .privacy.wire import pack_findings, unpack_findings

    codec = codec or SemanticCodec.load()
    keyed_tx = KeyedEmbedding(db.secret, embed_bits) if db is not None else None
    messages, sent = [], []
    for name, img in named:
        findings = []
        masked = img
        if guard is not None:
            res = guard.process(img)
            masked, findings = res.masked, res.removed
            Image.fromarray(res.mask.astype(np.uint8) * 255).save(_dir(out / "tx") / f"{name}_mask.png")
        Image.fromarray(masked).save(_dir(out / "tx") / f"{name}_sent.png")
        messages += image_messages(codec, masked)
        vectors = text_encoder()([f.description for f in findings]) if findings else np.zeros((0, 384))
        payload = pack_findings([f.box for f in findings], vectors, keyed_tx) if keyed_tx else b"\0\0"
        messages.append((payload, PayloadType.EMBEDDING))
        sent.append({"name": name, "original": img, "masked": masked, "findings": [f.to_json() for f in findings]})
    result = run_loopback(messages, cfg)
    decoded: dict[tuple[str, int], np.ndarray] = {}
    report = {"config": asdict(cfg), "codec": codec.id, "database_hash": db.content_hash if db else None,
              "tx": result.tx, "receivers": {}}
    aligner = Aligner(db) if db is not None else None
    for role, rr in result.rx.items():
        got, lost_whole = received_images(codec, rr.messages)
        by_id = {g.msg_id: g for g in got}
        emb = {m.msg_id: m for m in rr.messages if m.ptype is PayloadType.EMBEDDING}
        # the eavesdropper has no database: no secret to undo the keying, nothing to align with
        keyed_rx = KeyedEmbedding(db.secret if role == "auth" else None, embed_bits) if db else None
        images = []
        for i, s in enumerate(sent):
            row = {"name": s["name"], "findings_sent": len(s["findings"])}
            g = by_id.get(3 * i)
            if g is None:
                row["status"] = "lost (header not received)"
            else:
                Image.fromarray(g.image).save(_dir(out / role) / f"{s['name']}.png")
                decoded[(role, i)] = g.image
                row.update(status="all packets lost (grey)" if g.info.all_lost else "decoded",
                           psnr_db=round(psnr(s["masked"], g.image), 2),
                           packets=f"{g.info.packets_received}/{g.info.packets_expected}")
            m = emb.get(3 * i + 2)
            if m is not None and m.complete and keyed_rx is not None:
                try:
                    regions = unpack_findings(m.data, keyed_rx)
                except ValueError as exc:
                    row["embedding_error"] = str(exc)
                    regions = []
                row["regions"] = []
                for box, vec in regions:
                    # the eavesdropper has no database; aligning its vector with ours measures
                    # what it could learn even if it guessed the entry list
                    match = aligner.match(vec)
                    row["regions"].append({"box": list(box), "entry": match.entry_id, "score": round(match.score, 3),
                                           "text": match.text if match.entry_id else None})
            images.append(row)
        report["receivers"][role] = dict(rr.report, images=images, images_lost=lost_whole)
    write_json(out / "report.json", report)
    mosaic([(s["name"], [("original", s["original"]), ("sent (guarded)", s["masked"]),
                         ("authorized RX", decoded.get(("auth", i))), ("eavesdropper RX", decoded.get(("eve", i)))])
            for i, s in enumerate(sent)], out / "mosaic.png")
    constellation_plot({r: rr.receiver for r, rr in result.rx.items()}, out / "constellation.png")
    return report


def _dir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p
