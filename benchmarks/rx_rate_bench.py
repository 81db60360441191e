"""Receive-rate benchmark: the highest sample rate each receive graph sustains in real time on this machine.

A recording of the link (``sdr-semcom capture --source loopback``: QPSK bursts of ``mtu``-byte
fragments with the link's gap of 400 samples, i.e. at the link's duty cycle, through the authorized
channel emulator at 20 dB with the standard impairments) is fed to each graph as fast as it goes:

- ``rx x1``: one receiver (file source -> :class:`~sdr_semcom.blocks.BurstSink` -> link receiver),
  what ``sdr-semcom rx`` runs;
- ``rx x2``: two receivers (authorized and eavesdropper) on the same stream in one process, as the
  demo does;
- ``decode x1``: the loop of ``sdr-semcom decode`` (SigMF reader -> ``BurstReceiver.feed``, no
  GNU Radio);
- ``tx``: the transmitter graph (:class:`~sdr_semcom.blocks.BurstSource` -> null sink), samples it
  produces per second.

A graph sustains ``rate = samples / wall seconds`` in real time (it keeps up with a radio at that
rate). The graphs take turns (A B C D A B C D ...); each figure is the median of the turns with its
range (min-max). Wall-clock rates depend on what else the machine runs; the CPU time per sample
(``time.process_time`` of the whole process, all threads) does not, so it is reported beside
them: ``cpu_msps`` = 1 / CPU time per sample, the rate one fully available core would sustain.

Usage: ``python benchmarks/rx_rate_bench.py [--quick] [--out DIR] [--packets N] [--turns N]``
(also ``sdr-semcom bench rx-rate``). Writes ``rx_rate_bench.json`` (flat rows) and ``rx_rate_bench.png``;
prints a table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import save  # noqa: E402
from sdr_semcom.config import LinkConfig  # noqa: E402
from sdr_semcom.phy.channel import impaired  # noqa: E402
from sdr_semcom.phy.framing import PayloadType  # noqa: E402

#: the issue's goals, MS/s: one receiver, two receivers in one process
GOALS = {"rx x1": 10.0, "rx x2": 5.0}
GRAPHS = ("rx x1", "rx x2", "decode x1", "tx")


def spread(values) -> dict:
    """Median of repeated measurements and their range."""
    values = [float(v) for v in values]
    return {"value": float(np.median(values)), "value_min": min(values), "value_max": max(values),
            "value_turns": values}


def _messages(packets: int, mtu: int, seed: int = 1) -> list[tuple[bytes, PayloadType]]:
    """``packets`` fragments' worth of random bytes, as messages of 8 fragments."""
    rng = np.random.default_rng(seed)
    per = mtu * 8
    return [(rng.integers(0, 256, per, dtype=np.uint8).tobytes(), PayloadType.RAW) for _ in range(-(-packets // 8))]


def record(base: Path, cfg: LinkConfig, messages) -> tuple[Path, int, int]:
    """The link's authorized channel output, recorded as SigMF; returns (data file, samples, frames sent)."""
    from sdr_semcom.capture.session import Source, capture

    r = capture(base, Source("loopback", messages=tuple(messages)), cfg)
    if r.end != "eot":
        raise RuntimeError(f"the benchmark's recording ended by {r.end}")
    return Path(f"{base}.sigmf-data"), r.samples, r.report["packets_sent"]


def _timed(run) -> dict:
    """Run ``run()`` -> (samples, decoded); wall and CPU seconds of this process."""
    c0, t0 = time.process_time(), time.perf_counter()
    samples, decoded = run()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"samples": samples, "decoded": decoded, "wall_s": wall, "cpu_s": cpu}


def graphs(data: Path, samples: int, cfg: LinkConfig, messages) -> dict:
    """``{name: run}`` for each graph of :data:`GRAPHS`; ``run()`` -> (samples, frames decoded per receiver)."""
    from gnuradio import blocks, gr

    from sdr_semcom.blocks import BurstSink, BurstSource
    from sdr_semcom.blocks.buffers import big_output_buffer
    from sdr_semcom.capture.sigmf_io import open_recording
    from sdr_semcom.phy.ofdm import BurstReceiver

    def rx(n: int):
        def run():
            tb = gr.top_block()
            src = blocks.file_source(gr.sizeof_gr_complex, str(data), False)
            big_output_buffer(src)
            counts = [[0] for _ in range(n)]
            sinks = []
            for c in counts:
                sink = BurstSink(on_burst=lambda b, c=c: c.__setitem__(0, c[0] + (b.payload is not None)))
                tb.connect(src, sink)
                sinks.append(sink)
            tb.run()
            for s in sinks:
                s.flush()
            return samples, min(c[0] for c in counts)
        return run

    def decode():
        rec, receiver, n = open_recording(data), BurstReceiver(), 0
        for x in rec.chunks():
            n += sum(b.payload is not None for b in receiver.feed(x))
        n += sum(b.payload is not None for b in receiver.flush())
        return rec.samples, n

    def tx():
        tb = gr.top_block()
        src = BurstSource(cfg.modulation, cfg.gap, tail=0)
        sink = blocks.null_sink(gr.sizeof_gr_complex)
        tb.connect(src, sink)
        src.transmit(list(messages), cfg.mtu)  # modulation happens in the scheduler's thread: timed
        tb.run()
        return int(sink.nitems_read(0)), None

    return {"rx x1": rx(1), "rx x2": rx(2), "decode x1": decode, "tx": tx}


def measure(packets: int, turns: int, out: Path) -> list[dict]:
    """Record, warm up, then ``turns`` rounds of every graph in turn; one row per graph."""
    from sdr_semcom.link.warmup import warm_up

    cfg = LinkConfig(auth=impaired(20.0, seed=1))
    messages = _messages(packets, cfg.mtu)
    with tempfile.TemporaryDirectory(prefix="rx_rate_") as tmp:
        data, samples, sent = record(Path(tmp) / "link", cfg, messages)
        duty = _duty(data, samples)
        for role in ("tx", "rx"):
            warm_up(role, cfg)
        runs = graphs(data, samples, cfg, messages)
        for run in runs.values():  # untimed: page cache, lazy imports, numba dispatch
            run()
        results: dict[str, list[dict]] = {g: [] for g in GRAPHS}
        for _ in range(turns):
            for g in GRAPHS:
                results[g].append(_timed(runs[g]))
    rows = []
    for g in GRAPHS:
        rs = results[g]
        rate = spread([r["samples"] / r["wall_s"] / 1e6 for r in rs])
        cpu_ns = spread([r["cpu_s"] / r["samples"] * 1e9 for r in rs])
        decoded = [r["decoded"] for r in rs if r["decoded"] is not None]
        rows.append({"graph": g, "msps": rate["value"], "msps_min": rate["value_min"], "msps_max": rate["value_max"],
                     "msps_turns": rate["value_turns"], "cpu_ns_per_sample": cpu_ns["value"],
                     "cpu_ns_min": cpu_ns["value_min"], "cpu_ns_max": cpu_ns["value_max"],
                     "cpu_msps": 1e3 / cpu_ns["value"], "samples": rs[0]["samples"], "turns": turns,
                     "frames_sent": sent, "frames_decoded_min": min(decoded) if decoded else None,
                     "goal_msps": GOALS.get(g), "duty_cycle": duty,
                     "load_avg_1min": os.getloadavg()[0], "cores": os.cpu_count()})
    return rows


def _duty(data: Path, samples: int) -> float:
    """Fraction of the recording's samples inside bursts (from its annotations)."""
    from sdr_semcom.capture.sigmf_io import open_recording

    ann = open_recording(data).annotations
    return sum(a["core:sample_count"] for a in ann) / samples if samples else 0.0


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    names = [r["graph"] for r in rows]
    x = np.arange(len(rows))
    med = np.array([r["msps"] for r in rows])
    err = np.array([[r["msps"] - r["msps_min"] for r in rows], [r["msps_max"] - r["msps"] for r in rows]])
    a1.bar(x, med, yerr=err, capsize=4, color="tab:blue", label="wall clock (median, range)")
    a1.plot(x, [r["cpu_msps"] for r in rows], "o", color="tab:orange", label="1 / CPU time per sample")
    for i, r in enumerate(rows):
        if r["goal_msps"]:
            a1.plot([i - 0.4, i + 0.4], [r["goal_msps"]] * 2, "r--", lw=1)
    a1.set_xticks(x, names)
    a1.set(ylabel="MS/s sustained", title=f"Receive / transmit rate (median of {rows[0]['turns']} turns; red: goal)")
    a1.legend(fontsize=8)
    a2.bar(x, [r["cpu_ns_per_sample"] for r in rows], color="tab:orange")
    a2.set_xticks(x, names)
    a2.set(ylabel="CPU ns per sample", title="CPU time per sample (all threads)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(rows: list[dict]) -> list[str]:
    lines = [f"{'graph':<11}{'MS/s wall (range)':>24}{'CPU ns/sample (range)':>26}{'MS/s per core':>15}{'goal':>7}",
             "-" * 83]
    for r in rows:
        wall = f"{r['msps']:.2f} ({r['msps_min']:.2f}-{r['msps_max']:.2f})"
        cpu = f"{r['cpu_ns_per_sample']:.0f} ({r['cpu_ns_min']:.0f}-{r['cpu_ns_max']:.0f})"
        goal = f"{r['goal_msps']:g}" if r["goal_msps"] else ""
        lines.append(f"{r['graph']:<11}{wall:>24}{cpu:>26}{r['cpu_msps']:>15.2f}{goal:>7}")
    r = rows[0]
    lines.append(f"{r['samples']} samples, {r['frames_sent']} frames (duty cycle {r['duty_cycle']:.2f}), "
                 f"{r['turns']} turns; load average {r['load_avg_1min']:.1f} on {r['cores']} cores")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="60 packets, 3 turns (smoke run)")
    ap.add_argument("--out", default="out/bench")
    ap.add_argument("--packets", type=int, help="frames in the recording (default 400; quick: 60)")
    ap.add_argument("--turns", type=int, help="rounds of every graph (default 5; quick: 3)")
    args = ap.parse_args(argv)
    from gnuradio import gr

    gr.logging().set_default_level(gr.log_levels.warn)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    packets = args.packets or (60 if args.quick else 400)
    turns = args.turns or (3 if args.quick else 5)
    rows = measure(packets, turns, out)
    for line in table(rows):
        print(line)
    save(rows, out, "rx_rate_bench", plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
