"""Identity labels of an evaluation folder: which faces show the same person (issue #10).

A folder may hold ``labels.csv`` with the columns ``file`` and ``identity`` (more columns are ignored):
the *largest* face of each listed image (its face ``#0``, as :func:`~sdr_semcom.eval.identity.find_faces`
orders them) is that person. Every other face, and every face of an unlisted image, is a person of
its own. ``sdr-semcom eval --set pkgfaces`` (:mod:`sdr_semcom.faceset`) writes one. With labels, the
judges' impostor floor leaves out pairs of the same person, re-identification counts a match to
another photo of the same person, the identity margin compares with other people only, and the
enrolled study enrols a person with a different photo of them.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

log = logging.getLogger(__name__)
LABELS = "labels.csv"


def read_labels(paths: list[Path]) -> dict[str, str]:
    """Image stem -> identity, from the ``labels.csv`` of the folders that hold ``paths``.

    Rows naming a file that is not among ``paths`` are ignored; a ``labels.csv`` without the
    ``file`` and ``identity`` columns raises ``ValueError`` naming it.
    """
    stems = {Path(p).name: Path(p).stem for p in paths}
    out: dict[str, str] = {}
    for folder in dict.fromkeys(Path(p).resolve().parent for p in paths):
        f = folder / LABELS
        if not f.is_file():
            continue
        with f.open(newline="") as fh:
            reader = csv.DictReader(fh)
            if not {"file", "identity"} <= set(reader.fieldnames or ()):
                raise ValueError(f"{f}: needs the columns file,identity (has {reader.fieldnames})")
            for row in reader:
                name, ident = (row.get("file") or "").strip(), (row.get("identity") or "").strip()
                if name in stems and ident:
                    out[stems[name]] = ident
    if out:
        log.info("identity labels for %d of %d images (%d people)", len(out), len(paths), len(set(out.values())))
    return out


def face_identities(keys, labels: dict[str, str]) -> dict[str, str]:
    """Face key (``image#index``) -> identity: the label of its image for face 0, else the key itself."""
    out = {}
    for k in keys:
        image, _, index = k.rpartition("#")
        out[k] = labels[image] if index == "0" and image in labels else k
    return out


def other_photos(identities: dict[str, str]) -> dict[str, list[str]]:
    """Face key -> the keys of the same person's faces in *other* images (empty: none)."""
    by: dict[str, list[str]] = {}
    for k, ident in identities.items():
        by.setdefault(ident, []).append(k)
    return {k: [o for o in by[identities[k]] if o.rpartition("#")[0] != k.rpartition("#")[0]] for k in identities}
