"""What the ``tx``, ``rx``, ``capture``, ``decode``, ``guard``, ``db enroll`` and ``train`` commands do, as functions.

:mod:`sdr_semcom.cli` parses options and calls one of these (``demo``: :func:`sdr_semcom.demo.demo`);
they raise the packages' own errors (``ImageError``, ``DatabaseError``, ``WeightsError``,
``LinkError``, ``ModelMissing``, ``Interrupted``), which the CLI turns into messages and exit codes. Lines
for the user come from :mod:`sdr_semcom.report`.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PIL import Image

from .config import LinkConfig
from .images import ImageError, fit, image_files, load_images, read_rgb
from .link.interrupt import Interrupted
from .link.roles import Timeouts
from .radio import RadioOptions
from .reception import PAYLOADS, receiver_stage, write_reception
from .report import delivery_summary, guard_line, guard_report

if TYPE_CHECKING:
    from .capture.decode import DecodeOptions
    from .capture.session import Source
    from .phy.framing import PayloadType

if TYPE_CHECKING:
    from .calibration.calfile import CalibrationFile

log = logging.getLogger(__name__)

__all__ = ["PAYLOADS", "capture", "decode", "enroll", "guard_files", "load_db", "receive", "train_codec",
           "train_inpainter", "transmit", "tx_messages"]


def load_db(path: str | Path | None):
    """The privacy database at ``path`` (None: no database)."""
    from .privacy import PrivacyDatabase

    return PrivacyDatabase.load(path) if path else None


def load_calibration(path: str | Path | None) -> "CalibrationFile | None":
    """The calibration file at ``path`` (None: none); :class:`~sdr_semcom.config.ConfigError` naming the bad key."""
    from .calibration.calfile import CalibrationFile

    return CalibrationFile.load(path) if path else None


def transmit(paths: list[str | Path], cfg: LinkConfig, bind: str, timeouts: Timeouts, size: int,
             payload: str = "semantic", db_path: str | None = None, radio: RadioOptions | None = None,
             margin: float = 0.15, calibration_path: str | None = None) -> str:
    """The ``tx`` command: images (default: the samples) -> messages -> front end (default: ZeroMQ at
    ``bind``; ``radio``: a USRP or a recording, opened first so that a missing radio fails at once);
    returns its summary line.

    ``calibration_path``: a calibration file (``sdr-semcom calibrate``); the output is shifted by its
    ``cfo_correction_hz`` whatever the front end, and a USRP (``radio.kind == "uhd"``) given neither
    ``gain`` nor ``norm_gain`` is set to its recommended transmit gain (:func:`calibrated_radio`); the
    summary's first lines say what was applied.

    ``payload="semantic"``: guard (with a database) at the image's own size, then the codec on the
    masked image resized to a long side of ``size``; ``"raw"``: the image's pixels at that size.
    ``margin``: the guard's (``PrivacyGuard(margin=...)``); it travels sealed, and the authorized
    receiver rebuilds the removed pixels with it.
    """
    from .link.roles import run_tx
    from .radio import open_tx

    cal = load_calibration(calibration_path)
    radio, gain_note = calibrated_radio(cal, radio or RadioOptions(address=bind), "tx")
    front = open_tx(radio, cfg.sample_rate)
    messages = tx_messages(paths, size, payload, db_path, margin)
    r = run_tx(messages, cfg, bind, timeouts, semantic=payload == "semantic", front=front, calibration=cal)
    if r["interrupted"]:
        raise Interrupted(r["interrupted"], f"tx: interrupted by {r['interrupted']} after {r['samples']} samples: "
                                           "delivery not confirmed")
    cal_lines = _calibration_lines(cal, "tx", calibration_path, gain_note)
    line = f"tx: sent {r['frames_sent']} packets ({r['payload_bytes']} B) on {r['address']}"
    if not front.peer:  # a radio or a recording: nobody answers
        counts = ", ".join(f"{k} {v}" for k, v in r["radio"].items())
        line = f"{line}: {r['samples']} samples, {r['airtime_s']:.3f} s at {cfg.sample_rate:g} S/s" + \
            (f" ({counts})" if counts else "")
    else:
        line = f"{line}; {delivery_summary(r['delivered'])}"
    return "\n".join([*cal_lines, line])


def calibrated_radio(cal: "CalibrationFile | None", radio: RadioOptions, role: str) -> tuple[RadioOptions, str | None]:
    """``radio`` with the calibration file's recommended gain for ``role`` on a USRP, and the line that says so.

    Parameters
    ----------
    cal : CalibrationFile or None
        The calibration file (None: ``radio`` unchanged, no line).
    radio : RadioOptions
        The front end asked for.
    role : str
        ``tx`` (the file's ``tx_gain_db``) or ``rx`` (``rx_gain_db``).

    Returns
    -------
    RadioOptions, str or None
        The front end to open and what happened to the recommended gain (None: the file has none).
    """
    if cal is None:
        return radio, None
    from .calibration.apply import radio_gain

    return radio_gain(cal, radio, role)


def _calibration_lines(cal: "CalibrationFile | None", role: str, path: str | Path | None,
                       gain_note: str | None) -> list[str]:
    """What a role applied of a calibration file, and what became of its recommended gain."""
    if cal is None:
        return []
    done = (f"output shifted by {cal.cfo_correction_hz:+.1f} Hz" if role == "tx" else
            "DC offset and IQ imbalance removed before the burst receiver" if cal.rx_front_end else
            "nothing applied (rx_front_end = false)")
    return [f"{role}: calibration {path}: {done}"] + ([gain_note] if gain_note else [])


def tx_messages(paths: list[str | Path], size: int, payload: str = "semantic", db_path: str | None = None,
                margin: float = 0.15) -> list[tuple[bytes | list[bytes], "PayloadType"]]:
    """What ``tx`` sends for ``paths`` (default: the samples): guard (``margin``) + codec messages, or raw pixels."""
    from .link import rawimage
    from .phy.framing import PayloadType
    from .samples import demo_images

    named = load_images(paths or demo_images()).images
    if payload == "raw":
        return [(rawimage.encode(fit(img, size)), PayloadType.RAW) for _, img in named]
    from .pipeline import SemanticTransmitter
    from .privacy import PrivacyGuard, default_backends
    from .semantic.weights import load_codec

    db = load_db(db_path)
    guard = PrivacyGuard(db, default_backends(), margin=margin) if db else None
    sender = SemanticTransmitter(load_codec(), guard, db)
    return [m for _, img in named for m in sender.messages(img, size)[0]]


def capture(out: Path, source: "Source", cfg: LinkConfig, limit: int | None, timeouts: Timeouts,
            payload: str = "semantic", role: str = "auth", progress: Callable[[str], None] | None = None) -> str:
    """The ``capture`` command: record ``source`` as SigMF (``capture.session.capture``); returns its summary line.

    Raises :class:`Interrupted` on SIGINT / SIGTERM and :class:`~sdr_semcom.link.control.LinkError`
    when the disk filled up or the upstream went away, each after the recording was completed.
    """
    from .capture.session import capture as run
    from .link.control import LinkError

    r = run(out, source, cfg, limit, timeouts, progress, _codec_id() if payload == "semantic" else None, role)
    line = r.line()
    if r.end in ("SIGINT", "SIGTERM"):
        raise Interrupted(r.end, line)
    if r.end not in ("eot", "limit"):
        raise LinkError(f"{line}\n{r.warning or r.end}: what was written is kept")
    return line


def _codec_id() -> str | None:
    """The link codec's id (``name:sha256[:12]``, as ``ImageCodec.id``) from its manifest, without loading
    torch (``semantic/weights.py`` imports it): for a recording's metadata; None if unreadable."""
    from .semantic.defaults import DEFAULT_NAME as name, MODELS_DIR  # no torch there

    try:
        manifest = json.loads((MODELS_DIR / f"{name}.json").read_text())
        return f"{name}:{manifest['sha256'][:12]}"
    except (OSError, ValueError, KeyError, TypeError):
        return None


def decode(path: str | Path, out: Path, cfg: LinkConfig, opts: "DecodeOptions") -> str:
    """The ``decode`` command: a SigMF recording -> the images and report.json a live ``rx`` writes
    (``capture.decode.decode_recording``); returns its summary line."""
    from .capture.decode import decode_recording

    return decode_recording(path, out, cfg, opts)


def receive(cfg: LinkConfig, role: str, connect: str | None, out: Path, timeouts: Timeouts,
            payload: str = "semantic", db_path: str | None = None, strict: bool = False,
            generator: str = "auto", generator_dir: str | None = None, radio: RadioOptions | None = None,
            calibration_path: str | None = None) -> str:
    """The ``rx`` command: receive, decode, fill the removed regions, write images and ``out/report.json``;
    returns its summary line.

    ``radio``: the front end (default: ZeroMQ from ``connect``); a USRP or a recording is opened
    first, so that a missing radio fails at once. ``role="both"`` (a USRP's two channels, or
    recordings) runs the authorized receiver and the eavesdropper's in one process, writing into
    ``out/auth`` and ``out/eve``; ``db_path`` then serves the authorized receiver only.

    ``generator`` / ``generator_dir``: the generative stage (``generative.receiver_inpainter``), built
    before anything is received so that a missing model fails at once; the eavesdropper's
    (``role="eve"``) never sees the database.

    ``strict``: raise :class:`~sdr_semcom.pipeline.KeyCheckError` when the transmitter's key or
    database differs from ``db_path``'s, or a description fails authentication. What was received
    is written in every case but a peer that never showed up; then a stream cut before its end
    raises :class:`~sdr_semcom.link.roles.PeerLost`, a signal :class:`Interrupted`.

    ``calibration_path``: a calibration file; each burst receiver (both with ``role="both"``) first
    removes its DC offset and IQ imbalance, whatever the front end, and a USRP given neither ``gain``
    nor ``norm_gain`` is set to its recommended receive gain (:func:`calibrated_radio`).
    """
    from .link.roles import PeerLost, run_receivers, run_rx
    from .radio import open_rx

    cal = load_calibration(calibration_path)
    if role == "eve" and db_path:
        raise ValueError("the eavesdropper has no privacy database")
    roles = ("auth", "eve") if role == "both" else (role,)
    radio, gain_note = calibrated_radio(cal, radio or RadioOptions(address=connect), "rx")
    front = None
    if radio.kind != "zmq" or role == "both":
        front = open_rx(radio, cfg.sample_rate, len(roles))
    inpainters = {r: receiver_stage(r, payload, generator, generator_dir, db_path if r == "auth" else None)
                  for r in roles}
    if front is None:
        received = {role: run_rx(cfg, role, connect, timeouts, semantic=payload == "semantic", calibration=cal)}
    else:
        received = run_receivers(cfg, roles, front, timeouts, semantic=payload == "semantic",
                                 on_ready=None if front.lengths is not None else _tell, calibration=cal)
    lines, failure = [], None
    for r, (receiver, report) in received.items():
        where = out / r if role == "both" else out
        try:
            lines.append(write_reception(receiver, report, r, where, cfg.mtu, inpainters[r],
                                         db_path if r == "auth" else None, strict))
        except Exception as exc:  # the other receiver's images are still written
            failure = failure or exc
    if failure is not None:
        raise failure
    line = "\n".join([*_calibration_lines(cal, "rx", calibration_path, gain_note), *lines])
    reports = [rep for _, rep in received.values()]
    if any(rep["interrupted"] for rep in reports):
        raise Interrupted(reports[0]["interrupted"], line)
    cut = [rep for rep in reports if not rep["stream_ended"]]
    if cut:
        raise PeerLost(f"{line}\n{cut[0]['warning']}")
    return line


def _tell(line: str) -> None:
    """A progress line for the user, on stderr (stdout holds the summary)."""
    print(line, file=sys.stderr, flush=True)


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


def enroll(db_path: str, paths: list[str | Path], entry_id: str, policy: str = "remove",
           references: list[str | Path] = ()) -> str:
    """The ``db enroll`` command: the largest face of each photo -> a database entry; returns its summary line.

    ``paths``: photos whose SFace features recognise the person (a photo without a face is skipped with a
    warning). ``references``: photos the authorized receiver restores the person's removed face from;
    each gives features too, must show a face (YuNet), and is copied beside the database
    (:meth:`~sdr_semcom.privacy.PrivacyDatabase.add_references`, owner-only; all or nothing).
    """
    from .images import REFERENCE_MAX_PIXELS
    from .privacy import DatabaseError
    from .privacy.detectors.faces import SFace

    if not paths and not references:
        raise DatabaseError("give photos of the person to enrol (PHOTOS or --reference)")
    d = load_db(db_path)
    sface = SFace()
    feats, refs = [], []
    for p in map(Path, paths):
        f = sface.largest_face_feature(read_rgb(p))
        if f is None:
            log.warning("no face found in %s, skipped", p)
            continue
        feats.append(f.tolist())
    for p in map(Path, references):
        f = sface.largest_face_feature(read_rgb(p, max_pixels=REFERENCE_MAX_PIXELS))
        if f is None:
            raise DatabaseError(f"no face found in reference photo {p}: a reference must show the person's face")
        feats.append(f.tolist())
        refs.append(p)
    if not feats:
        raise DatabaseError("no face found in any reference image")
    d.enroll(entry_id, feats, [], policy=policy)
    d.add_references(entry_id, refs)  # copies, then saves: a failure leaves no copy behind
    kept = f", {len(refs)} reference photo(s) kept in {d.references_dir} (owner only)" if refs else ""
    return f"{db_path}: enrolled '{entry_id}' from {len(feats)} image(s){kept}"


def train_codec(kind: str, name: str | None, out: Path | None, data_dir: str | None, command: str, *, bpp: float,
                channels: int, bits: int, downsample: int, width: int | None, steps: int | None, minutes: float,
                batch: int | None, crop: int | None, seed: int, nproc: int | None = None,
                from_weights: str | None = None, artefact_quant: int = 0, coder: int | None = None,
                rd_choice: bool = False) -> list[str]:
    """The ``train codec`` command: train ``dct`` (codec v2) or ``latent`` (codec v1); returns its summary lines.

    ``None`` picks the kind's default (width, steps, batch, crop: dct 16, 6000, 8, 128; latent 48, 4000, 16, 64).
    ``nproc``: data-parallel in that many processes (dct only; see :mod:`sdr_semcom.distributed`); under
    ``torchrun`` this process is one rank whatever ``nproc`` says.
    ``from_weights`` (dct): no training, that codec's weights with ``artefact_quant`` (codec v3) and,
    with ``coder``, another entropy coder whose probabilities are learned (codec v4), and with
    ``rd_choice`` an encoder that picks the quantiser tables per image.
    """
    from . import distributed
    from .semantic.weights import MODELS_DIR

    out = Path(out or MODELS_DIR)
    data = Path(data_dir) if data_dir else None
    if coder is not None and not (kind == "dct" and from_weights):
        raise ValueError("--coder goes with --kind dct --from-weights (codec v4 from codec_v3)")
    if rd_choice and not (kind == "dct" and from_weights):
        raise ValueError("--rd-choice goes with --kind dct --from-weights (codec v4 from codec_v3)")
    if kind == "dct" and from_weights:
        if nproc is not None:
            raise ValueError("--from-weights trains nothing: drop --nproc")
        from .semantic.dct.train import derive

        name = name or ("codec_v4" if coder == 4 else "codec_v3")
        return _trained(name, derive(out, name, from_weights, artefact_quant, command=command, coder=coder,
                                     data_dir=data, rd_choice=rd_choice))
    if kind == "dct":
        from .semantic.dct.restore import RestoreConfig
        from .semantic.dct.train import train as run_dct

        name = name or "codec_v2"
        _check_shards(batch or 8, nproc)
        m = distributed.launch(functools.partial(
            run_dct, out, name, RestoreConfig(width=width or 16), bpp=bpp, seed=seed, minutes=minutes,
            steps=steps or 6000, batch=batch or 8, crop=crop or 128, data_dir=data, command=command), nproc)
        return _trained(name, _manifest(out, name, m))
    if nproc is not None or distributed.under_torchrun():
        raise ValueError("--nproc / torchrun: data-parallel training covers the dct codec and the inpainter")
    from .semantic.latent.net import LatentConfig
    from .semantic.latent.train import train as run

    name = name or "codec_v1"
    cfg = LatentConfig(channels=channels, bits=bits, downsample=downsample, width=width or 48)
    m = run(cfg, out, name, seed=seed, minutes=minutes, steps=steps or 4000, batch=batch or 16,
            crop=crop or 64, data_dir=data, command=command)
    return _trained(name, m)


def train_inpainter(name: str | None, out: Path | None, command: str, *, steps: int, batch: int, minutes: float,
                    seed: int, threads: int, width: int, size: int, nproc: int | None = None) -> list[str]:
    """The ``train inpainter`` command: train the conditional inpainter (``generative.train``); returns its
    summary lines. ``nproc``: data-parallel in that many processes (:mod:`sdr_semcom.distributed`)."""
    from . import distributed
    from .generative.network import DEFAULT_NAME, MODELS_DIR, NetConfig
    from .generative.train import TrainConfig, train_inpainter as run

    name = name or DEFAULT_NAME
    out = Path(out or MODELS_DIR)
    _check_shards(batch, nproc)
    m = distributed.launch(functools.partial(
        run, out, name, TrainConfig(steps, batch, seed=seed, minutes=minutes, threads=threads),
        NetConfig(width=width, size=size), command=command), nproc)
    return _trained(name, _manifest(out, name, m))


def _check_shards(batch: int, nproc: int | None) -> None:
    """Before any process starts: the global batch splits into equal shards."""
    import os

    from . import distributed

    n = int(os.environ["WORLD_SIZE"]) if distributed.under_torchrun() else nproc or 1
    if batch % n:
        raise ValueError(f"--batch {batch} must be a multiple of the {n} processes (equal shards make DDP's "
                         "averaged gradient the global batch's)")


def _manifest(out: Path, name: str, returned: dict | None) -> dict:
    """The trainer's manifest: what it returned, or (spawned ranks) what rank 0 wrote."""
    if returned is None:
        return json.loads((out / f"{name}.json").read_text())
    return returned


def _trained(name: str, manifest: dict) -> list[str]:
    """A training command's summary: the held-out metrics, the files written (nothing on ranks other than 0)."""
    if not manifest:
        return []
    return [json.dumps(manifest["metrics_held_out"], indent=1),
            f"wrote {name}.pt (sha256 {manifest['sha256'][:16]}...) and {name}.json"]
