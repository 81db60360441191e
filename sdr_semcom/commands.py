"""What the ``tx``, ``rx``, ``guard``, ``db enroll`` and ``train`` commands do, as functions.

:mod:`sdr_semcom.cli` parses options and calls one of these (``demo``: :func:`sdr_semcom.demo.demo`);
they raise the packages' own errors (``ImageError``, ``DatabaseError``, ``WeightsError``,
``LinkError``, ``ModelMissing``, ``Interrupted``), which the CLI turns into messages and exit codes. Lines
for the user come from :mod:`sdr_semcom.report`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable

from PIL import Image

from .config import LinkConfig
from .images import ImageError, fit, image_files, load_images, read_rgb
from .link.interrupt import Interrupted
from .link.roles import Timeouts
from .report import delivery_summary, guard_line, guard_report, rx_line, save_items, save_received, write_json

log = logging.getLogger(__name__)

PAYLOADS = ("semantic", "raw")


def load_db(path: str | Path | None):
    """The privacy database at ``path`` (None: no database)."""
    from .privacy import PrivacyDatabase

    return PrivacyDatabase.load(path) if path else None


def transmit(paths: list[str | Path], cfg: LinkConfig, bind: str, timeouts: Timeouts, size: int,
             payload: str = "semantic", db_path: str | None = None) -> str:
    """The ``tx`` command: images (default: the samples) -> messages -> ZeroMQ; returns its summary line.

    ``payload="semantic"``: guard (with a database) at the image's own size, then the codec on the
    masked image resized to a long side of ``size``; ``"raw"``: the image's pixels at that size.
    """
    from .link import rawimage
    from .link.roles import run_tx
    from .phy.framing import PayloadType
    from .samples import demo_images

    named = load_images(paths or demo_images()).images
    if payload == "raw":
        messages = [(rawimage.encode(fit(img, size)), PayloadType.RAW) for _, img in named]
    else:
        from .pipeline import SemanticTransmitter
        from .privacy import PrivacyGuard, default_backends
        from .semantic.weights import load_codec

        db = load_db(db_path)
        guard = PrivacyGuard(db, default_backends()) if db else None
        sender = SemanticTransmitter(load_codec(), guard, db)
        messages = [m for _, img in named for m in sender.messages(img, size)[0]]
    r = run_tx(messages, cfg, bind, timeouts, semantic=payload == "semantic")
    if r["interrupted"]:
        raise Interrupted(r["interrupted"], f"tx: interrupted by {r['interrupted']} after {r['samples']} samples: "
                                           "delivery not confirmed")
    return f"tx: sent {r['frames_sent']} packets ({r['payload_bytes']} B) on {bind}; {delivery_summary(r['delivered'])}"


def receive(cfg: LinkConfig, role: str, connect: str | None, out: Path, timeouts: Timeouts,
            payload: str = "semantic", db_path: str | None = None, strict: bool = False,
            generator: str = "auto", generator_dir: str | None = None) -> str:
    """The ``rx`` command: receive, decode, fill the removed regions, write images and ``out/report.json``;
    returns its summary line.

    ``generator`` / ``generator_dir``: the generative stage (``generative.receiver_inpainter``), built
    before anything is received so that a missing model fails at once; the eavesdropper's
    (``role="eve"``) never sees the database.

    ``strict``: raise :class:`~sdr_semcom.pipeline.KeyCheckError` when the transmitter's key or
    database differs from ``db_path``'s, or a description fails authentication. What was received
    is written in every case but a peer that never showed up; then a stream cut before its end
    raises :class:`~sdr_semcom.link.roles.PeerLost`, a signal :class:`Interrupted`.
    """
    from .link.roles import PeerLost, run_rx

    if role == "eve" and db_path:
        raise ValueError("the eavesdropper has no privacy database")
    if payload == "semantic":
        from .generative import fill_item, receiver_inpainter

        inpainter = receiver_inpainter(role, generator, generator_dir)
    receiver, report = run_rx(cfg, role, connect, timeouts, semantic=payload == "semantic")
    if payload == "raw":
        report["messages"] = save_received(receiver, out, cfg.mtu)
    else:
        from .pipeline import KeyCheckError, SemanticReceiver
        from .semantic.weights import load_codec

        db = load_db(db_path)
        untrusted = None
        try:
            items = SemanticReceiver(load_codec(), db=db, strict=strict).decode(receiver.messages)
        except KeyCheckError as exc:  # strict: write what arrived, then fail
            items, untrusted = exc.items, exc
            report["key_check_failed"] = str(exc)
        report["images"] = save_items(items, out, {it.index: fill_item(it, role, inpainter, db) for it in items})
        if untrusted is not None:
            write_json(out / "report.json", report)
            raise untrusted
    write_json(out / "report.json", report)
    line = rx_line(role, report, out)
    if report["interrupted"]:
        raise Interrupted(report["interrupted"], line)
    if not report["stream_ended"]:
        raise PeerLost(f"{line}\n{report['warning']}")
    return line


def guard_files(paths: list[str | Path], db_path: str, out: Path, margin: float = 0.15, text: bool = True,
                open_vocab: str | None = None, echo: Callable[[str], None] = print) -> None:
    """The ``guard`` command: per image, write the masked image, its mask and its findings into ``out``.

    Raises
    ------
    ImageError
        After the readable images are done, when some could not be read.
    """
    from .privacy import PrivacyGuard, default_backends

    db = load_db(db_path)
    g = PrivacyGuard(db, default_backends(text=text, open_vocab_dir=open_vocab), margin=margin)
    for eid in g.unserved:
        log.warning("entry '%s' has no detector backend (give --open-vocab DIR): not looked for", eid)
    out.mkdir(parents=True, exist_ok=True)
    files = image_files(paths)
    failed = 0
    for path in files:
        try:
            rgb = read_rgb(path)
        except ImageError as exc:
            log.error("%s", exc)
            failed += 1
            continue
        res = g.process(rgb)
        Image.fromarray(res.masked).save(out / f"{path.stem}_masked.png")
        Image.fromarray(res.mask.astype("uint8") * 255).save(out / f"{path.stem}_mask.png")
        (out / f"{path.stem}_findings.json").write_text(json.dumps(guard_report(str(path), db, res), indent=2) + "\n")
        echo(guard_line(str(path), res))
    if failed:
        raise ImageError(f"{failed} of {len(files)} image(s) could not be read")


def enroll(db_path: str, paths: list[str | Path], entry_id: str, policy: str = "remove") -> str:
    """The ``db enroll`` command: the largest face of each photo -> a database entry; returns its summary line."""
    from .privacy import DatabaseError
    from .privacy.detectors.faces import SFace

    d = load_db(db_path)
    sface = SFace()
    feats, refs = [], []
    for p in map(Path, paths):
        f = sface.largest_face_feature(read_rgb(p))
        if f is None:
            log.warning("no face found in %s, skipped", p)
            continue
        feats.append(f.tolist())
        refs.append(p.name)
    if not feats:
        raise DatabaseError("no face found in any reference image")
    d.enroll(entry_id, feats, refs, policy=policy)
    d.save()
    return f"{db_path}: enrolled '{entry_id}' from {len(feats)} image(s)"


def train_codec(kind: str, name: str | None, out: Path | None, data_dir: str | None, command: str, *, bpp: float,
                channels: int, bits: int, downsample: int, width: int | None, steps: int | None, minutes: float,
                batch: int | None, crop: int | None, seed: int, from_weights: str | None = None,
                artefact_quant: int = 0) -> list[str]:
    """The ``train codec`` command: train ``dct`` (codec v2) or ``latent`` (codec v1); returns its summary lines.

    ``None`` picks the kind's default (width, steps, batch, crop: dct 16, 6000, 8, 128; latent 48, 4000, 16, 64).
    ``from_weights`` (dct): no training, that codec's weights with ``artefact_quant`` (codec v3).
    """
    from .semantic.weights import MODELS_DIR

    out = out or MODELS_DIR
    data = Path(data_dir) if data_dir else None
    if kind == "dct" and from_weights:
        from .semantic.dct.train import derive

        name = name or "codec_v3"
        m = derive(out, name, from_weights, artefact_quant, command=command)
    elif kind == "dct":
        from .semantic.dct.restore import RestoreConfig
        from .semantic.dct.train import train as run_dct

        name = name or "codec_v2"
        m = run_dct(out, name, RestoreConfig(width=width or 16), bpp=bpp, seed=seed, minutes=minutes,
                    steps=steps or 6000, batch=batch or 8, crop=crop or 128, data_dir=data, command=command)
    else:
        from .semantic.latent.net import LatentConfig
        from .semantic.latent.train import train as run

        name = name or "codec_v1"
        cfg = LatentConfig(channels=channels, bits=bits, downsample=downsample, width=width or 48)
        m = run(cfg, out, name, seed=seed, minutes=minutes, steps=steps or 4000, batch=batch or 16,
                crop=crop or 64, data_dir=data, command=command)
    return _trained(name, m)


def train_inpainter(name: str | None, out: Path | None, command: str, *, steps: int, batch: int, minutes: float,
                    seed: int, threads: int, width: int, size: int) -> list[str]:
    """The ``train inpainter`` command: train the conditional inpainter (``generative.train``); returns its
    summary lines."""
    from .generative.network import DEFAULT_NAME, MODELS_DIR, NetConfig
    from .generative.train import TrainConfig, train_inpainter as run

    name = name or DEFAULT_NAME
    m = run(out or MODELS_DIR, name, TrainConfig(steps, batch, seed=seed, minutes=minutes, threads=threads),
            NetConfig(width=width, size=size), command=command)
    return _trained(name, m)


def _trained(name: str, manifest: dict) -> list[str]:
    """A training command's summary: the held-out metrics, the files written."""
    return [json.dumps(manifest["metrics_held_out"], indent=1),
            f"wrote {name}.pt (sha256 {manifest['sha256'][:16]}...) and {name}.json"]
