"""One cell of the evaluation sweep: a pure function of its inputs and of the models that score it.

A cell is one image, sent through the guard at one margin, at one SNR point with one seed (or the
image's baselines, without channel). Its key is ``(image name, margin, snr, seed)``, ``snr`` a float in
dB or ``"baselines"`` (seed 0 only: nothing in it is random); :func:`run_cell` returns every row the cell
contributes (each carries ``margin`` and ``seed``) and the reconstructions the mosaic needs. Rows written
before the margin was an axis have no ``margin``: they read as the guard's default
(:data:`DEFAULT_MARGIN`), the only margin those runs used; rows written before the seed was an axis have
no ``seed``: they read as seed 0, which draws what those runs drew.

The seed (``--seeds N``: seeds 0 .. N-1) draws the channel noise of both links (:func:`seeded_link`) and
the transmitter's session id and sealing nonces (:meth:`Models.prepare`); seed 0 is what runs made
before the seed was an axis. The fills themselves are deterministic (the face prior's candidates are
seeded per inpainter, not per seed): they differ between seeds where the decoded images differ.

The same function runs in the local loop of :func:`sdr_semcom.eval.run.run_eval` and in the Ray workers
of :mod:`sdr_semcom.eval.cluster`, so a sweep's rows do not depend on where its cells ran.

Per cell the image's own messages (ids 0, 1, 2: each image has its own transmitter) cross one PHY
loopback (GNU Radio) with the eavesdropper's tap, or with ``--channel`` Sionna's fading offline (every
transmission of a cell goes through :func:`over_link`); the receivers decode, fill and are scored:

- ``auth``: the authorized receiver as shipped (aligned embeddings);
- ``net_true`` / ``net_null`` / ``net_other``: the same network with the true embedding, its null
  embedding, and the embedding of a region of another image (from that image's sealed message as sent,
  opened with the link's key; seeded choice);
- ``prior_true`` / ``prior_null``: the DCGAN face prior on faces (Telea elsewhere) fitted to the ring and
  the aligned description's appearance words, vs the same fit without the words;
- ``eve``, ``eve_telea``, ``eve_face_prior``: the eavesdropper's fills (:mod:`.attacks`);
- ``blur_link``, ``pixelate_link``: the blur and pixelation baselines (:mod:`.baselines`, on the
  guard's removed pixels) sent through the same codec over the authorized link at the cell's SNR, as
  received (a second loopback: the rows of the receivers above do not change);
- with ``CellSettings.codec_baselines`` (``--codec-baselines``): per separation codec
  (:mod:`sdr_semcom.semantic.separation`: ``webp``, ``webp_tiles``, ``jpeg_rst``, each at the semantic
  codec's bytes and packet count for this image), the same guarded image and sealed message over the
  same link: ``auth`` and the eavesdropper's fills again, their rows with ``codec`` the baseline's
  name (:func:`codec_baseline` tells them apart; the rows of our codec carry its id);
- the ``baselines`` cell: :mod:`.baselines` on the guard's removed pixels, without channel.

What a sweep computes once from all its images (the judges' gallery and floors, each image's opened
vectors) is a :class:`Shared`; what a worker loads once (codec, database, guard, judges, inpainters)
is a :class:`Models`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import random
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..channels.spec import FadingSpec
from ..privacy.masking import DEFAULT_MARGIN
from .attacks import EVE_FILLS, eve_fills, message_attack
from .baselines import BASELINES, baseline
from .identity import Face, find_faces, gallery_mates, impostor_floor, judges, leak, score_probe, tie_seed
from .quality import hole_quality, quality
from .utility import detection_utility

log = logging.getLogger(__name__)
NET_VARIANTS = ("net_true", "net_null", "net_other", "prior_true", "prior_null")
#: with ``--generator-dir``: the lab's diffusion inpainting pipeline prompted with the aligned description vs with
#: nothing (claim 1 for the paper's kind of generator)
DIFF_VARIANTS = ("diff_true", "diff_null")
LINK_BASELINES = ("blur", "pixelate")  # sent through the codec and the PHY too: receivers blur_link, pixelate_link
RECEIVERS = ("auth",) + NET_VARIANTS + tuple(EVE_FILLS) + tuple(f"{b}_link" for b in LINK_BASELINES)
BASELINE_CELL = "baselines"
#: the separation codecs ``--codec-baselines`` sends (``sdr_semcom.semantic.separation.SYSTEMS``, less the
#: JPEG stream that one lost packet breaks)
CODEC_BASELINES = ("webp", "webp_tiles", "jpeg_rst")
CACHE_ITEMS = 512  # per worker: memoised fills and scores (above the link's threshold SNR points repeat)
DETECTIONS_KEPT = 8  # per worker: the guard's detections of the last images (re-masked per margin)


@dataclass(frozen=True)
class CellSettings:
    """What every cell of one sweep shares (small, sent to each worker once).

    Parameters
    ----------
    generator : str
        The authorized receiver's generator (``make_inpainter``'s ``generator``).
    size : int
        Long side of the image sent.
    perceptual : bool
        Compute ST-LPIPS and MS-SSIM.
    judge_names : tuple of str
        Identity judges.
    eve_fills : tuple of str
        The eavesdropper's fills.
    eve_snr : float or None
        The eavesdropper's SNR, dB; None: the authorized link's.
    seed : int
        Seeds ``net_other``'s choice of another image's embedding.
    mosaic_snr : float or None
        The SNR point whose reconstructions a cell returns for the mosaic: the sweep's headline SNR
        (:func:`headline_snr`, the highest point, as the claims table's); None: none returned (the baselines cell
        returns its images always).
    eve_mask : str
        Where the eavesdropper fills: ``'estimated'`` (what a real one has: the grey fill found in its
        decoded image, as many regions as the sealed message's length says) or ``'oracle'`` (the exact
        removed pixels and boxes: an upper bound on what it can rebuild).
    seeds : int
        Seeds of the channel noise and of the transmitter's nonces, 0 .. ``seeds`` - 1 (the seed axis).
    codec_baselines : tuple of str
        Separation codecs (of :data:`CODEC_BASELINES`) that also carry each guarded image.
    channel : FadingSpec or None
        Every transmission of a cell (:func:`over_link`: ours, the link baselines, the separation codecs)
        through this Sionna fading model (:func:`sdr_semcom.link.faded.run_faded_link`: each receiver its
        own realisation, seeded per cell and seed by :func:`fading_seeds`, then its CFO, clock error and
        SNR); None: the GNU Radio loopback with the standard impairments (3-tap multipath, CFO, clock).
    max_side : int or None
        Originals larger than this long side were scaled down to it before the guard (``--quick``: 512); None:
        as read. Recorded in the rows (:func:`setup_fields`).
    generator_dir : str or None
        A saved ``StableDiffusionInpaintPipeline`` (``--generator-dir``; the same path on every worker): the
        ``diffusers`` generator, first in ``auto``'s policy, and the claim-1 variants :data:`DIFF_VARIANTS`.
    """

    generator: str = "auto"
    size: int = 256
    perceptual: bool = True
    judge_names: tuple[str, ...] = ("sface", "dlib")
    eve_fills: tuple[str, ...] = tuple(EVE_FILLS)
    eve_snr: float | None = None
    seed: int = 0
    mosaic_snr: float | None = None
    eve_mask: str = "estimated"
    seeds: int = 1
    codec_baselines: tuple[str, ...] = ()
    channel: FadingSpec | None = None
    max_side: int | None = None
    generator_dir: str | None = None


def auth_variants(settings: "CellSettings") -> tuple[str, ...]:
    """The authorized side's claim-1 variants a cell fills: :data:`NET_VARIANTS`, and :data:`DIFF_VARIANTS` with a
    ``generator_dir``."""
    return NET_VARIANTS + (DIFF_VARIANTS if settings.generator_dir else ())


#: the ``channel`` rows record without ``--channel``: the loopback's 3-tap multipath, CFO and clock error
STANDARD_CHANNEL = "standard"


#: what the rows of a fading cell record of its fade seeds (``fades``): ``"paired"``, the margin left out of their
#: hash (:func:`fading_seeds`). Rows of a fading cell at another margin than the default without it were written by
#: a version that hashed the margin: they crossed other fades than a run now does (:func:`stale_fades`)
FADES = "paired"


def channel_fields(channel: FadingSpec | None) -> dict:
    """What a cell's rows record of its channel: ``channel`` (the model, or :data:`STANDARD_CHANNEL`) and,
    for a fading model, ``speed_mps`` and ``fades`` (:data:`FADES`)."""
    if channel is None:
        return {"channel": STANDARD_CHANNEL}
    return {"channel": channel.model, "speed_mps": round(channel.speed_mps, 4), "fades": FADES}


def link_mismatch(rows: list[dict], settings: "CellSettings") -> str | None:
    """What of the link the SNR cells' ``rows`` crossed differs from what ``settings`` sends them over (None:
    nothing): the channel (``--channel``, ``--speed``: :func:`channel_fields`) or the eavesdropper's SNR
    (``--eve-snr``). ``--resume`` refuses such rows (kept, the rest computed, they would mix two sweeps).
    Fields a row lacks (from before they were recorded) are not compared, a row without ``channel`` being
    :data:`STANDARD_CHANNEL`'s."""
    want = channel_fields(settings.channel)
    for r in rows:
        if r.get("kind") not in ("image", "face", "region", "message") or r.get("snr") == BASELINE_CELL:
            continue
        ch = r.get("channel", STANDARD_CHANNEL)
        if ch != want["channel"] or ("speed_mps" in r and r["speed_mps"] != want.get("speed_mps")):
            got = ch + (f" at {r['speed_mps']} m/s" if "speed_mps" in r else "")
            now = want["channel"] + (f" at {want['speed_mps']} m/s" if "speed_mps" in want else "")
            return f"--channel / --speed: its cells crossed the {got} channel, this run the {now} one"
        eve = r.get("eve_snr")
        now_eve = r.get("snr") if settings.eve_snr is None else settings.eve_snr
        if eve is not None and now_eve is not None and float(eve) != float(now_eve):
            return (f"--eve-snr: its eavesdropper received at {eve} dB at {r.get('snr')} dB, this run at {now_eve} dB"
                    + (" (the link's SNR)" if settings.eve_snr is None else ""))
    return None


