"""``sdr-semcom eval --generator-dir`` review: a sweep made before the option resumed with a pipeline is refused, and a
directory that is a file or has an unreadable ``model_index.json`` is one clear error before OUT exists. No models."""

import pytest

from sdr_semcom.eval import cells
from sdr_semcom.eval.cells import DEFAULT_MARGIN, CellSettings, setup_mismatch
from sdr_semcom.eval.run import evaluate


def _row(**extra) -> dict:
    """A face row as a sweep writes it (setup fields, no codec / inpainter ids: those are not compared here)."""
    return {"kind": "face", "image": "a", "margin": DEFAULT_MARGIN, "snr": 20.0, "seed": 0, "receiver": "auth",
            "generator": "auto", "size": 256, "max_side": None, **extra}


def test_rows_from_before_generator_dir_resumed_with_a_pipeline_are_refused():
    """A row written before ``--generator-dir`` existed has no ``generator_dir``: its ``auto`` generator could not
    use a pipeline. Resuming it with one made auto put diffusers first for the new cells only, a mixed sweep; it
    is refused as a row recorded with None is. Without a pipeline, or with the same one, it resumes."""
    old, none, made = _row(), _row(generator_dir=None), _row(generator_dir="/lab/sd-inpaint")
    with_dir, without = CellSettings(generator_dir="/lab/sd-inpaint"), CellSettings()
    for rows in ([old], [none]):
        msg = setup_mismatch(rows, with_dir, [DEFAULT_MARGIN])
        assert msg == "--generator-dir: its cells were made with the pipeline None, this run's is /lab/sd-inpaint"
        assert setup_mismatch(rows, without, [DEFAULT_MARGIN]) is None
    assert setup_mismatch([made], with_dir, [DEFAULT_MARGIN]) is None
    assert "this run's is None" in setup_mismatch([made], without, [DEFAULT_MARGIN])
    assert setup_mismatch([old], CellSettings(generator="classical"), [DEFAULT_MARGIN]).startswith("--generator:")


@pytest.mark.parametrize("make, says", [
    (lambda d: d.write_text("x"), "is a file, not a directory"),
    (lambda d: (d.mkdir(), (d / "model_index.json").write_text("{oops")), "model_index.json is not JSON"),
    (lambda d: (d.mkdir(), (d / "model_index.json").write_text("[1, 2]")), "model_index.json is not a JSON object"),
])
def test_a_bad_generator_dir_is_one_error_naming_it_before_out_exists(tmp_path, make, says):
    d = tmp_path / "pipe"
    make(d)
    with pytest.raises(ValueError, match=r"^--generator-dir: .*" + says) as err:
        evaluate(["nothing.png"], out=tmp_path / "o", generator="diffusers", generator_dir=d)
    assert str(d) in str(err.value) and not (tmp_path / "o").exists()
    assert cells.auth_variants(CellSettings(generator_dir=str(d))) == cells.NET_VARIANTS + cells.DIFF_VARIANTS


def test_a_ray_worker_without_the_pipeline_says_so_before_any_cell(tmp_path):
    """The driver checks ``--generator-dir`` on its own disk; a Ray node without the copy failed only at its first
    cell with a diffusion variant (after the sweep had run for a while). The worker now names it when it starts
    (``ready``), as a missing model directory is. Constructed directly: no Ray needed."""
    from sdr_semcom.eval.cluster import EvalWorker
    from sdr_semcom.semantic.weights import MODELS_DIR

    w = EvalWorker(CellSettings(generator_dir=str(tmp_path / "not-on-this-node")), None, str(MODELS_DIR))
    assert w.ready().startswith("worker ") and "--generator-dir: " in w.ready() and "not-on-this-node" in w.ready()
    assert "does not exist" in w.ready()
