"""Sample images that ship inside installed packages, cached as PNG files.

Nothing is downloaded: the images come from the scikit-image and matplotlib
wheels.  ``sdr-semcom fetch-samples`` (run by ``make setup``) writes them to
``.cache/samples`` (git-ignored).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

DEFAULT_CACHE = Path(__file__).resolve().parent.parent / ".cache" / "samples"


def _sources() -> dict[str, np.ndarray]:
    import matplotlib
    from skimage import data

    out = {name: getattr(data, name)() for name in ("astronaut", "coffee", "chelsea", "rocket")}
    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    out["grace_hopper"] = np.asarray(Image.open(hopper).convert("RGB"))
    return out


def fetch_samples(cache: Path = DEFAULT_CACHE) -> list[Path]:
    """Write the sample images to ``cache`` (skipping those already there)."""
    cache.mkdir(parents=True, exist_ok=True)
    paths = []
    wanted = ["astronaut", "coffee", "chelsea", "rocket", "grace_hopper"]
    if all((cache / f"{n}.png").exists() for n in wanted):
        return [cache / f"{n}.png" for n in wanted]
    for name, img in _sources().items():
        path = cache / f"{name}.png"
        if not path.exists():
            Image.fromarray(img).convert("RGB").save(path)
        paths.append(path)
    return paths
