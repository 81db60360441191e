"""Training codec v2 (:mod:`.codec`): the entropy model's initial probabilities, then the
restoration network.

1. Initial probabilities: every training image is coded, packet by packet as the codec does,
   at quantiser scales 0.25 .. 4; the coder's decisions are counted per context
   (:func:`.entropy.initial_probabilities`).
2. Restoration network: random crops (flips, gain/contrast jitter), quantised at a scale drawn
   log-uniformly in [0.25, 4], 70 % of the samples losing U(0, 0.6) of their MCUs (as lost
   packets do); MSE between the network's output and the original crop.

``sdr-semcom train codec --kind dct`` runs :func:`train` and writes ``<name>.pt`` + manifest. With
``--nproc N`` or under ``torchrun`` (:mod:`sdr_semcom.distributed`) each rank draws its shard of every
step's global batch, sample by sample from generators seeded ``(seed, step, index)``.
``--from-weights codec_v2 --artefact-quant 500`` runs :func:`derive` instead (codec v3: v2's entropy
model and network, its decoder keeping the decoded pixels where the quantiser is fine).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from ... import distributed
from ..interleave import packet_cells
from ..data import held_out_images
from ..metrics import evaluate
from ..training import optimise, random_crops, save_codec, start
from ..weights import MODELS_DIR, checked_weights
from . import contexts, entropy, transform
from .codec import DctCodec, encode_packet
from .restore import Restore, RestoreConfig

log = logging.getLogger(__name__)
SCALES = (0.25, 4.0)


def learn_probabilities(images: list[np.ndarray], n_packets: int = 12, coder: int = 2) -> np.ndarray:
    """Initial probabilities of entropy coder ``coder`` (2: :mod:`.entropy`, 4: :mod:`.contexts`) from
    its decisions on ``images`` at several scales, cut into ``n_packets`` packets as the codec does."""
    n_ctx = contexts.N_CTX if coder == 4 else entropy.N_CTX
    counts = np.zeros((3, n_ctx, 2), np.int64)
    probs = entropy.initial_probabilities(np.zeros((3, n_ctx, 2), np.int64))  # 1/2 everywhere
    out = np.empty(1 << 22, np.uint8)
    for img in images:
        ph, pw = transform.padded_shape(*img.shape[:2])
        coefs = transform.forward(np.pad(img, ((0, ph - img.shape[0]), (0, pw - img.shape[1]), (0, 0)), mode="edge"))
        for scale in np.geomspace(*SCALES, 6):
            q = transform.quantise(coefs, scale)
            for idx in packet_cells(len(q), n_packets):
                encode_packet(coder, q[idx], idx, pw // 16, scale, probs, counts, out)
    return entropy.initial_probabilities(counts)


def degrade(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(B, H, W, 3) uint8 crops -> what the decoder sees: (B, H, W, 3) float RGB in [0, 1] with
    lost MCUs at 0, and (B, H, W) masks."""
    out = np.empty(x.shape, np.float32)
    masks = np.empty(x.shape[:3], np.float32)
    for i, img in enumerate(x):
        scale = float(np.exp(rng.uniform(*np.log(SCALES))))
        q = transform.quantise(transform.forward(img), scale)
        rate = 0.0 if rng.random() < 0.3 else rng.uniform(0, 0.6)
        received = rng.random(len(q)) >= rate
        received[rng.integers(len(q))] = True  # never all lost (that case is the grey image)
        ycc, mask = transform.inverse(q, scale, received, img.shape[:2])
        out[i] = np.clip(transform.ycc_to_rgb(ycc) / 255, 0, 1) * mask[..., None]
        masks[i] = mask
    return out, masks


