"""SigMF recordings of the link: a writer that survives interruptions, a reader that checks what it reads.

A recording is ``NAME.sigmf-data`` (complex samples, ``cf32_le``) beside ``NAME.sigmf-meta``
(JSON, written with the ``sigmf`` package and valid against its schema). The metadata says:

- ``global``: ``core:datatype``, ``core:sample_rate``, ``core:hw``, ``core:recorder``,
  ``core:extensions`` (declares this project's namespace ``sdr_semcom``) and the link's settings
  (``sdr_semcom:mtu``, ``sdr_semcom:modulation``, ``sdr_semcom:gap``, ``sdr_semcom:codec``), the
  source (``sdr_semcom:source``), how many samples were written (``sdr_semcom:sample_count``: a
  data file shorter than that was truncated), why the capture ended (``sdr_semcom:end``:
  ``eot``, ``limit``, ``SIGINT``, ``SIGTERM``, ``disk full``, ``peer lost``, or ``running`` while it
  runs) and, when the receiver heard the END frame, the number of frames sent
  (``sdr_semcom:frames_sent``);
- ``captures``: one segment at sample 0 with ``core:datetime``, ``core:frequency`` (a radio's; none
  at baseband) and the gains (``sdr_semcom:gains``, dB by stage);
- ``annotations``: one per burst the receiver found (``core:sample_start``, ``core:sample_count``,
  ``core:label``; ``sdr_semcom:seq``, ``sdr_semcom:crc_ok``, ``sdr_semcom:snr_db``, ...).

:class:`SigmfWriter` appends samples to the data file as they come and rewrites the metadata
(atomically: a temporary file renamed over the old one) at start, at each checkpoint and at the
end, so that a capture stopped at any point leaves a valid recording of what it wrote. A full
disk stops the writer (:attr:`SigmfWriter.full`), the data file cut back to whole samples.
:func:`open_recording` reads one back (``cf32_le``, or ``ci16_le`` scaled by 2^-15), or raises
:class:`RecordingError` naming what is wrong; its metadata checks are
:func:`sdr_semcom.radio.file.read_meta`'s, shared with ``rx --radio file`` and ``calibrate --source file``.
"""

from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import numpy as np

from ..radio.options import RecordingError

__all__ = ["BurstNote", "CaptureInfo", "DiskFull", "Recording", "RecordingError", "SigmfWriter", "base_path",
           "open_recording"]

#: this project's SigMF extension namespace (declared in every recording's ``core:extensions``)
NS = "sdr_semcom"
EXTENSION = {"name": NS, "version": "1.0.0", "optional": True}
CF32 = "cf32_le"
CI16 = "ci16_le"
DATATYPES = (CF32, CI16)
META_EXT, DATA_EXT = ".sigmf-meta", ".sigmf-data"
#: ``sdr_semcom:end`` while the capture runs (a recording left so was killed without notice)
RUNNING = "running"


class DiskFull(OSError):
    """The disk filled up while a capture was writing (what was written is kept)."""


def base_path(path: str | Path) -> Path:
    """``NAME``, ``NAME.sigmf-meta`` or ``NAME.sigmf-data`` -> ``NAME``."""
    p = Path(path)
    return p.with_suffix("") if p.suffix in (META_EXT, DATA_EXT) else p


@dataclass(frozen=True)
class CaptureInfo:
    """What a recording's metadata says about where its samples came from.

    Parameters
    ----------
    sample_rate : float
        Samples per second.
    frequency : float or None
        Centre frequency, Hz (None: baseband, e.g. a ZeroMQ link; not written).
    hw : str
        ``core:hw``: the radio, or what stood for it.
    gains : dict of str to float
        Gains by stage, dB (``sdr_semcom:gains`` of the capture segment).
    link : dict
        The link's settings (``mtu``, ``modulation``, ``gap``, ``codec``), as ``sdr_semcom:KEY``.
    source : str
        Where the samples came from (``zmq tcp://...``, ``loopback auth``).
    description : str
    """

    sample_rate: float
    frequency: float | None = None
    hw: str = ""
    gains: dict = field(default_factory=dict)
    link: dict = field(default_factory=dict)
    source: str = ""
    description: str = ""


@dataclass(frozen=True)
class BurstNote:
    """One burst the receiver found: an annotation of the recording.

    ``start`` / ``count``: its first sample and length in samples (from the SIG field);
    ``seq``: the frame's sequence number (None: no frame); ``kind``: the frame's payload type
    (``RAW``, ``FEATURES``, ``END``, ...; ``undecoded`` when the LDPC decoder failed);
    ``crc_ok``: the frame's header and CRC32 check; ``snr_db``: the receiver's estimate.
    """

    start: int
    count: int
    seq: int | None
    kind: str
    crc_ok: bool
    snr_db: float

    def annotation(self) -> dict:
        label = f"{self.kind} {self.seq}" if self.seq is not None else self.kind
        row = {"core:sample_start": int(self.start), "core:sample_count": int(self.count), "core:label": label,
               f"{NS}:crc_ok": bool(self.crc_ok), f"{NS}:snr_db": round(float(self.snr_db), 2),
               f"{NS}:kind": self.kind}
        if self.seq is not None:
            row[f"{NS}:seq"] = int(self.seq)
        return row


