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
                   references: dict | None = None, conditioned: bool = True) -> Inpainter:
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
    conditioned : bool
        The authorized receiver's generators use the aligned description (default): the face prior fits
        its appearance words, the network gets its embedding, a diffusers pipeline is prompted with its
        text. ``False``: the null of claim 1 for whatever generator: the same backends and policy (the
        receiver still knows each region's category and box, so faces still get the face prior or the
        pipeline) without the words: the face prior fits the ring only (backend ``face_prior_null``),
        the network gets its null embedding (``network_null``), the pipeline no prompt
        (``diffusers_noprompt``); Telea and the eavesdropper (which has no description) are unchanged.
        Not with ``references``: restoring an enrolled person needs the aligned entry.

    Output
    ------
    Inpainter
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    if generator not in GENERATORS:
        raise ValueError(f"generator must be one of {GENERATORS}, got {generator!r}")
    if references and not conditioned:
        raise ValueError("references need the aligned description: not with conditioned=False")
    if generator == "diffusers" and generator_dir is None:
        raise ValueError("generator 'diffusers' needs generator_dir: a StableDiffusionInpaintPipeline "
                         "saved with save_pretrained()")
    authorized = role == "authorized"
    described = authorized and conditioned  # the generators get the aligned words / embedding
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

            b = NetworkInpainter(load_network(network or DEFAULT_NAME), use_embedding=described)
            backends[b.name] = b
        except (FileNotFoundError, RuntimeError) as exc:
            if strict:
                raise
            log.warning("inpainter: no conditional network (%s)", exc)
    if want("face_prior") and authorized:  # an eavesdropper knows no category: no face to put anywhere
        try:
            from .faceprior import FacePrior

            b = FacePrior(face_weights, words=described)
            backends[b.name] = b
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

        b = DiffusersInpainter(Path(generator_dir), use_description=described)
        backends[b.name] = b
    return Inpainter(backends, policy_for(role, generator, backends, conditioned))


#: The backends' names without the aligned description (:func:`make_inpainter`'s ``conditioned=False``, and
#: the eavesdropper's network and pipeline): each says what ran.
NULL_NAMES = {"face_prior": "face_prior_null", "network": "network_null", "diffusers": "diffusers_noprompt"}


def policy_for(role: str, generator: str, backends: dict, conditioned: bool = True) -> dict[str, tuple[str, ...]]:
    """The policy :func:`make_inpainter` uses (the default one, or one backend first); with ``conditioned=False``
    (or for the eavesdropper) it names the backends without the description (:data:`NULL_NAMES`)."""
    described = role == "authorized" and conditioned
    named = {n: n if described else null for n, null in NULL_NAMES.items()}
    net, diff, prior = named["network"], named["diffusers"], named["face_prior"]
    if generator == "classical":  # an enrolled person's reference (authorized, given one) still comes first
        return {"face": ("reference", "telea"), "*": ("telea",)}
    if generator == "network":
        return {"face": ("reference", net, "telea"), "*": (net, "telea")}
    if generator == "face_prior":
        return {"face": ("reference", prior, "telea"), "*": ("telea",)}
    if generator == "diffusers":
        return {"face": ("reference", diff, "telea"), "*": (diff, "telea")}
    policy = {cat: tuple(named.get(n, n) for n in names) for cat, names in DEFAULT_POLICY[role].items()}
    if diff in backends:
        policy = {cat: tuple(n for n in names if n == "reference") + (diff,) +
                  tuple(n for n in names if n != "reference") for cat, names in policy.items()}
    return policy
