"""Labelled guard cases (faces, text, plates) built from images that ship inside packages.

Every case is a recipe: a shipped image (scikit-image's data, the cached samples, the face
photos of :mod:`sdr_semcom.samples`) and seeded edits of it that stand for what the guard meets:

- ``text``: words rendered with a font that ships with matplotlib (DejaVu) at a given ink height
  in pixels (``text_px``), as a badge (a plain patch, letters 170 or 70 grey levels off it:
  ``contrast`` high / low), as an opaque caption on the photo (high) or a half-transparent
  watermark (low); the image's long side is 256, 640 or 1600 pixels.
- ``plate``: a plate-like box (light plate, dark border, "AB 123 CD" or "7ABC123" in a bold
  mono font) warped in perspective, pasted on a photo, then linear motion blur of several
  lengths over the whole image and JPEG compression. Labelled: the box of its characters.
- ``face``: a face photo cropped so one face is cut by the image border by 25 to 50 % of its
  width or height (``border_cut``), or scaled down until a face is 12 to 28 pixels wide (``face_px``).
- ``clean``: photos with no face, text or plate (for false positives per image).
- ``real``: grace_hopper (matplotlib's sample) with its name tag, labelled by inspection.

Labels (box ``[x0, y0, x1, y1]`` in the final image's pixels, category, conditions) are written
with the recipes into ``benchmarks/data/guard_cases.json`` by ``python benchmarks/guard_cases.py``;
:func:`render` rebuilds each image from its recipe (deterministic: the same pixels every time).

Two splits drawn with different seeds from the same condition grid: ``tune`` (thresholds and
passes were chosen on it) and ``report`` (the figures quoted; nothing was tuned on it).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sdr_semcom.eval.truth import face_truth  # noqa: E402
from sdr_semcom.samples import DEFAULT_CACHE, fetch_face_samples, fetch_samples  # noqa: E402

CASES = Path(__file__).resolve().parent / "data" / "guard_cases.json"
SEEDS = {"tune": 11, "report": 12}
BACKGROUNDS = ("coffee", "chelsea", "rocket", "hubble_deep_field", "astronaut", "brick")
CLEAN = ("coffee", "chelsea", "rocket", "hubble_deep_field", "brick", "grass", "gravel", "coins", "retina")
TEXT_PX = (8, 10, 12, 16, 24)
TEXT_SIDES = (256, 640, 1600)
BLUR_PX = (0, 5, 9, 15, 21)
PLATE_W = (60, 100)
BORDER_CUT = (0.25, 0.35, 0.5)
FACE_PX = (12, 16, 20, 28)
#: grace_hopper.png: the name tag's letters ("COMO HOPPER"), read off the image
HOPPER_TAG = [104, 489, 164, 512]
WORDS = ["JOHN SMITH", "Dr. A. Keller", "Room 214", "EXIT 12", "Call 555-0142", "Maria Lopez", "ACME Corp.",
         "Badge 40713", "Main Street 9", "K. Tanaka", "Private", "Visitor 2231", "Oak Ave 118", "Lab B-3"]
FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf")


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    import matplotlib

    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name), size)


def source(name: str) -> np.ndarray:
    """A shipped image as RGB uint8."""
    for path in (DEFAULT_CACHE / "faces" / name, DEFAULT_CACHE / name, DEFAULT_CACHE / f"{name}.png"):
        if path.exists():
            return np.asarray(Image.open(path).convert("RGB"))
    from skimage import data

    img = getattr(data, name)()
    if img.ndim == 2:
        img = np.stack([img] * 3, -1)
    return np.ascontiguousarray(img[..., :3]).astype(np.uint8)


def _resize(img: np.ndarray, side: int) -> np.ndarray:
    h, w = img.shape[:2]
    s = side / max(h, w)
    return np.asarray(Image.fromarray(img).resize((round(w * s), round(h * s)), Image.BICUBIC))


def _text_size(text: str, face: str, px: int) -> int:
    """The font size whose ink height for ``text`` is closest to ``px``."""
    best = min(range(4, 6 * px), key=lambda s: abs((lambda b: b[3] - b[1])(font(face, s).getbbox(text)) - px))
    return best


def _paste(img: np.ndarray, layer: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha[..., None].astype(np.float32)
    return np.clip(img * (1 - a) + layer * a + 0.5, 0, 255).astype(np.uint8)


def _draw_text(img: np.ndarray, item: dict) -> tuple[np.ndarray, list[int]]:
    """Render one text item; returns the image and the ink box."""
    h, w = img.shape[:2]
    f = font(item["font"], item["size"])
    x, y = item["xy"]
    if item.get("patch") is not None:
        b = f.getbbox(item["text"])
        p = item["pad"]
        patch = Image.new("L", (w, h), 0)
        ImageDraw.Draw(patch).rectangle((x + b[0] - p, y + b[1] - p, x + b[2] + p, y + b[3] + p), fill=255)
        img = _paste(img, np.broadcast_to(np.array(item["patch"], np.float32), img.shape), np.asarray(patch) / 255)
    ink = Image.new("L", (w, h), 0)
    ImageDraw.Draw(ink).text((x, y), item["text"], fill=255, font=f)
    a = np.asarray(ink) / 255.0
    ys, xs = np.nonzero(a > 0.25)
    box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
    return _paste(img, np.broadcast_to(np.array(item["fg"], np.float32), img.shape), a * item["alpha"]), box


def _plate(img: np.ndarray, spec: dict) -> tuple[np.ndarray, list[int]]:
    """Render a plate (light box, dark border, characters), warp it onto ``spec['quad']``.

    The label is the box of the warped characters (what identifies the car), not of the plate.
    """
    import cv2

    pw, ph = 520, 110 if spec["style"] == "eu" else 260
    plate = Image.new("RGB", (pw, ph), tuple(spec["colour"]))
    ink = Image.new("L", (pw, ph), 0)
    d = ImageDraw.Draw(plate)
    d.rectangle((0, 0, pw - 1, ph - 1), outline=(20, 20, 20), width=8)
    f = font("DejaVuSansMono-Bold.ttf", 84 if spec["style"] == "eu" else 110)
    b = d.textbbox((0, 0), spec["text"], font=f)
    xy = ((pw - b[2] - b[0]) / 2, (ph - b[3] - b[1]) / 2)
    d.text(xy, spec["text"], fill=(15, 15, 15), font=f)
    ImageDraw.Draw(ink).text(xy, spec["text"], fill=255, font=f)
    src = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    m = cv2.getPerspectiveTransform(src, np.float32(spec["quad"]))
    h, w = img.shape[:2]
    layer = cv2.warpPerspective(np.asarray(plate), m, (w, h), flags=cv2.INTER_AREA)
    alpha = cv2.warpPerspective(np.ones((ph, pw), np.float32), m, (w, h), flags=cv2.INTER_LINEAR)
    letters = cv2.warpPerspective(np.asarray(ink, np.float32) / 255, m, (w, h), flags=cv2.INTER_AREA)
    ys, xs = np.nonzero(letters > 0.25)
    box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
    return _paste(img, layer.astype(np.float32), alpha), box


def motion_blur(img: np.ndarray, length: int, angle: float) -> np.ndarray:
    """Linear motion blur: a line kernel of ``length`` pixels at ``angle`` degrees."""
    import cv2

    if length <= 1:
        return img
    k = np.zeros((length, length), np.float32)
    k[length // 2, :] = 1
    rot = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle, 1.0)
    k = cv2.warpAffine(k, rot, (length, length))
    return cv2.filter2D(img, -1, k / k.sum(), borderType=cv2.BORDER_REFLECT)


def jpeg(img: np.ndarray, quality: int | None) -> np.ndarray:
    if not quality:
        return img
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=int(quality))
    return np.asarray(Image.open(buf).convert("RGB"))


def render(case: dict) -> tuple[np.ndarray, list[dict]]:
    """The image of one case and the labels computed while drawing it."""
    img = source(case["source"])
    labels = []
    if case.get("crop"):
        x0, y0, x1, y1 = case["crop"]
        img = img[y0:y1, x0:x1]
    if case.get("side"):
        img = _resize(img, case["side"])
    for item in case.get("texts", []):
        img, box = _draw_text(img, item)
        labels.append({"box": box, "category": "text", "cond": item["cond"]})
    if case.get("plate"):
        img, box = _plate(img, case["plate"])
        labels.append({"box": box, "category": "license_plate", "cond": case["plate"]["cond"]})
    if case.get("blur"):
        img = motion_blur(img, *case["blur"])
    img = jpeg(img, case.get("jpeg"))
    return np.ascontiguousarray(img), labels + case.get("fixed_labels", [])


def _text_cases(rng, split):
    cases = []
    combos = [(px, c) for px in TEXT_PX for c in ("high", "low")]
    for k, side in enumerate(TEXT_SIDES):
        order = rng.permutation(len(combos))
        for j in range(0, len(combos), 2):
            bg = BACKGROUNDS[rng.integers(len(BACKGROUNDS))]
            img = _resize(source(bg), side)
            h, w = img.shape[:2]
            texts = []
            for slot, idx in enumerate(order[j : j + 2]):
                px, contrast = combos[idx]
                style = ("badge", "overlay")[rng.integers(2)]
                word = WORDS[rng.integers(len(WORDS))]
                face = FONTS[rng.integers(len(FONTS))]
                size = _text_size(word, face, px)
                tw, th = font(face, size).getbbox(word)[2:]
                x = int(rng.integers(4, max(w - tw - 4, 5)))
                y = int(rng.integers(slot * h // 2 + 4, max((slot + 1) * h // 2 - th - 4, slot * h // 2 + 5)))
                b = font(face, size).getbbox(word)
                lum = float(img[max(y + b[1], 0) : y + b[3], max(x + b[0], 0) : x + b[2]].mean())
                item = {"text": word, "font": face, "size": size, "xy": [x, y], "alpha": 1.0, "pad": max(2, px // 3),
                        "patch": None}
                if style == "badge":  # a name tag / sign: a plain patch, the letters 170 or 70 grey levels off it
                    delta = 170 if contrast == "high" else 70
                    base = int(rng.integers(170, 235)) if lum > 110 else int(rng.integers(20, 80))
                    item["patch"] = [base] * 3
                    item["fg"] = [max(base - delta, 0)] * 3 if base > 110 else [min(base + delta, 255)] * 3
                else:  # caption / watermark: white or black letters straight on the photo, opaque or half
                    item["fg"] = [15] * 3 if lum > 128 else [245] * 3
                    item["alpha"] = 1.0 if contrast == "high" else 0.5
                    style = "caption" if contrast == "high" else "watermark"
                item["cond"] = {"text_px": px, "contrast": contrast, "style": style, "image_side": side}
                texts.append(item)
            cases.append({"id": f"{split}-text-{side}-{j // 2}", "kind": "text", "source": bg, "side": side,
                          "texts": texts, "jpeg": 90})
    return cases


def _plate_text(rng, style: str) -> str:
    L = "ABCDEFGHJKLMNPRSTUVWXYZ"
    if style == "eu":
        return (f"{''.join(rng.choice(list(L), 2))} {rng.integers(100, 1000)} {''.join(rng.choice(list(L), 2))}")
    return f"{rng.integers(1, 10)}{''.join(rng.choice(list(L), 3))}{rng.integers(100, 1000)}"


def _plate_cases(rng, split):
    cases = []
    for blur in BLUR_PX:
        for pw in PLATE_W:
            for q in (90, 40):
                bg = BACKGROUNDS[rng.integers(len(BACKGROUNDS))]
                side = (640, 1600)[rng.integers(2)]
                img = _resize(source(bg), side)
                h, w = img.shape[:2]
                style = ("eu", "us")[rng.integers(2)]
                ph = pw / (4.7 if style == "eu" else 2.0)
                scale = side / 640  # plate width is given for a 640 px image
                pw_s, ph_s = pw * scale, ph * scale
                x = rng.uniform(10, w - pw_s * 1.2 - 10)
                y = rng.uniform(10, h - ph_s * 1.3 - 10)
                j = rng.uniform(-0.12, 0.12, (4, 2)) * [pw_s, ph_s]
                quad = (np.array([[x, y], [x + pw_s, y], [x + pw_s, y + ph_s], [x, y + ph_s]]) + j).round(1).tolist()
                colour = [[245, 245, 240], [250, 215, 40]][rng.integers(2)] if style == "eu" else [240, 240, 250]
                angle = float(rng.uniform(-20, 20))
                cases.append({"id": f"{split}-plate-b{blur}-w{pw}-q{q}", "kind": "plate", "source": bg, "side": side,
                              "plate": {"text": _plate_text(rng, style), "style": style, "colour": colour, "quad": quad,
                                        "cond": {"blur_px": blur, "plate_w": pw, "jpeg": q, "image_side": side}},
                              "blur": [blur, round(angle, 1)] if blur else None, "jpeg": q})
    return cases


def _face_cases(rng, split):
    truth = {p.name: b for p, b in face_truth().items() if b}
    names = sorted(truth)
    cases = []
    sides = ("left", "right", "top", "bottom")
    for cut in BORDER_CUT:
        for s in sides:
            name = names[rng.integers(len(names))]
            boxes = truth[name]
            t = boxes[rng.integers(len(boxes))]
            h, w = source(name).shape[:2]
            bw, bh = t[2] - t[0], t[3] - t[1]
            crop = [0, 0, w, h]
            if s == "left":
                crop[0] = int(round(t[0] + cut * bw))
            elif s == "right":
                crop[2] = int(round(t[2] - cut * bw))
            elif s == "top":
                crop[1] = int(round(t[1] + cut * bh))
            else:
                crop[3] = int(round(t[3] - cut * bh))
            labels = []
            for b in boxes:
                v = [max(b[0], crop[0]), max(b[1], crop[1]), min(b[2], crop[2]), min(b[3], crop[3])]
                if v[2] <= v[0] or v[3] <= v[1]:
                    continue
                gone = 1 - (v[2] - v[0]) * (v[3] - v[1]) / ((b[2] - b[0]) * (b[3] - b[1]))
                if gone > 0.55:  # mostly outside: too little left to call it a face
                    continue
                share = min(BORDER_CUT + (0.0,), key=lambda c: abs(c - gone))
                labels.append({"box": [round(v[0] - crop[0], 1), round(v[1] - crop[1], 1), round(v[2] - crop[0], 1),
                                       round(v[3] - crop[1], 1)], "category": "face", "cond": {"border_cut": share}})
            cases.append({"id": f"{split}-face-cut{cut}-{s}", "kind": "face", "source": name, "crop": crop,
                          "fixed_labels": labels})
    for px in FACE_PX:
        name = names[rng.integers(len(names))]
        boxes = truth[name]
        t = boxes[rng.integers(len(boxes))]
        h, w = source(name).shape[:2]
        sc = px / (t[2] - t[0])
        side = max(32, int(round(max(h, w) * sc)))
        sc = side / max(h, w)
        labels = [{"box": [round(v * sc, 1) for v in b], "category": "face",
                   "cond": {"face_px": min(FACE_PX + (40,), key=lambda p: abs(p - (b[2] - b[0]) * sc))}} for b in boxes]
        cases.append({"id": f"{split}-face-px{px}", "kind": "face", "source": name, "side": side,
                      "fixed_labels": labels})
    return cases


def generate(split: str) -> list[dict]:
    """The cases of one split (seed :data:`SEEDS` [split])."""
    rng = np.random.default_rng(SEEDS[split])
    cases = _text_cases(rng, split) + _plate_cases(rng, split) + _face_cases(rng, split)
    cases += [{"id": f"{split}-clean-{n}", "kind": "clean", "source": n, "side": (640, 1600)[rng.integers(2)]}
              for n in CLEAN]
    if split == "report":
        cases.append({"id": "report-real-grace_hopper", "kind": "real", "source": "grace_hopper",
                      "fixed_labels": [{"box": HOPPER_TAG, "category": "text", "cond": {"real": "name tag"}}]})
    for c in cases:
        c["split"] = split
        c["labels"] = render(c)[1]
    return cases


def load_cases(split: str | None = None) -> list[dict]:
    """The stored cases (all, or one split)."""
    cases = json.loads(CASES.read_text())["cases"]
    return [c for c in cases if split is None or c["split"] == split]


def main() -> int:
    fetch_samples()
    fetch_face_samples()
    cases = generate("tune") + generate("report")
    head = json.dumps({"about": __doc__.split("\n\n")[0] + " See benchmarks/guard_cases.py.", "seeds": SEEDS})
    body = ",\n".join(json.dumps(c, separators=(",", ":")) for c in cases)  # one case a line
    CASES.write_text(f'{head[:-1]}, "cases": [\n{body}\n]}}\n')
    kinds = {}
    for c in cases:
        kinds[(c["split"], c["kind"])] = kinds.get((c["split"], c["kind"]), 0) + 1
    print(f"wrote {CASES}: {len(cases)} cases {kinds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
