"""Radio front ends for the roles: ZeroMQ sockets, a USRP (gr-uhd), a recording (cf32 / SigMF).

:func:`open_tx` and :func:`open_rx` turn :class:`RadioOptions` into a
:class:`~sdr_semcom.radio.base.TxFrontEnd` / :class:`~sdr_semcom.radio.base.RxFrontEnd`, which the
roles (:mod:`sdr_semcom.link.roles`) connect to the same flowgraph whatever the front end.
Opening a USRP happens here, at once: no radio -> :class:`RadioError` naming the device args.
"""

from __future__ import annotations

from .base import RxFrontEnd, TxFrontEnd
from .options import (BURST_MODES, DEFAULT_FREQ, RADIOS, REF_SOURCES, RadioError, RadioOptions, RecordingError,
                      UhdSettings)

__all__ = ["BURST_MODES", "DEFAULT_FREQ", "RADIOS", "REF_SOURCES", "RadioError", "RadioOptions", "RecordingError",
           "RxFrontEnd", "TxFrontEnd", "UhdSettings", "open_rx", "open_tx"]


def open_tx(opts: RadioOptions, rate: float) -> TxFrontEnd:
    """The transmitter's front end (``rate``: the link's sample rate, S/s)."""
    if opts.kind == "zmq":
        from .zmq import ZmqTx

        return ZmqTx(opts.address)
    if opts.kind == "file":
        from .file import FileTx

        if len(opts.paths) != 1:
            raise RadioError("--radio file: the transmitter needs one --output PATH (e.g. tx.sigmf-data)")
        return FileTx(opts.paths[0], rate)
    from .uhd import UhdTx

    return UhdTx(opts.uhd, rate)


def open_rx(opts: RadioOptions, rate: float, chains: int = 1) -> RxFrontEnd:
    """A receiver's front end with ``chains`` streams (2: the authorized and the eavesdropper's receiver)."""
    if opts.kind == "zmq":
        from .zmq import ZmqRx

        if chains != 1:
            raise RadioError("--role both needs --radio uhd (two channels of one USRP) or --radio file; over "
                             "ZeroMQ run one 'sdr-semcom rx' per role")
        return ZmqRx(opts.address)
    if opts.kind == "file":
        from .file import FileRx

        if not opts.paths:
            raise RadioError("--radio file: the receiver needs --input PATH (a recording, e.g. from "
                             "'sdr-semcom tx --radio file --output PATH')")
        return FileRx(opts.paths, chains, rate)
    from .uhd import UhdRx

    return UhdRx(opts.uhd, rate, chains)
