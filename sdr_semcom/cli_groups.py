"""``sdr-semcom db``, ``train`` and ``bench``: the command groups that are not a link role.

Thin, as :mod:`sdr_semcom.cli`: each command parses options and calls one function
(:mod:`sdr_semcom.commands`, a benchmark's ``main``); :mod:`sdr_semcom.cli` adds the groups to ``main``.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from .cli_options import FADING_MODELS, db_opt, engine_opt, errors, out_opt
from .distributed import DistributedError


@click.group()
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
@click.argument("images", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--id", "entry_id", required=True, help="Entry id for this person ([a-z0-9_-]).")
@click.option("--policy", type=click.Choice(["remove", "keep"]), default="remove", show_default=True)
@click.option("--reference", "references", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A photo the authorized receiver restores this person's removed face from (repeatable): "
                   "copied into PATH's folder, <stem>.references/ (owner only: biometric data).")
@errors
def db_enroll(path, images, entry_id, policy, references) -> None:
    """Enrol a person from photos (largest face of each, SFace features); --reference photos are also kept
    for the authorized receiver's reference-guided restore."""
    from .commands import enroll

    if not images and not references:
        raise click.UsageError("give photos of the person (IMAGES) or --reference PHOTO")
    click.echo(enroll(path, images, entry_id, policy, references))


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


@click.group()
def train() -> None:
    """Train the project's own models."""


nproc_opt = click.option(
    "--nproc", type=click.IntRange(1), default=None,
    help="Data-parallel training (torch DDP) in N processes on this machine: gloo on CPU, NCCL with one GPU each; "
         "--batch is the global batch (a multiple of N). Under torchrun: ignored, torchrun's ranks are used.")


def _echo_training(run) -> None:
    """Run a training command's function and print its lines; bad settings are usage errors, a failed
    process group one line."""
    try:
        lines = run()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    except DistributedError as exc:
        raise click.ClickException(str(exc)) from exc
    for line in lines:
        click.echo(line)


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
@nproc_opt
@click.option("--from-weights", default=None,
              help="dct: no training; NAME's entropy model and network with --artefact-quant (codec v3 from codec_v2).")
@click.option("--artefact-quant", type=click.IntRange(0), default=0, show_default=True,
              help="dct: quantiser scale (thousandths) from which the network also restores received MCUs.")
@click.option("--coder", type=click.Choice(["2", "4"]), default=None,
              help="dct with --from-weights: another entropy coder, its probabilities learned from the training "
                   "images (4: neighbour-aware contexts, codec v4 from codec_v3). Default: the source's.")
@click.option("--rd-choice", is_flag=True, default=False,
              help="dct with --from-weights: the encoder picks a quantiser table set and dead zone per image "
                   "(the best of 4 by squared error; codec v4).")
def train_codec(kind, name, out, data_dir, bpp, channels, bits, downsample, width, steps, minutes, batch, crop,
                seed, nproc, from_weights, artefact_quant, coder, rd_choice) -> None:
    """Train a codec (GPU if there is one) and write weights + manifest."""
    from .commands import train_codec as run

    _echo_training(lambda: run(kind, name, out, data_dir, _command_line(), bpp=bpp, channels=channels, bits=bits,
                               downsample=int(downsample), width=width, steps=steps, minutes=minutes, batch=batch,
                               crop=crop, seed=seed, nproc=nproc, from_weights=from_weights,
                               artefact_quant=artefact_quant, coder=None if coder is None else int(coder),
                               rd_choice=rd_choice))


@train.command("inpainter")
@click.option("--name", default=None, help="Writes models/NAME.pt and models/NAME.json [inpainter_v2].")
@out_opt(None, " Default: models/.")
@click.option("--steps", type=click.IntRange(1), default=1800, show_default=True)
@click.option("--batch", type=click.IntRange(1), default=8, show_default=True)
@click.option("--minutes", type=float, default=28.0, show_default=True, help="Stop earlier when this is reached.")
@click.option("--threads", type=click.IntRange(1), default=1, show_default=True, help="torch CPU threads.")
@click.option("--width", type=click.IntRange(4, 256), default=16, show_default=True, help="U-Net base width.")
@click.option("--size", type=click.IntRange(16, 512), default=64, show_default=True, help="Window, pixels.")
@click.option("--seed", type=int, default=1, show_default=True)
@nproc_opt
def train_inpainter(name, out, steps, batch, minutes, threads, width, size, seed, nproc) -> None:
    """Train the conditional inpainter (the receivers' 'network' generator) and write weights + manifest."""
    from .commands import train_inpainter as run

    _echo_training(lambda: run(name, out, _command_line(), steps=steps, batch=batch, minutes=minutes, seed=seed,
                               threads=threads, width=width, size=size, nproc=nproc))


