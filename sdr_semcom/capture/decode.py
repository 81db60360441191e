"""``sdr-semcom decode``: a SigMF recording through the receiver a live ``rx`` runs, into the same files.

The samples go through a :class:`~sdr_semcom.phy.ofdm.BurstReceiver` into a
:class:`~sdr_semcom.link.endpoints.LinkReceiver`, then :func:`~sdr_semcom.reception.write_reception`
(the semantic receiver, the generative fill, the report writer) exactly as ``rx`` does after its
samples arrived, so a recording of what a receiver heard decodes to the same images and report.

A truncated recording (a data file shorter than the samples its metadata says were written)
decodes what it holds; when the receiver did not hear the END frame itself, the number of frames
sent comes from the metadata (``sdr_semcom:frames_sent``, what the capture's receiver heard), so
the packets cut off are counted as lost; the decode then raises :class:`DecodeIncomplete` after
writing everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import LinkConfig
from ..link.control import LinkError
from ..link.endpoints import LinkReceiver
from ..phy.ofdm import BurstReceiver
from ..reception import receiver_stage, write_reception
from .sigmf_io import RecordingError, open_recording

__all__ = ["DecodeIncomplete", "DecodeOptions", "decode_recording"]


class DecodeIncomplete(LinkError):
    """The recording was truncated, or its transmission's END frame is missing: what it held is written."""


@dataclass(frozen=True)
class DecodeOptions:
    """How to decode: ``role`` (``auth`` / ``eve``), ``payload`` (``semantic`` / ``raw``), the
    authorized receiver's ``db_path``, ``strict`` key check, the generative stage
    (``generator``, ``generator_dir``)."""

    role: str = "auth"
    payload: str = "semantic"
    db_path: str | None = None
    strict: bool = False
    generator: str = "auto"
    generator_dir: str | None = None


def decode_recording(path: str | Path, out: Path, cfg: LinkConfig, opts: DecodeOptions = DecodeOptions(),
                     chunk: int = 1 << 18) -> str:
    """Decode the recording ``path`` into ``out`` (images, ``report.json``); returns the summary line.

    ``cfg``: the link's settings; the recording's sample rate must be ``cfg.sample_rate``, and
    its mtu (``sdr_semcom:mtu``) is used when ``cfg`` does not state one.

    Raises
    ------
    RecordingError
        The recording cannot be used (see :func:`open_recording`), or its sample rate is not the link's.
    DecodeIncomplete
        After writing: the recording was truncated or lacks the END frame.
    """
    if opts.role == "eve" and opts.db_path:
        raise ValueError("the eavesdropper has no privacy database")
    rec = open_recording(path)
    if rec.sample_rate != cfg.sample_rate:
        raise RecordingError(f"{rec.base}.sigmf-meta: recorded at {rec.sample_rate:g} S/s, the link runs at "
                             f"{cfg.sample_rate:g} S/s (give --config with sample_rate = {rec.sample_rate:g} if "
                             "the link ran at that rate)")
    mtu = cfg.mtu if cfg.states("mtu") or not isinstance(rec.link("mtu"), int) else rec.link("mtu")
    inpainter = receiver_stage(opts.role, opts.payload, opts.generator, opts.generator_dir)
    receiver, bursts = LinkReceiver(opts.role), BurstReceiver()
    for x in rec.chunks(chunk):
        for b in bursts.feed(x):
            receiver.push(b)
    for b in bursts.flush():
        receiver.push(b)
    receiver.finish()
    sent_hint = rec.link("frames_sent") if receiver.expected_frames is None else None
    report = receiver.report(bursts.stats, sent_hint if isinstance(sent_hint, int) else None,
                             rec.samples / rec.sample_rate, None)
    if cfg.states(f"{opts.role}.snr_db"):  # as rx: the channel's SNR only where the config states it
        report["snr_configured_db"] = getattr(cfg, opts.role).snr_db
    warning = None
    if rec.truncated:
        declared = rec.declared if rec.declared is not None else "?"
        stray = f" (+{rec.extra_bytes} stray bytes)" if rec.extra_bytes else ""
        warning = f"recording truncated: {rec.samples} of {declared} samples in {rec.base}.sigmf-data{stray}"
    elif receiver.expected_frames is None and rec.link("end") not in (None, "eot"):
        warning = f"the capture ended by {rec.link('end')}, before the transmission's end"
    report.update(recording=str(rec.base), warning=warning,
                  stream_ended=not rec.truncated and receiver.expected_frames is not None, interrupted=None)
    line = write_reception(receiver, report, opts.role, out, mtu, inpainter, opts.db_path, opts.strict)
    if warning or receiver.expected_frames is None:
        lost = report["packets_lost"] if report["packets_lost"] is not None else f">= {report['packets_lost_at_least']}"
        raise DecodeIncomplete(f"{line}\ndecode: incomplete: {warning or 'END frame not in the recording'}; "
                               f"{lost} packets lost")
    return line
