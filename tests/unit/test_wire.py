import numpy as np
import pytest

from sdr_semcom.privacy.keying import KeyedEmbedding
from sdr_semcom.privacy.text_encoder import DIM
from sdr_semcom.privacy.wire import pack_findings, unpack_findings


def test_findings_roundtrip_only_with_the_secret(rng):
    secret = bytes(range(32))
    vecs = rng.standard_normal((3, DIM))
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    boxes = [(1, 2, 30, 40), (100.4, 5, 120, 60), (0, 0, 640, 480)]
    data = pack_findings(boxes, vecs, KeyedEmbedding(secret, 6))
    got = unpack_findings(data, KeyedEmbedding(secret, 6))
    assert [b for b, _ in got] == [(1, 2, 30, 40), (100, 5, 120, 60), (0, 0, 640, 480)]
    assert all(float(v @ w) > 0.97 for (_, v), w in zip(got, vecs))
    eve = unpack_findings(data, KeyedEmbedding(None, 6))
    assert all(abs(float(v @ w)) < 0.25 for (_, v), w in zip(eve, vecs))


def test_malformed_findings_raise():
    k = KeyedEmbedding(bytes(32), 8)
    with pytest.raises(ValueError, match="too short"):
        unpack_findings(b"", k)
    with pytest.raises(ValueError, match="expected"):
        unpack_findings(bytes([2, 8]) + b"\0" * 10, k)
    with pytest.raises(ValueError, match="bits per coordinate"):
        unpack_findings(bytes([0, 4]), k)
