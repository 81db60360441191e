"""The two ends of the semantic link, above the radio: image -> messages -> image.

Per image the transmitter sends three messages, with consecutive message ids ``3i, 3i+1, 3i+2``:
the feature header (METADATA), the feature packets (FEATURES, one per burst) and what the guard
removed (EMBEDDING: boxes + quantized text embeddings, sealed with AES-256-GCM under a key
derived from the database secret, see :mod:`sdr_semcom.privacy.wire`). A receiver decodes the
(masked) image from the features; only one holding the database secret can open the EMBEDDING
message and align its embeddings with its entries. Any receiver can count the regions from the
message's length; an eavesdropper sees no boxes.

The authorized receiver also compares the key identifier and the database version tag that
travel in clear with its own (``key_check``), warns on a mismatch and, when ``strict``, stops.

Each transmitter draws a random session id (8 bytes, :data:`SESSION_BYTES`) when it is built; it
travels in clear in every image's METADATA message, and each sealed EMBEDDING message is bound to
the SHA-256 of its image's METADATA message (so to the session, the image's header and its codec),
besides its codec, stream and message id. The receiver opens each sealed message against the
METADATA message it received for that image: one replayed from an earlier run, or moved to another
image, fails authentication; one whose image header was lost cannot be verified and is not opened
(``embedding_error``, counted in ``unverified``). Images of a stream whose verified sessions differ
(an earlier run's image spliced in whole) are reported too. The sealed message also lists a tag per
FEATURES packet: the authorized receiver decodes a packet that does not match as lost
(``packets_rejected``), and says whether an image's packets could be checked at all
(``features_verified``: not when its EMBEDDING message was lost or did not verify).

The guard runs on the image as given (any size); the masked image is then resized for the link
(long side ``size``, aspect ratio kept) and the header carries the original size, which the
receiver restores (:func:`sdr_semcom.semantic.messages.received_images`).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .phy.framing import Message, PayloadType
from .semantic.api import DecodeInfo, ImageCodec
from .semantic.messages import image_messages, received_images

log = logging.getLogger(__name__)
MESSAGES_PER_IMAGE = 3
EMBEDDING_SLOT = 2  # the EMBEDDING message's place among an image's messages
#: ``key_check`` of an authorized receiver that got an unsealed (empty) EMBEDDING message.
NOT_SEALED = "not sealed (transmitter without database)"
#: Random bytes of a transmitter's session id (hex in the METADATA messages).
SESSION_BYTES = 8
#: ``embedding_error`` of a sealed message whose image header (METADATA message) did not arrive.
HEADER_LOST = "image header lost: the removed regions cannot be verified"


@dataclass
class SentImage:
    original: np.ndarray
    masked: np.ndarray
    mask: np.ndarray | None
    findings: list[dict]


class SemanticTransmitter:
    """Guard (optional) -> codec -> messages, for the link layer.

    Parameters
    ----------
    codec : ImageCodec
    guard : PrivacyGuard, optional
    db : PrivacyDatabase, optional
        Seals the EMBEDDING messages; without it they are sent empty and unsealed.
    embed_bits : int
        Bits per embedding coordinate.
    stream : int
        The link's stream id (authenticated with each EMBEDDING message).
    randbytes : callable, optional
        Source of the session id and the sealing nonces (default ``os.urandom``). A seeded source
        only where runs must repeat byte for byte (``sdr-semcom eval``), never on the air.

    The k-th image's EMBEDDING message is bound to message id ``3k + 2``: the link layer numbers
    this transmitter's messages from 0, as ``sdr-semcom tx`` and the demo do. It is bound to the
    image's METADATA message too, which carries :attr:`session`, drawn at random here (one
    transmitter, one session: build a new one per transmission).
    """

    def __init__(self, codec: ImageCodec, guard=None, db=None, embed_bits: int = 8, stream: int = 0,
                 randbytes: Callable[[int], bytes] = os.urandom) -> None:
        from .privacy.keying import LinkKeys

        self.codec, self.guard = codec, guard
        self.keys = LinkKeys.from_database(db) if db is not None else None
        self.embed_bits, self.stream = embed_bits, stream
        self.randbytes = randbytes
        self.session = randbytes(SESSION_BYTES).hex()
        self._images = 0

    def messages(self, img: np.ndarray, size: int | None = None
                 ) -> tuple[list[tuple[bytes | list[bytes], PayloadType]], SentImage]:
        """One image -> its messages. The guard sees ``img`` at its own size; the masked image is
        then resized for the link so that its long side is ``size`` (None: sent as it is), and the
        header carries the original size for the receiver to restore. Boxes stay in the original
        image's pixels."""
        from .images import fit
        from .privacy.descriptions import embed_descriptions
        from .privacy.masking import DILATE_PX, HEAD_GROWTH
        from .privacy.wire import DRAWN_BOX, DRAWN_HEAD, DRAWN_MASK, Context, Drawing, pack_findings

        findings, masked, mask = [], img, None
        if self.guard is not None:
            res = self.guard.process(img)
            masked, findings, mask = res.masked, res.removed, res.mask
        if findings and self.keys is None:
            raise ValueError("the guard removed regions but the transmitter has no database to seal their "
                             "descriptions: pass db=")
        msgs = image_messages(self.codec, masked if size is None else fit(masked, size), masked.shape[:2],
                              self.session)
        vectors = embed_descriptions([f.description for f in findings]) if findings else np.zeros((0, 0))
        msg_id = (MESSAGES_PER_IMAGE * self._images + EMBEDDING_SLOT) & 0xFFFF
        drawing = Drawing()
        if self.guard is not None:
            drawing = Drawing(float(self.guard.margin), DILATE_PX, getattr(self.guard, "head", None) or HEAD_GROWTH)
        msgs.append((pack_findings([f.box for f in findings], vectors, self.keys,
                                   Context(self.codec.id, self.stream, msg_id, msgs[0][0]), self.embed_bits,
                                   drawing, [DRAWN_HEAD if f.head else DRAWN_MASK if f.pixel_mask else DRAWN_BOX
                                             for f in findings],
                                   packets=msgs[1][0], randbytes=self.randbytes),
                     PayloadType.EMBEDDING))
        self._images += 1
        return msgs, SentImage(img, masked, mask, [f.to_json() for f in findings])