class SigmfWriter:
    """Writes a SigMF recording incrementally.

    Parameters
    ----------
    path : path
        ``NAME`` (or ``NAME.sigmf-meta`` / ``.sigmf-data``): writes both files, replacing them.
    info : CaptureInfo
    checkpoint_s : float
        Rewrite the metadata at most this often while samples come (0: only at start and end).

    Input
    -----
    :meth:`write` complex samples (any chunk size), :meth:`annotate` bursts, :meth:`close` once.

    Raises
    ------
    RecordingError
        The files cannot be created.

    Output
    ------
    :attr:`samples` written; :attr:`full` (the error text once the disk filled up; further
    writes are dropped); :attr:`meta_error` (why the metadata could not be written, else None).
    """

    def __init__(self, path: str | Path, info: CaptureInfo, checkpoint_s: float = 5.0) -> None:
        base = base_path(path)
        self.data_path, self.meta_path = Path(f"{base}{DATA_EXT}"), Path(f"{base}{META_EXT}")
        self.info, self.checkpoint_s = info, checkpoint_s
        self.samples = 0
        self.full: str | None = None
        self.meta_error: str | None = None
        self.end = RUNNING
        self.extra: dict = {}
        self._notes: list[BurstNote] = []
        self._datetime = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        try:
            base.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.data_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as exc:
            raise RecordingError(f"{self.data_path}: cannot write the recording ({exc.strerror or exc})") from None
        self._last_meta = 0.0
        self._write_meta()
        if self.meta_error:
            os.close(self._fd)
            raise RecordingError(self.meta_error)

    # -- samples ------------------------------------------------------------------------------
    def write(self, samples: np.ndarray) -> int:
        """Append ``samples`` (as cf32_le); returns how many were written (fewer once the disk is full)."""
        if self.full is not None or self._fd < 0:
            return 0
        buf = memoryview(np.ascontiguousarray(samples, np.complex64).view(np.uint8).reshape(-1))
        done = 0
        try:
            while done < len(buf):
                done += self._write_bytes(buf[done:])
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            whole = done // 8
            self.full = f"disk full after {self.samples + whole} samples ({exc.strerror or exc})"
            self.end = "disk full"
            self._cut(self.samples + whole)
            self.samples += whole
            return whole
        n = len(buf) // 8
        self.samples += n
        if self.checkpoint_s and time.monotonic() - self._last_meta > self.checkpoint_s:
            self._write_meta()
        return n

    def _write_bytes(self, buf: memoryview) -> int:
        """One ``os.write`` (a test replaces it to simulate a full disk)."""
        return os.write(self._fd, buf)

    def _cut(self, samples: int) -> None:
        """Cut the data file back to ``samples`` whole samples (a partial one left by a failed write)."""
        try:
            os.ftruncate(self._fd, samples * 8)
        except OSError:
            pass

    # -- metadata -----------------------------------------------------------------------------
    def annotate(self, note: BurstNote) -> None:
        self._notes.append(note)

    def recorded_notes(self) -> list[BurstNote]:
        """The bursts lying wholly inside the samples written, in time order (what the metadata annotates)."""
        return sorted((n for n in self._notes if n.start + n.count <= self.samples), key=lambda n: n.start)

    def close(self, end: str | None = None, **extra) -> None:
        """Finish: ``end`` says why the capture stopped (default: ``limit`` / ``disk full``); ``extra``
        goes into the global segment as ``sdr_semcom:KEY`` (e.g. ``frames_sent``, ``eot_sample``).
        Idempotent; writes the metadata a last time (:attr:`meta_error` says when it could not)."""
        if self._fd < 0:
            return
        try:
            os.fsync(self._fd)
        except OSError:
            pass
        os.close(self._fd)
        self._fd = -1
        if self.full is None and end is not None:
            self.end = end
        elif self.end == RUNNING:
            self.end = "limit"
        self.extra.update({k: v for k, v in extra.items() if v is not None})
        self._write_meta(validate=True)

    def __enter__(self) -> "SigmfWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def metadata(self) -> dict:
        """The metadata as it stands (annotations of bursts lying wholly inside the samples written)."""
        i = self.info
        glob = {"core:datatype": CF32, "core:sample_rate": float(i.sample_rate), "core:version": _spec_version(),
                "core:num_channels": 1, "core:recorder": "sdr-semcom capture",
                "core:extensions": [dict(EXTENSION)], f"{NS}:sample_count": int(self.samples), f"{NS}:end": self.end}
        if i.hw:
            glob["core:hw"] = i.hw
        if i.description:
            glob["core:description"] = i.description
        if i.source:
            glob[f"{NS}:source"] = i.source
        glob.update({f"{NS}:{k}": v for k, v in i.link.items() if v is not None})
        glob.update({f"{NS}:{k}": v for k, v in self.extra.items()})
        if self.full:
            glob[f"{NS}:disk_full"] = self.full
        cap = {"core:sample_start": 0, "core:datetime": self._datetime}
        if i.frequency:  # baseband (a ZeroMQ link): none stated
            cap["core:frequency"] = float(i.frequency)
        if i.gains:
            cap[f"{NS}:gains"] = {k: float(v) for k, v in i.gains.items()}
        notes = self.recorded_notes()
        glob[f"{NS}:bursts"] = len(notes)
        return {"global": glob, "captures": [cap], "annotations": [n.annotation() for n in notes]}

    def _write_meta(self, validate: bool = False) -> None:
        from sigmf import SigMFFile

        self._last_meta = time.monotonic()
        tmp = self.meta_path.with_name(self.meta_path.name + ".tmp")
        try:
            meta = SigMFFile(metadata=self.metadata())
            if validate:
                meta.validate()
            with open(tmp, "w") as fp:
                meta.dump(fp, pretty=True)
                fp.write("\n")
                fp.flush()
                os.fsync(fp.fileno())
            os.replace(tmp, self.meta_path)
            self.meta_error = None
        except OSError as exc:
            self.meta_error = f"{self.meta_path}: metadata not written ({exc.strerror or exc})"
            tmp.unlink(missing_ok=True)