@functools.lru_cache(maxsize=None)
def model_ids() -> dict[str, str]:
    """The ids of the committed models a cell uses, from their manifests alone (nothing loaded): ``codec``, the
    link's codec (``semantic.defaults.DEFAULT_NAME``, the ``id`` :func:`~sdr_semcom.semantic.weights.load_codec`
    gives it: ``<name>:<sha256[:12]>``) and ``inpainter``, the conditional network the authorized receiver's
    generator loads (``generative.network.DEFAULT_NAME``, the same form). A missing or unreadable manifest: its id
    ``"<name>:?"`` (loading the model then says what to run)."""
    import json

    from ..generative.network import DEFAULT_NAME as NET_NAME, MODELS_DIR as NET_DIR
    from ..semantic.defaults import DEFAULT_NAME as CODEC_NAME, MODELS_DIR as CODEC_DIR

    def ident(folder, name: str) -> str:
        try:
            sha = json.loads((folder / f"{name}.json").read_text())["sha256"]
        except (OSError, ValueError, KeyError, TypeError):
            return f"{name}:?"
        return f"{name}:{str(sha)[:12]}"

    return {"codec": ident(CODEC_DIR, CODEC_NAME), "inpainter": ident(NET_DIR, NET_NAME)}


def setup_fields(settings: "CellSettings") -> dict:
    """What an SNR cell's rows record of the models and sizes that made them (beside ``codec``, the codec's id):
    ``generator`` (``--generator``), ``inpainter`` (the network's id, :func:`model_ids`), ``size`` (the long
    side of the image sent, ``--size``) and ``max_side`` (the originals' scaling, ``--quick``: 512; None: none).
    :func:`setup_mismatch` compares them on ``--resume``."""
    return {"generator": settings.generator, "inpainter": model_ids()["inpainter"], "size": int(settings.size),
            "max_side": settings.max_side, "generator_dir": settings.generator_dir}


#: setup fields a row lacks only because it was written before the option existed, when the option could only be
#: off: such a row counts as None (a sweep made without a pipeline resumed with one would mix auto's generators)
_NONE_BEFORE = ("generator_dir",)


def setup_mismatch(rows: list[dict], settings: "CellSettings", margins) -> str | None:
    """What of the models, sizes and margins that made ``rows`` differs from what this run uses (None: nothing):
    the codec (a row's ``codec``, our codec's rows only, against :func:`model_ids`), the generator, the inpainter
    network or the image size (:func:`setup_fields`), or a guard margin that ``margins`` (``--margins``) lacks
    (its cells would stay in rows.jsonl and the report beside this run's). ``--resume`` refuses such rows, like
    :func:`link_mismatch`'s. Fields a row lacks (from before they were recorded) are not compared, except
    ``generator_dir``: before ``--generator-dir`` there was no pipeline, so a row without it counts as None; a
    sweep resumed with more margins than it had is fine."""
    now = {"codec": model_ids()["codec"], **setup_fields(settings)}
    what = {"codec": ("the codec (models/)", "codec"), "generator": ("--generator", "generator"),
            "generator_dir": ("--generator-dir", "the pipeline"),
            "inpainter": ("the inpainter network (models/)", "inpainter"), "size": ("--size", "image size"),
            "max_side": ("--quick", "originals scaled to a long side of")}
    want = {float(m) for m in margins}
    for r in rows:
        if r.get("kind") == "floor":
            continue
        if row_margin(r) not in want:
            return (f"--margins: its cells were guarded at margin {row_margin(r)}, which this run's "
                    f"{', '.join(str(float(m)) for m in margins)} lacks")
        if r.get("kind") not in ("image", "face", "region", "message") or r.get("snr") == BASELINE_CELL:
            continue
        for field, (option, noun) in what.items():
            if field == "codec" and codec_baseline(r):
                continue
            if (field in r or field in _NONE_BEFORE) and r.get(field) != now[field]:
                return f"{option}: its cells were made with {noun} {r.get(field)}, this run's is {now[field]}"
    return None


