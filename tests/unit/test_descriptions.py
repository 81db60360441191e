"""The guard's appearance words follow the removed pixels, from a closed vocabulary."""

import numpy as np

from sdr_semcom.privacy.descriptions import (SEP, appearance, appearance_vocabulary, combine, describe, split)


def face_image(skin, hair, shade_left=0):
    """A 200 x 200 scene with a 'face' box (60..140) of one skin colour under a hair band."""
    img = np.full((200, 200, 3), 120, np.uint8)
    img[60:140, 60:140] = skin
    img[45:66, 60:140] = hair
    if shade_left:
        img[66:140, 60:100] = np.clip(np.asarray(skin, int) - shade_left, 0, 255)
    return img


BOX = (60, 60, 140, 140)


def test_dark_and_light_faces_get_different_words():
    light = appearance(face_image((235, 205, 185), (215, 180, 110)), BOX, "face")
    dark = appearance(face_image((95, 62, 45), (25, 22, 22)), BOX, "face")
    assert light.startswith("pale skin, blond hair") and dark.startswith("dark skin, black hair"), (light, dark)
    grey = appearance(face_image((150, 150, 150), (30, 30, 30)), BOX, "face")
    assert grey.startswith("grey-toned skin")
    shaded = appearance(face_image((200, 160, 140), (25, 22, 22), shade_left=60), BOX, "face")
    assert "lit from the right" in shaded and "evenly lit" in light


def test_head_pose_from_landmarks():
    img = face_image((200, 160, 140), (25, 22, 22))
    eyes = [[85, 90], [115, 90]]
    mouth = [[88, 120], [112, 120]]
    words = [appearance(img, BOX, "face", np.array(eyes + [[x, 105]] + mouth)) for x in (88, 100, 112)]
    assert [w.rsplit(", ", 1)[1] for w in words] == ["facing left", "facing the camera", "facing right"]
    assert "facing" not in appearance(img, BOX, "face")


def test_text_colours_and_polarity():
    img = np.full((100, 300, 3), 235, np.uint8)
    img[40:60, 20:280:10] = (15, 15, 15)  # dark strokes on white
    assert appearance(img, (10, 30, 290, 70), "text") == "black text, white background"
    assert appearance(255 - img, (10, 30, 290, 70), "license_plate") == "white characters, black background"


def test_every_word_is_in_the_vocabulary_and_describe_joins_the_parts():
    rng = np.random.default_rng(3)
    for cat in ("face", "text", "license_plate", "custom"):
        vocab = set(appearance_vocabulary(cat))
        for _ in range(30):
            img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) // rng.integers(1, 8)
            lm = rng.uniform(10, 50, (5, 2)) if cat == "face" and rng.random() < 0.5 else None
            assert appearance(img, (5, 5, 60, 60), cat, lm) in vocab
    text = describe("face", BOX, (200, 200), rgb=face_image((95, 62, 45), (25, 22, 22)))
    head, tail = split(text)
    assert head == "a large human face in the center of the image" and tail.startswith("dark skin")
    assert split(head) == (head, "") and SEP in text
    assert appearance(np.zeros((10, 10, 3), np.uint8), (20, 20, 30, 30), "face") == ""  # outside the image


def test_combined_vector_is_unit_and_keeps_both_parts():
    rng = np.random.default_rng(0)
    a, p = rng.standard_normal((2, 384)).astype(np.float32)
    a, p = a / np.linalg.norm(a), p / np.linalg.norm(p)
    v = combine(a[None], p[None])[0]
    assert abs(np.linalg.norm(v) - 1) < 1e-5 and v @ a > 0.6 and v @ p > 0.6
    assert np.allclose(combine(a[None], None)[0], a, atol=1e-6)


def test_face_words_with_landmarks_outside_the_box_fall_back_to_the_box():
    """Landmarks that do not belong to the box (a detector's mistake) neither crash nor move the words."""
    img = face_image((95, 62, 45), (25, 22, 22))
    far = np.array([[5, 5], [9, 5], [7, 7], [5, 9], [9, 9]], float)  # eye-to-mouth 4 px, far from the box
    off = np.array([[185, 150], [195, 150], [190, 160], [186, 170], [194, 170]], float)  # plausible size, outside
    plain = appearance(img, BOX, "face").split(", ")[:3]
    for lm in (far, off):
        assert appearance(img, BOX, "face", lm).split(", ")[:3] == plain


