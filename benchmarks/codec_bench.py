"""Codec benchmark: the semantic codec beside a JPEG separation baseline, same bytes, same radio.

Held-out images (never trained on), centre-cropped and resized to 256 x 256. The baseline is a
JPEG of at most the codec's byte budget, cut into the same number of packets. Two sweeps:

- packet-loss rate (random packet erasures, several seeded patterns per rate);
- SNR over the real PHY (GNU Radio loopback, QPSK, CFO + clock error + multipath), both systems'
  packets through the same channel realisations.

Also times encode + decode of one 256 x 256 image (median of 20).

Usage: ``python benchmarks/codec_bench.py [--out DIR] [--quick]`` (also ``sdr-semcom bench codec``).
Writes ``codec_bench.json`` (flat rows) and ``codec_bench.png``; prints a table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import save  # noqa: E402
from sdr_semcom.config import LinkConfig  # noqa: E402
from sdr_semcom.link.loopback import run_loopback  # noqa: E402
from sdr_semcom.phy.channel import impaired  # noqa: E402
from sdr_semcom.phy.framing import PayloadType  # noqa: E402
from sdr_semcom.semantic import baseline  # noqa: E402
from sdr_semcom.semantic.codec import SemanticCodec  # noqa: E402
from sdr_semcom.semantic.data import held_out_images  # noqa: E402
from sdr_semcom.semantic.link import image_messages, received_images  # noqa: E402
from sdr_semcom.semantic.train import psnr  # noqa: E402

SIZE = 256


def _square(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    return np.asarray(Image.fromarray(img[y : y + s, x : x + s]).resize((SIZE, SIZE), Image.BICUBIC))


def _ssim(a, b) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, channel_axis=2, data_range=255))


def _row(system, sweep, x, refs, recs, extra=None) -> dict:
    p = [psnr(r, o) for r, o in zip(refs, recs)]
    s = [_ssim(r, o) for r, o in zip(refs, recs)]
    return {"system": system, "sweep": sweep, "x": x, "psnr_db": float(np.mean(p)), "ssim": float(np.mean(s)),
            "images": len(refs), **(extra or {})}


def loss_sweep(codec, images, rates, trials, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for rate in rates:
        refs, rc, rb = [], [], []
        for img in images:
            header, packets = codec.encode(img)
            budget = sum(map(len, packets))
            bpk = baseline.packets_for(img, budget, len(packets))
            for _ in range(trials):
                lost = rng.random(len(packets)) < rate
                rc.append(codec.decode(header, [None if x else p for x, p in zip(lost, packets)])[0])
                rb.append(baseline.decode_packets([None if x else p for x, p in zip(lost, bpk)], img.shape[:2],
                                                  len(bpk[0])))
                refs.append(img)
        rows += [_row("codec", "loss", rate, refs, rc), _row("jpeg", "loss", rate, refs, rb)]
    return rows


def snr_sweep(codec, images, snrs, repeats):
    rows = []
    for snr in snrs:
        refs, rc, rb, per = [], [], [], []
        for rep in range(repeats):
            cfg = LinkConfig(auth=impaired(snr, seed=100 + rep), mtu=1024)
            msgs, jpeg_msgs = [], []
            for img in images:
                m = image_messages(codec, img)
                msgs += m
                budget = sum(map(len, m[1][0]))
                jpeg_msgs.append((baseline.packets_for(img, budget, len(m[1][0])), PayloadType.RAW))
            res = run_loopback(msgs, cfg, roles=["auth"])
            got, _ = received_images(codec, res.rx["auth"].messages)
            by_id = {g.msg_id: g.image for g in got}
            for i, img in enumerate(images):
                rc.append(by_id.get(2 * i, np.full_like(img, 127)))
                refs.append(img)
            per.append(res.rx["auth"].report["per"])
            res = run_loopback(jpeg_msgs, cfg, roles=["auth"])
            got = {m.msg_id: m for m in res.rx["auth"].messages}
            for i, (img, (pk, _)) in enumerate(zip(images, jpeg_msgs)):
                m = got.get(i)
                frags = m.fragments if m is not None else [None] * len(pk)
                rb.append(baseline.decode_packets(list(frags), img.shape[:2], len(pk[0])))
            per.append(res.rx["auth"].report["per"])
        extra = {"per": float(np.mean(per))}
        rows += [_row("codec", "snr", snr, refs, rc, extra), _row("jpeg", "snr", snr, refs, rb, extra)]
    return rows


def timing(codec, img, n=20) -> dict:
    header, packets = codec.encode(img)
    codec.decode(header, packets)
    te, td = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        header, packets = codec.encode(img)
        t1 = time.perf_counter()
        codec.decode(header, packets)
        te.append(t1 - t0)
        td.append(time.perf_counter() - t1)
    return {"system": "codec", "sweep": "timing", "x": SIZE, "encode_ms": 1e3 * float(np.median(te)),
            "decode_ms": 1e3 * float(np.median(td)), "total_ms": 1e3 * float(np.median(np.add(te, td)))}


def plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, sweep, xlabel in ((axes[0], "snr", "SNR (dB, in-band), QPSK"), (axes[1], "loss", "packet loss rate")):
        for system, style in (("codec", "o-"), ("jpeg", "s--")):
            pts = sorted((r["x"], r["psnr_db"]) for r in rows if r["sweep"] == sweep and r["system"] == system)
            if pts:
                ax.plot(*zip(*pts), style, label="semantic codec" if system == "codec" else "JPEG (same bytes)")
        ax.set(xlabel=xlabel, ylabel="PSNR (dB)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"held-out images, {SIZE} x {SIZE}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/bench")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--name", default="codec_v1", help="codec weights in models/")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    codec = SemanticCodec.load(args.name)
    images = [_square(i) for i in held_out_images().values()]
    header, packets = codec.encode(images[0])
    budget = sum(map(len, packets))
    print(f"codec {codec.id}: {len(packets)} packets, {budget} B per {SIZE}x{SIZE} image "
          f"({8 * budget / SIZE**2:.3f} bit/pixel)")
    rates = [0, 0.1, 0.3] if args.quick else [0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7]
    snrs = [3, 4, 6, 10] if args.quick else [2, 3, 3.5, 4, 4.5, 5, 6, 8, 12]
    rows = [timing(codec, images[0])]
    rows += loss_sweep(codec, images, rates, trials=2 if args.quick else 6)
    rows += snr_sweep(codec, images, snrs, repeats=1 if args.quick else 3)
    for r in rows:
        r["budget_bytes"] = budget
    print(f"encode + decode {SIZE}x{SIZE}: {rows[0]['total_ms']:.1f} ms (encode {rows[0]['encode_ms']:.1f}, "
          f"decode {rows[0]['decode_ms']:.1f})")
    print(f"{'sweep':<6}{'x':>6}{'codec PSNR':>12}{'JPEG PSNR':>11}{'codec SSIM':>12}{'JPEG SSIM':>11}{'PER':>7}")
    for sweep in ("loss", "snr"):
        for x in sorted({r["x"] for r in rows if r["sweep"] == sweep}):
            c, j = (next(r for r in rows if r["sweep"] == sweep and r["x"] == x and r["system"] == s)
                    for s in ("codec", "jpeg"))
            per = f"{c['per']:.3f}" if "per" in c else ""
            print(f"{sweep:<6}{x:>6}{c['psnr_db']:>12.2f}{j['psnr_db']:>11.2f}{c['ssim']:>12.3f}{j['ssim']:>11.3f}{per:>7}")
    save(rows, out, "codec_bench", plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