def _spec_version() -> str:
    import sigmf

    return sigmf.__specification__


# ---------------------------------------------------------------------------------------- reading
@dataclass
class Recording:
    """A checked recording (see :func:`open_recording`).

    ``samples``: whole samples in the data file; ``declared``: how many the writer says it wrote
    (``sdr_semcom:sample_count``; None for recordings of other tools); ``extra_bytes``: a partial
    sample at the end of the data file.
    """

    base: Path
    datatype: str
    sample_rate: float | None
    samples: int
    declared: int | None
    extra_bytes: int
    meta: dict

    @property
    def global_info(self) -> dict:
        return self.meta["global"]

    def link(self, key: str, default=None):
        """``sdr_semcom:KEY`` of the global segment."""
        return self.meta["global"].get(f"{NS}:{key}", default)

    @property
    def missing(self) -> int:
        """Samples the writer wrote that the data file no longer holds (0: not truncated)."""
        return max((self.declared or 0) - self.samples, 0)

    @property
    def truncated(self) -> bool:
        return self.missing > 0 or self.extra_bytes > 0

    @property
    def annotations(self) -> list[dict]:
        return self.meta.get("annotations", [])

    @property
    def data_path(self) -> Path:
        return Path(f"{self.base}{DATA_EXT}")

    def chunks(self, size: int = 1 << 18) -> Iterator[np.ndarray]:
        """The samples, complex64 (``ci16_le`` scaled by 2^-15, as the ``sigmf`` package does), in
        chunks of ``size``. (Read with numpy: ``SigMFFile.read_samples`` costs ~10 ns a sample more.)"""
        with open(self.data_path, "rb") as fp:
            for start in range(0, self.samples, size):
                n = min(size, self.samples - start)
                if self.datatype == CF32:
                    yield np.fromfile(fp, np.dtype("<c8"), n).astype(np.complex64, copy=False)
                else:
                    iq = np.fromfile(fp, np.dtype("<i2"), 2 * n).astype(np.float32) * np.float32(2.0**-15)
                    yield iq.view(np.complex64)


def open_recording(path: str | Path) -> Recording:
    """Open ``NAME`` (or ``NAME.sigmf-meta`` / ``.sigmf-data``) for reading.

    The metadata is read and checked by :func:`sdr_semcom.radio.file.read_meta`, the reader
    ``rx --radio file`` and ``calibrate --source file`` use: the same files are accepted, with the
    same errors. A recording without ``core:sample_rate`` has ``sample_rate`` None (the link's).

    Raises
    ------
    RecordingError
        Metadata missing, not JSON, or not valid SigMF; a datatype other than ``cf32_le`` /
        ``ci16_le``; more than one channel; header or trailing bytes; data file missing.
    """
    from ..radio.file import read_meta

    base = base_path(path)
    meta_path, data_path = Path(f"{base}{META_EXT}"), Path(f"{base}{DATA_EXT}")
    if not meta_path.is_file():
        raise RecordingError(f"{meta_path}: no such file (a SigMF recording is NAME{META_EXT} beside "
                             f"NAME{DATA_EXT})")
    meta = read_meta(data_path)
    g = meta["global"]
    if not data_path.is_file():
        raise RecordingError(f"{data_path}: no such file (the samples of {meta_path.name})")
    dtype, rate = g["core:datatype"], g.get("core:sample_rate")
    size = data_path.stat().st_size
    sample_size = 8 if dtype == CF32 else 4
    declared = g.get(f"{NS}:sample_count")
    return Recording(base, dtype, float(rate) if rate is not None else None, size // sample_size,
                     int(declared) if isinstance(declared, int) else None, size % sample_size, meta)
