import numpy as np

from sdr_semcom.link import rawimage
from sdr_semcom.phy.framing import Fragmenter, Reassembler


def _message(payload, mtu, drop=()):
    r = Reassembler()
    for f in Fragmenter(mtu=mtu).split(payload):
        if f.frag not in drop:
            r.push(f)
    return r.flush()[0] if drop else None


def test_lost_fragment_becomes_a_band_of_zero_rows(rng):
    img = rng.integers(1, 255, (40, 30, 3), dtype=np.uint8)
    msg = _message(rawimage.encode(img), mtu=900, drop=(1,))
    out, frac = rawimage.decode(msg, 900)
    assert out.shape == img.shape and 0.5 < frac < 0.8
    flat_in, flat_out = img.reshape(-1), out.reshape(-1)
    lost = slice(900 - 5, 1800 - 5)
    assert (flat_out[lost] == 0).all()
    assert (flat_out[: 900 - 5] == flat_in[: 900 - 5]).all()


def test_non_image_payload_is_not_decoded():
    r = Reassembler()
    msg = r.push(Fragmenter(mtu=100).split(b"# a text file, not an image")[0])
    assert rawimage.decode(msg, 100) is None