def floor_rows(floors: dict, gallery: dict, identities: dict | None, images) -> dict[str, dict]:
    """The ``floor`` row a sweep writes per judge: what every cell's leakage and re-identification are scored against.

    Parameters
    ----------
    floors : dict
        judge -> its :class:`~.identity.Floor` (:meth:`Models.floors`).
    gallery : dict
        judge -> face key -> embedding of the original.
    identities : dict or None
        face key -> person (:mod:`.labels`); None or empty: every face its own person.
    images : iterable of str
        The names of the sweep's image files (a file that turned out unreadable included).

    Output
    ------
    dict: judge -> row: ``kind`` ``floor``, the floor's fields, ``gallery`` (its number of faces), ``faces`` (their
    keys, sorted: the order of the face rows' ``<judge>_simv``), ``persons`` (each one's person, its key without
    identities), ``images`` (the names, sorted) and, with identities, ``mates`` (:func:`~.identity.gallery_mates`).
    :func:`floor_mismatch` and :func:`images_mismatch` compare them on ``--resume``.
    """
    return {fl.judge: {"kind": "floor", **fl.__dict__, "gallery": len(gallery[fl.judge]),
                       "faces": sorted(gallery[fl.judge]), "images": sorted(set(images)),
                       "persons": [(identities or {}).get(k, k) for k in sorted(gallery[fl.judge])],
                       **({"mates": gallery_mates(gallery[fl.judge], identities)} if identities else {})}
            for fl in floors.values()}


def _some(names) -> str:
    names = sorted(names)
    return ", ".join(names[:5]) + (f", ... ({len(names)} in all)" if len(names) > 5 else "")


_SCORED = ("the judges' gallery and impostor floors, against which every finished cell's leakage and "
           "re-identification were scored, would differ")


def images_mismatch(rows: list[dict], names) -> str | None:
    """Whether the finished ``rows`` were made over other images than ``names`` (this run's image files' names; None:
    the same images): the images their ``floor`` rows record (:func:`floor_rows`' ``images``), or, for floors written
    before that was recorded, an image of a finished cell that this run lacks. ``--resume`` refuses such rows before
    any image is prepared (their floors and re-identification gallery are another set's); an image set that differs
    only in the faces found is caught once they are (:func:`floor_mismatch`)."""
    now = set(names)
    for r in rows:
        if r.get("kind") == "floor" and "images" in r and set(r["images"]) != now:
            return (f"--images / --set: its floors and cells were computed over the images {_some(r['images'])}, this "
                    f"run's are {_some(now)}: {_SCORED}")
    extra = {r.get("image") for r in rows if r.get("kind") != "floor"} - now
    if extra:
        return f"--images / --set: its cells are of images this run lacks ({_some(extra)}): {_SCORED}"
    return None


def floor_mismatch(rows: list[dict], fresh: dict[str, dict]) -> str | None:
    """Whether the ``floor`` rows among ``rows`` (a finished sweep's) were computed over another gallery than this
    run's (``fresh``: :func:`floor_rows`; None: the same): per judge both have, the gallery's faces (their number,
    for rows written before the keys were recorded) or their identities (``mates``, from a ``labels.csv``, and
    the faces' grouping into persons, ``persons``, which the same counts can hide). Fields a row lacks are not
    compared. ``--resume`` refuses such rows: every finished cell was scored against the old floors and gallery; a
    judge the rows lack gets its floor written."""
    for r in rows:
        if r.get("kind") != "floor" or r.get("judge") not in fresh:
            continue
        j, now = r["judge"], fresh[r["judge"]]
        if "faces" in r and set(r["faces"]) != set(now["faces"]):
            return (f"--images / --set: its {j} floor was computed over other gallery faces (only there: "
                    f"{_some(set(r['faces']) - set(now['faces'])) or '-'}; only in this run: "
                    f"{_some(set(now['faces']) - set(r['faces'])) or '-'}): {_SCORED}")
        if "gallery" in r and r["gallery"] != now["gallery"]:
            return (f"--images / --set: its {j} floor was computed over a gallery of {r['gallery']} face(s), this "
                    f"run's has {now['gallery']}: {_SCORED}")
        if "mates" in r and r["mates"] != now.get("mates"):
            other = "this run has none" if "mates" not in now else "this run's differ (photos per person)"
            return f"labels.csv: its {j} floor was computed with identity labels, {other}: {_SCORED}"
        if "faces" in r and "persons" in r and _people(r) != _people(now):  # the same counts, other people
            moved = sorted(k for k in r["faces"] if _people(r).get(k) != _people(now).get(k))
            return (f"labels.csv: its {j} floor was computed with other identity labels (photos grouped otherwise: "
                    f"{_some(moved)}): {_SCORED}")
    return None


def _people(row: dict) -> dict[str, frozenset]:
    """A floor row's grouping of its faces into persons: face key -> the keys of its person's photos (the labels'
    names left out: renaming a person changes nothing scored)."""
    by: dict = {}
    for k, p in zip(row["faces"], row["persons"]):
        by.setdefault(p, set()).add(k)
    return {k: frozenset(by[p]) for k, p in zip(row["faces"], row["persons"])}


def stale_fades(rows: list[dict], key: tuple, settings: "CellSettings") -> bool:
    """Whether the finished SNR cell ``key``'s ``rows`` crossed fades other than those a run now draws: with a
    fading channel (``settings.channel``), at a margin other than :data:`DEFAULT_MARGIN`, a measured row
    without ``fades`` = :data:`FADES` (written before :func:`fading_seeds` left the margin out of the hash; the
    default margin's fades are the same either way). ``--resume`` computes such a cell again, whole."""
    if settings.channel is None or key[2] == BASELINE_CELL or float(key[1]) == DEFAULT_MARGIN:
        return False
    return any(r.get("kind") in ("image", "face", "region", "message") and row_key(r) == tuple(key)
               and r.get("fades") != FADES for r in rows)


