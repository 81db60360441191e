"""Codec v1, the latent codec: a trained convolutional encoder/decoder whose fixed-rate quantized
latent travels in packets that each decode on their own (a lost packet is an erasure the decoder
was trained for).

Modules: :mod:`.net` (the network, :class:`~.net.LatentNet`), :mod:`.packets` (latent codes <->
packets), :mod:`.codec` (:class:`~.codec.LatentCodec`, the :class:`~..api.ImageCodec`),
:mod:`.train` (``sdr-semcom train codec --kind latent``).
"""
