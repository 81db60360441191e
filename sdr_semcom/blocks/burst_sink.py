"""Sink block: samples in, decoded bursts out (callback and PDUs)."""

from __future__ import annotations

import logging
import threading
from typing import Callable

import numpy as np
import pmt
from gnuradio import gr

from ..phy.ofdm import BurstReceiver, RxBurst
from .pdu import to_pdu
from .eot_watch import EOT

log = logging.getLogger(__name__)
FRAMES = pmt.intern("frames")


class BurstSink(gr.sync_block):
    """Runs a :class:`~sdr_semcom.phy.ofdm.BurstReceiver` on its input stream.

    Parameters
    ----------
    on_burst : callable, optional
        Called with every :class:`RxBurst` (decoded or not), in the scheduler's thread.
    receiver : BurstReceiver, optional
        Receiver to use (default settings otherwise).

    Input
    -----
    complex64 stream.

    Output
    ------
    Message port ``frames``: a PDU (u8 vector) per burst that decoded.
    :attr:`eot` is set when the ``eot`` stream tag has gone through.
    """

    def __init__(self, on_burst: Callable[[RxBurst], None] | None = None, receiver: BurstReceiver | None = None):
        gr.sync_block.__init__(self, name="semcom_burst_sink", in_sig=[np.complex64], out_sig=None)
        self.receiver = receiver or BurstReceiver()
        self.on_burst = on_burst
        self.eot = threading.Event()
        self._flushed = False
        self._on_stop: Callable[[], None] | None = None
        self.message_port_register_out(FRAMES)

    @classmethod
    def saving(cls, out_dir: str, role: str = "auth", mtu: int = 1024) -> "BurstSink":
        """A sink that writes what it received (files + report.json) into ``out_dir`` when stopped."""
        from pathlib import Path

        from ..link.endpoints import LinkReceiver
        from ..report import save_received, write_json

        receiver = LinkReceiver(role)
        sink = cls(on_burst=receiver.push)

        def save() -> None:
            receiver.finish()
            report = receiver.report(sink.receiver.stats, None, 0.0, None)
            report["messages"] = save_received(receiver, Path(out_dir), mtu)
            write_json(Path(out_dir) / "report.json", report)

        sink._on_stop = save
        return sink

    def _emit(self, bursts: list[RxBurst]) -> None:
        if not bursts:
            return
        listened = not pmt.is_null(self.message_subscribers(FRAMES))  # a PDU costs ~8 us: only when heard
        for b in bursts:
            if self.on_burst is not None:
                self.on_burst(b)
            if b.payload is not None and listened:
                self.message_port_pub(FRAMES, to_pdu(b.payload))

    def work(self, input_items, output_items):
        x = input_items[0]
        n = len(x)
        tags = self.get_tags_in_window(0, 0, n, EOT)
        self._emit(self.receiver.feed(x))
        if tags and not self.eot.is_set():
            self.flush()
            self.eot.set()
        return n

    def flush(self) -> None:
        """Decode what is left in the buffer (once)."""
        if not self._flushed:
            self._flushed = True
            self._emit(self.receiver.flush())

    def stop(self) -> bool:
        self.flush()
        if self._on_stop is not None:
            try:
                self._on_stop()
            except Exception:  # an exception here would abort the whole process
                log.exception("semcom_burst_sink: saving what was received failed")
            self._on_stop = None
        return True
