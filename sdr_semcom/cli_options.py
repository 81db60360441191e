"""Options and argument handling shared by the ``sdr-semcom`` commands (each defined once)."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

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
            from .capture.sigmf_io import RecordingError
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
            if isinstance(exc, (ImageError, DatabaseError, ModelMissing, LinkError, WeightsError, GeneratorError)):
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
