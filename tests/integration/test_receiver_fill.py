"""The receivers' generative stage wired in: ``fill_item``, ``rx`` (through the CLI, radio replaced by the
messages) and the demo, for both roles, with the classical generator on a small image.

The transmitter is the real one (guard, codec v2, sealed EMBEDDING message) with one fixed "face"
detection, so no detector model is needed.
"""

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from sdr_semcom import cli
from sdr_semcom.generative import fill_item, receiver_inpainter, removed_mask
from sdr_semcom.generative.receiver import find_grey
from sdr_semcom.phy.framing import Message
from sdr_semcom.pipeline import SemanticReceiver, SemanticTransmitter
from sdr_semcom.privacy import PrivacyDatabase, PrivacyGuard
from sdr_semcom.privacy.detectors.base import Detection
from sdr_semcom.semantic.weights import load_codec

BOX = (40.0, 24.0, 72.0, 60.0)
GREY = 127


class FixedFace:
    """A face detector that always finds one face at :data:`BOX`."""

    name = "fixed_face"
    finds = ("human face",)

    def detect(self, rgb, prompts=None):
        return [Detection(BOX, 0.99, "human face")]


def _scene(h=96, w=128):
    """A smooth colour image far from the guard's grey: a removed region left grey is easy to tell."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([40 + 150 * x / w, 200 - 120 * y / h, 60 + 30 * np.sin(x / 7.0)], axis=2).astype(np.uint8)


@pytest.fixture(scope="module")
def link(tmp_path_factory):
    db = PrivacyDatabase.default()
    db_file = tmp_path_factory.mktemp("db") / "db.yaml"
    db.save(db_file)
    codec = load_codec()
    img = _scene()
    msgs, sent = SemanticTransmitter(codec, PrivacyGuard(db, [FixedFace()]), db).messages(img)
    wire = [Message(0, i, pt, data if isinstance(data, list) else [data]) for i, (data, pt) in enumerate(msgs)]
    assert len(sent.findings) == 1
    return img, sent, db, db_file, codec, wire


def head_mask(shape):
    """The pixels the guard removed for the face at :data:`BOX`: its head region (``masking.head_box``),
    which the authorized receiver rebuilds from the sealed message."""
    from sdr_semcom.privacy.masking import HEAD_GROWTH, head_box

    m = np.zeros(shape, bool)
    x0, y0, x1, y1 = head_box(BOX, shape, HEAD_GROWTH)
    m[y0:y1, x0:x1] = True
    return m


def fill_regions(rows):
    """Report rows -> regions (their boxes only)."""
    from sdr_semcom.generative import Region

    return [Region(tuple(r["box"])) for r in rows]


def _filled_where_removed(decoded, filled, mask):
    import cv2

    assert filled.shape == decoded.shape and filled.dtype == np.uint8
    assert np.array_equal(filled[~mask], decoded[~mask])  # nothing outside the removed pixels changes
    core = cv2.erode(mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)  # away from codec blur
    assert core.sum() > 200
    grey = lambda img: np.abs(img[core].astype(int) - GREY).max(axis=1) <= 12  # noqa: E731
    assert grey(decoded).mean() > 0.9  # it was the guard's grey
    assert grey(filled).mean() < 0.2  # and no longer is


def test_authorized_receiver_keeps_the_vector_and_fills_the_boxes(link):
    img, sent, db, _, codec, wire = link
    item = SemanticReceiver(codec, db=db).decode(wire)[0]
    assert len(item.regions) == len(item.vectors) == 1 and item.vectors[0].shape == (384,)
    assert "vector" not in item.regions[0]  # the report rows stay free of vectors
    filled, rows = fill_item(item, "auth", receiver_inpainter("auth", "classical"), db)
    assert rows == [{"box": list(BOX), "category": "face", "backend": "telea"}]
    mask = head_mask(item.image.shape[:2])
    assert item.regions[0]["removed"] == [24, 2, 88, 68] and np.array_equal(mask, sent.mask)
    _filled_where_removed(item.image, filled, mask)


def test_eavesdropper_fills_the_grey_without_any_database(link, monkeypatch):
    img, sent, db, _, codec, wire = link

    def no_db(*a, **k):
        raise AssertionError("the eavesdropper read a privacy database")

    monkeypatch.setattr(PrivacyDatabase, "load", no_db)
    item = SemanticReceiver(codec).decode(wire)[0]
    assert item.regions == [] and item.vectors == [] and item.region_count == 1
    filled, rows = fill_item(item, "eve", receiver_inpainter("eve", "classical"))
    assert len(rows) == 1 and rows[0]["backend"] == "telea" and rows[0]["found"] == "grey fill"
    assert rows[0]["category"] == "unknown"
    mask = removed_mask(item.image.shape[:2], fill_regions(rows), 0.0)
    assert (mask & sent.mask).sum() / sent.mask.sum() > 0.9
    _filled_where_removed(item.image, filled, mask)
    with pytest.raises(ValueError, match="no privacy database"):
        fill_item(item, "eve", receiver_inpainter("eve", "classical"), db)


def test_eavesdropper_widens_the_grey_tolerance_until_it_finds_region_count():
    img = _scene()
    img[10:40, 10:40] = GREY  # a clean grey box and a noisy one (codec noise after lost packets)
    noise = np.random.default_rng(0).integers(-14, 15, (30, 30, 3))
    img[50:80, 80:110] = GREY + noise
    assert len(find_grey(img, None)) == 1
    boxes = [r.box for r in find_grey(img, 2)]
    assert len(boxes) == 2 and any(b[0] <= 80 and b[2] >= 110 for b in boxes)


def test_nothing_removed_nothing_filled(link):
    _, _, db, _, codec, _ = link
    msgs, _ = SemanticTransmitter(codec, None, db).messages(_scene())
    wire = [Message(0, i, pt, data if isinstance(data, list) else [data]) for i, (data, pt) in enumerate(msgs)]
    item = SemanticReceiver(codec, db=db).decode(wire)[0]
    filled, rows = fill_item(item, "auth", receiver_inpainter("auth", "classical"), db)
    assert rows == [] and filled is item.image


@pytest.mark.parametrize("role", ["auth", "eve"])
def test_rx_command_writes_decoded_and_filled_images(link, role, tmp_path, monkeypatch):
    """``sdr-semcom rx`` with the radio replaced by the messages it would have received."""
    import json

    import sdr_semcom.link.roles

    _, sent, _, db_file, _, wire = link

    class Got:
        messages = wire

    report = {"packets_received": 3, "packets_sent": 3, "interrupted": None, "stream_ended": True}
    monkeypatch.setattr(sdr_semcom.link.roles, "run_rx", lambda *a, **k: (Got(), dict(report)))
    if role == "eve":
        monkeypatch.setattr(PrivacyDatabase, "load", lambda *a, **k: pytest.fail("eve read a database"))
    args = ["rx", "--role", role, "--out", str(tmp_path), "--generator", "classical"]
    r = CliRunner().invoke(cli.main, args + (["--db", str(db_file)] if role == "auth" else []))
    assert r.exit_code == 0, r.output
    assert "regions filled by telea 1" in r.output
    row = json.loads((tmp_path / "report.json").read_text())["images"][0]
    assert row["file"] == "img_0000.png" and row["filled_file"] == "img_0000_filled.png"
    assert [g["backend"] for g in row["filled_regions"]] == ["telea"]
    decoded = np.asarray(Image.open(tmp_path / "img_0000.png"))
    filled = np.asarray(Image.open(tmp_path / "img_0000_filled.png"))
    shape = decoded.shape[:2]
    mask = head_mask(shape) if role == "auth" else removed_mask(shape, fill_regions(row["filled_regions"]), 0.0)
    _filled_where_removed(decoded, filled, mask)


def test_demo_fills_both_receivers(link, tmp_path):
    import json

    from sdr_semcom.config import LinkConfig
    from sdr_semcom.demo import run_demo

    img, _, db, _, codec, _ = link
    cfg = LinkConfig().with_overrides(snr_db=30, eve_snr_db=30)
    inps = {role: receiver_inpainter(role, "classical") for role in ("auth", "eve")}
    rep = run_demo([("scene", img)], cfg, tmp_path, db=db, guard=PrivacyGuard(db, [FixedFace()]), codec=codec,
                   inpainters=inps)
    for role in ("auth", "eve"):
        row = rep["receivers"][role]["images"][0]
        assert [g["backend"] for g in row["filled_regions"]] == ["telea"], role
        decoded = np.asarray(Image.open(tmp_path / role / "scene.png"))
        filled = np.asarray(Image.open(tmp_path / role / "scene_filled.png"))
        shape = decoded.shape[:2]
        mask = head_mask(shape) if role == "auth" else removed_mask(shape, fill_regions(row["filled_regions"]), 0.0)
        _filled_where_removed(decoded, filled, mask)
    assert json.loads((tmp_path / "report.json").read_text())["receivers"]["eve"]["images"][0]["filled_regions"]
    assert Image.open(tmp_path / "mosaic.png").size[0] == 6 * 160  # original, sent, auth, auth filled, eve, eve filled
