"""The receiver's generative stage as a GNU Radio message block.

``GenerativeFill``: image PDUs in (u8 vector in :mod:`sdr_semcom.link.rawimage` layout), filled
image PDUs out. The input PDU's metadata dict carries the removed regions of that image:
``regions``, the ``SemanticReceiver.decode`` rows (``{"box": [x0, y0, x1, y1], "entry": id | None,
"text": str | None}``), and, at the authorized receiver, ``vectors``, one opened 384-d MiniLM
vector per row; an image with only ``region_count`` (an eavesdropper: the EMBEDDING message is
sealed) has its regions found from the guard's grey fill. The removed pixels are each row's
``removed`` bounds (grown with the transmitter's margin, opened from the sealed message) or found
from the grey fill, as ``sdr-semcom rx`` does
(:func:`sdr_semcom.generative.receiver.fill_regions`), filled by
:func:`sdr_semcom.generative.receiver_inpainter`'s inpainter (the authorized one with its database's
reference photos of enrolled persons), and ``inpaint_backends`` (one name per
region) is added to the metadata. A PDU without regions passes unchanged.
"""

from __future__ import annotations

import logging

import numpy as np
import pmt
from gnuradio import gr

from ..generative import Inpainter
from ..generative.receiver import fill_regions, receiver_inpainter
from .pdu import pdu_bytes, to_pdu

log = logging.getLogger(__name__)


def fill_image(inpainter: Inpainter, img: np.ndarray, meta: dict,
               categories: dict | None = None) -> tuple[np.ndarray, dict]:
    """Fill the regions ``meta`` names in ``img`` (:func:`~sdr_semcom.generative.receiver.fill_regions`, as
    ``sdr-semcom rx`` does; ``categories``: entry id -> category, from the authorized receiver's database);
    returns the image and the metadata with the backends used."""
    rows = meta.get("regions") or []
    vectors = meta.get("vectors")
    vectors = [np.asarray(v, np.float32) for v in vectors] if vectors and len(vectors) == len(rows) else None
    filled, done = fill_regions(img, inpainter, rows, vectors, meta.get("region_count", 0 if not rows else None),
                                categories)
    if not done:
        return img, meta
    return filled, {**meta, "inpaint_backends": [r["backend"] for r in done]}


class GenerativeFill(gr.basic_block):
    """Image PDUs with removed regions in their metadata -> image PDUs with those regions filled.

    Parameters
    ----------
    role : str
        ``'authorized'`` or ``'eavesdropper'``.
    generator : str
        ``'auto'``, ``'classical'``, ``'network'``, ``'face_prior'`` or ``'diffusers'`` (see ``make_inpainter``).
    generator_dir : str
        A saved StableDiffusionInpaintPipeline (``''``: none).
    inpainter : Inpainter, optional
        Use this one instead of building one.
    db_path : str
        Authorized receiver: its privacy database (``''``: none): the regions' categories, and the
        reference photos its enrolled persons are restored from (``receiver_inpainter``). An
        eavesdropper has none (giving one is an error).
    """

    def __init__(self, role: str = "authorized", generator: str = "auto", generator_dir: str = "",
                 inpainter: Inpainter | None = None, db_path: str = "") -> None:
        gr.basic_block.__init__(self, name="semcom_generative_fill", in_sig=None, out_sig=None)
        db = None
        if db_path:
            from ..privacy import PrivacyDatabase

            db = PrivacyDatabase.load(db_path)
        self.categories = {e.id: e.category for e in db.entries} if db is not None else None
        self.inpainter = inpainter or receiver_inpainter(role, generator, generator_dir or None, db)
        self.message_port_register_in(pmt.intern("images"))
        self.message_port_register_out(pmt.intern("images"))
        self.set_msg_handler(pmt.intern("images"), self._on_image)

    def handle(self, msg):
        """One PDU -> the PDU to publish (``None`` for a PDU that is not a raw RGB image)."""
        from ..link import rawimage
        from ..phy.framing import Message, PayloadType

        payload = pdu_bytes(msg)
        meta = pmt.to_python(pmt.car(msg)) if pmt.is_dict(pmt.car(msg)) else {}
        decoded = rawimage.decode(Message(0, 0, PayloadType.RAW, [payload]), max(len(payload), 1))
        if decoded is None or decoded[0].ndim != 3 or decoded[0].shape[2] != 3:
            log.warning("semcom_generative_fill: dropped a PDU that is not a raw RGB image (%d B)", len(payload))
            return None
        img, meta = fill_image(self.inpainter, decoded[0], meta or {}, self.categories)
        return to_pdu(rawimage.encode(img), meta)

    def _on_image(self, msg) -> None:
        out = self.handle(msg)
        if out is not None:
            self.message_port_pub(pmt.intern("images"), out)
