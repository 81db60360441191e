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
from .stream_guard import EOT, big_output_buffer


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
    Frames through :meth:`send`, or PDUs (u8 vectors) on message port ``frames``.

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
        self._queue: collections.deque[np.ndarray] = collections.deque()
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
        """Queue one frame (a burst is made now, in the caller's thread)."""
        burst = ofdm.modulate(frame, self.mod)
        with self._lock:
            self._queue.append(np.concatenate([burst, np.zeros(self.gap, np.complex64)]))

    def close(self) -> None:
        """No more frames: end the stream once the queue is drained."""
        with self._lock:
            self._closed = True

    def _on_pdu(self, msg) -> None:
        self.send(pdu_bytes(msg))

    def work(self, input_items, output_items):
        out = output_items[0]
        n = 0
        with self._lock:
            while n < len(out) and self._queue:
                head = self._queue[0]
                k = min(len(out) - n, head.size)
                out[n : n + k] = head[:k]
                n += k
                if k == head.size:
                    self._queue.popleft()
                else:
                    self._queue[0] = head[k:]
            drained = not self._queue and self._closed
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
