"""ZeroMQ front ends: the processes of one machine (or a LAN), PUSH / PULL, tags carried."""

from __future__ import annotations

from .base import RxFrontEnd, TxFrontEnd

#: Receive timeout of GNU Radio's ZeroMQ blocks, ms (how often a blocked block checks for a stop).
ZMQ_TIMEOUT_MS = 100


def push_sink(addr: str):
    """GNU Radio's ZeroMQ PUSH sink of complex64 samples bound at ``addr`` (tags passed)."""
    from gnuradio import gr, zeromq

    return zeromq.push_sink(gr.sizeof_gr_complex, 1, addr, ZMQ_TIMEOUT_MS, True, -1)


def pull_source(addr: str):
    """GNU Radio's ZeroMQ PULL source of complex64 samples connected to ``addr`` (tags passed)."""
    from gnuradio import gr, zeromq

    from ..blocks.buffers import big_output_buffer

    src = zeromq.pull_source(gr.sizeof_gr_complex, 1, addr, ZMQ_TIMEOUT_MS, True, -1)
    big_output_buffer(src)  # feeds a Python block: fewer, larger work() calls
    return src


class ZmqTx(TxFrontEnd):
    """A PUSH socket bound at ``address``; the process that pulls answers on its control socket."""

    kind = "zmq"
    peer = True

    def __init__(self, address: str) -> None:
        self.description = self.address = address
        self.sink = None

    def connect(self, tb, upstream) -> None:
        self.sink = push_sink(self.address)
        tb.connect(upstream, self.sink)

    def taken(self) -> int:
        """Samples the socket has taken from the flowgraph."""
        return int(self.sink.nitems_read(0)) if self.sink is not None else 0


class ZmqRx(RxFrontEnd):
    """A PULL socket connected to ``address`` (one receiver chain)."""

    kind = "zmq"
    peer = True

    def __init__(self, address: str) -> None:
        self.description = self.address = address

    def sources(self, tb) -> list:
        return [pull_source(self.address)]
