"""Attacks on the privacy of the link (issue #11), written as an attacker would with the project's own functions.

The "before" reference is the keying the link used until issue #11: a fixed secret rotation of
the MiniLM vector per database, quantized, with the boxes in clear. It is copied here (and only
here) so the tests show the attack working on it and failing on the sealed messages.
"""

import hashlib
import hmac
import json
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from sdr_semcom.phy.framing import Message, PayloadType
from sdr_semcom.pipeline import HEADER_LOST, NOT_SEALED, KeyCheckError, SemanticReceiver, SemanticTransmitter
from sdr_semcom.privacy import PrivacyDatabase
from sdr_semcom.privacy.descriptions import HORIZ, SIZES, VERT, _phrase, candidate_descriptions
from sdr_semcom.privacy.guard import Finding
from sdr_semcom.privacy.keying import DATABASE_DIFFERS, KEY_MISMATCH, KEY_OK, LinkKeys
from sdr_semcom.privacy.quantize import EmbeddingQuantizer
from sdr_semcom.privacy.text_encoder import DIM, text_encoder
from sdr_semcom.privacy.wire import Context, embedding_offset, pack_findings, parse_findings
from sdr_semcom.semantic.api import DecodeInfo, ImageHeader

CANDIDATE_IDS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
TARGET = "grace"
CELLS = [(s, h, v) for s in SIZES for h in HORIZ for v in VERT]  # what the grey box tells the attacker


# -- the keying before issue #11 (reference for the attack) ------------------------------------
def _old_rotation(secret: bytes) -> np.ndarray:
    seed = int.from_bytes(hmac.new(secret, b"sdr-semcom/embedding-rotation/v1", hashlib.sha256).digest(), "big")
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((DIM, DIM)))
    return q * np.sign(np.diag(r))


def _old_encode(rotation: np.ndarray, vector: np.ndarray) -> bytes:
    return EmbeddingQuantizer(8).encode(rotation @ vector)  # rotate, then the same 8-bit quantizer


# -- the attacker ----------------------------------------------------------------------------
def _seen(region_bytes: bytes) -> np.ndarray:
    """An eavesdropper's reading of a region's embedding bytes (dequantized as they are)."""
    return EmbeddingQuantizer(8).decode(region_bytes)


def inner_product_attack(observed: bytes, known: list[tuple[bytes, np.ndarray]], candidates: np.ndarray) -> int:
    """Index of the candidate plaintext whose inner products with the known plaintexts best match
    the observed ciphertext's inner products with the known ciphertexts (a rotation keeps them)."""
    cipher = np.stack([_seen(c) for c, _ in known])
    plain = np.stack([p for _, p in known])
    signature = cipher @ _seen(observed)
    return int(np.argmin(np.linalg.norm(candidates @ plain.T - signature, axis=1)))


class _CachedEncoder:
    """The MiniLM encoder, each text embedded once (receivers re-embed the same candidates)."""

    def __init__(self):
        self.real, self.cache = text_encoder(), {}

    def __call__(self, texts):
        new = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if new:
            self.cache.update(zip(new, self.real(new)))
        return np.stack([self.cache[t] for t in texts])


@pytest.fixture(scope="module")
def enc():
    return _CachedEncoder()


@pytest.fixture(autouse=True)
def _cached_encoder(enc, monkeypatch):
    monkeypatch.setattr("sdr_semcom.privacy.aligner.text_encoder", lambda: enc)
    monkeypatch.setattr("sdr_semcom.privacy.text_encoder.text_encoder", lambda: enc)


@pytest.fixture(scope="module")
def db():
    d = PrivacyDatabase.default()
    d.secret = bytes(range(32))
    d.enroll(TARGET, [[0.1] * 128], [])
    return d


def _region_bytes(message: bytes, n: int) -> list[bytes]:
    """Where each region's embedding sits in a sealed message if it were laid out in clear
    (the attacker's best guess: after the clear header and the nonce, at the plaintext's offsets)."""
    size = EmbeddingQuantizer(8).nbytes
    body = message[5 + 8 + 8 + 12 :]
    return [body[embedding_offset(i, 8) : embedding_offset(i, 8) + size] for i in range(n)]