def train(out_dir: Path, name: str, cfg: RestoreConfig = RestoreConfig(), bpp: float = 0.75, packet_bytes: int = 512,
          seed: int = 1, minutes: float = 20.0, steps: int = 6000, batch: int = 8, crop: int = 128, lr: float = 1e-3,
          data_dir: Path | None = None, command: str = "") -> dict:
    """Train, save ``<name>.pt`` and ``<name>.json`` into ``out_dir``; returns the manifest."""
    if crop % 16:
        raise ValueError("crop must be a multiple of 16 (the MCU size)")
    w = distributed.world()
    per_sample = w.backend != "none"  # a DDP run (any world size): each rank draws its shard's samples
    mine = distributed.shard(batch, w) if per_sample else range(batch)
    run = start(seed, data_dir)
    rng, device, images = run.rng, run.device, list(run.images.values())
    probs = learn_probabilities(images)
    log.info("initial probabilities from %d images in %.0f s", len(images), time.monotonic() - run.t0)
    net = Restore(cfg).to(device)
    model = distributed.wrap(net, w)

    def batch_of(step: int) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
        if not per_sample:
            target = random_crops(images, rng, batch, crop)  # (B, 3, H, W) float in [0, 1]
            crops = (target.permute(0, 2, 3, 1).numpy() * 255 + 0.5).astype(np.uint8)
            return (target, *degrade(crops, rng))
        parts = []
        for j in mine:
            r = distributed.sample_rng(seed, step, j)
            t = random_crops(images, r, 1, crop)
            parts.append((t, *degrade((t.permute(0, 2, 3, 1).numpy() * 255 + 0.5).astype(np.uint8), r)))
        return torch.cat([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts])

    def loss_of_step(step):
        target, seen, masks = batch_of(step)
        x = torch.from_numpy(seen).permute(0, 3, 1, 2).to(device)
        m = torch.from_numpy(masks)[:, None].to(device)
        return torch.mean((model(x, m) - target.to(device)) ** 2)

    losses: list[float] = []
    step = optimise(model.parameters(), loss_of_step, steps, lr, minutes, run.t0, losses)
    net = net.cpu().eval()
    if not w.main:
        return {}
    fields = {"kind": "dct", "config": {"restore": cfg.to_dict(), "bpp": bpp, "packet_bytes": packet_bytes},
              "command": command, "seed": seed}
    training = {"steps": step, "batch": batch, "crop": crop, "lr": lr, **w.to_json(),
                "data_stream": "per-sample" if per_sample else "sequential", "loss_curve": distributed.loss_curve(losses)}
    return save_codec(out_dir, name, DctCodec(probs, net, name, "", bpp=bpp, packet_bytes=packet_bytes).state(),
                      lambda sha: DctCodec(probs, net, name, sha, bpp=bpp, packet_bytes=packet_bytes), fields, run,
                      training)


def derive(out_dir: Path, name: str, source: str, artefact_quant: int, command: str = "",
           models_dir: Path = MODELS_DIR, coder: int | None = None, data_dir: Path | None = None,
           rd_choice: bool = False) -> dict:
    """A codec with ``source``'s network (no training) and its own decoder option ``artefact_quant``
    (see :class:`.codec.DctCodec`); writes ``<name>.pt`` and ``<name>.json`` (the source's data and
    training figures, ``derived_from`` its name and sha256, held-out metrics).

    ``coder`` (None: the source's): another entropy coder, whose initial probabilities are then
    learned here from the training images (:func:`learn_probabilities`; a new bitstream: codec v4
    is codec v3 with coder 4); the network stays the source's, as the pixels it sees are the same.
    ``rd_choice``: the encoder picks a quantiser table set and dead zone per image (an encoder option,
    see :class:`.codec.DctCodec`)."""
    blob, source_sha = checked_weights(source, models_dir)
    if blob.get("kind") != "dct":
        raise ValueError(f"{source} is not a DCT codec: nothing to derive from")
    blob = {**blob, "artefact_quant": int(artefact_quant)}
    src = json.loads((models_dir / f"{source}.json").read_text())
    data = src_data = src.get("data")
    if coder is not None and coder != int(blob.get("coder", 2)):
        if coder not in DctCodec.CODERS:
            raise ValueError(f"entropy coder {coder}: this version knows {DctCodec.CODERS}")
        run = start(1, data_dir)
        blob["probs"] = torch.from_numpy(learn_probabilities(list(run.images.values()), coder=coder))
        if data_dir is not None:  # the probabilities are the folder's; the network stays the source's
            data = {"source": str(data_dir), "train": sorted(run.images), "network": src_data}
        blob = {k: v for k, v in blob.items() if k != "coder"} | ({"coder": coder} if coder != 2 else {})
    blob = {k: v for k, v in blob.items() if k != "rd_choice"} | ({"rd_choice": True} if rd_choice else {})
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f"{name}.pt"
    torch.save(blob, weights)
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    config = {**src.get("config", {}), "artefact_quant": int(artefact_quant), "coder": int(blob.get("coder", 2)),
              **({"rd_choice": True} if rd_choice else {})}
    manifest = {"name": name, "kind": "dct", "weights": weights.name, "sha256": sha, "config": config,
                "derived_from": {"name": source, "sha256": source_sha}, "data": data,
                "command": command, "seed": src.get("seed"), "training": src.get("training")}
    codec = DctCodec.from_state(blob, name, sha)
    manifest["metrics_held_out"] = evaluate(codec, held_out_images())
    (out_dir / f"{name}.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
