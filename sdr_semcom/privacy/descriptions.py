"""The words the guard says about a removed region, and every sentence it can say for an entry.

A description names the category, a coarse size (3 classes) and position (3 x 3 cells), and
for an enrolled person the entry id: nothing that identifies a stranger. The receiver's
:class:`~sdr_semcom.privacy.aligner.Aligner` embeds :func:`candidate_descriptions` of its
database to recognise what was said.
"""

from __future__ import annotations

from .database import Entry

CATEGORY_WORDS = {"face": "human face", "text": "region of text", "license_plate": "vehicle license plate",
                  "screen": "screen", "document": "document", "custom": "private region"}
SIZES = ("small", "medium-sized", "large")
HORIZ = ("left", "center", "right")
VERT = ("top", "middle", "bottom")


def _phrase(category: str, size: str, horiz: str, vert: str, entry: Entry | None) -> str:
    where = "the center" if (horiz, vert) == ("center", "middle") else f"the {vert} {horiz}"
    text = f"a {size} {CATEGORY_WORDS.get(category, category)} in {where} of the image"
    if entry is not None and entry.enrolled is not None:
        text = f"database entry {entry.id}: {text}"
    return text


def describe(category: str, box, shape, entry: Entry | None = None) -> str:
    """Non-identifying words for a finding: category, coarse size (3) and position (3 x 3).

    Parameters
    ----------
    category : str
        The entry's category (``face``, ``text``, ...).
    box : (x0, y0, x1, y1)
        The region in pixels.
    shape : (H, W)
        The image's size.
    entry : Entry, optional
        Named in the words when it enrols a known person.
    """
    h, w = shape
    x0, y0, x1, y1 = box
    area = (x1 - x0) * (y1 - y0) / float(w * h)
    cx, cy = (x0 + x1) / 2 / w, (y0 + y1) / 2 / h
    size = SIZES[0 if area < 0.02 else 1 if area < 0.12 else 2]
    return _phrase(category, size, HORIZ[min(int(cx * 3), 2)], VERT[min(int(cy * 3), 2)], entry)


def candidate_descriptions(entry: Entry) -> list[str]:
    """Every description :func:`describe` can produce for ``entry`` (27)."""
    return [_phrase(entry.category, s, hz, v, entry) for s in SIZES for hz in HORIZ for v in VERT]
