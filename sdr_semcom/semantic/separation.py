"""Separation baselines: standard image codecs at a given byte budget, cut into the same packets
as a semantic codec's, each an :class:`~.api.ImageCodec` so they travel over the same link.

============== ============================================================================
name           what a packet holds, and what a lost packet costs
============== ============================================================================
``jpeg``       a slice of one JPEG file (today's baseline, :mod:`.baseline`): the first loss
               breaks the rest of the stream
``webp``       a slice of one WebP file: any loss loses the image (grey)
``webp_tiles`` one independently coded WebP tile (a ``rows x cols`` grid, one tile per packet,
               one quality for all): a lost tile is filled from its neighbours (:func:`.conceal.fill`)
``jpeg_rst``   whole restart intervals of one baseline JPEG (standard Huffman tables, so the
               receiver rebuilds the file's header from the quality and size in the image header
               and no tables travel), the intervals of a packet contiguous: a lost packet is a
               run of lost MCUs, filled from the neighbours
============== ============================================================================

``encode(img, budget, n_packets, largest)``: the highest quality whose packets together fit
``budget`` bytes with none over ``largest``; without arguments the budget is ``bpp`` bits per
pixel in packets of ``packet_bytes`` on average (as codec v2 sizes its own). The benchmark gives
each baseline exactly the bytes and packet count codec v2 used for that image.
"""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

from . import baseline
from .api import GREY, DecodeInfo, ImageHeader
from .conceal import fill
from .data import to_rgb

_RST = [bytes([0xFF, 0xD0 + i]) for i in range(8)]
_PACKET = struct.Struct(">H")  # jpeg_rst: index of the packet's first restart interval


def _grey(h: int, w: int) -> np.ndarray:
    return np.full((h, w, 3), GREY, np.uint8)


def _info(header: ImageHeader, packets: list, got: int, fraction: float) -> DecodeInfo:
    return DecodeInfo(header.n_packets, got, max(len(packets) - header.n_packets, 0), fraction, got == 0)


def tile_grid(n: int) -> tuple[int, int]:
    """rows x cols = n tiles, as square as n allows (rows <= cols)."""
    rows = max(r for r in range(1, int(np.sqrt(n)) + 1) if n % r == 0)
    return rows, n // rows