def _landmarks_at(cx, cy, d):
    """Five plausible landmarks (eyes, nose, mouth corners) centred on (cx, cy), eye-to-mouth ``d``."""
    return np.array([[cx - 0.4 * d, cy - d / 2], [cx + 0.4 * d, cy - d / 2], [cx, cy],
                     [cx - 0.3 * d, cy + d / 2], [cx + 0.3 * d, cy + d / 2]], float)


def test_face_at_the_border_with_landmarks_outside_the_image_falls_back_to_the_box():
    """A face cut by the image's edge: the detector's box runs past it and the landmarks (inside the box)
    lie outside the image, so the landmark frame holds no pixel. The words come from the box, no error."""
    img = face_image((95, 62, 45), (25, 22, 22))
    vocab = set(appearance_vocabulary("face"))
    cases = [((150, 60, 320, 140), _landmarks_at(260, 100, 40)),   # right edge: frame x 217..303
             ((-120, 60, 50, 140), _landmarks_at(-60, 100, 40)),   # left edge: frame x -103..-17
             ((60, -160, 140, 20), _landmarks_at(100, -100, 40)),  # top edge: frame y -162..-66
             ((60, 190, 140, 400), _landmarks_at(100, 300, 60))]   # bottom edge
    for box, lm in cases:
        got = appearance(img, box, "face", lm)
        assert got in vocab, (box, got)
        assert got.split(", ")[:3] == appearance(img, box, "face").split(", ")[:3], box


def test_face_frame_overlapping_the_image_by_less_than_a_sample_step_gives_words():
    """A large landmark frame (sampled every ``w / 32`` px) that overlaps the image by fewer pixels than
    its sampling step still reads pixels (the box's, or every pixel), never raises."""
    img = face_image((95, 62, 45), (25, 22, 22))
    box = (197, 20, 600, 180)  # 3 px of it inside the 200 px image
    lm = _landmarks_at(399, 100, 150)  # frame 321 px wide: a 10 px step
    assert appearance(img, box, "face", lm) in set(appearance_vocabulary("face"))
    assert appearance(img, box, "face") in set(appearance_vocabulary("face"))


def test_grey_and_rgba_images_get_the_words_of_their_rgb_image():
    img = face_image((95, 62, 45), (25, 22, 22))
    lm = _landmarks_at(100, 100, 40)
    rgba = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    assert appearance(rgba, BOX, "face", lm) == appearance(img, BOX, "face", lm)
    grey = img[..., 1]
    assert appearance(grey, BOX, "face", lm) == appearance(np.repeat(grey[..., None], 3, 2), BOX, "face", lm)
    assert appearance(grey, BOX, "face", lm).startswith("grey-toned skin")
    assert describe("face", BOX, grey.shape, rgb=grey[..., None]).endswith(appearance(grey, BOX, "face"))


def test_face_words_are_the_same_on_every_call():
    rng = np.random.default_rng(7)
    img = rng.integers(0, 256, (120, 160, 3)).astype(np.uint8)
    lm = _landmarks_at(80, 60, 25)
    first = appearance(img, (50, 20, 110, 100), "face", lm)
    assert all(appearance(img.copy(), (50, 20, 110, 100), "face", lm.copy()) == first for _ in range(3))


def test_non_finite_or_malformed_landmarks_are_read_as_no_landmarks():
    """NaN / inf landmarks or not 5 points (a detector's bad row): the words of the box without landmarks
    (no pose word from NaN comparisons, no reshape error), no warnings."""
    import warnings

    img = face_image((95, 62, 45), (25, 22, 22))
    plain = appearance(img, BOX, "face")
    good = _landmarks_at(100, 100, 40)
    nan, inf = good.copy(), good.copy()
    nan[2, 0] = np.nan
    inf[0, 1] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for lm in (nan, inf, np.full((5, 2), np.nan), good[:4], np.zeros(3)):
            assert appearance(img, BOX, "face", lm) == plain, lm
    assert appearance(img, BOX, "face", good) != plain  # real landmarks add the pose
