"""What the eavesdropper can do: its strongest fill of the removed regions, and attacks on the sealed message.

Threat model (docs/privacy.md): the eavesdropper decodes the masked image from the features, knows the code,
the models and the guard's vocabulary, and lacks the database. Here it is made *stronger* than that:

- **Fills**: it finds the removed regions from the grey fill in its decoded image, as many as the
  sealed message's length says (``eval --eve-mask estimated``, the default: ``generative.receiver.find_grey``,
  which covers regions that touch and merge, such as neighbours' head regions, with rectangles;
  ``oracle`` hands it the exact removed pixels instead, an upper bound) and tries every public filler:
  Telea, the conditional network with its learned null embedding, and the public DCGAN face prior on the guess that every region is a face (placed on the face box
  that the guard's public head growth implies, :func:`~sdr_semcom.privacy.masking.face_box_in_head`). Its *strongest* fill is, per face
  and per judge, the one most similar to the original (an oracle choice no real eavesdropper has).
- **Sealed message**: the EMBEDDING message is AES-256-GCM. What its length gives away is the region
  count (:func:`message_attack` checks it equals the true count). The nearest-description search
  reads each record's ciphertext bytes as a quantized vector and looks for the nearest sentence the
  guard can say (every category x size x position, plus the true ones). Its chance is *computed*, not
  taken as 1 / candidates: the argmax of a random vector is not uniform over the sentences (a sentence
  far from the others, such as a true description with appearance words among the guard's template
  sentences, wins several times as often; alike ones share their wins), so
  :func:`description_chance` runs the same decoding and search on seeded uniformly random bytes of the
  record's length and gives each sentence's win rate; a region's chance is its true description's.
  The report sums them to the expected hits and gives a one-sided Poisson-binomial p-value
  (:func:`poisson_binomial_sf`) for the observed hits, beside the ciphertext-free guess (the run's most
  frequent true description). Identity recovery is then at chance (1 / gallery size).

GCM is counter mode: the ciphertext of a record is its plaintext XOR a keystream that never repeats
while the nonce does not (a fresh random 96-bit nonce per message, :meth:`~sdr_semcom.privacy.keying.LinkKeys.seal`),
so a record's bytes are uniform whatever it says, and the computed chance is exactly what the search can
reach; a hit rate above it would be a finding (a repeated nonce, a bug in the sealing).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

log = logging.getLogger(__name__)

#: the eavesdropper's fillers: variant name -> (make_inpainter role, generator, regions' category)
EVE_FILLS = {"eve": ("eavesdropper", "auto", "unknown"), "eve_telea": ("eavesdropper", "classical", "unknown"),
             "eve_face_prior": ("authorized", "face_prior", "face")}


@lru_cache(maxsize=8)
def _inpainter(role: str, generator: str):
    from ..generative import make_inpainter

    return make_inpainter(role, generator)


def eve_fills(image: np.ndarray, mask: np.ndarray, boxes: list, available: tuple[str, ...] = tuple(EVE_FILLS),
              removed: list | None = None) -> dict:
    """Every fill the eavesdropper can make of ``image`` given the removed pixels and their boxes (no embedding).

    ``boxes``: the regions it found (grey head regions: the face prior's face box is guessed inside each);
    with ``removed`` (``--eve-mask oracle``), ``boxes`` are the guard's own boxes and ``removed`` their
    removed bounds, handed over exactly.
    """
    from ..generative import Region
    from ..privacy.masking import face_box_in_head

    keep = [i for i, b in enumerate(boxes) if np.isfinite(b).all() and b[2] > b[0] and b[3] > b[1]]
    if len(keep) < len(boxes):  # an empty region holds no pixel: nothing to fill, nothing lost
        log.warning("eve_fills: %d empty or non-finite region boxes of %d left out", len(boxes) - len(keep), len(boxes))
        boxes = [boxes[i] for i in keep]
        removed = None if removed is None else [removed[i] for i in keep]
    out = {}
    for name in available:
        role, gen, cat = EVE_FILLS[name]
        try:
            inp = _inpainter(role, gen)
        except (FileNotFoundError, RuntimeError) as exc:  # a missing public model: that fill is absent
            out[name] = exc
            continue
        if cat == "face" and removed is not None:
            regions = [Region(tuple(b), cat, removed=tuple(r)) for b, r in zip(boxes, removed)]
        elif cat == "face":  # the face prior places a face on the face box: guessed from the grey head region
            regions = [Region(face_box_in_head(b, image.shape[:2]), cat, removed=tuple(int(round(v)) for v in b))
                       for b in boxes]
        else:
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


#: draws of random bytes per candidate set in :func:`description_chance`
CHANCE_DRAWS = 2000


def _candidates(true_descriptions) -> tuple[list[str], np.ndarray]:
    """The sentences the search picks among: the guard's, plus the true ones it cannot say."""
    from ..privacy.text_encoder import text_encoder

    texts, vecs = guard_sentences()
    extra = list(dict.fromkeys(t for t in true_descriptions if t not in texts))
    if extra:
        texts = texts + extra
        vecs = np.concatenate([vecs, np.asarray(text_encoder()(extra), np.float32)])
    return texts, vecs


@lru_cache(maxsize=64)
def _chance_cached(extra: tuple[str, ...], bits: int, draws: int, seed: int) -> tuple[tuple[str, ...], np.ndarray]:
    from ..privacy.quantize import EmbeddingQuantizer

    texts, vecs = _candidates(extra)
    q = EmbeddingQuantizer(bits)
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, size=(draws, q.nbytes), dtype=np.uint8)
    y = np.stack([q.decode(r.tobytes()) for r in raw])  # the attack's own decoding of each draw
    wins = np.bincount(np.argmax(y @ vecs.T, axis=1), minlength=len(texts))
    return tuple(texts), wins


