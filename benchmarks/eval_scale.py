"""Scaling the eval out: cells per second here and on Ray workers, Ray's per-cell overhead, and the wall
time of a CelebA-HQ-scale sweep projected from them.

``python benchmarks/eval_scale.py --out out/bench [--snr 8,14,20] [--modes local,ray1,ray2] [--overhead]``

Each mode runs the same ``eval --quick`` sweep (the two default images at 512 px, the given SNR points):
``local`` in this process, ``rayN`` on a local Ray cluster with N workers (``--ray local --workers N``). Per
mode: the cell phase's wall time and cells per second, and per cell (the ``done`` rows' ``wall_s`` /
``cpu_s``) the median and range. ``--overhead``: a no-op Ray actor call against the same call in process,
with and without a prepared image's object reference as argument (medians and ranges over 200 calls).
The projection multiplies the measured CPU seconds per cell (and per prepared image) by a sweep's
counts and divides by the cores of N nodes; it states its assumptions in its output.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import save  # noqa: E402

CELEBA = {"images": 30_000, "snrs": 11, "seeds": 3, "margins": 3}


class Timed:
    """An executor whose phases are timed (start: workers + models, prepare, cells)."""

    def __init__(self, inner) -> None:
        self.inner, self.t = inner, {}

    def start(self, settings, db) -> None:
        t = time.perf_counter()
        self.inner.start(settings, db)
        self.t["start_s"] = time.perf_counter() - t

    def prepare(self, items, max_side):
        t = time.perf_counter()
        out = self.inner.prepare(items, max_side)
        self.t["prepare_s"] = time.perf_counter() - t
        self.t["images"] = len(items)
        return out

    def floors(self, gallery):
        return self.inner.floors(gallery)

    def run(self, cells, shared):
        t = time.perf_counter()
        n = 0
        for res in self.inner.run(cells, shared):
            n += 1
            yield res
        self.t["cells_s"] = time.perf_counter() - t
        self.t["cells"] = n

    def close(self) -> None:
        self.inner.close()


def _stats(v: list[float]) -> dict:
    return {"median": round(statistics.median(v), 4), "min": round(min(v), 4), "max": round(max(v), 4), "n": len(v)} \
        if v else {}


def sweep(mode: str, out: Path, snrs: list[float]) -> dict:
    """One mode's sweep and its figures."""
    from sdr_semcom.eval.run import EvalConfig, LocalExecutor, default_images, run_eval

    if mode == "local":
        ex = Timed(LocalExecutor())
    else:
        from sdr_semcom.eval.cluster import RayExecutor

        workers = int(mode[3:])
        ex = Timed(RayExecutor("local", workers=workers, num_cpus=max(2, workers)))
    d = out / "eval_scale" / mode
    cfg = EvalConfig(default_images(True)[:2], snrs, d, perceptual=False, judge_names=("sface",), quick=True)
    cfg.max_side, cfg.eve_fills, cfg.generator = 512, ("eve", "eve_telea"), "network"
    t, c = time.perf_counter(), time.process_time()
    run_eval(cfg, ex)
    wall, cpu_driver = time.perf_counter() - t, time.process_time() - c
    done = [json.loads(x) for x in (d / "rows.jsonl").read_text().splitlines()]
    done = [r for r in done if r["kind"] == "done"]
    snr_cells = [r for r in done if r["snr"] != "baselines"]
    return {"mode": mode, "workers": 1 if mode == "local" else int(mode[3:]), "wall_s": round(wall, 1),
            "driver_cpu_s": round(cpu_driver, 1), **{k: round(v, 2) for k, v in ex.t.items()},
            "cells_per_s": round(ex.t["cells"] / ex.t["cells_s"], 4),
            "cell_wall_s": _stats([r["wall_s"] for r in snr_cells]),
            "cell_cpu_s": _stats([r["cpu_s"] for r in snr_cells]),
            "baseline_cpu_s": _stats([r["cpu_s"] for r in done if r["snr"] == "baselines"]),
            "cell_cpu_mean_s": round(statistics.mean(r["cpu_s"] for r in snr_cells), 3),
            "cell_cpu_first_s": round(statistics.mean(max(r["cpu_s"] for r in snr_cells if r["image"] == n)
                                                      for n in {r["image"] for r in snr_cells}), 3),
            "cells_cpu_s": round(sum(r["cpu_s"] for r in done), 1)}


def _cpu_figures(d: Path) -> dict:
    done = [r for r in map(json.loads, (d / "rows.jsonl").read_text().splitlines()) if r["kind"] == "done"]
    snr = [r for r in done if r["snr"] != "baselines"]
    return {"cell_cpu_mean_s": round(statistics.mean(r["cpu_s"] for r in snr), 3),
            "cell_cpu_first_s": round(statistics.mean(max(r["cpu_s"] for r in snr if r["image"] == n)
                                                      for n in {r["image"] for r in snr}), 3)}


