"""``sdr-semcom eval --generator-dir``: claim 1 for a lab's diffusion inpainting pipeline (a tiny random one saved to
disk and loaded back: no hub), prompted with the aligned description vs with nothing; bad directories refused first."""

import json

import pytest
from click.testing import CliRunner

from sdr_semcom.cli import main

pytest.importorskip("diffusers")

from tests.unit.tiny_diffusers import save_tiny_pipeline  # noqa: E402

pytestmark = pytest.mark.slow  # one image, --quick: ~30 s


@pytest.fixture(scope="module")
def pipe_dir(tmp_path_factory):
    return save_tiny_pipeline(tmp_path_factory.mktemp("sd") / "pipe")


@pytest.fixture(scope="module")
def diff_run(tmp_path_factory, pipe_dir, samples):
    hopper = next(p for p in samples if p.stem == "grace_hopper")
    out = tmp_path_factory.mktemp("eval_diff")
    res = CliRunner().invoke(main, ["eval", "--quick", "--images", str(hopper), "--snr", "20", "--out", str(out),
                                    "--generator", "diffusers", "--generator-dir", str(pipe_dir),
                                    "--no-enroll-references"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return out, res.output


def test_the_pipeline_fills_the_authorized_receiver_and_claim_1_compares_prompt_and_none(diff_run, pipe_dir):
    out, text = diff_run
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    at20 = [r for r in rows if r["kind"] == "image" and r["snr"] == 20.0]
    by = {r["receiver"]: r for r in at20}
    assert {"auth", "diff_true", "diff_null", "net_true", "net_null"} <= set(by)
    assert "diffusers" in by["auth"]["backends"]
    assert set(by["diff_true"]["backends"]) <= {"diffusers", "telea"} and "diffusers" in by["diff_true"]["backends"]
    assert "diffusers_noprompt" in by["diff_null"]["backends"] and "diffusers" not in by["diff_null"]["backends"]
    assert "network_null" in by["net_null"]["backends"]
    assert all(r["generator_dir"] == str(pipe_dir.resolve()) for r in at20)
    regions = {(r["receiver"], r["region"]) for r in rows if r["kind"] == "region"}
    assert {rx for rx, _ in regions} >= {"diff_true", "diff_null"}
    claims = json.loads((out / "claims.json").read_text())["claims"]
    assert "null (diffusers: no prompt)|all" in claims["embedding"]
    assert "true vs null (diffusers: no prompt) embedding" in text


def test_resume_with_another_pipeline_or_none_is_refused(diff_run, tmp_path):
    out, _ = diff_run
    other = save_tiny_pipeline(tmp_path / "other", seed=1)
    for extra in (["--generator-dir", str(other)], []):
        res = CliRunner().invoke(main, ["eval", "--quick", "--snr", "20", "--out", str(out), "--resume",
                                        "--generator", "diffusers" if extra else "network",
                                        "--no-enroll-references"] + extra)
        want = "--generator-dir: its cells were made with the pipeline" if extra else "--generator: its cells"
        assert res.exit_code == 2 and want in res.output, res.output


@pytest.mark.parametrize("args, says", [
    (["--generator", "diffusers"], "--generator diffusers needs --generator-dir"),
    (["--generator-dir", "/nonexistent/pipe"], "/nonexistent/pipe does not exist"),
])
def test_a_missing_pipeline_is_refused_before_anything_runs(tmp_path, args, says):
    res = CliRunner().invoke(main, ["eval", "--quick", "--out", str(tmp_path / "o")] + args)
    assert res.exit_code == 2 and says in res.output, res.output
    assert not (tmp_path / "o").exists()


def test_the_enrolled_studys_null_is_the_unprompted_pipeline(pipe_dir, samples, tmp_path):
    """With ``--generator-dir`` the enrolled study's generic fill is the prompted pipeline and its null the same
    pipeline without a prompt (not the conditional network): ``generic - null`` is the description alone."""
    import torch

    from sdr_semcom.eval.enrolled import enrolled_study
    from sdr_semcom.images import fit, read_rgb

    torch.set_num_threads(1)
    img = fit(read_rgb(next(p for p in samples if p.stem == "grace_hopper")), 256)
    res = enrolled_study([("hopper", img)], tmp_path, generator="auto", size=128, generator_dir=pipe_dir)
    assert {r["fill"]: r["backend"] for r in res["rows"]} == {"reference": "reference", "generic": "diffusers",
                                                              "null": "diffusers_noprompt"}