def description_chance(true_descriptions, bits: int = 8, draws: int = CHANCE_DRAWS, seed: int = 0) -> dict[str, float]:
    """How often the nearest-description search picks each sentence when it reads uniformly random bytes.

    Parameters
    ----------
    true_descriptions : list of str
        The message's true descriptions (added to the candidates as in :func:`message_attack`).
    bits : int
        Bits per coordinate of the records (the message's ``bits``).
    draws : int
        Random records drawn (seeded: the same figures every run).
    seed : int
        Seed of the draws.

    Output
    ------
    dict
        Sentence -> chance that the search picks it from bytes that carry nothing: ``(wins + 1) / (draws + 1)``,
        the Monte-Carlo rate nudged up by one draw, so a sentence never drawn is not given chance 0 (a hit on
        it would otherwise read as an infinitely significant leak).
    """
    texts, _ = guard_sentences()
    extra = tuple(dict.fromkeys(t for t in true_descriptions if t not in texts))
    names, wins = _chance_cached(extra, int(bits), int(draws), int(seed))
    return {t: (int(w) + 1) / (draws + 1) for t, w in zip(names, wins)}


def poisson_binomial_sf(p, k: int) -> float:
    """P(X >= ``k``) for X the number of successes of independent trials with success rates ``p``
    (exact, by convolution): the one-sided p-value of ``k`` hits against per-region chances ``p``."""
    pmf = np.ones(1)
    for pi in np.asarray(p, float):
        pmf = np.concatenate([pmf * (1 - pi), [0.0]]) + np.concatenate([[0.0], pmf * pi])
    return float(min(max(pmf[max(int(k), 0):].sum(), 0.0), 1.0))


@dataclass
class MessageAttack:
    """The eavesdropper's reading of one EMBEDDING message.

    Parameters
    ----------
    region_count : int
        What the message's length says.
    true_count : int
        The regions the guard removed.
    hits : int
        Records whose nearest sentence is the region's true description.
    candidates : int
        Sentences searched.
    chance : list of float
        Per record read, the chance of a hit from random bytes (:func:`description_chance`).
    truths : list of str
        Per record read, the true description (for the report's ciphertext-free guess).
    """

    region_count: int  # what the length says
    true_count: int
    hits: int  # records whose nearest guard sentence is the true description
    candidates: int  # sentences searched
    chance: list[float] = field(default_factory=list)
    truths: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"region_count": self.region_count, "true_count": self.true_count, "desc_hits": self.hits,
                "desc_candidates": self.candidates, "desc_chance": list(self.chance),
                "desc_truths": list(self.truths)}


def message_attack(data: bytes, true_descriptions: list[str], draws: int = CHANCE_DRAWS) -> MessageAttack:
    """Read a sealed EMBEDDING message as the eavesdropper: count, then nearest-description search on the ciphertext.

    Parameters
    ----------
    data : bytes
        The EMBEDDING message as received.
    true_descriptions : list of str
        The guard's descriptions of the removed regions, in the message's order.
    draws : int
        Random records per candidate set for the chance (:func:`description_chance`).

    Output
    ------
    MessageAttack
        The count read from the length, the hits and each record's computed chance.
    """
    from ..privacy.keying import NONCE_LEN
    from ..privacy.quantize import EmbeddingQuantizer
    from ..privacy.wire import embedding_offset, parse_findings

    msg = parse_findings(data)
    texts, vecs = _candidates(true_descriptions)
    chance = description_chance(true_descriptions, msg.bits, draws) if true_descriptions else {}
    q = EmbeddingQuantizer(msg.bits)
    body = msg.body[NONCE_LEN:] if msg.sealed else msg.body
    hits, p, read = 0, [], []
    for i, truth in enumerate(true_descriptions[: msg.region_count]):
        off = embedding_offset(i, msg.bits, msg.packets)
        rec = body[off : off + q.nbytes]
        if len(rec) < q.nbytes:
            break
        guess = texts[int(np.argmax(vecs @ q.decode(rec)))]
        hits += guess == truth
        p.append(chance[truth])
        read.append(truth)
    return MessageAttack(msg.region_count, len(true_descriptions), hits, len(texts), p, read)
