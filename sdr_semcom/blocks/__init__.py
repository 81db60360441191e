"""GNU Radio blocks wrapping the project's stages (importing this needs GNU Radio)."""

from .burst_sink import BurstSink
from .burst_source import BurstSource
from .channel_block import ChannelBlock
from .stream_guard import StreamGuard

__all__ = ["BurstSink", "BurstSource", "ChannelBlock", "StreamGuard"]
