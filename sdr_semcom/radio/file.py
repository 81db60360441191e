"""Recordings as front ends: complex samples (SigMF's ``cf32_le`` ``.sigmf-data``, or ``ci16_le``).

A transmitter writes its burst stream to ``--output PATH`` (and, when PATH ends in
``.sigmf-data``, a minimal ``.sigmf-meta`` beside it with the datatype and sample rate); a receiver
reads ``--input PATH`` through the same receive flowgraph and ends at the end of the file. When a
``.sigmf-meta`` sits beside the samples (same name, ``.sigmf-meta`` suffix), it is read and checked
by :func:`read_meta` / :func:`check_meta`: the one SigMF reader of the project (``rx --radio file``,
``sdr-semcom decode`` through :func:`sdr_semcom.capture.sigmf_io.open_recording`, ``calibrate
--source file``), so that they accept the same files and refuse the others with the same
:class:`~sdr_semcom.radio.options.RecordingError` naming the file. The ``sigmf`` package (its
schema validator: ~0.35 s to import) is imported only when a metadata file is read.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from .base import RxFrontEnd, TxFrontEnd
from .options import RadioError, RecordingError

#: The sample format written: complex float32, little-endian (8 bytes a sample).
DATATYPE = "cf32_le"
ITEM_BYTES = 8
#: The sample formats read, and their sizes in bytes (``ci16_le`` is scaled by 2^-15, as the ``sigmf`` package does).
DATATYPES = {"cf32_le": 8, "ci16_le": 4}
SIGMF_VERSION = "1.0.0"


def meta_path(path: Path) -> Path:
    """The SigMF metadata file that belongs to the samples at ``path`` (``x.sigmf-data`` -> ``x.sigmf-meta``)."""
    return Path(path).with_suffix(".sigmf-meta")


def read_meta(path: Path) -> dict | None:
    """The SigMF metadata beside ``path`` (None when there is none), checked for what this package
    reads: valid against the SigMF schema (``core:version`` may be left out), datatype ``cf32_le`` or ``ci16_le`` (:data:`DATATYPES`),
    one channel, no header or trailing bytes, a positive ``core:sample_rate`` and ``core:frequency``
    (``captures[0]``) when stated.

    Also what ``sdr-semcom calibrate --source file`` reads a recording's rate and centre frequency
    from, and what ``sdr-semcom decode`` checks a recording with.

    Raises
    ------
    RecordingError
        Naming the metadata file and what does not fit.
    """
    meta = meta_path(path)
    if not meta.is_file():
        return None
    try:
        doc = json.loads(meta.read_text())
        glob = doc["global"]
        if not isinstance(glob, dict):
            raise TypeError("'global' is not an object")
        captures = doc.setdefault("captures", [])
        if not isinstance(captures, list) or not all(isinstance(c, dict) for c in captures):
            raise TypeError("'captures' is not a list of objects")
        doc.setdefault("annotations", [])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RecordingError(f"{meta}: not readable SigMF metadata ({exc})") from exc
    _validate(doc, meta)
    dtype = glob.get("core:datatype")
    if dtype not in DATATYPES:
        raise RecordingError(f"{meta}: core:datatype is {dtype!r}; only {' or '.join(DATATYPES)} (complex float32 / "
                             "int16, little-endian) can be read: convert the recording first")
    if glob.get("core:num_channels", 1) != 1:
        raise RecordingError(f"{meta}: core:num_channels is {glob['core:num_channels']}; one channel per file "
                             "(give one --input per receiver)")
    if any(c.get("core:header_bytes") for c in captures) or glob.get("core:trailing_bytes"):
        raise RecordingError(f"{meta}: header or trailing bytes in the data file are not supported")
    fs = glob.get("core:sample_rate")
    if fs is not None and (not isinstance(fs, (int, float)) or fs <= 0):
        raise RecordingError(f"{meta}: core:sample_rate {fs!r} is not a rate in S/s")
    freq = (captures or [{}])[0].get("core:frequency")
    if freq is not None and (not isinstance(freq, (int, float)) or freq <= 0):
        raise RecordingError(f"{meta}: captures[0] core:frequency {freq!r} is not a frequency in Hz")
    return doc


def _validate(doc: dict, meta: Path) -> None:
    """Check ``doc`` against the SigMF schema (the ``sigmf`` package; imported here, not with the module).
    A missing ``core:version`` is let pass (hand-written metadata often lacks it; nothing here needs it)."""
    import jsonschema
    from sigmf import validate

    checked = dict(doc, **{"global": {"core:version": SIGMF_VERSION, **doc["global"]}})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            validate.validate(checked)
    except jsonschema.exceptions.ValidationError as exc:
        where = "/".join(map(str, exc.absolute_path)) or "metadata"
        raise RecordingError(f"{meta}: invalid SigMF: {where}: {exc.message}") from None


def check_meta(path: Path, rate: float) -> dict | None:
    """Read the ``.sigmf-meta`` beside ``path`` (None when there is none: :func:`read_meta`) and check
    that this front end can use the samples: ``core:sample_rate``, when stated, equal to ``rate``.
    Returns its ``global`` object.

    Raises
    ------
    RecordingError
        Naming the metadata file and what does not fit.
    """
    doc = read_meta(path)
    if doc is None:
        return None
    glob, meta = doc["global"], meta_path(path)
    fs = glob.get("core:sample_rate")
    if fs is not None:
        if abs(fs - rate) > 1e-6 * rate:
            raise RecordingError(f"{path}: recorded at {fs:g} S/s (core:sample_rate in {meta.name}), but this link "
                                 f"runs at {rate:g} S/s: pass --rate {fs:g} (or resample the recording)")
    return glob


def read_samples(path: Path, dtype: str = DATATYPE, start: int = 0, count: int = -1):
    """``count`` samples (-1: to the end) of ``path`` from sample ``start``, as complex64 (``ci16_le``
    scaled by 2^-15); a partial sample at the end is left out."""
    import numpy as np

    size = DATATYPES[dtype]
    with open(path, "rb") as fp:
        fp.seek(start * size)
        if dtype == DATATYPE:
            return np.fromfile(fp, np.dtype("<c8"), count).astype(np.complex64, copy=False)
        iq = np.fromfile(fp, np.dtype("<i2"), 2 * count if count >= 0 else -1)
        iq = iq[: iq.size - iq.size % 2].astype(np.float32) * np.float32(2.0**-15)
        return iq.view(np.complex64)


def write_meta(path: Path, rate: float, description: str) -> Path:
    """Write a minimal SigMF metadata file beside the samples at ``path``; returns its path."""
    meta = meta_path(path)
    doc = {"global": {"core:datatype": DATATYPE, "core:sample_rate": float(rate), "core:version": SIGMF_VERSION,
                      "core:num_channels": 1, "core:description": description, "core:recorder": "sdr-semcom"},
           "captures": [{"core:sample_start": 0}], "annotations": []}
    meta.write_text(json.dumps(doc, indent=2) + "\n")
    return meta


class FileTx(TxFrontEnd):
    """Writes the transmitter's stream, unchanged, to ``path`` (complex64); a ``.sigmf-data`` path
    also gets its ``.sigmf-meta``."""

    kind = "file"

    def __init__(self, path: Path, rate: float) -> None:
        self.path = Path(path)
        self.rate = float(rate)
        self.description = str(self.path)
        if self.path.is_dir():
            raise RadioError(f"--output {self.path}: is a folder; give a file name (e.g. tx.sigmf-data)")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.open("wb").close()
        except OSError as exc:
            raise RadioError(f"--output {self.path}: cannot write it ({exc.strerror or exc})") from exc
        self.sink = None

    def connect(self, tb, upstream) -> None:
        from gnuradio import blocks, gr

        self.sink = blocks.file_sink(gr.sizeof_gr_complex, str(self.path), False)
        self.sink.set_unbuffered(False)
        tb.connect(upstream, self.sink)

    def close(self) -> None:
        if self.sink is not None:
            self.sink.close()
        if self.path.suffix == ".sigmf-data":
            write_meta(self.path, self.rate, "sdr-semcom tx burst stream")

    def counters(self) -> dict:
        return {"samples_written": self.path.stat().st_size // ITEM_BYTES if self.path.is_file() else 0}


class FileRx(RxFrontEnd):
    """Reads recordings (one per receiver chain, or one for every chain) to their end: ``cf32_le``,
    or ``ci16_le`` when the metadata says so.

    Raises
    ------
    RecordingError
        A file that is missing, empty, not a whole number of samples, or whose metadata says
        another format or sample rate (:func:`check_meta`).
    """

    kind = "file"

    def __init__(self, paths: tuple[Path, ...], chains: int, rate: float) -> None:
        if len(paths) not in (1, chains):
            raise RadioError(f"--input: give one recording, or one per receiver ({chains}), not {len(paths)}")
        # NAME.sigmf-meta names its samples, as for ``sdr-semcom decode``
        self.paths = [Path(p).with_suffix(".sigmf-data") if Path(p).suffix == ".sigmf-meta" else Path(p)
                      for p in (paths if len(paths) == chains else paths * chains)]
        self.datatypes: dict[Path, str] = {}
        for p in dict.fromkeys(self.paths):
            if not p.is_file():
                raise RecordingError(f"--input {p}: no such file")
            glob = check_meta(p, rate)
            dtype = glob["core:datatype"] if glob is not None else DATATYPE
            size, item = p.stat().st_size, DATATYPES[dtype]
            if size == 0 or size % item:
                kind = "complex64" if dtype == DATATYPE else "complex int16"
                raise RecordingError(f"--input {p}: {size} bytes is not a whole number of {kind} samples "
                                     f"({item} bytes each): is it a {dtype} recording?")
            self.datatypes[p] = dtype
        self.lengths = [p.stat().st_size // DATATYPES[self.datatypes[p]] for p in self.paths]
        self.description = ", ".join(str(p) for p in dict.fromkeys(self.paths))

    def sources(self, tb) -> list:
        from gnuradio import blocks, gr

        from ..blocks.buffers import big_output_buffer

        out = []
        for p in self.paths:
            if self.datatypes[p] == DATATYPE:
                src = blocks.file_source(gr.sizeof_gr_complex, str(p), False)
                big_output_buffer(src)
            else:  # ci16_le: interleaved int16 I/Q, scaled by 2^-15 (a little-endian host)
                raw = blocks.file_source(gr.sizeof_short, str(p), False)
                big_output_buffer(raw)
                src = blocks.interleaved_short_to_complex(False, False, 32768.0)
                tb.connect(raw, src)
            out.append(src)
        return out
