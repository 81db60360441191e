"""The two ends of the semantic link, above the radio: image -> messages -> image.

Per image the transmitter sends three messages, with consecutive message ids ``3i, 3i+1, 3i+2``:
the feature header (METADATA), the feature packets (FEATURES, one per burst) and what the guard
removed (EMBEDDING: boxes + keyed text embeddings). A receiver decodes the (masked) image from
the features; only one holding the database secret can align the embeddings with its entries.

The guard runs on the image as given (any size); the masked image is then resized for the link
(long side ``size``, aspect ratio kept) and the header carries the original size, which the
receiver restores (:func:`sdr_semcom.semantic.messages.received_images`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .phy.framing import Message, PayloadType
from .semantic.api import DecodeInfo, ImageCodec
from .semantic.messages import image_messages, received_images

MESSAGES_PER_IMAGE = 3


@dataclass
class SentImage:
    original: np.ndarray
    masked: np.ndarray
    mask: np.ndarray | None
    findings: list[dict]


class SemanticTransmitter:
    """Guard (optional) -> codec -> messages, for the link layer."""

    def __init__(self, codec: ImageCodec, guard=None, db=None, embed_bits: int = 8) -> None:
        from .privacy.embedding import KeyedEmbedding

        self.codec, self.guard = codec, guard
        self.keyed = KeyedEmbedding(db.secret, embed_bits) if db is not None else None

    def messages(self, img: np.ndarray, size: int | None = None
                 ) -> tuple[list[tuple[bytes | list[bytes], PayloadType]], SentImage]:
        """One image -> its messages. The guard sees ``img`` at its own size; the masked image is
        then resized for the link so that its long side is ``size`` (None: sent as it is), and the
        header carries the original size for the receiver to restore."""
        from .images import fit
        from .privacy.embedding import text_encoder
        from .privacy.wire import pack_findings

        findings, masked, mask = [], img, None
        if self.guard is not None:
            res = self.guard.process(img)
            masked, findings, mask = res.masked, res.removed, res.mask
        msgs = image_messages(self.codec, masked if size is None else fit(masked, size), masked.shape[:2])
        if self.keyed is not None and findings:
            vectors = text_encoder()([f.description for f in findings])
            msgs.append((pack_findings([f.box for f in findings], vectors, self.keyed), PayloadType.EMBEDDING))
        else:
            msgs.append((bytes([0, self.keyed.bits if self.keyed else 8]), PayloadType.EMBEDDING))
        return msgs, SentImage(img, masked, mask, [f.to_json() for f in findings])


@dataclass
class ReceivedItem:
    index: int  # image number in the transmission
    image: np.ndarray | None  # None: header lost
    info: DecodeInfo | None
    regions: list[dict] = field(default_factory=list)
    embedding_error: str | None = None


class SemanticReceiver:
    """Messages -> images (+ removed regions aligned with the database when it has the secret).

    Parameters
    ----------
    db : PrivacyDatabase or None
        The authorized receiver's copy. ``None``: an eavesdropper.
    judge_db : PrivacyDatabase or None
        For measurement only: align what an eavesdropper received against the real database
        (it would not have it) to show what it could learn at best.
    """

    def __init__(self, codec: ImageCodec, db=None, judge_db=None, embed_bits: int = 8) -> None:
        from .privacy.embedding import Aligner, KeyedEmbedding

        self.codec = codec
        self.keyed = KeyedEmbedding(db.secret if db is not None else None, embed_bits)
        ref = db if db is not None else judge_db
        self.aligner = Aligner(ref) if ref is not None else None

    def decode(self, messages: list[Message]) -> list[ReceivedItem]:
        from .privacy.wire import unpack_findings

        got, _ = received_images(self.codec, messages)
        emb = {m.msg_id: m for m in messages if m.ptype is PayloadType.EMBEDDING}
        items = {g.msg_id // MESSAGES_PER_IMAGE: ReceivedItem(g.msg_id // MESSAGES_PER_IMAGE, g.image, g.info)
                 for g in got}
        for m in messages:  # images whose header was lost still get a row
            i = m.msg_id // MESSAGES_PER_IMAGE
            items.setdefault(i, ReceivedItem(i, None, None))
        for i, item in items.items():
            m = emb.get(MESSAGES_PER_IMAGE * i + 2)
            if m is None or not m.complete:
                continue
            try:
                regions = unpack_findings(m.data, self.keyed)
            except ValueError as exc:
                item.embedding_error = str(exc)
                continue
            for box, vec in regions:
                row = {"box": list(box)}
                if self.aligner is not None:
                    match = self.aligner.match(vec)
                    row.update(entry=match.entry_id, score=round(match.score, 3),
                               text=match.text if match.entry_id else None)
                item.regions.append(row)
        return [items[i] for i in sorted(items)]