def fading_seeds(key: tuple, seed: int = 0) -> dict[str, int]:
    """Per cell and role, the seed of its fading realisation and noise: a hash of (image, snr, seed, role), so
    that images, SNR points, seeds and the two receivers get independent realisations wherever they run, and
    the margins of a sweep share them (a margin sweep is paired: the same fades at every margin).

    Parameters
    ----------
    key : tuple
        The cell's key (:func:`cell_key`: image, margin, snr, seed). Its margin is left out: the hash takes
        the guard's default (:data:`DEFAULT_MARGIN`) in its place, so that the default margin's cells keep
        the realisations of the runs made before (seed 0, or a key without the seed, from before the seed
        was an axis, hashes (image, 0.15, snr) alone), and every other margin now gets them too (before,
        the hash took the margin: a margin sweep mixed in different fades).
    seed : int
        The sweep's seed (``CellSettings.seed``).

    Output
    ------
    dict
        ``{"auth": int, "eve": int}``, each in 1 .. 2**31 - 2.
    """
    import zlib

    key = (key[0], DEFAULT_MARGIN, *key[2:])
    if len(key) == 4 and not int(key[3]):
        key = tuple(key[:3])
    return {role: 1 + zlib.crc32(repr((key, role, seed)).encode()) % (2**31 - 2) for role in ("auth", "eve")}


@dataclass
class Prepared:
    """One image after its transmitter (guard at ``margin``): original, what the guard sent, its faces,
    its messages (seed 0, our codec) and ``sends``: every (codec, seed)'s messages (codec ``""``: ours)."""

    name: str
    original: np.ndarray
    sent: object  # pipeline.SentImage
    faces: list[Face]
    messages: list
    margin: float = DEFAULT_MARGIN
    sends: dict = field(default_factory=dict)

    def send(self, codec: str = "", seed: int = 0) -> list:
        """The messages of ``codec`` (``""``: ours) with ``seed``'s nonces."""
        if (codec, seed) == ("", 0):
            return self.messages
        try:
            return self.sends[(codec, seed)]
        except KeyError:
            raise ValueError(f"{self.name}: nothing prepared for codec {codec or 'ours'!r}, seed {seed}") from None


@dataclass
class PreparedInfo:
    """What the sweep keeps of a prepared image: its judges' embeddings and its opened vectors."""

    name: str
    gallery: dict[str, dict[str, np.ndarray]]  # judge -> face key -> embedding of the original
    vectors: list[np.ndarray] | None  # the region vectors its sealed message opens to (None: none)
    margin: float = DEFAULT_MARGIN


@dataclass
class Shared:
    """What every cell reads and the sweep computes once from all images.

    Parameters
    ----------
    order : tuple of str
        Image names in sweep order (their index seeds ``net_other``).
    gallery : dict
        judge -> face key -> embedding of the original.
    floors : dict
        judge -> :class:`~sdr_semcom.eval.identity.Floor`.
    vectors : dict
        ``(image name, margin)`` -> its opened region vectors (or None).
    categories : dict
        database entry id -> category.
    identities : dict
        face key -> person (:mod:`.labels`; empty: every face its own person).
    """

    order: tuple[str, ...]
    gallery: dict
    floors: dict
    vectors: dict
    categories: dict
    token: str = ""  # identifies this content in the workers' caches
    identities: dict = field(default_factory=dict)


@dataclass
class CellResult:
    """A cell's rows (in order), the reconstructions the mosaics show (receiver -> image), and where and
    how long it ran (:data:`TIMING_FIELDS` of its ``done`` row: not part of the results)."""

    key: tuple
    rows: list[dict]
    images: dict[str, np.ndarray] = field(default_factory=dict)
    timing: dict = field(default_factory=dict)
    added: tuple | None = None  # a finished cell's missing receivers computed (:func:`run_cell`'s ``only``)


TIMING_FIELDS = ("wall_s", "cpu_s", "worker")


def cell_key(image: str, snr, margin: float = DEFAULT_MARGIN, seed: int = 0) -> tuple:
    """The key of a cell and of its rows (``image``, ``margin``, ``snr``, ``seed``): rows are written once
    per key."""
    return (image, float(margin), snr, int(seed))


def row_key(row: dict) -> tuple:
    """The cell a row belongs to (a row without ``margin``, from before the margin was an axis: the
    guard's default; without ``seed``, from before the seed was an axis: seed 0)."""
    return (row.get("image"), float(row.get("margin", DEFAULT_MARGIN)), row.get("snr"), int(row.get("seed", 0)))


def row_seed(row: dict) -> int:
    """The seed of a row's cell (0 for rows without one)."""
    return int(row.get("seed", 0))


def codec_baseline(row: dict) -> bool:
    """Whether a row is a separation codec's (``--codec-baselines``), not our codec's."""
    return row.get("codec") in CODEC_BASELINES


def row_receiver(row: dict) -> tuple[str, str]:
    """What a cell row measured: ``(receiver, codec)``, the codec a separation codec's name
    (``--codec-baselines``) and ``""`` for ours (and for the baselines cell, which has no link)."""
    return (row.get("receiver"), row["codec"] if codec_baseline(row) else "")


def cell_receivers(key: tuple, settings: CellSettings) -> frozenset:
    """Every ``(receiver, codec)`` (:func:`row_receiver`) whose rows the current version writes in cell ``key``:
    the baselines cell's :data:`~sdr_semcom.eval.baselines.BASELINES`; an SNR cell's :data:`RECEIVERS` (the
    eavesdropper's fills those of ``settings``) and, per separation codec, ``auth`` and the eavesdropper's fills."""
    if key[2] == BASELINE_CELL:
        return frozenset((b, "") for b in BASELINES)
    ours = ("auth",) + auth_variants(settings) + tuple(settings.eve_fills) + tuple(f"{b}_link" for b in LINK_BASELINES)
    return frozenset([(r, "") for r in ours] +
                     [(r, c) for c in settings.codec_baselines for r in ("auth",) + tuple(settings.eve_fills)])


def missing_receivers(rows: list[dict], key: tuple, settings: CellSettings) -> frozenset:
    """The ``(receiver, codec)`` pairs of :func:`cell_receivers` that the finished cell ``key``'s ``rows`` lack
    (written by an older version: a receiver, a baseline or a separation codec added since), or whose face rows
    lack a judge of ``settings`` (a judge added since: those receivers are computed again, their rows replaced).
    A receiver that lost its image has its ``received: false`` rows: not missing."""
    have: dict[tuple, list] = {}
    for r in rows:
        if r.get("kind") in ("image", "face", "region") and row_key(r) == tuple(key):
            have.setdefault(row_receiver(r), []).append(r)
    out = set()
    for rx in cell_receivers(key, settings):
        got = have.get(rx)
        if not got or any(r["kind"] == "face" and f"{j}_sim" not in r for r in got for j in settings.judge_names):
            out.add(rx)
    return frozenset(out)


def seeded_link(link, seed: int):
    """``link`` with seed ``seed``'s channel noise: each channel's noise seed moved by ``2 * seed`` (seed 0:
    ``link`` itself; the two channels' seeds stay distinct)."""
    from dataclasses import replace

    if not seed:
        return link
    return replace(link, auth=replace(link.auth, seed=link.auth.seed + 2 * seed),
                   eve=replace(link.eve, seed=link.eve.seed + 2 * seed))


