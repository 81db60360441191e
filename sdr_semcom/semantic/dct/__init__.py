"""The DCT codecs (v2, v3, and v4, the link's default): block-DCT transform coding with a learned
entropy model and a learned decoder that removes artefacts and fills the MCUs of lost packets.

Modules: :mod:`.transform` (JPEG's colour space, 8x8 DCT and quantiser on 16x16 MCUs),
:mod:`.entropy` (per-packet arithmetic coder of v2 and v3, numba), :mod:`.contexts` (v4's: the same
range coder, MCU by MCU with neighbour-aware contexts and edge-predicted DCs), :mod:`.restore` (the decoder network),
:mod:`.codec` (:class:`~.codec.DctCodec`, the :class:`~..api.ImageCodec`), :mod:`.train`
(``sdr-semcom train codec --kind dct``).
"""
