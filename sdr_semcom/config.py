"""Link configuration shared by both ends of a link (TOML file or defaults).

:meth:`LinkConfig.load` checks every key's type and range before anything runs and names the
file, table and key of what is wrong (:class:`ConfigError`); :meth:`LinkConfig.with_overrides`
applies command-line flags, only those given.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .channels.spec import MODELS, FadingSpec
from .phy.channel import ENGINES, ChannelSpec, impaired
from .phy.framing import CRC_LEN, DEFAULT_MTU, HEADER_LEN
from .phy.mapping import Modulation
from .phy.ofdm import MAX_FRAME_BYTES

#: Largest feature packet the codec sends (1.5 x codec v2's 512-byte mean packet; a feature packet
#: travels as one fragment, so the mtu must hold it); tests/unit/test_config.py checks it against the manifest.
CODEC_MAX_PACKET = 768
#: Largest fragment one radio burst carries (the OFDM length field, less the frame's header and CRC).
MAX_MTU = MAX_FRAME_BYTES - HEADER_LEN - CRC_LEN
CHANNEL_TABLES = ("auth", "eve")


#: the ``demo`` command's link when no --config is given (a file's keys replace these, flags replace both)
DEMO_SNR_DB = 15.0
DEMO_EVE_SNR_DB = 5.0


class ConfigError(ValueError):
    """A link configuration that cannot be used; the message names the file, table and key."""


@dataclass(frozen=True)
class LinkConfig:
    """What transmitter, channel and receivers must agree on.

    Parameters
    ----------
    modulation : str
        ``bpsk``, ``qpsk`` or ``16qam`` (the receiver reads it from each burst's SIG field).
    mtu : int
        Largest fragment per radio burst, bytes.
    gap : int
        Zero samples between bursts.
    sample_rate : float
        Samples per second on the air (used for air-time and goodput figures, and by UHD).
    auth, eve : ChannelSpec
        Channel to the authorized receiver and to the eavesdropper (loopback only).
    stated : frozenset of str
        Which settings a file or a flag gave (``"mtu"``, ``"auth.snr_db"``, ...), as opposed to
        defaults: a process reports a configured value only when it was stated.
    """

    modulation: str = "qpsk"
    mtu: int = DEFAULT_MTU
    gap: int = 400
    sample_rate: float = 1e6
    auth: ChannelSpec = field(default_factory=lambda: impaired(20.0, seed=1))
    eve: ChannelSpec = field(default_factory=lambda: impaired(8.0, seed=2))
    stated: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        Modulation.parse(self.modulation)
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be > 0, got {self.sample_rate}")
        if self.gap < 0:
            raise ValueError(f"gap must be >= 0, got {self.gap}")

    @property
    def mod(self) -> Modulation:
        return Modulation.parse(self.modulation)

    def states(self, key: str) -> bool:
        """Whether ``key`` (``"mtu"``, ``"eve.snr_db"``) was given by a file or a flag."""
        return key in self.stated

    def to_json(self) -> dict:
        """The settings as a JSON-ready dict (for reports)."""
        d = asdict(self)
        d.pop("stated")
        return d

    def with_overrides(self, *, snr_db: float | None = None, eve_snr_db: float | None = None,
                       modulation: str | None = None, engine: str | None = None) -> "LinkConfig":
        """This configuration with the given command-line values; ``None`` keeps the current one.

        Parameters
        ----------
        snr_db, eve_snr_db : float or None
            In-band SNR of the authorized / eavesdropper channel, dB.
        modulation : str or None
        engine : str or None
            Channel emulator of both channels (``semcom``, ``gnuradio`` or ``sionna``: its fading model
            replaces the multipath ``taps``; CFO, clock error and front end stay).

        Raises
        ------
        ConfigError
            A value the channel refuses (``gnuradio`` on a channel with front-end impairments).
        """
        cfg, stated = self, set(self.stated)
        if modulation is not None:
            cfg = replace(cfg, modulation=modulation)
            stated.add("modulation")
        for role, snr in (("auth", snr_db), ("eve", eve_snr_db)):
            changes = {}
            if snr is not None:
                changes["snr_db"] = float(snr)
            if engine is not None:
                changes["engine"] = engine
                current = getattr(cfg, role).fading
                changes["fading"] = (current or FadingSpec()) if engine == "sionna" else None
                if engine == "sionna":  # the fading model is the multipath (the CFO, clock and front end stay)
                    changes["taps"] = (1.0,)
            if changes:
                try:
                    cfg = replace(cfg, **{role: replace(getattr(cfg, role), **changes)})
                except ValueError as exc:  # e.g. engine gnuradio on a channel with front-end impairments
                    flags = ", ".join(f"{k}={v!r}" for k, v in changes.items() if k != "fading")
                    raise ConfigError(f"command line ({flags}) on [{role}]: {exc}") from exc
                stated |= {f"{role}.{k}" for k in changes if k != "fading"}
        return replace(cfg, stated=frozenset(stated))

    def with_fading(self, **flags) -> "LinkConfig":
        """This configuration with command-line fading values (``model``, ``delay_spread_ns``,
        ``speed_mps``, ``doppler_hz``, ``carrier_frequency_hz``; None: not given) on both channels,
        which must have engine ``sionna``.

        Raises
        ------
        ConfigError
            A value out of range, or a channel whose engine is not ``sionna``.
        """
        given = {k: _FADING_KEYS[k](f"command line: --{k}", v) for k, v in flags.items() if v is not None}
        if not given:
            return self
        cfg, stated = self, set(self.stated)
        for role in CHANNEL_TABLES:
            spec = getattr(cfg, role)
            if spec.engine != "sionna":
                raise ConfigError(f"command line: fading options ({', '.join(given)}) need --engine sionna "
                                  f"(the [{role}] channel's engine is {spec.engine!r})")
            cfg = replace(cfg, **{role: replace(spec, fading=fading_spec(f"command line on [{role}]", spec.fading,
                                                                         given))})
            stated |= {f"{role}.{k}" for k in given}
        return replace(cfg, stated=frozenset(stated))

    @classmethod
    def load(cls, path: str | Path | None, base: "LinkConfig | None" = None) -> "LinkConfig":
        """Read a TOML file (top-level keys plus ``[auth]`` / ``[eve]`` tables); None gives ``base``.

        Keys the file leaves out keep ``base``'s values (default: :class:`LinkConfig`'s).

        Raises
        ------
        ConfigError
            Unreadable file, unknown key, or a value of the wrong type or out of range.
        """
        base = base if base is not None else cls()
        if path is None:
            return base
        try:
            data = tomllib.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read link config: {exc}") from exc
        return from_dict(data, str(path), base)


# ----------------------------------------------------------------------------------- validation
def _number(where: str, v, finite: bool = True) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(f"{where}: must be a number, got {v!r}")
    if finite and not math.isfinite(v):
        raise ConfigError(f"{where}: must be a finite number, got {v!r}")
    return float(v)


def _integer(where: str, v, lo: int, hi: int, why: str = "") -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"{where}: must be an integer, got {v!r}")
    if not lo <= v <= hi:
        raise ConfigError(f"{where}: must be {lo}..{hi}{why}, got {v}")
    return v


def _choice(where: str, v, choices: tuple[str, ...]) -> str:
    if not isinstance(v, str) or v.strip().lower() not in choices:
        raise ConfigError(f"{where}: must be one of {', '.join(choices)}, got {v!r}")
    return v.strip().lower()


def _taps(where: str, v) -> tuple[complex, ...]:
    if not isinstance(v, list) or not v:
        raise ConfigError(f"{where}: must be a non-empty list of numbers or complex strings ('0.2+0.1j'), got {v!r}")
    out = []
    for i, t in enumerate(v):
        try:
            if isinstance(t, bool) or not isinstance(t, (int, float, str)):
                raise ValueError
            c = complex(t.replace(" ", "") if isinstance(t, str) else t)
        except ValueError:
            raise ConfigError(f"{where}[{i}]: not a number or complex string ('0.2+0.1j'): {t!r}") from None
        if not (math.isfinite(c.real) and math.isfinite(c.imag)):
            raise ConfigError(f"{where}[{i}]: must be finite, got {t!r}")
        out.append(c)
    return tuple(out)


_CHANNEL_KEYS = {
    "snr_db": _number, "cfo_subcarriers": _number, "clock_ppm": _number, "taps": _taps,
    "seed": lambda w, v: _integer(w, v, 1, 2**31 - 1),
    "engine": lambda w, v: _choice(w, v, ENGINES),
    # the receiver's front end (engine semcom only; ChannelSpec checks the ranges): a key left out is no impairment
    "dc_offset_dbc": _number, "tone_dbc": _number, "tone_subcarriers": _number, "iq_gain_db": _number,
    "iq_phase_deg": _number,
}
#: engine ``sionna``'s fading model (sdr_semcom.channels.spec.FadingSpec): a key given without
#: ``engine = "sionna"`` is refused; ``doppler_hz`` is another way to give ``speed_mps``
_FADING_KEYS = {
    "model": lambda w, v: _choice(w, v, tuple(MODELS)),
    "delay_spread_ns": lambda w, v: _range(w, v, 0.0, 1e5),
    "speed_mps": lambda w, v: _range(w, v, 0.0, 1e3),
    "doppler_hz": lambda w, v: _range(w, v, 0.0, 1e6),
    "carrier_frequency_hz": lambda w, v: _range(w, v, 1e6, 1e12),
}
_TOP_KEYS = {
    "modulation": lambda w, v: _modulation(w, v),
    "mtu": lambda w, v: _integer(w, v, CODEC_MAX_PACKET, MAX_MTU,
                                 f" ({CODEC_MAX_PACKET}: the codec's largest feature packet, {MAX_MTU}: a burst's limit)"),
    "gap": lambda w, v: _integer(w, v, 0, 10**7),
    "sample_rate": lambda w, v: _positive(w, v),
}


def _modulation(where: str, v) -> str:
    if not isinstance(v, str):
        raise ConfigError(f"{where}: must be a string (bpsk, qpsk, 16qam), got {v!r}")
    try:
        Modulation.parse(v)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return v


def _range(where: str, v, lo: float, hi: float) -> float:
    x = _number(where, v)
    if not lo <= x <= hi:
        raise ConfigError(f"{where}: must be within {lo:g}..{hi:g}, got {v!r}")
    return x


def fading_spec(where: str, base: FadingSpec | None, given: dict) -> FadingSpec:
    """``base`` (None: the defaults) with the checked fading keys ``given`` (:data:`_FADING_KEYS`' names).

    Raises
    ------
    ConfigError
        Both ``speed_mps`` and ``doppler_hz``, or a value :class:`FadingSpec` refuses; names ``where``.
    """
    given = dict(given)
    if "speed_mps" in given and "doppler_hz" in given:
        raise ConfigError(f"{where}: give speed_mps or doppler_hz, not both")
    spec = base if base is not None else FadingSpec()
    doppler = given.pop("doppler_hz", None)
    try:
        spec = replace(spec, **given)
        if doppler is not None:
            spec = replace(spec, speed_mps=FadingSpec.speed_for_doppler(doppler, spec.carrier_frequency_hz))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    return spec


def _positive(where: str, v) -> float:
    x = _number(where, v)
    if x <= 0:
        raise ConfigError(f"{where}: must be > 0, got {v!r}")
    return x


def _unknown(where: str, data: dict, known) -> None:
    unknown = set(data) - set(known)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)} (known: {sorted(known)})")


def from_dict(data: dict, source: str = "config", base: LinkConfig | None = None) -> LinkConfig:
    """A parsed TOML document -> :class:`LinkConfig`, every key checked (see :meth:`LinkConfig.load`).

    ``source`` names the file in messages; keys the document leaves out keep ``base``'s values.
    """
    _unknown(source, data, [*_TOP_KEYS, *CHANNEL_TABLES])
    kw, stated = {}, set()
    for key, check in _TOP_KEYS.items():
        if key in data:
            kw[key] = check(f"{source}: {key}", data[key])
            stated.add(key)
    base = base if base is not None else LinkConfig()
    for table in CHANNEL_TABLES:
        if table not in data:
            continue
        where = f"{source}: [{table}]"
        if not isinstance(data[table], dict):
            raise ConfigError(f"{where}: must be a table ([{table}] with keys {', '.join(_CHANNEL_KEYS)}), "
                              f"got {data[table]!r}")
        _unknown(where, data[table], [*_CHANNEL_KEYS, *_FADING_KEYS])
        given = {k: _CHANNEL_KEYS[k](f"{where} {k}", v) for k, v in data[table].items() if k in _CHANNEL_KEYS}
        fading = {k: _FADING_KEYS[k](f"{where} {k}", v) for k, v in data[table].items() if k in _FADING_KEYS}
        engine = given.get("engine", getattr(base, table).engine)
        if fading and engine != "sionna":
            raise ConfigError(f"{where}: fading keys ({', '.join(fading)}) need engine = \"sionna\" "
                              f"(the engine is {engine!r})")
        if engine == "sionna":
            given["fading"] = fading_spec(where, getattr(base, table).fading, fading)
            if "taps" in given and len(given["taps"]) > 1:
                raise ConfigError(f"{where} taps: engine \"sionna\"'s fading model is the multipath; leave out taps")
            given.setdefault("taps", (1.0,))
        elif "engine" in given:
            given["fading"] = None
        try:
            kw[table] = replace(getattr(base, table), **given)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        stated |= {f"{table}.{k}" for k in [*given, *fading] if k != "fading"}
    try:
        return replace(base, **kw, stated=base.stated | stated)
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from exc



#: the ``demo`` command's base configuration (see :meth:`LinkConfig.load`)
DEMO_LINK = LinkConfig(auth=impaired(DEMO_SNR_DB, seed=1), eve=impaired(DEMO_EVE_SNR_DB, seed=2))
