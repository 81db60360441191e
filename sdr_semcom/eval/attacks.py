"""What the eavesdropper can do: its strongest fill of the removed regions, and attacks on the sealed message.

Threat model (README): the eavesdropper decodes the masked image from the features, knows the code,
the models and the guard's vocabulary, and lacks the database. Here it is made *stronger* than that:

- **Fills**: it finds the removed regions from the grey fill in its decoded image, as many as the
  sealed message's length says (:func:`eve_regions`: regions that merged, such as the head regions of
  people side by side, are covered by rectangles) (``eval --eve-mask estimated``, the default; ``oracle`` hands it the
  exact removed pixels instead, an upper bound) and tries every public filler: Telea, the conditional network with its learned null embedding, and the
  public DCGAN face prior on the guess that every region is a face. Its *strongest* fill is, per face
  and per judge, the one most similar to the original (an oracle choice no real eavesdropper has).
- **Sealed message**: the EMBEDDING message is AES-256-GCM. What its length gives away is the region
  count (:func:`message_attack` checks it equals the true count). The nearest-description search
  reads each record's ciphertext bytes as a quantized vector and looks for the nearest sentence the
  guard can say (every category x size x position, plus the true ones): its hit rate is compared
  with chance (1 / candidates); identity recovery is then at chance (1 / gallery size).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: the eavesdropper's fillers: variant name -> (make_inpainter role, generator, regions' category)
EVE_FILLS = {"eve": ("eavesdropper", "auto", "unknown"), "eve_telea": ("eavesdropper", "classical", "unknown"),
             "eve_face_prior": ("authorized", "face_prior", "face")}


@lru_cache(maxsize=8)
def _inpainter(role: str, generator: str):
    from ..generative import make_inpainter

    return make_inpainter(role, generator)


def eve_fills(image: np.ndarray, mask: np.ndarray, boxes: list, available: tuple[str, ...] = tuple(EVE_FILLS)) -> dict:
    """Every fill the eavesdropper can make of ``image`` given the removed pixels and their boxes (no embedding)."""
    from ..generative import Region

    out = {}
    for name in available:
        role, gen, cat = EVE_FILLS[name]
        try:
            inp = _inpainter(role, gen)
        except (FileNotFoundError, RuntimeError) as exc:  # a missing public model: that fill is absent
            out[name] = exc
            continue
        regions = [Region(tuple(b), cat) for b in boxes]
        out[name] = inp.fill(image, mask, regions).image
    return out


def eve_regions(image: np.ndarray, count: int, tol: int = 20, min_side: int = 8, scale: int = 4,
                cover: float = 0.98) -> list:
    """The removed regions the eavesdropper finds in its decoded ``image``, knowing their ``count`` (the
    sealed message's length) and that the guard removes rectangles filled with mid grey.

    First :func:`~sdr_semcom.generative.receiver.find_grey` (the grey fill's box-like components). When
    that finds fewer than ``count`` (regions that touch merge into one component that is not a box: the
    heads of people side by side), the grey pixels it left are covered by rectangles, largest first
    (on a grid ``scale`` times coarser), until ``cover`` of them are: every grey pixel is then inside a
    region, and each rectangle is a guess at one removed box. Returns
    :class:`~sdr_semcom.generative.Region` s (category ``'unknown'``), to use with
    ``removed_mask(shape, regions, margin=0.0)``.
    """
    import cv2

    from ..generative import Region, removed_mask
    from ..generative.receiver import find_grey

    found = [] if count <= 0 else find_grey(image, count)
    if len(found) >= count:
        return found
    img = np.asarray(image)
    near = (np.abs(img.astype(np.int16) - 127) <= tol).all(axis=2).astype(np.uint8)
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
    """The largest all-True axis-aligned rectangle of the boolean matrix ``m``: (x0, y0, x1, y1), ends exclusive."""
    best, best_rect = 0, (0, 0, 0, 0)
    heights = np.zeros(m.shape[1] + 1, int)
    for y in range(m.shape[0]):
        heights[:-1] = np.where(m[y], heights[:-1] + 1, 0)
        stack: list[int] = []
        for x, hx in enumerate(heights):
            start = x
            while stack and heights[stack[-1]] >= hx:
                top = stack.pop()
                start = top
                left = stack[-1] + 1 if stack else 0
                area = heights[top] * (x - left)
                if area > best:
                    best, best_rect = area, (left, y + 1 - heights[top], x, y + 1)
            stack.append(x)
            del start
    return best_rect


@lru_cache(maxsize=1)
def guard_sentences() -> tuple[list[str], np.ndarray]:
    """Every sentence the guard says without an enrolled entry, and their MiniLM vectors."""
    from ..privacy.descriptions import CATEGORY_WORDS, HORIZ, SIZES, VERT, _phrase
    from ..privacy.text_encoder import text_encoder

    texts = [_phrase(c, s, hz, v, None) for c in CATEGORY_WORDS for s in SIZES for hz in HORIZ for v in VERT]
    return texts, np.asarray(text_encoder()(texts), np.float32)


@dataclass
class MessageAttack:
    """The eavesdropper's reading of one EMBEDDING message."""

    region_count: int  # what the length says
    true_count: int
    hits: int  # records whose nearest guard sentence is the true description
    candidates: int  # sentences searched (chance = 1 / candidates)

    def to_json(self) -> dict:
        return {"region_count": self.region_count, "true_count": self.true_count, "desc_hits": self.hits,
                "desc_candidates": self.candidates}


def message_attack(data: bytes, true_descriptions: list[str]) -> MessageAttack:
    """Read a sealed EMBEDDING message as the eavesdropper: count, then nearest-description search on the ciphertext."""
    from ..privacy.keying import NONCE_LEN
    from ..privacy.quantize import EmbeddingQuantizer
    from ..privacy.text_encoder import text_encoder
    from ..privacy.wire import embedding_offset, parse_findings

    msg = parse_findings(data)
    texts, vecs = guard_sentences()
    extra = [t for t in true_descriptions if t not in texts]
    if extra:
        texts = texts + extra
        vecs = np.concatenate([vecs, np.asarray(text_encoder()(extra), np.float32)])
    q = EmbeddingQuantizer(msg.bits)
    body = msg.body[NONCE_LEN:] if msg.sealed else msg.body
    hits = 0
    for i, truth in enumerate(true_descriptions[: msg.region_count]):
        off = embedding_offset(i, msg.bits, msg.packets)
        rec = body[off : off + q.nbytes]
        if len(rec) < q.nbytes:
            break
        guess = texts[int(np.argmax(vecs @ q.decode(rec)))]
        hits += guess == truth
    return MessageAttack(msg.region_count, len(true_descriptions), hits, len(texts))
