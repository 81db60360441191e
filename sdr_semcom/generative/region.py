"""What the receiver knows about one removed region, and its conversion from receiver rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Categories the guard removes (``sdr_semcom.privacy.descriptions.CATEGORY_WORDS``) plus ``unknown``,
#: which is what an eavesdropper knows about every region.
CATEGORIES = ("face", "text", "license_plate", "screen", "document", "custom", "unknown")
EMBED_DIM = 384


@dataclass
class Region:
    """One removed region.

    Parameters
    ----------
    box : tuple of 4 float
        ``(x0, y0, x1, y1)`` in image pixels (x1, y1 exclusive).
    category : str
        ``'face'``, ``'text'``, ``'license_plate'``, ... or ``'unknown'`` (see :data:`CATEGORIES`).
    entry_id : str or None
        The privacy-database entry the receiver aligned this region with; ``None`` if none.
    description : str or None
        Non-identifying words (``privacy.descriptions.describe``) the aligned vector matched; ``None``
        at an eavesdropper.
    embedding : numpy.ndarray or None
        ``(384,)`` float32 MiniLM vector opened from the sealed EMBEDDING message (authorized
        receiver); ``None`` at an eavesdropper, which cannot open the message.
    removed : tuple of 4 int or None
        The pixel bounds ``(x0, y0, x1, y1)`` (exclusive ends) the transmitter's guard removed for this
        region, as the receiver opened them (a row's ``removed``): for a face its head region
        (``privacy.masking.head_box``), larger than ``box``. ``None``: unknown (an eavesdropper's
        regions, rows from before the bounds were sent).
    """

    box: tuple[float, float, float, float]
    category: str = "unknown"
    entry_id: str | None = None
    description: str | None = None
    embedding: np.ndarray | None = None
    removed: tuple[int, int, int, int] | None = None

    def __post_init__(self) -> None:
        if len(self.box) != 4:
            raise ValueError(f"Region.box must be (x0, y0, x1, y1), got {self.box!r}")
        self.box = tuple(float(v) for v in self.box)
        if not all(np.isfinite(self.box)):  # NaN passes the emptiness test below and breaks pixel_box later
            raise ValueError(f"Region.box {self.box} is not finite")
        if self.box[2] <= self.box[0] or self.box[3] <= self.box[1]:
            raise ValueError(f"Region.box {self.box} is empty: need x1 > x0 and y1 > y0")
        if self.embedding is not None:
            e = np.asarray(self.embedding, dtype=np.float32).reshape(-1)
            if e.size != EMBED_DIM:
                raise ValueError(f"Region.embedding must have {EMBED_DIM} values (MiniLM), got {e.size}")
            self.embedding = e
        if self.removed is not None:
            if len(self.removed) != 4:
                raise ValueError(f"Region.removed must be (x0, y0, x1, y1), got {self.removed!r}")
            self.removed = tuple(int(v) for v in self.removed)

    def pixel_box(self, shape: tuple[int, int]) -> tuple[int, int, int, int]:
        """The box as integer pixel bounds clipped to an ``(H, W)`` image (may be empty)."""
        h, w = shape
        x0, y0, x1, y1 = self.box
        return (min(max(int(np.floor(x0)), 0), w), min(max(int(np.floor(y0)), 0), h),
                min(max(int(np.ceil(x1)), 0), w), min(max(int(np.ceil(y1)), 0), h))

    def box_mask(self, shape: tuple[int, int]) -> np.ndarray:
        """Boolean ``(H, W)`` mask of the box."""
        x0, y0, x1, y1 = self.pixel_box(shape)
        out = np.zeros(shape, bool)
        out[y0:y1, x0:x1] = True
        return out


def category_of(text: str | None) -> str:
    """The category a guard description names (``'unknown'`` if none does)."""
    if not text:
        return "unknown"
    from ..privacy.descriptions import CATEGORY_WORDS, split

    t = split(text)[0].lower()  # the alignment phrase: appearance words never name the category
    for cat, words in sorted(CATEGORY_WORDS.items(), key=lambda kv: -len(kv[1])):
        if words in t:
            return cat
    return "unknown"


def regions_from_rows(rows: list[dict], vectors=None, categories: dict[str, str] | None = None) -> list[Region]:
    """Receiver rows -> :class:`Region` list (the integrator's bridge from ``SemanticReceiver``).

    Parameters
    ----------
    rows : list of dict
        ``SemanticReceiver.decode`` rows for one image: ``{"box": [x0, y0, x1, y1], "entry": id | None,
        "score": float, "text": str | None}`` (an eavesdropper's rows have only ``"box"``).
    vectors : sequence of (384,) arrays or None, optional
        The opened (aligned) MiniLM vectors in the same order, authorized receiver only (default: each
        row's ``"vector"`` if the rows carry one). A row whose
        ``entry`` is ``None`` (no database match) gets no vector: a vector that matched nothing
        is not trusted to condition a generator.
    categories : dict, optional
        ``entry id -> category`` from the receiver's database (``{e.id: e.category for e in db.entries}``);
        without it the category is read from the description's words.

    A row's ``removed`` bounds become the region's :attr:`Region.removed`.

    Output
    ------
    list of Region, in row order.
    """
    if vectors is None and rows and all("vector" in r for r in rows):
        vectors = [r["vector"] for r in rows]
    if vectors is not None and len(vectors) != len(rows):
        raise ValueError(f"{len(rows)} region rows but {len(vectors)} vectors: pass one vector per row")
    out = []
    for i, row in enumerate(rows):
        if "box" not in row:
            raise ValueError(f"region row {i} has no 'box': {row!r}")
        entry, text = row.get("entry"), row.get("text")
        if entry is not None and categories and entry in categories:
            cat = categories[entry]
        else:
            cat = category_of(text) if entry is not None else "unknown"
        vec = None if vectors is None or entry is None else vectors[i]
        removed = row.get("removed")
        removed = tuple(removed) if removed is not None and len(removed) == 4 else None
        out.append(Region(tuple(row["box"]), cat, entry, text if entry is not None else None, vec, removed))
    return out


def removed_mask(shape: tuple[int, int], regions: list[Region], margin: float = 0.15) -> np.ndarray:
    """The pixels the guard removed, rebuilt from the boxes (``masking.region_mask`` without a pixel mask).

    The receiver gets boxes, not the mask: each box grown by ``margin`` of its width / height on every
    side (the guard's default margin is 0.15).
    """
    h, w = shape
    out = np.zeros((h, w), bool)
    for r in regions:
        x0, y0, x1, y1 = r.box
        mx, my = margin * (x1 - x0), margin * (y1 - y0)
        xa, ya = max(int(np.floor(x0 - mx)), 0), max(int(np.floor(y0 - my)), 0)
        xb, yb = min(int(np.ceil(x1 + mx)), w), min(int(np.ceil(y1 + my)), h)
        out[ya:yb, xa:xb] = True
    return out


def regions_from_fill(image: np.ndarray, fill: tuple[int, int, int] = (127, 127, 127), tol: int = 10,
                      min_side: int = 8, min_solidity: float = 0.8, pad: int = 2) -> list[Region]:
    """Removed regions found from the guard's grey fill alone (what an eavesdropper can do).

    With the EMBEDDING message sealed, an eavesdropper learns how many regions were removed but not
    where; the removed pixels are the guard's flat mid-grey (``privacy.masking.FILL``), decoded with
    codec noise. Pixels within ``tol`` of ``fill`` in every channel, opened and closed, then connected
    components at least ``min_side`` wide and tall that fill ``min_solidity`` of their box (the guard
    removes boxes): their boxes grown by ``pad`` pixels, category ``'unknown'``. Use them with
    ``removed_mask(shape, regions, margin=0.0)``. A flat grey object in the scene can be found too.
    """
    import cv2

    img = np.asarray(image)
    near = (np.abs(img.astype(np.int16) - np.asarray(fill, np.int16)) <= tol).all(axis=2).astype(np.uint8)
    k = np.ones((5, 5), np.uint8)
    near = cv2.morphologyEx(cv2.morphologyEx(near, cv2.MORPH_OPEN, k), cv2.MORPH_CLOSE, k)
    n, _, stats, _ = cv2.connectedComponentsWithStats(near, connectivity=4)
    h, w = near.shape
    out = []
    for x, y, bw, bh, area in stats[1:]:
        if bw >= min_side and bh >= min_side and area >= min_solidity * bw * bh:
            out.append(Region((max(x - pad, 0), max(y - pad, 0), min(x + bw + pad, w), min(y + bh + pad, h))))
    return out


def cover_grey(image: np.ndarray, found: list[Region], count: int, fill: tuple[int, int, int] = (127, 127, 127),
               tol: int = 20, min_side: int = 8, scale: int = 4, cover: float = 0.98) -> list[Region]:
    """``found`` (the grey fill's box-like regions, :func:`regions_from_fill`) and rectangles covering the
    grey pixels they miss, when they are fewer than the ``count`` regions removed.

    Removed regions that touch merge into one grey component that is not a box (the head regions of
    people side by side) and :func:`regions_from_fill` drops it. Here the grey left outside ``found`` is
    covered by rectangles, largest first (on a grid ``scale`` times coarser), until ``cover`` of it is
    (at most ``4 x count`` rectangles): every grey pixel is then in a region, each rectangle a guess at
    a removed box. Category ``'unknown'``; use with ``removed_mask(shape, regions, margin=0.0)``.
    """
    import cv2

    if len(found) >= count:
        return list(found)
    img = np.asarray(image)
    near = (np.abs(img.astype(np.int16) - np.asarray(fill, np.int16)) <= tol).all(axis=2).astype(np.uint8)
    k = np.ones((5, 5), np.uint8)
    near = cv2.morphologyEx(cv2.morphologyEx(near, cv2.MORPH_OPEN, k), cv2.MORPH_CLOSE, k).astype(bool)
    rest = near & ~removed_mask(near.shape, found, margin=0.0)
    h, w = rest.shape
    small = cv2.resize(rest.astype(np.uint8), (max(w // scale, 1), max(h // scale, 1)),
                       interpolation=cv2.INTER_AREA) > 0
    total, side = small.sum(), max(min_side // scale, 1)
    out = list(found)
    for _ in range(4 * count):
        if total == 0 or small.sum() <= (1 - cover) * total:
            break
        x0, y0, x1, y1 = _largest_rectangle(small)
        if x1 - x0 < side or y1 - y0 < side:
            break
        small[y0:y1, x0:x1] = False
        out.append(Region((x0 * scale, y0 * scale, min(x1 * scale, w), min(y1 * scale, h))))
    return out


def _largest_rectangle(m: np.ndarray) -> tuple[int, int, int, int]:
    """The largest all-True axis-aligned rectangle of the boolean matrix ``m``: (x0, y0, x1, y1), ends exclusive
    ((0, 0, 0, 0) when ``m`` has no True).

    Vectorised form of the row-by-row histogram stack, all rows at once: for each row ``y`` and column ``x``
    the bar of True cells ending at ``y`` (height ``H``), spread left to just after the nearest lower bar and
    right to the nearest bar not taller (the stack's pops), both found by pointer jumping (a bar that does
    not bound ``x`` hands over its own bound). Of the rectangles with the largest area, the one the stack
    scan meets first: lowest bottom row, then leftmost right end, then the right-most bar (identical output;
    test ``test_largest_rectangle_matches_the_stack_scan``).
    """
    m = np.asarray(m, bool)
    rows, w = m.shape
    if rows == 0 or w == 0 or not m.any():
        return (0, 0, 0, 0)
    idx = np.arange(rows)[:, None]
    heights = np.where(m, idx - np.maximum.accumulate(np.where(m, -1, idx), axis=0), 0)  # run ending at each row
    # columns 1 .. w are the bars, 0 and w + 1 sentinels lower than any bar; flat indices, rows apart
    h = np.pad(heights, ((0, 0), (1, 1)), constant_values=-1).ravel()
    bars = np.flatnonzero(h > 0)  # bars of height 0 bound rectangles but span none (area 0): theirs are not needed
    left, right = np.arange(h.size) - 1, np.arange(h.size) + 1
    left = _jump(h, left, bars, np.greater_equal)  # nearest lower bar on the left: skip bars >= H via their bound
    right = _jump(h, right, bars, np.greater)  # nearest bar not taller on the right: skip bars > H
    left, right = left.reshape(rows, w + 2) % (w + 2), right.reshape(rows, w + 2) % (w + 2)
    x0, x1 = left[:, 1:-1], right[:, 1:-1] - 1  # in bar coordinates: the rectangle spans x0 .. x1 - 1
    area = heights * (x1 - x0)
    top = int(area.max())
    ys, xs = np.nonzero(area == top)
    first = np.lexsort((-xs, x1[ys, xs], ys))[0]  # the stack scan's order: row, right end, the later bar
    y, x = int(ys[first]), int(xs[first])
    return (int(x0[y, x]), y + 1 - int(heights[y, x]), int(x1[y, x]), y + 1)


def _jump(h: np.ndarray, bound: np.ndarray, todo: np.ndarray, skip) -> np.ndarray:
    """Pointer jumping: while ``skip(h[bound[i]], h[i])``, ``bound[i] = bound[bound[i]]`` for the indices ``todo``
    (all at once: a bound handed over is itself one, so the skips grow as the passes go)."""
    todo = todo[skip(h[bound[todo]], h[todo])]
    while todo.size:
        bound[todo] = bound[bound[todo]]
        todo = todo[skip(h[bound[todo]], h[todo])]
    return bound
