"""Source block: frames in (Python calls or PDUs), OFDM bursts out."""

from __future__ import annotations

import collections
import threading
import time

import numpy as np
import pmt
from gnuradio import gr

from ..phy import ofdm
from ..phy.mapping import Modulation
from .pdu import pdu_bytes
from .buffers import big_output_buffer
from .eot_watch import EOT


class BurstSource(gr.sync_block):
    """Emits one OFDM burst per frame, separated by ``gap`` zeros.

    Parameters
    ----------
    modulation : str
        ``bpsk``, ``qpsk`` or ``16qam``.
    gap : int
        Zero samples after each burst.
    tail : int
        Zero samples after the ``eot`` tag that ends a closed transmission, so that
        blocks with history (resamplers, filters) push the tag out.

    Input
    -----
    Frames through :meth:`send`, or PDUs (u8 vectors) on message port ``frames``. They are
    queued as bytes and modulated in the scheduler's thread when their turn comes, as many at
    a time as fill the output buffer, so that modulation runs beside the blocks downstream
    (holding the GIL a few times per batch) and a long queue costs little memory.

    Output
    ------
    complex64 stream. After :meth:`close` and once every frame is out: an ``eot``
    stream tag, ``tail`` zeros, then the stream ends.
    """

    def __init__(self, modulation: str = "qpsk", gap: int = 400, tail: int = 4096) -> None:
        gr.sync_block.__init__(self, name="semcom_burst_source", in_sig=None, out_sig=[np.complex64])
        big_output_buffer(self)
        self.mod = Modulation.parse(modulation)
        self.gap = int(gap)
        self.tail = int(tail)
        self._queue: collections.deque[bytes] = collections.deque()
        self._burst = np.zeros(0, np.complex64)  # the burst being written out, from _pos on
        self._pos = 0
        self._lock = threading.Lock()
        self._closed = False
        self._eot_sent = False
        self._left = 0
        self.message_port_register_in(pmt.intern("frames"))
        self.set_msg_handler(pmt.intern("frames"), self._on_pdu)

    @classmethod
    def from_files(cls, paths, modulation: str = "qpsk", gap: int = 400, mtu: int = 1024) -> "BurstSource":
        """A source that sends each file as one message (fragmented), then ends the stream.

        This is what the GRC flowgraphs use; the CLI's ``tx`` sends images instead.
        """
        from ..phy.framing import PayloadType

        src = cls(modulation, gap)
        messages = []
        for path in paths:
            with open(path, "rb") as fh:
                messages.append((fh.read(), PayloadType.RAW))
        src.transmit(messages, mtu)
        return src

    def transmit(self, messages, mtu: int):
        """Queue whole messages (``(bytes or list of chunks, PayloadType)``), the END frame, and close.

        Returns the :class:`~sdr_semcom.link.endpoints.LinkTransmitter` that numbered the frames.
        """
        from ..link.endpoints import LinkTransmitter

        tx = LinkTransmitter(mtu)
        for data, ptype in messages:
            for frame in tx.frames(data, ptype):
                self.send(frame)
        self.send(tx.end_frame())
        self.close()
        return tx

    def send(self, frame: bytes) -> None:
        """Queue one frame (checked now: ValueError where no burst can carry it)."""
        if not 1 <= len(frame) <= ofdm.MAX_FRAME_BYTES:
            raise ValueError(f"burst payload must be 1..{ofdm.MAX_FRAME_BYTES} bytes, got {len(frame)}")
        with self._lock:
            self._queue.append(bytes(frame))

    def close(self) -> None:
        """No more frames: end the stream once the queue is drained."""
        with self._lock:
            self._closed = True

    def _on_pdu(self, msg) -> None:
        self.send(pdu_bytes(msg))

    #: Frames modulated per batch: 8 is 20 % faster per frame than 1 (measured), 32 twice slower
    #: (the batch's arrays no longer fit the cache).
    BATCH = 8

    def _next_bursts(self, space: int) -> bool:
        """Modulate the next queued frames, as many as fill ``space`` samples (at least one, at
        most :attr:`BATCH`), into ``_burst`` (:func:`~sdr_semcom.phy.ofdm.modulate_many`); False
        when the queue is empty."""
        frames, size = [], 0
        with self._lock:
            while self._queue and len(frames) < self.BATCH:
                n = ofdm.burst_len(len(self._queue[0]), self.mod) + self.gap
                if frames and size + n > space:
                    break
                frames.append(self._queue.popleft())
                size += n
        if not frames:
            return False
        self._burst, self._pos = ofdm.modulate_many(frames, self.mod, self.gap), 0
        return True

    def work(self, input_items, output_items):
        out = output_items[0]
        n = 0
        while n < len(out):
            if self._pos == self._burst.size and not self._next_bursts(len(out) - n):
                break
            k = min(len(out) - n, self._burst.size - self._pos)
            out[n : n + k] = self._burst[self._pos : self._pos + k]
            n += k
            self._pos += k
        with self._lock:
            drained = self._pos == self._burst.size and not self._queue and self._closed
        if drained and n < len(out):
            if not self._eot_sent:
                self.add_item_tag(0, self.nitems_written(0) + n, EOT, pmt.PMT_T)
                self._eot_sent = True
                self._left = self.tail
            k = min(len(out) - n, self._left)
            out[n : n + k] = 0
            n += k
            self._left -= k
            if n == 0 and self._left == 0:
                return -1  # WORK_DONE
        if n == 0:
            time.sleep(0.002)  # idle: nothing queued yet
        return n
