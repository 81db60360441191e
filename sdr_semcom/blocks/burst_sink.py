"""Sink block: samples in, decoded bursts out (callback and PDUs), with what the receiver saw of each
burst (a message per burst, and optionally the equalised symbols as a tagged stream)."""

from __future__ import annotations

import collections
import logging
import threading
from typing import Callable

import numpy as np
import pmt
from gnuradio import gr

from ..phy.framing import parse_frame
from ..phy.mapping import Modulation
from ..phy.ofdm import BurstReceiver, RxBurst
from .eot_watch import EOT
from .pdu import to_pdu

log = logging.getLogger(__name__)
FRAMES = pmt.intern("frames")
BURSTS = pmt.intern("bursts")
#: Stream tag key at the first equalised symbol of each burst (value: :func:`burst_info`'s dict).
BURST_TAG = pmt.intern("burst")
_MOD_NAMES = {Modulation.BPSK: "bpsk", Modulation.QPSK: "qpsk", Modulation.QAM16: "16qam"}


def burst_info(b: RxBurst) -> dict:
    """What the receiver measured and read of one burst, as plain Python values.

    Output
    ------
    dict with ``start`` (sample index of the burst's STF in the sink's input), ``snr_db``
    (in-band, from the LTF), ``cfo`` (cycles per sample), ``clock_ppm``, the SIG field's
    ``modulation`` (``bpsk``, ``qpsk``, ``16qam``) and ``length`` (bytes), ``ok`` (the LDPC
    decoder converged on every codeword), ``crc_ok`` (the payload is a link frame whose
    header and CRC32 check) and ``n_symbols`` (equalised DATA-carrier symbols).
    """
    return {"start": int(b.start), "snr_db": float(b.snr_db), "cfo": float(b.cfo), "clock_ppm": float(b.clock_ppm),
            "modulation": _MOD_NAMES.get(b.modulation, ""),
            "length": int(b.length), "ok": b.payload is not None,
            "crc_ok": b.payload is not None and parse_frame(b.payload) is not None,
            "n_symbols": int(b.equalised.size)}


class BurstSink(gr.basic_block):
    """Runs a :class:`~sdr_semcom.phy.ofdm.BurstReceiver` on its input stream.

    Parameters
    ----------
    on_burst : callable, optional
        Called with every :class:`RxBurst` (decoded or not), in the scheduler's thread.
    receiver : BurstReceiver, optional
        Receiver to use (default settings otherwise).
    symbols_out : bool
        Give the block a stream output of equalised symbols (it must then be connected);
        off by default, and then the block has no output and costs nothing more.

    Input
    -----
    complex64 stream.

    Output
    ------
    Message port ``frames``: a PDU (u8 vector) per burst that decoded.
    Message port ``bursts``: a dict (:func:`burst_info`) per burst, decoded or not.
    With ``symbols_out``: complex64 stream of each burst's equalised DATA-carrier symbols, a
    ``burst`` tag with the same dict on its first one (for a constellation sink and a tag debug).
    :attr:`eot` is set when the ``eot`` stream tag has gone through.
    """

    def __init__(self, on_burst: Callable[[RxBurst], None] | None = None, receiver: BurstReceiver | None = None,
                 symbols_out: bool = False):
        gr.basic_block.__init__(self, name="semcom_burst_sink", in_sig=[np.complex64],
                                out_sig=[np.complex64] if symbols_out else None)
        self.receiver = receiver or BurstReceiver()
        self.on_burst = on_burst
        self.symbols_out = bool(symbols_out)
        self.eot = threading.Event()
        self._flushed = False
        self._on_stop: Callable[[], None] | None = None
        self._pending: collections.deque[tuple[np.ndarray, object]] = collections.deque()  # (symbols, tag value)
        self._pos = 0  # symbols of _pending[0] already written
        self.message_port_register_out(FRAMES)
        self.message_port_register_out(BURSTS)
        if symbols_out:
            self.set_tag_propagation_policy(gr.TPP_DONT)  # the output carries its own tags only

    @classmethod
    def saving(cls, out_dir: str, role: str = "auth", mtu: int = 1024, symbols_out: bool = False) -> "BurstSink":
        """A sink that writes what it received (files + report.json) into ``out_dir`` when stopped."""
        from pathlib import Path

        from ..link.endpoints import LinkReceiver
        from ..report import save_received, write_json

        receiver = LinkReceiver(role)
        sink = cls(on_burst=receiver.push, symbols_out=symbols_out)

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
        described = self.symbols_out or not pmt.is_null(self.message_subscribers(BURSTS))
        for b in bursts:
            if self.on_burst is not None:
                self.on_burst(b)
            if b.payload is not None and listened:
                self.message_port_pub(FRAMES, to_pdu(b.payload))
            if described:
                info = pmt.to_pmt(burst_info(b))
                self.message_port_pub(BURSTS, info)
                if self.symbols_out:
                    self._pending.append((b.equalised.astype(np.complex64, copy=False), info))

    def forecast(self, noutput_items, ninputs):
        return [1]  # any input helps: the receiver keeps what it cannot use yet

    def general_work(self, input_items, output_items):
        x = input_items[0]
        n = len(x)
        if self.symbols_out:
            # while symbols wait for output space, take no input; otherwise hold the last sample
            # back, so that the scheduler calls again to drain the output before the stream ends
            n = 0 if self._pending else (n - 1 if n > 1 else n)
        if n:
            tags = self.get_tags_in_window(0, 0, n, EOT)
            self._emit(self.receiver.feed(x[:n]))
            if tags and not self.eot.is_set():
                self.flush()
                self.eot.set()
            self.consume(0, n)
        return self._write(output_items[0]) if self.symbols_out else 0

    def _write(self, out) -> int:
        """Copy pending symbols into ``out`` (a ``burst`` tag at each burst's first); returns the count."""
        done = 0
        while self._pending and done < len(out):
            sym, info = self._pending[0]
            if self._pos == 0:
                self.add_item_tag(0, self.nitems_written(0) + done, BURST_TAG, info)
            k = min(len(out) - done, sym.size - self._pos)
            out[done : done + k] = sym[self._pos : self._pos + k]
            done += k
            self._pos += k
            if self._pos == sym.size:
                self._pending.popleft()
                self._pos = 0
        return done

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
