"""Link configuration shared by both ends of a link (TOML file or defaults)."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .phy.channel import ChannelSpec, impaired
from .phy.framing import DEFAULT_MTU
from .phy.mapping import Modulation


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
    """

    modulation: str = "qpsk"
    mtu: int = DEFAULT_MTU
    gap: int = 400
    sample_rate: float = 1e6
    auth: ChannelSpec = field(default_factory=lambda: impaired(20.0, seed=1))
    eve: ChannelSpec = field(default_factory=lambda: impaired(8.0, seed=2))

    def __post_init__(self) -> None:
        Modulation.parse(self.modulation)
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be > 0, got {self.sample_rate}")
        if self.gap < 0:
            raise ValueError(f"gap must be >= 0, got {self.gap}")

    @property
    def mod(self) -> Modulation:
        return Modulation.parse(self.modulation)

    @classmethod
    def load(cls, path: str | Path | None) -> "LinkConfig":
        """Read a TOML file (top-level keys plus ``[auth]`` / ``[eve]`` tables); None gives defaults."""
        if path is None:
            return cls()
        try:
            data = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"{path}: cannot read link config: {exc}") from exc
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{path}: unknown keys {sorted(unknown)} (known: {sorted(known)})")
        for key in ("auth", "eve"):
            if key in data:
                spec = dict(asdict(getattr(cls(), key)), **data[key])
                spec["taps"] = tuple(complex(t) for t in spec["taps"])
                data[key] = ChannelSpec(**spec)
        return cls(**data)
