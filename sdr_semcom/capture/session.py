"""``sdr-semcom capture``: record a link's IQ samples as SigMF, every burst annotated on the fly.

Sources (:class:`Source`):

- ``zmq ADDRESS``: a channel's (or transmitter's) ZeroMQ output. The capture takes a receiver's
  place on the link (:func:`~sdr_semcom.link.roles.run_rx` with a :class:`Recorder`): it answers
  the control socket like ``rx`` does, so the channel starts once it is ready and ``tx`` exits 0
  once it heard the END frame;
- ``loopback auth|eve``: the link in this process: transmitter -> that tap's channel (``cfg.auth`` /
  ``cfg.eve``) -> recorder, optionally paced at the link's sample rate (``realtime``);
- a radio front end: a key of :data:`FRONT_ENDS` (``uhd``: the USRP receive front end of
  :mod:`sdr_semcom.radio.uhd`, opened as ``rx --radio uhd`` opens it). The capture then runs the
  receiver as ``rx`` does on a radio (:func:`~sdr_semcom.link.roles.run_receivers` with a
  :class:`Recorder`): it ends once the END frame is heard, or when no burst came for the idle
  timeout (or none within the connect timeout).

Every sample goes to the :class:`~sdr_semcom.capture.sigmf_io.SigmfWriter` as it arrives, and the
receiver (:class:`~sdr_semcom.phy.ofdm.BurstReceiver` in a
:class:`~sdr_semcom.blocks.BurstSink`) runs beside it: each burst it finds becomes an annotation.
The capture ends at the transmission's end (the ``eot`` tag; a radio: the END frame), after ``limit`` samples, on
SIGINT / SIGTERM, when the disk fills up, or when the upstream goes away; the metadata is written
in each case (:attr:`CaptureResult.end` says which).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
from gnuradio import gr

from ..blocks import BurstSink, BurstSource, EotWatch
from ..blocks.channel_block import make_channel_block
from ..blocks.eot_watch import EOT
from ..config import LinkConfig
from ..link.endpoints import LinkReceiver
from ..link.interrupt import Interrupt
from ..link.roles import LinkError, PeerTimeout, Timeouts, run_receivers, run_rx
from ..link.warmup import warm_up
from ..phy.framing import PayloadType, parse_frame
from ..phy.ofdm import RxBurst, burst_len
from .sigmf_io import BurstNote, CaptureInfo, SigmfWriter

__all__ = ["CaptureError", "CaptureResult", "CaptureSink", "FRONT_ENDS", "FrontEnd", "Recorder", "Source", "capture",
           "check_source", "open_uhd"]

POLL_S = 0.05
PROGRESS_S = 1.0


@dataclass(frozen=True)
class Source:
    """Where a capture's samples come from.

    ``kind``: ``zmq`` (``address``: the PULL address), ``loopback`` (``tap``: ``auth`` or ``eve``;
    ``messages``: what the transmitter sends; ``realtime``: paced at the link's rate) or a key of
    :data:`FRONT_ENDS` (``args``: its options, e.g. ``{"args": "type=b200", "freq": 2.45e9, "gain": 30}``).
    """

    kind: str
    address: str = ""
    tap: str = "auth"
    messages: tuple = ()
    realtime: bool = False
    args: dict = field(default_factory=dict)


class FrontEnd(Protocol):
    """A radio front end as a capture uses it: a receiver front end (``radio.base.RxFrontEnd``:
    ``kind``, ``description``, ``lengths``, ``sources(tb)``, ``counters()``), and optionally
    ``frequency`` (Hz) and ``gains`` (dB by stage) for the metadata."""

    kind: str
    description: str
    lengths: list[int] | None

    def sources(self, tb) -> list: ...

    def counters(self) -> dict: ...


#: The end of the no-USRP line of ``capture --source uhd``: what to record instead.
UHD_FALLBACK = "or record a ZeroMQ link (--source zmq) or the loopback (--source loopback)"


def open_uhd(args: dict, cfg: LinkConfig) -> FrontEnd:
    """The USRP receive front end (:class:`~sdr_semcom.radio.uhd.UhdRx`, one channel) at ``cfg.sample_rate``.

    ``args``: ``settings`` (a :class:`~sdr_semcom.radio.options.UhdSettings`, what ``rx --radio uhd``
    is given), or its fields (``{"args": "type=b200", "freq": 2.45e9, "gain": 30.0}``).

    Raises
    ------
    RadioError
        No USRP answered (one line naming the device args), or it refused a setting.
    """
    from ..radio.options import UhdSettings
    from ..radio.uhd import UhdRx

    settings = args["settings"] if "settings" in args else UhdSettings(**args)
    fe = UhdRx(settings, cfg.sample_rate, 1, fallback=UHD_FALLBACK)
    fe.frequency = settings.freq
    try:  # what the device set (UHD's default when no gain was given)
        fe.gains = {"rx": float(fe.source.get_gain(0))}
    except (RuntimeError, ValueError, TypeError, AttributeError):
        fe.gains = {"rx": settings.gain} if settings.gain is not None else {}
    return fe


#: Radio front ends, by ``--source`` name: ``name -> build(args: dict, cfg: LinkConfig) -> FrontEnd``
#: (``uhd``: :func:`open_uhd`).
FRONT_ENDS: dict[str, Callable[[dict, LinkConfig], FrontEnd]] = {"uhd": open_uhd}


class CaptureError(LinkError):
    """A capture that cannot start (unknown source, no front end)."""


def check_source(kind: str) -> None:
    """Raise :class:`CaptureError` unless ``kind`` is ``zmq``, ``loopback`` or a registered front end."""
    if kind not in ("zmq", "loopback", *FRONT_ENDS):
        known = ", ".join(["zmq", "loopback", *FRONT_ENDS])
        raise CaptureError(f"capture: unknown source {kind!r} (known: {known})")


@dataclass
class CaptureResult:
    """What a capture wrote and why it ended.

    ``end``: ``eot``, ``limit``, ``SIGINT``, ``SIGTERM``, ``disk full`` or ``peer lost``;
    ``bursts`` / ``crc_ok``: the bursts annotated (those inside the recording);
    ``report``: the on-the-fly receiver's report (:meth:`LinkReceiver.report`: what it got while the
    capture ran, which may go on past a ``limit``); ``receiver``: it.
    """

    base: Path
    samples: int
    sample_rate: float
    bursts: int
    crc_ok: int
    end: str
    report: dict
    receiver: LinkReceiver = field(repr=False)
    warning: str | None = None
    meta_error: str | None = None

    def line(self) -> str:
        """The capture's summary line."""
        secs = self.samples / self.sample_rate
        line = (f"capture: wrote {self.base}.sigmf-data ({self.samples} samples, {secs:.3f} s "
                f"at {self.sample_rate / 1e6:g} MS/s) and {self.base}.sigmf-meta; {self.bursts} bursts annotated "
                f"({self.crc_ok} CRC ok); ended by {self.end}")
        if self.meta_error:
            line += f"\n{self.meta_error}"
        return line


