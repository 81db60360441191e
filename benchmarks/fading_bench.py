"""PHY benchmark through 3GPP fading: PER and goodput vs SNR, this PHY and GNU Radio's stock OFDM, AWGN beside
Sionna's TDL-A / TDL-C (or any of TDL-A..E, CDL-A..E, Rayleigh) at walking and vehicle speeds.

Each system's waveform is made in this (GNU Radio) venv, faded by Sionna in its own venv
(:func:`sdr_semcom.channels.launch.fade_offline`: files, one subprocess for the whole sweep), and
demodulated back here. The channel is the fading (TR 38.901 TDL or CDL through Sionna's sum-of-sinusoids
generator, taps at 1 MS/s) and AWGN only: no CFO or clock error, unlike phy_bench's standard
impairments. SNR: the project's in-band convention (burst power over the noise in the 52 used
carriers), the burst power averaged over the fading (a faded burst's own SNR varies around it).

Fading is slow at walking speed (6.7 Hz Doppler at 2.4 GHz: a coherence time of ~60 ms, 30 bursts),
so the packets of each SNR point are split into ``groups`` sent through independent channel
realisations (seeds), the same realisations for every system and SNR (common random numbers).
This PHY: QPSK and 16-QAM, rate-1/2 LDPC, the receiver's PHY alone (:class:`BurstReceiver`, a packet
counts when its payload comes out intact). Stock: ``digital.ofdm_tx`` / ``ofdm_rx`` (QPSK, no FEC,
CRC32), scaled to unit burst power. Air goodput: payload bits delivered per second at 1 MS/s.

Usage: ``python benchmarks/fading_bench.py [--quick] [--out DIR] [--channel awgn,tdl-a,tdl-c]
[--speeds 3,120] [--packets N] [--groups G] [--size BYTES]`` (also ``sdr-semcom bench phy --channel ...``).
Writes ``fading_bench.json`` (flat rows) and ``fading_bench.png``; prints a table.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import save  # noqa: E402
from benchmarks.phy_bench import GAP, _payloads, _stock_rx, _stock_scale, _stock_tx, _run_until_quiet  # noqa: E402

SAMPLE_RATE = 1e6
CHANNELS = ("awgn", "rayleigh", "tdl-a", "tdl-b", "tdl-c", "tdl-d", "tdl-e", "cdl-a", "cdl-b", "cdl-c", "cdl-d",
            "cdl-e")
SYSTEMS = (("sdr-semcom", "qpsk"), ("sdr-semcom", "16qam"), ("gr-stock", "qpsk"))
#: silence between the groups' channel realisations in a capture (the receivers restart cleanly)
GROUP_GAP = 2000


def waveform(system: str, mod: str, payloads: list[bytes]) -> np.ndarray:
    """The transmitted samples (unit mean burst power), ``GAP`` zeros after each burst."""
    if system == "sdr-semcom":
        from sdr_semcom.phy.ofdm import modulate_many

        return modulate_many(payloads, mod, gap=GAP)
    from gnuradio import blocks, gr

    tb = gr.top_block()
    src, txb = _stock_tx(payloads)
    snk = blocks.vector_sink_c()
    tb.connect(src, txb, snk)
    tb.run()
    return (np.asarray(snk.data(), np.complex64) * _stock_scale(payloads)).astype(np.complex64)


def receive(system: str, capture: np.ndarray, payloads: list[bytes]) -> int:
    """Packets of ``payloads`` that come out of ``system``'s receiver intact."""
    want = set(payloads)
    if system == "sdr-semcom":
        from sdr_semcom.phy.ofdm import BurstReceiver

        rx = BurstReceiver()
        got = {b.payload for b in rx.feed(capture) + rx.flush() if b.payload is not None}
        return len(got & want)
    from gnuradio import blocks, gr

    tb = gr.top_block()
    src = blocks.vector_source_c(capture)
    got = _stock_rx(tb, src)
    _run_until_quiet(tb, lambda: src.nitems_written(0), capture.size, got, quiet=0.25)
    return len(set(got) & want)


