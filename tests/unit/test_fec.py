import numpy as np
import pytest

from sdr_semcom.phy.fec import CODES_DIR, DATA_CODE, SIG_CODE, read_alist


@pytest.mark.parametrize("code", [DATA_CODE, SIG_CODE], ids=lambda c: c.name)
def test_codewords_satisfy_every_parity_check(code, rng):
    h = read_alist(CODES_DIR / f"{code.name}.alist").astype(int)
    u = rng.integers(0, 2, (8, code.k))
    c = code.encode(u)
    assert c.shape == (8, code.n)
    assert not ((h @ c.T) % 2).any()
    assert (c[:, code.info_cols] == u).all()  # systematic


def test_rates_are_the_gr_fec_ones():
    assert (DATA_CODE.n, DATA_CODE.k) == (1800, 902)
    assert (SIG_CODE.n, SIG_CODE.k) == (100, 42)


def test_decoder_corrects_noise_at_2p5_db_ebn0(rng):
    u = rng.integers(0, 2, (16, DATA_CODE.k))
    x = 1 - 2.0 * DATA_CODE.encode(u)
    esn0 = 10 ** ((2.5 + 10 * np.log10(DATA_CODE.k / DATA_CODE.n)) / 10)
    sigma = np.sqrt(0.5 / esn0)
    y = x + sigma * rng.standard_normal(x.shape)
    raw_errors = ((y < 0) != (x < 0)).sum()
    info, ok = DATA_CODE.decode(2 * y / sigma**2)
    assert raw_errors > 1000  # the channel really did flip bits
    assert ok.all() and (info == u).all()


def test_decoder_reports_failure_on_garbage(rng):
    info, ok = DATA_CODE.decode(rng.standard_normal((4, DATA_CODE.n)))
    assert not ok.any()


def test_bad_alist_raises(tmp_path):
    bad = tmp_path / "bad.alist"
    bad.write_text("10 5\n3 6\n1 2\n")
    with pytest.raises(ValueError, match="not a valid alist"):
        read_alist(bad)


def test_wrong_lengths_raise():
    with pytest.raises(ValueError, match="info bits"):
        DATA_CODE.encode(np.zeros(10, np.uint8))
    with pytest.raises(ValueError, match="LLRs"):
        DATA_CODE.decode(np.zeros(10))
