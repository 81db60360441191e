"""Training the latent codec (v1): random crops of shipped images, erasures and code errors, MSE loss.

Per batch: 70 % of the samples lose U(0, 0.6) of their latent positions (as lost packets do);
30 % of the batches also get 1 % of their codes replaced by random levels (as a bit error that
slipped past the CRC would).

``sdr-semcom train codec --kind latent`` runs :func:`train` and writes the weights and a manifest
(data, command, seed, sha256, metrics measured on held-out images) under ``models/``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..training import optimise, random_crops, save_codec, start
from .codec import LatentCodec
from .net import LatentConfig, LatentNet


def _erasures(shape, rng: np.random.Generator) -> torch.Tensor:
    """Received maps: 30% of samples lose nothing, the rest lose U(0, 0.6) of their positions."""
    b, _, h, w = shape
    rates = np.where(rng.random(b) < 0.3, 0.0, rng.uniform(0, 0.6, b))
    keep = rng.random((b, 1, h, w)) >= rates[:, None, None, None]
    return torch.from_numpy(keep.astype(np.float32))


def train(cfg: LatentConfig, out_dir: Path, name: str, seed: int = 1, minutes: float = 10.0, steps: int = 4000,
          batch: int = 16, crop: int = 64, lr: float = 1e-3, data_dir: Path | None = None,
          command: str = "") -> dict:
    """Train, save ``<name>.pt`` and ``<name>.json`` into ``out_dir``; returns the manifest."""
    run = start(seed, data_dir)
    rng, device, images = run.rng, run.device, list(run.images.values())
    model = LatentNet(cfg).to(device)

    def loss_of_step(_step):
        x = random_crops(images, rng, batch, crop).to(device)
        with torch.no_grad():
            lat = model.encoder(x - 0.5)
        received = _erasures(lat.shape, rng).to(device)
        y = model(x, received, error_rate=0.01 if rng.random() < 0.3 else 0.0)
        return torch.mean((y - x) ** 2)

    step = optimise(model.parameters(), loss_of_step, steps, lr, minutes, run.t0)
    model = model.cpu().eval()
    fields = {"config": cfg.to_dict(), "command": command, "seed": seed}
    training = {"steps": step, "batch": batch, "crop": crop, "lr": lr}
    return save_codec(out_dir, name, LatentCodec(model, name).state(),
                      lambda sha: LatentCodec(model, name=name, sha256=sha), fields, run, training)
