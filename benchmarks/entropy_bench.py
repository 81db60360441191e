"""Entropy coders of the DCT codecs side by side: bytes for the same quantised coefficients.

Codec v3's coder (2, :mod:`sdr_semcom.semantic.dct.entropy`) and codec v4's (4,
:mod:`sdr_semcom.semantic.dct.contexts`), each with its committed initial probabilities, code the
same quantised MCUs of each image, cut into the same packets, at the quantiser scales and packet
counts the codecs use from 0.25 to 1.5 bit/pixel at 256 x 256; every coder-4 packet is decoded
back and checked. Images: the held-out photos or ``--images DIR``, centre-cropped to 256 x 256.

Usage: ``python benchmarks/entropy_bench.py [--images DIR]``. Prints one row per (packets, scale):
the bytes of each coder and the saving.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.codec_bench import _square  # noqa: E402
from sdr_semcom.semantic.data import folder_images, held_out_images  # noqa: E402
from sdr_semcom.semantic.dct import transform  # noqa: E402
from sdr_semcom.semantic.dct.codec import decode_packet, encode_packet  # noqa: E402
from sdr_semcom.semantic.interleave import packet_cells  # noqa: E402
from sdr_semcom.semantic.weights import load_codec  # noqa: E402

#: (packets, quantiser scale): about what codec v4 picks at 0.25, 0.5, 0.75, 1.0, 1.5 bit/pixel
POINTS = ((4, 2.4), (8, 1.2), (12, 0.8), (16, 0.6), (24, 0.3))


def coded_bytes(images: list[np.ndarray], coders: dict) -> list[dict]:
    """Per point of :data:`POINTS`, the bytes of each coder in ``coders`` (name -> codec) over ``images``."""
    out = np.empty(1 << 20, np.uint8)
    rows = []
    for n_packets, scale in POINTS:
        row = {"packets": n_packets, "scale": scale}
        for name, codec in coders.items():
            total = 0
            counts = np.zeros((3, codec.probs.shape[1], 2), np.int64)
            for img in images:
                q = transform.quantise(transform.forward(img), scale)
                for idx in packet_cells(len(q), n_packets):
                    n = encode_packet(codec.coder, q[idx], idx, img.shape[1] // 16, scale, codec.probs, counts, out)
                    got, bad = decode_packet(codec.coder, out[:n].copy(), idx, img.shape[1] // 16, scale, codec.probs)
                    if bad or not np.array_equal(got, q[idx]):
                        raise AssertionError(f"{name}: a packet did not decode back ({n_packets} packets, scale {scale})")
                    total += n
            row[name] = total
        rows.append(row)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=Path, help="a folder of images instead of the held-out photos")
    args = ap.parse_args(argv)
    source = folder_images(args.images) if args.images else held_out_images()
    images = [_square(i) for i in source.values()]
    coders = {"codec_v3": load_codec("codec_v3"), "codec_v4": load_codec("codec_v4")}
    print(f"{len(images)} images ({', '.join(source)}) at 256 x 256; bytes in all")
    print(f"{'packets':>8} {'scale':>6} {'coder 2 (v3)':>13} {'coder 4 (v4)':>13} {'saving':>7}")
    for r in coded_bytes(images, coders):
        saving = 100 * (1 - r["codec_v4"] / r["codec_v3"])
        print(f"{r['packets']:>8} {r['scale']:>6} {r['codec_v3']:>13} {r['codec_v4']:>13} {saving:>6.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
