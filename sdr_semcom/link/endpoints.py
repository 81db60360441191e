"""The two ends of a link, independent of GNU Radio: frames out, bursts in."""

from __future__ import annotations

import logging
import os
import struct
from dataclasses import dataclass, field

import numpy as np

from ..phy.framing import Fragmenter, Frame, Message, PayloadType, Reassembler, build_frame, parse_frame
from ..phy.ofdm import RxBurst, RxStats

log = logging.getLogger(__name__)

#: How many lost sequence numbers a report lists (the count is always exact).
MAX_LISTED_LOSSES = 200
#: A report's ``status`` when the END frame (the count of frames sent) was not heard.
INCOMPLETE = "transmission incomplete: END not heard"
#: Random bytes the END frame carries after the frame count: a receiver proves it heard the END
#: frame by quoting them in its ``done`` (:func:`sdr_semcom.link.roles.run_tx` checks them).
RECEIPT_LEN = 16


class LinkTransmitter:
    """Cuts messages into frames and numbers them; ends with an END frame.

    The END frame carries the number of frames sent before it, so a receiver
    that hears it knows exactly how many it lost, and :attr:`receipt` (random, fresh per
    transmitter), which a receiver quotes to show it heard the END frame.
    """

    def __init__(self, mtu: int, stream: int = 0) -> None:
        self.fragmenter = Fragmenter(mtu=mtu, stream=stream)
        self.frames_sent = 0
        self.payload_bytes = 0
        self.receipt = os.urandom(RECEIPT_LEN)

    def frames(self, payload: bytes | list[bytes], ptype: PayloadType = PayloadType.RAW) -> list[bytes]:
        """One message -> frames. A list of chunks keeps its boundaries (chunk i = fragment i)."""
        if isinstance(payload, list):
            split = self.fragmenter.split_chunks(payload, ptype)
            self.payload_bytes += sum(map(len, payload))
        else:
            split = self.fragmenter.split(payload, ptype)
            self.payload_bytes += len(payload)
        out = [build_frame(f) for f in split]
        self.frames_sent += len(out)
        return out

    def end_frame(self) -> bytes:
        (frame,) = self.fragmenter.split(struct.pack(">I", self.frames_sent) + self.receipt, PayloadType.END)
        return build_frame(frame)


@dataclass
class LinkReceiver:
    """Turns decoded bursts into frames and messages, and counts what was lost.

    Parameters
    ----------
    role : str
        ``auth`` or ``eve`` (for reports).
    """

    role: str = "auth"
    reassembler: Reassembler = field(default_factory=Reassembler)
    messages: list[Message] = field(default_factory=list)
    seqs: set[int] = field(default_factory=set)
    crc_failures: int = 0
    payload_bytes: int = 0
    expected_frames: int | None = None  # from the END frame
    end_receipt: bytes | None = None  # from the END frame: quoted in the receiver's ``done``
    snr_estimates: list[float] = field(default_factory=list)
    symbols: list[np.ndarray] = field(default_factory=list)
    _symbols_kept: int = field(default=0, repr=False)

    def push(self, burst: RxBurst) -> None:
        self.snr_estimates.append(burst.snr_db)
        if burst.payload is None:
            return
        if self._symbols_kept < 8192:  # enough for a constellation plot
            self.symbols.append(burst.symbols)
            self._symbols_kept += burst.symbols.size
        frame = parse_frame(burst.payload)
        if frame is None:
            self.crc_failures += 1
            log.info("%s: frame failed its CRC / header check at sample %d", self.role, burst.start)
            return
        self._accept(frame)

    def _accept(self, frame: Frame) -> None:
        if frame.ptype is PayloadType.END:
            (self.expected_frames,) = struct.unpack(">I", frame.payload[:4].rjust(4, b"\0"))
            if len(frame.payload) >= 4 + RECEIPT_LEN:
                self.end_receipt = frame.payload[4 : 4 + RECEIPT_LEN]
            return
        self.seqs.add(frame.seq)
        self.payload_bytes += len(frame.payload)
        msg = self.reassembler.push(frame)
        if msg is not None:
            self.messages.append(msg)

    def finish(self) -> list[Message]:
        """End of reception: incomplete messages join :attr:`messages` with their loss map."""
        self.messages.extend(self.reassembler.flush())
        self.messages.sort(key=lambda m: (m.stream, m.msg_id))
        return self.messages

    def report(self, rx_stats: RxStats, frames_sent: int | None, airtime_s: float, snr_db: float | None) -> dict:
        """Per-receiver figures: packets sent/received/lost, PER, goodput, SNR.

        ``snr_db``: the channel's SNR where the caller knows it (a loopback that ran the channel);
        ``None`` leaves it out (a receiver process knows only its estimate, ``snr_est_db``).
        Without ``frames_sent`` and without the END frame, the number sent is unknown:
        ``packets_sent``, ``packets_lost`` and ``per`` are None, ``packets_sent_at_least`` (highest
        sequence number heard + 1) and ``packets_lost_at_least`` bound them, and ``status`` says
        ``transmission incomplete: END not heard``.
        """
        sent = frames_sent if frames_sent is not None else self.expected_frames
        at_least = max(self.seqs) + 1 if self.seqs else 0
        lost = sorted(set(range(sent if sent is not None else at_least)) - self.seqs)
        return {
            "role": self.role,
            "status": "complete" if sent is not None else INCOMPLETE,
            **({} if snr_db is None else {"snr_db": snr_db}),
            "snr_est_db": float(np.median(self.snr_estimates)) if self.snr_estimates else None,
            "packets_sent": sent,
            "packets_sent_at_least": sent if sent is not None else at_least,
            "packets_received": len(self.seqs),
            "packets_lost": len(lost) if sent is not None else None,
            "packets_lost_at_least": len(lost),
            "lost_seqs": lost[:MAX_LISTED_LOSSES],
            "per": len(lost) / sent if sent else None,
            "crc_failures": self.crc_failures,
            "fec_failures": rx_stats.fec_failures,
            "sig_errors": rx_stats.sig_errors,
            "false_alarms": rx_stats.false_alarms,
            "truncated_bursts": rx_stats.truncated,
            "nonfinite_samples": rx_stats.nonfinite_samples,
            "end_frame_heard": self.expected_frames is not None,
            "payload_bytes": self.payload_bytes,
            "airtime_s": airtime_s,
            "goodput_bps": 8 * self.payload_bytes / airtime_s if airtime_s > 0 else None,
            "messages_complete": sum(m.complete for m in self.messages),
            "messages_partial": sum(not m.complete for m in self.messages),
        }
