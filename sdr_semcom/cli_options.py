"""Options and argument handling shared by the ``sdr-semcom`` commands (each defined once)."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from .channels.spec import MODELS
from .config import LinkConfig


class UnusableInput(click.ClickException):
    """An input file that cannot be used (a recording's metadata, datatype, sample rate): exit 2."""

    exit_code = 2


def errors(f):
    """Known errors -> click messages: a bad link config or an unusable recording exits 2, a signal 130 / 143 (SIGINT /
    SIGTERM, after the command kept what it had), the others 1."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        from .config import ConfigError

        try:
            return f(*args, **kwargs)
        except ConfigError as exc:
            raise click.UsageError(str(exc)) from exc
        except click.ClickException:
            raise
        except Exception as exc:  # imported only now: they pull in torch, GNU Radio, OpenCV
            from .radio.options import RecordingError
            from .calibration.estimate import CalibrationError
            from .images import ImageError
            from .generative.receiver import GeneratorError
            from .link.control import LinkError
            from .link.interrupt import Interrupted
            from .pipeline import KeyCheckError
            from .privacy import DatabaseError
            from .privacy.detectors import ModelMissing
            from .semantic.api import WeightsError

            if isinstance(exc, RecordingError):
                raise UnusableInput(str(exc)) from exc
            if isinstance(exc, KeyCheckError):
                raise click.ClickException(f"--strict: {exc}") from exc
            if isinstance(exc, Interrupted):
                click.echo(str(exc))
                sys.exit(exc.exit_status)
            if isinstance(exc, (ImageError, DatabaseError, ModelMissing, LinkError, WeightsError, GeneratorError,
                                CalibrationError)):
                raise click.ClickException(str(exc)) from exc
            raise

    return wrapper


def link_config(path: str | None, base: LinkConfig | None = None, **flags) -> LinkConfig:
    """``--config`` (or ``base``) with the flags given on the command line (None: not given)."""
    return LinkConfig.load(path, base).with_overrides(**flags)


# ------------------------------------------------------------------------------- shared options
config_opt = click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
                          help="Link configuration (TOML) shared by both ends.")
mod_opt = click.option("--modulation", type=click.Choice(["bpsk", "qpsk", "16qam"], case_sensitive=False),
                       help="Data modulation (overrides the config).")
engine_opt = click.option("--channel-engine", "engine", type=click.Choice(["semcom", "gnuradio"]),
                          help="Channel emulator (overrides the config): sdr-semcom's (default; runs repeat "
                               "sample for sample) or GNU Radio's channel_model.")
#: ``sdr-semcom channel --engine``: the in-process engines and Sionna's (a process of its own)
CHANNEL_ENGINES = ("semcom", "gnuradio", "sionna")
FADING_MODELS = tuple(MODELS)


def fading_opts(f):
    """``--model --delay-spread --speed --doppler --carrier-frequency`` -> one ``fading`` dict (for
    :meth:`~sdr_semcom.config.LinkConfig.with_fading`; None: not given). Engine sionna only."""

    @functools.wraps(f)
    def wrapper(*args, model, delay_spread, speed, doppler, carrier_frequency, **kwargs):
        if speed is not None and doppler is not None:
            raise click.UsageError("give --speed or --doppler, not both")
        fading = {"model": model, "delay_spread_ns": delay_spread, "speed_mps": speed, "doppler_hz": doppler,
                  "carrier_frequency_hz": carrier_frequency}
        return f(*args, fading=fading, **kwargs)

    for opt in reversed([
        click.option("--model", type=click.Choice(FADING_MODELS),
                     help="Fading model of both links (engine sionna; default tdl-a): 3GPP TR 38.901 TDL-A..E, "
                          "CDL-A..E (SISO: one vertical omni element each end, downlink, UT moving along x), or flat "
                          "Rayleigh with a Jakes spectrum."),
        click.option("--delay-spread", type=float, metavar="NS", help="RMS delay spread, ns (default 300)."),
        click.option("--speed", type=float, metavar="M_S", help="Receiver speed, m/s (default 0.83: 3 km/h)."),
        click.option("--doppler", type=float, metavar="HZ", help="Maximum Doppler shift, Hz (instead of --speed)."),
        click.option("--carrier-frequency", type=float, metavar="HZ", help="Carrier frequency, Hz (default 2.4e9)."),
    ]):
        wrapper = opt(wrapper)
    return wrapper


snr_opt = click.option("--snr", type=float, help="Authorized link SNR, dB (overrides the config's [auth] snr_db).")
eve_snr_opt = click.option("--eve-snr", type=float,
                           help="Eavesdropper link SNR, dB (overrides the config's [eve] snr_db).")
images_arg = click.argument("images", nargs=-1, type=click.Path(exists=True))
payload_opt = click.option("--payload", type=click.Choice(["semantic", "raw"]), default="semantic", show_default=True,
                           help="semantic: guard (with --db) and codec; raw: plain pixels. Both ends must agree.")

#: the receivers' generative stage (sdr_semcom.generative.receiver_inpainter): --generator, --generator-dir
GENERATORS = ("auto", "classical", "network", "face_prior", "diffusers")  # generative.factory.GENERATORS


def generator_opts(f):
    """``--generator`` and ``--generator-dir``: how the receivers fill the regions the guard removed."""
    f = click.option("--generator-dir", type=click.Path(path_type=Path),
                     help="A StableDiffusionInpaintPipeline saved with save_pretrained() (for diffusers; with "
                          "auto it goes first). Missing or incomplete: exit 1 naming the missing file.")(f)
    return click.option("--generator", type=click.Choice(GENERATORS), default="auto", show_default=True,
                        help="Fill of the removed regions. auto: the default policy (authorized faces: face prior "
                             "or the conditional network; the rest and the eavesdropper: Telea); classical: Telea "
                             "everywhere; network / face_prior / diffusers: that backend first.")(f)


def out_opt(default: str | None, note: str = ""):
    """``--out DIR`` (a Path); ``note`` completes the help (e.g. a computed default)."""
    return click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=default,
                        show_default=default is not None, help=f"Output folder.{note}")


def db_opt(required: bool = False, note: str = ""):
    """``--db PATH`` -> ``db_path``; ``note`` says what this command does with it."""
    return click.option("--db", "db_path", required=required, type=click.Path(exists=True, dir_okay=False),
                        help="Privacy database (YAML, from 'sdr-semcom db create'): what the guard removes and "
                             f"the link's secret.{note}")


def size_opt(default: int):
    """``--size``: one meaning and one range for every command that sends images."""
    return click.option("--size", type=click.IntRange(16, 1024), default=default, show_default=True,
                        help="Long side of the image sent, pixels (aspect ratio kept). The guard runs before, "
                             "on the image at its own size; the receiver restores that size.")


def timeouts_opt(idle: bool = True):
    """--connect-timeout (and --idle-timeout) -> one ``timeouts`` argument (a link.roles.Timeouts)."""

    def decorate(f):
        @functools.wraps(f)
        def wrapper(*args, connect_timeout, idle_timeout=None, **kwargs):
            from .link.roles import Timeouts

            given = {"connect_s": connect_timeout} if idle_timeout is None else \
                {"connect_s": connect_timeout, "idle_s": idle_timeout}
            return f(*args, timeouts=Timeouts(**given), **kwargs)

        # the defaults are link.roles.Timeouts' (not imported here: it would slow every command's start)
        wrapper = click.option("--connect-timeout", type=float, default=15.0, show_default=True,
                               help="Seconds to wait for the peer to show up.")(wrapper)
        if idle:
            wrapper = click.option("--idle-timeout", type=float, default=5.0, show_default=True,
                                   help="Seconds of silence, once samples flowed, that end the run.")(wrapper)
        return wrapper

    return decorate


def margin_opt(note: str = ""):
    """``--margin``: the guard grows each removed region by this fraction of its size (the default is
    :data:`sdr_semcom.privacy.masking.DEFAULT_MARGIN`)."""
    return click.option("--margin", type=click.FloatRange(0, 2), default=0.15, show_default=True,
                        help=f"Guard: grow each removed region by this fraction of its size on every side{note}; "
                             "faces go with their head region (the face box grown by masking.HEAD_GROWTH: hair, "
                             "ears), whatever the margin.")


calibration_opt = click.option(
    "--calibration", "calibration_path", type=click.Path(exists=True, dir_okay=False),
    help="Per-device calibration file (TOML, from 'sdr-semcom calibrate'): tx pre-corrects the CFO, rx removes "
         "the DC offset and IQ imbalance; with --radio uhd its recommended gain is set unless --gain / "
         "--norm-gain is given.")


def loopback_opts(f):
    """The calibration loopback's impairments (``--snr``, ``--cfo-hz``, ...) -> one ``link`` argument
    (a :class:`sdr_semcom.calibration.Loopback`)."""

    @functools.wraps(f)
    def wrapper(*args, snr, cfo_hz, ppm, multipath, dc_dbc, iq_gain_db, iq_phase_deg, pa_sat_db, level_dbfs, seed,
                **kwargs):
        from .calibration import Loopback

        link = Loopback(snr_db=snr, cfo_hz=cfo_hz, clock_ppm=ppm, multipath=multipath, dc_offset_dbc=dc_dbc,
                        iq_gain_db=iq_gain_db, iq_phase_deg=iq_phase_deg, pa_sat_db=pa_sat_db,
                        level_dbfs=level_dbfs, seed=seed)
        return f(*args, link=link, **kwargs)

    for opt in reversed([
        click.option("--snr", type=float, default=25.0, show_default=True,
                     help="Loopback: in-band SNR at the nominal transmit gain, dB."),
        click.option("--cfo-hz", type=float, default=0.0, show_default=True, help="Loopback: carrier offset, Hz."),
        click.option("--ppm", type=float, default=0.0, show_default=True,
                     help="Loopback: receiver sample-clock offset, ppm."),
        click.option("--multipath", is_flag=True, help="Loopback: the benchmark's 3-tap channel."),
        click.option("--dc-dbc", type=float, help="Loopback: receiver DC offset, dBc."),
        click.option("--iq-gain-db", type=float, default=0.0, show_default=True,
                     help="Loopback: IQ gain imbalance (Q relative to I), dB."),
        click.option("--iq-phase-deg", type=float, default=0.0, show_default=True,
                     help="Loopback: IQ phase imbalance, degrees."),
        click.option("--pa-sat-db", type=click.FloatRange(-40, 40),
                     help="Loopback: transmit amplifier (Rapp, p=2) saturation relative to the burst rms at the "
                          "nominal gain, dB (default: linear)."),
        click.option("--level-dbfs", type=click.FloatRange(-150, 20), default=-20.0, show_default=True,
                     help="Loopback: burst rms at the receiver's converter at the nominal gains, dBFS."),
        click.option("--seed", type=click.IntRange(1), default=1, show_default=True, help="Loopback: noise seed."),
    ]):
        wrapper = opt(wrapper)
    return wrapper


def radio_opts(direction: str):
    """The front end's options (``--radio zmq|uhd|file`` and UHD's usual ones) -> one ``radio`` argument,
    a :class:`~sdr_semcom.radio.RadioOptions` (checked: a bad combination is a usage error), and
    ``--rate`` applied to the link configuration by :func:`radio_config`.

    ``direction``: ``tx`` (adds ``--burst-mode``, ``--output``), ``rx`` (``--input``) or ``capture``
    (no ``--radio``: the command's own ``--source`` says which front end, ``uhd`` taking the UHD
    options; no recording options; ``source`` is passed on).
    """
    from .radio.options import BURST_MODES, DEFAULT_FREQ, RADIOS, REF_SOURCES

    uhd_only = ("args", "freq", "gain", "norm_gain", "antenna", "subdev", "channel", "clock_source", "time_source",
                "lo_offset", "burst_mode")

    def decorate(f):
        @functools.wraps(f)
        def wrapper(*args, rate, dev_args, freq, gain, norm_gain, antenna, subdev, channel, clock_source,
                    time_source, lo_offset, radio=None, burst_mode=None, output=None, inputs=(), **kwargs):
            from .radio import RadioError, RadioOptions, UhdSettings

            flag = "--radio"
            if direction == "capture":  # --source zmq|loopback|uhd: only uhd is a radio front end here
                flag, radio = "--source", kwargs["source"]
            given = dict(args=dev_args, freq=freq, gain=gain, norm_gain=norm_gain, antenna=antenna, subdev=subdev,
                         channel=channel or None, clock_source=clock_source, time_source=time_source,
                         lo_offset=lo_offset, burst_mode=burst_mode)
            stray = [k for k in uhd_only if given[k] is not None]
            if radio != "uhd" and stray:
                names = ", ".join("--" + ("args" if k == "args" else k.replace("_", "-")) for k in stray)
                raise click.UsageError(f"{names}: USRP settings, for {flag} uhd only (this is {flag} {radio})")
            paths = tuple(Path(p) for p in ((output,) if output else inputs))
            if radio != "file" and paths:
                raise click.UsageError(f"{'--output' if output else '--input'}: a recording, for --radio file only")
            if radio == "file" and not paths:
                raise click.UsageError("--radio file needs " + ("--output PATH (e.g. tx.sigmf-data)" if direction == "tx"
                                                                else "--input PATH (a recording, e.g. from 'sdr-semcom "
                                                                     "tx --radio file --output PATH')"))
            try:
                uhd = UhdSettings(**{("channels" if k == "channel" else k): (tuple(v) if k == "channel" else v)
                                     for k, v in given.items() if v is not None}) if radio == "uhd" else UhdSettings()
                opts = RadioOptions(kind=radio if radio in RADIOS else "zmq", paths=paths, uhd=uhd, rate=rate)
            except RadioError as exc:
                raise click.UsageError(str(exc)) from exc
            return f(*args, radio=opts, **kwargs)

        opts = [] if direction == "capture" else [
            click.option("--radio", type=click.Choice(RADIOS), default="zmq", show_default=True,
                         help="Front end: zmq (processes linked by ZeroMQ sockets), uhd (a USRP through gr-uhd), "
                              "file (a cf32_le recording; SigMF's .sigmf-data). See hw_setup.md.")]
        opts += [
            click.option("--rate", type=float, help="Sample rate, S/s (default: the link config's sample_rate, 1e6). "
                                                    "Both ends must agree; a recording's metadata must match it."),
            click.option("--args", "dev_args", help='uhd: UHD device args, e.g. "type=b200" or "serial=30AD2F1" '
                                                    "(default: the first USRP found)."),
            click.option("--freq", type=float, help=f"uhd: centre frequency, Hz [default: {DEFAULT_FREQ:g}]."),
            click.option("--gain", type=float, help="uhd: gain, dB (default: " + (
                "UHD's)." if direction == "capture" else "the --calibration file's, else UHD's).")),
            click.option("--norm-gain", type=float, help="uhd: gain as a fraction 0..1 of the device's range "
                                                         "(instead of --gain)."),
            click.option("--antenna", help="uhd: antenna port (TX/RX, RX2)."),
            click.option("--subdev", help='uhd: subdevice spec ("A:A A:B": both channels of a B210).'),
            click.option("--channel", type=click.IntRange(0, 31), multiple=True,
                         help="uhd: channel (repeat for several; rx --role both: --channel 0 --channel 1) [default: 0]."),
            click.option("--clock-source", type=click.Choice(REF_SOURCES),
                         help="uhd: 10 MHz reference (external: OctoClock / signal generator; gpsdo: on-board GPSDO)."),
            click.option("--time-source", type=click.Choice(REF_SOURCES), help="uhd: PPS source."),
            click.option("--lo-offset", type=float, help="uhd: tune the LO this far from --freq, Hz, and shift back "
                                                         "digitally (moves the LO leakage / DC spike off the signal)."),
        ]
        if direction == "tx":
            opts += [click.option("--burst-mode", type=click.Choice(BURST_MODES),
                                  help="uhd: tagged (tx_sob/tx_eob bursts; the radio sends nothing between them) or "
                                       "continuous (zeros between bursts) [default: tagged]."),
                     click.option("--output", type=click.Path(dir_okay=False),
                                  help="file: write the burst stream here (cf32_le; NAME.sigmf-data also gets "
                                       "NAME.sigmf-meta).")]
        elif direction == "rx":
            opts += [click.option("--input", "inputs", type=click.Path(dir_okay=False), multiple=True,
                                  help="file: the recording to receive (cf32_le); with --role both one per receiver "
                                       "(auth, then eve) or one for both.")]
        for opt in reversed(opts):
            wrapper = opt(wrapper)
        return wrapper

    return decorate


def radio_config(cfg: LinkConfig, radio) -> LinkConfig:
    """``cfg`` with ``--rate`` (when given) as its sample rate."""
    return with_rate(cfg, radio.rate)


def with_rate(cfg: LinkConfig, rate: float | None) -> LinkConfig:
    """``cfg`` with ``rate`` (S/s; None: unchanged) as its sample rate, stated."""
    if rate is None:
        return cfg
    from dataclasses import replace

    return replace(cfg, sample_rate=rate, stated=cfg.stated | {"sample_rate"})
