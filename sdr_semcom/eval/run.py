"""The evaluation sweep behind ``sdr-semcom eval``: images x SNR cells, rows streamed to JSONL.

The sweep prepares every image once (guard, codec, its sealed EMBEDDING message; the judges' embeddings
of its faces), computes what all cells share (the judges' impostor floors, each image's opened
vectors), then runs its cells: one per image and SNR point, and one per image for the baselines
(:func:`sdr_semcom.eval.cells.run_cell`, whose docstring lists the receivers). Cells run here one after
the other (:class:`LocalExecutor`) or as Ray tasks on a cluster (``--ray``,
:class:`sdr_semcom.eval.cluster.RayExecutor`): the same function, the same rows.

Rows (``rows.jsonl``, one JSON object a line, flushed a cell at a time): ``kind`` is ``image`` (quality,
detection utility), ``face`` (per judge: similarity to the original, margin to the threshold,
leakage above the impostor floor, top-1 re-identification), ``region`` (quality inside each
removed region, with its category), ``message`` (the eavesdropper's reading of the sealed message),
``floor`` (the judges' computed floors) and ``done`` (a cell, ``image``, ``margin``, ``snr`` and ``seed``,
finished: ``--resume`` skips those, and a cell is never written twice). Every cell row carries the
guard's ``margin`` (``--margins``: the guard runs once per margin on each image's same detections) and
its ``seed`` (``--seeds``: channel noise and transmitter nonces); the rows of a link carry the ``codec``
that sent the image (``--codec-baselines`` adds the separation codecs') and what made the image
(:func:`~sdr_semcom.eval.cells.setup_fields`: ``generator``, ``inpainter``, ``size``, ``max_side``). ``--resume``
refuses rows made over another link (:func:`~sdr_semcom.eval.cells.link_mismatch`) or with other models, sizes
or a margin this run does not sweep (:func:`~sdr_semcom.eval.cells.setup_mismatch`), or over other images: other
image names (:func:`~sdr_semcom.eval.cells.images_mismatch`, before any image is prepared) or, the names the same,
another gallery of faces or other identity labels (:func:`~sdr_semcom.eval.cells.floor_mismatch`, once the faces
are found): a usage error, nothing computed. Every finished cell was scored against its sweep's floors and gallery
(the ``floor`` rows: :func:`~sdr_semcom.eval.cells.floor_rows`), so such a sweep is not resumed but run into another
``--out``; a judge added since gets its ``floor`` row. Rows of cells finished at SNR points or seeds this run does
not sweep stay in ``rows.jsonl`` but not in the report (:func:`report_rows`; counted in the summary's meta,
``rows_outside_sweep`` and ``cells_outside_sweep``, and said in a progress line).
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from ..channels.spec import FadingSpec
from .attacks import EVE_FILLS
from .labels import face_identities, read_labels
from . import recon
from .cells import (BASELINE_CELL, CODEC_BASELINES, DEFAULT_MARGIN, NET_VARIANTS, RECEIVERS, CellResult, CellSettings,
                    Models, PreparedInfo, Shared, cell_key, cell_receivers, channel_fields, floor_mismatch, floor_rows,
                    headline_snr, images_mismatch, missing_receivers, report_margin, link_mismatch, row_key,
                    row_receiver, run_cell, setup_mismatch, stale_fades)

log = logging.getLogger(__name__)
__all__ = ["EvalConfig", "RowWriter", "LocalExecutor", "run_eval", "evaluate", "NET_VARIANTS", "RECEIVERS"]


@dataclass
class EvalConfig:
    """What ``sdr-semcom eval`` sweeps.

    Parameters
    ----------
    images : list of Path
        Image files (default: :func:`default_images`).
    snrs : list of float
        Authorized link SNR points, dB, run in this order; the claims table and the mosaic are taken at the
        highest (:func:`~sdr_semcom.eval.cells.headline_snr`), whatever the order.
    out : Path
        Output folder (rows.jsonl, rows.csv, claims.json, plots, mosaics).
    eve_snr : float or None
        Eavesdropper's SNR, dB; None: the same as the authorized link at each point.
    generator : str
        The authorized receiver's generator (``make_inpainter``'s ``generator``).
    size : int
        Long side of the image sent.
    resume : bool
        Keep the rows of ``out/rows.jsonl`` and skip the cells they finish (refused over other images, models,
        sizes or link: see the module's docstring); the report sees this sweep's cells only.
    perceptual : bool
        Compute ST-LPIPS and MS-SSIM (off in ``--quick``).
    judge_names : tuple of str
        Identity judges.
    seed : int
        Seeds the choice of the other image's embedding and the bootstrap.
    eve_mask : str
        ``'estimated'`` (the grey fill the eavesdropper finds) or ``'oracle'`` (the exact removed pixels).
    margins : list of float
        The guard's margins (each image goes through the guard once per margin; the claims table is
        taken at the default margin, 0.15, when swept, else at the first).
    seeds : int
        Seeds 0 .. ``seeds`` - 1 of every SNR point: each draws the channel noise and the transmitter's
        session id and nonces (seed 0: what runs before the seed axis drew), and with ``channel`` the
        fading realisations.
    codec_baselines : tuple of str
        Separation codecs that also carry each guarded image (:data:`~sdr_semcom.eval.cells.CODEC_BASELINES`).
    channel : FadingSpec or None
        Every transmission of a cell (ours, the link baselines, the separation codecs) through this Sionna
        fading model (``.venv-sionna``; see :class:`~sdr_semcom.eval.cells.CellSettings`); None: the
        standard impairments.
    generator_dir : Path or None
        A saved ``StableDiffusionInpaintPipeline`` (``--generator-dir``): the ``diffusers`` generator (first in
        ``auto``'s policy) and the claim-1 rows ``diff_true`` / ``diff_null`` (prompted with the aligned
        description vs with nothing). On a Ray cluster, the same path on every worker.
    """

    images: list[Path]
    snrs: list[float]
    out: Path
    eve_snr: float | None = None
    generator: str = "auto"
    size: int = 256
    resume: bool = False
    perceptual: bool = True
    judge_names: tuple[str, ...] = ("sface", "dlib")
    seed: int = 0
    quick: bool = False
    max_side: int | None = None
    eve_fills: tuple[str, ...] = tuple(EVE_FILLS)
    eve_mask: str = "estimated"
    margins: list[float] = field(default_factory=lambda: [DEFAULT_MARGIN])
    extra: dict = field(default_factory=dict)
    seeds: int = 1
    codec_baselines: tuple[str, ...] = ()
    channel: FadingSpec | None = None
    generator_dir: Path | None = None


def default_images(quick: bool = False) -> list[Path]:
    """The shipped photos with faces whose people the inpainter never trained on.

    ``inpainter_v1`` trained on ``sdr_semcom.semantic.data.FACES_TRAIN`` (breakingbad, einstein, lenna,
    takeo, tongue, Tom Hanks) and on scikit-image's astronaut and camera (the cameraman); it held out
    ``t1.jpg`` (six people) and ``grace_hopper``: those are the evaluation set (7 faces, 7 identities).
    No other photo with a face ships in the installed packages (YuNet run over every image of the venv,
    ``/usr/share`` and ``/usr/lib/python3/dist-packages``: its other hits are scikit-image's
    motorcycle headlights; scikit-image's ``lfw_subset`` faces are 25 x 25 px).
    """
    from ..samples import fetch_face_samples, fetch_samples
    from ..semantic.data import FACES_TRAIN

    faces = fetch_face_samples()
    hopper = next(p for p in fetch_samples() if p.stem == "grace_hopper")
    out = [faces / "t1.jpg", hopper]
    assert not {p.name for p in out} & set(FACES_TRAIN)
    return out


def parse_snrs(spec: str) -> list[float]:
    """``'0:20:2'`` (start:stop:step, stop included) or ``'5,10,20'`` -> list of dB values, each once, in the order
    given (the cells run in it; the headline SNR is the highest, whatever the order). ``ValueError`` when it gives
    none."""
    try:
        if ":" in spec:
            a, b, s = (float(v) for v in spec.split(":"))
            if s <= 0 or b < a:
                raise ValueError
            return [round(a + i * s, 6) for i in range(int(np.floor((b - a) / s + 1e-9)) + 1)]
        vals = list(dict.fromkeys(float(v) for v in spec.split(",") if v.strip()))
        if not vals:
            raise ValueError
        return vals
    except ValueError:
        raise ValueError(f"--snr {spec!r}: give start:stop:step (e.g. 0:20:2, stop included) or a list (5,10,20)") \
            from None


def parse_margins(spec: str) -> list[float]:
    """``'0,0.15,0.3'`` -> the guard margins, in order, each once (0 to 2)."""
    try:
        vals = [float(v) for v in spec.split(",") if v.strip()]
    except ValueError:
        vals = []
    if not vals or any(not 0 <= v <= 2 for v in vals):
        raise ValueError(f"--margins {spec!r}: give a list of guard margins between 0 and 2 (e.g. 0,0.15,0.3)")
    return list(dict.fromkeys(vals))


class RowWriter:
    """Appends rows to ``rows.jsonl`` (flushed each time) and keeps them in memory.

    Rows come a cell at a time (:meth:`write_cell`): the cell's rows, then its ``done`` row. A cell
    whose ``done`` row is already there is not written again (a retried cell is never counted twice);
    ``resume`` keeps the finished cells' rows (and the floors) and drops the rest, a line cut by a kill
    included. A finished cell that lacks rows of the current version gets them with :meth:`add_rows`: the
    rows, then a second ``done`` row whose ``added`` lists their receivers; rows after a cell's ``done`` row
    that no such ``done`` row follows (a write cut by a kill) are dropped on resume, and computed again.
    """

    def __init__(self, path: Path, resume: bool) -> None:
        self.path = path
        self.rows: list[dict] = []
        if resume and path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    try:
                        self.rows.append(json.loads(line))
                    except json.JSONDecodeError:  # a line cut by a kill: dropped, its cell reruns
                        break
            self.rows = _finished(self.rows)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._rewrite()
        self._done = self.done()

    def _rewrite(self) -> None:
        """``rows.jsonl`` := :attr:`rows` (through a temporary file: a kill leaves the old file or the new one)."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w") as f:
            for r in self.rows:
                f.write(json.dumps(r, default=_json_default) + "\n")
        os.replace(tmp, self.path)
        self._f = self.path.open("a")

    def done(self) -> set:
        """The keys ``(image, margin, snr, seed)`` of the finished cells."""
        return {row_key(r) for r in self.rows if r["kind"] == "done"}

    def write(self, row: dict) -> None:
        self.rows.append(row)
        self._f.write(json.dumps(row, default=_json_default) + "\n")
        self._f.flush()

    def write_cell(self, key: tuple, rows: list[dict], timing: dict | None = None) -> bool:
        """A cell's rows and its ``done`` row (with ``timing``: wall and CPU seconds, worker); False
        (nothing written) when the cell is already done."""
        if key in self._done:
            log.warning("cell %s came twice: kept once", key)
            return False
        text = "".join(json.dumps(r, default=_json_default) + "\n" for r in rows)
        done = {"kind": "done", "image": key[0], "margin": key[1], "snr": key[2], "seed": key[3], **(timing or {})}
        self._f.write(text + json.dumps(done) + "\n")  # one write: a kill leaves the cell whole or unfinished
        self._f.flush()
        self.rows += [json.loads(line) for line in text.splitlines()] + [done]
        self._done.add(key)
        return True

    def add_rows(self, key: tuple, rows: list[dict], receivers, timing: dict | None = None) -> int:
        """Complete the finished cell ``key``: its rows of ``receivers`` (``(receiver, codec)`` pairs:
        :func:`~sdr_semcom.eval.cells.row_receiver`) replaced by ``rows`` (none there: appended), then a
        ``done`` row with ``added`` (the receivers) and ``timing``. Returns the number of rows added."""
        receivers = {tuple(r) for r in receivers}
        if key not in self._done:
            raise ValueError(f"cell {key} is not finished: write it whole (write_cell)")
        old = [r for r in self.rows if r["kind"] in ("image", "face", "region") and row_key(r) == key
               and row_receiver(r) in receivers]
        done = {"kind": "done", "image": key[0], "margin": key[1], "snr": key[2], "seed": key[3],
                "added": sorted(list(r) for r in receivers), **(timing or {})}
        rows = [json.loads(json.dumps(r, default=_json_default)) for r in rows]
        if old:  # a receiver computed again (a judge added): its old rows go, the file is rewritten
            gone = {id(r) for r in old}
            self._f.close()
            self.rows = [r for r in self.rows if id(r) not in gone] + rows + [done]
            self._rewrite()
        else:
            self._f.write("".join(json.dumps(r) + "\n" for r in [*rows, done]))  # one write, the done row last
            self._f.flush()
            self.rows += [*rows, done]
        return len(rows)

    def drop(self, keys) -> int:
        """Forget the cells ``keys`` (every row of theirs, their ``done`` rows included: they are not finished
        any more) and rewrite the file (through a temporary file). Returns the number of rows dropped."""
        keys = {tuple(k) for k in keys}
        kept = [r for r in self.rows if r["kind"] == "floor" or row_key(r) not in keys]
        n = len(self.rows) - len(kept)
        if n:
            self._f.close()
            self.rows = kept
            self._rewrite()
        self._done -= keys
        return n

    def close(self) -> None:
        self._f.close()


