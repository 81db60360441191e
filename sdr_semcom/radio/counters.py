"""Small GNU Radio blocks that count what a USRP reports: overflows (receive), underflows and late
packets (transmit).

- gr-uhd's ``usrp_source`` puts an ``rx_time`` tag on the first sample it delivers and again on
  the first sample after each overflow ("O" on the console: samples were lost because the host
  did not read them in time): :class:`TagCounter` counts the tags, less the first.
- gr-uhd's ``usrp_sink`` publishes UHD's asynchronous TX events on its ``async_msgs`` port, a
  dict whose ``event_code`` is a list of symbols (``burst_ack``, ``underflow``,
  ``underflow_in_packet``, ``seq_error``, ``seq_error_in_burst``, ``time_error``,
  ``user_payload``) or, in other versions, UHD's integer bit mask: :class:`AsyncCounter` counts
  each kind ("U": the radio ran out of samples inside a burst; "L": a timed packet arrived late;
  "S": a packet was lost between host and radio).
"""

from __future__ import annotations

import collections
import threading

import numpy as np
import pmt
from gnuradio import gr

__all__ = ["AsyncCounter", "TagCounter", "event_names"]

RX_TIME = pmt.intern("rx_time")
EVENT_CODE = pmt.intern("event_code")
#: UHD's ``async_metadata_t::event_code_t`` bits.
EVENT_BITS = {0x1: "burst_ack", 0x2: "underflow", 0x4: "seq_error", 0x8: "time_error", 0x10: "underflow_in_packet",
              0x20: "seq_error_in_burst", 0x40: "user_payload"}


def event_names(msg) -> list[str]:
    """The event kinds in one ``async_msgs`` message (a PMT dict with ``event_code``); [] when unreadable."""
    if not pmt.is_dict(msg):
        return []
    code = pmt.dict_ref(msg, EVENT_CODE, pmt.PMT_NIL)
    if pmt.is_integer(code):
        value = pmt.to_long(code)
        return [name for bit, name in EVENT_BITS.items() if value & bit]
    if pmt.is_symbol(code):
        return [pmt.symbol_to_string(code)]
    names = []
    while pmt.is_pair(code):
        if pmt.is_symbol(pmt.car(code)):
            names.append(pmt.symbol_to_string(pmt.car(code)))
        code = pmt.cdr(code)
    return names


class AsyncCounter(gr.basic_block):
    """Counts the TX events of a ``usrp_sink``'s ``async_msgs`` port, by kind.

    Input
    -----
    Message port ``async_msgs``.

    Output
    ------
    :meth:`counts`: ``underflows`` (``underflow`` + ``underflow_in_packet``), ``late``
    (``time_error``), ``seq_errors`` (``seq_error`` + ``seq_error_in_burst``), ``bursts_acked``.
    """

    PORT = "async_msgs"

    def __init__(self) -> None:
        gr.basic_block.__init__(self, name="semcom_async_counter", in_sig=None, out_sig=None)
        self._events: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self.message_port_register_in(pmt.intern(self.PORT))
        self.set_msg_handler(pmt.intern(self.PORT), self._on_msg)

    def _on_msg(self, msg) -> None:
        with self._lock:
            self._events.update(event_names(msg))

    def counts(self) -> dict:
        with self._lock:
            e = dict(self._events)
        return {"underflows": e.get("underflow", 0) + e.get("underflow_in_packet", 0),
                "late": e.get("time_error", 0),
                "seq_errors": e.get("seq_error", 0) + e.get("seq_error_in_burst", 0),
                "bursts_acked": e.get("burst_ack", 0)}


class TagCounter(gr.sync_block):
    """A sink that counts the stream tags of one key (``rx_time`` by default) in its input.

    Parameters
    ----------
    key : str
        Tag key counted.

    Input
    -----
    complex64 stream (connect it beside the receiver chain: the source's output fans out).

    Output
    ------
    :attr:`count` (tags seen); :attr:`overflows`: ``rx_time`` tags after the first.
    """

    def __init__(self, key: str = "rx_time") -> None:
        gr.sync_block.__init__(self, name="semcom_tag_counter", in_sig=[np.complex64], out_sig=None)
        self.key = pmt.intern(key)
        self.count = 0

    def work(self, input_items, output_items):
        n = len(input_items[0])
        if n:
            self.count += len(self.get_tags_in_window(0, 0, n, self.key))
        return n

    @property
    def overflows(self) -> int:
        """Tags after the first (gr-uhd tags ``rx_time`` at the start and after each overflow)."""
        return max(self.count - 1, 0)
