"""Throughput of the Sionna channel process (``python -m sdr_semcom.channels.sionna_proc``) on this machine.

This script plays the transmitter and both receivers over ZeroMQ on 127.0.0.1 (the same data and
control sockets as ``sdr-semcom tx`` / ``rx``: GNU Radio tagged messages, :mod:`sdr_semcom.link.control`),
pushes ``--samples`` complex samples (unit-power noise: the cost does not depend on the content) in
messages of ``--chunk`` samples as fast as the channel takes them, and times the stream from the
first message sent to the last sample received by both receivers. Each turn starts a fresh channel
process (its start, Sionna's import and warm-up, are not timed). Figures per case: input MS/s
(every input sample is faded twice, for the authorized receiver and the eavesdropper), and the
channel process's CPU time per input sample (user + system, from /proc, over the timed stream).
Cases (model, speed) take turns (A B C A B C ...); median of the turns and range.

Runs with any interpreter that has pyzmq and numpy (the channel process itself is started with
the interpreter that has Sionna). Usage: ``python benchmarks/sionna_channel_bench.py [--turns 5]
[--samples 4000000] [--chunk 16384] [--out DIR] [--cases tdl-a@3,cdl-c@120,tdl-a@3+cfo+clock]``.
Writes ``sionna_channel_bench.json``; prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sdr_semcom.channels import gr_zmq  # noqa: E402
from sdr_semcom.channels.launch import _env, sionna_python  # noqa: E402
from sdr_semcom.link.control import ControlLink, control_address, free_link_ports  # noqa: E402

#: (model, speed m/s, impaired): impaired adds the standard receiver impairments after the fading on both
#: outputs (CFO 0.3 subcarriers, clock +20 ppm: sdr_semcom.channels.impairments.ClockAndCfo)
CASES = [("tdl-a", 3 / 3.6, False), ("tdl-a", 120 / 3.6, False), ("tdl-c", 120 / 3.6, False),
         ("rayleigh", 120 / 3.6, False), ("cdl-a", 3 / 3.6, False), ("cdl-c", 120 / 3.6, False),
         ("tdl-a", 3 / 3.6, True)]
IMPAIRED = ["--cfo", "0.3", "--clock-ppm", "20", "--eve-cfo", "0.3", "--eve-clock-ppm", "20"]


def label(case) -> str:
    model, speed, impaired = case
    return f"{model}@{speed * 3.6:.0f}" + ("+cfo+clock" if impaired else "")
EOT_TAG = bytes([0x02, 0x00, 0x03]) + b"eot" + bytes([0x00, 0x01])  # key 'eot', value #t, srcid #f


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_turn(model: str, speed: float, n: int, chunk: int, py: str, impaired: bool = False) -> dict:
    import zmq

    pt, pa, pe = (f"tcp://127.0.0.1:{p}" for p in free_link_ports(3))
    ctx = zmq.Context()
    tx_link = ControlLink(control_address(pt), True, "tx")
    push = ctx.socket(zmq.PUSH)
    push.bind(pt)
    rx_links, got, done_at = {}, {}, {}

    def drain(role, addr):
        pull = ctx.socket(zmq.PULL)
        pull.connect(addr)
        rx_links[role].send("ready")
        count = 0
        while True:
            if not pull.poll(20000):
                break
            _off, tags, samples = gr_zmq.parse(pull.recv())
            count += len(samples) // 8
            if any(t.key == "eot" for t in tags):
                done_at[role] = time.perf_counter()
                break
        got[role] = count
        rx_links[role].send("done", packets_received=0, packets_sent=0, end_frame_heard=True)
        pull.close(0)

    proc = subprocess.Popen([py, "-m", "sdr_semcom.channels.sionna_proc", "--model", model, "--speed", repr(speed),
                             "--snr", "20", "--eve-snr", "5", "--connect", pt, "--auth-bind", pa, "--eve-bind", pe,
                             "--connect-timeout", "60", *(IMPAIRED if impaired else [])], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    threads = []
    for role, addr in (("auth", pa), ("eve", pe)):
        rx_links[role] = ControlLink(control_address(addr), False, f"rx {role}")
        rx_links[role].send("hello")
        threads.append(threading.Thread(target=drain, args=(role, addr), daemon=True))
        threads[-1].start()
    t_wait = time.monotonic()
    while tx_link.get("ready") is None:
        if proc.poll() is not None or time.monotonic() - t_wait > 120:
            raise RuntimeError(f"channel process did not get ready: {proc.communicate()}")
        time.sleep(0.01)
    rng = np.random.default_rng(1)
    block = ((rng.standard_normal(chunk) + 1j * rng.standard_normal(chunk)) / np.sqrt(2)).astype(np.complex64)
    raw = block.tobytes()
    cpu0, t0 = _cpu_s(proc.pid), time.perf_counter()
    sent = 0
    while sent < n:
        push.send(gr_zmq.build(sent, [], raw))
        sent += chunk
    # as BurstSource ends a transmission: the eot tag, then zeros that push it through the channel's delay
    push.send(gr_zmq.build(sent, [gr_zmq.Tag(sent, EOT_TAG, "eot")], np.zeros(4096, np.complex64).tobytes()))
    for t in threads:
        t.join(120)
    t1 = max(done_at.values()) if len(done_at) == 2 else float("nan")
    cpu1 = _cpu_s(proc.pid)
    while tx_link.get("done") is None and proc.poll() is None:
        time.sleep(0.01)
    out, err = proc.communicate(timeout=60)
    for link in (tx_link, *rx_links.values()):
        link.close()
    push.close(0)
    ctx.term()
    wall = t1 - t0
    return {"model": model, "speed_mps": speed, "impaired": impaired, "samples": sent, "chunk": chunk, "wall_s": wall,
            "msps": sent / wall / 1e6, "cpu_ns_per_sample": (cpu1 - cpu0) / sent * 1e9, "exit_code": proc.returncode,
            "received": got}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=5)
    ap.add_argument("--samples", type=int, default=4_000_000)
    ap.add_argument("--chunk", type=int, default=16384)
    ap.add_argument("--out", default="out/bench")
    ap.add_argument("--cases", help=f"comma-separated, from {', '.join(label(c) for c in CASES)} (default: all)")
    args = ap.parse_args(argv)
    cases = CASES
    if args.cases:
        want = [c.strip() for c in args.cases.split(",") if c.strip()]
        bad = [w for w in want if w not in [label(c) for c in CASES]]
        if bad or not want:
            ap.error(f"--cases: unknown {', '.join(bad) or '(none)'}; valid: {', '.join(label(c) for c in CASES)}")
        cases = [c for c in CASES if label(c) in want]
    py = sionna_python()
    rows = []
    for turn in range(args.turns):
        for case in cases:
            model, speed, impaired = case
            r = one_turn(model, speed, args.samples, args.chunk, py, impaired)
            r["turn"] = turn
            rows.append(r)
            print(f"turn {turn} {label(case):<22} {r['msps']:6.2f} MS/s "
                  f"{r['cpu_ns_per_sample']:6.0f} ns CPU/sample (exit {r['exit_code']})", flush=True)
    print(f"\nSionna channel process, both outputs (auth + eve), {args.samples / 1e6:g} MS per turn in "
          f"{args.chunk}-sample messages, median of {args.turns} turns (range); load {os.getloadavg()[0]:.1f}")
    print("| model | speed | impairments | MS/s | CPU ns / input sample |\n| --- | ---: | --- | ---: | ---: |")
    for model, speed, impaired in cases:
        sel = [r for r in rows if (r["model"], r["speed_mps"], r["impaired"]) == (model, speed, impaired)]
        ms = [r["msps"] for r in sel]
        ns = [r["cpu_ns_per_sample"] for r in sel]
        print(f"| {model} | {speed * 3.6:.0f} km/h | {'CFO 0.3, +20 ppm' if impaired else '-'} | "
              f"{np.median(ms):.2f} ({min(ms):.2f}-{max(ms):.2f}) | "
              f"{np.median(ns):.0f} ({min(ns):.0f}-{max(ns):.0f}) |")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sionna_channel_bench.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