def _finished(rows: list[dict]) -> list[dict]:
    """The rows a resume keeps: the floors, and the rows of finished cells (a ``done`` row after them). Rows
    after their cell's first ``done`` row (added by :meth:`RowWriter.add_rows`) are kept when a later ``done``
    row of the cell follows them; the rest (cells and additions cut by a kill) go."""
    first_done: dict = {}
    for i, r in enumerate(rows):
        if r["kind"] == "done":
            first_done.setdefault(row_key(r), i)
    out, pending = [], {}
    for i, r in enumerate(rows):
        if r["kind"] == "floor":
            out.append(r)
            continue
        k = row_key(r)
        if k not in first_done:
            continue
        if i <= first_done[k]:
            out.append(r)
        elif r["kind"] == "done":
            out += pending.pop(k, []) + [r]
        else:
            pending.setdefault(k, []).append(r)
    for k, left in pending.items():
        log.warning("cell %s: %d row(s) added after it finished were cut off: computed again", k, len(left))
    return out


def _by_cell(rows: list[dict]) -> dict[tuple, list[dict]]:
    """``rows`` grouped by their cell (:func:`~sdr_semcom.eval.cells.row_key`), in order."""
    out: dict = {}
    for r in rows:
        out.setdefault(row_key(r), []).append(r)
    return out


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o))


