"""What every benchmark does at the end: a JSON list of flat rows and a PNG plot."""

from __future__ import annotations

import json
from pathlib import Path


def save(rows: list[dict], out: Path, name: str, plot) -> None:
    """Write ``out/name.json`` and ``out/name.png`` (drawn by ``plot(rows, path)``)."""
    (out / f"{name}.json").write_text(json.dumps(rows, indent=1))
    plot(rows, out / f"{name}.png")
    print(f"wrote {out / (name + '.json')} and {out / (name + '.png')}")
