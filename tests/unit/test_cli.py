"""The CLI's option / config merging, without processes: a flag given wins, a flag not given keeps the file's value."""

import pytest
from click.testing import CliRunner

from sdr_semcom import cli
from sdr_semcom.config import DEMO_EVE_SNR_DB, DEMO_SNR_DB, LinkConfig

TOML = 'modulation = "bpsk"\n[auth]\nsnr_db = 11.5\n[eve]\nsnr_db = 2.5\nengine = "gnuradio"\n'


@pytest.fixture
def toml(tmp_path):
    p = tmp_path / "link.toml"
    p.write_text(TOML)
    return p


def test_with_overrides_changes_only_what_is_given(toml):
    cfg = LinkConfig.load(toml)
    assert cfg.with_overrides() == cfg
    assert cfg.with_overrides(snr_db=None, eve_snr_db=None, modulation=None, engine=None) == cfg
    got = cfg.with_overrides(snr_db=30)
    assert (got.auth.snr_db, got.eve.snr_db, got.modulation) == (30, 2.5, "bpsk")
    assert got.auth.cfo_subcarriers == cfg.auth.cfo_subcarriers and got.auth.seed == cfg.auth.seed
    got = cfg.with_overrides(eve_snr_db=-1, modulation="16qam", engine="semcom")
    assert (got.auth.snr_db, got.eve.snr_db, got.modulation) == (11.5, -1, "16qam")
    assert got.auth.engine == got.eve.engine == "semcom"
    assert got.states("auth.snr_db") and got.states("auth.engine") and not got.states("auth.cfo_subcarriers")
    assert not LinkConfig().states("auth.snr_db") and LinkConfig().with_overrides(snr_db=1).states("auth.snr_db")


@pytest.fixture
def captured(monkeypatch):
    """Replace what the commands run with a recorder of the configuration they were given."""
    import sdr_semcom.demo
    import sdr_semcom.link.roles
    import sdr_semcom.report

    seen = {}

    def channel(cfg, *args):
        seen["cfg"], seen["args"] = cfg, args
        return {"samples": 0, "outputs": {"auth": "x"}, "receivers": {"auth": {"packets_received": 0,
                                                                              "packets_sent": 0}},
                "interrupted": None}

    def demo(images, cfg, *args, **kw):
        seen["cfg"] = cfg
        return {}

    monkeypatch.setattr(sdr_semcom.link.roles, "run_channel", channel)
    monkeypatch.setattr(sdr_semcom.demo, "demo", demo)
    monkeypatch.setattr(sdr_semcom.report, "demo_lines", lambda report, out: ["ok"])
    return seen


@pytest.mark.parametrize("command", ["demo", "channel"])
def test_toml_snr_kept_without_flags_and_flags_win(command, toml, captured, tmp_path):
    runner = CliRunner()
    extra = ["--out", str(tmp_path / "o")] if command == "demo" else []
    r = runner.invoke(cli.main, [command, "--config", str(toml), *extra])
    assert r.exit_code == 0, r.output
    cfg = captured["cfg"]
    assert (cfg.auth.snr_db, cfg.eve.snr_db, cfg.eve.engine, cfg.modulation) == (11.5, 2.5, "gnuradio", "bpsk")
    r = runner.invoke(cli.main, [command, "--config", str(toml), "--snr", "7", *extra])
    assert r.exit_code == 0, r.output
    assert (captured["cfg"].auth.snr_db, captured["cfg"].eve.snr_db) == (7, 2.5)
    r = runner.invoke(cli.main, [command, "--config", str(toml), "--eve-snr", "-3", "--channel-engine", "semcom",
                                 *extra])
    assert r.exit_code == 0, r.output
    cfg = captured["cfg"]
    assert (cfg.auth.snr_db, cfg.eve.snr_db, cfg.auth.engine, cfg.eve.engine) == (11.5, -3, "semcom", "semcom")