class CaptureSink(gr.sync_block):
    """Writes its input to a :class:`SigmfWriter`, at most ``limit`` samples.

    Input
    -----
    complex64 stream (tags: the ``eot`` tag's offset is kept in :attr:`eot_sample`).

    Output
    ------
    :attr:`stopped` is set once ``limit`` samples are written or the disk is full.
    """

    def __init__(self, writer: SigmfWriter, limit: int | None = None) -> None:
        gr.sync_block.__init__(self, name="semcom_sigmf_sink", in_sig=[np.complex64], out_sig=None)
        self.writer, self.limit = writer, limit
        self.stopped = threading.Event()
        self.eot_sample: int | None = None
        self.seen = 0  # samples taken (written or not)

    def work(self, input_items, output_items):
        x = input_items[0]
        n = len(x)
        self.seen += n
        if self.eot_sample is None:
            tags = self.get_tags_in_window(0, 0, n, EOT)
            if tags:
                self.eot_sample = int(tags[0].offset)
        if not self.stopped.is_set():
            take = n if self.limit is None else min(n, self.limit - self.writer.samples)
            if take > 0:
                self.writer.write(x[:take])
            if self.writer.full is not None or (self.limit is not None and self.writer.samples >= self.limit):
                self.stopped.set()
        return n


