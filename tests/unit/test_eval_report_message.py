"""The claims table's sealed-message line: computed chance, p-value and the ciphertext-free guess."""

import pytest

from sdr_semcom.eval import report

FACE = "a small human face in the center of the image"
TEXT = "a small region of text in the bottom left of the image"


def _msg(image, hits, chance, truths, seed=0, snr=20.0, candidates=163):
    return {"kind": "message", "image": image, "snr": snr, "seed": seed, "region_count": len(truths),
            "true_count": len(truths), "desc_hits": hits, "desc_candidates": candidates, "desc_chance": chance,
            "desc_truths": truths}


def _empty():
    return {"snr": 20.0, "embedding": {}, "leakage": {}, "utility": {}}


def test_message_claims_sum_the_regions_chances_and_test_the_hits():
    msgs = [_msg("a", 1, [0.2, 0.1], [FACE, TEXT], candidates=164), _msg("b", 1, [0.2], [FACE])]
    m = report.message_claims(msgs)
    assert m["desc_hits"] == "2/3" and m["count_exact"] == "2/2" and m["desc_candidates"] == [163, 164]
    assert "over 163-164 sentences a message" in next(x for x in report.table({**_empty(), "message": m})
                                                     if "sealed message" in x)
    assert m["desc_expected"] == pytest.approx(0.5)
    # P(X >= 2) for independent regions at 0.2, 0.1, 0.2
    p2 = 0.2 * 0.1 * 0.8 + 0.2 * 0.9 * 0.2 + 0.8 * 0.1 * 0.2 + 0.2 * 0.1 * 0.2
    assert m["desc_p"] == pytest.approx(p2)
    assert m["prior_guess"] == FACE and m["prior_hits"] == "2/3"  # the run's most frequent truth, for free


def test_claims_table_prints_the_computed_chance_not_one_over_n():
    rows = [_msg("a", 0, [0.02, 0.03], [FACE, FACE]), _msg("a", 0, [0.02, 0.03], [FACE, FACE], snr=4.0)]
    c = report.claims(rows)
    assert c["message"]["desc_hits"] == "0/2" and c["message"]["desc_p"] == 1.0  # one distinct message
    line = next(x for x in report.table(c) if "sealed message" in x)
    assert "chance 0.05 hits from random bytes, one-sided p = 1" in line and "0.006" not in line
    assert f'"{FACE}"' in line and "names 2/2" in line


def test_rows_of_an_older_run_say_the_chance_was_not_computed():
    old = {k: v for k, v in _msg("a", 1, [0.1], [FACE]).items() if k not in ("desc_chance", "desc_truths")}
    m = report.message_claims([old])
    assert m["desc_expected"] is None and m["desc_p"] is None and m["prior_guess"] is None
    c = report.claims([old])
    assert any("chance not computed" in x for x in report.table(c))
