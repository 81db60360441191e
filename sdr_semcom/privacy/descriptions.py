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
#: Lab lightness band (lower, upper) of each coloured skin word: the guard names the first band whose lower
#: bound the face centre's lightness exceeds ("dark" below all); the face prior aims at the band's middle.
SKIN_L_BANDS = {"pale": (75.0, 85.0), "light": (62.0, 75.0), "medium": (45.0, 62.0), "dark": (29.0, 45.0)}
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
def palette(which: str) -> tuple[tuple[str, ...], np.ndarray]:
    """The colour words and their CIE Lab values: :data:`HAIR` with ``which="hair"``, else :data:`COLOURS`."""
    table = HAIR if which == "hair" else COLOURS
    return tuple(table), _lab(np.array(list(table.values()), np.float32))


def colour_name(pixels: np.ndarray, which: str = "colours") -> str:
    """The palette name (:data:`COLOURS`, or :data:`HAIR` with ``which="hair"``) nearest in Lab to the
    median colour of ``pixels`` (``(N, 3)`` RGB)."""
    names, lab = palette(which)
    med = np.median(np.asarray(pixels, np.float32).reshape(-1, 3), axis=0)
    return names[int(np.argmin(((lab - _lab(med[None])) ** 2).sum(-1)))]


def _clip_box(box, shape) -> tuple[int, int, int, int] | None:
    h, w = shape
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    return (x0, y0, x1, y1) if x1 - x0 >= 2 and y1 - y0 >= 2 else None


#: Lab distance scales of the soft weights: a pixel near the face's skin colour (``SKIN_DE``) or near a
#: pixel of the background ring above and beside the head region (``BACKGROUND_DE``) weighs little
#: in the hair colour.
SKIN_DE, BACKGROUND_DE = 14.0, 10.0
HAIR_FLOOR = 0.05  # weight of the zone-minus-skin colour beside the hair weights
LIGHT_DL = 8.0  # skin lightness, left minus right half, beyond which a face is "lit from" a side