def awgn(x: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """The same noise convention as the fading channel (sdr_semcom.channels.sionna_stream.BAND_FACTOR)."""
    rng = np.random.default_rng(seed)
    std = math.sqrt(64 / 52 / 10 ** (snr_db / 10) / 2)
    return (x + std * (rng.standard_normal(x.size) + 1j * rng.standard_normal(x.size))).astype(np.complex64)


def sweep(channels, speeds_kmh, snrs, npk: int, groups: int, size: int, workdir: Path,
          delay_spread_ns: float = 300.0, carrier_hz: float = 2.4e9) -> tuple[list[dict], dict]:
    """PER and air goodput of each system for each channel, speed and SNR; returns (rows, fading cost)."""
    from sdr_semcom.channels.launch import fade_offline

    per_group = max(1, npk // groups)
    payloads = _payloads(per_group * groups, size, seed=size)
    chunks = [payloads[g * per_group:(g + 1) * per_group] for g in range(groups)]
    waves = {key: [waveform(*key, c) for c in chunks] for key in SYSTEMS}
    airtime = {key: sum(w.size for w in ws) / SAMPLE_RATE for key, ws in waves.items()}
    cases = [(ch, sp) for ch in channels for sp in ([None] if ch == "awgn" else speeds_kmh)]
    signals, jobs, index = [], [], []
    for ch, sp in cases:
        if ch == "awgn":
            continue
        for snr in snrs:
            for key in SYSTEMS:
                for g, w in enumerate(waves[key]):
                    signals.append(np.concatenate([w, np.zeros(64, np.complex64)]))
                    jobs.append({"model": ch, "delay_spread_ns": delay_spread_ns, "speed_mps": sp / 3.6,
                                 "carrier_frequency_hz": carrier_hz, "snr_db": float(snr), "seed": 1000 + g,
                                 "sample_rate": SAMPLE_RATE})
                    index.append((ch, sp, snr, key, g))
    t0 = time.monotonic()
    faded, infos = fade_offline(signals, jobs, workdir) if jobs else ([], [])
    cost = {"fade_wall_s": time.monotonic() - t0, "fade_cpu_s": sum(i["cpu_s"] for i in infos),
            "fade_samples": int(sum(s.size for s in signals))}
    out = dict(zip(index, faded))
    rows = []
    gap = np.zeros(GROUP_GAP, np.complex64)
    for ch, sp in cases:
        for snr in snrs:
            for key in SYSTEMS:
                parts = []
                for g, w in enumerate(waves[key]):
                    y = awgn(np.concatenate([w, np.zeros(64, np.complex64)]), snr, 1000 + g) if ch == "awgn" \
                        else out[ch, sp, snr, key, g]
                    parts += [y, gap]
                got = receive(key[0], np.concatenate(parts), payloads)
                n = len(payloads)
                rows.append({"channel": ch, "speed_kmh": sp, "doppler_hz": None if sp is None else
                             sp / 3.6 * carrier_hz / 299792458.0, "delay_spread_ns": None if ch == "awgn" else
                             delay_spread_ns, "system": key[0], "modulation": key[1], "payload_bytes": size,
                             "snr_db": snr, "packets": n, "groups": groups, "received": got, "per": 1 - got / n,
                             "goodput_air_bps": 8 * got * size / airtime[key]})
                r = rows[-1]
                print(f"{ch:<7}{'' if sp is None else sp:>5}{key[0]:>12}{key[1]:>7}{snr:>5}{r['per']:>8.3f}"
                      f"{r['goodput_air_bps'] / 1e3:>10.1f}", flush=True)
    return rows, cost


def _label(r) -> str:
    sp = "" if r["speed_kmh"] is None else f" {r['speed_kmh']:g} km/h"
    return f"{r['channel']}{sp}"


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    link = [r for r in rows if "snr_db" in r]
    chans = list(dict.fromkeys(r["channel"] for r in link))
    fig, axes = plt.subplots(2, len(chans), figsize=(5.2 * len(chans), 7.5), squeeze=False)
    colours = {("sdr-semcom", "qpsk"): "C0", ("sdr-semcom", "16qam"): "C1", ("gr-stock", "qpsk"): "C3"}
    markers = {("sdr-semcom", "qpsk"): "o", ("sdr-semcom", "16qam"): "s", ("gr-stock", "qpsk"): "^"}
    speeds = sorted({r["speed_kmh"] for r in link if r["speed_kmh"] is not None})
    dashes = {None: "-", **{s: ls for s, ls in zip(speeds, ["-", "--", ":", "-."])}}
    for j, ch in enumerate(chans):
        sel = [r for r in link if r["channel"] == ch]
        for key in sorted({(r["system"], r["modulation"], r["speed_kmh"] or 0) for r in sel}):
            pts = sorted((r["snr_db"], r["per"], r["goodput_air_bps"]) for r in sel
                         if (r["system"], r["modulation"], r["speed_kmh"] or 0) == key)
            snr, per, gp = zip(*pts)
            label = ("stock" if key[0] == "gr-stock" else "this PHY") + f" {key[1]}" + (f", {key[2]:g} km/h"
                                                                                      if key[2] else "")
            fmt = dict(color=colours[key[:2]], marker=markers[key[:2]], ls=dashes[key[2] or None], ms=4, label=label)
            axes[0, j].semilogy(snr, np.maximum(per, 1e-3), **fmt)
            axes[1, j].plot(snr, np.array(gp) / 1e3, **fmt)
        axes[0, j].axhline(0.1, color="k", lw=0.6, ls="--")
        axes[0, j].set(title=ch.upper() if ch != "awgn" else "AWGN", xlabel="SNR (dB, in-band)",
                       ylabel="PER (floored at 1e-3)")
        axes[1, j].set(xlabel="SNR (dB, in-band)", ylabel="air goodput (kbit/s at 1 MS/s)")
        for a in axes[:, j]:
            a.grid(alpha=0.3)
            a.legend(fontsize=7)
    size = link[0]["payload_bytes"] if link else 0
    ds = next((r["delay_spread_ns"] for r in link if r["delay_spread_ns"]), None)
    fams = "/".join(sorted({c.split("-")[0].upper() for c in chans if c != "awgn"}))
    fig.suptitle(f"{size}-byte packets through Sionna's TR 38.901 {fams} (delay spread {ds:g} ns, 2.4 GHz"
                 + (", CDL: SISO omni, UT along x" if "CDL" in fams else "") + ") and AWGN; no CFO / clock error"
                 if ds else f"{size}-byte packets, AWGN")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(rows: list[dict], snrs_shown) -> list[str]:
    """Markdown: PER at a few SNRs and the SNR where PER first drops to 10 % or below, per case and system."""
    link = [r for r in rows if "snr_db" in r]
    head = "| channel | system | " + " | ".join(f"PER {s} dB" for s in snrs_shown) + \
        " | SNR for PER <= 0.1 | air kbit/s at " + f"{max(r['snr_db'] for r in link)} dB |"
    lines = [head, "| --- | --- | " + " | ".join("---:" for _ in snrs_shown) + " | ---: | ---: |"]
    for case in dict.fromkeys((r["channel"], r["speed_kmh"]) for r in link):
        for key in SYSTEMS:
            sel = sorted((r for r in link if (r["channel"], r["speed_kmh"]) == case
                          and (r["system"], r["modulation"]) == key), key=lambda r: r["snr_db"])
            if not sel:
                continue
            per = {r["snr_db"]: r["per"] for r in sel}
            ok = next((r["snr_db"] for r in sel if r["per"] <= 0.1 and all(q["per"] <= 0.1 for q in sel
                                                                             if q["snr_db"] >= r["snr_db"])), None)
            name = "this PHY " + key[1].upper() if key[0] == "sdr-semcom" else "stock QPSK"
            reach = f"> {sel[-1]['snr_db']}" if ok is None else str(ok)
            lines.append(f"| {_label(sel[0])} | {name} | " + " | ".join(
                f"{per[s]:.3f}" if s in per else "" for s in snrs_shown)
                + f" | {reach} | {sel[-1]['goodput_air_bps'] / 1e3:.0f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few SNR points and packets")
    ap.add_argument("--out", default="out/bench")
    ap.add_argument("--channel", default="awgn,tdl-a,tdl-c",
                    help=f"comma-separated, from {', '.join(CHANNELS)} (default awgn,tdl-a,tdl-c)")
    ap.add_argument("--speeds", default="3,120", help="receiver speeds, km/h, comma-separated (default 3,120)")
    ap.add_argument("--packets", type=int, help="packets per SNR point (default 400; quick: 60)")
    ap.add_argument("--groups", type=int, help="independent channel realisations per point (default 40; quick: 6)")
    ap.add_argument("--size", type=int, default=96, help="payload bytes (default 96)")
    ap.add_argument("--delay-spread", type=float, default=300.0, help="ns (default 300)")
    args = ap.parse_args(argv)
    channels = [c.strip() for c in args.channel.split(",") if c.strip()]
    bad = [c for c in channels if c not in CHANNELS]
    if bad or not channels:
        ap.error(f"--channel: unknown {', '.join(bad) or '(none)'}; valid values: {', '.join(CHANNELS)}")
    try:
        speeds = [float(s) for s in args.speeds.split(",")]
    except ValueError:
        ap.error(f"--speeds: comma-separated numbers (km/h), got {args.speeds!r}")
    from gnuradio import gr

    gr.logging().set_default_level(gr.log_levels.warn)  # the stock receiver logs every bad header
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    snrs = [0, 8, 16, 24, 32, 40] if args.quick else list(range(0, 41, 4))
    npk = args.packets or (60 if args.quick else 400)
    groups = args.groups or (6 if args.quick else 40)
    print(f"{'channel':<7}{'km/h':>5}{'system':>12}{'mod':>7}{'SNR':>5}{'PER':>8}{'kbit/s':>10}")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        rows, cost = sweep(channels, speeds, snrs, npk, groups, args.size, Path(tmp), args.delay_spread)
    rows.append({"figure": "fading_cost", **cost, "wall_s": time.monotonic() - t0})
    if cost["fade_samples"]:
        print(f"\nfading in .venv-sionna: {cost['fade_samples'] / 1e6:.1f} MS in {cost['fade_wall_s']:.1f} s wall "
              f"(with Sionna's import), {cost['fade_cpu_s'] / cost['fade_samples'] * 1e9:.0f} ns CPU per sample")
    print()
    print("\n".join(table(rows, [s for s in snrs if s % 8 == 0 or args.quick])))
    save(rows, out, "fading_bench", plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
