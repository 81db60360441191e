"""The generative stage of the two receivers: a decoded :class:`~sdr_semcom.pipeline.ReceivedItem` -> filled image.

Used by ``sdr-semcom rx`` (:func:`sdr_semcom.commands.receive`) and the demo (:mod:`sdr_semcom.demo`).
The authorized receiver fills the boxes it opened from the sealed EMBEDDING message, each grown as the
transmitter's guard drew it (the margin and drawing travel sealed: each row's ``removed`` bounds), with the
region's category (from its database) and opened vector; the eavesdropper,
which learns only how many regions were removed, finds them from the guard's grey fill and never
reads a database.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..privacy.masking import DEFAULT_MARGIN
from .base import Inpainter
from .region import cover_grey, regions_from_fill, regions_from_rows, removed_mask

#: the CLI's role names -> :func:`~.factory.make_inpainter`'s
ROLES = {"auth": "authorized", "eve": "eavesdropper", "authorized": "authorized", "eavesdropper": "eavesdropper"}
#: rows without ``removed`` bounds (hand-made, or from before the margin was sent): grown by the guard's default
FALLBACK_MARGIN = DEFAULT_MARGIN
#: grey-fill tolerances an eavesdropper tries, widest last, until it finds ``region_count`` regions (lost
#: packets leave codec noise on the grey: t1.jpg at 5 dB, 8/9 packets: 1 of 6 found at 10, 6 at 15)
GREY_TOLERANCES = (10, 15, 20)


class GeneratorError(RuntimeError):
    """The generator asked for cannot be built (missing weights, an incomplete ``--generator-dir``)."""


def receiver_inpainter(role: str, generator: str = "auto", generator_dir: str | Path | None = None,
                       db=None) -> Inpainter:
    """:func:`~.factory.make_inpainter` for a receiver role (``auth`` / ``eve`` or the long names): the one
    builder of every receiver path (``rx``, ``decode``, the demo, the GNU Radio block).

    Parameters
    ----------
    role : str
        ``auth`` / ``authorized`` or ``eve`` / ``eavesdropper``.
    generator, generator_dir
        As :func:`~.factory.make_inpainter`'s; ``generator_dir`` is checked first
        (:func:`~.diffusion.check_pipeline_dir`), whatever the generator.
    db : PrivacyDatabase or None
        The authorized receiver's database: its enrolled persons' reference photos
        (:meth:`~sdr_semcom.privacy.PrivacyDatabase.reference_photos`) give it the ``reference`` backend,
        which restores their removed faces. The eavesdropper has none (passing one is an error).

    Output
    ------
    Inpainter

    Raises
    ------
    DatabaseError
        A reference photo the database lists is missing or unreadable (names the entry and the file).
    GeneratorError
        Naming the missing file or package, or the entry and the file of a reference photo that is
        not an image or shows no face.
    """
    from .factory import make_inpainter

    role = ROLES[role]
    if role == "eavesdropper" and db is not None:
        raise ValueError("the eavesdropper has no privacy database: pass db=None")
    references = db.reference_photos() if db is not None else None  # DatabaseError: a photo missing
    try:
        if generator_dir is not None:
            from .diffusion import check_pipeline_dir

            check_pipeline_dir(Path(generator_dir))
        return make_inpainter(role, generator, Path(generator_dir) if generator_dir else None,
                              references=references or None)
    except (FileNotFoundError, RuntimeError, ValueError) as exc:
        raise GeneratorError(f"generator {generator!r}: {exc}") from exc


def fill_item(item, role: str, inpainter: Inpainter, db=None) -> tuple[np.ndarray | None, list[dict]]:
    """Fill the regions the guard removed from one received image.

    Parameters
    ----------
    item : ReceivedItem
        From ``SemanticReceiver.decode``; ``item.regions`` and ``item.vectors`` (authorized receiver).
    role : str
        ``'auth'`` / ``'authorized'`` or ``'eve'`` / ``'eavesdropper'``.
    inpainter : Inpainter
        From :func:`receiver_inpainter` for that role.
    db : PrivacyDatabase or None
        Authorized receiver: gives each aligned region its entry's category. An eavesdropper has none
        (passing one is an error).

    Output
    ------
    image : numpy.ndarray or None
        The filled RGB image (``item.image`` when nothing was removed; ``None`` when no image arrived).
    rows : list of dict
        One per region filled: ``{"box", "category", "backend"}``, in ``item.regions`` order when the
        receiver had the boxes, else in the order the grey fill was found (``"found": "grey fill"``,
        :func:`find_grey`, guided by ``item.region_count``).
    """
    role = ROLES[role]
    if role == "eavesdropper" and db is not None:
        raise ValueError("the eavesdropper has no privacy database: pass db=None")
    if item.image is None:
        return None, []
    cats = {e.id: e.category for e in db.entries} if db is not None else None
    vectors = item.vectors if len(item.vectors) == len(item.regions) else None
    return fill_regions(item.image, inpainter, item.regions, vectors, item.region_count, cats)


def fill_regions(image: np.ndarray, inpainter: Inpainter, rows: list[dict], vectors=None,
                 region_count: int | None = None, categories: dict | None = None) -> tuple[np.ndarray, list[dict]]:
    """The receivers' fill, from what the link delivered about one image (used by :func:`fill_item` and
    the GNU Radio block :class:`~sdr_semcom.blocks.generative_fill.GenerativeFill`).

    Parameters
    ----------
    image : numpy.ndarray
        The decoded RGB image.
    inpainter : Inpainter
    rows : list of dict
        The boxes of an opened EMBEDDING message (``SemanticReceiver.decode`` rows); empty at an
        eavesdropper. A row's ``removed`` bounds (the pixels the transmitter's guard removed around
        its box, with the margin it ran with) are filled; rows without them are grown by
        :data:`FALLBACK_MARGIN`.
    vectors : sequence of (384,) arrays or None
        The opened vectors, one per row (authorized receiver).
    region_count : int or None
        How many regions were removed (``None``: unknown, the EMBEDDING message was lost). Without
        rows, a non-zero count sends the receiver looking for the grey fill.
    categories : dict or None
        Entry id -> category (the authorized receiver's database).

    Output
    ------
    image, rows
        As :func:`fill_item`'s.
    """
    if rows:  # the boxes of an opened EMBEDDING message
        regions = regions_from_rows(rows, vectors, categories=categories)
        mask, found = removed_pixels(image.shape[:2], rows, regions), None
    elif region_count != 0:  # removed, boxes unknown (sealed, or lost: None): the grey fill says where
        regions = find_grey(image, region_count)
        mask, found = removed_mask(image.shape[:2], regions, 0.0), "grey fill"
    else:
        return image, []
    if not regions:
        return image, []
    res = inpainter.fill(image, mask, regions)
    out = []
    for r, backend in zip(regions, res.backends):
        row = {"box": [round(v, 1) for v in r.box], "category": r.category, "backend": backend}
        out.append(row if found is None else {**row, "found": found})
    return res.image, out


def removed_pixels(shape: tuple[int, int], rows: list[dict], regions: list) -> np.ndarray:
    """The pixels to fill: each row's ``removed`` bounds as the receiver opened them, else its box
    grown by :data:`FALLBACK_MARGIN`."""
    mask = np.zeros(shape, bool)
    for row, region in zip(rows, regions):
        if row.get("removed") is not None and len(row["removed"]) == 4:
            x0, y0, x1, y1 = (int(v) for v in row["removed"])
            mask[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = True
        else:
            mask |= removed_mask(shape, [region], FALLBACK_MARGIN)
    return mask


def find_grey(image: np.ndarray, count: int | None) -> list:
    """:func:`~.region.regions_from_fill` at the narrowest of :data:`GREY_TOLERANCES` that finds ``count``
    regions (``None``, count unknown: the narrowest only); if none does, the one that finds the most,
    with the grey it missed (regions that touch merged) covered by rectangles (:func:`~.region.cover_grey`)."""
    best: list = []
    for tol in GREY_TOLERANCES[:1] if count is None else GREY_TOLERANCES:
        regions = regions_from_fill(image, tol=tol)
        if len(regions) > len(best):
            best = regions
        if count is None or len(best) >= count:
            break
    if count is not None and len(best) < count:
        best = cover_grey(image, best, count, tol=GREY_TOLERANCES[-1])
    return best