def tx_seed(sweep_seed: int, name: str, margin: float, seed: int = 0) -> str:
    """What seeds an image's transmitter (session id, nonces): the sweep's seed, the image's name, a swept
    margin and the seed axis (seed 0 and the default margin add nothing: the rows of older runs). One to one
    (a '#' in a name is doubled, so that ``face#1`` at seed 0 is not ``face`` at seed 1): no two transmitters
    of a sweep seal under the same nonces."""
    swept = "" if float(margin) == DEFAULT_MARGIN else f"/{float(margin)!r}"
    return f"{sweep_seed}/{name.replace('#', '##')}{swept}" + (f"#{int(seed)}" if seed else "")


class _Guarded:
    """The guard's result for one image at one margin, handed to each transmitter of that image (one per
    seed and codec): the guard runs once."""

    def __init__(self, result, margin: float) -> None:
        self.result, self.margin = result, float(margin)

    def process(self, img):
        return self.result


def report_margin(margins) -> float:
    """The margin the claims table and the mosaic are taken at: the guard's default when swept, else the first."""
    margins = [float(m) for m in margins]
    return DEFAULT_MARGIN if DEFAULT_MARGIN in margins or not margins else margins[0]


def headline_snr(snrs) -> float | None:
    """The SNR point the claims table and the mosaic are taken at: the highest of ``snrs``, whatever their order
    (the baselines cell's ``'baselines'`` and anything else not a number skipped); None without one."""
    vals = [float(s) for s in snrs if isinstance(s, (int, float)) and not isinstance(s, bool)]
    return max(vals) if vals else None


def row_margin(row: dict) -> float:
    """The guard margin of a row's cell (the guard's default for rows without one)."""
    return float(row.get("margin", DEFAULT_MARGIN))


class _SameDetections:
    """A detector backend whose detections of the last images are kept: the guard re-run at another
    margin re-masks the same detections instead of detecting again."""

    def __init__(self, backend) -> None:
        self._backend = backend
        self._kept = OrderedDict()

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def detect(self, rgb, prompts=None):
        key = (digest(rgb), tuple(prompts) if prompts is not None else None)
        if key not in self._kept:
            self._kept[key] = list(self._backend.detect(rgb, prompts))
            while len(self._kept) > DETECTIONS_KEPT:
                self._kept.popitem(last=False)
        return self._kept[key]


class _Lru(OrderedDict):
    def get_or(self, key, make):
        if key in self:
            self.move_to_end(key)
            return self[key]
        v = self[key] = make()
        while len(self) > CACHE_ITEMS:
            self.popitem(last=False)
        return v


class Models:
    """What a worker loads once and every cell it runs uses: codec, database, guard, judges, inpainters.

    Parameters
    ----------
    settings : CellSettings
    db : PrivacyDatabase
        The link's database: every worker of a sweep gets the same one (the same secret), or the
        authorized receiver of one worker could not open what another worker's transmitter sealed.
    guard : bool
        Load the privacy guard too (needed by :meth:`prepare` only).
    """

    def __init__(self, settings: CellSettings, db, guard: bool = True) -> None:
        from ..privacy import PrivacyGuard, default_backends
        from ..semantic.weights import load_codec

        self.settings = settings
        self.db = db
        self.categories = {e.id: e.category for e in self.db.entries}
        self.codec = load_codec()
        self.guard = PrivacyGuard(self.db, default_backends()) if guard else None
        if self.guard is not None:  # one detection per image, whatever the margins
            self.guard.backends = {k: _SameDetections(b) for k, b in self.guard.backends.items()}
        self.judges = judges(settings.judge_names)
        self._inpainters: dict = {}
        self._fills = _Lru()
        self._seen = _Lru()
        self.separation: dict = {}
        if settings.codec_baselines:
            from ..semantic.separation import SYSTEMS

            bad = [c for c in settings.codec_baselines if c not in CODEC_BASELINES]
            if bad:
                raise ValueError(f"codec baselines {bad}: choose among {', '.join(CODEC_BASELINES)}")
            self.separation = {c: SYSTEMS[c]() for c in settings.codec_baselines}

    def prepare(self, name: str, source, max_side: int | None = None,
                margin: float = DEFAULT_MARGIN) -> tuple[Prepared, PreparedInfo]:
        """Guard + codec + sealed EMBEDDING of one image (its own transmitter: message ids 0, 1, 2).

        ``source``: the image (RGB uint8) or its file, read here (on a cluster: by the worker, from
        storage every node sees), scaled to a long side of ``max_side`` when larger. Raises
        :class:`~sdr_semcom.images.ImageError` for an unreadable file. ``margin``: the guard's (its
        detections of the image are kept: another margin re-masks them).
        """
        from ..images import fit, read_rgb
        from ..pipeline import SemanticTransmitter
        from ..semantic.separation import AtBudget

        if self.guard is None:
            raise RuntimeError("Models(guard=False) cannot prepare images")
        img = source if isinstance(source, np.ndarray) else read_rgb(source)
        if max_side and max(img.shape[:2]) > max_side:
            img = fit(img, max_side)
        # seeded session id and nonces (from the seed, the image's name, a swept margin and the seed axis:
        # tx_seed): the run repeats byte for byte wherever a cell runs (serial, Ray), and no nonce repeats
        # under the sweep's key across margins or seeds; the default margin and seed 0 keep the rows of runs
        # made before margins and seeds were swept (resume). An eval never goes on the air.
        before, self.guard.margin = self.guard.margin, float(margin)
        try:
            guarded = _Guarded(self.guard.process(img), margin)  # once: every transmitter below sends it
        finally:
            self.guard.margin = before
        s = self.settings
        sends, msgs, sent = {}, None, None
        for seed in range(max(s.seeds, 1)):
            seeded = random.Random(tx_seed(s.seed, name, margin, seed))
            tx = SemanticTransmitter(self.codec, guarded, self.db, randbytes=seeded.randbytes)
            m, snt = tx.messages(img, s.size)
            if seed == 0:
                msgs, sent = m, snt
            else:
                sends[("", seed)] = m
            packets = m[1][0]  # our FEATURES packets: the separation codecs get the same bytes and count
            for c, base in self.separation.items():
                codec = AtBudget(base, sum(map(len, packets)), len(packets), max(map(len, packets)))
                other = random.Random(tx_seed(s.seed, name, margin, seed) + f"/{c}")
                sends[(c, seed)] = SemanticTransmitter(codec, guarded, self.db,
                                                       randbytes=other.randbytes).messages(img, s.size)[0]
        p = Prepared(name, img, sent, find_faces(name, img), msgs, float(margin), sends)
        gallery = {j.name: {f.key: j.embed(img, f) for f in p.faces} for j in self.judges}
        return p, PreparedInfo(name, gallery, _open_sent(msgs, self.db, self.codec), float(margin))

    def floors(self, gallery: dict, identities: dict | None = None) -> dict:
        """judge -> impostor floor over ``gallery`` (judge -> face key -> embedding; ``identities``: face
        key -> person, :mod:`.labels`)."""
        return {j.name: impostor_floor(j, gallery[j.name], identities) for j in self.judges}

    def inpainter(self, role: str, generator: str, conditioned: bool = True):
        from ..generative import make_inpainter

        key = (role, generator, conditioned)
        gdir = self.settings.generator_dir
        if key not in self._inpainters:
            self._inpainters[key] = make_inpainter(role, generator, Path(gdir) if gdir else None,
                                                   conditioned=conditioned)
        return self._inpainters[key]


