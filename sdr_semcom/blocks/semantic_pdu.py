"""PDU blocks between images and link frames through the semantic codec.

``FeatureFramer``: image PDUs in (u8 vector in :mod:`sdr_semcom.link.rawimage` layout), link
frames out (connect to :class:`BurstSource`'s ``frames`` port). ``FeatureDeframer``: frames in
(from :class:`BurstSink`'s ``frames`` port), decoded image PDUs out, whose metadata dict holds
``msg_id``, ``packets_received``, ``packets_expected`` and ``received_map`` (one bool per packet).
"""

from __future__ import annotations

import logging

import numpy as np
import pmt
from gnuradio import gr

from ..link import rawimage
from ..link.endpoints import LinkTransmitter
from ..phy.framing import Message, PayloadType, Reassembler, parse_frame
from ..semantic.api import ImageCodec
from ..semantic.messages import image_messages, received_images
from ..semantic.weights import load_codec
from .pdu import pdu_bytes, to_pdu

log = logging.getLogger(__name__)


class FeatureFramer(gr.basic_block):
    """Image PDUs -> semantic feature frames (header, then one frame per feature packet)."""

    def __init__(self, codec: ImageCodec | None = None, mtu: int = 1024) -> None:
        gr.basic_block.__init__(self, name="semcom_feature_framer", in_sig=None, out_sig=None)
        self.codec = codec or load_codec()
        self.tx = LinkTransmitter(mtu)
        self.message_port_register_in(pmt.intern("images"))
        self.message_port_register_out(pmt.intern("frames"))
        self.set_msg_handler(pmt.intern("images"), self._on_image)

    def _on_image(self, msg) -> None:
        payload = pdu_bytes(msg)
        frag = Message(0, 0, PayloadType.RAW, [payload])
        decoded = rawimage.decode(frag, max(len(payload), 1))
        if decoded is None:
            log.warning("semcom_feature_framer: dropped a PDU that is not a raw image (%d B)", len(payload))
            return
        for data, ptype in image_messages(self.codec, decoded[0]):
            for frame in self.tx.frames(data, ptype):
                self.message_port_pub(pmt.intern("frames"), to_pdu(frame))


class FeatureDeframer(gr.basic_block):
    """Frames -> decoded image PDUs, each with its received-packet map.

    An image is decoded when the next image's header arrives, at the transmitter's END frame,
    or when the flowgraph stops (its last packets may still be on their way until then).
    """

    def __init__(self, codec: ImageCodec | None = None) -> None:
        gr.basic_block.__init__(self, name="semcom_feature_deframer", in_sig=None, out_sig=None)
        self.codec = codec or load_codec()
        self.reassembler = Reassembler()
        self.complete: list[Message] = []
        self.crc_failures = 0
        self.message_port_register_in(pmt.intern("frames"))
        self.message_port_register_out(pmt.intern("images"))
        self.set_msg_handler(pmt.intern("frames"), self._on_frame)

    def _on_frame(self, msg) -> None:
        frame = parse_frame(pdu_bytes(msg))
        if frame is None:
            self.crc_failures += 1
            return
        if frame.ptype is PayloadType.END or (frame.ptype is PayloadType.METADATA and frame.frag == 0):
            self.flush()  # a new image begins, or the transmission ends: nothing more will come
        done = self.reassembler.push(frame)
        if done is not None:
            self.complete.append(done)

    def flush(self) -> None:
        msgs = self.complete + self.reassembler.flush()
        self.complete = []
        got, _ = received_images(self.codec, sorted(msgs, key=lambda m: m.msg_id))
        feats = {m.msg_id: m for m in msgs if m.ptype is PayloadType.FEATURES}
        for g in got:
            f = feats.get(g.msg_id + 1)
            received_map = [p is not None for p in f.fragments] if f is not None else []
            meta = {"msg_id": g.msg_id, "packets_received": g.info.packets_received,
                    "packets_expected": g.info.packets_expected, "received_map": received_map,
                    "all_lost": g.info.all_lost}
            self.message_port_pub(pmt.intern("images"), to_pdu(rawimage.encode(np.asarray(g.image)), meta))

    def stop(self) -> bool:
        self.flush()
        return True
