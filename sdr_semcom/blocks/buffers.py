"""Output buffer size of the blocks that feed a Python block."""

from __future__ import annotations

#: Output buffer (items) for the blocks that feed a Python block: GNU Radio 3.10's Python gateway
#: costs ~0.1 ms per ``work()`` call, and the default 8192-item buffers made it a quarter of the
#: receiver's time (measured: 500-byte bursts decoded 35 % faster with 65536 items, another 5-10 %
#: with 262144 (2 MB of complex64). The scheduler hands a block what is there, so at a radio's
#: rate a large buffer adds no latency.
STREAM_BUFFER = 1 << 18


def big_output_buffer(block, items: int = STREAM_BUFFER) -> None:
    """Give ``block`` (one that feeds a Python block) an output buffer of ``items``.

    Parameters
    ----------
    block : gr.basic_block
        Any GNU Radio block with a stream output.
    items : int
        Minimum output buffer size in items.
    """
    block.set_min_output_buffer(items)