def run_cell(key: tuple, p: Prepared, shared: Shared, models: Models, only: frozenset | None = None) -> CellResult:
    """Every row of one cell (``key`` = (image, margin, snr, seed)); a pure function of its inputs and ``models``.

    ``only``: the rows of these ``(receiver, codec)`` pairs (:func:`row_receiver`) alone, the rest of the cell not
    computed (``--resume`` completing a cell an older version finished: :func:`missing_receivers`); each
    transmission starts from the cell's seeds, so they are the rows the whole cell gives. None: the whole cell.
    """
    import os
    import socket
    import time

    name, margin, snr, _seed = key
    if (name, margin) != (p.name, p.margin):
        raise ValueError(f"cell {key}: prepared image is {p.name!r} at margin {p.margin}")
    t0, c0 = time.perf_counter(), time.process_time()
    scorer = Scorer(models, shared)
    if snr == BASELINE_CELL:
        res = _baselines_cell(key, p, scorer, only)
    else:
        res = _snr_cell(key, p, shared, models, scorer, only)
    if only is not None:
        res.added = tuple(sorted(only))
    res.timing = {"wall_s": round(time.perf_counter() - t0, 3), "cpu_s": round(time.process_time() - c0, 3),
                  "worker": f"{socket.gethostname()}:{os.getpid()}"}
    return res


def _baselines_cell(key: tuple, p: Prepared, scorer: "Scorer", only: frozenset | None = None) -> CellResult:
    rows, images = [], {}
    mask = sent_mask(p)
    for b in BASELINES:
        if only is not None and (b, "") not in only:
            continue
        img = baseline(b, p.original, mask)
        rows += scorer.rows(p, img, {"margin": p.margin, "snr": BASELINE_CELL, "seed": key[3], "receiver": b}, mask)
        images[b] = img
    frac = round(float(mask.mean()), 6)  # the share of the image's pixels the guard removed at this margin
    rows = [{**r, "removed_frac": frac} if r["kind"] == "image" else r for r in rows]
    return CellResult(key, rows, images)


def _snr_cell(key: tuple, p: Prepared, shared: Shared, models: Models, scorer: "Scorer",
              only: frozenset | None = None) -> CellResult:
    from ..pipeline import SemanticReceiver

    s = models.settings
    snr, seed = float(key[2]), int(key[3])
    eve_snr = snr if s.eve_snr is None else s.eve_snr
    link = cell_link(key, s)
    base = {"margin": p.margin, "snr": snr, "eve_snr": eve_snr, "seed": seed, "codec": models.codec.id,
            **setup_fields(s), **channel_fields(s.channel)}
    rows: list[dict] = []
    images = {}

    def wanted(codec: str) -> frozenset | None:  # this link codec's receivers to compute (None: all)
        return None if only is None else frozenset(r for r, c in only if c == codec)

    ours = wanted("")
    links = {f"{b}_link" for b in LINK_BASELINES}
    if ours is None or ours - links:
        result = over_link(p.send("", seed), link)
        auth = {it.index: it for it in SemanticReceiver(models.codec, db=models.db).decode(result.rx["auth"].messages)}
        eve = {it.index: it for it in SemanticReceiver(models.codec).decode(result.rx["eve"].messages)}
        vectors = _opened_vectors(result.rx["auth"].messages, models.db, models.codec)
        eve_item = eve.get(0)
        data = _embedding_data(result.rx["eve"].messages)
        if data is not None and only is None:  # the sealed message's reading: with the whole cell only
            ma = message_attack(data, [f["description"] for f in p.sent.findings])
            rows.append({"kind": "message", "image": p.name, **base, **ma.to_json(),
                         "eve_region_count": None if eve_item is None else eve_item.region_count})
        outs = _receive(p, auth.get(0), eve_item, vectors, shared, models, want=ours)
    else:
        outs = {}
    if ours is None or ours & links:
        outs.update({k: v for k, v in _link_baselines(p, link, models, seed).items() if ours is None or k in ours})
    for rx_name, (img, mask, backends) in outs.items():
        rows += scorer.rows(p, img, {**base, "receiver": rx_name, "backends": backends}, mask)
        if s.mosaic_snr is not None and snr == s.mosaic_snr and img is not None:
            images[rx_name] = img
    for c, codec in models.separation.items():  # the same guarded image over the same link, another codec
        want = wanted(c)
        if want is not None and not want:
            continue
        res = over_link(p.send(c, seed), link)
        got = {it.index: it for it in SemanticReceiver(codec, db=models.db).decode(res.rx["auth"].messages)}
        got_eve = {it.index: it for it in SemanticReceiver(codec).decode(res.rx["eve"].messages)}
        vecs = _opened_vectors(res.rx["auth"].messages, models.db, codec)
        outs = _receive(p, got.get(0), got_eve.get(0), vecs, shared, models, nets=False, want=want)
        for rx_name, (img, mask, backends) in outs.items():
            rows += scorer.rows(p, img, {**base, "codec": c, "receiver": rx_name, "backends": backends}, mask)
    return CellResult(key, rows, images)


@dataclass(frozen=True)
class CellLink:
    """The channel of one cell: what every transmission of it (:func:`over_link`) crosses.

    Parameters
    ----------
    config : LinkConfig
        Modulation, framing, per role the SNR, impairments and noise seed (:func:`seeded_link`).
    fading : FadingSpec or None
        A Sionna fading model (``--channel``) or None (the GNU Radio loopback's standard channel).
    seeds : dict or None
        With ``fading``: role -> seed of its realisation (:func:`fading_seeds` of the cell's key).
    """

    config: object
    fading: FadingSpec | None = None
    seeds: dict | None = None


def cell_link(key: tuple, settings: CellSettings) -> CellLink:
    """The channel of the SNR cell ``key``: a function of its image, SNR point and seed (and the sweep's
    settings), not of its margin, so that the cells of a margin sweep cross the same channel (the same noise
    seeds and, with ``settings.channel``, the same fading realisations: :func:`fading_seeds`), and not of the
    system sent, so that ours, the link baselines and the separation codecs are paired too (:func:`over_link`).

    Parameters
    ----------
    key : tuple
        The cell's key (:func:`cell_key`), its snr a number.
    settings : CellSettings

    Output
    ------
    CellLink
    """
    from ..config import DEMO_LINK

    snr, seed = float(key[2]), int(key[3])
    eve_snr = snr if settings.eve_snr is None else settings.eve_snr
    return CellLink(seeded_link(DEMO_LINK.with_overrides(snr_db=snr, eve_snr_db=eve_snr), seed), settings.channel,
                    None if settings.channel is None else fading_seeds(key, settings.seed))


