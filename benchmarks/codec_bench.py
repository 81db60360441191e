"""Codec benchmark: the codecs beside a JPEG separation baseline, same bytes, same radio.

Held-out images (never trained on), centre-cropped and resized to 256 x 256. Systems: codec v2
(``codec_v2``, the link's default: block DCT, learned entropy model, learned restoration),
codec v1 (``codec_v1``, conv encoder/decoder with a fixed-rate latent) and the baseline, a JPEG
of at most codec v2's bytes for that image, cut into the same number of packets. Two sweeps:

- packet-loss rate (random packet erasures, several seeded patterns per rate);
- SNR over the real PHY (GNU Radio loopback, QPSK, CFO + clock error + multipath), both systems'
  packets through the same channel realisations.

Also times encode + decode of one 256 x 256 image for each codec: the median of 20 turns with
their range (``*_ms_min`` / ``*_ms_max``).

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
from sdr_semcom.link.loopback import run_loopback as _loopback  # noqa: E402
from sdr_semcom.phy.channel import impaired  # noqa: E402
from sdr_semcom.phy.framing import PayloadType  # noqa: E402
from sdr_semcom.semantic import baseline  # noqa: E402
from sdr_semcom.semantic.data import held_out_images  # noqa: E402
from sdr_semcom.semantic.messages import image_messages, received_images  # noqa: E402
from sdr_semcom.semantic.metrics import psnr, ssim  # noqa: E402
from sdr_semcom.semantic.weights import load_codec  # noqa: E402

SIZE = 256


def _square(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    return np.asarray(Image.fromarray(img[y : y + s, x : x + s]).resize((SIZE, SIZE), Image.BICUBIC))


def _row(system, sweep, x, refs, recs, extra=None) -> dict:
    p = [psnr(r, o) for r, o in zip(refs, recs)]
    s = [ssim(r, o) for r, o in zip(refs, recs)]
    return {"system": system, "sweep": sweep, "x": x, "psnr_db": float(np.mean(p)), "ssim": float(np.mean(s)),
            "images": len(refs), **(extra or {})}


def loss_sweep(codecs: dict, images, rates, trials, seed=0):
    """``codecs``: name -> codec; the first one sizes the JPEG."""
    rng = np.random.default_rng(seed)
    rows = []
    for rate in rates:
        refs, rb = [], []
        rc = {name: [] for name in codecs}
        for img in images:
            coded = {name: c.encode(img) for name, c in codecs.items()}
            first = next(iter(coded.values()))[1]
            bpk = baseline.packets_for(img, sum(map(len, first)), len(first))
            for _ in range(trials):
                lost = rng.random(len(first)) < rate  # the same pattern for every system
                for name, c in codecs.items():
                    header, packets = coded[name]
                    mine = np.resize(lost, len(packets))
                    rc[name].append(c.decode(header, [None if x else p for x, p in zip(mine, packets)])[0])
                rb.append(baseline.decode_packets([None if x else p for x, p in zip(lost, bpk)], img.shape[:2],
                                                  len(bpk[0])))
                refs.append(img)
        rows += [_row(name, "loss", rate, refs, rc[name]) for name in codecs] + [_row("jpeg", "loss", rate, refs, rb)]
    return rows


def snr_sweep(codecs: dict, images, snrs, repeats, fading=None):
    """Every system's packets through the same channel realisations (same seeds); ``fading`` (a
    :class:`~sdr_semcom.channels.spec.FadingSpec`): through Sionna's fading and AWGN instead of the
    standard impairments (:func:`sdr_semcom.link.faded.run_faded`, one Sionna process per run)."""
    from sdr_semcom.link.faded import run_faded

    def run_loopback(msgs, cfg, roles):  # this sweep's channel
        if fading is None:
            return _loopback(msgs, cfg, roles=roles)
        return run_faded(msgs, cfg, fading, cfg.auth.snr_db, cfg.auth.seed)

    rows = []
    main = next(iter(codecs.values()))
    for snr in snrs:
        refs, rb, per = [], [], []
        rc = {name: [] for name in codecs}
        for rep in range(repeats):
            cfg = LinkConfig(auth=impaired(snr, seed=100 + rep), mtu=1024)
            jpeg_msgs = []
            for img in images:
                packets = image_messages(main, img)[1][0]
                jpeg_msgs.append((baseline.packets_for(img, sum(map(len, packets)), len(packets)), PayloadType.RAW))
                refs.append(img)
            for name, codec in codecs.items():
                msgs = [m for img in images for m in image_messages(codec, img)]
                res = run_loopback(msgs, cfg, roles=["auth"])
                got, _ = received_images(codec, res.rx["auth"].messages)
                by_id = {g.msg_id: g.image for g in got}
                rc[name] += [by_id.get(2 * i, np.full_like(img, 127)) for i, img in enumerate(images)]
                per.append(res.rx["auth"].report["per"])
            res = run_loopback(jpeg_msgs, cfg, roles=["auth"])
            got = {m.msg_id: m for m in res.rx["auth"].messages}
            for i, (img, (pk, _)) in enumerate(zip(images, jpeg_msgs)):
                m = got.get(i)
                frags = m.fragments if m is not None else [None] * len(pk)
                rb.append(baseline.decode_packets(list(frags), img.shape[:2], len(pk[0])))
            per.append(res.rx["auth"].report["per"])
        extra = {"per": float(np.mean(per))}
        rows += [_row(name, "snr", snr, refs, rc[name], extra) for name in codecs]
        rows.append(_row("jpeg", "snr", snr, refs, rb, extra))
    return rows


def timing(name, codec, img, n=20) -> dict:
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
    row = {"system": name, "sweep": "timing", "x": SIZE, "turns": n}
    for key, t in (("encode_ms", te), ("decode_ms", td), ("total_ms", np.add(te, td))):
        row.update({key: 1e3 * float(np.median(t)), key + "_min": 1e3 * float(np.min(t)),
                    key + "_max": 1e3 * float(np.max(t))})
    return row


LABELS = {"codec_v2": "codec v2 (DCT + learned)", "codec_v1": "codec v1 (latent)", "jpeg": "JPEG (same bytes)"}


def plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    systems = list(dict.fromkeys(r["system"] for r in rows if r["sweep"] != "timing"))
    for ax, sweep, xlabel in ((axes[0], "snr", "SNR (dB, in-band), QPSK"), (axes[1], "loss", "packet loss rate")):
        for system in systems:
            pts = sorted((r["x"], r["psnr_db"]) for r in rows if r["sweep"] == sweep and r["system"] == system)
            if pts:
                ax.plot(*zip(*pts), "s--" if system == "jpeg" else "o-", label=LABELS.get(system, system))
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
    ap.add_argument("--names", default="codec_v2,codec_v1", help="codecs in models/ (the first sizes the JPEG)")
    ap.add_argument("--channel", help="the SNR sweep through Sionna's fading instead of the standard impairments: "
                                      "rayleigh, tdl-a .. tdl-e (.venv-sionna; delay spread 300 ns, 2.4 GHz)")
    ap.add_argument("--speed", type=float, default=3.0, help="with --channel: receiver speed, km/h (default 3)")
    args = ap.parse_args(argv)
    fading = None
    if args.channel:
        from sdr_semcom.channels.spec import MODELS, FadingSpec

        if args.channel not in MODELS:
            ap.error(f"--channel: unknown {args.channel!r}; valid values: {', '.join(MODELS)}")
        fading = FadingSpec(args.channel, speed_mps=args.speed / 3.6)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    codecs = {name: load_codec(name) for name in args.names.split(",")}
    images = [_square(i) for i in held_out_images().values()]
    for name, codec in codecs.items():
        sizes = [sum(map(len, codec.encode(img)[1])) for img in images]
        print(f"{name} ({codec.id}): {np.mean(sizes):.0f} B per {SIZE}x{SIZE} image "
              f"({8 * np.mean(sizes) / SIZE**2:.3f} bit/pixel)")
    rates = [0, 0.1, 0.3] if args.quick else [0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7]
    snrs = [3, 4, 6, 10] if args.quick else [2, 3, 3.5, 4, 4.5, 5, 6, 8, 12]
    if fading is not None:  # fading needs more SNR (benchmarks/fading_bench.py)
        snrs = [8, 16, 30] if args.quick else [4, 8, 12, 16, 20, 30]
    rows = [timing(name, codec, images[0]) for name, codec in codecs.items()]
    rows += loss_sweep(codecs, images, rates, trials=2 if args.quick else 6)
    rows += snr_sweep(codecs, images, snrs, repeats=1 if args.quick else 6, fading=fading)
    if fading is not None:
        for r in rows:
            if r["sweep"] == "snr":
                r.update(channel=fading.model, speed_kmh=fading.speed_mps * 3.6)
    for r in rows[: len(codecs)]:
        ms = {k: f"{r[k]:.1f} ({r[k + '_min']:.1f}-{r[k + '_max']:.1f})"
              for k in ("total_ms", "encode_ms", "decode_ms")}
        print(f"{r['system']}: encode + decode {SIZE}x{SIZE}, median of {r['turns']} (range): {ms['total_ms']} ms "
              f"(encode {ms['encode_ms']}, decode {ms['decode_ms']})")
    names = list(codecs) + ["jpeg"]
    print(f"{'sweep':<6}{'x':>6}" + "".join(f"{n + ' PSNR':>16}" for n in names) + f"{'PER':>7}")
    for sweep in ("loss", "snr"):
        for x in sorted({r["x"] for r in rows if r["sweep"] == sweep}):
            got = {r["system"]: r for r in rows if r["sweep"] == sweep and r["x"] == x}
            per = f"{got[names[0]]['per']:.3f}" if "per" in got[names[0]] else ""
            print(f"{sweep:<6}{x:>6}" + "".join(f"{got[n]['psnr_db']:>16.2f}" for n in names) + f"{per:>7}")
    save(rows, out, "codec_bench", plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
