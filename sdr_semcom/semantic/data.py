"""Training and held-out images that ship inside packages (no download at run time)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .. import images
from ..samples import DEFAULT_CACHE

#: skimage.data images bundled in the scikit-image wheel (grey ones are replicated to RGB)
SKIMAGE_TRAIN = ("astronaut", "brick", "camera", "coffee", "clock", "coins", "colorwheel", "grass", "gravel",
                 "hubble_deep_field", "immunohistochemistry", "moon", "page", "retina", "rocket", "text")
FACES_TRAIN = ("breakingbad.jpg", "einstein.jpg", "lenna.png", "takeo.ppm", "tongue.jpg", "Tom_Hanks_54745.png")
#: held out from training, for the manifest's metrics and the benchmark
HELD_OUT = ("chelsea", "grace_hopper", "t1.jpg")


def to_rgb(img: np.ndarray) -> np.ndarray:
    """Any depth and channel count -> RGB uint8 (see :func:`sdr_semcom.images.to_rgb`)."""
    return images.to_rgb(img)


def _skimage(name: str) -> np.ndarray:
    from skimage import data

    return to_rgb(getattr(data, name)())


def _file(name: str, cache: Path) -> np.ndarray:
    for p in (cache / "faces" / name, cache / name):
        if p.exists():
            return np.asarray(Image.open(p).convert("RGB"))
    raise FileNotFoundError(f"{name} not in {cache}: run `sdr-semcom fetch-samples`")


def training_images(cache: Path = DEFAULT_CACHE) -> dict[str, np.ndarray]:
    out = {n: _skimage(n) for n in SKIMAGE_TRAIN}
    out.update({n: _file(n, cache) for n in FACES_TRAIN})
    return out


def held_out_images(cache: Path = DEFAULT_CACHE) -> dict[str, np.ndarray]:
    import matplotlib

    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return {"chelsea": _skimage("chelsea"), "grace_hopper": np.asarray(Image.open(hopper).convert("RGB")),
            "t1.jpg": _file("t1.jpg", cache)}


def folder_images(folder: Path) -> dict[str, np.ndarray]:
    """Every readable image in a user's folder and its subfolders (e.g. Kodak, CelebA-HQ)."""
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in images.IMAGE_SUFFIXES)
    try:
        return dict(images.load_images(files).images)
    except images.ImageError as exc:
        raise images.ImageError(f"no readable image in {folder}: {exc}") from exc
