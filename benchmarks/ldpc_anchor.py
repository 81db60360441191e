"""Second anchor for the FEC: this project's LDPC codes beside Sionna's 5G NR LDPC at the same sizes, AWGN.

Codes: this PHY's data code (gr-fec ``n_1800_k_0902``, rate 0.501) and SIG code (``n_0100_k_0042``,
rate 0.42), decoded as the receiver does (layered normalised min-sum, alpha 0.8, at most 40
iterations, early stop); 5G NR LDPC (TS 38.212: base graph chosen by Sionna, lifting, rate matching
to exactly the same k and n) by Sionna's ``LDPC5GEncoder`` / ``LDPC5GDecoder`` (flooding belief
propagation, ``boxplus-phi`` check nodes, 40 iterations). BPSK over AWGN (the Eb/N0 per information
bit: Es/N0 = Eb/N0 + 10 log10(k / n)), channel LLRs exact. A block error: any information bit wrong.
Per point: batches of codewords until ``--errors`` block errors or ``--max-blocks`` codewords.

Our half runs here (main venv); the 5G NR half in Sionna's venv (this script with ``--nr-only``,
started with its interpreter). Usage: ``python benchmarks/ldpc_anchor.py [--quick] [--out DIR]``.
Writes ``ldpc_anchor.json`` and ``ldpc_anchor.png``; prints a table and, per code, the Eb/N0 at
BLER 10 % and 1 % (interpolated in log BLER) and the difference 5G NR - ours.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CODES = {"data": (902, 1800, [0.5 + 0.25 * i for i in range(11)]),  # Eb/N0 grid, dB
         "sig": (42, 100, [1.0 + 0.5 * i for i in range(12)])}


def _noise_std(ebn0_db: float, k: int, n: int) -> float:
    return math.sqrt(1 / (2 * (k / n) * 10 ** (ebn0_db / 10)))


def ours(code: str, ebn0s, errors: int, max_blocks: int, batch: int = 200) -> list[dict]:
    from sdr_semcom.phy.fec import DATA_CODE, SIG_CODE

    c = DATA_CODE if code == "data" else SIG_CODE
    rows = []
    for ebn0 in ebn0s:
        rng = np.random.default_rng([int(ebn0 * 100), c.k])
        sigma = _noise_std(ebn0, c.k, c.n)
        blocks = errs = 0
        while errs < errors and blocks < max_blocks:
            u = rng.integers(0, 2, (batch, c.k), dtype=np.uint8)
            x = 1.0 - 2.0 * c.encode(u)
            y = x + sigma * rng.standard_normal(x.shape)
            info, _ok = c.decode(2 * y / sigma**2, max_iter=40, alpha=0.8)
            errs += int(np.any(info != u, axis=1).sum())
            blocks += batch
        rows.append({"system": "sdr-semcom (gr-fec LDPC, layered NMS 40 it)", "code": code, "k": c.k, "n": c.n,
                     "ebn0_db": ebn0, "blocks": blocks, "block_errors": errs, "bler": errs / blocks})
        print(f"ours  {code:<5}{ebn0:6.2f} dB  BLER {errs / blocks:.4f} ({errs}/{blocks})", flush=True)
    return rows


def nr(code: str, ebn0s, errors: int, max_blocks: int, batch: int = 200) -> list[dict]:
    import torch
    from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder

    torch.set_num_threads(1)
    k, n, _ = CODES[code]
    enc = LDPC5GEncoder(k, n)
    dec = LDPC5GDecoder(enc, cn_update="boxplus-phi", num_iter=40)
    rows = []
    for ebn0 in ebn0s:
        gen = torch.Generator().manual_seed(int(ebn0 * 100) * 7919 + k)
        sigma = _noise_std(ebn0, k, n)
        blocks = errs = 0
        while errs < errors and blocks < max_blocks:
            u = torch.randint(0, 2, (batch, k), generator=gen).float()
            x = 1.0 - 2.0 * enc(u)
            y = x + sigma * torch.randn(x.shape, generator=gen)
            uh = dec(-2 * y / sigma**2)  # Sionna's LLRs: log p(b=1) / p(b=0)
            errs += int((uh != u).any(dim=1).sum())
            blocks += batch
        rows.append({"system": "5G NR LDPC (Sionna, BP boxplus-phi 40 it)", "code": code, "k": k, "n": n,
                     "ebn0_db": ebn0, "blocks": blocks, "block_errors": errs, "bler": errs / blocks,
                     "base_graph": getattr(enc, "_bg", None), "lifting": int(getattr(enc, "z", 0) or 0)})
        print(f"5G NR {code:<5}{ebn0:6.2f} dB  BLER {errs / blocks:.4f} ({errs}/{blocks})", flush=True)
    return rows


def at_bler(rows: list[dict], target: float) -> float | None:
    """Eb/N0 where the BLER curve crosses ``target`` (linear in Eb/N0, log in BLER); None if it never does."""
    pts = sorted((r["ebn0_db"], r["bler"]) for r in rows)
    for (e0, b0), (e1, b1) in zip(pts, pts[1:]):
        if b0 >= target > b1:
            if b1 == 0:
                return e1
            f = (math.log10(b0) - math.log10(target)) / (math.log10(b0) - math.log10(b1))
            return e0 + f * (e1 - e0)
    return None


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, code in zip(axes, CODES):
        k, n, _ = CODES[code]
        for system, style in (("sdr-semcom", "o-"), ("5G NR", "s--")):
            pts = sorted((r["ebn0_db"], r["bler"], r["blocks"]) for r in rows
                         if r.get("code") == code and r.get("system", "").startswith(system))
            if not pts:
                continue
            e, b, nb = zip(*pts)
            label = next(r["system"] for r in rows if r.get("code") == code and r.get("system", "").startswith(system))
            ax.semilogy(e, np.maximum(b, 0.5 / np.array(nb)), style, label=label, ms=4)
        ax.set(title=f"k = {k}, n = {n} (rate {k / n:.3f}), BPSK, AWGN", xlabel="Eb/N0 (dB)",
               ylabel="block error rate (0 errors: plotted at 0.5 / blocks)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default="out/bench")
    ap.add_argument("--errors", type=int, help="block errors per point (default 100; quick 20)")
    ap.add_argument("--max-blocks", type=int, help="codewords per point at most (default 2000; quick 400)")
    ap.add_argument("--nr-only", action="store_true", help="(internal) the 5G NR half, JSON rows on stdout's last line")
    args = ap.parse_args(argv)
    errors = args.errors or (20 if args.quick else 100)
    max_blocks = args.max_blocks or (400 if args.quick else 2000)
    if args.nr_only:
        rows = [r for code, (_k, _n, grid) in CODES.items() for r in nr(code, grid, errors, max_blocks)]
        print(json.dumps(rows))
        return 0
    from benchmarks.common import save
    from sdr_semcom.channels.launch import _env, sionna_python

    rows = [r for code, (_k, _n, grid) in CODES.items() for r in ours(code, grid, errors, max_blocks)]
    cmd = [sionna_python(), str(Path(__file__).resolve()), "--nr-only", "--errors", str(errors),
           "--max-blocks", str(max_blocks)]
    p = subprocess.run(cmd, env=_env(), capture_output=True, text=True, cwd=ROOT)
    if p.returncode:
        raise SystemExit(f"5G NR half failed: {p.stderr[-2000:]}")
    print(p.stdout.rsplit("\n", 2)[0])
    rows += json.loads(p.stdout.strip().splitlines()[-1])
    figures = []
    print("\n| code (k, n) | target BLER | ours Eb/N0 (dB) | 5G NR Eb/N0 (dB) | 5G NR - ours (dB) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for code, (k, n, _grid) in CODES.items():
        for target in (0.1, 0.01):
            a = at_bler([r for r in rows if r.get("code") == code and r.get("system", "").startswith("sdr")], target)
            b = at_bler([r for r in rows if r.get("code") == code and r.get("system", "").startswith("5G")], target)
            diff = f"{b - a:+.2f}" if a is not None and b is not None else "n/a"
            figures.append({"figure": "ebn0_at_bler", "code": code, "k": k, "n": n, "target": target, "ours_db": a,
                         "nr_db": b})
            print(f"| {code} ({k}, {n}) | {target:g} | {a if a is None else round(a, 2)} | "
                  f"{b if b is None else round(b, 2)} | {diff} |")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save(rows + figures, out, "ldpc_anchor", plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
