"""``sdr-semcom eval --channel``: the eval's links through Sionna's fading (.venv-sionna), rows and claims
naming the channel; a missing Sionna venv is one line."""

import json

from click.testing import CliRunner

from sdr_semcom.channels import launch
from sdr_semcom.cli import main
from sdr_semcom.eval.cells import fading_seeds


def test_tiny_eval_through_tdl_a_names_the_channel(tmp_path, samples):
    """One image, one SNR, --quick, TDL-A at 3 m/s: the cells run through the fading and every cell row says so."""
    launch.sionna_python()  # the tests want .venv-sionna ('make setup-sionna')
    hopper = next(p for p in samples if p.stem == "grace_hopper")
    out = tmp_path / "faded"
    res = CliRunner().invoke(main, ["eval", "--quick", "--images", str(hopper), "--snr", "25", "--channel", "tdl-a",
                                    "--speed", "3", "--out", str(out)])
    assert res.exit_code == 0, res.output + repr(res.exception)
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    at_snr = [r for r in rows if r.get("snr") == 25.0 and r["kind"] != "done"]
    assert at_snr and all(r["channel"] == "tdl-a" and r["speed_mps"] == 3.0 and r["fades"] == "paired"
                          for r in at_snr)
    auth = [r for r in at_snr if r["kind"] == "image" and r["receiver"] == "auth"]
    assert auth and auth[0]["received"], auth  # 25 dB, walking: the authorized receiver decoded the image
    assert "channel tdl-a at 3 m/s" in res.output
    doc = json.loads((out / "claims.json").read_text())
    assert doc["meta"]["channel"] == "tdl-a" and doc["claims"]["channel"] == "tdl-a at 3 m/s"


def test_fading_seeds_differ_per_cell_and_role():
    a = fading_seeds(("img", 0.15, 10.0))
    assert a == fading_seeds(("img", 0.15, 10.0)) and a["auth"] != a["eve"]
    assert a != fading_seeds(("img", 0.15, 12.0)) and a != fading_seeds(("img2", 0.15, 10.0))
    assert all(1 <= s < 2**31 for s in a.values())


def test_fading_seeds_of_seed_0_are_those_of_the_three_part_key_and_other_seeds_differ():
    """The seed axis (cell key image, margin, snr, seed): seed 0 draws the realisations of runs made before it."""
    import zlib

    old = {role: 1 + zlib.crc32(repr((("img", 0.15, 10.0), role, 0)).encode()) % (2**31 - 2)
           for role in ("auth", "eve")}
    assert fading_seeds(("img", 0.15, 10.0, 0)) == fading_seeds(("img", 0.15, 10.0)) == old
    one, two = fading_seeds(("img", 0.15, 10.0, 1)), fading_seeds(("img", 0.15, 10.0, 2))
    assert len({*old.values(), *one.values(), *two.values()}) == 6


def test_every_transmission_of_a_cell_sees_the_fading(monkeypatch):
    """over_link: with a fading model, each transmission (ours, a link baseline's to auth only) goes through
    run_faded_link with the cell's seeds; without one, the GNU Radio loopback with the link's config."""
    from sdr_semcom.channels.spec import FadingSpec
    from sdr_semcom.config import DEMO_LINK
    from sdr_semcom.eval import cells
    from sdr_semcom.link import faded, loopback

    calls = []
    monkeypatch.setattr(faded, "run_faded_link", lambda m, cfg, fad, seeds, roles: calls.append(
        ("faded", cfg, fad.model, seeds, tuple(roles))) or "F")
    monkeypatch.setattr(loopback, "run_loopback", lambda m, cfg, roles: calls.append(("gr", cfg, tuple(roles))) or "L")
    seeds = fading_seeds(("img", 0.15, 10.0, 1))
    link = cells.CellLink(DEMO_LINK, FadingSpec("tdl-a"), seeds)
    assert cells.over_link([], link) == "F" and cells.over_link([], link, roles=("auth",)) == "F"
    assert calls == [("faded", DEMO_LINK, "tdl-a", seeds, ("auth", "eve")),
                     ("faded", DEMO_LINK, "tdl-a", seeds, ("auth",))]
    calls.clear()
    assert cells.over_link([], cells.CellLink(DEMO_LINK)) == "L" and calls == [("gr", DEMO_LINK, ("auth", "eve"))]


def test_eval_channel_without_sionna_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setattr(launch, "SIONNA_VENV", tmp_path / "none")
    monkeypatch.delenv(launch.ENV_PYTHON, raising=False)
    monkeypatch.setattr(launch.importlib.util, "find_spec", lambda name: None)
    res = CliRunner().invoke(main, ["eval", "--quick", "--channel", "cdl-c", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "make setup-sionna" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "o").exists()
    res = CliRunner().invoke(main, ["eval", "--speed", "3", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "--speed goes with --channel" in res.output


def test_a_margin_sweep_crosses_the_same_channel_realisation():
    """The cells of two guard margins (same image, SNR point and seed) get the same fade seeds and link noise:
    the margin sweep is paired; other seeds and images still draw other realisations."""
    from sdr_semcom.channels.spec import FadingSpec
    from sdr_semcom.eval.cells import DEFAULT_MARGIN, CellSettings, cell_key, cell_link

    s = CellSettings(channel=FadingSpec("tdl-a"))
    for seed in (0, 1):
        a, b = cell_link(cell_key("img", 10.0, 0.0, seed), s), cell_link(cell_key("img", 10.0, 0.3, seed), s)
        assert a.seeds == b.seeds and a.config == b.config
        assert a.seeds == cell_link(cell_key("img", 10.0, DEFAULT_MARGIN, seed), s).seeds
    assert cell_link(cell_key("img", 10.0, 0.3, 1), s).seeds != cell_link(cell_key("img", 10.0, 0.3, 0), s).seeds
    assert cell_link(cell_key("img", 10.0, 0.3), s).seeds != cell_link(cell_key("img2", 10.0, 0.3), s).seeds
    assert fading_seeds(("img", 0.3, 10.0, 0)) == fading_seeds(("img", DEFAULT_MARGIN, 10.0))  # the old seed 0
    plain = CellSettings()
    assert cell_link(cell_key("img", 10.0, 0.0, 1), plain) == cell_link(cell_key("img", 10.0, 0.3, 1), plain)


def test_each_margins_cell_hands_the_same_fade_seeds_to_the_faded_link(monkeypatch):
    """Through _snr_cell's own link: what over_link gets for two margins' cells is the same CellLink."""
    from sdr_semcom.channels.spec import FadingSpec
    from sdr_semcom.eval import cells

    got = []
    monkeypatch.setattr(cells, "over_link", lambda msgs, link, roles=("auth", "eve"): got.append(link) or 1 / 0)

    class _Models:
        settings = cells.CellSettings(channel=FadingSpec("tdl-a"))
        codec = type("Codec", (), {"id": "ours"})

    class _P:
        def __init__(self, margin):
            self.margin = margin

        def send(self, codec, seed):
            return []

    for m in (0.0, 0.3):
        try:
            cells._snr_cell(cells.cell_key("img", 10.0, m, 1), _P(m), None, _Models(), None)
        except ZeroDivisionError:
            pass
    assert len(got) == 2 and got[0] == got[1] and got[0].seeds == fading_seeds(("img", 0.15, 10.0, 1))
