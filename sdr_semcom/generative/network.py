"""The conditional inpainter: a small gated-convolution U-Net with FiLM on the 384-d MiniLM vector.

A learned null embedding stands in for the vector in a share of the training steps (condition
dropout), so one network serves both the authorized receiver (aligned embedding) and the
eavesdropper (no embedding). The network sees a square window around the hole (the hole's box
grown to ``window`` x its longer side, reflect-padded at the image border), resized to ``size``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .region import EMBED_DIM, Region

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
DEFAULT_NAME = "inpainter_v2"


@dataclass
class NetConfig:
    """Shape of :class:`InpaintNet`: base ``width``, input ``size`` (pixels), ``window`` factor, condition
    width, and ``film_encoder``: FiLM after every encoder level too (``inpainter_v2``), not only in the
    bottleneck and decoder (``inpainter_v1``)."""

    width: int = 32
    size: int = 96
    window: float = 2.0
    cond_dim: int = 128
    film_encoder: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


class GatedConv(nn.Module):
    """``elu(conv_f(x)) * sigmoid(conv_g(x))`` (Yu et al., free-form inpainting)."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, 2 * cout, k, stride, dilation * (k - 1) // 2, dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f, g = self.conv(x).chunk(2, dim=1)
        return F.elu(f) * torch.sigmoid(g)