def _window(img: np.ndarray, x0: float, y0: float, x1: float, y1: float, stride: int = 1):
    """Lab pixels of the clipped box and their pixel centres' ``(x, y)`` grids, every ``stride``-th pixel
    of the image's own grid (the same pixels whatever the box); ``None`` when empty."""
    h, w = img.shape[:2]
    xa, ya = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
    xb, yb = min(int(np.ceil(x1)), w), min(int(np.ceil(y1)), h)
    xa, ya = -(-xa // stride) * stride, -(-ya // stride) * stride
    if xb <= xa or yb <= ya:
        return None
    ys, xs = np.mgrid[ya:yb:stride, xa:xb:stride].astype(np.float32) + 0.5
    return _lab(img[ya:yb:stride, xa:xb:stride].astype(np.float32)), xs, ys


def _gauss(xs, ys, cx, cy, sx, sy) -> np.ndarray:
    return np.exp(-0.5 * (((xs - cx) / sx) ** 2 + ((ys - cy) / sy) ** 2))


def _wmean(lab: np.ndarray, wt: np.ndarray) -> np.ndarray | None:
    tot = float(wt.sum())
    return None if tot <= 1e-6 else (lab * wt[..., None]).sum(axis=(0, 1)) / tot


def _min_distance(a: np.ndarray, b: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """For every Lab row of ``a``, its distance to the nearest row of ``b``."""
    out = np.empty(len(a), np.float32)
    for k in range(0, len(a), chunk):
        out[k : k + chunk] = np.sqrt(((a[k : k + chunk, None, :] - b[None]) ** 2).sum(-1).min(1))
    return out


def _nearest(lab: np.ndarray, which: str) -> str:
    names, pal = palette(which)
    return names[int(np.argmin(((pal - lab) ** 2).sum(-1)))]


#: YuNet's face box in units of the eye-to-mouth distance ``d`` (medians over the 17 faces of the shipped
#: training and held-out photos): width, height, top above the eyes, bottom below the mouth.
LANDMARK_BOX = (2.14, 2.77, 1.05, 0.68)


def landmark_box(landmarks, box) -> tuple[float, float, float, float]:
    """The face box the words are read in: rebuilt from the 5 landmarks (:data:`LANDMARK_BOX`, centred on
    the eyes' and mouth's midpoints), so that detectors whose boxes differ by a few pixels (the guard fuses
    YuNet's and CenterFace's) give the same words; ``box`` itself when the landmarks are implausible
    (eye-to-mouth distance under 15 % or over 80 % of the box height, or their centre outside the box)."""
    lm = np.asarray(landmarks, np.float64).reshape(5, 2)
    eyes, mouth = lm[:2].mean(0), lm[3:].mean(0)
    d = float(np.linalg.norm(mouth - eyes))
    bh = float(box[3] - box[1])
    cx, cy = (eyes + mouth) / 2
    inside = box[0] <= cx <= box[2] and box[1] <= cy <= box[3]
    if not np.isfinite(d) or not 0.15 * bh <= d <= 0.8 * bh or not inside:
        return tuple(float(v) for v in box)
    bw, _, top, bottom = LANDMARK_BOX
    return (cx - bw * d / 2, eyes[1] - top * d, cx + bw * d / 2, mouth[1] + bottom * d)


def face_statistics(rgb: np.ndarray, box, landmarks=None) -> dict:
    """The statistics behind a face's words: weighted means that move little when the box moves a few
    pixels (smooth Gaussian windows tied to the box, soft colour weights; no hard pixel selection and no
    median that can jump between two colour modes).

    Skin: the mean Lab colour of the face box's centre (Gaussian window at 55 % of its height, spread
    20 % of its width and height). Hair: the mean Lab colour of the hair zone (Gaussian window centred
    15 % of the box height above its top edge, spread 45 % of its width and 25 % of its height, cut to
    the head region, :data:`~sdr_semcom.privacy.masking.HEAD_GROWTH`, so the pixels it reads are ones the
    guard removes, up to the landmark frame's offset from the guard's box), each pixel weighted by how unlike the skin colour and unlike the background ring (a
    band above the head region and beside its upper part) it is. Lighting: the skin-weighted mean
    lightness of the box's left half minus its right half.

    With ``landmarks`` the windows are placed on :func:`landmark_box`, not on ``box``; on ``box`` when that
    frame holds no pixel of the image (a face cut by the image's edge, its landmarks outside the image).

    Output
    ------
    dict: ``skin_lab`` (3,), ``hair_lab`` (3,), ``hair_weight`` (share of the zone's spatial weight
    left after the colour weights), ``light_dl`` (float).
    """
    from .masking import HEAD_GROWTH

    img = np.asarray(rgb)
    # the landmark frame, else the box (a face cut by the image's edge can have its landmarks, so its frame,
    # outside the image); each sampled every ~w/32 px, else every pixel (a frame that overlaps the image by
    # less than its sampling step)
    frames = ([landmark_box(landmarks, box)] if landmarks is not None else []) + [tuple(box)]
    for frame in frames:
        x0, y0, x1, y1 = (float(v) for v in frame)
        w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
        stride = max(int(round(w / 32)), 1)  # about 32 samples across the face: big faces cost no more
        face = _window(img, x0, y0, x1, y1, stride)
        if face is None and stride > 1:
            stride = 1
            face = _window(img, x0, y0, x1, y1, stride)
        if face is not None:
            break
    else:
        raise ValueError(f"face box {box} is outside the image")
    cx = (x0 + x1) / 2
    side, up, _ = HEAD_GROWTH
    hx0, hy0, hx1 = x0 - side * w, y0 - up * h, x1 + side * w
    flab, fx, fy = face
    skin = _wmean(flab, _gauss(fx, fy, cx, y0 + 0.55 * h, 0.2 * w, 0.2 * h))
    skin_like = lambda lab: np.exp(-0.5 * (((lab - skin) ** 2).sum(-1) / SKIN_DE ** 2))  # noqa: E731
    hair, hair_weight = skin, 0.0
    zone = _window(img, hx0, hy0, hx1, y0 + 0.35 * h, stride)
    if zone is not None:
        zlab, zx, zy = zone
        spatial = _gauss(zx, zy, cx, y0 - 0.15 * h, 0.45 * w, 0.25 * h)
        colour = 1 - skin_like(zlab)
        ring = [r for r in (_window(img, hx0, hy0 - 0.25 * h, hx1, hy0, stride),
                            _window(img, hx0 - 0.25 * w, hy0, hx0, y0, stride),
                            _window(img, hx1, hy0, hx1 + 0.25 * w, y0, stride)) if r is not None]
        if ring:
            rl = np.concatenate([r[0].reshape(-1, 3) for r in ring])
            rl = rl[:: max(len(rl) // 128, 1)]
            d = _min_distance(zlab.reshape(-1, 3), rl).reshape(zlab.shape[:2])
            colour = colour * (1 - np.exp(-0.5 * (d / BACKGROUND_DE) ** 2))
        hair_weight = float((spatial * colour).sum() / max(spatial.sum(), 1e-6))
        # a small floor of the zone minus the skin: a bald head or hidden hair degrades smoothly, no switch
        m = _wmean(zlab, spatial * (colour + HAIR_FLOOR * (1 - skin_like(zlab))))
        hair = skin if m is None else m
    sk = skin_like(flab) * _gauss(fx, fy, cx, y0 + 0.5 * h, 0.35 * w, 0.3 * h)
    left = np.clip((cx - fx) / (0.25 * w), -1, 1)  # +1 on the left half, -1 on the right, smooth across the middle
    wl, wr = sk * np.clip(left, 0, 1), sk * np.clip(-left, 0, 1)
    light = 0.0
    if wl.sum() > 1e-6 and wr.sum() > 1e-6:
        light = float((flab[..., 0] * wl).sum() / wl.sum() - (flab[..., 0] * wr).sum() / wr.sum())
    return {"skin_lab": skin, "hair_lab": hair, "hair_weight": hair_weight, "light_dl": light}


def _face_words(rgb: np.ndarray, box, landmarks) -> list[str]:
    st = face_statistics(rgb, box, landmarks)
    lab = st["skin_lab"]
    chroma = float(np.hypot(lab[1], lab[2]))
    skin = SKIN[4] if chroma < 6 else next((w for w, (lo, _) in SKIN_L_BANDS.items() if lab[0] > lo), "dark")
    hair = _nearest(st["hair_lab"], "hair")
    dl = st["light_dl"]
    light = LIGHT[0 if dl > LIGHT_DL else 2 if -dl > LIGHT_DL else 1]
    words = [f"{skin} skin", f"{hair} hair", light]
    if landmarks is not None:
        yaw = head_yaw(landmarks)
        words.append(POSE[0 if yaw < -0.15 else 2 if yaw > 0.15 else 1])
    return words


def head_yaw(landmarks) -> float:
    """The head's yaw as the pose word reads it: the nose's offset from the eyes' midpoint over the eye span,
    from YuNet's 5 landmarks (positive: the nose right of the eyes' midpoint, the head turned to the image's
    right; beyond +-0.15 the word is "facing left / right")."""
    lm = np.asarray(landmarks, np.float32).reshape(5, 2)
    eyes = (lm[0, 0] + lm[1, 0]) / 2
    span = max(abs(lm[1, 0] - lm[0, 0]), 1.0)
    return float((lm[2, 0] - eyes) / span)


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
        The original image ((H, W), (H, W, 1), (H, W, 2) grey or (H, W, 4) RGBA: read as its RGB image).
    box : (x0, y0, x1, y1)
        The detection's box in pixels (not grown by the margin; it may run past the image's edge).
    category : str
        ``face``: skin tone, hair colour, lighting side, and head pose when ``landmarks`` are given;
        ``text`` / ``license_plate``: writing and background colours; anything else: the colours of
        the top and bottom halves.
    landmarks : (5, 2) array, optional
        YuNet's landmarks (eyes, nose, mouth corners) in image pixels; anything but 5 finite points is
        read as no landmarks (no pose word).

    Output
    ------
    str: words from :func:`appearance_vocabulary` (``category``); ``""`` for an empty box.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:  # grey, grey + alpha, RGBA: the words of its RGB image
        from ..images import to_rgb

        rgb = to_rgb(rgb)
    if landmarks is not None:  # not 5 finite points (a detector's bad row): read as no landmarks
        lm = np.asarray(landmarks, np.float64)
        landmarks = lm.reshape(5, 2) if lm.size == 10 and np.isfinite(lm).all() else None
    b = _clip_box(box, rgb.shape[:2])
    if b is None:
        return ""
    crop = rgb[b[1] : b[3], b[0] : b[2]]
    if category == "face":
        words = _face_words(np.asarray(rgb), box, landmarks)
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
