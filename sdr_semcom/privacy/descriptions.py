"""The words the guard says about a removed region, and every sentence it can say for an entry.

A description has two parts joined by ``"; "``:

- the **alignment phrase** (:func:`describe` without pixels): category, a coarse size (3 classes),
  position (3 x 3 cells), and for an enrolled person the entry id;
- the **appearance phrase** (:func:`appearance`): a few coarse, non-identifying words computed from
  the pixels the guard is about to remove, from a small closed vocabulary
  (:func:`appearance_vocabulary`). Faces: skin tone, hair colour, lighting side, head pose
  (from YuNet's landmarks when present), e.g. ``"light skin, dark brown hair, lit from the left,
  facing right"``. Text / plates: ``"black text, white background"``. Other regions: the colours of the
  region's top and bottom halves, ``"blue above, grey below"``.

The vector that travels (sealed, :mod:`~sdr_semcom.privacy.keying`) is :func:`embed_descriptions`:
``normalise(a + p)``, ``a`` the MiniLM vector of the alignment phrase, ``p`` the normalised sum of the
MiniLM vectors of the appearance words (one per group, :func:`appearance_groups`). The receiver's
:class:`~sdr_semcom.privacy.aligner.Aligner` thus scores every (alignment phrase, appearance phrase)
pair of its database from a few dozen embedded texts, and the conditional inpainter
(:mod:`sdr_semcom.generative.network`) learns from the same vector. Only the authorized receiver
(which holds the database) can open it; it learns these soft attributes, never the pixels.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .database import Entry

CATEGORY_WORDS = {"face": "human face", "text": "region of text", "license_plate": "vehicle license plate",
                  "screen": "screen", "document": "document", "custom": "private region"}
SIZES = ("small", "medium-sized", "large")
HORIZ = ("left", "center", "right")
VERT = ("top", "middle", "bottom")
SEP = "; "

#: Face skin tone from the face centre's Lab lightness (``grey-toned``: a colourless photo).
SKIN = ("pale", "light", "medium", "dark", "grey-toned")
#: Named colours (sRGB) for hair, text, plates and other regions; nearest in CIE Lab.
HAIR = {"black": (25, 22, 22), "dark brown": (70, 48, 35), "brown": (125, 85, 55), "blond": (205, 170, 110),
        "red": (150, 60, 35), "grey": (135, 135, 135), "white": (225, 225, 225)}
COLOURS = {"black": (20, 20, 20), "dark grey": (75, 75, 75), "grey": (135, 135, 135), "white": (230, 230, 230),
           "brown": (120, 80, 50), "red": (190, 40, 40), "orange": (230, 130, 40), "yellow": (230, 210, 60),
           "green": (60, 140, 60), "blue": (50, 90, 190)}
LIGHT = ("lit from the left", "evenly lit", "lit from the right")
POSE = ("facing left", "facing the camera", "facing right")


def _phrase(category: str, size: str, horiz: str, vert: str, entry: Entry | None) -> str:
    where = "the center" if (horiz, vert) == ("center", "middle") else f"the {vert} {horiz}"
    text = f"a {size} {CATEGORY_WORDS.get(category, category)} in {where} of the image"
    if entry is not None and entry.enrolled is not None:
        text = f"database entry {entry.id}: {text}"
    return text


def _lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB uint8/float -> CIE Lab (L in 0..100)."""
    import cv2

    a = np.asarray(rgb, np.float32).reshape(-1, 1, 3) / 255.0
    return cv2.cvtColor(a, cv2.COLOR_RGB2LAB).reshape(np.shape(rgb))


@lru_cache(maxsize=4)
def _palette(which: str) -> tuple[tuple[str, ...], np.ndarray]:
    table = HAIR if which == "hair" else COLOURS
    return tuple(table), _lab(np.array(list(table.values()), np.float32))


def colour_name(pixels: np.ndarray, which: str = "colours") -> str:
    """The palette name (:data:`COLOURS`, or :data:`HAIR` with ``which="hair"``) nearest in Lab to the
    median colour of ``pixels`` (``(N, 3)`` RGB)."""
    names, lab = _palette(which)
    med = np.median(np.asarray(pixels, np.float32).reshape(-1, 3), axis=0)
    return names[int(np.argmin(((lab - _lab(med[None])) ** 2).sum(-1)))]