class FiLM(nn.Module):
    """Per-channel ``(1 + gamma) * x + beta`` from the condition vector."""

    def __init__(self, cond: int, chans: int) -> None:
        super().__init__()
        self.lin = nn.Linear(cond, 2 * chans)
        nn.init.zeros_(self.lin.weight)
        nn.init.zeros_(self.lin.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        g, b = self.lin(c)[:, :, None, None].chunk(2, dim=1)
        return x * (1 + g) + b


class InpaintNet(nn.Module):
    """Gated U-Net inpainter conditioned by FiLM.

    Input
    -----
    x : (N, 3, S, S) float in [0, 1], hole pixels arbitrary (zeroed inside).
    hole : (N, 1, S, S) float, 1 where to fill.
    emb : (N, 384) float or None. ``None`` (or rows with ``use_null``) use the learned null embedding.

    Output
    ------
    (N, 3, S, S) in [0, 1]: the known pixels of ``x`` with the hole filled.
    """

    def __init__(self, cfg: NetConfig = NetConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        w, c = cfg.width, cfg.cond_dim
        self.null = nn.Parameter(torch.zeros(EMBED_DIM))
        self.cond = nn.Sequential(nn.Linear(EMBED_DIM, c), nn.SiLU(), nn.Linear(c, c), nn.SiLU())
        self.e0 = GatedConv(4, w, 5)
        self.e1 = GatedConv(w, 2 * w, 3, 2)
        self.e2 = GatedConv(2 * w, 4 * w, 3, 2)
        self.e3 = GatedConv(4 * w, 4 * w, 3, 2)
        self.mid = nn.ModuleList([GatedConv(4 * w, 4 * w, 3, 1, d) for d in (2, 4, 2)])
        self.f_mid = nn.ModuleList([FiLM(c, 4 * w) for _ in range(3)])
        self.d2 = GatedConv(8 * w, 4 * w)
        self.d1 = GatedConv(6 * w, 2 * w)
        self.d0 = GatedConv(3 * w, w)
        self.f_d = nn.ModuleList([FiLM(c, 4 * w), FiLM(c, 2 * w), FiLM(c, w)])
        if cfg.film_encoder:
            self.f_e = nn.ModuleList([FiLM(c, w), FiLM(c, 2 * w), FiLM(c, 4 * w), FiLM(c, 4 * w)])
        self.out = nn.Conv2d(w, 3, 3, padding=1)

    def condition(self, emb: torch.Tensor | None, n: int, use_null: torch.Tensor | None = None) -> torch.Tensor:
        null = self.null[None].expand(n, -1)
        if emb is None:
            e = null
        else:
            e = emb if use_null is None else torch.where(use_null[:, None], null, emb)
        return self.cond(e)

    def forward(self, x: torch.Tensor, hole: torch.Tensor, emb: torch.Tensor | None = None,
                use_null: torch.Tensor | None = None) -> torch.Tensor:
        c = self.condition(emb, x.shape[0], use_null)
        xin = torch.cat([x * (1 - hole) - 0.5 * hole, hole], dim=1)
        if self.cfg.film_encoder:
            h0 = self.f_e[0](self.e0(xin), c)
            h1 = self.f_e[1](self.e1(h0), c)
            h2 = self.f_e[2](self.e2(h1), c)
            h = self.f_e[3](self.e3(h2), c)
        else:
            h0 = self.e0(xin)
            h1 = self.e1(h0)
            h2 = self.e2(h1)
            h = self.e3(h2)
        for conv, film in zip(self.mid, self.f_mid):
            h = h + film(conv(h), c)
        up = lambda t, ref: F.interpolate(t, size=ref.shape[-2:], mode="nearest")  # noqa: E731
        h = self.f_d[0](self.d2(torch.cat([up(h, h2), h2], 1)), c)
        h = self.f_d[1](self.d1(torch.cat([up(h, h1), h1], 1)), c)
        h = self.f_d[2](self.d0(torch.cat([up(h, h0), h0], 1)), c)
        y = torch.sigmoid(self.out(h))
        return x * (1 - hole) + y * hole


def window_of(box: tuple[int, int, int, int], factor: float) -> tuple[int, int, int]:
    """Square window ``(x0, y0, side)`` centred on a pixel box, ``factor`` x its longer side."""
    x0, y0, x1, y1 = box
    side = max(int(round(max(x1 - x0, y1 - y0) * factor)), 16)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return int(round(cx - side / 2)), int(round(cy - side / 2)), side


def cut_window(image: np.ndarray, hole: np.ndarray, win: tuple[int, int, int], size: int):
    """The window of ``image`` / ``hole`` resized to ``size`` (reflect padding outside the image)."""
    import cv2

    x0, y0, side = win
    h, w = hole.shape
    pad = side
    ip = cv2.copyMakeBorder(np.ascontiguousarray(image), pad, pad, pad, pad, cv2.BORDER_REFLECT)
    hp = cv2.copyMakeBorder(hole.astype(np.uint8), pad, pad, pad, pad, cv2.BORDER_REFLECT)
    sl = np.s_[y0 + pad : y0 + pad + side, x0 + pad : x0 + pad + side]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    img = cv2.resize(ip[sl], (size, size), interpolation=interp)
    m = cv2.resize(hp[sl].astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR) > 0.01
    return img, m


class NetworkInpainter:
    """Backend running :class:`InpaintNet` on the window around each hole.

    Parameters
    ----------
    net : InpaintNet
    use_embedding : bool
        ``False`` always uses the null embedding (what an eavesdropper can do); ``True`` uses the
        region's embedding when it has one.
    """

    #: trained on the guard's removed regions (a face's head region): the :class:`~.base.Inpainter` gives
    #: it all of a region's removed pixels, not only the face box grown by its ``grow``
    fills_removed = True

    def __init__(self, net: InpaintNet, use_embedding: bool = True) -> None:
        self.net = net.eval()
        self.use_embedding = use_embedding
        self.name = "network" if use_embedding else "network_null"

    def fill(self, image: np.ndarray, hole: np.ndarray, unknown: np.ndarray, region: Region) -> np.ndarray:
        import cv2

        ys, xs = np.nonzero(hole)
        box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        cfg = self.net.cfg
        win = window_of(box, cfg.window)
        # prefill other unknown pixels (not this hole) with Telea, so the window's context is clean
        ctx = image
        others = unknown & ~hole
        if others.any():
            ctx = cv2.inpaint(np.ascontiguousarray(image), others.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
        img, m = cut_window(ctx, hole, win, cfg.size)
        x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
        mt = torch.from_numpy(m.astype(np.float32))[None, None]
        emb = None
        if self.use_embedding and region.embedding is not None:
            emb = torch.from_numpy(region.embedding)[None]
        with torch.no_grad():
            y = self.net(x, mt, emb)[0].permute(1, 2, 0).numpy()
        x0, y0, side = win
        patch = cv2.resize((y * 255).clip(0, 255).astype(np.float32), (side, side), interpolation=cv2.INTER_CUBIC)
        h, w = hole.shape
        out = image.copy()
        ya, yb, xa, xb = max(y0, 0), min(y0 + side, h), max(x0, 0), min(x0 + side, w)
        sub = patch[ya - y0 : yb - y0, xa - x0 : xb - x0].round().clip(0, 255).astype(np.uint8)
        region_hole = hole[ya:yb, xa:xb]
        out[ya:yb, xa:xb][region_hole] = sub[region_hole]
        return out


def load_network(name: str = DEFAULT_NAME, models_dir: Path = MODELS_DIR) -> InpaintNet:
    """The committed network ``models/<name>.pt`` (checked against its manifest's sha256)."""
    manifest_path = Path(models_dir) / f"{name}.json"
    if not manifest_path.exists():
        raise FileNotFoundError(f"{manifest_path} missing: train it with `sdr-semcom train inpainter` "
                                "(sdr_semcom.generative.train.train_inpainter)")
    manifest = json.loads(manifest_path.read_text())
    path = Path(models_dir) / manifest["weights"]
    data = path.read_bytes()
    got = hashlib.sha256(data).hexdigest()
    if got != manifest["sha256"]:
        raise RuntimeError(f"{path}: sha256 {got} does not match {manifest_path} ({manifest['sha256']}); "
                           "restore the file from git or retrain")
    import io

    blob = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    net = InpaintNet(NetConfig(**{"film_encoder": False, **blob["config"]}))  # inpainter_v1 predates the field
    net.load_state_dict(blob["state_dict"])
    return net.eval()
