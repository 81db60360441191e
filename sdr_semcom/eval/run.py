"""The evaluation sweep behind ``sdr-semcom eval``: images x SNR x receivers, rows streamed to JSONL.

Per image the transmitter runs once: the guard at the image's own size, then the codec (long side
``size``). Per SNR point one loopback carries every image's messages through the PHY, with the
eavesdropper's tap (its SNR: ``eve_snr``, default the same as the authorized link: the strongest
eavesdropper). Then each receiver decodes, fills and is scored against the original:

- ``auth``: the authorized receiver as shipped (``make_inpainter('authorized', generator)``, aligned
  embeddings);
- ``net_true`` / ``net_null`` / ``net_other``: the same network with the true embedding, its null
  embedding, and the embedding of a region of another image (claim 1; same boxes, same weights, no
  randomness in the network);
- ``eve``, ``eve_telea``, ``eve_face_prior``: the eavesdropper's fills (:mod:`.attacks`);
- once, without channel: the baselines of :mod:`.baselines` on the guard's removed pixels.

Rows (``rows.jsonl``, one JSON object a line, flushed as they come): ``kind`` is ``image`` (quality,
detection utility), ``face`` (per judge: similarity to the original, margin to the threshold,
leakage above the impostor floor, top-1 re-identification), ``region`` (quality inside each
removed region, with its category), ``message`` (the eavesdropper's reading of the sealed message),
``floor`` (the judges' computed floors) and ``done`` (an SNR point, or the baselines, finished:
``--resume`` skips those).
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .attacks import EVE_FILLS, eve_fills, message_attack
from .baselines import BASELINES, baseline
from .identity import Face, find_faces, impostor_floor, judges, leak, reidentify
from .quality import hole_quality, quality
from .utility import detection_utility

log = logging.getLogger(__name__)
NET_VARIANTS = ("net_true", "net_null", "net_other")
RECEIVERS = ("auth",) + NET_VARIANTS + tuple(EVE_FILLS)
MOSAIC_VARIANTS = ("auth", "net_true", "net_null", "eve", "eve_face_prior", "blur", "pixelate")


@dataclass
class EvalConfig:
    """What ``sdr-semcom eval`` sweeps.

    Parameters
    ----------
    images : list of Path
        Image files (default: :func:`default_images`).
    snrs : list of float
        Authorized link SNR points, dB.
    out : Path
        Output folder (rows.jsonl, rows.csv, claims.json, plots, mosaics).
    eve_snr : float or None
        Eavesdropper's SNR, dB; None: the same as the authorized link at each point.
    generator : str
        The authorized receiver's generator (``make_inpainter``'s ``generator``).
    size : int
        Long side of the image sent.
    resume : bool
        Keep the rows of ``out/rows.jsonl`` and skip the SNR points (and baselines) they finish.
    perceptual : bool
        Compute ST-LPIPS and MS-SSIM (off in ``--quick``).
    judge_names : tuple of str
        Identity judges.
    seed : int
        Seeds the choice of the other image's embedding and the bootstrap.
    """

    images: list[Path]
    snrs: list[float]
    out: Path
    eve_snr: float | None = None
    generator: str = "auto"
    size: int = 256
    resume: bool = False
    perceptual: bool = True
    judge_names: tuple[str, ...] = ("sface", "dlib")
    seed: int = 0
    quick: bool = False
    max_side: int | None = None
    eve_fills: tuple[str, ...] = tuple(EVE_FILLS)
    extra: dict = field(default_factory=dict)


def default_images(quick: bool = False) -> list[Path]:
    """The shipped photos with faces whose people the inpainter never trained on.

    ``inpainter_v1`` trained on ``sdr_semcom.semantic.data.FACES_TRAIN`` (breakingbad, einstein, lenna,
    takeo, tongue, Tom Hanks) and on scikit-image's astronaut; it held out ``t1.jpg`` (six people) and
    ``grace_hopper``: those are the evaluation set (7 faces, 7 identities).
    """
    from ..samples import fetch_face_samples, fetch_samples
    from ..semantic.data import FACES_TRAIN

    faces = fetch_face_samples()
    hopper = next(p for p in fetch_samples() if p.stem == "grace_hopper")
    out = [faces / "t1.jpg", hopper]
    assert not {p.name for p in out} & set(FACES_TRAIN)
    return out


def parse_snrs(spec: str) -> list[float]:
    """``'0:20:2'`` (start:stop:step, stop included) or ``'5,10,20'`` -> list of dB values."""
    try:
        if ":" in spec:
            a, b, s = (float(v) for v in spec.split(":"))
            if s <= 0 or b < a:
                raise ValueError
            return [round(a + i * s, 6) for i in range(int(np.floor((b - a) / s + 1e-9)) + 1)]
        return [float(v) for v in spec.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--snr {spec!r}: give start:stop:step (e.g. 0:20:2, stop included) or a list (5,10,20)") \
            from None


class RowWriter:
    """Appends rows to ``rows.jsonl`` (flushed each time) and keeps them in memory."""

    def __init__(self, path: Path, resume: bool) -> None:
        self.path = path
        self.rows: list[dict] = []
        if resume and path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    try:
                        self.rows.append(json.loads(line))
                    except json.JSONDecodeError:  # a line cut by a kill: dropped, its point reruns
                        break
            # drop the rows of unfinished points: they are recomputed
            done = self.done()
            self.rows = [r for r in self.rows if r["kind"] == "floor" or _point(r) in done]
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as f:
            for r in self.rows:
                f.write(json.dumps(r) + "\n")
        self._f = path.open("a")

    def done(self) -> set:
        return {_point(r) for r in self.rows if r["kind"] == "done"}

    def write(self, row: dict) -> None:
        self.rows.append(row)
        self._f.write(json.dumps(row, default=_json_default) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def _point(row: dict):
    return row.get("snr")


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o))


def _progress(msg: str) -> None:
    print(f"[eval {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass
class Prepared:
    """One image after the transmitter: original, what the guard sent, its faces, its messages."""

    name: str
    original: np.ndarray
    sent: object  # pipeline.SentImage
    faces: list[Face]
    messages: list


def run_eval(cfg: EvalConfig) -> dict:
    """Run the sweep into ``cfg.out``; returns the claims (see :func:`sdr_semcom.eval.report.claims`)."""
    from ..config import DEMO_LINK
    from ..images import load_images
    from ..link.loopback import run_loopback
    from ..pipeline import SemanticReceiver, SemanticTransmitter
    from ..privacy import PrivacyDatabase, PrivacyGuard, default_backends
    from ..semantic.weights import load_codec
    from . import report

    t0 = time.time()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    writer = RowWriter(out / "rows.jsonl", cfg.resume)
    done = writer.done()
    named = load_images(cfg.images).images
    if cfg.max_side:
        from ..images import fit

        named = [(n, fit(img, cfg.max_side) if max(img.shape[:2]) > cfg.max_side else img) for n, img in named]
    db = PrivacyDatabase.default()
    cfg.extra["categories"] = {e.id: e.category for e in db.entries}
    codec = load_codec()
    tx = SemanticTransmitter(codec, PrivacyGuard(db, default_backends()), db)
    prepared: list[Prepared] = []
    for name, img in named:
        _progress(f"guard + codec: {name} {img.shape[1]}x{img.shape[0]}")
        msgs, sent = tx.messages(img, cfg.size)
        prepared.append(Prepared(name, img, sent, find_faces(name, img), msgs))
    js = judges(cfg.judge_names)
    gallery = {j.name: {f.key: j.embed(p.original, f) for p in prepared for f in p.faces} for j in js}
    floors = {j.name: impostor_floor(j, gallery[j.name]) for j in js}
    if not any(r["kind"] == "floor" for r in writer.rows):
        for fl in floors.values():
            writer.write({"kind": "floor", **fl.__dict__, "gallery": len(gallery[fl.judge])})
    scorer = Scorer(js, gallery, floors, cfg.perceptual)
    mosaic_dir = out / "recon"
    if "baselines" not in done:
        for p in prepared:
            _progress(f"baselines: {p.name}")
            mask = _mask(p)
            for b in BASELINES:
                img = baseline(b, p.original, mask)
                scorer.rows(writer, p, img, {"snr": "baselines", "receiver": b}, mask)
                _save(mosaic_dir / b / f"{p.name}.png", img)
        writer.write({"kind": "done", "snr": "baselines"})
    all_messages = [m for p in prepared for m in p.messages]
    for k, snr in enumerate(cfg.snrs):
        if snr in done:
            _progress(f"SNR {snr} dB: already in rows.jsonl (--resume)")
            continue
        eve_snr = snr if cfg.eve_snr is None else cfg.eve_snr
        _progress(f"SNR {snr} dB (eve {eve_snr} dB): PHY loopback of {len(all_messages)} messages")
        link = DEMO_LINK.with_overrides(snr_db=snr, eve_snr_db=eve_snr)
        result = run_loopback(all_messages, link)
        auth = {it.index: it for it in SemanticReceiver(codec, db=db).decode(result.rx["auth"].messages)}
        eve = {it.index: it for it in SemanticReceiver(codec).decode(result.rx["eve"].messages)}
        vectors = {i: _opened_vectors(result.rx["auth"].messages, i, db, codec) for i in range(len(prepared))}
        last = k == len(cfg.snrs) - 1
        for i, p in enumerate(prepared):
            _progress(f"SNR {snr} dB: receivers of {p.name}")
            base = {"snr": snr, "eve_snr": eve_snr}
            outs = _receive(p, i, auth.get(i), eve.get(i), vectors, cfg, prepared)
            eve_item = eve.get(i)
            data = _embedding_data(result.rx["eve"].messages, i)
            if data is not None:
                ma = message_attack(data, [f["description"] for f in p.sent.findings])
                writer.write({"kind": "message", "image": p.name, **base, **ma.to_json(),
                              "eve_region_count": None if eve_item is None else eve_item.region_count})
            for rx_name, (img, mask, backends) in outs.items():
                scorer.rows(writer, p, img, {**base, "receiver": rx_name, "backends": backends}, mask)
                if last and img is not None:
                    _save(mosaic_dir / rx_name / f"{p.name}.png", img)
        writer.write({"kind": "done", "snr": snr})
    writer.close()
    wall = time.time() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = report.write_all(writer.rows, out, prepared_names=[p.name for p in prepared], seed=cfg.seed,
                               meta={"images": [str(p) for p in cfg.images], "snrs": cfg.snrs, "eve_snr": cfg.eve_snr,
                                     "generator": cfg.generator, "size": cfg.size, "quick": cfg.quick,
                                     "wall_s": round(wall, 1), "peak_rss_mb": round(peak_mb, 1)})
    _progress(f"done in {wall:.0f} s, peak memory {peak_mb:.0f} MB")
    return summary


def _mask(p: Prepared) -> np.ndarray:
    return p.sent.mask if p.sent.mask is not None else np.zeros(p.original.shape[:2], bool)


def _save(path: Path, img: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


def _embedding_data(messages, index: int) -> bytes | None:
    from ..phy.framing import PayloadType
    from ..pipeline import EMBEDDING_SLOT, MESSAGES_PER_IMAGE

    for m in messages:
        if m.ptype is PayloadType.EMBEDDING and m.msg_id == MESSAGES_PER_IMAGE * index + EMBEDDING_SLOT and m.complete:
            return m.data
    return None


def _opened_vectors(messages, index: int, db, codec) -> list[np.ndarray] | None:
    """The authorized receiver's unkeyed vectors of image ``index`` (None: message lost or not opened)."""
    from ..pipeline import EMBEDDING_SLOT, MESSAGES_PER_IMAGE
    from ..privacy.keying import LinkKeys
    from ..phy.framing import PayloadType
    from ..privacy.wire import Context, parse_findings

    data = _embedding_data(messages, index)
    header = next((m.data for m in messages if m.ptype is PayloadType.METADATA and m.complete
                   and m.msg_id == MESSAGES_PER_IMAGE * index), None)
    if data is None or header is None:
        return None
    try:
        msg = parse_findings(data)
        ctx = Context(codec.id, 0, MESSAGES_PER_IMAGE * index + EMBEDDING_SLOT, header)
        return [r.vector for r in msg.open(LinkKeys.from_database(db), ctx).regions]
    except Exception as exc:  # noqa: BLE001 - reported as a lost embedding
        log.warning("image %d: EMBEDDING message does not open (%s)", index, exc)
        return None