def test_defaults_without_config(captured, tmp_path):
    runner = CliRunner()
    assert runner.invoke(cli.main, ["demo", "--out", str(tmp_path)]).exit_code == 0
    assert (captured["cfg"].auth.snr_db, captured["cfg"].eve.snr_db) == (DEMO_SNR_DB, DEMO_EVE_SNR_DB)
    assert runner.invoke(cli.main, ["channel"]).exit_code == 0
    assert captured["cfg"] == LinkConfig()
    # a file that leaves the SNRs out: the demo keeps its own, the channel the config's defaults
    p = tmp_path / "mtu.toml"
    p.write_text("mtu = 900\n")
    assert runner.invoke(cli.main, ["demo", "--config", str(p), "--out", str(tmp_path)]).exit_code == 0
    assert (captured["cfg"].auth.snr_db, captured["cfg"].mtu) == (DEMO_SNR_DB, 900)
    assert runner.invoke(cli.main, ["channel", "--config", str(p)]).exit_code == 0
    assert (captured["cfg"].auth.snr_db, captured["cfg"].mtu) == (LinkConfig().auth.snr_db, 900)


def test_bad_config_exits_2_before_anything_runs(captured, tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('mtu = "big"\n')
    for command in ("demo", "channel", "rx", "tx"):
        r = CliRunner().invoke(cli.main, [command, "--config", str(p)])
        assert r.exit_code == 2, (command, r.output)
        assert "bad.toml: mtu: must be an integer" in r.output
    assert "cfg" not in captured


def test_timeouts_reach_the_command(captured):
    from sdr_semcom.link.roles import Timeouts

    assert CliRunner().invoke(cli.main, ["channel", "--connect-timeout", "3", "--idle-timeout", "2.5"]).exit_code == 0
    assert captured["args"][-1] == Timeouts(connect_s=3, idle_s=2.5)
    assert CliRunner().invoke(cli.main, ["channel", "--no-eve"]).exit_code == 0
    assert captured["args"] == ("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556", None, Timeouts())


@pytest.mark.parametrize("role", ["auth", "eve"])
def test_generator_dir_missing_or_incomplete_exits_1_naming_the_file(role, tmp_path):
    base = ["rx", "--role", role, "--connect-timeout", "1", "--out", str(tmp_path / "o")]
    r = CliRunner().invoke(cli.main, base + ["--generator-dir", str(tmp_path / "nowhere")])
    assert r.exit_code == 1, r.output
    assert "nowhere does not exist" in r.output and "Traceback" not in r.output
    (tmp_path / "sd").mkdir()
    r = CliRunner().invoke(cli.main, base + ["--generator", "diffusers", "--generator-dir", str(tmp_path / "sd")])
    assert r.exit_code == 1, r.output
    assert "model_index.json missing" in r.output
    assert not (tmp_path / "o").exists()  # failed before receiving anything


def test_generator_choices_are_the_factorys():
    from sdr_semcom.cli_options import GENERATORS
    from sdr_semcom.generative.factory import GENERATORS as FACTORY

    assert GENERATORS == FACTORY


@pytest.mark.parametrize("args, words", [(["train", "inpainter"], "--steps"), (["bench", "inpaint"], "--quick"),
                                         (["train", "codec"], "--bpp"), (["db", "create"], "--force"),
                                         (["bench", "guard"], "--split")])
def test_grouped_commands_exist(args, words):
    r = CliRunner().invoke(cli.main, args + ["--help"])
    assert r.exit_code == 0, r.output
    assert words in r.output


def test_train_inpainter_calls_the_trainer(monkeypatch, tmp_path):
    import sdr_semcom.generative.train as train

    seen = {}

    def fake(out, name, cfg, net_cfg, command=""):
        seen.update(out=out, name=name, cfg=cfg, net=net_cfg, command=command)
        return {"metrics_held_out": {"psnr": 1.0}, "sha256": "0" * 64}

    monkeypatch.setattr(train, "train_inpainter", fake)
    r = CliRunner().invoke(cli.main, ["train", "inpainter", "--steps", "7", "--width", "8", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert (seen["cfg"].steps, seen["net"].width, seen["out"], seen["name"]) == (7, 8, tmp_path, "inpainter_v2")
    assert "wrote inpainter_v2.pt" in r.output


def test_train_codec_coder_needs_from_weights(tmp_path):
    r = CliRunner().invoke(cli.main, ["train", "codec", "--kind", "latent", "--coder", "4", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "--coder goes with --kind dct --from-weights" in r.output
    assert not list(tmp_path.iterdir())


def test_train_codec_rd_choice_needs_from_weights(tmp_path):
    r = CliRunner().invoke(cli.main, ["train", "codec", "--kind", "dct", "--rd-choice", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "--rd-choice goes with --kind dct --from-weights" in r.output
