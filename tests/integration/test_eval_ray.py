"""``sdr-semcom eval --ray``: a local Ray cluster (2 CPUs) gives the serial run's rows exactly (two seeds), a worker
killed mid-sweep loses no cell and counts none twice, an interrupted sweep resumes, and the errors
(no cluster, a worker without the model directory) are one clear line. The serial run imports no Ray."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # a few minutes on a loaded 2-core machine: the sweep runs three times

ROOT = Path(__file__).resolve().parents[2]
SNR = 20.0
SEEDS = 2  # the seed axis: each seed's cell gives the same rows wherever it runs


def _cfg(out: Path, image: Path, resume: bool = False):
    """``sdr-semcom eval --quick --images IMAGE --snr 20 --seeds 2``'s configuration."""
    from sdr_semcom.eval.run import EvalConfig

    cfg = EvalConfig([image], [SNR], out, resume=resume, perceptual=False, judge_names=("sface",), quick=True,
                     seeds=SEEDS)
    cfg.max_side, cfg.eve_fills, cfg.generator = 512, ("eve", "eve_telea"), "network"
    return cfg


#: what a message row reads from the ciphertext itself: each run seals under its own fresh database secret
#: (``run_eval``: ``PrivacyDatabase.default()``), so two runs' nearest-description hits are two draws (chance
#: 1/162 a record); within one run every worker shares the secret
CIPHERTEXT_FIELDS = ("desc_hits",)


def _rows(out: Path) -> list[str]:
    """The rows as a sorted multiset (cells arrive in any order on a cluster), less the timing fields and
    what a message row reads from the run's ciphertext."""
    from sdr_semcom.eval.cells import TIMING_FIELDS

    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    drop = set(TIMING_FIELDS)
    return sorted(json.dumps({k: v for k, v in r.items() if k not in drop and not (r["kind"] == "message" and
                                                                                   k in CIPHERTEXT_FIELDS)},
                             sort_keys=True) for r in rows)


@pytest.fixture(scope="module")
def image(samples) -> Path:
    return next(p for p in samples if p.stem == "grace_hopper")


@pytest.fixture(scope="module")
def serial(tmp_path_factory, image):
    """The serial run, in its own process: its rows, and whether it imported Ray."""
    out = tmp_path_factory.mktemp("serial")
    code = ("import sys; from sdr_semcom.eval.run import evaluate; "  # --quick as _cfg: one image, one SNR
            f"evaluate([{str(image)!r}], '{SNR}', {str(out)!r}, quick=True, seeds={SEEDS}); "
            "print('ray' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    return out, res.stdout.strip().splitlines()[-1] == "True"


@pytest.fixture(scope="module")
def cluster():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=256 * 2**20,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    yield ray
    ray.shutdown()


def test_serial_run_imports_no_ray(serial):
    assert serial[1] is False


def test_ray_rows_equal_serial_rows_with_a_worker_killed(serial, cluster, image, tmp_path):
    from sdr_semcom.eval.cluster import RayExecutor
    from sdr_semcom.eval.run import run_eval

    marker = tmp_path / "killed"
    out = tmp_path / "ray"
    run_eval(_cfg(out, image), RayExecutor("auto", workers=2, crash_once=str(marker)))
    assert marker.exists()  # a worker died mid-sweep: its cell was rerun on the restarted worker
    assert _rows(out) == _rows(serial[0])
    done = [r for r in map(json.loads, (out / "rows.jsonl").read_text().splitlines()) if r["kind"] == "done"]
    assert len(done) == len({(r["image"], r["snr"], r["seed"]) for r in done}) == 1 + SEEDS
    assert (out / "claims.json").read_text() and (out / "rows.csv").stat().st_size > 0


def test_interrupted_ray_sweep_resumes(serial, cluster, image, tmp_path):
    from sdr_semcom.eval.cluster import RayExecutor
    from sdr_semcom.eval.run import run_eval

    out = tmp_path / "resumed"
    out.mkdir()
    lines = (serial[0] / "rows.jsonl").read_text().splitlines(keepends=True)
    first_done = next(i for i, line in enumerate(lines) if json.loads(line)["kind"] == "done")
    # killed while the second cell was being written: the first cell whole, the second cut mid-line
    kept = "".join(lines[:first_done + 1]) + "".join(lines[first_done + 1:first_done + 3]) + lines[first_done + 3][:20]
    (out / "rows.jsonl").write_text(kept)
    run_eval(_cfg(out, image, resume=True), RayExecutor("auto", workers=1))
    text = (out / "rows.jsonl").read_text()
    assert text.startswith("".join(lines[:first_done + 1]))  # the finished cell kept as it was
    assert _rows(out) == _rows(serial[0])


def test_worker_without_model_directory_names_node_and_path(cluster, tmp_path):
    from sdr_semcom.eval.cells import CellSettings
    from sdr_semcom.eval.cluster import ClusterError, RayExecutor
    from sdr_semcom.privacy import PrivacyDatabase

    missing = tmp_path / "no-models"
    ex = RayExecutor("auto", workers=1, models_dir=missing)
    with pytest.raises(ClusterError) as err:
        ex.start(CellSettings(), PrivacyDatabase.default())
    ex.close()
    msg = str(err.value)
    assert f"worker {socket.gethostname()} (node " in msg and str(missing) in msg and "\n" not in msg


def test_no_cluster_at_address_is_one_line_and_fails(image, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-c", "from sdr_semcom.cli import main; main()", "eval", "--images",
                          str(image), "--snr", "20", "--out", str(tmp_path), "--ray", f"127.0.0.1:{port}"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 1
    errors = [line for line in res.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and f"no Ray cluster at 127.0.0.1:{port}" in errors[0], res.stderr[-2000:]
    assert "Traceback" not in res.stderr


def test_ray_completes_finished_cells_as_the_serial_run_wrote_them(serial, cluster, image, tmp_path):
    """Review attack: the serial run's cells as an older version left them (no blank baseline, no blur link, no
    eve_telea fill, no net_other): --resume on Ray computes those receivers alone, and the rows equal the serial
    run's whole cells (less the added done rows); the finished rows stay as they were."""
    from sdr_semcom.eval.cluster import RayExecutor
    from sdr_semcom.eval.run import run_eval

    out = tmp_path / "completed"
    out.mkdir()
    gone = ("blank", "blur_link", "eve_telea", "net_other")
    lines = [line for line in (serial[0] / "rows.jsonl").read_text().splitlines(keepends=True)
             if json.loads(line).get("receiver") not in gone]
    (out / "rows.jsonl").write_text("".join(lines))
    run_eval(_cfg(out, image, resume=True), RayExecutor("auto", workers=1))
    text = (out / "rows.jsonl").read_text()
    assert text.startswith("".join(lines))
    added = [json.loads(x) for x in text.splitlines()[len(lines):]]
    assert {tuple(a) for r in added if r["kind"] == "done" for a in r["added"]} <= {(g, "") for g in gone}
    assert [r for r in _rows(out) if '"added"' not in r] == _rows(serial[0])
