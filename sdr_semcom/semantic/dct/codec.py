"""Codecs v2, v3 and v4: block-DCT transform coding with a learned entropy model and a learned decoder.

v3 is v2's bitstream with a decoder that keeps the decoded pixels at fine quantisers
(``artefact_quant``); v4 is v3 with entropy coder 4 (:mod:`.contexts`, ``coder``), whose shorter
code buys a finer quantiser at the same bytes. Below, what all three share.

Encoder (no learning, ~15 ms at 256x256): JPEG's transform (:mod:`.transform`), quantiser
scale chosen by bisection so that the packets fit the budget, MCUs spread over the
packets by a fixed interleaver, each packet arithmetic-coded on its own (:mod:`.entropy`)
from initial probabilities learned on the training images. No per-image tables travel: the
header is the image size, the scale and the packet count. With ``rd_choice`` (codec v4) the encoder
codes the image with each of :data:`CHOICES` (quantiser table set, dead zone), decodes each and keeps
the one nearest the image (the header's ``quant`` says which table set), then codes the chosen one again
with least-squares chroma (``fit_chroma``) and keeps that if nearer. Every encoder here quantises a packet
that is over the largest packet size again with larger dead zones (:data:`PACKET_DEADZONES`) before the
bisection takes a coarser scale for the whole image. None of this changes the bitstream or the decoder.

Decoder: each packet that arrives decodes alone to its MCUs (a packet that is malformed or
fails to parse is dropped and counted); the learned network (:mod:`.restore`) then removes
coding artefacts and fills the MCUs of the lost packets from their received neighbours.

``bpp`` sets the budget (bits per pixel of the original image), like the latent codec's
bandwidth ratio; the link carries ``ceil(budget / packet_bytes)`` packets.

In the :class:`~..api.ImageHeader`: ``grid_h x grid_w`` MCUs, ``planes`` 3 (Y, Cb, Cr),
``bits`` 0 (entropy-coded), ``quant`` the quantiser scale in thousandths (:data:`SCALE_UNIT`) plus
:data:`TABLES_UNIT` times the quantiser table set (an index into :data:`.transform.TABLE_SETS`; 0,
Annex K flattened, for codecs v2 and v3 and before codec v4 chose).
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch.nn import functional as F

from ..api import GREY, DecodeInfo, ImageHeader
from ..data import to_rgb
from ..interleave import packet_cells
from . import contexts, entropy, transform
from .restore import Restore, RestoreConfig

log = logging.getLogger(__name__)
SCALE_UNIT = 1000  # the header carries the quantiser scale in thousandths
SCALE_RANGE = (16, 30000)
TABLES_UNIT = 1 << 15  # header quant = scale + TABLES_UNIT * table set (scales stay below it)
#: What the encoder tries with ``rd_choice``: (table set, dead zone); measured on the held-out photos
#: and motorcycle_left at 0.25-1.5 bit/pixel, each choice is the best for some image and rate.
CHOICES = ((0, transform.DEADZONE), (0, 0.0), (1, transform.DEADZONE), (2, transform.DEADZONE))
#: Squared RGB error that a squared error of one coefficient of each block of an MCU (Y Y Y Y Cb Cr) makes,
#: relative to luma's: chroma is upsampled 2 x 2 (4 pixels per chroma sample) and reaches R, G, B by
#: :func:`.transform.ycc_to_rgb` (Cb: 0.344^2 + 1.772^2, Cr: 1.402^2 + 0.714^2, luma: 3).
RGB_WEIGHT = np.array([1.0, 1.0, 1.0, 1.0, 4 * (0.344136**2 + 1.772**2) / 3, 4 * (1.402**2 + 0.714136**2) / 3])
#: The default of the rate-distortion optimised quantisation (``rdoq``): Lagrange multiplier per bit, in
#: units of the squared mean luma quantiser step (``lam = RDOQ * mean(luma steps)^2``). Off: measured on
#: the training images it gains at most +0.003 dB (0.05) and loses from 0.1 up (benchmarks/rdoq_bench.py).
RDOQ = 0.0
#: Dead zones the encoder tries, in turn, on a packet that is over the largest packet size at the image's
#: quantiser (the decoder reads levels, not how they were rounded): detail concentrated in a few MCUs
#: then costs only their packets a coarser rounding, not the whole image a coarser quantiser.
PACKET_DEADZONES = (0.2, 0.3, 0.4, 0.5)
BISECTION_TOLERANCE = 0.01  # the bisection stops when the fitting and the failing log(scale) are this near
MAX_SIDE = 1 << 14  # a header claiming a larger image is refused (it would only allocate memory)
KEEP_MARGIN = 1  # below artefact_quant: pixels this near a lost MCU are the network's too


class DctCodec:
    """Encoder and decoder of codecs v2, v3 and v4 (an :class:`~..api.ImageCodec`).

    Parameters
    ----------
    probs : ndarray
        (3, N_CTX of the coder) initial probabilities of the arithmetic coder.
    restore : Restore
        The learned decoder network.
    name, sha256 : str
        Identify the weights (the header carries them: another codec refuses to decode).
    bpp : float
        Budget in bits per pixel.
    packet_bytes : int
        Mean packet size: the budget is cut into ``ceil(budget / packet_bytes)`` packets; one
        packet may reach 1.5 times this (so keep it under 2/3 of the link's MTU).
    artefact_quant : int
        From which quantiser scale (in the header's thousandths) the network also restores the MCUs
        that arrived. Codec v2: 0, always. Codec v3: 500; below it (finer steps, roughly above 0.6
        bit/pixel) the network's output is kept only in and within :data:`KEEP_MARGIN` pixels of
        lost MCUs, where it removes artefacts that the decoded pixels do not have, and without
        losses it does not run. The bitstream is the same either way.
    coder : int
        The entropy coder, part of the bitstream: 2 (codecs v2 and v3, :mod:`.entropy`, block by
        block) or 4 (codec v4, :mod:`.contexts`, MCU by MCU with neighbour-aware contexts).
    rd_choice : bool
        Encoder only: code each image with every one of :data:`CHOICES` and send the one whose
        decoded image is nearest (in squared error) to the original; ~4x the encoder's time. Off:
        table set 0 with :data:`.transform.DEADZONE`. Every decoder reads any table set.
    rdoq : float or None
        Encoder only: rate-distortion optimised quantisation (coder 4; :func:`.contexts.encode_mcus`)
        with Lagrange multiplier ``rdoq * mean(luma steps)^2`` per bit; 0: off. None (the default):
        :data:`RDOQ` with coder 4, off with coder 2 (its cost model is not written).
    fit_chroma : bool or None
        Encoder only: with ``rd_choice``, after the choice among :data:`CHOICES`, code the chosen one
        again with least-squares chroma (:func:`.transform.fitted_chroma`: the half-resolution samples
        whose upsampling by the decoder is nearest the full chroma, instead of 2 x 2 means) and keep it
        if its decoded image is nearer. None (the default): as ``rd_choice``.
    """

    CODERS = (2, 4)

    def __init__(self, probs: np.ndarray, restore: Restore, name: str = "codec_v2", sha256: str = "",
                 bpp: float = 0.75, packet_bytes: int = 512, artefact_quant: int = 0, coder: int = 2,
                 rd_choice: bool = False, rdoq: float | None = None,
                 fit_chroma: bool | None = None) -> None:
        if coder not in self.CODERS:
            raise ValueError(f"entropy coder {coder}: this version knows {self.CODERS}")
        n_ctx = contexts.N_CTX if coder == 4 else entropy.N_CTX
        if np.shape(probs) != (3, n_ctx):
            raise ValueError(f"initial probabilities of shape {np.shape(probs)}, coder {coder} needs (3, {n_ctx})")
        self.coder = coder
        self.probs = np.ascontiguousarray(probs, dtype=np.int64)
        self.restore = restore.eval()
        self.id = f"{name}:{sha256[:12]}"
        self.bpp = bpp
        self.packet_bytes = packet_bytes
        self.artefact_quant = int(artefact_quant)
        self.rd_choice = bool(rd_choice)
        self.fit_chroma = self.rd_choice if fit_chroma is None else bool(fit_chroma)
        if self.fit_chroma and not self.rd_choice:
            raise ValueError("fit_chroma is a choice of the rate-distortion choice: it needs rd_choice")
        self.rdoq = (RDOQ if coder == 4 else 0.0) if rdoq is None else float(rdoq)
        if not np.isfinite(self.rdoq) or self.rdoq < 0 or (self.rdoq > 0 and coder != 4):
            raise ValueError(f"rdoq {self.rdoq}: a finite multiplier >= 0, and > 0 only with entropy coder 4")

    # ------------------------------------------------------------------------------ encoder
    def _layout(self, h: int, w: int) -> tuple[int, int, int, list[np.ndarray]]:
        """(packet count, byte budget, largest packet, MCUs of each packet) for an H x W image."""
        ph, pw = transform.padded_shape(h, w)
        budget = max(int(np.ceil(self.bpp * h * w / 8)), 1)
        n_packets = max(1, -(-budget // self.packet_bytes))
        largest = self.packet_bytes * 3 // 2  # packets vary with content; the total is what is budgeted
        return n_packets, budget, largest, packet_cells((ph // 16) * (pw // 16), n_packets)

    def _code(self, q: np.ndarray, assign: list[np.ndarray], budget: int, largest: int, grid_w: int,
              scale: float, tables: int, coefs: np.ndarray | None = None) -> list[bytes] | None:
        """Arithmetic-code each packet; None as soon as the total or one packet is over. With ``coefs``
        (the unquantised coefficients), levels optimised where :attr:`rdoq`, and a packet over
        ``largest`` is quantised again with the dead zones of :data:`PACKET_DEADZONES` until it fits."""
        out = np.empty(largest + 16, np.uint8)
        counts = np.zeros((3, self.probs.shape[1], 2), np.int64)
        lam = self.rdoq * float(np.mean(transform.quant_tables(scale, tables)[0])) ** 2
        packets, total = [], 0
        for idx in assign:
            mine = None if coefs is None else coefs[idx]
            n = encode_packet(self.coder, q[idx], idx, grid_w, scale, self.probs, counts, out, tables, mine, lam)
            for deadzone in PACKET_DEADZONES if n > largest and coefs is not None else ():
                n = encode_packet(self.coder, transform.quantise(mine, scale, tables, deadzone), idx, grid_w, scale,
                                  self.probs, counts, out, tables, mine, lam)
                if n <= largest:
                    break
            total += n
            if n > largest or total > budget:
                return None
            packets.append(out[:n].tobytes())
        return packets

    def _fit(self, coefs: np.ndarray, tables: int, deadzone: float, layout: tuple, grid_w: int,
             lo: float, hi: float) -> tuple[int, list[bytes]] | None:
        """Bisection on log(scale) in [lo, hi]: the finest quantiser whose packets fit, within 1 %."""
        _, budget, largest, assign = layout
        best = None
        while hi - lo > BISECTION_TOLERANCE:
            mid = (lo + hi) / 2
            scale = int(round(np.exp(mid)))
            packets = self._code(transform.quantise(coefs, scale / SCALE_UNIT, tables, deadzone), assign, budget,
                                 largest, grid_w, scale / SCALE_UNIT, tables, coefs)
            if packets is None:
                lo = mid
            else:
                best, hi = (scale, packets), mid
        return best

    def encode(self, img: np.ndarray) -> tuple[ImageHeader, list[bytes]]:
        """Image (H, W[, 3 or 4]) uint8 -> header and packets (at most ``bpp * H * W / 8`` bytes in
        all, none over 1.5 ``packet_bytes``). An image that not even the coarsest quantiser brings within
        that (a tiny budget: a 16 x 16 image of noise at 0.75 bit/pixel) is sent at the coarsest, over it,
        with a logged warning naming the bytes, the budget and the largest packet."""
        rgb = to_rgb(img)
        h, w = rgb.shape[:2]
        ph, pw = transform.padded_shape(h, w)
        padded = np.pad(rgb, ((0, ph - h), (0, pw - w), (0, 0)), mode="edge")
        coefs = transform.forward(padded)
        layout = self._layout(h, w)
        full = np.log(SCALE_RANGE[0]), np.log(SCALE_RANGE[1])

        def header(scale: int, tables: int) -> ImageHeader:
            return ImageHeader(self.id, h, w, ph // 16, pw // 16, 3, 0, layout[0], quant=scale + TABLES_UNIT * tables)

        first = self._fit(coefs, *CHOICES[0], layout, pw // 16, *full)
        if first is None:  # even the coarsest quantiser does not fit: send it anyway, over budget, and say so
            coarsest = transform.quantise(coefs, SCALE_RANGE[1] / SCALE_UNIT)
            packets = self._code(coarsest, layout[3], 1 << 40, 1 << 20, pw // 16, SCALE_RANGE[1] / SCALE_UNIT, 0)
            log.warning("codec %s: even the coarsest quantiser is over the budget for a %d x %d image: %d B sent "
                        "for a budget of %d B, largest packet %d B (limit %d B)", self.id, h, w,
                        sum(map(len, packets)), layout[1], max(map(len, packets)), layout[2])
            return header(SCALE_RANGE[1], 0), packets
        best = header(first[0], 0), first[1]
        if not self.rd_choice:
            return best
        ref = rgb.astype(np.float64)
        err = np.mean((self.decode(*best)[0] - ref) ** 2)
        near = np.log(first[0])
        chosen = CHOICES[0]
        for tables, deadzone in CHOICES[1:]:  # the other choices' scales are within ~20 % of the first's
            got = self._fit(coefs, tables, deadzone, layout, pw // 16, near - 0.4, near + 0.4)
            if got is None:
                continue
            cand = header(got[0], tables), got[1]
            e = np.mean((self.decode(*cand)[0] - ref) ** 2)
            if e < err:
                best, err, chosen = cand, e, (tables, deadzone)
        if self.fit_chroma:  # the chosen table set and dead zone again, with least-squares chroma
            got = self._fit(transform.forward(padded, fit_chroma=True), *chosen, layout, pw // 16, near - 0.4,
                            near + 0.4)
            if got is not None:
                cand = header(got[0], chosen[0]), got[1]
                if np.mean((self.decode(*cand)[0] - ref) ** 2) < err:
                    best = cand
        return best

    # ------------------------------------------------------------------------------ decoder
    def decode(self, header: ImageHeader, packets: list[bytes | None]) -> tuple[np.ndarray, DecodeInfo]:
        """Header and packets (None where lost) -> RGB uint8 image of the original size."""
        if header.codec != self.id:
            raise ValueError(f"features were made by codec {header.codec}, this receiver has {self.id}")
        ph, pw = header.grid_h * 16, header.grid_w * 16
        if not isinstance(header.quant, int):
            raise ValueError("image header does not describe a codec-v2 image")
        scale, tables = header.quant % TABLES_UNIT, header.quant // TABLES_UNIT
        if (not (0 < scale and 0 < ph <= MAX_SIDE and 0 < pw <= MAX_SIDE and header.n_packets > 0)
                or (ph, pw) != transform.padded_shape(header.height, header.width)):
            raise ValueError("image header does not describe a codec-v2 image")
        if not 0 <= tables < len(transform.TABLE_SETS):
            raise ValueError(f"image header names quantiser table set {tables}: this version knows "
                             f"0-{len(transform.TABLE_SETS) - 1}")
        n_mcu = header.grid_h * header.grid_w
        q = np.zeros((n_mcu, transform.BLOCKS_PER_MCU, 64), np.int32)
        received = np.zeros(n_mcu, bool)
        dropped = ok = 0
        for pkt, idx in zip(packets, packet_cells(n_mcu, header.n_packets)):
            if pkt is None:
                continue
            coefs, bad = decode_packet(self.coder, np.frombuffer(pkt, np.uint8), idx, header.grid_w,
                                       scale / SCALE_UNIT, self.probs, tables)
            if bad or np.abs(coefs).max(initial=0) > 2048 * 8:
                dropped += 1
                continue
            q[idx] = coefs
            received[idx] = True
            ok += 1
        dropped += max(len(packets) - header.n_packets, 0)  # beyond the header's count: never decoded
        info = DecodeInfo(header.n_packets, ok, dropped, float(received.mean()), not received.any())
        if info.all_lost:
            return np.full((header.height, header.width, 3), GREY, np.uint8), info
        ycc, mask = transform.inverse(q, scale / SCALE_UNIT, received, (ph, pw), tables)
        rgb = np.clip(transform.ycc_to_rgb(ycc) / 255, 0, 1)
        lost_only = scale < self.artefact_quant
        if lost_only and received.all():
            img = (rgb * 255 + 0.5).astype(np.uint8)
            return img[: header.height, : header.width], info
        with torch.no_grad():
            x = torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1)[None]
            m = torch.from_numpy(mask.astype(np.float32))[None, None]
            y = self.restore(x * m, m)
            if lost_only:  # decoded pixels, except near a hole (chroma upsampling blends into it)
                keep = -F.max_pool2d(-m, 2 * KEEP_MARGIN + 1, 1, KEEP_MARGIN)
                y = x * keep + y * (1 - keep)
        img = (y[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
        return img[: header.height, : header.width], info

    # ------------------------------------------------------------------------------ weights
    def state(self) -> dict:
        return {"kind": "dct", "probs": torch.from_numpy(self.probs), "restore_config": self.restore.cfg.to_dict(),
                "state_dict": self.restore.state_dict(), "bpp": self.bpp, "packet_bytes": self.packet_bytes,
                **({"artefact_quant": self.artefact_quant} if self.artefact_quant else {}),
                **({"coder": self.coder} if self.coder != 2 else {}),
                **({"rd_choice": True} if self.rd_choice else {})}

    @classmethod
    def from_state(cls, blob: dict, name: str, sha256: str, **kw) -> "DctCodec":
        net = Restore(RestoreConfig(**blob["restore_config"]))
        net.load_state_dict(blob["state_dict"])
        opts = {"bpp": float(blob["bpp"]), "packet_bytes": int(blob["packet_bytes"]),
                "artefact_quant": int(blob.get("artefact_quant", 0)), "coder": int(blob.get("coder", 2)), "rd_choice": bool(blob.get("rd_choice", False)), **kw}
        return cls(blob["probs"].numpy(), net, name, sha256, **opts)


def encode_packet(coder: int, q: np.ndarray, cells: np.ndarray, grid_w: int, scale: float, probs: np.ndarray,
                  counts: np.ndarray, out: np.ndarray, tables: int = 0, coefs: np.ndarray | None = None,
                  lam: float = 0.0) -> int:
    """One packet's MCUs ``q`` (N, 6, 64) (grid cells ``cells``, sorted) arithmetic-coded into ``out``
    by entropy coder ``coder`` (2 or 4); returns the bytes written (over ``out.size``: did not fit).
    ``counts`` (3, contexts, 2) gathers the coder's decisions; ``scale`` is the quantiser's (coder 4
    predicts DCs in the pixel domain, by table set ``tables``).

    With ``lam > 0`` (coder 4 only) the levels are first optimised for rate and distortion
    (:func:`.contexts.encode_mcus`) from ``coefs`` (N, 6, 64), the unquantised coefficients, with
    Lagrange multiplier ``lam`` in squared luma-coefficient error per bit (chroma errors weighted by
    :data:`RGB_WEIGHT`); ``q`` (int32, contiguous) is then left holding the levels that were coded."""
    if coder == 4:
        ref, where = contexts.dc_references(cells, grid_w)
        if lam > 0:
            x = np.ascontiguousarray(coefs, np.float64)
            lams = lam / RGB_WEIGHT
        else:
            x, lams = np.zeros((0, 6, 64)), np.zeros(6)
        return int(contexts.encode_mcus(np.ascontiguousarray(q, np.int32), ref, where,
                                        transform.quant_tables(scale, tables), transform.ZIGZAG, transform.DCT_BASIS,
                                        contexts.start_probabilities(probs), counts, out, x, lams))
    if lam > 0:
        raise ValueError("rate-distortion optimised quantisation needs entropy coder 4")
    return int(entropy.encode_blocks(q.reshape(-1, 64), np.tile(transform.CHANNEL_OF_BLOCK, cells.size), probs,
                                     counts, out))


def decode_packet(coder: int, data: np.ndarray, cells: np.ndarray, grid_w: int, scale: float,
                  probs: np.ndarray, tables: int = 0) -> tuple[np.ndarray, bool]:
    """Inverse of :func:`encode_packet`: (N, 6, 64) int32 coefficients and whether the packet is corrupt."""
    if coder == 4:
        ref, where = contexts.dc_references(cells, grid_w)
        return contexts.decode_mcus(data, ref, where, transform.quant_tables(scale, tables), transform.ZIGZAG,
                                    transform.DCT_BASIS, contexts.start_probabilities(probs))
    coefs, bad = entropy.decode_blocks(data, np.tile(transform.CHANNEL_OF_BLOCK, cells.size), probs)
    return coefs.reshape(cells.size, transform.BLOCKS_PER_MCU, 64), bad