def _receive(p: Prepared, i: int, auth_item, eve_item, vectors: dict, cfg: EvalConfig, prepared: list) -> dict:
    """Every receiver's reconstruction of image ``i``: name -> (image or None, mask, backends)."""
    from ..generative import make_inpainter, regions_from_rows, removed_mask

    out: dict = {}
    if auth_item is None or auth_item.image is None:
        for n in ("auth",) + NET_VARIANTS:
            out[n] = (None, None, None)
    else:
        vecs = vectors.get(i)
        rows = auth_item.regions
        # categories from the database: regions_from_rows' own reading of the words imports a name the
        # privacy package no longer has (sdr_semcom.privacy.guard.CATEGORY_WORDS, now in .descriptions)
        regions = regions_from_rows(rows, vecs if vecs is not None and len(vecs) == len(rows) else None,
                                    categories=cfg.extra["categories"])
        mask = removed_mask(auth_item.image.shape[:2], regions)
        img = auth_item.image
        r = _fill(_cached_inpainter("authorized", cfg.generator), ("auth", cfg.generator), img, mask, regions)
        out["auth"] = (r.image, mask, r.backends)
        net = _cached_inpainter("authorized", "network")
        r = _fill(net, ("net",), img, mask, regions)
        out["net_true"] = (r.image, mask, r.backends)
        r = _fill(_cached_inpainter("eavesdropper", "network"), ("null",), img, mask, regions)
        out["net_null"] = (r.image, mask, r.backends)
        r = _fill(net, ("net",), img, mask, _other_embeddings(i, regions, vectors, cfg.seed))
        out["net_other"] = (r.image, mask, r.backends)
    if eve_item is None or eve_item.image is None:
        for n in cfg.eve_fills:
            out[n] = (None, None, None)
    else:
        mask = _mask(p)  # stronger than the real eavesdropper: the exact removed pixels
        boxes = [f["box"] for f in p.sent.findings]
        k = ("eve", _digest(eve_item.image, mask, np.array(boxes, float)), cfg.eve_fills)
        if k not in _FILLS:
            _FILLS[k] = eve_fills(eve_item.image, mask, boxes, cfg.eve_fills)
        for n, img in _FILLS[k].items():
            out[n] = (None, None, None) if isinstance(img, Exception) else (img, mask, [n])
    return out


