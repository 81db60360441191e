import numpy as np
import pytest

from sdr_semcom.privacy.keying import DATABASE_DIFFERS, KEY_MISMATCH, KEY_OK, AuthenticationFailed, LinkKeys
from sdr_semcom.privacy.quantize import EmbeddingQuantizer
from sdr_semcom.privacy.text_encoder import DIM
from sdr_semcom.privacy.masking import HEAD_GROWTH, head_box, removed_box
from sdr_semcom.privacy.wire import (DRAWN_BOX, DRAWN_HEAD, DRAWN_MASK, FORMAT, Context, Drawing, pack_findings,
                                     packet_tag, parse_findings, unpack_findings)

SECRET = bytes(range(32))
KEYS = LinkKeys.from_secret(SECRET, "entries-v1")
HEADER = b'{"codec":"codec_v2:0123456789ab","h":64,"w":64,"session":"00112233aabbccdd"}'
CTX = Context("codec_v2:0123456789ab", 0, 2, HEADER)
BOXES = [(1, 2, 30, 40), (100.4, 5, 120, 60), (0, 0, 640, 480)]


def _vectors(rng, n=3):
    v = rng.standard_normal((n, DIM))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_findings_roundtrip_only_with_the_key(rng):
    vecs = _vectors(rng)
    data = pack_findings(BOXES, vecs, KEYS, CTX, bits=6)
    got = unpack_findings(data, LinkKeys.from_secret(SECRET, "entries-v1"), CTX).regions
    assert [r.box for r in got] == [(1, 2, 30, 40), (100, 5, 120, 60), (0, 0, 640, 480)]
    assert all(float(r.vector @ w) > 0.97 for r, w in zip(got, vecs))
    msg = parse_findings(data)  # what an eavesdropper can read: the clear fields and the length
    assert msg.sealed and msg.region_count == 3 and msg.bits == 6 and msg.key_id == KEYS.key_id
    with pytest.raises(ValueError, match="needs the database"):
        msg.open(None, CTX)
    for box in [(1, 2, 30, 40), (0, 0, 640, 480)]:  # no box in clear
        assert np.array(box, ">u2").tobytes() not in data


def test_same_findings_sealed_twice_differ(rng):
    vecs = _vectors(rng, 1)
    a, b = (pack_findings(BOXES[:1], vecs, KEYS, CTX) for _ in range(2))
    assert a != b and len(a) == len(b)
    header = len(a) - 12 - 16 - 10 - 9 - EmbeddingQuantizer(8).nbytes  # nonce, tag, plaintext head, box
    assert a[:header] == b[:header] and a[header:header + 12] != b[header:header + 12]  # fresh nonce


def test_a_seeded_nonce_source_repeats_for_reproducible_runs_only(rng):
    import random

    vecs = _vectors(rng, 1)
    a, b = (pack_findings(BOXES[:1], vecs, KEYS, CTX, randbytes=random.Random("eval/7").randbytes) for _ in range(2))
    assert a == b  # sdr-semcom eval: the same rows wherever a cell runs
    assert unpack_findings(a, KEYS, CTX).regions[0].box == (1, 2, 30, 40)
    with pytest.raises(ValueError, match="12-byte nonce"):
        pack_findings(BOXES[:1], vecs, KEYS, CTX, randbytes=lambda n: b"short")


def test_wrong_key_altered_or_moved_message_fails_authentication(rng):
    data = pack_findings(BOXES, _vectors(rng), KEYS, CTX)
    with pytest.raises(AuthenticationFailed):
        unpack_findings(data, LinkKeys.from_secret(bytes(32), "entries-v1"), CTX)
    flipped = bytearray(data)
    flipped[-40] ^= 1
    with pytest.raises(AuthenticationFailed):
        unpack_findings(bytes(flipped), KEYS, CTX)
    forged_bits = bytearray(data)
    forged_bits[2] = 7  # clear header is authenticated too (here: a length that no longer divides)
    with pytest.raises((AuthenticationFailed, ValueError)):
        unpack_findings(bytes(forged_bits), KEYS, CTX)
    for other in [Context(CTX.codec_id, 0, 5, HEADER), Context(CTX.codec_id, 1, 2, HEADER),
                  Context("codec_v1:ffffffffffff", 0, 2, HEADER)]:
        with pytest.raises(AuthenticationFailed):
            unpack_findings(data, KEYS, other)


def test_message_of_another_session_or_image_header_fails_authentication(rng):
    """Replay: the same message, position and codec, opened against a later run's header (another
    session id), or another image's header of the same run: neither verifies."""
    data = pack_findings(BOXES, _vectors(rng), KEYS, CTX)
    later_run = HEADER.replace(b"00112233aabbccdd", b"8899aabbccddeeff")
    other_image = HEADER.replace(b'"h":64', b'"h":48')
    for header in (later_run, other_image, b""):
        with pytest.raises(AuthenticationFailed):
            unpack_findings(data, KEYS, Context(CTX.codec_id, 0, 2, header))
    assert len(unpack_findings(data, KEYS, CTX).regions) == 3  # its own header still opens it


