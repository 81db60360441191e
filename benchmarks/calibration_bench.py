"""Calibration accuracy on the loopback: each estimate's error against the impairment the channel emulator
was given, over seeds (median and range of the absolute error), against the tolerance the tests assert.

Each seed draws its own impairments (CFO within +-40 kHz at 1 MS/s, clock within +-20 ppm, a flat or
the 3-tap channel, IQ gain within +-1.5 dB and phase within +-10 degrees, DC offset -20 or -30 dBc)
and runs the calibration waveform (32 bursts, 92 ms at 1 MS/s) through the emulator at each SNR.
``python benchmarks/calibration_bench.py`` or ``sdr-semcom bench calibration``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from sdr_semcom.calibration import Loopback, estimate, loopback_capture

try:
    from benchmarks.common import save
except ImportError:  # run as a script from benchmarks/
    from common import save

#: estimate -> (tolerance asserted in tests/unit/test_calibration.py, unit)
TOLERANCES = {"cfo_hz": (50.0, "Hz"), "sample_clock_ppm": (2.0, "ppm"), "snr_db": (1.0, "dB"),
              "dc_offset_dbc": (1.0, "dB"), "iq_gain_db": (0.1, "dB"), "iq_phase_deg": (1.0, "deg"),
              "noise_floor_dbfs": (0.5, "dB")}


def run(seeds: int, snrs: list[float], n_bursts: int = 32) -> list[dict]:
    """One row per (SNR, seed): the impairments drawn and each estimate's error."""
    rows = []
    for snr in snrs:
        for seed in range(1, seeds + 1):
            rng = np.random.default_rng(seed)
            link = Loopback(snr_db=snr, cfo_hz=float(rng.uniform(-40e3, 40e3)), clock_ppm=float(rng.uniform(-20, 20)),
                            multipath=bool(seed % 2), dc_offset_dbc=float(rng.choice([-20.0, -30.0])),
                            iq_gain_db=float(rng.uniform(-1.5, 1.5)), iq_phase_deg=float(rng.uniform(-10, 10)),
                            seed=seed)
            t0 = time.perf_counter()
            cap = loopback_capture(link, n_bursts)
            r = estimate(cap.samples, cap.sample_rate)
            seconds = time.perf_counter() - t0
            truth = {"cfo_hz": link.cfo_hz, "sample_clock_ppm": link.clock_ppm, "snr_db": snr,
                     "dc_offset_dbc": link.dc_offset_dbc, "iq_gain_db": link.iq_gain_db,
                     "iq_phase_deg": link.iq_phase_deg,
                     # noise over the whole band, after the IQ imbalance (which scales it by (1 + g^2) / 2)
                     "noise_floor_dbfs": link.level_dbfs - snr + 10 * np.log10(64 / 52)
                     + 10 * np.log10((1 + 10 ** (link.iq_gain_db / 10)) / 2)}
            row = {"snr_db_set": snr, "seed": seed, "multipath": link.multipath, "seconds": seconds}
            for k, v in truth.items():
                row[f"{k}_true"] = v
                row[f"{k}_est"] = getattr(r, k).value
                row[f"{k}_spread"] = getattr(r, k).spread
                row[f"{k}_err"] = getattr(r, k).value - v
            rows.append(row)
    return rows


def table(rows: list[dict]) -> list[str]:
    """Markdown: per estimate and SNR, tolerance and |error| median (range) over seeds; how often the
    truth lay inside the estimate's stated 95 % confidence interval."""
    snrs = sorted({r["snr_db_set"] for r in rows})
    lines = ["| estimate | tolerance | " + " | ".join(f"{s:g} dB: median (range)" for s in snrs)
             + " | inside its 95 % CI |",
             "| --- | ---: | " + " | ".join("---:" for _ in snrs) + " | ---: |"]
    for k, (tol, unit) in TOLERANCES.items():
        cells = []
        for s in snrs:
            e = np.abs([r[f"{k}_err"] for r in rows if r["snr_db_set"] == s])
            cells.append(f"{np.median(e):.3g} ({e.min():.2g}-{e.max():.2g})")
        covered = np.mean([abs(r[f"{k}_err"]) <= r[f"{k}_spread"] for r in rows])
        lines.append(f"| {k} | {tol:g} {unit} | " + " | ".join(cells) + f" | {100 * covered:.0f} % |")
    return lines


def plot(rows: list[dict], path: Path) -> None:
    """|error| against SNR per estimate (each seed a dot), the tolerance as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(TOLERANCES), figsize=(3 * len(TOLERANCES), 3), constrained_layout=True)
    for ax, (k, (tol, unit)) in zip(axes, TOLERANCES.items()):
        ax.semilogy([r["snr_db_set"] for r in rows], [max(abs(r[f"{k}_err"]), 1e-6) for r in rows], ".", alpha=0.6)
        ax.axhline(tol, ls="--", color="k", lw=0.8)
        ax.set_title(k, fontsize=9)
        ax.set_xlabel("SNR (dB)")
        ax.set_ylabel(f"|error| ({unit})")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/bench")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="3 seeds")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = run(3 if args.quick else args.seeds, [10.0, 20.0, 30.0])
    for line in table(rows):
        print(line)
    worst = {k: max(abs(r[f"{k}_err"]) / tol for r in rows) for k, (tol, _) in TOLERANCES.items()}
    print(f"{len(rows)} runs; largest error / tolerance: " + ", ".join(f"{k} {v:.2f}" for k, v in worst.items()))
    save(rows, out, "calibration_bench", plot)
    return 0 if max(worst.values()) <= 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