_INPAINTERS: dict = {}
_FILLS: dict = {}


def _digest(*arrays) -> str:
    import hashlib

    h = hashlib.sha1()
    for a in arrays:
        if a is None:
            h.update(b"-")
            continue
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _fill(inp, key: tuple, image: np.ndarray, mask: np.ndarray, regions: list):
    """``inp.fill`` memoised on the inputs' bytes: above the link's threshold every SNR point decodes
    the same image, and its fills (the DCGAN face prior takes seconds a face) are computed once."""
    k = (key, _digest(image, mask, *[np.array(r.box) for r in regions],
                      *[r.embedding for r in regions]), tuple(r.category for r in regions))
    if k not in _FILLS:
        _FILLS[k] = inp.fill(image, mask, regions)
    return _FILLS[k]


def _cached_inpainter(role: str, generator: str):
    from ..generative import make_inpainter

    key = (role, generator)
    if key not in _INPAINTERS:
        _INPAINTERS[key] = make_inpainter(role, generator)
    return _INPAINTERS[key]


def _other_embeddings(i: int, regions: list, vectors: dict, seed: int) -> list:
    """``regions`` with each embedding replaced by one of a region of another image (seeded);
    another region of the same image when no other image has one."""
    from ..generative import Region

    rng = np.random.default_rng(seed + 1000 * i)
    pool = [v for j, vs in vectors.items() if j != i and vs for v in vs]
    if not pool:
        own = vectors.get(i) or []
        pool = own
    out = []
    for k, r in enumerate(regions):
        if r.embedding is None or not pool:
            out.append(r)
            continue
        cands = [v for v in pool if not np.allclose(v, r.embedding)] or pool
        out.append(Region(r.box, r.category, r.entry_id, r.description, cands[int(rng.integers(len(cands)))]))
    return out


