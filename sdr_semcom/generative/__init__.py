"""The receiver's generative stage: fill the regions the privacy guard removed.

Entry points: :func:`make_inpainter` (an :class:`Inpainter` for the authorized receiver or the
eavesdropper) and :func:`regions_from_rows` (``SemanticReceiver.decode`` rows + aligned vectors ->
:class:`Region` list); :func:`removed_mask` rebuilds the removed pixels from the boxes;
:func:`regions_from_fill` finds them from the grey fill alone (an eavesdropper, which gets no box). The receivers (``rx``, the demo) use
:func:`fill_item` on each decoded item with :func:`receiver_inpainter`'s inpainter.

Backends: ``telea`` (OpenCV, always), ``face_prior`` / ``face_prior_null`` (DigiFace-1M DCGAN fitted to the hole's
ring and the description's appearance words / the ring only; Poisson-cloned; weights from ``gan_face_generate``
1.1.1, non-commercial research only),
``network`` / ``network_null`` (``models/inpainter_v2``: gated U-Net, FiLM on the guard's description vector or a
learned null embedding), ``diffusers`` / ``diffusers_noprompt`` (a local Stable Diffusion inpainting pipeline,
prompted with the description / with nothing). ``make_inpainter(..., conditioned=False)``: the authorized
receiver's generators without the description (the ``_null`` / ``_noprompt`` backends).
"""

from .base import DEFAULT_POLICY, FillResult, Inpainter
from .classical import ClassicalInpainter
from .factory import make_inpainter
from .faceprior import fetch_face_generator
from .receiver import GeneratorError, fill_item, receiver_inpainter
from .region import CATEGORIES, Region, regions_from_fill, regions_from_rows, removed_mask

__all__ = ["CATEGORIES", "DEFAULT_POLICY", "ClassicalInpainter", "FillResult", "GeneratorError", "Inpainter", "Region",
           "fetch_face_generator", "fill_item", "make_inpainter", "receiver_inpainter", "regions_from_fill",
           "regions_from_rows", "removed_mask"]
