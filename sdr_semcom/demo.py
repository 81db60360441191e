"""The end-to-end loopback demo: guard -> codec -> radio -> authorized and eavesdropper receivers.

See :mod:`sdr_semcom.pipeline` for what travels. Each receiver then fills the removed regions
(:func:`sdr_semcom.generative.fill_item`): the authorized one at the boxes it opened, with its
database's categories and the opened vectors; the eavesdropper where it finds the grey fill, without
any database.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .config import LinkConfig
from .generative import fill_item, receiver_inpainter
from .images import load_images
from .link.loopback import run_loopback
from .pipeline import SemanticReceiver, SemanticTransmitter
from .report import constellation_plot, image_row, mosaic, write_json
from .semantic.api import ImageCodec
from .semantic.metrics import psnr
from .semantic.weights import load_codec

ROLES = ("auth", "eve")


def demo(paths: list[str | Path], cfg: LinkConfig, out: Path, size: int, db_path: str | None = None,
         guard: bool = True, generator: str = "auto", generator_dir: str | Path | None = None) -> dict:
    """The ``demo`` command: read images (default: the samples), run :func:`run_demo` into ``out``.

    Parameters
    ----------
    paths : list of path
        Image files or folders; none: the sample images (two with faces).
    db_path : str or None
        Privacy database; None: a fresh default one, saved as ``out/db.yaml``.
    guard : bool
        False: send the images without the privacy guard.
    generator, generator_dir
        The receivers' generative stage (``generative.receiver_inpainter``), built before anything runs.
    """
    from .privacy import PrivacyDatabase, PrivacyGuard, default_backends
    from .samples import demo_images

    db = PrivacyDatabase.load(db_path) if db_path else PrivacyDatabase.default()
    inpainters = {role: receiver_inpainter(role, generator, generator_dir, db if role == "auth" else None)
                  for role in ROLES}  # the authorized one restores the enrolled persons it has references of
    named = load_images(paths or demo_images()).images
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not db_path:
        db.save(out / "db.yaml")
    return run_demo(named, cfg, out, db=db, guard=PrivacyGuard(db, default_backends()) if guard else None, size=size,
                    inpainters=inpainters)


def run_demo(named: list[tuple[str, np.ndarray]], cfg: LinkConfig, out: Path, db=None, guard=None,
             codec: ImageCodec | None = None, size: int | None = None, inpainters: dict | None = None) -> dict:
    """Run the demo on ``named`` RGB images; writes images, report.json, mosaic.png and
    constellation.png into ``out``.

    The guard sees each image at its own size; what travels is resized so that its long side is
    ``size`` (None: as it is), and the receivers restore the original size. ``inpainters``: ``{"auth":
    Inpainter, "eve": Inpainter}`` (default: ``receiver_inpainter(role)``, the default policy, the
    authorized one with ``db``'s reference photos); each
    receiver's filled image is written as ``ROLE/NAME_filled.png``, the backend per region goes to the
    report rows' ``filled_regions``. The eavesdropper's fill never sees ``db``.
    """
    codec = codec or load_codec()
    inpainters = inpainters or {role: receiver_inpainter(role, db=db if role == "auth" else None) for role in ROLES}
    tx = SemanticTransmitter(codec, guard, db)
    messages, sent = [], []
    for name, img in named:
        msgs, s = tx.messages(img, size)
        messages += msgs
        sent.append(s)
        if s.mask is not None:
            Image.fromarray(s.mask.astype(np.uint8) * 255).save(_dir(out / "tx") / f"{name}_mask.png")
        Image.fromarray(s.masked).save(_dir(out / "tx") / f"{name}_sent.png")
    result = run_loopback(messages, cfg)
    report = {"config": cfg.to_json(), "codec": codec.id, "database_hash": db.content_hash if db else None,
              "tx": result.tx, "receivers": {}}
    decoded: dict[tuple[str, int], np.ndarray] = {}
    receivers = {"auth": SemanticReceiver(codec, db=db), "eve": SemanticReceiver(codec)}
    dbs = {"auth": db, "eve": None}  # the eavesdropper's generative stage has no database either
    for role, rr in result.rx.items():
        items = {it.index: it for it in receivers[role].decode(rr.messages)}
        rows = []
        for i, ((name, _), s) in enumerate(zip(named, sent)):
            it = items.get(i)
            row = {"name": name, "findings_sent": len(s.findings), **image_row(it)}
            if it is not None and it.image is not None:
                Image.fromarray(it.image).save(_dir(out / role) / f"{name}.png")
                decoded[(role, i)] = it.image
                row["psnr_db"] = round(psnr(s.masked, it.image), 2)
                filled, row["filled_regions"] = fill_item(it, role, inpainters[role], dbs[role])
                Image.fromarray(filled).save(out / role / f"{name}_filled.png")
                decoded[(role + " filled", i)] = filled
            rows.append(row)
        report["receivers"][role] = dict(rr.report, images=rows)
    write_json(out / "report.json", report)
    columns = (("auth", "authorized RX"), ("auth filled", "authorized filled"), ("eve", "eavesdropper RX"),
               ("eve filled", "eavesdropper filled"))
    mosaic([(name, [("original", s.original), ("sent (guarded)", s.masked)] +
             [(title, decoded.get((key, i))) for key, title in columns])
            for i, ((name, _), s) in enumerate(zip(named, sent))], out / "mosaic.png")
    constellation_plot({r: rr.receiver for r, rr in result.rx.items()}, out / "constellation.png")
    return report


def _dir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p
