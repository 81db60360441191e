"""Recordings as front ends: raw complex64 little-endian samples (SigMF's ``cf32_le`` ``.sigmf-data``).

A transmitter writes its burst stream to ``--output PATH`` (and, when PATH ends in
``.sigmf-data``, a minimal ``.sigmf-meta`` beside it with the datatype and sample rate); a receiver
reads ``--input PATH`` through the same receive flowgraph and ends at the end of the file. When a
``.sigmf-meta`` sits beside the samples (same name, ``.sigmf-meta`` suffix), its ``core:datatype``
and ``core:sample_rate`` are checked with :func:`check_meta`; what this front end cannot read is
refused with a :class:`~sdr_semcom.radio.options.RadioError` naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path

from .base import RxFrontEnd, TxFrontEnd
from .options import RadioError

#: The one sample format read and written: complex float32, little-endian (8 bytes a sample).
DATATYPE = "cf32_le"
ITEM_BYTES = 8
SIGMF_VERSION = "1.0.0"


def meta_path(path: Path) -> Path:
    """The SigMF metadata file that belongs to the samples at ``path`` (``x.sigmf-data`` -> ``x.sigmf-meta``)."""
    return path.with_suffix(".sigmf-meta")


def read_meta(path: Path) -> dict | None:
    """The SigMF metadata beside ``path`` (None when there is none), checked for what this package
    reads: datatype ``cf32_le``, one channel, a positive ``core:sample_rate`` when stated.

    Also what ``sdr-semcom calibrate --source file`` reads a recording's rate and centre frequency
    (``captures[0]["core:frequency"]``) from.

    Raises
    ------
    RadioError
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
        captures = doc.get("captures") or [{}]
        if not isinstance(captures, list) or not isinstance(captures[0], dict):
            raise TypeError("'captures' is not a list of objects")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RadioError(f"{meta}: not readable SigMF metadata ({exc})") from exc
    dtype = glob.get("core:datatype")
    if dtype != DATATYPE:
        raise RadioError(f"{meta}: core:datatype is {dtype!r}; only {DATATYPE} (complex float32, little-endian) "
                         "can be read: convert the recording first")
    if int(glob.get("core:num_channels", 1)) != 1:
        raise RadioError(f"{meta}: core:num_channels is {glob['core:num_channels']}; one channel per file "
                         "(give one --input per receiver)")
    fs = glob.get("core:sample_rate")
    if fs is not None and (not isinstance(fs, (int, float)) or fs <= 0):
        raise RadioError(f"{meta}: core:sample_rate {fs!r} is not a rate in S/s")
    freq = captures[0].get("core:frequency")
    if freq is not None and (not isinstance(freq, (int, float)) or freq <= 0):
        raise RadioError(f"{meta}: captures[0] core:frequency {freq!r} is not a frequency in Hz")
    return doc


def check_meta(path: Path, rate: float) -> dict | None:
    """Read the ``.sigmf-meta`` beside ``path`` (None when there is none: :func:`read_meta`) and check
    that this front end can use the samples: ``core:sample_rate``, when stated, equal to ``rate``.
    Returns its ``global`` object.

    Raises
    ------
    RadioError
        Naming the metadata file and what does not fit.
    """
    doc = read_meta(path)
    if doc is None:
        return None
    glob, meta = doc["global"], meta_path(path)
    fs = glob.get("core:sample_rate")
    if fs is not None:
        if abs(fs - rate) > 1e-6 * rate:
            raise RadioError(f"{path}: recorded at {fs:g} S/s (core:sample_rate in {meta.name}), but this link "
                             f"runs at {rate:g} S/s: pass --rate {fs:g} (or resample the recording)")
    return glob


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
    """Reads recordings (one per receiver chain, or one for every chain) to their end.

    Raises
    ------
    RadioError
        A file that is missing, empty, not a whole number of complex64 samples, or whose
        metadata says another format or sample rate (:func:`check_meta`).
    """

    kind = "file"

    def __init__(self, paths: tuple[Path, ...], chains: int, rate: float) -> None:
        if len(paths) not in (1, chains):
            raise RadioError(f"--input: give one recording, or one per receiver ({chains}), not {len(paths)}")
        self.paths = [Path(p) for p in (paths if len(paths) == chains else paths * chains)]
        for p in dict.fromkeys(self.paths):
            if not p.is_file():
                raise RadioError(f"--input {p}: no such file")
            size = p.stat().st_size
            if size == 0 or size % ITEM_BYTES:
                raise RadioError(f"--input {p}: {size} bytes is not a whole number of complex64 samples "
                                 f"({ITEM_BYTES} bytes each): is it a {DATATYPE} recording?")
            check_meta(p, rate)
        self.lengths = [p.stat().st_size // ITEM_BYTES for p in self.paths]
        self.description = ", ".join(str(p) for p in dict.fromkeys(self.paths))

    def sources(self, tb) -> list:
        from gnuradio import blocks, gr

        from ..blocks.buffers import big_output_buffer

        out = []
        for p in self.paths:
            src = blocks.file_source(gr.sizeof_gr_complex, str(p), False)
            big_output_buffer(src)
            out.append(src)
        return out