def test_inner_product_attack_recovers_the_id_before_and_nothing_now(enc, db, monkeypatch):
    rng = np.random.default_rng(11)
    monkeypatch.setattr("sdr_semcom.privacy.keying.os.urandom", lambda n: rng.bytes(n))  # repeatable nonces
    faces = db.entry("faces")
    generic = candidate_descriptions(faces)  # strangers' faces: words the attacker knows from the box
    generic_vecs = enc(generic)
    target_vecs = enc([_phrase("face", *cell, db.entry(TARGET)) for cell in CELLS])  # what the guard says
    guesses = {cell: enc([_phrase("face", *cell, SimpleNamespace(id=i, enrolled=True)) for i in CANDIDATE_IDS])
               for cell in CELLS}  # "database entry <id>: ..." for every id the attacker suspects

    rotation = _old_rotation(db.secret)
    known_old = [(_old_encode(rotation, v), v) for v in generic_vecs]
    old_hits = sum(CANDIDATE_IDS[inner_product_attack(_old_encode(rotation, t), known_old, guesses[cell])] == TARGET
                   for cell, t in zip(CELLS, target_vecs))
    assert old_hits >= 25, old_hits  # the old keying gives the enrolled person away from one transmission

    keys = LinkKeys.from_database(db)
    ctx = Context("codec", 0, 2, b"header")

    def sealed(v):
        return _region_bytes(pack_findings([(10, 10, 50, 50)], v[None], keys, ctx), 1)[0]

    known_new = [(sealed(v), v) for v in generic_vecs]
    new_hits = sum(CANDIDATE_IDS[inner_product_attack(sealed(t), known_new, guesses[cell])] == TARGET
                   for cell, t in zip(CELLS, target_vecs))
    assert new_hits <= 9, new_hits  # chance: 27 / 8 = 3.4 expected
    # and the inner products the attack relies on are gone: ciphertext ones no longer follow the plaintext ones
    cipher = np.stack([_seen(c) for c, _ in known_new])
    assert abs(np.corrcoef((cipher @ cipher.T)[np.triu_indices(27, 1)],
                           (generic_vecs @ generic_vecs.T)[np.triu_indices(27, 1)])[0, 1]) < 0.2
    old_cipher = np.stack([_seen(c) for c, _ in known_old])
    assert np.corrcoef((old_cipher @ old_cipher.T)[np.triu_indices(27, 1)],
                       (generic_vecs @ generic_vecs.T)[np.triu_indices(27, 1)])[0, 1] > 0.99


def test_equal_descriptions_gave_equal_ciphertexts_before_and_differ_now(enc, db):
    v = enc(["a large human face in the center of the image"])[0]
    rotation = _old_rotation(db.secret)
    assert _old_encode(rotation, v) == _old_encode(rotation, v)
    keys, ctx = LinkKeys.from_database(db), Context("codec", 0, 2, b"header")
    a, b = (pack_findings([(0, 0, 9, 9)], v[None], keys, ctx) for _ in range(2))
    assert a != b and _region_bytes(a, 1) != _region_bytes(b, 1)


# -- the semantic link's two ends (no radio, no image codec: only the EMBEDDING messages) -------
class _Codec:
    """Two packets per image, naming its size; decodes to a flat image of the size the header says,
    as bright as the packets that arrived say (what the receiver decoded shows in the pixels)."""

    id = "test-codec:000000000000"

    def encode(self, img):
        return ImageHeader(self.id, *img.shape[:2], 1, 1, 3, 8, 2), [b"p0 %d" % img.shape[0], b"p1 %d" % img.shape[0]]

    def decode(self, header, packets):
        got = [p for p in packets if p is not None]
        level = sum(sum(p) for p in got) % 200 + 20 if got else 127
        return (np.full((header.height, header.width, 3), level, np.uint8),
                DecodeInfo(header.n_packets, len(got), 0, len(got) / max(header.n_packets, 1), not got))


class _Guard:
    """Removes one face, the same every image."""

    def __init__(self, margin=0.15, head=None):
        self.margin, self.head = margin, head

    def process(self, img):
        f = Finding("faces", "face", (10.0, 20.0, 60.0, 90.0), 0.9, "a medium-sized human face in the top left "
                    "of the image", "test", "remove", head=self.head is not None)
        return SimpleNamespace(masked=img, removed=[f], mask=np.zeros(img.shape[:2], bool))


