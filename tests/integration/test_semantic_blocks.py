"""The semantic PDU blocks in a GNU Radio flowgraph, through the radio."""

import time

import numpy as np
import pmt
import torch
from gnuradio import blocks, gr

from sdr_semcom.blocks import BurstSink, BurstSource, make_channel_block
from sdr_semcom.blocks.semantic_pdu import FeatureDeframer, FeatureFramer
from sdr_semcom.link import rawimage
from sdr_semcom.phy.channel import impaired
from sdr_semcom.semantic.latent.codec import LatentCodec
from sdr_semcom.semantic.latent.net import LatentConfig, LatentNet


def test_images_through_framer_radio_and_deframer(rng):
    torch.manual_seed(0)
    codec = LatentCodec(LatentNet(LatentConfig(channels=4, bits=3, width=16)), "t", "0" * 64, packet_bytes=200)
    img = rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)
    want, _ = codec.decode(*codec.encode(img))

    framer = FeatureFramer(codec)
    frames = blocks.message_debug()
    tb = gr.top_block()
    tb.msg_connect(framer, "frames", frames, "store")
    tb.start()
    framer.to_basic_block()._post(pmt.intern("images"), pmt.cons(pmt.PMT_NIL, pmt.init_u8vector(
        len(rawimage.encode(img)), list(rawimage.encode(img)))))
    deadline = time.time() + 10
    while frames.num_messages() < 2 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    tb.stop()
    tb.wait()
    sent = [bytes(pmt.u8vector_elements(pmt.cdr(frames.get_message(i)))) for i in range(frames.num_messages())]
    assert len(sent) >= 2  # header + feature packets

    # the frames over the radio, into the deframer
    tb = gr.top_block()
    src = BurstSource("qpsk", 300)
    for f in sent + [framer.tx.end_frame()]:
        src.send(f)
    src.close()
    chan = make_channel_block(impaired(20, seed=4))
    sink = BurstSink()
    deframer = FeatureDeframer(codec)
    out = blocks.message_debug()
    tb.connect(src, chan, sink)
    tb.msg_connect(sink, "frames", deframer, "frames")
    tb.msg_connect(deframer, "images", out, "store")
    tb.start()
    deadline = time.time() + 30
    while out.num_messages() < 1 and time.time() < deadline:
        time.sleep(0.05)
    tb.stop()
    tb.wait()
    assert out.num_messages() == 1
    msg = out.get_message(0)
    meta = pmt.to_python(pmt.car(msg))
    assert meta["packets_received"] == meta["packets_expected"] == len(sent) - 1
    assert all(meta["received_map"])
    data = bytes(pmt.u8vector_elements(pmt.cdr(msg)))
    from sdr_semcom.phy.framing import Message, PayloadType

    got, frac = rawimage.decode(Message(0, 0, PayloadType.RAW, [data]), len(data))
    assert frac == 1.0 and (got == want).all()
