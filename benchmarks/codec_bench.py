"""Codec benchmark: the semantic codecs beside fair separation baselines, same bytes, same packets,
same radio.

Images: the held-out photos (never trained on) or any folder (``--images DIR``), centre-cropped
and resized to 256 x 256. Systems: the codecs named by ``--names`` (the first, codec v4 by default,
sets every image's byte budget and packet count) and, at exactly that codec's bytes and packet count
for each image, the separation baselines of :mod:`sdr_semcom.semantic.separation`: ``jpeg`` (one
JPEG cut into the packets, the old baseline), ``webp`` (one WebP cut into the packets),
``webp_tiles`` (one WebP tile per packet, lost tiles filled from their neighbours) and ``jpeg_rst``
(restart intervals aligned to the packets, lost MCUs filled from their neighbours). Sweeps:

- ``rate``: budgets of 0.25 .. 1.5 bit/pixel x packet loss 0 / 0.1 / 0.3 (seeded patterns, the
  same for every system): PSNR, SSIM, MS-SSIM and ST-LPIPS;
- ``loss``: packet-loss rates at the default budget (0.75 bit/pixel), same metrics;
- ``snr``: the real PHY (GNU Radio loopback, QPSK, CFO + clock error + multipath), every system's
  messages in the same channel realisations: PSNR and SSIM; with ``--channel MODEL [--speed KMH]``
  through Sionna's fading and AWGN instead (``.venv-sionna``, :func:`sdr_semcom.link.faded.run_faded`:
  one Sionna process per run, so slow);
- ``timing``: encode and decode of one 256 x 256 image: the median of 20 turns with the range,
  the systems taking turns; wall clock, and the decoder's CPU time.

Usage: ``python benchmarks/codec_bench.py [--out DIR] [--quick] [--images DIR] [--sweeps rate,loss,snr]
[--channel tdl-a --speed 3] [--snrs 3,4 --repeats 8]``
(also ``sdr-semcom bench codec``). Writes ``codec_bench.json`` (flat rows) and ``codec_bench.png``;
prints the tables.
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
from sdr_semcom.semantic import separation  # noqa: E402
from sdr_semcom.semantic.data import folder_images, held_out_images  # noqa: E402
from sdr_semcom.semantic.messages import image_messages, received_images  # noqa: E402
from sdr_semcom.semantic.metrics import psnr, ssim  # noqa: E402
from sdr_semcom.semantic.weights import load_codec  # noqa: E402

SIZE = 256
RATES_BPP = (0.25, 0.5, 0.75, 1.0, 1.5)
METRICS = ("psnr_db", "ssim", "ms_ssim", "st_lpips")
BASELINES = tuple(separation.SYSTEMS)


def _square(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    return np.asarray(Image.fromarray(img[y : y + s, x : x + s]).resize((SIZE, SIZE), Image.BICUBIC))


class Matched:
    """A separation baseline given, per image, exactly the bytes and packet count of ``ref``
    (and ``ref``'s largest packet: 1.5 times its mean packet size)."""

    def __init__(self, base, ref) -> None:
        self.base, self.ref, self.id = base, ref, base.id

    def encode(self, img):
        _, packets = self.ref.encode(img)
        return self.base.encode(img, sum(map(len, packets)), len(packets), self.ref.packet_bytes * 3 // 2)

    def decode(self, header, packets):
        return self.base.decode(header, packets)


def systems_for(names: list[str], bpp: float | None = None) -> dict:
    """The codecs in ``names`` (at ``bpp`` when given; codec v1 has a fixed rate and is left out
    then) and the baselines matched to the first one."""
    kw = {} if bpp is None else {"bpp": bpp}
    codecs = {}
    for name in names:
        try:
            codecs[name] = load_codec(name, **kw)
        except TypeError:  # a fixed-rate codec (v1) takes no budget
            continue
    ref = next(iter(codecs.values()))
    return {**codecs, **{b: Matched(cls(), ref) for b, cls in separation.SYSTEMS.items()}}


class Scorer:
    """PSNR and SSIM of RGB uint8 images; with ``level`` 1 also MS-SSIM, with 2 also ST-LPIPS
    (AlexNet, shift-tolerant: ~0.5 s per 256 x 256 image on a free core, so only where it is asked)."""

    def __init__(self, level: int = 0) -> None:
        self.level = level
        if level >= 2:
            from sdr_semcom.generative.metrics import st_lpips_model

            self.lpips = st_lpips_model()

    def __call__(self, ref: np.ndarray, out: np.ndarray, level: int | None = None) -> dict:
        level = self.level if level is None else min(level, self.level)
        m = {"psnr_db": psnr(ref, out), "ssim": ssim(ref, out)}
        if level >= 1:
            import torch
            from pytorch_msssim import ms_ssim

            a, b = (torch.from_numpy(np.array(x)).permute(2, 0, 1)[None].float() for x in (ref, out))
            with torch.no_grad():
                m["ms_ssim"] = float(ms_ssim(a, b, data_range=255))
                if level >= 2:
                    m["st_lpips"] = float(self.lpips(a / 127.5 - 1, b / 127.5 - 1).mean())
        return m


def _row(system, sweep, x, scores: list[dict], extra=None) -> dict:
    row = {"system": system, "sweep": sweep, "x": x, "images": len(scores)}
    for key in scores[0]:
        row[key] = float(np.mean([s[key] for s in scores]))
    return {**row, **(extra or {})}


def loss_rows(systems: dict, images, rates, trials, score, sweep="loss", extra=None, seed=0) -> list[dict]:
    """Every system at each packet-loss rate: ``trials`` seeded erasure patterns per image, the
    same pattern for every system (truncated to its packet count); one trial without losses (every
    trial would be the same), scored with every metric; with losses ST-LPIPS is left out (time)."""
    rng = np.random.default_rng(seed)
    coded = [{name: s.encode(img) for name, s in systems.items()} for img in images]
    rows = []
    for rate in rates:
        scores = {name: [] for name in systems}
        for img, enc in zip(images, coded):
            for _ in range(trials if rate > 0 else 1):
                lost = rng.random(max(len(p) for _, p in enc.values())) < rate
                for name, s in systems.items():
                    header, packets = enc[name]
                    got = [None if x else p for x, p in zip(lost[: len(packets)], packets)]
                    scores[name].append(score(img, s.decode(header, got)[0], level=2 if rate == 0 else 1))
        bpp = {name: 8 * np.mean([sum(map(len, enc[name][1])) for enc in coded]) / SIZE**2 for name in systems}
        rows += [_row(name, sweep, rate, scores[name], {"bpp": float(bpp[name]), **(extra or {})}) for name in systems]
    return rows


def rate_rows(names, images, losses, trials, score) -> list[dict]:
    """The rate sweep: every budget of :data:`RATES_BPP` x every loss rate in ``losses``."""
    rows = []
    for bpp in RATES_BPP:
        systems = systems_for(names, bpp)
        for r in loss_rows(systems, images, losses, trials, score, sweep="rate", extra={"budget_bpp": bpp}):
            r["loss"], r["x"] = r["x"], bpp
            rows.append(r)
    return rows


def snr_rows(systems: dict, images, snrs, repeats, fading=None) -> list[dict]:
    """Every system's messages through the same channel realisations (one loopback run per SNR
    and repeat); each system decodes its own messages. ``fading`` (a
    :class:`~sdr_semcom.channels.spec.FadingSpec`): through Sionna's fading and AWGN instead of the
    standard impairments (:func:`sdr_semcom.link.faded.run_faded`, one Sionna process per run)."""
    from sdr_semcom.link.faded import run_faded

    def run_loopback(msgs, cfg, roles):  # this sweep's channel
        if fading is None:
            return _loopback(msgs, cfg, roles=roles)
        return run_faded(msgs, cfg, fading, cfg.auth.snr_db, cfg.auth.seed)

    rows = []
    for snr in snrs:
        scores = {name: [] for name in systems}
        per = []
        for rep in range(repeats):
            msgs, ids = [], {}
            for name, s in systems.items():
                ids[name] = len(msgs)
                msgs += [m for img in images for m in image_messages(s, img)]
            res = run_loopback(msgs, LinkConfig(auth=impaired(snr, seed=100 + rep), mtu=1024), roles=["auth"])
            rx = res.rx["auth"]
            per.append(rx.report["per"])
            for name, s in systems.items():
                lo, hi = ids[name], ids[name] + 2 * len(images)
                got, _ = received_images(s, [m for m in rx.messages if lo <= m.msg_id < hi])
                by_id = {g.msg_id - lo: g.image for g in got}
                scores[name] += [{"psnr_db": psnr(img, out), "ssim": ssim(img, out)} for img, out in
                                 ((img, by_id.get(2 * i, np.full_like(img, 127))) for i, img in enumerate(images))]
        extra = {"per": float(np.mean(per))}
        if fading is not None:
            extra.update(channel=fading.model, speed_kmh=fading.speed_mps * 3.6)
        rows += [_row(name, "snr", snr, scores[name], extra) for name in systems]
    return rows


def timing_rows(systems: dict, img, n=20) -> list[dict]:
    """Encode and decode times of one image, the systems taking turns (A B C A B C ...): wall clock,
    and the decoder's CPU time (this process, all its threads; what other jobs on the machine
    take does not count)."""
    te = {name: [] for name in systems}
    td = {name: [] for name in systems}
    tc = {name: [] for name in systems}
    for name, s in systems.items():  # warm-up (numba, torch)
        s.decode(*s.encode(img))
    for _ in range(n):
        for name, s in systems.items():
            t0 = time.perf_counter()
            header, packets = s.encode(img)
            t1 = time.perf_counter()
            c1 = time.process_time()
            s.decode(header, packets)
            tc[name].append(time.process_time() - c1)
            te[name].append(t1 - t0)
            td[name].append(time.perf_counter() - t1)
    rows = []
    for name in systems:
        row = {"system": name, "sweep": "timing", "x": SIZE, "turns": n}
        for key, t in (("encode_ms", te[name]), ("decode_ms", td[name]), ("decode_cpu_ms", tc[name])):
            row.update({key: 1e3 * float(np.median(t)), key + "_min": 1e3 * float(np.min(t)),
                        key + "_max": 1e3 * float(np.max(t))})
        rows.append(row)
    return rows


LABELS = {"codec_v4": "codec v4", "codec_v3": "codec v3", "codec_v2": "codec v2", "codec_v1": "codec v1 (latent)",
          "jpeg": "JPEG, one stream", "webp": "WebP, one stream", "webp_tiles": "WebP, tile per packet",
          "jpeg_rst": "JPEG, restart per packet"}
STYLE = {"jpeg": "s:", "webp": "^--", "webp_tiles": "v--", "jpeg_rst": "D--"}


def plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = list(dict.fromkeys(r["system"] for r in rows if r["sweep"] != "timing"))
    panels = [("rate", 0.0, "psnr_db"), ("rate", 0.1, "psnr_db"), ("rate", 0.3, "psnr_db"), ("snr", None, "psnr_db"),
              ("rate", 0.0, "ms_ssim"), ("rate", 0.0, "st_lpips"), ("loss", None, "psnr_db"), ("loss", None, "st_lpips")]
    panels = [p for p in panels if any(r["sweep"] == p[0] and p[2] in r for r in rows)]
    if not panels:  # timing only: nothing to draw
        return
    cols = min(4, len(panels))
    fig, axes = plt.subplots(-(-len(panels) // cols), cols, figsize=(4.2 * cols, 3.6 * -(-len(panels) // cols)),
                             squeeze=False)
    xlabels = {"rate": "bit/pixel", "snr": "SNR (dB, in-band), QPSK", "loss": "packet loss rate (0.75 bit/pixel)"}
    faded = next((r for r in rows if r["sweep"] == "snr" and "channel" in r), None)
    if faded is not None:  # --channel: Sionna's fading
        xlabels["snr"] += f", {faded['channel'].upper()} {faded['speed_kmh']:g} km/h"
    for ax, (sweep, loss, metric) in zip(axes.flat, panels):
        for system in systems:
            pts = sorted((r["x"], r[metric]) for r in rows if r["sweep"] == sweep and r["system"] == system
                         and metric in r and (loss is None or r.get("loss") == loss))
            if pts:
                ax.plot(*zip(*pts), STYLE.get(system, "o-"), label=LABELS.get(system, system), ms=4)
        title = {"psnr_db": "PSNR (dB)", "ms_ssim": "MS-SSIM", "st_lpips": "ST-LPIPS (lower is better)"}[metric]
        ax.set(xlabel=xlabels[sweep], title=title + (f", packet loss {loss:g}" if loss is not None else ""))
        ax.grid(alpha=0.3)
    legend = {}
    for ax in axes.flat:  # every system once (codec v1 appears only in the loss and SNR panels)
        for h, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, h)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    spare = list(axes.flat)[len(panels):]
    (spare[0] if spare else axes.flat[0]).legend(legend.values(), legend.keys(), fontsize=8, loc="center")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def print_tables(rows) -> None:
    names = list(dict.fromkeys(r["system"] for r in rows if r["sweep"] != "timing"))
    for r in (r for r in rows if r["sweep"] == "timing"):
        print(f"{r['system']:>11}: encode {r['encode_ms']:.1f} ({r['encode_ms_min']:.1f}-{r['encode_ms_max']:.1f}) ms, "
              f"decode {r['decode_ms']:.1f} ({r['decode_ms_min']:.1f}-{r['decode_ms_max']:.1f}) ms, "
              f"decode CPU {r['decode_cpu_ms']:.1f} ({r['decode_cpu_ms_min']:.1f}-{r['decode_cpu_ms_max']:.1f}) ms "
              f"(median of {r['turns']}, range)")
    keys = sorted({(r["sweep"], r.get("loss")) for r in rows if r["sweep"] != "timing"}, key=str)
    for sweep, loss in keys:
        sel = [r for r in rows if r["sweep"] == sweep and r.get("loss") == loss]
        for metric in METRICS:
            if metric not in sel[0]:
                continue
            print(f"\n{sweep}{'' if loss is None else f' (loss {loss:g})'}: {metric}")
            print(f"{'x':>6}" + "".join(f"{n:>12}" for n in names) + ("     PER" if "per" in sel[0] else ""))
            for x in sorted({r["x"] for r in sel}):
                got = {r["system"]: r for r in sel if r["x"] == x}
                fmt = "{:>12.2f}" if metric == "psnr_db" else "{:>12.4f}"
                line = f"{x:>6g}" + "".join(fmt.format(got[n][metric]) if n in got else f"{'':>12}" for n in names)
                print(line + (f"{next(iter(got.values()))['per']:>8.3f}" if "per" in sel[0] else ""))


def markdown(rows, sweep: str, metric: str, loss: float | None = None) -> str:
    """One sweep's metric as a markdown table (systems as rows), the best of each column in bold."""
    sel = [r for r in rows if r["sweep"] == sweep and r.get("loss") == loss and metric in r]
    if not sel:
        return ""
    xs = sorted({r["x"] for r in sel})
    names = list(dict.fromkeys(r["system"] for r in sel))
    best = min if metric == "st_lpips" else max
    fmt = "{:.2f}" if metric == "psnr_db" else "{:.3f}"
    head = {"rate": "bit/pixel", "loss": "packet loss", "snr": "SNR (dB)"}[sweep]
    lines = [f"| {head} | " + " | ".join(f"{x:g}" for x in xs) + " |", "| --- |" + " ---: |" * len(xs)]
    if sweep == "snr":
        lines.append("| PER | " + " | ".join(f"{next(r['per'] for r in sel if r['x'] == x):.2f}" for x in xs) + " |")
    for n in names:
        cells = []
        for x in xs:
            col = {r["system"]: r[metric] for r in sel if r["x"] == x}
            v = fmt.format(col[n])
            cells.append(f"**{v}**" if fmt.format(best(col.values())) == v else v)
        lines.append(f"| {LABELS.get(n, n)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/bench")
    ap.add_argument("--quick", action="store_true", help="fewer points and trials (a smoke run)")
    ap.add_argument("--names", default="codec_v4,codec_v3,codec_v1", help="codecs in models/ (the first sets the budgets)")
    ap.add_argument("--images", type=Path, help="a folder of images instead of the held-out photos")
    ap.add_argument("--sweeps", default="rate,loss,snr,timing")
    ap.add_argument("--channel", help="the SNR sweep through Sionna's fading instead of the standard impairments: "
                                      "rayleigh, tdl-a .. tdl-e, cdl-a .. cdl-e (.venv-sionna; delay spread 300 ns, "
                                      "2.4 GHz)")
    ap.add_argument("--speed", type=float, default=3.0, help="with --channel: receiver speed, km/h (default 3)")
    ap.add_argument("--snrs", help="the SNR sweep's points, comma-separated dB (default: 2 ... 12)")
    ap.add_argument("--repeats", type=int, help="the SNR sweep's channel realisations per point (default 4)")
    args = ap.parse_args(argv)
    fading = None
    if args.channel:
        from sdr_semcom.channels.spec import MODELS, FadingSpec

        if args.channel not in MODELS:
            ap.error(f"--channel: unknown {args.channel!r}; valid values: {', '.join(MODELS)}")
        fading = FadingSpec(args.channel, speed_mps=args.speed / 3.6)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names, sweeps = args.names.split(","), set(args.sweeps.split(","))
    source = folder_images(args.images) if args.images else held_out_images()
    images = [_square(i) for i in source.values()]
    print(f"{len(images)} images ({', '.join(source)}) at {SIZE} x {SIZE}")
    systems = systems_for(names)
    score = Scorer(level=2)
    rows = []
    if "timing" in sweeps:
        rows += timing_rows(systems, images[0], n=5 if args.quick else 20)
    if "rate" in sweeps:
        rows += rate_rows(names, images, (0.0, 0.1, 0.3), 1 if args.quick else 3, score)
    if "loss" in sweeps:
        rates = [0, 0.1, 0.3] if args.quick else [0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7]
        rows += loss_rows(systems, images, rates, 2 if args.quick else 6, lambda a, b, level: score(a, b, 0))
    if "snr" in sweeps:
        snrs = [3, 4, 6, 10] if args.quick else [2, 3, 3.5, 4, 4.5, 5, 6, 8, 12]
        if fading is not None:  # fading needs more SNR (benchmarks/fading_bench.py)
            snrs = [8, 16, 30] if args.quick else [4, 8, 12, 16, 20, 30]
        if args.snrs:
            snrs = [float(x) for x in args.snrs.split(",")]
        rows += snr_rows(systems, images, snrs, args.repeats or (1 if args.quick else 4), fading)
    for r in rows:
        r["image_set"] = str(args.images) if args.images else "held-out"
    print_tables(rows)
    for sweep, metric, loss in (("rate", "psnr_db", 0.0), ("rate", "ms_ssim", 0.0), ("rate", "st_lpips", 0.0),
                                ("rate", "psnr_db", 0.1), ("rate", "psnr_db", 0.3), ("rate", "ms_ssim", 0.1),
                                ("rate", "ms_ssim", 0.3), ("loss", "psnr_db", None), ("snr", "psnr_db", None)):
        table = markdown(rows, sweep, metric, loss)
        if table:
            print(f"\n{sweep} {metric}" + ("" if loss is None else f" at packet loss {loss:g}") + f"\n{table}")
    save(rows, out, "codec_bench", plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
