"""The learned decoder of ``DctCodec``: removes coding artefacts and fills the MCUs whose
packet was lost, from the pixels that arrived and the mask of what arrived.

A small residual U-Net (one 2x downsampling, dilated convolutions at half resolution, so
that the centre of a lost 16x16 MCU sees received pixels). Its input is the decoded image
with the holes pre-filled by normalised blurring of the received pixels, plus the mask; its
output is a correction added to that input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class RestoreConfig:
    width: int = 16  # channels at full resolution (twice that at half resolution)
    mid_blocks: int = 4  # residual blocks at half resolution (dilations 1, 2, 4, 1, ...)

    def to_dict(self) -> dict:
        return asdict(self)


class _Res(nn.Module):
    def __init__(self, c: int, dilation: int = 1) -> None:
        super().__init__()
        self.a = nn.Conv2d(c, c, 3, padding=dilation, dilation=dilation)
        self.b = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return x + self.b(F.relu(self.a(x)))


def prefill(x: torch.Tensor, mask: torch.Tensor, passes: int = 4) -> torch.Tensor:
    """Holes (mask 0) filled by normalised diffusion of the received pixels at 1/8 resolution
    (a 16x16 MCU is 2x2 cells there), upsampled bilinearly; received pixels are kept."""
    if bool(mask.min() > 0.5):
        return x
    num = F.avg_pool2d(x * mask, 8)
    den = F.avg_pool2d(mask, 8)
    known = den > 0.5
    for _ in range(passes):
        num = torch.where(known, num, F.avg_pool2d(num, 3, 1, 1, count_include_pad=False))
        den = torch.where(known, den, F.avg_pool2d(den, 3, 1, 1, count_include_pad=False))
    val = num / den.clamp_min(1e-6)
    fill = F.interpolate(val, scale_factor=8, mode="bilinear", align_corners=False)
    return x * mask + fill * (1 - mask)


class Restore(nn.Module):
    """``forward(x, mask)``: x (B, 3, H, W) in [0, 1] with H, W multiples of 2; mask (B, 1, H, W)."""

    def __init__(self, cfg: RestoreConfig = RestoreConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.head = nn.Conv2d(4, w, 3, padding=1)
        self.enc = _Res(w)
        self.down = nn.Conv2d(w, 2 * w, 3, stride=2, padding=1)
        self.mid = nn.Sequential(*[_Res(2 * w, (1, 2, 4, 1)[i % 4]) for i in range(cfg.mid_blocks)])
        self.up = nn.Conv2d(2 * w, w, 3, padding=1)
        self.tail = nn.Conv2d(w, 3, 3, padding=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = prefill(x, mask)
        f = self.enc(F.relu(self.head(torch.cat([x, mask], dim=1))))
        g = self.mid(F.relu(self.down(f)))
        f = f + F.relu(self.up(F.interpolate(g, scale_factor=2, mode="bilinear", align_corners=False)))
        return x + self.tail(f)
