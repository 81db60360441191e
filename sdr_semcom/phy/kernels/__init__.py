"""Compiled inner loops of the PHY (numba, cached on disk after the first run).

The modem's hot paths are per-sample or per-edge loops that numpy can only express with many
temporary arrays; here they are plain loops compiled by numba, one module per stage of the chain:

* :mod:`.front_end` -- the receiver's front end, once per input chunk: non-finite samples zeroed
  and counted, DC removed (``front_end_clean``);
* :mod:`.sync` -- STF detection (``stf_detect``), LTF timing and CFO (``ltf_timing``),
  derotation (``derotated_frames``) and the compiled radix-2 FFT (``fft_plan``, ``fft_inplace``,
  ``spectra``);
* :mod:`.equaliser` -- LTF channel estimate (``ltf_channel``), pilot tracking, zero-forcing
  equaliser and max-log demapper (``equalise``);
* :mod:`.ldpc` -- LDPC encode/decode with a fixed-width syndrome check, DATA field decoding
  (``decode_frame``);
* :mod:`.rx` -- a burst in two calls: ``acquire`` (LTF, channel, SIG) and ``demodulate``
  (equaliser and DATA decoding);
* :mod:`.tx` -- frame encoding, frequency grids, bursts (``encode_frame``, ``ofdm_grid``,
  ``frame_grids``, ``burst_samples``);
* :mod:`.noise`, :mod:`.channel` -- SplitMix64 + ziggurat normals, the channel emulator's pass;
* :mod:`.layout` -- the named tuples they take (:class:`BurstLayout`, :class:`TxLayout` and the others).

The receiver calls ``front_end_clean`` once per input chunk and the others a handful of times per
burst: ``stf_detect``, ``acquire``, ``derotated_frames`` (then numpy's FFT over all the burst's
symbols at once) and ``demodulate``. All release the GIL.

Two rules keep the loops fast: index tables are unsigned (numba checks every signed index for
wraparound, which stops vectorisation), and where a loop walks a window of an array it indexes a
view of that window with its loop counter.

The first import compiles them (a few seconds) and caches the machine code in ``__pycache__``
(or ``$NUMBA_CACHE_DIR``); later processes load it in milliseconds. A cached kernel contains
the kernels it calls, while numba checks only the kernel's own source file: :mod:`._jit` keys
every kernel's cache by a digest of all the package's modules, so that editing one recompiles
its callers.
"""

from .channel import channel_pass
from .equaliser import equalise, ltf_channel
from .front_end import front_end_clean
from .layout import (BurstLayout, Demap, EmulatorState, FrameBatch, FrameShape, LdpcGraph, LdpcTables, Tracking,
                     TxLayout, Ziggurat)
from .ldpc import decode_frame, ldpc_decode, ldpc_encode
from .noise import normal_tables, normals
from .rx import acquire, demodulate
from .sync import derotated_frames, fft_inplace, fft_plan, ltf_timing, spectra, stf_detect
from .tx import burst_samples, encode_frame, frame_grids, ofdm_grid

__all__ = [
    "BurstLayout", "Demap", "EmulatorState", "FrameBatch", "FrameShape", "LdpcGraph", "LdpcTables", "Tracking",
    "TxLayout", "Ziggurat", "acquire", "burst_samples", "channel_pass", "decode_frame", "demodulate", "derotated_frames",
    "encode_frame", "equalise", "fft_inplace", "fft_plan", "frame_grids", "front_end_clean", "ldpc_decode",
    "ldpc_encode", "ltf_channel", "ltf_timing", "normal_tables", "normals", "ofdm_grid", "spectra", "stf_detect",
]