class _Budgeted:
    """What all the baselines share: the default budget and the quality search."""

    name = "baseline"
    qualities = (1, 95)  # integer quality range searched

    def __init__(self, bpp: float = 0.75, packet_bytes: int = 512) -> None:
        self.bpp, self.packet_bytes = bpp, packet_bytes
        self.id = self.name

    def _defaults(self, h, w, budget, n_packets, largest):
        budget = budget or max(int(np.ceil(self.bpp * h * w / 8)), 1)
        n_packets = n_packets or max(1, -(-budget // self.packet_bytes))
        return budget, n_packets, largest or 3 * -(-budget // n_packets) // 2

    def _search(self, make, budget: int, largest: int):
        """Bisection on quality: the highest whose packets fit; the lowest when none does."""
        lo, hi = self.qualities
        best = None
        while lo <= hi:
            q = (lo + hi) // 2
            packets = make(q)
            if sum(map(len, packets)) <= budget and max(map(len, packets)) <= largest:
                best, lo = (q, packets), q + 1
            else:
                hi = q - 1
        return best or (self.qualities[0], make(self.qualities[0]))

    def _check(self, header: ImageHeader) -> None:
        if header.codec != self.id:
            raise ValueError(f"features were made by {header.codec}, this receiver has {self.id}")


class JpegStream(_Budgeted):
    """Today's baseline: one JPEG (optimised tables, in the file) cut into near-equal slices."""

    name = "jpeg"

    def encode(self, img, budget=None, n_packets=None, largest=None):
        rgb = to_rgb(img)
        h, w = rgb.shape[:2]
        budget, n_packets, _ = self._defaults(h, w, budget, n_packets, largest)
        packets = baseline.packets_for(rgb, budget, n_packets)
        return ImageHeader(self.id, h, w, 1, 1, 3, len(packets[0]), len(packets)), packets

    def decode(self, header, packets):
        self._check(header)
        packets = list(packets[: header.n_packets])
        got = sum(p is not None for p in packets)
        out = baseline.decode_packets(packets, (header.height, header.width), header.bits)
        return out, _info(header, packets, got, got / header.n_packets)


def _webp(rgb: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "WEBP", quality=quality, method=6)
    return buf.getvalue()


def _open(data: bytes, h: int, w: int) -> np.ndarray | None:
    try:
        with Image.open(io.BytesIO(data)) as im:
            out = np.asarray(im.convert("RGB"))
    except Exception:  # noqa: BLE001 - any decoder failure means the picture is lost
        return None
    return out if out.shape[:2] == (h, w) else None


class WebpStream(_Budgeted):
    """One WebP file (libwebp, ``method=6``) cut into near-equal slices; a loss loses the image."""

    name = "webp"
    qualities = (0, 100)

    def encode(self, img, budget=None, n_packets=None, largest=None):
        rgb = to_rgb(img)
        h, w = rgb.shape[:2]
        budget, n_packets, largest = self._defaults(h, w, budget, n_packets, largest)

        def make(q):
            data = _webp(rgb, q)
            size = -(-len(data) // n_packets)
            return [data[i * size : (i + 1) * size] for i in range(n_packets)]

        q, packets = self._search(make, budget, largest)
        return ImageHeader(self.id, h, w, 1, 1, 3, 0, n_packets, quant=q), packets

    def decode(self, header, packets):
        self._check(header)
        packets = list(packets[: header.n_packets]) + [None] * max(header.n_packets - len(packets), 0)
        got = sum(p is not None for p in packets)
        out = _open(b"".join(p for p in packets if p is not None), header.height, header.width) \
            if got == header.n_packets else None
        return (out if out is not None else _grey(header.height, header.width)), \
            _info(header, packets, got, float(out is not None))


class WebpTiles(_Budgeted):
    """One independent WebP per tile, one tile per packet, one quality for all tiles; lost tiles
    are filled from their neighbours (:func:`.conceal.fill`). ``grid_h x grid_w`` tiles."""

    name = "webp_tiles"
    qualities = (0, 100)

    @staticmethod
    def _edges(h, w, rows, cols):
        return np.linspace(0, h, rows + 1).round().astype(int), np.linspace(0, w, cols + 1).round().astype(int)

    def encode(self, img, budget=None, n_packets=None, largest=None):
        rgb = to_rgb(img)
        h, w = rgb.shape[:2]
        budget, n_packets, largest = self._defaults(h, w, budget, n_packets, largest)
        rows, cols = tile_grid(n_packets)
        ys, xs = self._edges(h, w, rows, cols)
        tiles = [np.ascontiguousarray(rgb[ys[r] : ys[r + 1], xs[c] : xs[c + 1]]) for r in range(rows)
                 for c in range(cols)]
        q, packets = self._search(lambda q: [_webp(t, q) for t in tiles], budget, largest)
        return ImageHeader(self.id, h, w, rows, cols, 3, 0, n_packets, quant=q), packets

    def decode(self, header, packets):
        self._check(header)
        h, w, rows, cols = header.height, header.width, header.grid_h, header.grid_w
        if rows * cols != header.n_packets:
            raise ValueError("image header does not describe a WebP tile grid")
        ys, xs = self._edges(h, w, rows, cols)
        out, known = _grey(h, w), np.zeros((h, w), bool)
        got = 0
        for k, pkt in enumerate(packets[: header.n_packets]):
            r, c = divmod(k, cols)
            th, tw = ys[r + 1] - ys[r], xs[c + 1] - xs[c]
            tile = _open(pkt, th, tw) if pkt is not None else None
            if tile is not None:
                out[ys[r] : ys[r + 1], xs[c] : xs[c + 1]] = tile
                known[ys[r] : ys[r + 1], xs[c] : xs[c + 1]] = True
                got += 1
        return fill(out, known), _info(header, packets, got, float(known.mean()))


def _jpeg(rgb: np.ndarray, quality: int, interval: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality, optimize=False, subsampling="4:2:0",
                              restart_marker_blocks=interval)
    return buf.getvalue()


def _split_scan(data: bytes) -> tuple[bytes, list[bytes]]:
    """A baseline JPEG with restart markers -> (everything up to the scan data, the entropy-coded
    segments of the restart intervals, markers removed). 0xFF00 (stuffing) is not a marker."""
    sos = data.index(b"\xff\xda")
    start = sos + 2 + struct.unpack(">H", data[sos + 2 : sos + 4])[0]
    scan = data[start : data.rindex(b"\xff\xd9")]
    segments, pos = [], 0
    for i in range(len(scan) - 1):
        if scan[i] == 0xFF and 0xD0 <= scan[i + 1] <= 0xD7:
            segments.append(scan[pos:i])
            pos = i + 2
    segments.append(scan[pos:])
    return data[:start], segments


class JpegRestart(_Budgeted):
    """Baseline JPEG (4:2:0, standard Huffman tables) with a restart marker every ``interval``
    MCUs; each packet carries whole intervals (contiguous, split where the bytes balance) behind a
    2-byte index of its first interval. The receiver rebuilds the header from the quality, puts a
    blank interval where a packet was lost, decodes, and fills the lost MCUs from their neighbours.

    In the :class:`~.api.ImageHeader`: ``grid_h x grid_w`` MCUs, ``bits`` the interval (MCUs),
    ``quant`` the quality.
    """

    name = "jpeg_rst"

    def __init__(self, bpp: float = 0.75, packet_bytes: int = 512, interval: int = 4) -> None:
        super().__init__(bpp, packet_bytes)
        self.interval = interval

    def _packets(self, data: bytes, n_packets: int) -> list[bytes]:
        _, segs = _split_scan(data)
        n_packets = min(n_packets, len(segs))
        ends = np.cumsum([len(s) + 2 for s in segs])
        cuts = [0] + [int(np.searchsorted(ends, ends[-1] * k / n_packets)) + 1 for k in range(1, n_packets)] \
            + [len(segs)]
        cuts = np.maximum.accumulate(np.minimum(cuts, len(segs)))
        return [_PACKET.pack(a) + b"".join(s + _RST[(a + i) % 8] for i, s in enumerate(segs[a:b]))[:-2]
                for a, b in zip(cuts[:-1], cuts[1:])]

    def encode(self, img, budget=None, n_packets=None, largest=None):
        rgb = to_rgb(img)
        h, w = rgb.shape[:2]
        budget, n_packets, largest = self._defaults(h, w, budget, n_packets, largest)
        # packets with no interval (tiny images) are sent empty so that the count matches
        q, packets = self._search(lambda q: self._pad(self._packets(_jpeg(rgb, q, self.interval), n_packets),
                                                      n_packets), budget, largest)
        return ImageHeader(self.id, h, w, -(-h // 16), -(-w // 16), 3, self.interval, n_packets, quant=q), packets

    @staticmethod
    def _pad(packets, n):
        return packets + [b""] * (n - len(packets))

    def decode(self, header, packets):
        self._check(header)
        h, w, interval = header.height, header.width, header.bits
        n_mcu = header.grid_h * header.grid_w
        if not (interval > 0 and 1 <= header.quant <= 100 and (header.grid_h, header.grid_w) == (-(-h // 16),
                                                                                                    -(-w // 16))):
            raise ValueError("image header does not describe a restart-marker JPEG")
        head, blank = _split_scan(_jpeg(_grey(h, w), header.quant, interval))
        segs: list[bytes | None] = [None] * len(blank)
        got = 0
        for pkt in packets[: header.n_packets]:
            if pkt is None or len(pkt) < _PACKET.size:
                continue
            first = _PACKET.unpack_from(pkt)[0]
            _, mine = _split_scan(b"\xff\xda\x00\x02" + pkt[_PACKET.size :] + b"\xff\xd9")
            for i, s in enumerate(mine[: max(len(segs) - first, 0)]):
                segs[first + i] = s
            got += 1
        known_mcu = np.repeat([s is not None for s in segs], interval)[:n_mcu]
        if not known_mcu.any():
            return _grey(h, w), _info(header, packets, 0, 0.0)
        scan = b"".join((s if s is not None else b) + _RST[i % 8] for i, (s, b) in enumerate(zip(segs, blank)))
        out = _open(head + scan[:-2] + b"\xff\xd9", h, w)
        if out is None:
            return _grey(h, w), _info(header, packets, 0, 0.0)
        known = np.repeat(np.repeat(known_mcu.reshape(header.grid_h, header.grid_w), 16, 0), 16, 1)[:h, :w]
        return fill(out, known), _info(header, packets, got, float(known_mcu.mean()))


SYSTEMS = {cls.name: cls for cls in (JpegStream, WebpStream, WebpTiles, JpegRestart)}


class AtBudget:
    """A baseline of :data:`SYSTEMS` held to one image's budget, as an :class:`~.api.ImageCodec`: every
    ``encode`` gets at most ``budget`` bytes in ``n_packets`` packets, none over ``largest`` (what the
    semantic codec spent on that image: ``sdr-semcom eval --codec-baselines``).

    Parameters
    ----------
    base : one of :data:`SYSTEMS`' classes, built
    budget, n_packets, largest : int
        Bytes in all, packets, bytes of the largest packet.
    """

    def __init__(self, base, budget: int, n_packets: int, largest: int) -> None:
        if min(budget, n_packets, largest) < 1:
            raise ValueError(f"budget {budget} B in {n_packets} packets (largest {largest} B): all must be >= 1")
        self.base, self.budget, self.n_packets, self.largest = base, budget, n_packets, largest
        self.id = base.id

    def encode(self, img):
        return self.base.encode(img, self.budget, self.n_packets, self.largest)

    def decode(self, header, packets):
        return self.base.decode(header, packets)
