"""Image files -> RGB uint8 arrays, and the resizing the link applies: the one image loader.

Every command reads its images here. :func:`read_rgb` reads one file of any mode and depth
(palette, grey, RGBA, CMYK, 16-bit, 32-bit integer, float) into RGB uint8, *scaling* deeper
samples to 8 bits (:func:`to_uint8`); :func:`load_images` reads a list of files and folders,
skipping the unreadable ones with a warning and counting them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

log = logging.getLogger(__name__)

#: what a folder given to :func:`load_images` contributes (by suffix, case-insensitive)
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".ppm", ".pgm", ".bmp", ".tif", ".tiff", ".webp", ".gif"})


#: the most pixels a reference photo of an enrolled person may have (``read_rgb(..., max_pixels=...)``): Pillow's
#: own decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``' default, 89.5 Mpx, ~268 MB as RGB), above which
#: Pillow only *warns* up to twice that and refuses beyond: here every photo above it is refused, before decoding
REFERENCE_MAX_PIXELS = 89_478_485

#: the most bytes a reference photo's file may have: the pixel limit at 8 bytes a pixel (16-bit RGBA, uncompressed,
#: ~716 MB); a small image with gigabytes appended (which the pixel limit does not see) is not copied
REFERENCE_MAX_BYTES = 8 * REFERENCE_MAX_PIXELS


class ImageError(ValueError):
    """A file that is not a readable image; the message names the file."""


def to_uint8(a: np.ndarray) -> np.ndarray:
    """Samples of any depth -> uint8, scaled (never clipped) to 0..255.

    Input
    -----
    a : ndarray
        bool (0/255), uint8 (unchanged), wider unsigned integers (scaled by their nominal
        maximum: 65535 for 16-bit samples, whatever container they arrive in), signed integers
        (as unsigned of their width when all are >= 0) or float (0..1 scaled by 255; any other
        range is mapped min..max onto 0..255).

    Output
    ------
    ndarray of uint8, same shape.
    """
    a = np.asarray(a)
    if a.dtype == np.uint8:
        return a
    if a.dtype == bool:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.integer):
        lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
        if lo < 0:  # signed data: the range it uses
            return _span(a.astype(np.float64), lo, hi)
        top = 255 if hi <= 255 else 65535 if hi <= 65535 else int(np.iinfo(a.dtype).max)
        return np.round(a.astype(np.float64) * (255 / top)).astype(np.uint8)
    if np.issubdtype(a.dtype, np.floating):
        f = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        lo, hi = (float(f.min()), float(f.max())) if f.size else (0.0, 1.0)
        if 0.0 <= lo and hi <= 1.0:
            return np.round(f * 255).astype(np.uint8)
        return _span(f, lo, hi)
    raise TypeError(f"image samples of type {a.dtype} are not supported (integers, floats or bools)")


def _span(f: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.zeros(f.shape, np.uint8) if hi <= lo else np.round((f - lo) * (255 / (hi - lo))).astype(np.uint8)


def to_rgb(a: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 1..4) samples of any depth -> (H, W, 3) RGB uint8 (alpha dropped, grey replicated)."""
    a = to_uint8(a)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"not an image array: shape {a.shape} (want H x W, or H x W x 1..4)")
    if a.shape[2] <= 2:  # grey (+ alpha)
        return np.repeat(a[..., :1], 3, axis=2)
    return np.ascontiguousarray(a[..., :3])