class Recorder:
    """The recorder of a capture: writer, sink block, burst annotations, progress (a
    :class:`~sdr_semcom.link.roles.Recorder`).

    Parameters
    ----------
    writer : SigmfWriter
    limit : int or None
        Samples to record at most.
    progress : callable or None
        Called with a progress line about once a second while samples come.
    """

    def __init__(self, writer: SigmfWriter, limit: int | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        self.writer = writer
        self.block = CaptureSink(writer, limit)
        self.stopped = self.block.stopped
        self.progress = progress
        self.bursts = self.crc_ok = 0
        self._t0 = time.monotonic()
        self._last: float | None = None  # the first line as soon as samples come, then once a second

    @property
    def stop_reason(self) -> str | None:
        if self.writer.full:
            return f"capture stopped: {self.writer.full}"
        if self.stopped.is_set():
            return f"capture stopped after {self.writer.samples} samples (its limit)"
        return None

    def note(self, b: RxBurst) -> None:
        """Annotate one burst the receiver found."""
        frame = parse_frame(b.payload) if b.payload is not None else None
        kind = "undecoded" if b.payload is None else (PayloadType(frame.ptype).name if frame else "bad CRC")
        count = burst_len(b.length, b.modulation) if b.length and b.modulation is not None else 0
        self.writer.annotate(BurstNote(int(b.start), int(count), frame.seq if frame else None, kind, frame is not None,
                                       float(b.snr_db)))
        self.bursts += 1
        self.crc_ok += frame is not None

    def wait_for(self, items: int, stall_s: float = 5.0) -> None:
        """Return once the sink has taken ``items`` samples, stopped, or taken none for ``stall_s``
        (a loaded machine may run it seconds behind the receiver: the recording must hold what it decoded)."""
        seen, last = self.block.seen, time.monotonic()
        while self.block.seen < items and not self.stopped.is_set() and time.monotonic() - last < stall_s:
            time.sleep(0.005)
            if self.block.seen != seen:
                seen, last = self.block.seen, time.monotonic()

    def tick(self) -> None:
        now = time.monotonic()
        if self.progress is not None and self.writer.samples and (self._last is None or now - self._last >= PROGRESS_S):
            self._last = now
            n = self.writer.samples
            self.progress(f"capture: {now - self._t0:.0f} s, {n / 1e6:.2f} MS "
                          f"({n / self.writer.info.sample_rate:.2f} s of signal), {self.bursts} bursts "
                          f"({self.crc_ok} CRC ok)")


def capture(out: str | Path, source: Source, cfg: LinkConfig, limit: int | None = None,
            timeouts: Timeouts = Timeouts(), progress: Callable[[str], None] | None = None,
            codec: str | None = None, role: str = "auth") -> CaptureResult:
    """Record ``source`` into ``out`` (``.sigmf-data`` + ``.sigmf-meta``) until it ends.

    Parameters
    ----------
    out : path
        ``NAME`` of the recording (files replaced).
    source : Source
    cfg : LinkConfig
        The link's settings (sample rate, mtu, modulation; the loopback's channels).
    limit : int or None
        Stop after this many samples.
    timeouts : Timeouts
        ZeroMQ source and radio front ends: as ``rx``'s.
    progress : callable or None
        Receives a line about once a second (samples, bursts).
    codec : str or None
        The codec id the link carries (``sdr_semcom:codec``).
    role : str
        The role the capture takes on a ZeroMQ link's control socket (``auth`` or ``eve``).

    Raises
    ------
    CaptureError
        Unknown source.
    RadioError
        A front end that cannot be opened (``uhd``: no USRP answered; the line names the device args):
        nothing is written.
    PeerTimeout
        ZeroMQ: no upstream showed up (the recording is written, empty).
    """
    check_source(source.kind)
    fe = FRONT_ENDS[source.kind](dict(source.args), cfg) if source.kind in FRONT_ENDS else None
    desc = {"zmq": f"zmq {source.address}", "loopback": f"loopback {source.tap}"}.get(source.kind, source.kind)
    info = CaptureInfo(
        sample_rate=cfg.sample_rate, frequency=getattr(fe, "frequency", None),
        hw=fe.description if fe else ("sdr-semcom ZeroMQ link (no radio)" if source.kind == "zmq"
                                      else "sdr-semcom loopback (channel emulator, no radio)"),
        gains=dict(getattr(fe, "gains", None) or {}), source=desc,
        link={"mtu": cfg.mtu, "modulation": cfg.modulation, "gap": cfg.gap, "codec": codec},
        description="sdr-semcom link capture")
    writer = SigmfWriter(out, info)
    rec = Recorder(writer, limit, progress)
    try:
        if source.kind == "zmq":
            receiver, report, end = _from_zmq(source.address, cfg, role, timeouts, rec)
        elif fe is not None:
            receiver, report, end = _from_front_end(fe, cfg, role, timeouts, rec, progress)
        else:
            receiver, report, end = _from_loopback(source, cfg, rec, role)
    except PeerTimeout:
        writer.close("peer lost")
        raise
    except BaseException:
        writer.close("error")
        raise
    if writer.full:
        end = "disk full"
    elif end == "eot" and limit is not None and writer.samples >= limit:
        end = "limit"  # the receiver ran on to the end, the recording did not
    eot = rec.block.eot_sample if rec.block.eot_sample is not None and rec.block.eot_sample < writer.samples else None
    writer.close(end, eot_sample=eot, frames_sent=receiver.expected_frames,
                 packets_received=report["packets_received"], radio=fe.counters() or None if fe else None)
    notes = writer.recorded_notes()
    return CaptureResult(writer.data_path.with_suffix(""), writer.samples, cfg.sample_rate, len(notes),
                         sum(n.crc_ok for n in notes), writer.end, report, receiver, report.get("warning"),
                         writer.meta_error)


def _from_zmq(address: str, cfg: LinkConfig, role: str, timeouts: Timeouts, rec: Recorder):
    receiver, report = run_rx(cfg, role, address, timeouts, recorder=rec)  # frames only: no codec here
    _airtime(report, rec.writer.samples / cfg.sample_rate)  # what the recording holds (rx: what its guard passed)
    if report["interrupted"]:
        end = report["interrupted"]
    elif report["stream_ended"]:
        end = "eot"
    elif rec.stopped.is_set():
        end = "limit"
    else:
        end = "peer lost"
    return receiver, report, end


def _airtime(report: dict, airtime_s: float) -> None:
    report["airtime_s"] = airtime_s
    report["goodput_bps"] = 8 * report["payload_bytes"] / airtime_s if airtime_s > 0 else None


def _from_front_end(fe: FrontEnd, cfg: LinkConfig, role: str, timeouts: Timeouts, rec: Recorder,
                    progress: Callable[[str], None] | None):
    """A radio (or any receiver front end): the receiver ``rx`` runs on it, the recorder beside it."""
    received = run_receivers(cfg, (role,), fe, timeouts, recorder=rec, on_ready=progress)
    receiver, report = received[role]
    _airtime(report, rec.writer.samples / cfg.sample_rate)
    if report["interrupted"]:
        end = report["interrupted"]
    elif rec.stopped.is_set() and not report["stream_ended"]:
        end = "limit"
        report["warning"] = rec.stop_reason
    elif report["stream_ended"]:
        end = "eot"
    else:
        end = "peer lost"  # nothing heard, or the transmission stopped before its END frame
    return receiver, report, end


def _from_loopback(source: Source, cfg: LinkConfig, rec: Recorder, role: str):
    """The link in this process: transmitter -> channel tap -> recorder and receiver, until its end."""
    for stage in ("tx", "channel", "rx"):
        warm_up(stage, cfg)  # compiled before samples flow (a cold numba cache takes tens of seconds)
    tb = gr.top_block("semcom_capture")
    keep = []  # GNU Radio must not outlive its Python blocks
    src = BurstSource(cfg.modulation, cfg.gap)
    src.transmit(list(source.messages), cfg.mtu)
    head = make_channel_block(getattr(cfg, source.tap))
    tb.connect(src, head)
    keep += [src, head]
    if source.realtime:
        from gnuradio import blocks

        thr = blocks.throttle(gr.sizeof_gr_complex, cfg.sample_rate, True)
        tb.connect(head, thr)
        head = thr
    receiver = LinkReceiver(role)
    guard = EotWatch()

    def on_burst(b: RxBurst) -> None:
        receiver.push(b)
        rec.note(b)

    sink = BurstSink(on_burst=on_burst)
    tb.connect(head, guard, sink)
    tb.connect(guard, rec.block)
    keep += [guard, sink]
    with Interrupt() as intr:
        tb.start()
        try:
            while not sink.eot.is_set() and intr.signal is None and not rec.stopped.is_set():
                rec.tick()
                time.sleep(POLL_S)
        finally:
            rec.wait_for(guard.items)
            tb.stop()
            tb.wait()
            sink.flush()
    receiver.finish()
    report = receiver.report(sink.receiver.stats, None, rec.writer.samples / cfg.sample_rate, None)
    end = intr.signal or ("eot" if sink.eot.is_set() else "limit")
    report.update(source=source.kind, warning=rec.stop_reason, stream_ended=sink.eot.is_set(),
                  interrupted=intr.signal)
    return receiver, report, end