def _transmission(tx_db, images=2, size=100, margin=0.15, stream=0, head=None):
    """One transmitter run (one session): every message, numbered from 0 as the link layer does."""
    tx = SemanticTransmitter(_Codec(), _Guard(margin, head) if tx_db else None, tx_db, stream=stream)
    msgs = [m for _ in range(images) for m in tx.messages(np.zeros((size, size, 3), np.uint8))[0]]
    return [Message(stream, i, pt, [data] if pt is not PayloadType.FEATURES else list(data))
            for i, (data, pt) in enumerate(msgs)]


def _link(tx_db, images=2):
    """Messages of one run with what the EMBEDDING ones are bound to: METADATA and EMBEDDING
    (the features play no part in these attacks)."""
    return [m for m in _transmission(tx_db, images) if m.ptype is not PayloadType.FEATURES]


def _embedding(msgs, image):
    return next(m for m in msgs if m.ptype is PayloadType.EMBEDDING and m.msg_id == 3 * image + 2)


def _replace(msgs, new):
    """``msgs`` with the message at ``new``'s (stream, id) replaced by ``new``."""
    return [new if (m.stream, m.msg_id) == (new.stream, new.msg_id) else m for m in msgs]


def test_authorized_receiver_aligns_and_eavesdropper_counts(db):
    msgs = _link(db)
    items = SemanticReceiver(_Codec(), db=db).decode(msgs)
    assert [it.key_check for it in items] == [KEY_OK, KEY_OK] and not any(it.embedding_error for it in items)
    assert all(it.region_count == 1 and it.regions[0]["entry"] == "faces" and it.regions[0]["box"] == [10, 20, 60, 90]
               for it in items)
    eve = SemanticReceiver(_Codec()).decode(msgs)
    assert all(it.region_count == 1 and it.regions == [] and it.key_check is None for it in eve)


def test_wrong_key_receiver_gets_an_authentication_failure_not_a_match(db, caplog):
    other = PrivacyDatabase.default()  # same entries, another secret
    rx = SemanticReceiver(_Codec(), db=other)
    items = rx.decode(_link(db))
    assert all(it.key_check == KEY_MISMATCH and it.embedding_error == "authentication failed" and it.regions == []
               for it in items)
    assert rx.auth_failures == 2 and rx.key_problems == 2
    assert "key mismatch" in caplog.text and "same --db" in caplog.text
    with pytest.raises(KeyCheckError, match="key mismatch"):
        SemanticReceiver(_Codec(), db=other, strict=True).decode(_link(db))


def test_database_with_other_entries_is_reported(db, caplog):
    older = PrivacyDatabase(db.entries[:3], db.secret, "older copy")  # without the enrolled person
    items = SemanticReceiver(_Codec(), db=older).decode(_link(db))
    assert [it.key_check for it in items] == [DATABASE_DIFFERS] * 2 and "other entries" in caplog.text
    assert items[0].regions[0]["entry"] == "faces"  # same secret: still opens, and says so
    with pytest.raises(KeyCheckError, match="other entries"):
        SemanticReceiver(_Codec(), db=older, strict=True).decode(_link(db))


def test_message_moved_to_another_image_fails_and_unsealed_is_flagged(db):
    msgs = _link(db)
    first, second = _embedding(msgs, 0), _embedding(msgs, 1)
    swapped = _replace(_replace(msgs, Message(0, first.msg_id, first.ptype, second.fragments)),
                       Message(0, second.msg_id, second.ptype, first.fragments))
    rx = SemanticReceiver(_Codec(), db=db)
    items = rx.decode(swapped)
    assert all(it.key_check == KEY_OK and it.embedding_error == "authentication failed" for it in items)
    with pytest.raises(KeyCheckError, match="failed authentication"):
        SemanticReceiver(_Codec(), db=db, strict=True).decode(swapped)
    (it,) = SemanticReceiver(_Codec(), db=db).decode(_link(None, images=1))
    assert it.key_check == NOT_SEALED and it.region_count == 0
    assert parse_findings(b"\x04\x00\x08\x00\x00" + bytes(10)).region_count == 0


