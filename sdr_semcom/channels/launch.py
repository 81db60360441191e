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


def _env() -> dict:
    from . import single_threaded_blas

    env = single_threaded_blas(dict(os.environ))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def sionna_python() -> str:
    """The interpreter to run Sionna with: ``$SDR_SEMCOM_SIONNA_PYTHON``, this one if it imports
    Sionna (Debian 13: numpy 2 everywhere), else ``.venv-sionna/bin/python``.

    Raises
    ------
    SionnaMissing
        None of them exists.
    """
    if os.environ.get(ENV_PYTHON):
        if not os.access(os.environ[ENV_PYTHON], os.X_OK):
            raise SionnaMissing(f"engine sionna: ${ENV_PYTHON} ({os.environ[ENV_PYTHON]}) is not an executable")
        return os.environ[ENV_PYTHON]
    if importlib.util.find_spec("sionna") is not None:
        return sys.executable
    py = SIONNA_VENV / "bin" / "python"
    if py.exists():
        return str(py)
    raise SionnaMissing(f"engine sionna: no Sionna here and no {SIONNA_VENV}: {HOW_TO}")


def channel_argv(cfg, connect: str, auth_bind: str, eve_bind: str | None, timeouts) -> list[str]:
    """:mod:`.sionna_proc`'s arguments for ``cfg``'s ``auth`` and ``eve`` channels (engine ``sionna``): fading,
    SNR, seed and each receiver's impairments (CFO, clock error, front end)."""
    from .spec import FadingSpec

    argv = ["--connect", connect, "--auth-bind", auth_bind, "--sample-rate", repr(cfg.sample_rate),
            "--connect-timeout", repr(timeouts.connect_s), "--idle-timeout", repr(timeouts.idle_s)]
    roles = [("", cfg.auth)] + ([("eve-", cfg.eve)] if eve_bind else [])
    for prefix, spec in roles:
        f = spec.fading or FadingSpec()
        argv += [f"--{prefix}model", f.model, f"--{prefix}delay-spread", repr(f.delay_spread_ns),
                 f"--{prefix}speed", repr(f.speed_mps), f"--{prefix}carrier-frequency", repr(f.carrier_frequency_hz),
                 f"--{prefix}snr", repr(spec.snr_db), f"--{prefix}seed", str(spec.seed), *spec.impairments.args(prefix)]
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
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(py, [py, "-m", "sdr_semcom.channels.sionna_proc", *argv], _env())


def fade_offline(signals: list, jobs: list[dict], workdir) -> tuple[list, list[dict]]:
    """Fade recorded waveforms through Sionna's channels in one run of :mod:`.fade_file`.

    Parameters
    ----------
    signals : list of numpy.ndarray
        complex64 waveforms, one per job.
    jobs : list of dict
        Per waveform: ``model``, ``delay_spread_ns``, ``speed_mps``, ``carrier_frequency_hz``,
        ``snr_db`` (None: no noise), ``seed``, ``sample_rate``, optionally ``impairments`` (a dict of
        :class:`~.impairments.Impairments` fields) (see :mod:`.fade_file`).
    workdir : path-like
        Where the files go (the caller's temporary folder).

    Output
    ------
    (faded waveforms, one info dict per job: ``k``, ``delay``, ``cpu_s``)

    Raises
    ------
    SionnaMissing
        No interpreter with Sionna.
    RuntimeError
        The process failed (its stderr in the message).
    """
    import json
    import subprocess

    import numpy as np

    workdir = Path(workdir)
    full = []
    for i, (x, job) in enumerate(zip(signals, jobs)):
        np.save(workdir / f"in{i}.npy", np.asarray(x, np.complex64))
        full.append({**job, "in": str(workdir / f"in{i}.npy"), "out": str(workdir / f"out{i}.npy")})
    (workdir / "jobs.json").write_text(json.dumps(full))
    r = subprocess.run([sionna_python(), "-m", "sdr_semcom.channels.fade_file", str(workdir / "jobs.json")],
                       env=_env(), capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"sdr_semcom.channels.fade_file failed ({r.returncode}): {r.stderr[-2000:]}")
    infos = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    return [np.load(j["out"]) for j in full], infos
