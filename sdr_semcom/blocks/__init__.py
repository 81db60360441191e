"""GNU Radio blocks wrapping the project's stages (importing this needs GNU Radio)."""

from .burst_sink import BurstSink
from .burst_source import BurstSource
from .channel_block import ChannelBlock, make_channel_block
from .eot_watch import EotWatch

__all__ = ["BurstSink", "BurstSource", "ChannelBlock", "EotWatch", "make_channel_block"]