def test_rx_cli_strict_exits_non_zero_on_another_database(db, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from sdr_semcom import cli

    other = PrivacyDatabase.default()
    other.save(tmp_path / "other.yaml")
    msgs = _link(db)
    monkeypatch.setattr("sdr_semcom.link.roles.run_rx", lambda *a, **k: (SimpleNamespace(messages=msgs),
                                                                         {"packets_received": 4, "packets_sent": 4,
                                                                          "interrupted": None, "stream_ended": True}))
    monkeypatch.setattr("sdr_semcom.semantic.weights.load_codec", _Codec)
    args = ["rx", "--db", str(tmp_path / "other.yaml"), "--out", str(tmp_path / "o")]
    r = CliRunner().invoke(cli.main, args)
    assert r.exit_code == 0 and '"key_check": "key mismatch"' in (tmp_path / "o" / "report.json").read_text()
    (tmp_path / "o" / "report.json").unlink()
    r = CliRunner().invoke(cli.main, [*args, "--strict"])
    assert r.exit_code == 1 and "--strict: image 0: key mismatch" in r.output
    report = json.loads((tmp_path / "o" / "report.json").read_text())  # what arrived is written before failing
    assert "key mismatch" in report["key_check_failed"] and len(report["images"]) == 2


def test_sealed_message_of_another_stream_is_not_taken(db):
    """A genuine sealed message of another transfer (stream 1, same database) sent where stream 0's
    image 0 expects its own: left out as foreign, never attached to stream 0's image."""
    msgs1 = _transmission(db, images=1, stream=1)
    emb1 = _embedding(msgs1, 0)
    empty = _link(None, images=1)  # stream 0, image 0: nothing removed (unsealed, no region)
    rx = SemanticReceiver(_Codec(), db=db, strict=True)
    with pytest.raises(KeyCheckError, match="not sealed"):  # its own message is the unsealed one, the foreign one is out
        rx.decode(empty + [emb1])
    assert rx.foreign_messages == 1
    (it,) = SemanticReceiver(_Codec(), db=db).decode(empty + [emb1])
    assert it.regions == [] and it.region_count == 0
    # relabelled as stream 0 (with its own header), the message no longer verifies: the stream is in its
    # associated data
    header1 = next(m for m in msgs1 if m.ptype is PayloadType.METADATA)
    (it,) = SemanticReceiver(_Codec(), db=db).decode([Message(0, 0, header1.ptype, header1.fragments),
                                                      Message(0, 2, emb1.ptype, emb1.fragments)])
    assert it.embedding_error == "authentication failed" and it.regions == []


# -- issue #11, second review: per-transmission and per-image binding --------------------------
def test_replay_from_an_earlier_session_fails_authentication(db):
    """The attacker recorded run A and, in run B, puts A's sealed message of image 0 where B's
    goes (same codec, stream, message id, same image content): before the session id it verified."""
    run_a, run_b = _link(db), _link(db)
    sessions = {m.data for m in run_a if m.ptype is PayloadType.METADATA}
    assert len(sessions) == 1 and sessions != {m.data for m in run_b if m.ptype is PayloadType.METADATA}
    replayed = _replace(run_b, _embedding(run_a, 0))
    rx = SemanticReceiver(_Codec(), db=db)
    items = rx.decode(replayed)
    assert items[0].key_check == KEY_OK and items[0].embedding_error == "authentication failed"
    assert items[0].regions == [] and items[0].region_count == 1  # counted, never opened as garbage
    assert items[1].regions[0]["entry"] == "faces" and rx.auth_failures == 1
    with pytest.raises(KeyCheckError, match="replayed from another transmission"):
        SemanticReceiver(_Codec(), db=db, strict=True).decode(replayed)
    # what catches it is the session id: B's header with A's session id in it lets A's message verify
    a_session = ImageHeader.from_bytes(next(m.data for m in run_a if m.ptype is PayloadType.METADATA)).session
    b_header = next(m for m in run_b if m.ptype is PayloadType.METADATA and m.msg_id == 0)
    forged = ImageHeader.from_bytes(b_header.data)
    assert forged.session != a_session
    forged_header = Message(0, 0, PayloadType.METADATA, [replace(forged, session=a_session).to_bytes()])
    (first, *_) = SemanticReceiver(_Codec(), db=db).decode(_replace(replayed, forged_header))
    assert first.embedding_error is None and first.regions[0]["entry"] == "faces"


def test_message_moved_to_another_image_of_the_same_position_fails(db):
    """Two transmitters of one lab (same database, same stream) send different images: image 0's
    message of one, put with image 0 of the other, names the other image's header: it fails."""
    big, small = _transmission(db, images=1, size=120), _transmission(db, images=1, size=80)
    moved = _replace([m for m in small if m.ptype is not PayloadType.FEATURES], _embedding(big, 0))
    (it,) = SemanticReceiver(_Codec(), db=db).decode(moved)
    assert it.embedding_error == "authentication failed" and it.regions == []


def test_altered_image_header_breaks_its_sealed_message(db):
    """The METADATA message is in clear but bound: rewriting it (another size to restore, another
    packet count) makes the image's sealed message fail, and the receiver says so."""
    msgs = _link(db, images=1)
    header = next(m for m in msgs if m.ptype is PayloadType.METADATA)
    altered = replace(ImageHeader.from_bytes(header.data), orig_height=50, orig_width=50)
    (it,) = SemanticReceiver(_Codec(), db=db).decode(_replace(msgs, Message(0, 0, header.ptype, [altered.to_bytes()])))
    assert it.image.shape[:2] == (50, 50)  # the codec still decodes what the header says (unauthenticated) ...
    assert it.embedding_error == "authentication failed" and it.regions == []  # ... and the regions are refused


def test_image_header_lost_leaves_the_message_unverified_not_forged(db):
    msgs = [m for m in _link(db) if not (m.ptype is PayloadType.METADATA and m.msg_id == 0)]
    rx = SemanticReceiver(_Codec(), db=db, strict=True)
    items = rx.decode(msgs)  # a loss, not an attack: strict does not stop
    assert items[0].embedding_error == HEADER_LOST and items[0].regions == [] and items[0].region_count == 1
    assert rx.unverified == 1 and rx.auth_failures == 0 and items[1].regions[0]["entry"] == "faces"


def test_earlier_sessions_image_spliced_in_whole_is_flagged(db):
    """Header and sealed message of run A's image 1 both replayed into run B: each verifies against
    the other (they belong together), but the stream now holds two sessions: reported."""
    run_a, run_b = _link(db), _link(db)
    spliced = run_b
    for m in run_a:
        if m.msg_id in (3, 5):
            spliced = _replace(spliced, m)
    rx = SemanticReceiver(_Codec(), db=db)
    items = rx.decode(spliced)
    assert items[0].embedding_error is None and items[0].session != items[1].session
    assert rx.session_mixes == 1 and "session" in items[1].embedding_error
    with pytest.raises(KeyCheckError, match="another transmitter session"):
        SemanticReceiver(_Codec(), db=db, strict=True).decode(spliced)


class _MaskSpy:
    """An inpainter that keeps the mask it was asked to fill and fills nothing."""

    name = "spy"

    def fill(self, image, mask, regions):
        from sdr_semcom.generative.base import FillResult

        self.mask = mask
        return FillResult(image, ["spy"] * len(regions))


def test_the_guards_margin_travels_sealed_and_the_fill_uses_it(db):
    """tx ran with --margin 0.4: the authorized receiver fills the box grown by 0.4, not the default
    0.15; the eavesdropper, without the key, has no margin and finds the grey fill."""
    from sdr_semcom.generative.receiver import fill_regions

    msgs = [m for m in _transmission(db, images=1, size=200, margin=0.4)]
    (it,) = SemanticReceiver(_Codec(), db=db).decode(msgs)
    assert it.margin == pytest.approx(0.4)
    x0, y0, x1, y1 = 10, 20, 60, 90  # the face box; grown by 0.4 x (50, 70) on every side
    assert it.regions[0]["removed"] == [0, 0, 80, 118]

    spy = _MaskSpy()
    fill_regions(it.image, spy, it.regions, it.vectors, it.region_count)
    assert spy.mask[:118, :80].all() and spy.mask.sum() == 80 * 118
    default = _MaskSpy()
    fill_regions(it.image, default, [{k: v for k, v in it.regions[0].items() if k != "removed"}])
    assert default.mask.sum() == (int(np.ceil(x1 + 7.5)) - int(np.floor(x0 - 7.5))) * (int(np.ceil(y1 + 10.5)) - 9)
    (eve,) = SemanticReceiver(_Codec()).decode(msgs)
    assert eve.margin is None and eve.regions == [] and eve.region_count == 1
    plain = parse_findings(_embedding(msgs, 0).data)
    assert len(plain.body) == len(parse_findings(_embedding(_transmission(db, images=1), 0).data).body)


def test_a_faces_head_region_travels_sealed_and_the_fill_covers_exactly_it(db):
    """tx removed the face's head region (growth side 0.5, up 0.6, down 0.2 of the box): the authorized
    receiver rebuilds exactly those bounds and fills them; the message is as long as a boxed one (the
    eavesdropper cannot tell the geometry) and it gets no bounds."""
    from sdr_semcom.generative.receiver import fill_regions

    msgs = _transmission(db, images=1, size=200, head=(0.5, 0.6, 0.2))
    (it,) = SemanticReceiver(_Codec(), db=db).decode(msgs)
    x0, y0, x1, y1 = 10, 20, 60, 90  # the face box (50 x 70): 25 px each side, 42 up, 14 down
    assert it.regions[0]["removed"] == [0, 0, 85, 104]

    spy = _MaskSpy()
    fill_regions(it.image, spy, it.regions, it.vectors, it.region_count)
    assert spy.mask[:104, :85].all() and spy.mask.sum() == 85 * 104
    (eve,) = SemanticReceiver(_Codec()).decode(msgs)
    assert eve.regions == [] and eve.region_count == 1
    assert len(_embedding(msgs, 0).data) == len(_embedding(_transmission(db, images=1, size=200), 0).data)


def test_replaced_feature_packets_are_decoded_as_lost_by_the_authorized_receiver(db):
    """An attacker on the air swaps image 0's packets for its own bytes and for another image's
    (same layout, another transmitter of the lab): the authorized receiver checks each against the
    tags in the sealed message and decodes those as lost; the eavesdropper cannot tell."""
    msgs = _transmission(db, images=1, size=120)
    other = _transmission(db, images=1, size=80)
    feats = next(m for m in msgs if m.ptype is PayloadType.FEATURES)
    theirs = next(m for m in other if m.ptype is PayloadType.FEATURES)
    rx = SemanticReceiver(_Codec(), db=db)
    (clean,) = rx.decode(msgs)
    assert clean.features_verified and clean.packets_rejected == 0 and clean.info.packets_received == 2
    forged = _replace(msgs, Message(0, feats.msg_id, feats.ptype, [b"attacker's own", theirs.fragments[1]]))
    rx = SemanticReceiver(_Codec(), db=db)
    (it,) = rx.decode(forged)
    assert it.packets_rejected == 2 and rx.forged_packets == 2 and it.info.packets_received == 0 and it.info.all_lost
    assert it.regions[0]["entry"] == "faces"  # the sealed message itself is genuine
    with pytest.raises(KeyCheckError, match="did not match their sealed tags"):
        SemanticReceiver(_Codec(), db=db, strict=True).decode(forged)
    (eve,) = SemanticReceiver(_Codec()).decode(forged)  # no key: it decodes whatever arrived
    assert eve.info.packets_received == 2 and eve.features_verified is None
    # a packet lost on the air stays a loss, not a forgery; the one that arrived is checked and kept
    lossy = _replace(msgs, Message(0, feats.msg_id, feats.ptype, [feats.fragments[0], None]))
    (it,) = SemanticReceiver(_Codec(), db=db, strict=True).decode(lossy)
    assert it.packets_rejected == 0 and it.info.packets_received == 1 and it.features_verified
    # without the sealed message (lost), the packets cannot be checked: decoded, and said so
    (it,) = SemanticReceiver(_Codec(), db=db).decode([m for m in forged if m.ptype is not PayloadType.EMBEDDING])
    assert it.features_verified is False and it.info.packets_received == 2
