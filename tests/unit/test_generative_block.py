"""The generative stage's GNU Radio message block: regions in the PDU metadata, filled image out."""

import numpy as np
import pmt

from sdr_semcom.blocks.generative_fill import GenerativeFill
from sdr_semcom.blocks.pdu import pdu_bytes, to_pdu
from sdr_semcom.generative import make_inpainter
from sdr_semcom.link import rawimage
from sdr_semcom.phy.framing import Message, PayloadType


def _image(msg):
    data = pdu_bytes(msg)
    return rawimage.decode(Message(0, 0, PayloadType.RAW, [data]), len(data))[0]


def test_fills_the_regions_named_in_the_metadata(rng):
    img = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    img[15:35, 20:45] = 127  # what the guard left
    block = GenerativeFill(inpainter=make_inpainter("eavesdropper", "classical"))
    meta = {"msg_id": 3, "regions": [{"box": [22, 17, 42, 33]}]}
    out = block.handle(to_pdu(rawimage.encode(img), meta))
    got, m = _image(out), pmt.to_python(pmt.car(out))
    assert m["inpaint_backends"] == ["telea"] and m["msg_id"] == 3
    changed = np.any(got != img, axis=2)
    assert changed[20:30, 25:40].mean() > 0.9
    ys, xs = np.nonzero(changed)
    assert ys.min() >= 14 and ys.max() <= 35 and xs.min() >= 19 and xs.max() <= 45


def test_passes_an_image_without_regions_unchanged(rng):
    img = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    block = GenerativeFill(inpainter=make_inpainter("eavesdropper", "classical"))
    out = block.handle(to_pdu(rawimage.encode(img), {"msg_id": 0}))
    assert np.array_equal(_image(out), img)
    assert block.handle(to_pdu(b"not an image")) is None
