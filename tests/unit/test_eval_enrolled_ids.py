"""The enrolled study's entry ids and files (``sdr_semcom.eval.enrolled``): one id per name, however long or
punctuated; the folder of the reference photos owner only and the photos 0600, whatever the umask."""

import os
import stat

import numpy as np
import pytest

from sdr_semcom.eval.enrolled import _entry_id, private_folder, write_private_png
from sdr_semcom.privacy.database import _ID


def test_names_differing_only_at_the_end_or_in_punctuation_get_different_valid_ids():
    long = "a_very_long_photo_name_from_a_camera_roll_with_many_words_in_it"
    pairs = [(long + "_1", long + "_2"), ("jane.doe", "jane_doe"), ("jane doe", "jane.doe"), ("Ann", "ann")]
    for a, b in pairs:
        ia, ib = _entry_id(a, 0), _entry_id(b, 0)
        assert ia != ib, (a, b)
        for i in (ia, ib, _entry_id(a, 12), _entry_id(a, 0).replace("-face0", "-person")):
            assert _ID.fullmatch(i), i
    assert _entry_id("astronaut", 1) == "astronaut-face1"  # a clean name keeps its plain id
    assert _entry_id(long + "_1", 0) == _entry_id(long + "_1", 0)  # deterministic


@pytest.fixture
def umask0():
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_an_earlier_runs_folder_and_the_photo_are_owner_only_under_umask_0(tmp_path, umask0):
    folder = tmp_path / "out" / "enrolled"
    folder.mkdir(parents=True, mode=0o777)
    os.chmod(folder, 0o777)  # an earlier run's, left open
    private_folder(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    fresh = tmp_path / "new" / "enrolled"
    private_folder(fresh)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    png = folder / "x-face0.png"
    write_private_png(png, np.zeros((4, 4, 3), np.uint8))
    assert stat.S_IMODE(png.stat().st_mode) == 0o600
    os.chmod(png, 0o666)  # an earlier file there, wider
    write_private_png(png, np.full((4, 4, 3), 255, np.uint8))
    assert stat.S_IMODE(png.stat().st_mode) == 0o600
    from PIL import Image

    assert np.asarray(Image.open(png)).min() == 255