class Scorer:
    """Scores one reconstruction against its original and writes its rows."""

    def __init__(self, judges_, gallery: dict, floors: dict, perceptual: bool) -> None:
        self.judges, self.gallery, self.floors, self.perceptual = judges_, gallery, floors, perceptual
        self._seen: dict[str, list[dict]] = {}

    def rows(self, writer: RowWriter, p: Prepared, img: np.ndarray | None, base: dict, mask) -> None:
        """Score ``img``; a reconstruction byte-identical to one already scored reuses its figures."""
        key = _digest(img, mask) + p.name if img is not None else None
        if key is not None and key in self._seen:
            for r in self._seen[key]:
                writer.write({**r, "image": p.name, **base})
            return
        start = len(writer.rows)
        self._score(writer, p, img, base, mask)
        if key is not None:
            keep = ("image", *base)
            self._seen[key] = [{k: v for k, v in r.items() if k not in keep} for r in writer.rows[start:]]

    def _score(self, writer: RowWriter, p: Prepared, img: np.ndarray | None, base: dict, mask) -> None:
        head = {"image": p.name, **base}
        if img is None:
            writer.write({"kind": "image", **head, "received": False})
            for f in p.faces:  # a lost image shows nobody: no leak, no re-identification
                row = {"kind": "face", **head, "face": f.key, "received": False, "iou": 0.0}
                for j in self.judges:
                    row.update({f"{j.name}_sim": None, f"{j.name}_leak": 0.0, f"{j.name}_reid": False,
                                f"{j.name}_same": False})
                writer.write(row)
            return
        if img.shape != p.original.shape:
            raise RuntimeError(f"{p.name}: receiver {base.get('receiver')} gave {img.shape}, original {p.original.shape}")
        q = quality(p.original, img, mask if mask is not None and mask.any() else None, self.perceptual)
        util = detection_utility(img, p.faces)
        writer.write({"kind": "image", **head, "received": True, **q.to_json(), "faces": len(p.faces),
                      "detected": util["detected"], "found": util["found"],
                      "iou_mean": float(np.mean(util["iou"])) if util["iou"] else None})
        for f, iou in zip(p.faces, util["iou"]):
            row = {"kind": "face", **head, "face": f.key, "received": True, "iou": iou}
            for j in self.judges:
                probe = j.embed(img, f)
                sim = j.similarity(probe, self.gallery[j.name][f.key])
                fl = self.floors[j.name]
                row.update({f"{j.name}_sim": round(sim, 4), f"{j.name}_margin": round(sim - j.threshold, 4),
                            f"{j.name}_leak": round(leak(sim, fl), 4), f"{j.name}_same": bool(sim >= j.threshold),
                            f"{j.name}_reid": bool(reidentify(j, probe, self.gallery[j.name], f.key))})
            writer.write(row)
        for k, fnd in enumerate(p.sent.findings):
            hole = _grown_hole(fnd["box"], _mask(p))  # the guard's removed pixels of this region
            if not hole.any():
                continue
            writer.write({"kind": "region", **head, "region": k, "category": fnd["category"],
                          **hole_quality(p.original, img, hole, self.perceptual)})


