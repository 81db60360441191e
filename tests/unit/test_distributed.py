"""sdr_semcom.distributed: shards, per-sample generators, spawned and torchrun ranks (gloo on CPU)."""

import json

import numpy as np
import pytest

from sdr_semcom import distributed
from sdr_semcom.distributed import World


def test_shards_cover_the_global_batch_once():
    parts = [list(distributed.shard(8, World(rank=r, size=4, backend="gloo"))) for r in range(4)]
    assert sum(parts, []) == list(range(8))
    with pytest.raises(ValueError, match="multiple of the 3 processes"):
        distributed.shard(8, World(rank=0, size=3, backend="gloo"))


def test_a_sample_draws_the_same_whatever_rank_draws_it():
    a = distributed.sample_rng(1, 5, 3).random(4)
    assert np.array_equal(a, distributed.sample_rng(1, 5, 3).random(4))
    assert not np.array_equal(a, distributed.sample_rng(1, 5, 2).random(4))


def test_single_process_is_left_alone():
    net = object()
    assert distributed.wrap(net) is net and distributed.mean_across([1.5, 0.0]) == [1.5, 0.0]
    assert distributed.loss_curve([1.0, 2.0, 3.0], points=2) == {"every": 2, "loss": [1.5, 3.0]}


def _probe(path: str) -> dict:
    w = distributed.world()
    value = distributed.mean_across([float(w.rank)])[0]
    if w.main:
        with open(path, "w") as f:
            json.dump({**w.to_json(), "mean_rank": value}, f)
    return w.to_json()


def test_spawned_ranks_average_over_gloo(tmp_path):
    out = tmp_path / "probe.json"
    assert distributed.launch(_probe, 2, str(out)) is None
    assert json.loads(out.read_text()) == {"world_size": 2, "backend": "gloo", "launcher": "spawn", "mean_rank": 0.5}
    assert distributed.world() == World()  # the parent stays a single process


def test_torchrun_environment_makes_this_process_a_rank(tmp_path, monkeypatch):
    from tests.conftest import free_ports

    for k, v in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                 "MASTER_PORT": str(free_ports(1)[0])}.items():
        monkeypatch.setenv(k, v)
    got = distributed.launch(_probe, 4, str(tmp_path / "p.json"))  # torchrun's world, whatever nproc says
    assert got == {"world_size": 1, "backend": "gloo", "launcher": "torchrun"}
    assert distributed.world() == World()


def test_batch_not_a_multiple_of_nproc_is_a_usage_error(tmp_path):
    from click.testing import CliRunner

    from sdr_semcom.cli import main

    res = CliRunner().invoke(main, ["train", "inpainter", "--batch", "3", "--nproc", "2", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "--batch 3 must be a multiple of the 2 processes" in res.output
    res = CliRunner().invoke(main, ["train", "codec", "--kind", "latent", "--nproc", "2", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "dct codec and the inpainter" in res.output
