"""Semantic image codecs: image -> (header, packets that each decode on their own) -> image.

A lost packet costs part of the image, not all of it: each codec spreads the image over its
packets (:mod:`.interleave`) and its decoder fills what did not arrive. Two codecs implement the
same API (:mod:`.api`: :class:`~.api.ImageCodec`, :class:`~.api.ImageHeader`,
:class:`~.api.DecodeInfo`):

- :mod:`.dct` (codec v4, ``models/codec_v4``, the default; codecs v3 and v2, ``models/codec_v3``,
  ``models/codec_v2``, share a bitstream that v4 codes with a better entropy coder): block-DCT transform coding sized to a byte budget, a learned entropy model
  and a learned decoder (artefacts at coarse quantisers, lost MCUs);
- :mod:`.latent` (codec v1, ``models/codec_v1``): a convolutional encoder/decoder with a
  fixed-rate quantized latent.

Pick one by its weights: ``weights.load_codec(name)`` checks ``models/<name>.pt`` against its
manifest and builds the codec the file's ``kind`` names (``DEFAULT_NAME`` is codec v4).
:mod:`.messages` turns images into link messages and back; :mod:`.metrics` measures a codec
(PSNR, SSIM, over losses); :mod:`.training` holds what both trainers share; :mod:`.data` the
training and held-out images; :mod:`.baseline` the JPEG separation baseline at the same bytes, :mod:`.separation` the fair ones
(WebP, WebP tiles, restart-marker JPEG; :mod:`.conceal` fills what they lose).
"""
