"""What the eavesdropper can do: its strongest fill of the removed regions, and attacks on the sealed message.

Threat model (README): the eavesdropper decodes the masked image from the features, knows the code,
the models and the guard's vocabulary, and lacks the database. Here it is made *stronger* than that:

- **Fills**: it finds the removed regions from the grey fill in its decoded image, as many as the
  sealed message's length says (``eval --eve-mask estimated``, the default: ``generative.receiver.find_grey``,
  which covers regions that touch and merge, such as neighbours' head regions, with rectangles;
  ``oracle`` hands it the exact removed pixels instead, an upper bound) and tries every public filler:
  Telea, the conditional network with its learned null embedding, and the public DCGAN face prior on the guess that every region is a face. Its *strongest* fill is, per face
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