def over_link(messages: list, link: CellLink, roles: tuple[str, ...] = ("auth", "eve")):
    """One transmission of a cell (ours, a link baseline's, a separation codec's) through ``link``, received by
    ``roles``: the GNU Radio loopback with ``link.config``'s channels, or with ``link.fading`` Sionna's fading
    offline (:func:`sdr_semcom.link.faded.run_faded_link`, the cell's realisations ``link.seeds``). Every
    transmission of a cell goes through here, so all of them see the same channel model (and, each from
    its start, the same realisation and noise seeds).

    Input
    -----
    messages : list
        The transmitter's messages (as for :func:`~sdr_semcom.link.loopback.run_loopback`).

    Output
    ------
    :class:`~sdr_semcom.link.loopback.LoopbackResult`
    """
    if link.fading is None:
        from ..link import loopback

        return loopback.run_loopback(messages, link.config, roles=roles)
    from ..link.faded import run_faded_link

    return run_faded_link(messages, link.config, link.fading, link.seeds, roles=roles)


def _link_baselines(p: Prepared, link: CellLink, models: Models, seed: int) -> dict:
    """Blur and pixelation of the removed pixels sent through our codec over the authorized link (no guard,
    nothing sealed: one transmitter, seeded as the image's): receiver name -> (image or None, mask, backends)."""
    from ..pipeline import SemanticReceiver, SemanticTransmitter

    mask = sent_mask(p)
    seeded = random.Random(tx_seed(models.settings.seed, p.name, p.margin, seed) + "/link-baselines")
    tx = SemanticTransmitter(models.codec, randbytes=seeded.randbytes)
    msgs = [m for b in LINK_BASELINES for m in tx.messages(baseline(b, p.original, mask), models.settings.size)[0]]
    res = over_link(msgs, link, roles=("auth",))
    got = {it.index: it for it in SemanticReceiver(models.codec).decode(res.rx["auth"].messages)}
    out = {}
    for i, b in enumerate(LINK_BASELINES):
        item = got.get(i)
        out[f"{b}_link"] = (None, None, None) if item is None or item.image is None else (item.image, mask, [b])
    return out


def sent_mask(p: Prepared) -> np.ndarray:
    """The guard's removed pixels (all False when it removed nothing)."""
    return p.sent.mask if p.sent.mask is not None else np.zeros(p.original.shape[:2], bool)


def _message_data(messages, ptype, msg_id: int) -> bytes | None:
    for m in messages:
        if m.ptype is ptype and m.msg_id == msg_id and m.complete:
            return m.data
    return None


def _embedding_data(messages) -> bytes | None:
    from ..phy.framing import PayloadType
    from ..pipeline import EMBEDDING_SLOT

    return _message_data(messages, PayloadType.EMBEDDING, EMBEDDING_SLOT)


def _open(data: bytes, header: bytes, db, codec) -> list[np.ndarray] | None:
    """The vectors of a sealed EMBEDDING message, opened against its image's METADATA bytes ``header``."""
    from ..pipeline import EMBEDDING_SLOT
    from ..privacy.keying import LinkKeys
    from ..privacy.wire import Context, parse_findings

    try:
        msg = parse_findings(data)
        ctx = Context(codec.id, 0, EMBEDDING_SLOT, header)
        return [r.vector for r in msg.open(LinkKeys.from_database(db), ctx).regions]
    except Exception as exc:  # noqa: BLE001 - reported as a lost embedding
        log.warning("EMBEDDING message does not open (%s)", exc)
        return None


def _open_sent(messages: list, db, codec) -> list[np.ndarray] | None:
    """The vectors of an image's own sealed EMBEDDING message as sent (no channel)."""
    from ..phy.framing import PayloadType

    data = next((d for d, t in messages if t is PayloadType.EMBEDDING), None)
    header = next((d for d, t in messages if t is PayloadType.METADATA), None)
    return None if data is None or header is None else _open(data, header, db, codec)


def _opened_vectors(messages, db, codec) -> list[np.ndarray] | None:
    """The authorized receiver's unkeyed vectors (None: message or image header lost, or not opened)."""
    from ..phy.framing import PayloadType

    data = _embedding_data(messages)
    header = _message_data(messages, PayloadType.METADATA, 0)
    return None if data is None or header is None else _open(data, header, db, codec)


def _receive(p: Prepared, auth_item, eve_item, vecs, shared: Shared, models: Models, nets: bool = True,
             want: frozenset | None = None) -> dict:
    """Every receiver's reconstruction: name -> (image or None, mask, backends) (``nets``: with the network
    variants :data:`NET_VARIANTS`; else ``auth`` and the eavesdropper's fills only; ``want``: these receivers
    alone, None: all)."""
    from ..generative import regions_from_rows, removed_mask
    from ..generative.receiver import find_grey, removed_pixels

    s = models.settings
    out: dict = {}
    auth_side = [n for n in ("auth",) + (auth_variants(s) if nets else ()) if want is None or n in want]
    eve_side = [n for n in s.eve_fills if want is None or n in want]
    if auth_side and (auth_item is None or auth_item.image is None):
        for n in auth_side:
            out[n] = (None, None, None)
    elif auth_side:
        rows = auth_item.regions
        regions = regions_from_rows(rows, vecs if vecs is not None and len(vecs) == len(rows) else None,
                                    categories=shared.categories)
        mask = removed_pixels(auth_item.image.shape[:2], rows, regions)  # the sealed bounds, as rx fills
        img = auth_item.image
        if "auth" in auth_side:
            r = _fill(models, models.inpainter("authorized", s.generator), ("auth", s.generator), img, mask, regions)
            out["auth"] = (r.image, mask, r.backends)
        if "net_true" in auth_side:
            r = _fill(models, models.inpainter("authorized", "network"), ("net",), img, mask, regions)
            out["net_true"] = (r.image, mask, r.backends)
        if "net_null" in auth_side:
            r = _fill(models, models.inpainter("authorized", "network", False), ("null",), img, mask, regions)
            out["net_null"] = (r.image, mask, r.backends)
        if "net_other" in auth_side:
            i = shared.order.index(p.name)
            same = {n: v for (n, m), v in shared.vectors.items() if m == p.margin}  # the other images at this margin
            r = _fill(models, models.inpainter("authorized", "network"), ("net",), img, mask,
                      _other_embeddings(p.name, i, regions, same, s.seed))
            out["net_other"] = (r.image, mask, r.backends)
        for n, words in (("prior_true", True), ("prior_null", False)):
            if n in auth_side:
                r = _fill(models, models.inpainter("authorized", "face_prior", words), (n,), img, mask, regions)
                out[n] = (r.image, mask, r.backends)
        for n, words in (("diff_true", True), ("diff_null", False)):  # prompted vs no prompt
            if n in auth_side:
                r = _fill(models, models.inpainter("authorized", "diffusers", words), (n,), img, mask, regions)
                out[n] = (r.image, mask, r.backends)
    if not eve_side:
        pass
    elif eve_item is None or eve_item.image is None:
        for n in eve_side:
            out[n] = (None, None, None)
    else:
        true_mask = sent_mask(p)  # scores are taken inside the pixels really removed, as the auth's
        if s.eve_mask == "oracle":  # stronger than a real eavesdropper: the exact removed pixels
            mask, boxes = true_mask, [f["box"] for f in p.sent.findings]
            removed = [f["removed"] for f in p.sent.findings]
        else:  # the grey fill it sees, and the region count the sealed message's length gives away
            found = [] if eve_item.region_count == 0 else find_grey(eve_item.image, eve_item.region_count)
            mask = removed_mask(eve_item.image.shape[:2], found, margin=0.0)
            boxes, removed = [r.box for r in found], None
        k = ("eve", digest(eve_item.image, mask, np.array(boxes, float), None if removed is None else
                           np.array(removed, float)), tuple(eve_side))
        fills = models._fills.get_or(k, lambda: eve_fills(eve_item.image, mask, boxes, tuple(eve_side), removed))
        for n, img in fills.items():
            out[n] = (None, None, None) if isinstance(img, Exception) else (img, true_mask, [n])
    return out


