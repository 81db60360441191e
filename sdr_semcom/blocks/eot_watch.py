"""Pass-through block that watches a stream for activity and the end-of-transmission tag."""

from __future__ import annotations

import threading
import time

import numpy as np
import pmt
from gnuradio import gr

from .buffers import big_output_buffer

#: Stream tag key that marks the end of a transmission (:class:`~sdr_semcom.blocks.BurstSource`).
EOT = pmt.intern("eot")


class EotWatch(gr.sync_block):
    """Copies its input and records when samples last flowed and whether the ``eot`` tag passed.

    Input
    -----
    complex64 stream.

    Output
    ------
    The input, unchanged (tags propagate). :attr:`eot` is set once the ``eot``
    tag has passed; :attr:`items` counts samples; :attr:`last_activity` is a
    ``time.monotonic()`` stamp (None before the first sample).
    """

    def __init__(self) -> None:
        gr.sync_block.__init__(self, name="semcom_eot_watch", in_sig=[np.complex64], out_sig=[np.complex64])
        big_output_buffer(self)
        self.eot = threading.Event()
        self.items = 0
        self.last_activity: float | None = None

    def work(self, input_items, output_items):
        n = len(input_items[0])
        output_items[0][:n] = input_items[0]
        if n:
            self.items += n
            self.last_activity = time.monotonic()
            if self.get_tags_in_window(0, 0, n, EOT):
                self.eot.set()
        return n
