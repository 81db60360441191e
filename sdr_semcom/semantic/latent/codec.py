"""Codec v1, the latent codec, as the link sees it: image -> (header, packets) -> image.

A trained convolutional encoder (:mod:`.net`) maps the image to a grid of latent positions,
each ``channels`` values of ``bits`` bits; the positions are spread over the packets
(:mod:`.packets`) and the decoder fills those of lost packets. Images of any size and mode are
accepted: grey and RGBA become RGB, sizes are padded (edge replication) to the latent grid and
cropped back after decoding.

In the :class:`~..api.ImageHeader`: ``grid_h x grid_w`` latent positions, ``planes`` latent
channels, ``bits`` bits per value, ``quant`` 0.
"""

from __future__ import annotations

import numpy as np
import torch

from ..api import GREY, DecodeInfo, ImageHeader
from ..data import to_rgb
from .net import LatentConfig, LatentNet
from .packets import depacketize, packetize


class LatentCodec:
    """Encoder and decoder around a trained :class:`~.net.LatentNet` (an :class:`~..api.ImageCodec`).

    Parameters
    ----------
    model : LatentNet
    name, sha256 : str
        Identify the weights; the header carries ``name`` and a hash prefix so a receiver with
        other weights refuses to decode.
    packet_bytes : int
        Target packet size (the number of packets is chosen so none exceeds it).
    """

    def __init__(self, model: LatentNet, name: str = "codec_v1", sha256: str = "", packet_bytes: int = 512) -> None:
        self.model = model.eval()
        self.cfg: LatentConfig = model.cfg
        self.id = f"{name}:{sha256[:12]}"
        self.packet_bytes = packet_bytes

    # ------------------------------------------------------------------------------ weights
    def state(self) -> dict:
        """What the weights file holds: ``{"config", "state_dict"}`` (no ``kind``: latent is the default)."""
        return {"config": self.cfg.to_dict(), "state_dict": self.model.state_dict()}

    @classmethod
    def from_state(cls, blob: dict, name: str, sha256: str, **kw) -> "LatentCodec":
        """From a weights file's contents (see :meth:`state`, :func:`~..weights.load_codec`)."""
        model = LatentNet(LatentConfig(**blob["config"]))
        model.load_state_dict(blob["state_dict"])
        return cls(model, name, sha256, **kw)

    # ------------------------------------------------------------------------------ encoder
    def _prepare(self, img: np.ndarray) -> tuple[torch.Tensor, tuple[int, int]]:
        rgb = to_rgb(img)
        h, w = rgb.shape[:2]
        d = self.cfg.downsample
        ph, pw = -(-h // d) * d, -(-w // d) * d
        padded = np.pad(rgb, ((0, ph - h), (0, pw - w), (0, 0)), mode="edge")
        return torch.from_numpy(padded).permute(2, 0, 1)[None].float() / 255, (h, w)

    def encode(self, img: np.ndarray) -> tuple[ImageHeader, list[bytes]]:
        """Image (H, W[, 3 or 4]) uint8 -> header and packets."""
        x, (h, w) = self._prepare(img)
        with torch.no_grad():
            codes = self.model.encode(x)[0].numpy().astype(np.uint32)
        c, lh, lw = codes.shape
        total = lh * lw * c * self.cfg.bits / 8
        n_packets = max(1, int(np.ceil(total / self.packet_bytes)))
        header = ImageHeader(self.id, h, w, lh, lw, c, self.cfg.bits, n_packets)
        return header, packetize(codes, self.cfg.bits, n_packets)

    # ------------------------------------------------------------------------------ decoder
    def decode(self, header: ImageHeader, packets: list[bytes | None]) -> tuple[np.ndarray, DecodeInfo]:
        """Header and packets (None where lost) -> RGB uint8 image of the original size."""
        if header.codec != self.id:
            raise ValueError(f"features were made by codec {header.codec}, this receiver has {self.id}")
        if (header.planes, header.bits) != (self.cfg.channels, self.cfg.bits):
            raise ValueError("image header does not match this codec's latent shape")
        codes, received, dropped = depacketize(packets, header)
        n_ok = sum(p is not None for p in packets[: header.n_packets]) - dropped
        info = DecodeInfo(header.n_packets, max(n_ok, 0), dropped, float(received.mean()), not received.any())
        if info.all_lost:
            return np.full((header.height, header.width, 3), GREY, np.uint8), info
        with torch.no_grad():
            y = self.model.decode(torch.from_numpy(codes)[None], torch.from_numpy(received)[None, None])
        img = (y[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
        return img[: header.height, : header.width], info