@dataclass
class ReceivedItem:
    index: int  # image number in the transmission
    image: np.ndarray | None  # None: header lost
    info: DecodeInfo | None
    regions: list[dict] = field(default_factory=list)  # boxes, removed bounds (+ entries): only a receiver with the key
    vectors: list[np.ndarray] = field(default_factory=list)  # opened (384,) vector per region row: not report material
    region_count: int | None = None  # from the EMBEDDING message's length: any receiver
    key_check: str | None = None  # authorized receiver: "ok", "key mismatch", "database differs (...)"
    embedding_error: str | None = None  # e.g. "authentication failed"
    session: str | None = None  # the transmitter's session id, from the image's METADATA message (clear)
    margin: float | None = None  # the guard's margin, opened from the sealed message (authorized receiver)
    features_verified: bool | None = None  # authorized receiver: packets checked against the sealed tags
    packets_rejected: int = 0  # packets that arrived but did not match their sealed tag (decoded as lost)


class KeyCheckError(RuntimeError):
    """A strict receiver got an EMBEDDING message it cannot trust (other key, other entries, forged)."""


class SemanticReceiver:
    """Messages -> images (+ removed regions aligned with the database when it has the secret).

    Parameters
    ----------
    db : PrivacyDatabase or None
        The authorized receiver's copy. ``None``: an eavesdropper (image and region count only).
    strict : bool
        Raise :class:`KeyCheckError` instead of warning when an EMBEDDING message was sealed
        under another key, for other database entries, or fails authentication. It is raised
        after every image is decoded, with the items on it (``exc.items``), so that a caller can
        still write what arrived.
    stream : int
        The link's stream id: messages of other streams are left out (and counted in
        :attr:`foreign_messages`), and each EMBEDDING message is opened against this stream, so a
        sealed message moved over from another stream fails authentication.

    Each sealed EMBEDDING message is opened against its image's METADATA message as received (it
    holds the transmitter's session id): a message of an earlier run, or of another image, fails
    authentication. A message whose METADATA message was lost is not opened (:data:`HEADER_LOST`).

    Output
    ------
    :meth:`decode` gives one :class:`ReceivedItem` per image; :attr:`auth_failures` and
    :attr:`key_problems` count the messages that did not verify / whose key check was not ok,
    :attr:`unverified` those left unopened for a lost header, :attr:`session_mixes` the images whose
    verified session is not the stream's (most images') session.
    """

    def __init__(self, codec: ImageCodec, db=None, strict: bool = False, stream: int = 0) -> None:
        from .privacy.aligner import Aligner
        from .privacy.keying import LinkKeys

        self.codec, self.strict, self.stream = codec, strict, stream
        self.keys = LinkKeys.from_database(db) if db is not None else None
        self.aligner = Aligner(db) if db is not None else None
        self.auth_failures = 0
        self.key_problems = 0
        self.foreign_messages = 0
        self.unverified = 0
        self.session_mixes = 0
        self.forged_packets = 0
        self._problems: list[str] = []

    def decode(self, messages: list[Message]) -> list[ReceivedItem]:
        ours = [m for m in messages if m.stream == self.stream]
        if len(ours) < len(messages):
            self.foreign_messages += len(messages) - len(ours)
            log.warning("%d message(s) of other streams than %d left out", len(messages) - len(ours), self.stream)
        messages, self._problems = ours, []
        emb = {m.msg_id: m for m in messages if m.ptype is PayloadType.EMBEDDING}
        headers = {m.msg_id: m.data for m in messages if m.ptype is PayloadType.METADATA and m.complete}
        items: dict[int, ReceivedItem] = {}
        for m in messages:  # every image heard of gets a row, its header lost or not
            i = m.msg_id // MESSAGES_PER_IMAGE
            items.setdefault(i, ReceivedItem(i, None, None))
        opened = {}  # header message id -> the image's opened sealed message (its packet tags)
        for i, item in items.items():
            header = headers.get(MESSAGES_PER_IMAGE * i)
            item.session = _session_of(header)
            m = emb.get(MESSAGES_PER_IMAGE * i + EMBEDDING_SLOT)
            if m is not None and m.complete:
                findings = self._read_embedding(item, m, header)
                if findings is not None:
                    opened[MESSAGES_PER_IMAGE * i] = findings
        accept = None
        if self.keys is not None:  # packets of an image whose sealed message opened are checked against it
            def accept(header_id: int, k: int, packet: bytes) -> bool:
                return header_id not in opened or opened[header_id].packet_ok(k, packet)
        got, _ = received_images(self.codec, messages, accept)
        for g in got:
            item = items[g.msg_id // MESSAGES_PER_IMAGE]
            item.image, item.info = g.image, g.info
            if self.keys is not None:
                item.features_verified = g.msg_id in opened
                item.packets_rejected = g.rejected
            if g.rejected:
                self.forged_packets += g.rejected
                self._problem(f"image {item.index}: {g.rejected} feature packet(s) did not match their sealed tags "
                              "(altered or replaced on the way): decoded as lost")
        out = [items[i] for i in sorted(items)]
        self._check_sessions(out)
        if self.strict and self._problems:
            exc = KeyCheckError("; ".join(self._problems))
            exc.items = out
            raise exc
        return out

    def _check_sessions(self, items: list[ReceivedItem]) -> None:
        """Images whose opened (so authenticated) session is not the one most opened images carry."""
        verified = [it for it in items if it.margin is not None and it.session is not None]
        counts = Counter(it.session for it in verified)
        if len(counts) < 2:
            return
        stream_session = counts.most_common(1)[0][0]
        for it in verified:
            if it.session != stream_session:
                self.session_mixes += 1
                it.embedding_error = f"session {it.session} is not this stream's ({stream_session})"
                self._problem(f"image {it.index}: sent in another transmitter session ({it.session}) than the "
                              f"stream's other images ({stream_session}): an earlier transmission's image spliced in?")

    def _read_embedding(self, item: ReceivedItem, m: Message, image_header: bytes | None):
        """Open one EMBEDDING message into ``item``; returns the opened sealed message (None: not
        sealed, not opened, or an eavesdropper)."""
        from .privacy.keying import KEY_OK, AuthenticationFailed
        from .privacy.wire import Context, parse_findings

        try:
            msg = parse_findings(m.data)
        except ValueError as exc:
            item.embedding_error = str(exc)
            return None
        item.region_count = msg.region_count
        if self.keys is None:  # an eavesdropper: the count is all it gets
            return None
        if msg.sealed:
            item.key_check = self.keys.check(msg.key_id, msg.version_tag)
        else:
            item.key_check = NOT_SEALED
        if item.key_check not in (None, KEY_OK):
            self.key_problems += 1
            self._problem(f"image {item.index}: {item.key_check}: the transmitter's privacy database is not "
                          "this receiver's (give both ends the same --db file)")
        if msg.sealed and image_header is None:  # nothing to verify it against: not opened, not a forgery
            item.embedding_error = HEADER_LOST
            self.unverified += 1
            return None
        try:
            opened = msg.open(self.keys, Context(self.codec.id, self.stream, m.msg_id, image_header or b""))
        except AuthenticationFailed:
            item.embedding_error = "authentication failed"
            self.auth_failures += 1
            if item.key_check == KEY_OK:  # our key, yet it does not verify: altered, or placed at another image
                self._problem(f"image {item.index}: the description of its removed regions failed authentication "
                              "(altered on the way, replayed from another transmission, or sent for another "
                              "image, stream or codec)")
            return None
        except ValueError as exc:
            item.embedding_error = str(exc)
            return None
        if msg.sealed:
            item.margin = opened.drawing.margin
        shape = _image_shape(image_header)
        for box, vec, drawn in opened.regions:
            match = self.aligner.match(vec)
            removed = opened.drawing.removed(box, shape, drawn)
            item.regions.append({"box": list(box), "removed": list(removed), "entry": match.entry_id,
                                 "score": round(match.score, 3), "text": match.text if match.entry_id else None})
            item.vectors.append(np.asarray(vec, np.float32))
        return opened if msg.sealed else None

    def _problem(self, text: str) -> None:
        log.warning(text)
        self._problems.append(text)


def _session_of(header: bytes | None) -> str | None:
    """The session id an image's METADATA message names (None: no header, or none in it)."""
    from .semantic.api import ImageHeader

    if header is None:
        return None
    try:
        return ImageHeader.from_bytes(header).session or None
    except ValueError:
        return None


def _image_shape(header: bytes | None) -> tuple[int, int]:
    """The (height, width) a received image is restored to, from its METADATA message (boxes are in
    those pixels); a large bound when unknown."""
    from .semantic.api import ImageHeader
    from .semantic.messages import MAX_RESTORED_SIDE

    try:
        h = ImageHeader.from_bytes(header)
    except (ValueError, TypeError):
        return (0xFFFF, 0xFFFF)
    if 0 < h.orig_height <= MAX_RESTORED_SIDE and 0 < h.orig_width <= MAX_RESTORED_SIDE:
        return (h.orig_height, h.orig_width)
    return (max(int(h.height), 1), max(int(h.width), 1))
