"""The identity judges on shipped photos: different people are below threshold, a blurred face is not."""

import numpy as np
import pytest

from sdr_semcom.eval.baselines import blur
from sdr_semcom.eval.identity import DlibJudge, SFaceJudge, find_faces, impostor_floor, leak, reidentify
from sdr_semcom.images import read_rgb


@pytest.fixture(scope="module")
def group(face_samples):
    img = read_rgb(face_samples / "t1.jpg")  # six different people
    return img, find_faces("t1", img)


@pytest.fixture(scope="module", params=["sface", "dlib"])
def judge(request):
    return SFaceJudge() if request.param == "sface" else DlibJudge()


def test_different_people_are_below_threshold(group, judge):
    img, faces = group
    assert len(faces) == 6
    gallery = {f.key: judge.embed(img, f) for f in faces}
    floor = impostor_floor(judge, gallery)
    assert floor.pairs == 15
    assert floor.impostor_max < judge.threshold  # no pair of different people passes as the same person
    assert floor.impostor_median < floor.impostor_max
    for f in faces:  # a face is its own nearest neighbour, far above the floor
        assert reidentify(judge, gallery[f.key], gallery, f.key)
        assert judge.similarity(gallery[f.key], gallery[f.key]) >= judge.threshold
        assert leak(judge.similarity(gallery[f.key], gallery[f.key]), floor) > 0


def test_blurred_face_is_still_the_same_person_for_sface(group):
    img, faces = group
    j = SFaceJudge()
    m = np.zeros(img.shape[:2], bool)
    for f in faces:
        x0, y0, x1, y1 = (int(v) for v in f.box)
        m[y0:y1, x0:x1] = True
    blurred = blur(img, m, 31)
    sims = [j.similarity(j.embed(blurred, f), j.embed(img, f)) for f in faces]
    assert np.median(sims) >= j.threshold  # blur is not anonymisation
    grey = img.copy()
    grey[m] = 127
    assert max(j.similarity(j.embed(grey, f), j.embed(img, f)) for f in faces) < j.threshold


def test_message_attack_counts_regions_and_recovers_nothing():
    from sdr_semcom.eval.attacks import guard_sentences, message_attack
    from sdr_semcom.privacy import PrivacyDatabase
    from sdr_semcom.privacy.keying import LinkKeys
    from sdr_semcom.privacy.text_encoder import text_encoder
    from sdr_semcom.privacy.wire import Context, pack_findings

    texts, _ = guard_sentences()
    truth = texts[:: len(texts) // 6][:6]
    keys = LinkKeys.from_database(PrivacyDatabase.default())
    data = pack_findings([(10, 10, 50, 60)] * 6, text_encoder()(truth), keys, Context("codec", 0, 2, b"header"))
    a = message_attack(data, truth)
    assert a.region_count == a.true_count == 6
    assert a.candidates == len(texts) and a.hits <= 1  # chance: 6 / 162
    clear = pack_findings([], np.zeros((0, 384)), None, Context("codec", 0, 2, b"header"))
    assert message_attack(clear, []).region_count == 0
