"""USRP front ends through gr-uhd (``from gnuradio import uhd``; never Debian's ``uhd`` module in the
same process: both register the same pybind11 types).

:func:`open_usrp` opens the device at once, so that a missing radio fails before a role compiles
its kernels or loads a model, with one line naming the device args (:class:`RadioError`).
"""

from __future__ import annotations

import logging
import os

from .base import RxFrontEnd, TxFrontEnd
from .options import RadioError, UhdSettings

log = logging.getLogger(__name__)


def _describe(s: UhdSettings) -> str:
    chans = ",".join(map(str, s.channels))
    return f'USRP "{s.args}" ch {chans} at {s.freq / 1e9:.6g} GHz'


#: What a command without a USRP can do instead (the end of :func:`device_error`'s line).
FALLBACK = "or use --radio zmq or a recording (--radio file)"


def device_error(args: str, exc: Exception, fallback: str = FALLBACK) -> RadioError:
    """gr-uhd's exception when opening a device -> one line naming the device args and what to do
    (``fallback``: the command's alternative to a USRP)."""
    text = " ".join(str(exc).split())
    if "No devices found" in text:
        return RadioError(f'no USRP answered for device args "{args}": check the cable / uhd_find_devices, '
                          f"{fallback}")
    return RadioError(f'USRP "{args}": {text}')


def open_usrp(direction: str, s: UhdSettings, rate: float, fallback: str = FALLBACK):
    """Open and set up a gr-uhd ``usrp_sink`` (``direction="tx"``) or ``usrp_source`` (``"rx"``).

    The one place that opens a USRP: ``tx`` / ``rx --radio uhd`` (:class:`UhdTx`, :class:`UhdRx`)
    and ``calibrate --source uhd`` (:func:`sdr_semcom.calibration.uhd_capture`, with its own
    ``fallback``: what to do without a radio, the end of the no-device line).

    Raises
    ------
    RadioError
        No device answered, or it refused a setting (named), or it cannot run at ``rate``.
    """
    os.environ.setdefault("UHD_LOG_CONSOLE_LEVEL", "warning")  # UHD's banner is not a message for the user
    from gnuradio import uhd

    stream_args = uhd.stream_args(cpu_format="fc32", channels=list(s.channels))
    try:
        blk = uhd.usrp_sink(s.args, stream_args) if direction == "tx" else uhd.usrp_source(s.args, stream_args)
    except Exception as exc:  # gr-uhd raises RuntimeError ("LookupError: KeyError: No devices found ...") and others
        raise device_error(s.args, exc, fallback) from None
    step = "setting up"
    try:
        if s.clock_source:
            step = f"--clock-source {s.clock_source}"
            blk.set_clock_source(s.clock_source, uhd.ALL_MBOARDS)
        if s.time_source:
            step = f"--time-source {s.time_source}"
            blk.set_time_source(s.time_source, uhd.ALL_MBOARDS)
        if s.subdev:
            step = f"--subdev {s.subdev!r}"
            blk.set_subdev_spec(s.subdev, 0)
        step = f"--rate {rate:g}"
        blk.set_samp_rate(rate)
        got = blk.get_samp_rate()
        if abs(got - rate) > 1e-6 * rate:
            raise RadioError(f'USRP "{s.args}" runs at {got:g} S/s when asked for {rate:g} S/s: pick a rate its '
                             "master clock divides (see hw_setup.md)")
        for i in range(len(s.channels)):
            step = f"--freq {s.freq:g} --lo-offset {s.lo_offset:g} (channel {s.channels[i]})"
            blk.set_center_freq(uhd.tune_request(s.freq, s.lo_offset), i)
            if s.norm_gain is not None:
                step = f"--norm-gain {s.norm_gain:g}"
                blk.set_normalized_gain(s.norm_gain, i)
            elif s.gain is not None:
                step = f"--gain {s.gain:g}"
                blk.set_gain(s.gain, i)
            if s.antenna:
                step = f"--antenna {s.antenna}"
                blk.set_antenna(s.antenna, i)
    except RadioError:
        raise
    except (RuntimeError, ValueError, IndexError) as exc:
        raise RadioError(f'USRP "{s.args}" refused {step}: {" ".join(str(exc).split())}') from None
    _realtime()
    return blk


def _realtime() -> None:
    """Ask for real-time scheduling for the flowgraph's threads (GNU Radio's
    ``enable_realtime_scheduling``, before the flowgraph starts); say so once when refused."""
    from gnuradio import gr

    if gr.enable_realtime_scheduling() != gr.RT_OK:
        log.warning("no real-time priority for the radio's threads (ulimit -r is 0): expect more U / O under load; "
                    "hw_setup.md, 'Real-time priority', says how to allow it")


class UhdTx(TxFrontEnd):
    """A USRP transmitting the stream: ``tagged`` bursts or ``continuous`` (zeros between bursts).

    Counts the sink's asynchronous events (:class:`~sdr_semcom.radio.counters.AsyncCounter`).
    """

    kind = "uhd"

    def __init__(self, settings: UhdSettings, rate: float) -> None:
        if len(settings.channels) != 1:
            raise RadioError(f"--channel: the transmitter sends on one channel, got {list(settings.channels)}")
        self.settings = settings
        self.burst_tags = settings.burst_mode == "tagged"
        self.idle_fill = settings.burst_mode == "continuous"
        self.description = _describe(settings)
        self.sink = open_usrp("tx", settings, rate)
        self.events = None

    def connect(self, tb, upstream) -> None:
        from .counters import AsyncCounter

        self.events = AsyncCounter()
        tb.connect(upstream, self.sink)
        tb.msg_connect(self.sink, "async_msgs", self.events, AsyncCounter.PORT)

    def counters(self) -> dict:
        return {"burst_mode": self.settings.burst_mode, **(self.events.counts() if self.events else {})}


class UhdRx(RxFrontEnd):
    """A USRP receiving on one channel per receiver chain (``channels=(0, 1)``: both B210 channels,
    one device opened once, feeding the authorized and the eavesdropper's receiver). ``fallback``:
    what to do without a radio, as :func:`open_usrp`'s (``sdr-semcom capture`` names its own sources).

    Counts overflows from the ``rx_time`` tags (:class:`~sdr_semcom.radio.counters.TagCounter`).
    """

    kind = "uhd"

    def __init__(self, settings: UhdSettings, rate: float, chains: int, fallback: str = FALLBACK) -> None:
        if len(settings.channels) != chains:
            raise RadioError(f"--channel: {chains} receiver chain(s) need {chains} channel(s), got "
                             f"{list(settings.channels)} (--role both on one B210: --channel 0 --channel 1 "
                             '--subdev "A:A A:B")')
        self.settings = settings
        self.description = _describe(settings)
        self.source = open_usrp("rx", settings, rate, fallback)
        self.tags = None

    def sources(self, tb) -> list:
        from ..blocks.buffers import big_output_buffer
        from .counters import TagCounter

        big_output_buffer(self.source)
        self.tags = TagCounter("rx_time")
        tb.connect((self.source, 0), self.tags)
        return [(self.source, i) for i in range(len(self.settings.channels))]

    def counters(self) -> dict:
        return {"overflows": self.tags.overflows if self.tags else 0}
