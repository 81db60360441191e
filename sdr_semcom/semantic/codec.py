"""The codec as the link sees it: image -> (header, packets) -> image.

Weights are loaded from ``models/<name>.pt`` and checked against the manifest's sha256; a
missing or mismatching file says what to run. Images of any size and mode are accepted:
grey and RGBA become RGB, sizes are padded (edge replication) to the latent grid and cropped
back after decoding.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from .model import Codec, CodecConfig
from .packets import FeatureHeader, depacketize, packetize

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
DEFAULT_NAME = "codec_v2"  # the codec the link uses unless told otherwise
GREY = 127


class ImageCodec(Protocol):
    """What the link needs from a codec (both :class:`SemanticCodec` and ``DctCodec`` are one)."""

    id: str  # name + weights hash prefix, carried in every header

    def encode(self, img: np.ndarray) -> tuple[FeatureHeader, list[bytes]]: ...

    def decode(self, header: FeatureHeader, packets: list[bytes | None]) -> tuple[np.ndarray, "DecodeInfo"]: ...


class WeightsError(RuntimeError):
    """Codec weights missing or not matching their manifest."""


@dataclass
class DecodeInfo:
    packets_expected: int
    packets_received: int
    packets_dropped: int  # malformed (wrong length / index): counted, not decoded
    received_fraction: float  # of latent positions
    all_lost: bool  # True: the output is the defined grey image


class SemanticCodec:
    """Encoder and decoder around a trained :class:`Codec`.

    Parameters
    ----------
    model : Codec
    name, sha256 : str
        Identify the weights; the header carries ``name`` and a hash prefix so a receiver with
        other weights refuses to decode.
    packet_bytes : int
        Target packet size (the number of packets is chosen so none exceeds it).
    """

    def __init__(self, model: Codec, name: str = "codec_v1", sha256: str = "", packet_bytes: int = 512) -> None:
        self.model = model.eval()
        self.cfg: CodecConfig = model.cfg
        self.id = f"{name}:{sha256[:12]}"
        self.packet_bytes = packet_bytes

    @classmethod
    def from_state(cls, blob: dict, name: str, sha256: str, **kw) -> "SemanticCodec":
        """From a weights file's contents (``{"config", "state_dict"}``); see :func:`load_codec`."""
        model = Codec(CodecConfig(**blob["config"]))
        model.load_state_dict(blob["state_dict"])
        return cls(model, name, sha256, **kw)

    # ------------------------------------------------------------------------------------------
    def _prepare(self, img: np.ndarray) -> tuple[torch.Tensor, tuple[int, int]]:
        from .data import to_rgb

        rgb = to_rgb(img)
        h, w = rgb.shape[:2]
        d = self.cfg.downsample
        ph, pw = -(-h // d) * d, -(-w // d) * d
        padded = np.pad(rgb, ((0, ph - h), (0, pw - w), (0, 0)), mode="edge")
        return torch.from_numpy(padded).permute(2, 0, 1)[None].float() / 255, (h, w)

    def encode(self, img: np.ndarray) -> tuple[FeatureHeader, list[bytes]]:
        """Image (H, W[, 3 or 4]) uint8 -> header and packets."""
        x, (h, w) = self._prepare(img)
        with torch.no_grad():
            codes = self.model.encode(x)[0].numpy().astype(np.uint32)
        c, lh, lw = codes.shape
        total = lh * lw * c * self.cfg.bits / 8
        n_packets = max(1, int(np.ceil(total / self.packet_bytes)))
        header = FeatureHeader(self.id, h, w, lh, lw, c, self.cfg.bits, n_packets)
        return header, packetize(codes, self.cfg.bits, n_packets)

    def decode(self, header: FeatureHeader, packets: list[bytes | None]) -> tuple[np.ndarray, DecodeInfo]:
        """Header and packets (None where lost) -> RGB uint8 image of the original size."""
        if header.codec != self.id:
            raise ValueError(f"features were made by codec {header.codec}, this receiver has {self.id}")
        if (header.channels, header.bits) != (self.cfg.channels, self.cfg.bits):
            raise ValueError("feature header does not match this codec's latent shape")
        codes, received, dropped = depacketize(packets, header)
        n_ok = sum(p is not None for p in packets[: header.n_packets]) - dropped
        info = DecodeInfo(header.n_packets, max(n_ok, 0), dropped, float(received.mean()), not received.any())
        if info.all_lost:
            return np.full((header.height, header.width, 3), GREY, np.uint8), info
        with torch.no_grad():
            y = self.model.decode(torch.from_numpy(codes)[None], torch.from_numpy(received)[None, None])
        img = (y[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
        return img[: header.height, : header.width], info


def _checked_weights(name: str, models_dir: Path) -> tuple[dict, str]:
    """The weights file's contents and sha256, after checking it against its manifest."""
    weights, manifest_path = models_dir / f"{name}.pt", models_dir / f"{name}.json"
    hint = f"run `sdr-semcom train codec --name {name}` to (re)create it"
    if not manifest_path.exists() or not weights.exists():
        raise WeightsError(f"codec weights {weights} or manifest {manifest_path} missing: {hint}")
    manifest = json.loads(manifest_path.read_text())
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    if sha != manifest.get("sha256"):
        raise WeightsError(f"{weights}: sha256 {sha[:16]}... does not match the manifest's "
                           f"{str(manifest.get('sha256'))[:16]}...: {hint}, or restore the committed file")
    return torch.load(weights, map_location="cpu", weights_only=True), sha


def load_codec(name: str = DEFAULT_NAME, models_dir: Path = MODELS_DIR, **kw):
    """The codec ``models/<name>`` holds, checked against its manifest: a :class:`SemanticCodec`
    (latent codec, v1) or a :class:`~.dctcodec.DctCodec` (v2), whichever its weights are."""
    blob, sha = _checked_weights(name, models_dir)
    if blob.get("kind") == "dct":
        from .dctcodec import DctCodec

        return DctCodec.from_state(blob, name, sha, **kw)
    return SemanticCodec.from_state(blob, name, sha, **kw)
