"""Data-parallel training: 2 gloo processes make the same updates as 1 process with the same global batch.

Each rank draws its shard of every step's global batch from per-sample generators, so both runs see
the same samples; DDP averages the shards' gradients, which equals the global batch's gradient up to
the order of floating-point sums. Tolerance: losses within 1e-5 relative, weights within 1e-5 absolute
(measured: the curves agree to the 6 decimals the manifest keeps).
"""

import json

import pytest
import torch

pytestmark = pytest.mark.slow  # each run loads its data and models in every rank: ~1 min a pair on 2 loaded cores


def _runs(tmp_path, train, name):
    out = {}
    for n in (1, 2):
        d = tmp_path / f"nproc{n}"
        lines = train(d, n)
        assert lines and f"wrote {name}.pt" in lines[-1]
        out[n] = (json.loads((d / f"{name}.json").read_text()), torch.load(d / f"{name}.pt", weights_only=False))
    return out


def _close_states(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], torch.Tensor):
            assert torch.allclose(a[k].float(), b[k].float(), atol=1e-5, rtol=0), k
        elif isinstance(a[k], dict):
            _close_states(a[k], b[k])


def _same_curve(m1: dict, m2: dict, steps: int) -> None:
    c1, c2 = m1["training"]["loss_curve"], m2["training"]["loss_curve"]
    assert c1["every"] == c2["every"] == 1 and len(c1["loss"]) == len(c2["loss"]) == steps
    assert c1["loss"] == pytest.approx(c2["loss"], rel=1e-5)
    for n, m in ((1, m1), (2, m2)):
        t = m["training"]
        assert (t["world_size"], t["backend"], t["launcher"], t["data_stream"]) == (n, "gloo", "spawn", "per-sample")
        assert f"--nproc {n}" in m["command"]


def test_inpainter_two_processes_match_one(tmp_path):
    from sdr_semcom.commands import train_inpainter

    def train(d, n):
        return train_inpainter("t", d, f"sdr-semcom train inpainter --nproc {n}", steps=3, batch=4, minutes=10,
                               seed=1, threads=1, width=4, size=32, nproc=n)

    runs = _runs(tmp_path, train, "t")
    _same_curve(runs[1][0], runs[2][0], 3)
    _close_states(runs[1][1]["state_dict"], runs[2][1]["state_dict"])


def test_dct_codec_two_processes_match_one(tmp_path):
    from sdr_semcom.commands import train_codec

    def train(d, n):
        return train_codec("dct", "c", d, None, f"sdr-semcom train codec --nproc {n}", bpp=0.75, channels=12, bits=4,
                           downsample=8, width=4, steps=3, minutes=10, batch=2, crop=32, seed=1, nproc=n)

    runs = _runs(tmp_path, train, "c")
    _same_curve(runs[1][0], runs[2][0], 3)
    _close_states(runs[1][1], runs[2][1])
