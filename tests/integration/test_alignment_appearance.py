"""The receiver still aligns a vector that carries the guard's appearance words, and recovers them."""

import numpy as np
import pytest

from sdr_semcom.privacy.aligner import Aligner
from sdr_semcom.privacy.database import PrivacyDatabase
from sdr_semcom.privacy.descriptions import appearance_vocabulary, candidate_descriptions, embed_descriptions
from sdr_semcom.privacy.keying import LinkKeys
from sdr_semcom.privacy.text_encoder import text_encoder
from sdr_semcom.privacy.wire import Context, pack_findings, unpack_findings


@pytest.fixture(scope="module")
def db():
    d = PrivacyDatabase.default()
    d.secret = bytes(range(32))
    d.enroll("takeo", [list(np.ones(128) / np.sqrt(128))], ["takeo.ppm"])
    return d


@pytest.fixture(scope="module")
def aligner(db):
    return Aligner(db, text_encoder())


def test_sealed_vectors_with_appearance_words_align_to_the_right_entry_and_words(db, aligner):
    rng = np.random.default_rng(5)
    texts, want = [], []
    for e in db.entries:
        phrases, words = candidate_descriptions(e), appearance_vocabulary(e.category)
        for _ in range(4):
            texts.append(f"{phrases[rng.integers(len(phrases))]}; {words[rng.integers(len(words))]}")
            want.append(e.id)
    vecs = embed_descriptions(texts)
    keys, ctx = LinkKeys.from_database(db), Context("codec", 0, 2, b"header")
    data = pack_findings([(0, 0, 10, 10)] * len(texts), vecs, keys, ctx)  # 8 bits a coordinate on the wire
    for region, text, eid in zip(unpack_findings(data, keys, ctx).regions, texts, want):
        m = aligner.match(region.vector)
        assert (m.entry_id, m.text) == (eid, text) and m.score > 0.99


def test_vectors_without_appearance_words_still_align(aligner):
    text = "a small region of text in the top left of the image"
    m = aligner.match(embed_descriptions([text])[0])
    assert m.entry_id == "text" and m.text == text and m.score > 0.99


def test_guard_description_of_a_real_face_aligns(db, aligner):
    from skimage.data import astronaut

    from sdr_semcom.privacy.guard import PrivacyGuard, default_backends

    img = astronaut()
    res = PrivacyGuard(db, default_backends(text=False)).process(img)
    assert res.removed
    vecs = embed_descriptions([f.description for f in res.removed])
    for f, v in zip(res.removed, vecs):
        assert "; " in f.description and " skin, " in f.description
        m = aligner.match(v)
        assert m.entry_id == "faces" and m.text == f.description
    plain = PrivacyGuard(db, default_backends(text=False), appearance=False).process(img).removed
    assert [f.description for f in plain] == [f.description.split("; ")[0] for f in res.removed]
