"""Channel emulator block: :class:`~sdr_semcom.phy.channel.ChannelEmulator` in a flowgraph."""

from __future__ import annotations

import numpy as np
from gnuradio import gr

from ..phy.channel import ChannelEmulator, ChannelSpec
from .stream_guard import big_output_buffer


class ChannelBlock(gr.basic_block):
    """Applies a :class:`ChannelSpec` (clock error, multipath, CFO, AWGN) to a stream.

    Parameters
    ----------
    spec : ChannelSpec
        Impairments and noise seed.
    block_tags : bool
        Drop stream tags instead of passing them on (at the rate-corrected position).

    Input
    -----
    complex64 stream.

    Output
    ------
    complex64 stream, ``1 / (1 + ppm 1e-6)`` samples per input sample; the same samples
    whatever the scheduler's chunking (the noise depends on the seed and the position only).
    """

    def __init__(self, spec: ChannelSpec, block_tags: bool = False) -> None:
        gr.basic_block.__init__(self, name="semcom_channel", in_sig=[np.complex64], out_sig=[np.complex64])
        self.emulator = ChannelEmulator(spec)
        self.set_relative_rate(1.0 / self.emulator.step)
        big_output_buffer(self)  # it feeds the receiver's Python block
        if block_tags:
            self.set_tag_propagation_policy(gr.TPP_DONT)

    def forecast(self, noutput_items, ninputs):
        return [1]  # any input helps: the emulator keeps what it cannot use yet

    def general_work(self, input_items, output_items):
        x, out = input_items[0], output_items[0]
        # take no more input than the output space can carry (the emulator's backlog stays a
        # few samples, its interpolator's look-ahead)
        n_in = min(len(x), max(int(len(out) * self.emulator.step) - 64, 0))
        y = self.emulator.process(x[:n_in], max_out=len(out))
        out[: y.size] = y
        self.consume(0, n_in)
        return y.size
