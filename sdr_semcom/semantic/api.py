"""What the link needs from a codec, whichever codec it is: the :class:`ImageCodec` protocol, the
:class:`ImageHeader` that travels before an image's packets, :class:`DecodeInfo` and the grey
image every codec returns when all of an image's packets are lost.

Both codecs implement this API: :class:`~.latent.codec.LatentCodec` (codec v1) and
:class:`~.dct.codec.DctCodec` (codec v2); :func:`~.weights.load_codec` gives the one a weights
file holds. Nothing here depends on either codec.
"""

from __future__ import annotations

import json
from dataclasses import astuple, dataclass, fields
from typing import Protocol

import numpy as np

GREY = 127  # every channel of the image a receiver outputs when nothing of it arrived


class WeightsError(RuntimeError):
    """Codec weights missing or not matching their manifest."""


@dataclass(frozen=True)
class ImageHeader:
    """The METADATA message that precedes an image's packets: what a receiver needs to decode them.

    The codec lays the image out on a grid of cells (``grid_h`` x ``grid_w``), each cell holding
    ``planes`` values; the packets carry the cells, spread over them by a fixed interleaver.

    ============ =============================== ===================================
    field        latent codec (v1)               DCT codec (v2)
    ============ =============================== ===================================
    grid_h/_w    latent positions (downsample    16x16 MCUs (padded image / 16)
                 pixels each)
    planes       latent channels per position    3 (Y, Cb, Cr)
    bits         bits per latent value           0 (entropy-coded, variable length)
    quant        0                               quantiser scale in thousandths
                                                 + 32768 x quantiser table set
    ============ =============================== ===================================

    Parameters
    ----------
    codec : str
        Codec name + weights hash prefix (both ends must use the same weights).
    height, width : int
        Size of the original image (the decoded image is cropped to it).
    grid_h, grid_w, planes, bits, quant : int
        The coded layout, as in the table above.
    n_packets : int
        How many packets the image was cut into.
    orig_height, orig_width : int
        Size of the image before the link resized it (0: not resized); the receiver restores it.
    session : str
        The transmitter's session id, hex (fresh random bytes per run; ``''``: none). A sealed
        EMBEDDING message is bound to its image's header, hence to this run
        (:mod:`sdr_semcom.privacy.wire`).

    On the air the header is compact JSON with the keys of :data:`WIRE_KEYS` (names kept from
    the first version of the link, so headers decode the same on both ends of any version).
    """

    codec: str
    height: int
    width: int
    grid_h: int
    grid_w: int
    planes: int
    bits: int
    n_packets: int
    quant: int = 0
    orig_height: int = 0
    orig_width: int = 0
    session: str = ""

    def to_bytes(self) -> bytes:
        """The header as sent: JSON, fields in declaration order under their wire keys (the
        original size only when the image was resized for the link)."""
        d = dict(zip(WIRE_KEYS, astuple(self)))
        if not (self.orig_height or self.orig_width):
            del d["orig_height"], d["orig_width"]
        if not self.session:
            del d["session"]
        return json.dumps(d, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> "ImageHeader":
        """Parse a received header; a ``ValueError`` says what is wrong with it."""
        try:
            d = json.loads(data.decode())
            header = cls(**{f.name: d[key] for f, key in zip(fields(cls), WIRE_KEYS) if key in d})
            if not isinstance(header.session, str) or len(header.session) > 64:
                raise TypeError(f"session must be a hex string, got {header.session!r:.80}")
            return header
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not an image header: {exc}") from exc


#: the JSON key of each :class:`ImageHeader` field on the air, in field order
WIRE_KEYS = ("codec", "height", "width", "lat_h", "lat_w", "channels", "bits", "n_packets", "quant", "orig_height",
             "orig_width", "session")


@dataclass
class DecodeInfo:
    """What a receiver got of one image.

    Parameters
    ----------
    packets_expected : int
        The header's packet count.
    packets_received : int
        Packets that arrived and were decoded.
    packets_dropped : int
        Packets that arrived malformed (wrong length, failed to parse, beyond the count):
        counted, not decoded.
    received_fraction : float
        Fraction of the grid's cells that arrived.
    all_lost : bool
        True when nothing arrived: the output is the grey image (:data:`GREY`).
    """

    packets_expected: int
    packets_received: int
    packets_dropped: int
    received_fraction: float
    all_lost: bool


class ImageCodec(Protocol):
    """What the link needs from a codec: image -> (header, packets) -> image.

    ``id`` (name + weights hash prefix) is carried in every header; a codec refuses to decode
    a header another codec made. Images of any size and mode (grey, RGB, RGBA) are accepted.
    """

    id: str

    def encode(self, img: np.ndarray) -> tuple[ImageHeader, list[bytes]]:
        """Image (H, W[, 3 or 4]) uint8 -> header and packets (each decodes on its own)."""
        ...

    def decode(self, header: ImageHeader, packets: list[bytes | None]) -> tuple[np.ndarray, DecodeInfo]:
        """Header and packets (None where lost) -> RGB uint8 image of the original size."""
        ...
