"""Channel blocks: :class:`~sdr_semcom.phy.channel.ChannelEmulator` in a flowgraph, or GNU Radio's
``channels.channel_model`` with the same numbers (:func:`make_channel_block` picks by engine)."""

from __future__ import annotations

import numpy as np
from gnuradio import gr

from ..phy.channel import ChannelEmulator, ChannelSpec
from .buffers import big_output_buffer


class ChannelBlock(gr.basic_block):
    """Applies a :class:`ChannelSpec` (clock error, multipath, CFO, AWGN, front-end impairments) to a stream.

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


def make_channel_block(spec: ChannelSpec, block_tags: bool = False):
    """A GNU Radio block applying ``spec`` with its :attr:`~ChannelSpec.engine`.

    Parameters
    ----------
    spec : ChannelSpec
        The impairments; ``engine`` ``semcom`` gives a :class:`ChannelBlock` (with the receiver
        front end's DC offset, tone and IQ imbalance), ``gnuradio`` a ``channels.channel_model``
        (noise voltage, frequency offset, clock ratio and normalised taps from ``spec``; it has no
        front-end impairments, and :class:`ChannelSpec` refuses them with this engine).
    block_tags : bool
        Stop stream tags (needed between GNU Radio's stock ``ofdm_tx`` and ``ofdm_rx`` in one
        process, whose length tags would leak).

    Raises
    ------
    ConfigError
        Engine ``sionna``: not a block (:mod:`sdr_semcom.channels.sionna_proc` is a process).

    Output
    ------
    The block: complex64 in, complex64 out. Keep a reference to it while its flowgraph runs
    (``semcom`` is a Python block: passed inline to ``connect``, it would be garbage-collected
    under GNU Radio).
    """
    if spec.engine == "sionna":
        from ..config import ConfigError

        raise ConfigError("channel engine 'sionna' runs as its own process ('sdr-semcom channel --engine sionna'); "
                          "in one process (demo, loopback, benchmarks) use engine semcom or gnuradio")
    if spec.engine == "semcom":
        return ChannelBlock(spec, block_tags=block_tags)
    from gnuradio import channels

    return channels.channel_model(
        noise_voltage=spec.noise_voltage,
        frequency_offset=spec.frequency_offset,
        epsilon=spec.clock_ratio,
        taps=spec.normalised_taps,
        noise_seed=spec.seed,
        block_tags=block_tags,
    )
