"""Start the Sionna channel process (:mod:`.sionna_proc`) from the main venv: find an interpreter with
Sionna, turn a :class:`~sdr_semcom.config.LinkConfig` into its arguments, exec it."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The separate venv for Sionna (numpy 2) on Debian 12, where GNU Radio pins numpy 1.24.
SIONNA_VENV = ROOT / ".venv-sionna"
#: Overrides the interpreter (a python with sionna-no-rt, torch and pyzmq).
ENV_PYTHON = "SDR_SEMCOM_SIONNA_PYTHON"
HOW_TO = "create it with 'make setup-sionna' (or 'scripts/setup.sh --sionna')"


class SionnaMissing(RuntimeError):
    """No interpreter with Sionna: the message says how to make one."""


def sionna_python() -> str:
    """The interpreter to run Sionna with: ``$SDR_SEMCOM_SIONNA_PYTHON``, this one if it imports
    Sionna (Debian 13: numpy 2 everywhere), else ``.venv-sionna/bin/python``.

    Raises
    ------
    SionnaMissing
        None of them exists.
    """
    if os.environ.get(ENV_PYTHON):
        return os.environ[ENV_PYTHON]
    if importlib.util.find_spec("sionna") is not None:
        return sys.executable
    py = SIONNA_VENV / "bin" / "python"
    if py.exists():
        return str(py)
    raise SionnaMissing(f"engine sionna: no Sionna here and no {SIONNA_VENV}: {HOW_TO}")


def channel_argv(cfg, connect: str, auth_bind: str, eve_bind: str | None, timeouts) -> list[str]:
    """:mod:`.sionna_proc`'s arguments for ``cfg``'s ``auth`` and ``eve`` channels (engine ``sionna``)."""
    from .spec import FadingSpec

    argv = ["--connect", connect, "--auth-bind", auth_bind, "--sample-rate", repr(cfg.sample_rate),
            "--connect-timeout", repr(timeouts.connect_s), "--idle-timeout", repr(timeouts.idle_s)]
    roles = [("", cfg.auth)] + ([("eve-", cfg.eve)] if eve_bind else [])
    for prefix, spec in roles:
        f = spec.fading or FadingSpec()
        argv += [f"--{prefix}model", f.model, f"--{prefix}delay-spread", repr(f.delay_spread_ns),
                 f"--{prefix}speed", repr(f.speed_mps), f"--{prefix}carrier-frequency", repr(f.carrier_frequency_hz),
                 f"--{prefix}snr", repr(spec.snr_db), f"--{prefix}seed", str(spec.seed)]
    if eve_bind:
        argv += ["--eve-bind", eve_bind]
    else:
        argv.append("--no-eve")
    return argv


def exec_channel(argv: list[str]) -> None:
    """Replace this process by the Sionna channel process (its exit status becomes ours).

    Raises
    ------
    SionnaMissing
        No interpreter with Sionna.
    """
    py = sionna_python()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(py, [py, "-m", "sdr_semcom.channels.sionna_proc", *argv], env)
