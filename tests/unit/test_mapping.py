import numpy as np
import pytest

from sdr_semcom.phy.mapping import Modulation, constellation, demap_llr, map_bits


@pytest.mark.parametrize("mod", list(Modulation))
def test_unit_power_and_hard_decisions_roundtrip(mod, rng):
    assert np.mean(np.abs(constellation(mod)) ** 2) == pytest.approx(1.0, rel=1e-6)
    bits = rng.integers(0, 2, 240 * mod.bits)
    llr = demap_llr(map_bits(bits, mod), 0.1, mod)
    assert ((llr < 0).astype(int) == bits).all()


def test_16qam_is_gray_coded():
    pts = constellation(Modulation.QAM16)
    for i in range(16):
        d = np.abs(pts - pts[i])
        nearest = np.argsort(d)[1:3]
        for j in nearest:
            if d[j] < 0.7:
                assert bin(i ^ j).count("1") == 1


def test_parse_names():
    assert Modulation.parse("16qam") is Modulation.QAM16
    assert Modulation.parse("QPSK") is Modulation.QPSK
    with pytest.raises(ValueError, match="unknown modulation"):
        Modulation.parse("64qam")
