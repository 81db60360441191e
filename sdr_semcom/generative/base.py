"""The inpainter: per-region backends chosen by a policy, composited inside the mask only."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .region import Region

log = logging.getLogger(__name__)


class Backend(Protocol):
    """One way of filling a hole.

    ``fill(image, hole, unknown, region)`` takes the RGB uint8 ``(H, W, 3)`` image, the boolean
    ``(H, W)`` pixels to fill for this region (``hole``), every pixel not to be trusted as context
    (``unknown``, a superset of ``hole``) and the :class:`Region`; it returns an RGB uint8 image of
    the same shape whose ``hole`` pixels are the fill (other pixels are ignored). A backend that serves
    only some regions (``reference``: enrolled persons; ``face_prior``: face boxes large enough for its face to
    land on a pixel, :func:`~.faceprior.face_lands`) also has ``has(region) -> bool``; :meth:`Inpainter.choose`
    passes a region it declines to the policy's next backend, so :class:`FillResult` names the one that filled
    it. A backend with
    ``fills_removed = True`` (the trained network: it learned the guard's removed regions, a face's
    whole head region) is given all of a region's removed pixels (:attr:`Region.removed`); the others
    the pixels of its box grown by the inpainter's ``grow`` (a face backend models the face, not the head).
    """

    name: str

    def fill(self, image: np.ndarray, hole: np.ndarray, unknown: np.ndarray, region: Region) -> np.ndarray: ...


@dataclass
class FillResult:
    """What :meth:`Inpainter.fill` returns.

    ``image``: the filled RGB uint8 image; ``backends``: the backend name used per region (input
    order; ``'none'`` for a region with no masked pixel); ``seconds``: CPU wall time per region;
    ``rest``: the backend that filled masked pixels no region box covers (``None`` if there were none).
    """

    image: np.ndarray
    backends: list[str]
    seconds: list[float] = field(default_factory=list)
    rest: str | None = None


#: Default policy: ``role -> category -> backend names`` in order of preference; the first one the
#: inpainter has (and that serves the region) wins. Set by ``benchmarks/inpaint_bench.py`` on held-out
#: images (docs/generative.md): for faces the DCGAN prior has the lowest ST-LPIPS (0.60 vs Telea 0.64,
#: network 0.73); for text and other regions Telea beats the small conditional network on PSNR, SSIM and
#: ST-LPIPS, so it fills them. Authorized receiver: a face aligned with an enrolled entry whose
#: references it holds gets that person back (``reference``); other faces get an identity-free face
#: (``face_prior``; without its weights the conditioned ``network``, whose SSIM beats Telea's on faces).
#: Eavesdropper: it knows no category nor embedding: Telea. ``generator="network"`` / ``"diffusers"``
#: put that backend first for every category.
DEFAULT_POLICY: dict[str, dict[str, tuple[str, ...]]] = {
    "authorized": {"face": ("reference", "face_prior", "network", "telea"), "*": ("telea",)},
    "eavesdropper": {"*": ("telea",)},
}


class Inpainter:
    """Fills removed regions: each region with the first backend its policy names that is available.

    Parameters
    ----------
    backends : dict of str to Backend
        Available backends by name; ``'telea'`` (the classical floor) must be among them.
    policy : dict of str to tuple of str
        ``category -> backend names`` in order of preference; ``'*'`` is the default for the others.
    grow : float
        A region owns the masked pixels of its box grown by this fraction of its size on every side
        (the guard removes the detection box grown by its margin, 0.15 by default).

    Input
    -----
    :meth:`fill`: ``image`` RGB uint8 ``(H, W, 3)``; ``mask`` boolean ``(H, W)``, the removed pixels
    (the guard's union mask); ``regions``, a list of :class:`Region`. A region fills the masked pixels
    inside its box grown by ``grow`` (smaller regions first), or, for a backend with ``fills_removed``, the
    masked pixels inside the region's :attr:`~Region.removed` bounds when it has them; masked pixels no region
    owns are filled by Telea.

    Output
    ------
    :class:`FillResult`; pixels outside ``mask`` are byte-identical to the input.
    """

    def __init__(self, backends: dict[str, Backend], policy: dict[str, tuple[str, ...]], grow: float = 0.2) -> None:
        if "telea" not in backends:
            raise ValueError("an Inpainter needs the 'telea' backend as its floor (ClassicalInpainter())")
        if "*" not in policy:
            raise ValueError("the policy needs a '*' entry for categories it does not name")
        for cat, names in policy.items():
            if not any(n in backends for n in names):
                raise ValueError(f"policy[{cat!r}] = {names}: none of these backends is available "
                                 f"(have {sorted(backends)})")
        self.backends = dict(backends)
        self.policy = {k: tuple(v) for k, v in policy.items()}
        self.grow = grow

    def choose(self, region: Region) -> str:
        """The backend name the policy gives ``region``."""
        names = self.policy.get(region.category, self.policy["*"])
        for n in names:
            b = self.backends.get(n)
            if b is not None and (not hasattr(b, "has") or b.has(region)):
                return n
        return "telea"

    def fill(self, image: np.ndarray, mask: np.ndarray, regions: list[Region]) -> FillResult:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be RGB uint8 (H, W, 3), got {image.dtype} {image.shape}")
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != image.shape[:2]:
            raise ValueError(f"mask shape {mask.shape} does not match image {image.shape[:2]}")
        out = image.copy()
        unknown = mask.copy()
        names, secs = [], []
        # small regions first: they are the best-conditioned and give context to the large ones
        order = sorted(range(len(regions)), key=lambda i: _area(regions[i]))
        names_by, secs_by = {}, {}
        for i in order:
            r = regions[i]
            name = self.choose(r)
            hole = mask & self._owned(r, name, mask.shape) & unknown
            if not hole.any():
                names_by[i], secs_by[i] = "none", 0.0
                continue
            t = time.perf_counter()
            try:
                filled = self.backends[name].fill(out, hole, unknown, r)
            except Exception as exc:  # a generator failing must not lose the image: say so, use the floor
                log.warning("inpainter backend %s failed on region %s (%s): Telea fills it", name, r.box, exc)
                name = f"telea (after {name} failed)"
                filled = self.backends["telea"].fill(out, hole, unknown, r)
            if filled.shape != out.shape or filled.dtype != np.uint8:
                raise RuntimeError(f"backend {name} returned {filled.dtype} {filled.shape}, want uint8 {out.shape}")
            out[hole] = filled[hole]
            unknown &= ~hole
            names_by[i], secs_by[i] = name, time.perf_counter() - t
        rest = None
        if unknown.any():
            rest = "telea"
            whole = Region((0, 0, mask.shape[1], mask.shape[0]))
            filled = self.backends["telea"].fill(out, unknown, unknown, whole)
            out[unknown] = filled[unknown]
        names = [names_by[i] for i in range(len(regions))]
        secs = [secs_by[i] for i in range(len(regions))]
        out[~mask] = image[~mask]  # the guarantee, whatever a backend did
        return FillResult(out, names, secs, rest)


    def _owned(self, region: Region, backend: str, shape: tuple[int, int]) -> np.ndarray:
        """The pixels ``region`` may fill with ``backend``: its removed bounds for a backend that fills whole
        removed regions (``fills_removed``), else its box grown by :attr:`grow`."""
        if region.removed is not None and getattr(self.backends.get(backend), "fills_removed", False):
            x0, y0, x1, y1 = region.removed
            out = np.zeros(shape, bool)
            out[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = True
            return out
        return _grown(region, self.grow).box_mask(shape)


def _area(r: Region) -> float:
    x0, y0, x1, y1 = r.box
    return (x1 - x0) * (y1 - y0)


def _grown(r: Region, f: float) -> Region:
    x0, y0, x1, y1 = r.box
    mx, my = f * (x1 - x0), f * (y1 - y0)
    return Region((x0 - mx, y0 - my, x1 + mx, y1 + my), r.category)
