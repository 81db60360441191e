import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdr_semcom.phy.framing import (
    HEADER_LEN,
    Fragmenter,
    Frame,
    PayloadType,
    Reassembler,
    build_frame,
    parse_frame,
)


def test_roundtrip_all_payload_types():
    for pt in PayloadType:
        f = Frame(pt, 3, 70000, 12, 1, 4, b"hello")
        assert parse_frame(build_frame(f)) == f


def test_crc_catches_every_single_bit_flip():
    raw = bytearray(build_frame(Frame(PayloadType.FEATURES, 1, 5, 2, 0, 1, bytes(range(40)))))
    for bit in range(8 * len(raw)):
        bad = bytearray(raw)
        bad[bit // 8] ^= 1 << (bit % 8)
        assert parse_frame(bytes(bad)) is None, bit


def test_rejects_wrong_version_and_length():
    raw = build_frame(Frame(PayloadType.RAW, 0, 0, 0, 0, 1, b"abc"))
    assert parse_frame(raw[:-1]) is None
    assert parse_frame(raw + b"\0") is None
    body = bytes([9]) + raw[1:-4]  # version 9 with a valid CRC
    assert parse_frame(body + struct.pack(">I", zlib.crc32(body))) is None


@st.composite
def frames(draw):
    nfrag = draw(st.integers(1, 0xFFFF))
    return Frame(draw(st.sampled_from(list(PayloadType))), draw(st.integers(0, 255)), draw(st.integers(0, 2**32 - 1)),
                 draw(st.integers(0, 0xFFFF)), draw(st.integers(0, nfrag - 1)), nfrag, draw(st.binary(max_size=300)))


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300) | frames().map(build_frame))
def test_parse_never_raises_and_accepts_only_what_it_rebuilds(data):
    frame = parse_frame(data)
    assert frame is None or build_frame(frame) == data


@settings(max_examples=200, deadline=None)
@given(frames(), st.integers(0, 10**6))
def test_built_frames_parse_back_and_any_byte_changed_is_refused(frame, where):
    raw = build_frame(frame)
    assert parse_frame(raw) == frame
    bad = bytearray(raw)
    bad[where % len(raw)] ^= 0x5A
    assert parse_frame(bytes(bad)) is None


def test_fragmentation_and_reassembly_out_of_order():
    frag = Fragmenter(mtu=100)
    msg = bytes(range(256)) * 3
    frames = frag.split(msg, PayloadType.FEATURES)
    assert len(frames) == 8 and [f.seq for f in frames] == list(range(8))
    r = Reassembler()
    done = [r.push(parse_frame(build_frame(f))) for f in reversed(frames)]
    assert done[:-1] == [None] * 7
    assert done[-1].data == msg and done[-1].ptype is PayloadType.FEATURES


def test_loss_map_of_incomplete_message():
    frames = Fragmenter(mtu=10).split(b"x" * 45)
    r = Reassembler()
    for f in frames:
        if f.frag not in (1, 3):
            r.push(f)
    (msg,) = r.flush()
    assert msg.missing == [1, 3] and not msg.complete
    with pytest.raises(ValueError, match="lost"):
        msg.data


def test_duplicates_are_counted_not_doubled():
    frames = Fragmenter(mtu=4).split(b"abcdefgh")
    r = Reassembler()
    r.push(frames[0])
    r.push(frames[0])
    assert r.push(frames[1]).data == b"abcdefgh"
    assert r.duplicates == 1


def test_empty_message_is_one_frame_and_header_size():
    (f,) = Fragmenter().split(b"")
    assert len(build_frame(f)) == HEADER_LEN + 4


def test_bad_mtu():
    with pytest.raises(ValueError):
        Fragmenter(mtu=0)


def test_chunks_keep_their_boundaries():
    chunks = [b"a" * 10, b"bb" * 7, b"c"]
    frames = Fragmenter(mtu=16).split_chunks(chunks)
    assert [f.payload for f in frames] == chunks and [f.frag for f in frames] == [0, 1, 2]
    r = Reassembler()
    r.push(frames[0])
    r.push(frames[2])
    (msg,) = r.flush()
    assert msg.fragments == [chunks[0], None, chunks[2]]
    with pytest.raises(ValueError, match="exceeds the mtu"):
        Fragmenter(mtu=4).split_chunks([b"12345"])
