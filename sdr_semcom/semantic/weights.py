"""Codec weights: ``models/<name>.pt`` checked against its manifest ``models/<name>.json``,
then handed to the codec class the weights file names (its ``kind``).

A missing or mismatching file raises :class:`~.api.WeightsError` saying what to run. The codec
classes are imported only when a file of their kind is loaded (:data:`CODEC_KINDS`), so this
module depends on neither codec package.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path

import torch

from .api import ImageCodec, WeightsError
from .defaults import DEFAULT_NAME, MODELS_DIR  # re-exported: semantic.weights.DEFAULT_NAME / MODELS_DIR

#: a weights file's ``kind`` -> the class (``module:name``) whose ``from_state`` builds the codec;
#: files without a ``kind`` are latent codecs (v1 was written before the key existed)
CODEC_KINDS = {
    "latent": "sdr_semcom.semantic.latent.codec:LatentCodec",
    "dct": "sdr_semcom.semantic.dct.codec:DctCodec",
}


def checked_weights(name: str, models_dir: Path = MODELS_DIR) -> tuple[dict, str]:
    """The weights file's contents and sha256, after checking it against its manifest.

    Parameters
    ----------
    name : str
        Weights name: ``<models_dir>/<name>.pt`` and ``<name>.json``.
    models_dir : Path

    Output
    ------
    (dict, str)
        The ``torch.load``-ed contents (plain tensors and numbers, ``weights_only``) and the sha256.
    """
    weights, manifest_path = models_dir / f"{name}.pt", models_dir / f"{name}.json"
    hint = f"run `sdr-semcom train codec --name {name}` to (re)create it"
    if not manifest_path.exists() or not weights.exists():
        raise WeightsError(f"codec weights {weights} or manifest {manifest_path} missing: {hint}")
    manifest = json.loads(manifest_path.read_text())
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    if sha != manifest.get("sha256"):
        raise WeightsError(f"{weights}: sha256 {sha[:16]}... does not match the manifest's "
                           f"{str(manifest.get('sha256'))[:16]}...: {hint}, or restore the committed file")
    return torch.load(weights, map_location="cpu", weights_only=True), sha


def codec_class(kind: str):
    """The codec class for a weights file's ``kind`` (see :data:`CODEC_KINDS`)."""
    if kind not in CODEC_KINDS:
        raise WeightsError(f"weights of kind {kind!r}: this version knows {', '.join(CODEC_KINDS)}; "
                           "update sdr-semcom or retrain the codec")
    module, cls = CODEC_KINDS[kind].split(":")
    return getattr(importlib.import_module(module), cls)


def load_codec(name: str = DEFAULT_NAME, models_dir: Path = MODELS_DIR, **kw) -> ImageCodec:
    """The codec ``models/<name>`` holds, checked against its manifest: a
    :class:`~.latent.codec.LatentCodec` (v1) or a :class:`~.dct.codec.DctCodec` (v2, v3), whichever
    its weights are. ``kw`` go to the codec (e.g. ``packet_bytes``)."""
    blob, sha = checked_weights(name, models_dir)
    return codec_class(blob.get("kind", "latent")).from_state(blob, name, sha, **kw)