def read_rgb(path: str | Path, max_pixels: int | None = None) -> np.ndarray:
    """An image file -> (H, W, 3) RGB uint8 at its own size; deeper samples are scaled to 8 bits.

    Parameters
    ----------
    path : str or Path
    max_pixels : int or None
        Refuse an image of more pixels (width x height, read from the header before anything is decoded),
        e.g. :data:`REFERENCE_MAX_PIXELS`; None: Pillow's own limit (a warning from 89.5 Mpx, an error from
        twice that).

    Raises
    ------
    ImageError
        The file is missing, is not a regular file (a FIFO, a device, a folder: refused without reading it),
        is not an image Pillow can read, or has more than ``max_pixels`` pixels (the message names it).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    with open_regular(path) as fp:
        try:
            with _open_checked(fp, path, max_pixels) as im:
                im.load()
                if im.mode in ("RGB", "L", "1") or im.mode.startswith(("I", "F")):
                    return to_rgb(np.asarray(im))  # 16-bit, 32-bit and float modes: scaled, not clipped
                return np.asarray(im.convert("RGB"))  # palette, RGBA, CMYK, YCbCr, LA, ...
        except ImageError:
            raise
        except (OSError, UnidentifiedImageError, ValueError, TypeError, Image.DecompressionBombError) as exc:
            raise ImageError(f"{path}: not a readable image ({exc})") from exc


def open_regular(path: str | Path):
    """``path`` opened for binary reading, refused unless it is a regular file (after symlinks): a FIFO, a
    device (``/dev/zero``), a socket or a folder is an :class:`ImageError` naming it, and opening never blocks
    (``O_NONBLOCK``: a FIFO nobody writes to). Read the image and copy it from this one open file, so that
    what was checked is what is used (a file swapped meanwhile is not read).

    Output
    ------
    BufferedReader
        The caller closes it (``with``).

    Raises
    ------
    ImageError
        Missing, unreadable, or not a regular file.
    """
    import os
    import stat

    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ImageError(f"{path}: not a readable image ({exc.strerror or exc})") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else
                "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "not a file")
        raise ImageError(f"{path}: not a regular file ({kind}): not an image")
    return os.fdopen(fd, "rb")


def check_image(path: str | Path, max_pixels: int | None = None, fp=None) -> tuple[int, int]:
    """The ``(width, height)`` of an image file, from its header (nothing decoded).

    Parameters
    ----------
    path : str or Path
        The file (and the name the errors give).
    max_pixels : int or None
        As :func:`read_rgb`.
    fp : binary file or None
        The file already open (:func:`open_regular`), read from its current position; None: ``path`` opened
        here.

    Raises
    ------
    ImageError
        As :func:`read_rgb`: missing, not a regular file, not an image, or more than ``max_pixels`` pixels.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if fp is None:
        with open_regular(path) as own:
            return check_image(path, max_pixels, own)
    try:
        with _open_checked(fp, path, max_pixels) as im:
            return im.size
    except ImageError:
        raise
    except (OSError, UnidentifiedImageError, ValueError, TypeError, Image.DecompressionBombError) as exc:
        raise ImageError(f"{path}: not a readable image ({exc})") from exc


def _open_checked(fp, path: Path, max_pixels: int | None):
    """``PIL.Image.open(fp)`` (``path``: the name errors give), refused (:class:`ImageError`, the image closed)
    above ``max_pixels`` pixels; Pillow's decompression-bomb warning is then not given (its range is refused)."""
    import warnings

    from PIL import Image

    with warnings.catch_warnings():
        if max_pixels is not None and max_pixels <= (Image.MAX_IMAGE_PIXELS or max_pixels):
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        im = Image.open(fp)
    if max_pixels is not None and im.size[0] * im.size[1] > max_pixels:
        w, h = im.size
        im.close()
        raise ImageError(f"{path}: {w} x {h} px = {w * h / 1e6:.1f} Mpx, more than the {max_pixels / 1e6:.1f} Mpx "
                         "allowed (a decompression bomb, or a photo to scale down first)")
    return im


@dataclass(frozen=True)
class LoadedImages:
    """What :func:`load_images` read.

    Attributes
    ----------
    images : list of (str, ndarray)
        (file stem, RGB uint8 at the file's own size), in the order given.
    skipped : list of str
        One line per file that could not be read (file and reason).
    """

    images: list[tuple[str, np.ndarray]]
    skipped: list[str] = field(default_factory=list)


def image_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; a folder contributes its image files (by suffix, sorted, not recursive)."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            out.append(p)
    return out


def load_images(paths: Iterable[str | Path]) -> LoadedImages:
    """Read files and folders (see :func:`image_files`); unreadable files are skipped with a warning.

    Raises
    ------
    ImageError
        Not one readable image among them.
    """
    images, skipped = [], []
    files = image_files(paths)
    for f in files:
        try:
            images.append((f.stem, read_rgb(f)))
        except ImageError as exc:
            log.warning("skipping %s", exc)
            skipped.append(str(exc))
    if not images:
        raise ImageError(f"no readable image among {len(files)} file(s)" + (f": {skipped[0]}" if skipped else ""))
    return LoadedImages(images, skipped)


def fit_size(shape: tuple[int, ...], size: int) -> tuple[int, int]:
    """(height, width) with the long side ``size`` and the aspect ratio of ``shape`` (each side >= 1)."""
    h, w = shape[:2]
    scale = size / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def resize(img: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """RGB uint8 image -> (hw[0], hw[1], 3) (bicubic; unchanged when already that size)."""
    from PIL import Image

    if tuple(img.shape[:2]) == tuple(hw):
        return img
    return np.asarray(Image.fromarray(img).resize((hw[1], hw[0]), Image.Resampling.BICUBIC))


def fit(img: np.ndarray, size: int) -> np.ndarray:
    """Resize so that the long side is ``size``, keeping the aspect ratio."""
    return resize(img, fit_size(img.shape, size))