def _clip_box(box, shape) -> tuple[int, int, int, int] | None:
    h, w = shape
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    return (x0, y0, x1, y1) if x1 - x0 >= 2 and y1 - y0 >= 2 else None


def _face_words(rgb: np.ndarray, box, landmarks) -> list[str]:
    x0, y0, x1, y1 = box
    crop = rgb[y0:y1, x0:x1]
    h, w = crop.shape[:2]
    centre = crop[int(0.3 * h) : int(0.8 * h), int(0.25 * w) : int(0.75 * w)].reshape(-1, 3)
    # hair: the band across the top of the box and the guard's margin above it (removed too)
    band = rgb[max(y0 - int(0.15 * h), 0) : y0 + max(int(0.08 * h), 1), x0 + w // 6 : x1 - w // 6]
    lab = _lab(np.median(centre.astype(np.float32), axis=0)[None])[0]
    chroma = float(np.hypot(lab[1], lab[2]))
    skin = SKIN[4] if chroma < 6 else SKIN[0 if lab[0] > 75 else 1 if lab[0] > 62 else 2 if lab[0] > 45 else 3]
    hair = colour_name(band.reshape(-1, 3), "hair")
    grey = _lab(crop[int(0.2 * h) : int(0.85 * h)].astype(np.float32))[..., 0]
    left, right = float(grey[:, : w // 2].mean()), float(grey[:, w - w // 2 :].mean())
    light = LIGHT[0 if left - right > 8 else 2 if right - left > 8 else 1]
    words = [f"{skin} skin", f"{hair} hair", light]
    if landmarks is not None:
        lm = np.asarray(landmarks, np.float32).reshape(5, 2)
        eyes = (lm[0, 0] + lm[1, 0]) / 2
        span = max(abs(lm[1, 0] - lm[0, 0]), 1.0)
        yaw = (lm[2, 0] - eyes) / span  # nose right of the eyes' midpoint: the head turns to the image's right
        words.append(POSE[0 if yaw < -0.15 else 2 if yaw > 0.15 else 1])
    return words


def _text_words(crop: np.ndarray, noun: str) -> list[str]:
    import cv2

    grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
    _, th = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    fg = th.astype(bool)
    if fg.mean() > 0.5:  # the minority class is the writing
        fg = ~fg
    if not fg.any() or fg.all():
        name = colour_name(crop.reshape(-1, 3))
        return [f"{name} {noun}", f"{name} background"]
    return [f"{colour_name(crop[fg])} {noun}", f"{colour_name(crop[~fg])} background"]


def appearance(rgb: np.ndarray, box, category: str, landmarks: np.ndarray | None = None) -> str:
    """Coarse appearance words for the pixels of ``box`` (computed before the guard removes them).

    Parameters
    ----------
    rgb : (H, W, 3) uint8
        The original image.
    box : (x0, y0, x1, y1)
        The detection's box in pixels (not grown by the margin).
    category : str
        ``face``: skin tone, hair colour, lighting side, and head pose when ``landmarks`` are given;
        ``text`` / ``license_plate``: writing and background colours; anything else: the colours of
        the top and bottom halves.
    landmarks : (5, 2) array, optional
        YuNet's landmarks (eyes, nose, mouth corners) in image pixels.

    Output
    ------
    str: words from :func:`appearance_vocabulary` (``category``); ``""`` for an empty box.
    """
    b = _clip_box(box, rgb.shape[:2])
    if b is None:
        return ""
    crop = np.asarray(rgb)[b[1] : b[3], b[0] : b[2]]
    if category == "face":
        words = _face_words(np.asarray(rgb), b, landmarks)
    elif category in ("text", "license_plate"):
        words = _text_words(crop, "text" if category == "text" else "characters")
    else:
        h = crop.shape[0]
        words = [f"{colour_name(crop[: max(h // 2, 1)].reshape(-1, 3))} above",
                 f"{colour_name(crop[h // 2 :].reshape(-1, 3))} below"]
    return ", ".join(words)


def appearance_groups(category: str) -> list[tuple[str, ...]]:
    """The appearance words of ``category``, group by group (one word of each group, in order, joined
    by ``", "``; a face's last group, the pose, may be missing)."""
    if category == "face":
        return [tuple(f"{s} skin" for s in SKIN), tuple(f"{h} hair" for h in HAIR), LIGHT, POSE]
    if category in ("text", "license_plate"):
        noun = "text" if category == "text" else "characters"
        return [tuple(f"{c} {noun}" for c in COLOURS), tuple(f"{c} background" for c in COLOURS)]
    return [tuple(f"{c} above" for c in COLOURS), tuple(f"{c} below" for c in COLOURS)]


def appearance_vocabulary(category: str) -> list[str]:
    """Every phrase :func:`appearance` can return for ``category`` (faces: 420, other categories: 100)."""
    import itertools

    groups = appearance_groups(category)
    out = [", ".join(c) for c in itertools.product(*groups)]
    if category == "face":
        out += [", ".join(c) for c in itertools.product(*groups[:-1])]
    return out


def describe(category: str, box, shape, entry: Entry | None = None, rgb: np.ndarray | None = None,
             landmarks: np.ndarray | None = None) -> str:
    """The guard's words for a finding: alignment phrase, and with ``rgb`` its appearance phrase.

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
    rgb : (H, W, 3) uint8, optional
        The original image: adds ``"; "`` + :func:`appearance` of the box.
    landmarks : (5, 2) array, optional
        Face landmarks for the head pose.
    """
    h, w = shape
    x0, y0, x1, y1 = box
    area = (x1 - x0) * (y1 - y0) / float(w * h)
    cx, cy = (x0 + x1) / 2 / w, (y0 + y1) / 2 / h
    size = SIZES[0 if area < 0.02 else 1 if area < 0.12 else 2]
    text = _phrase(category, size, HORIZ[min(max(int(cx * 3), 0), 2)], VERT[min(max(int(cy * 3), 0), 2)], entry)
    if rgb is not None:
        words = appearance(rgb, box, category, landmarks)
        if words:
            text = f"{text}{SEP}{words}"
    return text


def split(description: str) -> tuple[str, str]:
    """``(alignment phrase, appearance phrase)`` of a description (``""`` when it has none)."""
    head, _, tail = description.partition(SEP)
    return head, tail


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


def appearance_vector(phrase: str, word_vectors: dict[str, np.ndarray]) -> np.ndarray:
    """Unit sum of the MiniLM vectors of an appearance phrase's words (its ``", "``-separated groups)."""
    return _unit(np.sum([word_vectors[w] for w in phrase.split(", ")], axis=0))


def combine(phrase_vectors: np.ndarray, appearance_vectors: np.ndarray | None) -> np.ndarray:
    """Unit ``normalise(phrase + appearance)`` rows (a row without appearance: zeros in ``appearance_vectors``)."""
    v = np.asarray(phrase_vectors, np.float32)
    if appearance_vectors is not None:
        v = v + np.asarray(appearance_vectors, np.float32)
    return _unit(v)


def description_parts(description: str) -> list[str]:
    """The texts whose MiniLM vectors make a description's vector: its alignment phrase and appearance words."""
    head, tail = split(description)
    return [head, *(tail.split(", ") if tail else [])]


def embed_descriptions(descriptions: list[str], encoder=None) -> np.ndarray:
    """The vectors the guard sends for ``descriptions``: ``(n, 384)`` unit rows, :func:`combine` of the
    MiniLM vectors of each description's two parts (just the phrase's when it has no appearance part).

    Parameters
    ----------
    descriptions : list of str
        :func:`describe` outputs.
    encoder : callable, optional
        Texts -> unit vectors; default the process-wide MiniLM encoder.
    """
    from .text_encoder import DIM, text_encoder

    if not descriptions:
        return np.zeros((0, DIM), np.float32)
    enc = encoder or text_encoder()
    uniq = sorted({p for d in descriptions for p in description_parts(d)})
    vec = dict(zip(uniq, np.asarray(enc(uniq), np.float32)))
    zero = np.zeros(DIM, np.float32)
    parts = [split(d) for d in descriptions]
    return combine(np.stack([vec[a] for a, _ in parts]),
                   np.stack([appearance_vector(b, vec) if b else zero for _, b in parts]))


def candidate_descriptions(entry: Entry) -> list[str]:
    """Every alignment phrase :func:`describe` can produce for ``entry`` (27); the aligner pairs each
    with :func:`appearance_vocabulary` of the entry's category."""
    return [_phrase(entry.category, s, hz, v, entry) for s in SIZES for hz in HORIZ for v in VERT]