def _command_line() -> str:
    """The command as typed, for the manifest."""
    return "sdr-semcom " + " ".join(shlex.quote(a) for a in sys.argv[1:])


@click.group()
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
@click.option("--part", type=click.Choice(["faces", "cases", "all"]), default="all", show_default=True,
              help="faces: the shipped photos with face_truth.json; cases: the labelled face / text / plate cases.")
@click.option("--split", type=click.Choice(["report", "tune"]), default="report", show_default=True,
              help="Which split of the labelled cases (tune: the one the guard's settings were chosen on).")
def bench_guard(out, part, split) -> None:
    """Guard recall per category (face, text, plate) and condition, false positives, time per image."""
    _run_bench("guard_bench", ["--out", str(out), "--part", part, "--split", split])


@bench.command("codec")
@out_opt("out/bench")
@click.option("--quick", is_flag=True)
@click.option("--images", type=click.Path(exists=True, file_okay=False), default=None,
              help="A folder of images instead of the held-out photos.")
@click.option("--sweeps", default="rate,loss,snr,timing", show_default=True, help="Which sweeps to run.")
@click.option("--channel", type=click.Choice(FADING_MODELS), help="The SNR sweep through Sionna's fading "
                                                                  "(.venv-sionna) instead of the standard impairments.")
@click.option("--speed", type=float, help="With --channel: receiver speed, km/h (default 3).")
def bench_codec(out, quick, images, sweeps, channel, speed) -> None:
    """Codecs vs WebP, WebP tiles, restart-marker JPEG and JPEG at the same bytes and packets:
    rate sweep, packet loss, SNR over the PHY (or through Sionna's fading: --channel)."""
    _run_bench("codec_bench", ["--out", str(out), "--sweeps", sweeps] + (["--quick"] if quick else [])
               + (["--images", images] if images else [])
               + (["--channel", channel] if channel else []) + (["--speed", str(speed)] if speed is not None else []))


@bench.command("phy")
@out_opt("out/bench")
@click.option("--quick", is_flag=True, help="Fewer SNR points and packets (smoke run).")
@engine_opt
@click.option("--channel", help="Instead: through Sionna's fading (.venv-sionna), comma-separated from awgn, rayleigh, "
                                "tdl-a .. tdl-e, cdl-a .. cdl-e (e.g. awgn,tdl-a,cdl-c): out/bench/fading_bench.*")
@click.option("--speeds", help="With --channel: receiver speeds, km/h, comma-separated (default 3,120).")
def bench_phy(out, quick, engine, channel, speeds) -> None:
    """PER and goodput vs SNR: this PHY and GNU Radio's stock OFDM, same impairments (or fading channels)."""
    _run_bench("phy_bench", ["--out", str(out)] + (["--quick"] if quick else [])
               + (["--channel-engine", engine] if engine else []) + (["--channel", channel] if channel else [])
               + (["--speeds", speeds] if speeds else []))


@bench.command("rx-rate")
@out_opt("out/bench")
@click.option("--quick", is_flag=True, help="60 packets, 3 turns (smoke run).")
@click.option("--packets", type=click.IntRange(8), help="Frames in the recording [400; quick 60].")
@click.option("--turns", type=click.IntRange(1), help="Rounds of every graph [5; quick 3].")
def bench_rx_rate(out, quick, packets, turns) -> None:
    """Highest sample rate each receive graph (1 and 2 receivers, decode) and the transmitter sustain."""
    _run_bench("rx_rate_bench", ["--out", str(out)] + (["--quick"] if quick else [])
               + (["--packets", str(packets)] if packets else []) + (["--turns", str(turns)] if turns else []))


@bench.command("calibration")
@out_opt("out/bench")
@click.option("--quick", is_flag=True, help="3 seeds instead of 10.")
def bench_calibration(out, quick) -> None:
    """Calibration accuracy on the loopback: each estimate's error over seeds against its tolerance."""
    _run_bench("calibration_bench", ["--out", str(out)] + (["--quick"] if quick else []))


@bench.command("inpaint")
@out_opt("out/bench")
@click.option("--quick", is_flag=True, help="3 face holes + 2 others, a shorter face-prior fit (smoke run).")
@click.option("--generator-dir", type=click.Path(exists=True, file_okay=False), help="A saved "
              "StableDiffusionInpaintPipeline to compare too.")
@click.option("--text-dir", type=click.Path(exists=True, file_okay=False),
              help="Held-out scene-text images (scenetext0*.jpg).")
def bench_inpaint(out, quick, generator_dir, text_dir) -> None:
    """Fill of removed regions per backend and category: PSNR / SSIM / ST-LPIPS in the holes, CPU time."""
    _run_bench("inpaint_bench", ["--out", str(out)] + (["--quick"] if quick else [])
               + (["--generator-dir", generator_dir] if generator_dir else [])
               + (["--text-dir", text_dir] if text_dir else []))