def test_margin_and_drawing_travel_sealed(rng):
    vecs = _vectors(rng, 3)
    drawn = [DRAWN_BOX, DRAWN_MASK, DRAWN_HEAD]
    data = pack_findings(BOXES[:3], vecs, KEYS, CTX, drawing=Drawing(0.4, 3, (0.25, 0.7, 0.1)), drawn=drawn)
    opened = unpack_findings(data, KEYS, CTX)
    assert opened.drawing == Drawing(0.4, 3, (0.25, 0.7, 0.1)) and [r.drawn for r in opened.regions] == drawn
    default = unpack_findings(pack_findings(BOXES[:2], vecs[:2], KEYS, CTX), KEYS, CTX)
    assert default.drawing == Drawing(0.15, 2, HEAD_GROWTH)
    box, shape = (100, 80, 140, 130), (400, 400)  # a head region: the box grown by its growth, exactly
    assert opened.drawing.removed(box, shape, DRAWN_HEAD) == head_box(box, shape, (0.25, 0.7, 0.1)) == (90, 45, 150, 135)
    assert opened.drawing.removed(box, shape, DRAWN_BOX) == removed_box(box, shape, 0.4, False)
    with pytest.raises(ValueError, match="head"):
        pack_findings(BOXES[:1], vecs[:1], KEYS, CTX, drawing=Drawing(0.15, 2, (0.1, -0.2, 0.1)))
    same_length = pack_findings(BOXES[:3], vecs, KEYS, CTX)  # the margin is inside: the length does not tell it
    assert len(same_length) == len(data)
    with pytest.raises(ValueError, match="drawn"):
        pack_findings(BOXES[:1], vecs[:1], KEYS, CTX, drawn=[7])


def test_feature_packet_tags_travel_sealed_and_check_each_packet(rng):
    packets = [rng.bytes(100) for _ in range(5)]
    data = pack_findings(BOXES[:2], _vectors(rng, 2), KEYS, CTX, packets=packets)
    msg = parse_findings(data)
    assert msg.packets == 5 and msg.region_count == 2  # the count is in clear (the header says it too)
    assert not any(packet_tag(i, p) in data for i, p in enumerate(packets))  # the tags are sealed
    opened = msg.open(KEYS, CTX)
    assert all(opened.packet_ok(i, p) for i, p in enumerate(packets))
    altered = bytearray(packets[2])
    altered[7] ^= 1
    assert not opened.packet_ok(2, bytes(altered))
    assert not opened.packet_ok(3, packets[2]) and not opened.packet_ok(5, packets[0])  # moved, or one too many
    forged = bytearray(data)
    forged[4] = 4  # claim 4 packets: the clear count is authenticated (and the lengths no longer add up)
    with pytest.raises((AuthenticationFailed, ValueError)):
        unpack_findings(bytes(forged), KEYS, CTX)
    assert parse_findings(pack_findings([], np.zeros((0, DIM)), None, CTX, packets=packets)).packets == 0


@pytest.mark.parametrize("old", [2, 3])
def test_older_formats_are_refused_naming_both_formats(rng, old):
    data = bytearray(pack_findings(BOXES[:1], _vectors(rng, 1), KEYS, CTX))
    assert data[0] == FORMAT == 4
    data[0] = old  # a transmitter of a previous version (3: no head growth)
    with pytest.raises(ValueError, match=f"format {old}, this receiver reads format 4"):
        parse_findings(bytes(data))


def test_key_check_tells_other_key_from_other_entries():
    same = LinkKeys.from_secret(SECRET, "entries-v1")
    assert KEYS.check(same.key_id, same.version_tag) == KEY_OK
    newer = LinkKeys.from_secret(SECRET, "entries-v2")
    assert newer.key_id == KEYS.key_id and KEYS.check(newer.key_id, newer.version_tag) == DATABASE_DIFFERS
    other = LinkKeys.from_secret(bytes(32), "entries-v1")
    assert KEYS.check(other.key_id, other.version_tag) == KEY_MISMATCH
    assert other.version_tag != KEYS.version_tag  # the tag is keyed: entries cannot be guessed from it
    assert "_aead_key" not in repr(KEYS) and KEYS._aead_key.hex() not in repr(KEYS)


def test_unsealed_message_is_empty():
    data = pack_findings([], np.zeros((0, DIM)), None, CTX)
    msg = parse_findings(data)
    assert not msg.sealed and msg.region_count == 0 and msg.open(None, CTX).regions == []
    with pytest.raises(ValueError, match="only sent sealed"):
        pack_findings(BOXES[:1], np.zeros((1, DIM)), None, CTX)


def test_malformed_findings_raise():
    with pytest.raises(ValueError, match="too short"):
        parse_findings(b"")
    with pytest.raises(ValueError, match="format 0"):
        parse_findings(bytes([0, 8]))
    with pytest.raises(ValueError, match="whole number"):
        parse_findings(bytes([4, 0, 8, 0, 0, 1]) + b"\0" * 10)
    with pytest.raises(ValueError, match="too short"):
        parse_findings(bytes([4, 1, 8, 0, 0]) + b"\0" * 20)
    with pytest.raises(ValueError, match="whole number"):  # says 2 packet tags, holds none
        parse_findings(bytes([4, 0, 8, 0, 2, 0, 0, 0, 0]))


def test_quantizer_roundtrip_and_limits(rng):
    v = _vectors(rng, 1)[0]
    assert float(EmbeddingQuantizer(8).decode(EmbeddingQuantizer(8).encode(v)) @ v) > 0.999
    assert EmbeddingQuantizer(4).nbytes == 192
    with pytest.raises(ValueError, match="bits"):
        EmbeddingQuantizer(0)
    with pytest.raises(ValueError, match="bytes"):
        EmbeddingQuantizer(8).decode(b"short")