def digest(*arrays) -> str:
    """sha1 of arrays' dtypes, shapes and bytes (None counts as a value)."""
    h = hashlib.sha1()
    for a in arrays:
        if a is None:
            h.update(b"-")
            continue
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _fill(models: Models, inp, key: tuple, image: np.ndarray, mask: np.ndarray, regions: list):
    """``inp.fill`` memoised on the inputs' bytes: above the link's threshold every SNR point decodes
    the same image, and its fills (the DCGAN face prior takes seconds a face) are computed once."""
    k = (key, digest(image, mask, *[np.array(r.box) for r in regions],
                     *[r.embedding for r in regions]), tuple(r.category for r in regions))
    return models._fills.get_or(k, lambda: inp.fill(image, mask, regions))


def _other_embeddings(name: str, i: int, regions: list, vectors: dict, seed: int) -> list:
    """``regions`` with each embedding replaced by one of a region of another image (seeded by ``seed``
    and the image's index ``i``); another region of the same image when no other image has one."""
    import dataclasses

    rng = np.random.default_rng(seed + 1000 * i)
    pool = [v for n, vs in vectors.items() if n != name and vs for v in vs]
    if not pool:
        pool = vectors.get(name) or []
    out = []
    for r in regions:
        if r.embedding is None or not pool:
            out.append(r)
            continue
        cands = [v for v in pool if not np.allclose(v, r.embedding)] or pool
        out.append(dataclasses.replace(r, embedding=cands[int(rng.integers(len(cands)))]))
    return out


class Scorer:
    """Scores one reconstruction against its original: its rows."""

    def __init__(self, models: Models, shared: Shared) -> None:
        self.models, self.shared = models, shared
        self.judges, self.gallery, self.floors = models.judges, shared.gallery, shared.floors
        self.identities = shared.identities
        self.perceptual = models.settings.perceptual

    def rows(self, p: Prepared, img: np.ndarray | None, base: dict, mask) -> list[dict]:
        """Score ``img``; a reconstruction byte-identical to one already scored reuses its figures."""
        if img is None:
            return self._score(p, None, base, mask)
        key = (digest(img, mask), p.name, p.margin, self.shared.token)
        keep = ("image", *base)
        figures = self.models._seen.get_or(
            key, lambda: [{k: v for k, v in r.items() if k not in keep} for r in self._score(p, img, base, mask)])
        return [{**r, "image": p.name, **base} for r in figures]

    def _score(self, p: Prepared, img: np.ndarray | None, base: dict, mask) -> list[dict]:
        head = {"image": p.name, **base}
        if img is None:
            out = [{"kind": "image", **head, "received": False}]
            for f in p.faces:  # a lost image shows nobody: no leak, no re-identification
                row = {"kind": "face", **head, "face": f.key, "received": False, "iou": 0.0}
                for j in self.judges:
                    row.update({f"{j.name}_sim": None, f"{j.name}_leak": 0.0, f"{j.name}_idleak": 0.0,
                                f"{j.name}_reid": False, f"{j.name}_same": False, f"{j.name}_simv": None})
                out.append(row)
            return out
        if img.shape != p.original.shape:
            raise RuntimeError(f"{p.name}: receiver {base.get('receiver')} gave {img.shape}, original {p.original.shape}")
        q = quality(p.original, img, mask if mask is not None and mask.any() else None, self.perceptual)
        util = detection_utility(img, p.faces)
        out = [{"kind": "image", **head, "received": True, **q.to_json(), "faces": len(p.faces),
                "detected": util["detected"], "found": util["found"],
                "iou_mean": float(np.mean(util["iou"])) if util["iou"] else None}]
        for f, iou in zip(p.faces, util["iou"]):
            row = {"kind": "face", **head, "face": f.key, "received": True, "iou": iou}
            for j in self.judges:
                probe = j.embed(img, f)
                # the tie break's seed names the judge and face only: figures are reused for a byte-identical
                # reconstruction whatever its receiver or seed (``rows``), and the report's plain pick agrees
                sc = score_probe(j, probe, self.gallery[j.name], f.key, self.identities, tie_seed(j.name, f.key))
                row.update({f"{j.name}_sim": round(sc.sim, 4), f"{j.name}_margin": round(sc.sim - j.threshold, 4),
                            f"{j.name}_leak": round(leak(sc.sim, self.floors[j.name]), 4),
                            f"{j.name}_same": bool(sc.sim >= j.threshold),
                            f"{j.name}_idm": round(sc.margin, 4), f"{j.name}_idleak": round(max(0.0, sc.margin), 4),
                            f"{j.name}_reid": bool(sc.reid), f"{j.name}_simv": list(sc.simv)})
            out.append(row)
        for k, fnd in enumerate(p.sent.findings):
            hole = _grown_hole(fnd, sent_mask(p), p.margin)  # the guard's removed pixels of this region
            if not hole.any():
                continue
            out.append({"kind": "region", **head, "region": k, "category": fnd["category"],
                        **hole_quality(p.original, img, hole, self.perceptual)})
        return out


def _grown_hole(finding: dict, mask: np.ndarray, margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """The removed pixels of one region: ``mask`` inside the finding's ``removed`` bounds (the guard's,
    a face's head region included), else inside its box grown by the guard's margin."""
    h, w = mask.shape
    out = np.zeros_like(mask)
    if finding.get("removed"):
        xa, ya, xb, yb = finding["removed"]
    else:
        x0, y0, x1, y1 = finding["box"]
        mx, my = margin * (x1 - x0), margin * (y1 - y0)
        ya, yb = max(int(np.floor(y0 - my)), 0), min(int(np.ceil(y1 + my)), h)
        xa, xb = max(int(np.floor(x0 - mx)), 0), min(int(np.ceil(x1 + mx)), w)
    out[ya:yb, xa:xb] = mask[ya:yb, xa:xb]
    return out
