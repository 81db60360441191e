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
from ..radio.file import check_meta
from ..reception import receiver_stage, write_reception
from .sigmf_io import open_recording

__all__ = ["DecodeIncomplete", "DecodeOptions", "ROLES", "decode_recording"]

#: ``auth``, ``eve``, or ``both`` (one pass of the PHY receiver, both receivers: ``OUT/auth``, ``OUT/eve``)
ROLES = ("auth", "eve", "both")


class DecodeIncomplete(LinkError):
    """The recording was truncated, or its transmission's END frame is missing: what it held is written."""


@dataclass(frozen=True)
class DecodeOptions:
    """How to decode: ``role`` (``auth`` / ``eve`` / ``both``: :data:`ROLES`), ``payload``
    (``semantic`` / ``raw``), the authorized receiver's ``db_path``, ``strict`` key check, the generative stage
    (``generator``, ``generator_dir``)."""

    role: str = "auth"
    payload: str = "semantic"
    db_path: str | None = None
    strict: bool = False
    generator: str = "auto"
    generator_dir: str | None = None


def decode_recording(path: str | Path, out: Path, cfg: LinkConfig, opts: DecodeOptions = DecodeOptions(),
                     chunk: int = 1 << 18) -> str:
    """Decode the recording ``path`` into ``out`` (images, ``report.json``; role ``both``: into
    ``out/auth`` and ``out/eve``, the database for the authorized receiver only); returns the summary line.

    ``cfg``: the link's settings; the recording's sample rate, when stated, must be ``cfg.sample_rate``
    (:func:`~sdr_semcom.radio.file.check_meta`, as ``rx --radio file``), and its mtu
    (``sdr_semcom:mtu``) is used when ``cfg`` does not state one.

    Raises
    ------
    RecordingError
        The recording cannot be used (see :func:`open_recording`), or its sample rate is not the link's.
    DecodeIncomplete
        After writing: the recording was truncated or lacks the END frame.
    """
    if opts.role == "eve" and opts.db_path:
        raise ValueError("the eavesdropper has no privacy database")
    if opts.role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {opts.role!r}")
    rec = open_recording(path)
    check_meta(rec.data_path, cfg.sample_rate)  # the rate check rx --radio file makes, with its message
    rate = rec.sample_rate or cfg.sample_rate  # none stated: the link's, as rx --radio file
    mtu = cfg.mtu if cfg.states("mtu") or not isinstance(rec.link("mtu"), int) else rec.link("mtu")
    roles = ("auth", "eve") if opts.role == "both" else (opts.role,)
    inpainters = {r: receiver_stage(r, opts.payload, opts.generator, opts.generator_dir,
                                    opts.db_path if r == "auth" else None) for r in roles}
    receivers, bursts = {r: LinkReceiver(r) for r in roles}, BurstReceiver()  # one PHY pass for every role
    for x in rec.chunks(chunk):
        for b in bursts.feed(x):
            for receiver in receivers.values():
                receiver.push(b)
    for b in bursts.flush():
        for receiver in receivers.values():
            receiver.push(b)
    lines, incomplete, failure = [], None, None
    for role, receiver in receivers.items():
        try:
            line, why = _write(rec, receiver, role, bursts.stats, rate, cfg, mtu, inpainters[role],
                               out / role if opts.role == "both" else out, opts)
        except Exception as exc:  # the other receiver's images are still written (as rx --role both)
            failure = failure or exc
            continue
        lines.append(line)
        incomplete = incomplete or why
    if failure is not None:
        raise failure
    line = "\n".join(lines)
    if incomplete:
        raise DecodeIncomplete(f"{line}\ndecode: incomplete: {incomplete}")
    return line


def _write(rec, receiver: LinkReceiver, role: str, stats, rate: float, cfg: LinkConfig, mtu: int, inpainter,
           out: Path, opts: DecodeOptions) -> tuple[str, str | None]:
    """One role's images and report from what ``receiver`` got; returns its line and why it is incomplete (or None)."""
    receiver.finish()
    sent_hint = rec.link("frames_sent") if receiver.expected_frames is None else None
    report = receiver.report(stats, sent_hint if isinstance(sent_hint, int) else None, rec.samples / rate, None)
    if cfg.states(f"{role}.snr_db"):  # as rx: the channel's SNR only where the config states it
        report["snr_configured_db"] = getattr(cfg, role).snr_db
    warning = None
    if rec.truncated:
        declared = rec.declared if rec.declared is not None else "?"
        stray = f" (+{rec.extra_bytes} stray bytes)" if rec.extra_bytes else ""
        warning = f"recording truncated: {rec.samples} of {declared} samples in {rec.base}.sigmf-data{stray}"
    elif receiver.expected_frames is None and rec.link("end") not in (None, "eot"):
        warning = f"the capture ended by {rec.link('end')}, before the transmission's end"
    report.update(recording=str(rec.base), warning=warning,
                  stream_ended=not rec.truncated and receiver.expected_frames is not None, interrupted=None)
    line = write_reception(receiver, report, role, out, mtu, inpainter, opts.db_path if role == "auth" else None,
                           opts.strict)
    if not (warning or receiver.expected_frames is None):
        return line, None
    lost = report["packets_lost"] if report["packets_lost"] is not None else f">= {report['packets_lost_at_least']}"
    return line, f"{warning or 'END frame not in the recording'}; {lost} packets lost"
