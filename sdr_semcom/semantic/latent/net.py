"""The latent codec's network (PyTorch): encoder -> bounded latent -> b-bit quantization -> decoder.

The decoder gets the dequantized latent plus an erasure map (1 where the latent position was
received), so lost packets become zeros it was trained to fill.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LatentConfig:
    """Shape of a latent codec.

    Parameters
    ----------
    channels : int
        Latent channels per position.
    bits : int
        Bits per latent value.
    downsample : int
        Image pixels per latent position along each axis (8 or 16).
    width : int
        Feature width of the hidden layers.
    """

    channels: int = 12
    bits: int = 4
    downsample: int = 8
    width: int = 48

    def bits_per_pixel(self) -> float:
        return self.channels * self.bits / self.downsample**2

    def to_dict(self) -> dict:
        return asdict(self)


def _down(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 5, stride=2, padding=2), nn.PReLU(cout))


def _up(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout * 4, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(cout))


class _Res(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.PReLU(c), nn.Conv2d(c, c, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


class LatentNet(nn.Module):
    """Encoder and decoder; images are float (B, 3, H, W) in [0, 1], H and W multiples of ``downsample``."""

    def __init__(self, cfg: LatentConfig) -> None:
        super().__init__()
        if cfg.downsample not in (4, 8, 16):
            raise ValueError(f"downsample must be 4, 8 or 16, got {cfg.downsample}")
        if not 1 <= cfg.bits <= 8:
            raise ValueError(f"bits must be 1..8, got {cfg.bits}")
        self.cfg = cfg
        n = {4: 2, 8: 3, 16: 4}[cfg.downsample]
        w = cfg.width
        enc = [_down(3, w)] + [_down(w, w) for _ in range(n - 1)] + [_Res(w), nn.Conv2d(w, cfg.channels, 3, padding=1)]
        self.encoder = nn.Sequential(*enc)
        dec = [nn.Conv2d(cfg.channels + 1, w, 3, padding=1), nn.PReLU(w), _Res(w), _Res(w)]
        dec += [_up(w, w) for _ in range(n)] + [nn.Conv2d(w, 3, 3, padding=1)]
        self.decoder = nn.Sequential(*dec)

    @property
    def levels(self) -> int:
        return (1 << self.cfg.bits) - 1

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> integer latent codes (B, C, h, w) in [0, 2**bits - 1] (float tensor)."""
        return torch.round((torch.tanh(self.encoder(x - 0.5)) + 1) / 2 * self.levels)

    def dequantize(self, q: torch.Tensor) -> torch.Tensor:
        return q / self.levels * 2 - 1

    def decode(self, q: torch.Tensor, received: torch.Tensor) -> torch.Tensor:
        """Codes (B, C, h, w) and the received map (B, 1, h, w) of 0/1 -> images in [0, 1]."""
        z = self.dequantize(q) * received
        return torch.clamp(self.decoder(torch.cat([z, received], dim=1)) + 0.5, 0, 1)

    def forward(self, x: torch.Tensor, received: torch.Tensor, error_rate: float = 0.0) -> torch.Tensor:
        """Training path: straight-through quantization; ``error_rate`` of the codes replaced by
        random levels (errors that slip past the link's CRC)."""
        z = torch.tanh(self.encoder(x - 0.5))
        zq = z + (torch.round((z + 1) / 2 * self.levels) / self.levels * 2 - 1 - z).detach()
        if error_rate > 0:
            wrong = torch.rand_like(zq) < error_rate
            rand = torch.randint(0, self.levels + 1, zq.shape, device=zq.device) / self.levels * 2 - 1
            zq = torch.where(wrong, rand, zq)
        return torch.clamp(self.decoder(torch.cat([zq * received, received], dim=1)) + 0.5, 0, 1)