def overhead(calls: int = 200) -> dict:
    """Ray's cost per call: a no-op actor method against the same method called in process."""
    import numpy as np
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=256 * 2**20)
    try:
        class Noop:
            def cell(self, key, p=None):
                return key

        actor = ray.remote(num_cpus=1)(Noop).remote()
        ray.get(actor.cell.remote(0))
        img = ray.put(np.zeros((512, 437, 3), np.uint8))  # a prepared image's size, by reference

        def timed(f) -> list[float]:
            out = []
            for k in range(calls):
                t = time.perf_counter()
                f(k)
                out.append(1e3 * (time.perf_counter() - t))
            return out

        local = Noop()
        return {"local_ms": _stats(timed(lambda k: local.cell(k))),
                "ray_ms": _stats(timed(lambda k: ray.get(actor.cell.remote(k)))),
                "ray_with_ref_ms": _stats(timed(lambda k: ray.get(actor.cell.remote(k, img)))),
                "ray_pipelined_ms": _stats([1e3 * _pipelined(ray, actor, calls) / calls])}
    finally:
        ray.shutdown()


def _pipelined(ray, actor, calls: int) -> float:
    t = time.perf_counter()
    ray.get([actor.cell.remote(k) for k in range(calls)])
    return time.perf_counter() - t


def projection(local: dict, nodes=(1, 8, 32, 128), cores: int = 32) -> list[dict]:
    """Wall time of a CelebA-HQ-scale sweep on ``nodes`` nodes of ``cores`` cores (one worker a core),
    from a run's CPU seconds (``ray1``'s when measured): ``reuse`` as measured (a worker reuses an image's
    fills and scores across SNR points that decode the same image), ``no_reuse`` each cell at its image's first-cell cost
    (cells of one image spread over workers)."""
    cells = CELEBA["images"] * CELEBA["snrs"] * CELEBA["seeds"] * CELEBA["margins"]
    base_cells = CELEBA["images"] * CELEBA["margins"]
    preps = CELEBA["images"] * CELEBA["margins"]  # the guard's margin changes what is sent
    per_cell = {"reuse": local["cell_cpu_mean_s"], "no_reuse": local["cell_cpu_first_s"]}
    cpu_base = local["baseline_cpu_s"]["median"]
    cpu_prep = local["prepare_s"] / local["images"]  # wall on a loaded machine: an upper bound on its CPU
    out = []
    for label, cpu_cell in per_cell.items():
        total = cells * cpu_cell + base_cells * cpu_base + preps * cpu_prep
        out += [{"case": label, "nodes": n, "cores_per_node": cores, "cells": cells + base_cells,
                 "cpu_core_hours": round(total / 3600), "wall_h": round(total / (n * cores) / 3600, 1)} for n in nodes]
    out.append({"assumptions": f"CPU s per SNR cell {per_cell['reuse']:.2f} (mean, reuse) / {per_cell['no_reuse']:.2f} "
                               f"(first cell of an image), per baseline cell {cpu_base:.2f}, per prepared image "
                               f"{cpu_prep:.1f} (2 images at 512 px, --quick settings: SFace only, no ST-LPIPS); one "
                               "worker a core at full speed; a seed or margin adds cells of the same cost; Ray's "
                               "per-cell overhead (ms) left out"})
    return out


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = [r for r in rows if "mode" in r]
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.bar([r["mode"] for r in modes], [r["cells_per_s"] for r in modes])
    ax.set_ylabel("cells / s")
    ax.set_title("eval cells per second (2 loaded cores)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eval_scale", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("out/bench"))
    p.add_argument("--snr", default="8,14,20")
    p.add_argument("--modes", default="local,ray1,ray2")
    p.add_argument("--overhead", action="store_true")
    a = p.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    snrs = [float(s) for s in a.snr.split(",")]
    rows = []
    prev = a.out / "eval_scale.json"
    if prev.exists():  # modes measured by an earlier call are kept (run modes one call each on a busy machine)
        rows = [r for r in json.loads(prev.read_text()) if "mode" in r and r["mode"] not in a.modes.split(",")]
    for mode in [m for m in a.modes.split(",") if m]:
        rows.append(sweep(mode, a.out, snrs))
        print(json.dumps(rows[-1]))
    if a.overhead:
        rows.append({"overhead": overhead()})
        print(json.dumps(rows[-1]))
    elif prev.exists():
        rows += [r for r in json.loads(prev.read_text()) if "overhead" in r]
    by = {r["mode"]: r for r in rows if "mode" in r}
    base = by.get("ray1") or by.get("local")  # a Ray worker's figures: one torch thread, as on a cluster
    if base:
        if "cell_cpu_mean_s" not in base:  # a row of an earlier version: recomputed from its rows.jsonl
            base.update(_cpu_figures(a.out / "eval_scale" / base["mode"]))
        rows = [r for r in rows if "projection" not in r] + [{"projection": projection(base), "from": base["mode"]}]
        for line in rows[-1]["projection"]:
            print(line)
    save(rows, a.out, "eval_scale", plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
