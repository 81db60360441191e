import pytest

from sdr_semcom.privacy.detectors.text import plate_category, plate_shaped

PLATE_BOX = (0, 0, 200, 45)  # 4.4 : 1


@pytest.mark.parametrize("text", ["AB 123 CD", "B-MW 1234", "7ABC123", "KA 01 AB 1234", "1234 56"])
def test_plate_like_strings_in_plate_shaped_boxes_are_plates(text):
    assert plate_category(PLATE_BOX, text) == "license_plate"


@pytest.mark.parametrize("text", ["MAIN STREET 42", "Exit 12", "ABCD", "12", "Please keep", "AB 1", "",
                                  "ABCDEFGHIJK 12"])
def test_other_strings_are_text(text):
    assert plate_category(PLATE_BOX, text) == "text"


def test_shape_decides_too():
    assert plate_shaped(PLATE_BOX) and not plate_shaped((0, 0, 400, 40)) and not plate_shaped((0, 0, 40, 40))
    assert plate_category((0, 0, 400, 40), "AB 123 CD") == "text"  # a long line: a sign, whatever it says
    assert not plate_shaped((0, 0, 10, 0))
