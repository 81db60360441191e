"""The narrow interface between a role's flowgraph and its front end (ZeroMQ, USRP, recording).

A role builds the same flowgraph whatever the front end: the transmitter connects its
:class:`~sdr_semcom.blocks.BurstSource` to :meth:`TxFrontEnd.connect`, a receiver connects each
of :meth:`RxFrontEnd.sources` to its receiver chain. What differs, the front end says:

- ``peer``: whether a process answers on a control socket beside the data socket (ZeroMQ
  only): the roles then wait for its ``ready`` / ``done`` (:mod:`~sdr_semcom.link.roles`);
- ``burst_tags`` / ``idle_fill``: how the transmitter must shape its stream (a USRP's burst mode);
- ``lengths``: how many samples each recording holds (its receiver ends at its end);
- :meth:`counters`: what went wrong on the way (a USRP's overflows, underflows, late packets).
"""

from __future__ import annotations

__all__ = ["RxFrontEnd", "TxFrontEnd"]


class TxFrontEnd:
    """Where a transmitter's samples go.

    Attributes
    ----------
    kind : str
        ``zmq``, ``uhd`` or ``file``.
    description : str
        For messages and reports (``tcp://127.0.0.1:5555``, ``USRP "type=b200" ch 0 at 2.450 GHz``, a path).
    peer : bool
        A process downstream answers on a control socket (ZeroMQ): the transmitter waits for its
        ``done``. Such a front end also has ``address`` (its data address, the control socket's
        base) and :meth:`taken`.
    burst_tags : bool
        The transmitter tags each burst ``tx_sob`` / ``tx_eob``.
    idle_fill : bool
        The transmitter writes zeros while it has nothing to send.
    """

    kind = ""
    description = ""
    address: str | None = None
    peer = False
    burst_tags = False
    idle_fill = False

    def connect(self, tb, upstream) -> None:
        """Connect ``upstream`` (a complex64 stream) to this front end in the top block ``tb``."""
        raise NotImplementedError

    def counters(self) -> dict:
        """What the front end counted (``underflows``, ``late``, ...); empty when it counts nothing."""
        return {}

    def taken(self) -> int:
        """Samples the front end has taken from the flowgraph (a peer front end: what its peer pulled)."""
        return 0

    def close(self) -> None:
        """After the flowgraph stopped (a recording writes its metadata)."""


class RxFrontEnd:
    """Where a receiver's samples come from: one stream per receiver chain.

    Attributes
    ----------
    kind, description : str
        As :class:`TxFrontEnd`'s.
    peer : bool
        The upstream process answers on a control socket (ZeroMQ); such a front end also has
        ``address``.
    lengths : list of int or None
        Per receiver chain, a recording's length in samples (its receiver ends there); None:
        streams without end.
    """

    kind = ""
    description = ""
    address: str | None = None
    peer = False
    lengths: list[int] | None = None

    def sources(self, tb) -> list:
        """One complex64 source block per receiver chain (connected by the caller), counters
        connected to ``tb`` as they need."""
        raise NotImplementedError

    def counters(self) -> dict:
        """What the front end counted (``overflows``, ...); empty when it counts nothing."""
        return {}
