"""The integrator's entry point: an :class:`Inpainter` for a receiver role."""

from __future__ import annotations

import logging
from pathlib import Path

from .base import DEFAULT_POLICY, Inpainter
from .classical import ClassicalInpainter

log = logging.getLogger(__name__)
ROLES = ("authorized", "eavesdropper")
GENERATORS = ("auto", "classical", "network", "face_prior", "diffusers")


def make_inpainter(role: str, generator: str = "auto", generator_dir: Path | None = None,
                   network: str | None = None, face_weights: Path | None = None,
                   references: dict | None = None, face_words: bool = True) -> Inpainter:
    """An inpainter for the receiver's generative stage.

    Parameters
    ----------
    role : str
        ``'authorized'`` (has descriptions and aligned embeddings) or ``'eavesdropper'`` (has neither).
    generator : str
        ``'auto'``: the default policy (:data:`~.base.DEFAULT_POLICY`, set by the benchmark) over
        whatever is available: authorized faces get the DCGAN face prior if its weights are cached, else
        the committed network ``inpainter_v2``; everything else Telea; a diffusers pipeline, if
        ``generator_dir`` is given, goes first for every category (each one missing is logged, and
        :class:`~.base.FillResult` names the backend used per region).
        ``'classical'``, ``'network'`` (with the aligned embedding; an eavesdropper's with the null one),
        ``'face_prior'``, ``'diffusers'``: that backend for every category (faces only for the face
        prior), Telea for the rest; a missing model is an error. With ``references``, an enrolled person's
        face is restored from them first, whatever the generator.
    generator_dir : Path or None
        A saved ``StableDiffusionInpaintPipeline`` (required by ``'diffusers'``).
    network : str or None
        Name of the network in ``models/`` (default ``inpainter_v2``; ``inpainter_v1`` is kept).
    face_weights : Path or None
        The DCGAN ``weights.tar`` (default: :func:`~.faceprior.fetch_face_generator`'s cache).
    references : dict or None
        Authorized receiver only: ``entry id -> reference photos`` of enrolled persons (the database's
        ``enrolled.references``); their faces are restored from them (:class:`~.reference.ReferenceRestore`).
    face_words : bool
        The face prior also fits the appearance words of the aligned description (default); ``False``:
        the ring only (the embedding's null, for claim 1's comparison).

    Output
    ------
    Inpainter
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    if generator not in GENERATORS:
        raise ValueError(f"generator must be one of {GENERATORS}, got {generator!r}")
    if generator == "diffusers" and generator_dir is None:
        raise ValueError("generator 'diffusers' needs generator_dir: a StableDiffusionInpaintPipeline "
                         "saved with save_pretrained()")
    authorized = role == "authorized"
    backends: dict = {"telea": ClassicalInpainter()}
    strict = generator != "auto"

    def want(name: str) -> bool:
        if generator == "auto":  # what the default policy can use for this role
            if name == "diffusers":
                return generator_dir is not None
            return any(name in names for names in DEFAULT_POLICY[role].values())
        return generator == name

    if want("network"):
        try:
            from .network import DEFAULT_NAME, NetworkInpainter, load_network

            b = NetworkInpainter(load_network(network or DEFAULT_NAME), use_embedding=authorized)
            backends[b.name] = b
        except (FileNotFoundError, RuntimeError) as exc:
            if strict:
                raise
            log.warning("inpainter: no conditional network (%s)", exc)
    if want("face_prior") and authorized:  # an eavesdropper knows no category: no face to put anywhere
        try:
            from .faceprior import FacePrior

            backends["face_prior"] = FacePrior(face_weights, words=face_words)
        except (FileNotFoundError, RuntimeError) as exc:
            if strict:
                raise
            log.warning("inpainter: no face prior (%s)", exc)
    if references and authorized:
        from .reference import ReferenceRestore

        backends["reference"] = ReferenceRestore(references)
    elif references:
        raise ValueError("references are for the authorized receiver only")
    if want("diffusers"):
        from .diffusion import DiffusersInpainter

        b = DiffusersInpainter(Path(generator_dir), use_description=authorized)
        backends[b.name] = b
    return Inpainter(backends, policy_for(role, generator, backends))


def policy_for(role: str, generator: str, backends: dict) -> dict[str, tuple[str, ...]]:
    """The policy :func:`make_inpainter` uses (the default one, or one backend first)."""
    net = "network" if role == "authorized" else "network_null"
    diff = "diffusers" if role == "authorized" else "diffusers_noprompt"
    if generator == "classical":  # an enrolled person's reference (authorized, given one) still comes first
        return {"face": ("reference", "telea"), "*": ("telea",)}
    if generator == "network":
        return {"face": ("reference", net, "telea"), "*": (net, "telea")}
    if generator == "face_prior":
        return {"face": ("reference", "face_prior", "telea"), "*": ("telea",)}
    if generator == "diffusers":
        return {"face": ("reference", diff, "telea"), "*": (diff, "telea")}
    policy = dict(DEFAULT_POLICY[role])
    if diff in backends:
        policy = {cat: tuple(n for n in names if n == "reference") + (diff,) +
                  tuple(n for n in names if n != "reference") for cat, names in policy.items()}
    return policy