def _progress(msg: str) -> None:
    print(f"[eval {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Executor(Protocol):
    """Where a sweep's cells run: :class:`LocalExecutor`, or :class:`sdr_semcom.eval.cluster.RayExecutor`."""

    def start(self, settings: CellSettings, db) -> None: ...

    def prepare(self, items: list[tuple[str, Path, float]], max_side: int | None
                ) -> list[tuple[object, PreparedInfo] | None]:
        ...

    def floors(self, gallery: dict, identities: dict | None = None) -> dict: ...

    def run(self, cells: list[tuple[tuple, object, frozenset | None]], shared: Shared) -> Iterator[CellResult]:
        """Each ``(key, prepared image, only)``: :func:`~sdr_semcom.eval.cells.run_cell`'s result."""
        ...

    def close(self) -> None: ...


class LocalExecutor:
    """Every cell in this process, one after the other (the models loaded once)."""

    def start(self, settings: CellSettings, db) -> None:
        self.models = Models(settings, db)

    def prepare(self, items: list[tuple[str, Path, float]], max_side: int | None
                ) -> list[tuple[object, PreparedInfo] | None]:
        """Each (image, guard margin) read and prepared here (None: unreadable, skipped with a warning)."""
        from ..images import ImageError

        out = []
        for name, path, margin in items:
            _progress(f"guard (margin {margin}) + codec: {name}")
            try:
                out.append(self.models.prepare(name, path, max_side, margin))
            except ImageError as exc:
                log.warning("skipping %s", exc)
                out.append(None)
        return out

    def floors(self, gallery: dict, identities: dict | None = None) -> dict:
        return self.models.floors(gallery, identities)

    def run(self, cells: list[tuple[tuple, object, frozenset | None]], shared: Shared) -> Iterator[CellResult]:
        for key, p, only in cells:
            yield run_cell(key, p, shared, self.models, only)

    def close(self) -> None:
        pass


def run_eval(cfg: EvalConfig, executor: Executor | None = None) -> dict:
    """Run the sweep into ``cfg.out``; returns the claims (see :func:`sdr_semcom.eval.report.claims`).

    ``executor`` runs the cells (default: :class:`LocalExecutor`); rows stream to ``rows.jsonl`` as cells
    finish, in any order, and are sorted into sweep order for the report, which sees the floors of this run's judges
    and the rows of this sweep's cells (:func:`report_rows`). ``cfg.resume`` over rows made with another link,
    models, sizes, margins or images raises ``ValueError`` (the CLI's usage error) before any cell runs.
    """
    from ..images import ImageError, image_files
    from ..privacy import PrivacyDatabase
    from . import report

    t0 = time.time()
    out = Path(cfg.out)
    files = image_files(cfg.images)  # read where they are prepared: here, or by each Ray worker
    stems = [f.stem for f in files]
    if len(set(stems)) != len(stems):
        raise ValueError(f"two images share a name: {sorted(n for n in set(stems) if stems.count(n) > 1)}")
    db = PrivacyDatabase.default()  # a fresh secret, the same for every worker of this sweep
    categories = {e.id: e.category for e in db.entries}
    cfg.extra["categories"] = categories
    settings = CellSettings(cfg.generator, cfg.size, cfg.perceptual, tuple(cfg.judge_names), tuple(cfg.eve_fills),
                            cfg.eve_snr, cfg.seed, headline_snr(cfg.snrs), cfg.eve_mask,
                            max(int(cfg.seeds), 1), tuple(cfg.codec_baselines), cfg.channel, cfg.max_side,
                            str(cfg.generator_dir) if cfg.generator_dir else None)
    if cfg.channel is not None:
        from ..channels.launch import sionna_python

        sionna_python()  # before any work: SionnaMissing says how to make .venv-sionna
    ex = executor or LocalExecutor()
    mosaic_dir = out / "recon"
    writer = None
    added = {"cells": 0, "rows": 0, "receivers": []}  # what --resume added to cells finished by older versions
    try:
        ex.start(settings, db)  # before any file is touched: no cluster, no change to OUT
        out.mkdir(parents=True, exist_ok=True)
        writer = RowWriter(out / "rows.jsonl", cfg.resume)
        mismatch = (link_mismatch(writer.rows, settings) or setup_mismatch(writer.rows, settings, cfg.margins)
                    or images_mismatch(writer.rows, stems) if cfg.resume else None)
        if mismatch:  # its finished cells crossed another link, or came from other models: two sweeps would mix
            raise ValueError(f"--resume {out / 'rows.jsonl'}: {mismatch}; resume with its settings, or give another "
                             "--out")
        cell_rows = _by_cell(writer.rows)
        stale = sorted((k for k in writer.done() if stale_fades(cell_rows.get(k, []), k, settings)), key=repr)
        if stale:  # finished through the fades of an older version (the margin hashed): computed again, whole
            writer.drop(stale)
            added["stale_fades"] = len(stale)
            _progress(f"{len(stale)} finished cell(s) at margins other than {DEFAULT_MARGIN} crossed the fades of an "
                      "older version (not paired over the margins): computing them again")
        done = writer.done()
        margins = list(cfg.margins)
        items = [(f.stem, f, m) for f in files for m in margins]  # an image's margins in a row: its detections kept
        got = ex.prepare(items, cfg.max_side)
        ok = [(it, g) for it, g in zip(items, got) if g is not None]
        names = list(dict.fromkeys(it[0] for it, _ in ok))
        prepared = [g for _, g in ok]
        if not prepared:
            shown = ", ".join(str(f) for f in files[:5]) + (", ..." if len(files) > 5 else "")
            raise ImageError(f"no readable image among {len(files)} file(s): {shown} (each skipped above, with why)")
        infos = [info for _, info in prepared]
        inputs = {"skipped_files": sorted({str(it[1]) for it, g in zip(items, got) if g is None}),
                  "images_without_faces": sorted({i.name for i in infos if not any(i.gallery.values())})}
        for k, v in inputs.items():
            if v:
                _progress(f"{k.replace('_', ' ')}: {len(v)} ({', '.join(Path(x).name for x in v)})")
        first = {}  # the galleries (embeddings of the originals) do not depend on the margin
        for i in infos:
            first.setdefault(i.name, i)
        gallery = {j: {k: v for i in first.values() for k, v in i.gallery[j].items()} for j in cfg.judge_names}
        labels = read_labels(files)  # identity labels (labels.csv beside the images), if any
        identities = face_identities([k for g in gallery.values() for k in g], labels) if labels else {}
        floors = ex.floors(gallery, identities) if identities else ex.floors(gallery)
        fresh = floor_rows(floors, gallery, identities, stems)
        mismatch = floor_mismatch(writer.rows, fresh)  # the same names, other faces found (or other labels)
        if mismatch:
            raise ValueError(f"--resume {out / 'rows.jsonl'}: {mismatch}; resume with its images, or give another "
                             "--out")
        have = {r.get("judge") for r in writer.rows if r["kind"] == "floor"}
        for judge, row in fresh.items():  # a judge added since: its floor; the others' are those above
            if judge not in have:
                writer.write(row)
        shared = Shared(tuple(names), gallery, floors, {(i.name, i.margin): i.vectors for i in infos}, categories,
                        token=f"{os.getpid()}-{time.time_ns()}", identities=identities)
        handles = {(it[0], float(it[2])): h for it, (h, _) in ok}
        keys = [k for k in sweep_cells(names, cfg.snrs, margins, settings.seeds) if (k[0], k[1]) in handles]
        todo = [(k, handles[(k[0], k[1])], None) for k in keys if k not in done]
        by_cell = _by_cell(writer.rows)  # again: the stale cells' rows were dropped since
        sweep = set(keys)
        outside = [r for r in writer.rows if r["kind"] != "floor" and row_key(r) not in sweep]
        cells_outside = {row_key(r) for r in outside if r["kind"] == "done"}
        if outside:  # finished at SNR points or seeds this run does not sweep: kept, not reported
            shown = sorted({(_snr_text(k[2]), k[3]) for k in cells_outside}, key=repr)
            _progress(f"{len(outside)} row(s) of {len(cells_outside)} finished cell(s) outside this sweep (at "
                      + ", ".join(f"{s} seed {seed}" for s, seed in shown[:6]) + (", ..." if len(shown) > 6 else "")
                      + "): kept in rows.jsonl, left out of the report")
        missing = {k: missing_receivers(by_cell.get(k, []), k, settings) for k in keys if k in done}
        partial = [(k, handles[(k[0], k[1])], m) for k, m in missing.items() if m]
        names_missing = sorted({rx if not c else f"{c}:{rx}" for m in missing.values() for rx, c in m})
        _progress(f"{len(keys)} cells, {len(keys) - len(todo)} already in rows.jsonl (--resume)"
                  + (f", {len(partial)} of them without the rows of {', '.join(names_missing)}: adding those"
                     if partial else ""))
        todo += partial
        top, ref = headline_snr(cfg.snrs), report_margin(margins)
        in_mosaic = {k for k in keys if k[1] == ref and k[3] == 0 and (k[2] == BASELINE_CELL or k[2] == top)}
        rebuild = [k for k in keys if k in in_mosaic and k in done and not recon.saved(mosaic_dir, k)]
        for n, res in enumerate(ex.run(todo, shared), 1):
            if res.key in in_mosaic:  # the mosaic's cells: their images before their done row (a kill: rerun)
                recon.save(mosaic_dir, res.key, res.images, merge=res.added is not None)
            if res.added is not None:
                added["rows"] += writer.add_rows(res.key, res.rows, res.added, res.timing)
                added["cells"] += 1
            else:
                writer.write_cell(res.key, res.rows, res.timing)
            _progress(f"cell {n}/{len(todo)}: {res.key[0]}, margin {res.key[1]}, at {_snr_text(res.key[2])}, "
                      f"seed {res.key[3]}, {len(res.rows)} rows" + (" added" if res.added is not None else ""))
        if partial:
            added["receivers"] = names_missing
            _progress(f"--resume added {added['rows']} rows to {added['cells']} finished cells "
                      f"({', '.join(names_missing)})")
        if rebuild:  # finished cells of the mosaic whose images recon/ lacks (another headline SNR then, ...)
            points = ", ".join(sorted({_snr_text(k[2]) for k in rebuild}))
            _progress(f"mosaic: {len(rebuild)} finished cell(s) at {points}, margin {ref:g}: their reconstructions are "
                      f"not in {mosaic_dir}: rebuilding them (no row written)")
            ours = [(k, handles[(k[0], k[1])], frozenset(r for r in cell_receivers(k, settings) if not r[1]))
                    for k in rebuild]
            for res in ex.run(ours, shared):
                recon.save(mosaic_dir, res.key, res.images)
    finally:
        ex.close()
        if writer is not None:
            writer.close()
    wall = time.time() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = sorted_rows(report_rows(writer.rows, keys, cfg.judge_names), keys)
    summary = report.write_all(rows, out, prepared_names=names, seed=cfg.seed,
                               meta={"images": [str(p) for p in cfg.images], "snrs": cfg.snrs, "eve_snr": cfg.eve_snr,
                                     "generator": cfg.generator, "size": cfg.size, "quick": cfg.quick,
                                     "generator_dir": settings.generator_dir,
                                     "margins": margins, "seeds": settings.seeds,
                                     "codec_baselines": list(settings.codec_baselines), **channel_fields(cfg.channel),
                                     "resume_added": added, "rows_outside_sweep": len(outside),
                                     "cells_outside_sweep": len(cells_outside), "evaluated_images": len(names), **inputs,
                                     "wall_s": round(wall, 1), "peak_rss_mb": round(peak_mb, 1)})
    _progress(f"done in {wall:.0f} s, peak memory {peak_mb:.0f} MB")
    return summary


def sweep_cells(names: list[str], snrs: list[float], margins: list[float] = (DEFAULT_MARGIN,),
                seeds: int = 1) -> list[tuple]:
    """The sweep's cell keys in order: margin by margin, each image's baselines (seed 0: nothing random in
    them), then seed by seed, SNR point by SNR point."""
    return [k for m in margins for k in
            [cell_key(n, BASELINE_CELL, m) for n in names]
            + [cell_key(n, s, m, seed) for seed in range(max(seeds, 1)) for s in snrs for n in names]]


def report_rows(rows: list[dict], keys: list[tuple], judge_names) -> list[dict]:
    """What the report of a sweep sees of ``rows`` (``rows.jsonl``'s): the floors of its judges ``judge_names`` and the
    rows of its cells ``keys``. Rows of cells a resumed file finished at SNR points or seeds this run does not sweep
    stay in ``rows.jsonl`` (counted in the summary's meta, ``rows_outside_sweep``) but not in the claims, the tables
    or the headline SNR."""
    keys, judges = set(keys), set(judge_names)
    return [r for r in rows if (r.get("judge") in judges if r["kind"] == "floor" else row_key(r) in keys)]


def sorted_rows(rows: list[dict], keys: list[tuple]) -> list[dict]:
    """``rows`` in sweep order (floors first, then cell by cell; a cell's rows keep their order)."""
    order = {k: i for i, k in enumerate(keys)}
    return sorted(rows, key=lambda r: -1 if r["kind"] == "floor" else order.get(row_key(r), len(order)))


def _snr_text(snr) -> str:
    return snr if isinstance(snr, str) else f"{snr} dB"


def evaluate(images: list[str] | tuple = (), snr: str = "0:20:2", out: Path = Path("out/eval"), eve_snr: float | None = None,
             generator: str = "auto", size: int = 256, resume: bool = False, quick: bool = False,
             ray: str | None = None, workers: int | None = None, eve_mask: str = "estimated",
             margins: str | None = None, seeds: int = 1, codec_baselines: tuple[str, ...] = (),
             channel: str | None = None, speed_mps: float | None = None, enroll_references: bool = True,
             image_set: str | None = None, generator_dir: str | Path | None = None) -> dict:
    """The ``eval`` command: build the :class:`EvalConfig` and :func:`run_eval` it.

    ``eve_mask``: where the eavesdropper fills (:class:`~sdr_semcom.eval.cells.CellSettings`).
    ``margins``: the guard margins swept, ``'0,0.15,0.3'`` (None: the guard's default, 0.15).
    ``seeds``: seeds per SNR point (channel noise, transmitter nonces). ``codec_baselines``: separation
    codecs that also carry each guarded image (``--codec-baselines``).
    ``channel``, ``speed_mps``: every link of a cell through this Sionna fading model (``tdl-a``, ``cdl-c``,
    ...; 300 ns delay spread, 2.4 GHz) at this receiver speed (default 3 km/h); None: the standard impairments.

    ``quick``: two images (the defaults, or the first two given) scaled to a long side of 512 px, two
    SNR points (the lowest and highest of ``snr``), SFace only, no ST-LPIPS / MS-SSIM, no DCGAN face
    prior (``generator='auto'`` becomes ``'network'``; the eavesdropper tries Telea and the null
    network): a smoke run for tests and ``make demo``.

    ``enroll_references``: after the sweep, claim 1 for enrolled faces (:mod:`.enrolled`: every face
    enrolled with a reference made from its own photo transformed; reference restore vs generic fill vs the
    same generator without the description): its lines end the table, its figures are the summary's ``enrolled``.

    ``generator_dir``: a saved diffusion inpainting pipeline (checked before anything runs; required by
    ``generator='diffusers'``): claim 1 for the paper's kind of generator (``diff_true`` / ``diff_null``).

    ``image_set``: a named set instead of ``images`` (``pkgfaces``: :mod:`sdr_semcom.faceset`, fetched once
    into ``.cache/faceset``; its ``labels.csv`` gives the identities, :mod:`.labels`).

    ``ray``: run the cells on a Ray cluster (``auto``: the one this machine belongs to, ``HOST:PORT``: the
    head node's address, ``local``: start one on this machine), ``workers`` workers (default: one per
    CPU of the cluster). None: here, without importing Ray.
    """
    from ..images import IMAGE_SUFFIXES, ImageError, image_files

    if generator == "diffusers" and generator_dir is None:
        raise ValueError("--generator diffusers needs --generator-dir: a StableDiffusionInpaintPipeline saved with "
                         "save_pretrained()")
    if generator_dir is not None:  # a missing file named now, before any image is read or model loaded
        from ..generative.diffusion import check_pipeline_dir

        try:
            generator_dir = check_pipeline_dir(Path(generator_dir)).resolve()
        except (FileNotFoundError, ValueError) as exc:  # ValueError: an unreadable model_index.json
            raise ValueError(f"--generator-dir: {exc}") from exc
    if image_set is not None:
        from ..faceset import set_folder

        if images:
            raise ValueError("--set and --images: give one of them")
        images = (str(set_folder(image_set)),)
    paths = image_files(images) if images else default_images(quick)
    if not paths:  # before any model is loaded
        raise ImageError(f"--images {', '.join(map(str, images))}: no image files there (a folder gives its files "
                         f"ending in {', '.join(sorted(IMAGE_SUFFIXES))})")
    snrs = parse_snrs(snr)
    margin_list = parse_margins(margins) if margins is not None else [DEFAULT_MARGIN]
    judge_names = ("sface", "dlib")
    if quick:
        paths, snrs, judge_names = paths[:2], sorted({min(snrs), max(snrs)}), ("sface",)
    if seeds < 1:
        raise ValueError(f"--seeds {seeds}: give 1 or more")
    bad = [c for c in codec_baselines if c not in CODEC_BASELINES]
    if bad:
        raise ValueError(f"--codec-baselines {','.join(bad)}: choose among {','.join(CODEC_BASELINES)}")
    fading = None
    if channel is not None:
        fading = FadingSpec(channel) if speed_mps is None else FadingSpec(channel, speed_mps=float(speed_mps))
    elif speed_mps is not None:
        raise ValueError("--speed goes with --channel")
    cfg = EvalConfig(list(paths), snrs, Path(out), eve_snr, generator, size, resume, perceptual=not quick,
                     judge_names=judge_names, quick=quick, eve_mask=eve_mask, margins=margin_list, seeds=seeds,
                     codec_baselines=tuple(dict.fromkeys(codec_baselines)), channel=fading,
                     generator_dir=generator_dir)
    if quick:
        cfg.max_side, cfg.eve_fills = 512, ("eve", "eve_telea")
        cfg.generator = "network" if generator == "auto" else generator
    executor = None
    if ray is not None:
        from .cluster import RayExecutor

        executor = RayExecutor(ray, workers)
    summary = run_eval(cfg, executor)
    if enroll_references:
        from .enrolled import run_enrolled

        extra = run_enrolled(cfg.images, cfg.out, cfg.generator, cfg.size, cfg.max_side, cfg.seed, cfg.generator_dir)
        summary["enrolled"] = extra["summary"]
        summary["table"] = list(summary["table"]) + extra["table"]
        summary["files"] = list(dict.fromkeys([*summary["files"], *extra["files"]]))  # --resume lists them already
    return summary
