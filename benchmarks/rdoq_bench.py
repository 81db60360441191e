"""Codec v4's rate-distortion optimised quantisation (RDOQ): PSNR at the same bytes, per multiplier.

Codes each image (centre-cropped, 256 x 256) at each budget with codec v4's encoder and RDOQ
multipliers ``--lams`` (0: off; :data:`sdr_semcom.semantic.dct.codec.RDOQ` is the default), decodes
with the unchanged decoder and prints PSNR (nothing lost), bytes and encoder time. ``--set train``
(the default) is how the multiplier was chosen; ``--set held-out`` or ``--images DIR`` measure it.

Usage: ``python benchmarks/rdoq_bench.py [--set train|held-out] [--images DIR] [--only a,b] [--lams 0,0.1]
[--rates 0.75,1] [--compare-chroma]`` (with ``--compare-chroma --lams 0,1``: the fitted-chroma choice off / on).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.codec_bench import _square  # noqa: E402
from sdr_semcom.semantic.data import folder_images, held_out_images, training_images  # noqa: E402
from sdr_semcom.semantic.metrics import psnr  # noqa: E402
from sdr_semcom.semantic.weights import load_codec  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", default="train", choices=("train", "held-out"))
    ap.add_argument("--images", type=Path, help="a folder of images instead")
    ap.add_argument("--only", help="comma-separated image names to keep")
    ap.add_argument("--name", default="codec_v4")
    ap.add_argument("--lams", default="0,0.05,0.1,0.2")
    ap.add_argument("--compare-chroma", action="store_true",
                    help="the variants are the fitted-chroma choice off (a 0 in --lams) or on (nonzero), RDOQ off")
    ap.add_argument("--rates", default="0.25,0.5,0.75,1.0,1.5")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    src = folder_images(args.images) if args.images else (training_images() if args.set == "train"
                                                          else held_out_images())
    if args.only:
        src = {k: v for k, v in src.items() if k in args.only.split(",")}
    images = {k: _square(v) for k, v in src.items()}
    lams = [float(x) for x in args.lams.split(",")]
    rates = [float(x) for x in args.rates.split(",")]
    print(f"{len(images)} images: {', '.join(images)}")
    res = {}
    for bpp in rates:
        if args.compare_chroma:
            codecs = {lam: load_codec(args.name, bpp=bpp, rdoq=0.0, fit_chroma=bool(lam)) for lam in lams}
        else:
            codecs = {lam: load_codec(args.name, bpp=bpp, rdoq=lam) for lam in lams}
        for name, img in images.items():
            for lam, c in codecs.items():
                t0 = time.perf_counter()
                header, packets = c.encode(img)
                dt = time.perf_counter() - t0
                out, _ = c.decode(header, packets)
                res[bpp, name, lam] = (psnr(img, out), sum(map(len, packets)), dt)
        line = f"{bpp:>5} bpp  " + "  ".join(
            f"lam {lam:g}: {np.mean([res[bpp, n, lam][0] for n in images]):.3f} dB "
            f"{np.mean([res[bpp, n, lam][1] for n in images]):.0f} B "
            f"{np.median([res[bpp, n, lam][2] for n in images]) * 1e3:.0f} ms" for lam in lams)
        print(line, flush=True)
        for n in images:
            print(f"      {n:>22}: " + "  ".join(f"{res[bpp, n, lam][0]:.2f}" for lam in lams), flush=True)
    print("\nmean gain over lam 0 (dB), all rates: " + "  ".join(
        f"{lam:g}: {np.mean([res[b, n, lam][0] - res[b, n, lams[0]][0] for b in rates for n in images]):+.3f}"
        for lam in lams))
    return 0


if __name__ == "__main__":
    sys.exit(main())