def _grown_hole(box, mask: np.ndarray, margin: float = 0.15) -> np.ndarray:
    """The removed pixels of one region: ``mask`` inside the box grown by the guard's margin."""
    h, w = mask.shape
    x0, y0, x1, y1 = box
    mx, my = margin * (x1 - x0), margin * (y1 - y0)
    out = np.zeros_like(mask)
    ya, yb = max(int(np.floor(y0 - my)), 0), min(int(np.ceil(y1 + my)), h)
    xa, xb = max(int(np.floor(x0 - mx)), 0), min(int(np.ceil(x1 + mx)), w)
    out[ya:yb, xa:xb] = mask[ya:yb, xa:xb]
    return out


def evaluate(images: list[str] | tuple = (), snr: str = "0:20:2", out: Path = Path("out/eval"), eve_snr: float | None = None,
             generator: str = "auto", size: int = 256, resume: bool = False, quick: bool = False) -> dict:
    """The ``eval`` command: build the :class:`EvalConfig` and :func:`run_eval` it.

    ``quick``: two images (the defaults, or the first two given) scaled to a long side of 512 px, two
    SNR points (the lowest and highest of ``snr``), SFace only, no ST-LPIPS / MS-SSIM, no DCGAN face
    prior (``generator='auto'`` becomes ``'network'``; the eavesdropper tries Telea and the null
    network): a smoke run for tests and ``make demo``.
    """
    from ..images import image_files

    paths = image_files(images) if images else default_images(quick)
    snrs = parse_snrs(snr)
    judge_names = ("sface", "dlib")
    if quick:
        paths, snrs, judge_names = paths[:2], sorted({snrs[0], snrs[-1]}), ("sface",)
    cfg = EvalConfig(list(paths), snrs, Path(out), eve_snr, generator, size, resume, perceptual=not quick,
                     judge_names=judge_names, quick=quick)
    if quick:
        cfg.max_side, cfg.eve_fills = 512, ("eve", "eve_telea")
        cfg.generator = "network" if generator == "auto" else generator
    return run_eval(cfg)
