"""The guard runs on the image as loaded; only then is the masked image resized for the link,
keeping its aspect ratio, and the receiver restores the original size (issue #11, item 3)."""

import numpy as np
import pytest

from sdr_semcom.images import fit, read_rgb
from sdr_semcom.phy.framing import Message, PayloadType
from sdr_semcom.pipeline import SemanticTransmitter
from sdr_semcom.privacy import PrivacyDatabase, PrivacyGuard, default_backends
from sdr_semcom.semantic.weights import load_codec
from sdr_semcom.semantic.messages import received_images
from sdr_semcom.semantic.api import ImageHeader


def keyword_encoder(texts):
    """Stands in for MiniLM when planning which backend serves which entry (test_guard.py tests
    the real plan): 'face' texts align with each other, nothing else does."""
    out = np.zeros((len(texts), 8), np.float32)
    for i, t in enumerate(texts):
        out[i, 0 if "face" in t.lower() else 1 + i % 7] = 1
    return out


class SpyCodec:
    """The real codec, recording the image it is given: what is sent."""

    def __init__(self, codec):
        self.codec, self.id, self.seen = codec, codec.id, []

    def encode(self, img):
        self.seen.append(img)
        return self.codec.encode(img)


@pytest.fixture(scope="module")
def guard():
    return PrivacyGuard(PrivacyDatabase.default(), default_backends(text=False), encoder=keyword_encoder)


@pytest.fixture(scope="module")
def photo(face_samples):
    return read_rgb(face_samples / "t1.jpg")  # 1280 x 886, six faces


@pytest.mark.parametrize("size", [32, 64, 128, 256])
def test_faces_found_at_native_size_are_masked_in_what_is_sent(size, guard, photo):
    spy = SpyCodec(load_codec())
    msgs, s = SemanticTransmitter(spy, guard, guard.db).messages(photo, size)
    (sent,) = spy.seen
    h, w = photo.shape[:2]
    assert max(sent.shape[:2]) == size and sent.shape[:2] == (round(h * size / w), size)  # aspect kept
    header = ImageHeader.from_bytes(msgs[0][0])
    assert (header.orig_height, header.orig_width) == (h, w) and (header.height, header.width) == sent.shape[:2]
    assert len(s.findings) == 6  # what the guard finds at 1280 x 886, whatever the size sent
    plain = fit(photo, size)  # the same photo without the guard
    for f in s.findings:
        x0, y0, x1, y1 = f["box"]
        cy, cx = int((y0 + y1) / 2 * sent.shape[0] / h), int((x0 + x1) / 2 * sent.shape[1] / w)
        assert np.abs(sent[cy, cx].astype(int) - 127).max() <= 3, (size, f["box"], sent[cy, cx])
        assert np.abs(plain[cy, cx].astype(int) - 127).max() > 10  # there was a face there


def test_receiver_restores_the_original_size(photo):
    codec = load_codec()
    msgs, _ = SemanticTransmitter(codec).messages(photo, 64)
    (header, _), (packets, _) = msgs[:2]
    got, lost = received_images(codec, [Message(0, 0, PayloadType.METADATA, [header]),
                                        Message(0, 1, PayloadType.FEATURES, list(packets))])
    assert lost == 0 and got[0].image.shape == photo.shape
    # not resized at all: no original size in the header, and the image comes back at its size
    small = fit(photo, 64)
    msgs, _ = SemanticTransmitter(codec).messages(small)
    assert ImageHeader.from_bytes(msgs[0][0]).orig_height == 0


def test_a_header_the_codec_refuses_is_a_counted_loss(photo, caplog):
    """Another codec's features (or an unknown table set) in a well-formed header: that image is lost, logged,
    and the next image still decodes: no traceback at the receiver."""
    from dataclasses import replace

    codec = load_codec()
    msgs, _ = SemanticTransmitter(codec).messages(photo, 64)
    (header, _), (packets, _) = msgs[:2]
    h = ImageHeader.from_bytes(header)
    foreign = replace(h, codec="codec_v9:0123456789ab").to_bytes()
    bad_set = replace(h, quant=h.quant + 32768 * 7).to_bytes()  # a quantiser table set no decoder knows
    stream = [Message(0, 0, PayloadType.METADATA, [foreign]), Message(0, 1, PayloadType.FEATURES, list(packets)),
              Message(0, 3, PayloadType.METADATA, [bad_set]), Message(0, 4, PayloadType.FEATURES, list(packets)),
              Message(0, 6, PayloadType.METADATA, [header]), Message(0, 7, PayloadType.FEATURES, list(packets))]
    with caplog.at_level("WARNING"):
        got, lost = received_images(codec, stream)
    assert lost == 2 and [g.msg_id for g in got] == [6]
    assert "counted lost" in caplog.text and "codec_v9" in caplog.text
