"""The sealed-message attack as a statistician: its chance computed from random bytes, a search and a
known-plaintext attack on many sealed messages that stay at that chance, and positive controls (the same
attacks on plaintext, or under a repeated nonce) that find the descriptions, so each test can fail."""

import random

import numpy as np
import pytest

from sdr_semcom.eval.attacks import description_chance, guard_sentences, message_attack, poisson_binomial_sf
from sdr_semcom.privacy.keying import NONCE_LEN, TAG_LEN, LinkKeys
from sdr_semcom.privacy.wire import Context, pack_findings, parse_findings

BOXES = [(40, 30, 120, 130), (10, 10, 50, 60), (200, 150, 260, 230)]
CTX = Context("codec", 0, 2, b"image header")


@pytest.fixture(scope="module")
def vocab():
    texts, vecs = guard_sentences()
    return texts, vecs


def _alike(texts):
    """Three true descriptions of the kind a one-face set gives: faces near the centre, all alike."""
    faces = [t for t in texts if "human face" in t and "center of the image" in t]
    assert len(faces) >= 3
    return faces[:3]


def _seal(texts, vecs, truth, keys, randbytes):
    v = vecs[[texts.index(t) for t in truth]]
    return pack_findings(BOXES[: len(truth)], v, keys, CTX, randbytes=randbytes)


def _with_body(data: bytes, ct: bytes) -> bytes:
    """``data`` with its ciphertext (between nonce and tag) replaced by ``ct`` of the same length."""
    msg = parse_findings(data)
    head = len(data) - len(msg.body)
    assert len(ct) == len(msg.body) - NONCE_LEN - TAG_LEN
    return data[: head + NONCE_LEN] + ct + data[-TAG_LEN:]


def _ct(data: bytes) -> bytes:
    msg = parse_findings(data)
    return msg.body[NONCE_LEN:-TAG_LEN]


def _plain(data: bytes, keys: LinkKeys) -> bytes:
    msg = parse_findings(data)
    return keys.open(msg.body, CTX.associated(msg.header))


def test_chance_is_computed_from_random_bytes_and_is_not_uniform(vocab):
    texts, _ = vocab
    c = description_chance([])
    assert set(c) == set(texts) and c == description_chance([])  # every sentence, seeded: the same figures
    p = np.array(list(c.values()))
    assert abs(p.sum() - 1) <= len(texts) / 2001 + 1e-9  # a distribution, but for the one-draw nudge
    assert p.min() > 0
    assert p.max() > 2 / len(texts)  # hub sentences: 1 / N is not the attack's chance
    assert description_chance([], draws=500, seed=1) != c  # the draws are what the figures come from
    extra = "a face of a person with medium skin in the center of the image"
    assert extra in description_chance([extra])  # the true descriptions join the candidates


def test_poisson_binomial_tail_matches_the_binomial_and_limits():
    from scipy.stats import binom

    for n, p, k in [(22, 0.02, 3), (22, 0.1, 0), (50, 0.3, 20), (5, 0.5, 5)]:
        assert poisson_binomial_sf([p] * n, k) == pytest.approx(binom.sf(k - 1, n, p), rel=1e-9, abs=1e-15)
    assert poisson_binomial_sf([0.2, 0.7], 0) == 1.0 and poisson_binomial_sf([0.2, 0.7], 3) == 0.0
    assert poisson_binomial_sf([0.2, 0.7], 2) == pytest.approx(0.14)
    assert poisson_binomial_sf([0.2, 0.7], 1) == pytest.approx(1 - 0.8 * 0.3)


def test_search_on_sealed_messages_under_fresh_keys_stays_at_its_computed_chance(vocab):
    """The real transmitter path (wire.pack_findings, LinkKeys.seal), 80 messages of the same alike
    descriptions, each under a fresh key; positive control: the same search on their plaintexts."""
    texts, vecs = vocab
    truth = _alike(texts)
    rng = random.Random(10)
    sealed_hits, plain_hits, p = 0, 0, []
    for _ in range(80):
        keys = LinkKeys.from_secret(rng.randbytes(32), "entries")
        data = _seal(texts, vecs, truth, keys, rng.randbytes)
        a = message_attack(data, truth)
        assert a.region_count == 3 and len(a.chance) == 3
        sealed_hits += a.hits
        p += a.chance
        plain_hits += message_attack(_with_body(data, _plain(data, keys)), truth).hits
    expected = sum(p)
    assert 0.5 < expected < 20  # alike centre faces: well above 240 / 163 = 1.5 if they are hubs, never all
    assert poisson_binomial_sf(p, sealed_hits) > 1e-3  # not above chance (one-sided, 0.1 % level)
    assert sealed_hits < expected + 4 * np.sqrt(expected) + 1
    assert plain_hits >= 0.95 * 240  # the search itself works: the test can fail
    assert poisson_binomial_sf(p, plain_hits) < 1e-12


def test_known_plaintext_keystream_fit_fails_with_fresh_nonces_and_works_if_a_nonce_repeated(vocab):
    """Issue #10's known-plaintext angle: the eavesdropper guesses the descriptions of many messages
    (here it is given their exact plaintexts), takes each keystream (ciphertext XOR plaintext) and
    applies it to a new message under the same key. Fresh nonces: every keystream is new, hits at
    chance. A repeated nonce (a constant source handed to seal) gives the new message away whole."""
    texts, vecs = vocab
    train = _alike(texts)
    target = [t for t in texts if "text" in t and "bottom" in t][:3]
    keys = LinkKeys.from_secret(random.Random(11).randbytes(32), "entries")

    def attack(randbytes, n_train=40):
        streams = []
        for _ in range(n_train):
            d = _seal(texts, vecs, train, keys, randbytes)
            streams.append(bytes(a ^ b for a, b in zip(_ct(d), _plain(d, keys))))
        d = _seal(texts, vecs, target, keys, randbytes)
        ct = _ct(d)
        hits, p = 0, []
        for ks in streams:
            a = message_attack(_with_body(d, bytes(x ^ y for x, y in zip(ct, ks))), target)
            hits += a.hits
            p += a.chance
        return hits, p

    rng = random.Random(12)
    hits, p = attack(rng.randbytes)
    assert poisson_binomial_sf(p, hits) > 1e-3  # at chance: no keystream repeats
    repeated = lambda n: bytes(n)  # noqa: E731  a nonce source that repeats: what seal must never get on the air
    hits, p = attack(repeated)
    assert hits == len(p)  # every record read: the keystream of any earlier message opens the new one


def test_a_sealed_nonce_never_repeats_on_the_air_or_in_a_sweep():
    """On the air seal draws 96 random bits per message; the eval's seeded sources are one per
    transmitter (tx_seed, one to one) under a fresh secret per sweep."""
    from sdr_semcom.eval.cells import tx_seed

    keys = LinkKeys.from_secret(bytes(range(32)), "entries")
    nonces = {keys.seal(b"x", b"ad")[:NONCE_LEN] for _ in range(2000)}
    assert len(nonces) == 2000
    seeds = {tx_seed(0, name, m, s) for name in ("face", "face#1", "face#", "a/b") for m in (0.15, 0.3)
             for s in range(3)}
    assert len(seeds) == 4 * 2 * 3  # 'face#1' at seed 0 is not 'face' at seed 1
    nonces = set()
    for s in seeds:  # the transmitter draws its session id, then the nonce
        r = random.Random(s)
        r.randbytes(8)
        nonces.add(r.randbytes(NONCE_LEN))
    assert len(nonces) == len(seeds)
