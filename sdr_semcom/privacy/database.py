"""The shared privacy database: what is private, and the secret that keys the embedding.

File format (YAML, ``version: 1``)::

    version: 1
    name: lab-default
    secret: 64 hex digits          # keys the transmitted embedding; stays with the database holders
    threshold: 0.5                 # receiver: minimum match score to accept an entry
    entries:
      - id: faces                  # [a-z0-9_-]+, unique
        category: face             # face | text | license_plate | screen | document | custom
        description: human face    # words; matched to detector backends by MiniLM similarity
        policy: remove             # remove | keep
      - id: alice
        category: face
        description: enrolled person
        policy: remove
        enrolled:                  # optional: a known person (face category only)
          embeddings: [[...128 floats...], ...]   # SFace features of reference images
          references: [db.references/alice-1.jpg]  # photos to restore the person from (see below)

Reference photos (``enrolled.references``) are the photos an authorized receiver restores an enrolled
person's removed face from (:class:`~sdr_semcom.generative.reference.ReferenceRestore`). They are
biometric data, kept with the database: :meth:`PrivacyDatabase.add_reference` copies a photo into the
folder beside the file, ``<stem>.references/`` (mode 0700, each photo 0600), and stores its path
relative to the database's folder, so that the file and its folder move together (absolute paths are
kept as they are). A photo is checked before it is copied (an image of at most
:data:`~sdr_semcom.images.REFERENCE_MAX_PIXELS` pixels); :meth:`PrivacyDatabase.add_references` copies and
saves all or nothing (a failure removes its copies). :meth:`PrivacyDatabase.reference_photos` resolves them at a
receiver; a missing or unreadable photo is a :class:`DatabaseError` naming the entry and the file, never a silent
skip.

Validation errors name the file, the line and the field. :attr:`PrivacyDatabase.content_hash`
is a SHA-256 over the canonical content (secret included) that both link ends can compare
without revealing it; :attr:`PrivacyDatabase.entries_hash` covers the entries only (their
version), which the link sends under a keyed tag (:mod:`sdr_semcom.privacy.keying`).

The file holds the secret: :meth:`PrivacyDatabase.save` writes it with mode 0600 (owner only),
and :meth:`PrivacyDatabase.load` warns, as ssh does for a private key, when group or others can
read it. The secret never appears in ``repr`` or in reports.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import stat
import tempfile
import secrets as _secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

VERSION = 1
CATEGORIES = ("face", "text", "license_plate", "screen", "document", "custom")
POLICIES = ("remove", "keep")
log = logging.getLogger(__name__)
_ID = re.compile(r"^[a-z0-9_-]{1,64}$")  # with fullmatch: .match's "$" also matches before a final newline
_NAME_TRIES = 1000  # names tried for one reference photo's copy before giving up


class DatabaseError(ValueError):
    """A database file that cannot be read or fails its schema (message names file, line, field)."""


@dataclass
class Enrollment:
    embeddings: list[list[float]]
    references: list[str] = field(default_factory=list)


@dataclass
class Entry:
    id: str
    category: str
    description: str
    policy: str = "remove"
    enrolled: Enrollment | None = None

    @property
    def text(self) -> str:
        """The words used to align this entry with detector backends and received embeddings."""
        return f"{self.category.replace('_', ' ')}: {self.description}"


@dataclass
class PrivacyDatabase:
    entries: list[Entry]
    secret: bytes = field(repr=False)  # never in repr, logs or reports
    name: str = "privacy-db"
    threshold: float = 0.5
    path: Path | None = None

    # -- reading / writing ----------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> "PrivacyDatabase":
        path = Path(path)
        try:
            text = path.read_text()
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError as exc:
            raise DatabaseError(f"{path}: cannot read ({exc.strerror})") from exc
        if mode & 0o077:
            log.warning("%s is readable by group or others (mode %04o) but holds the link secret: "
                        "run `chmod 600 %s`", path, mode, path)
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise DatabaseError(f"{path}: not valid YAML: {exc}") from exc
        db = _validate(data, node, path)
        stray = db.unlisted_references()
        if stray:  # e.g. a kill between a photo's copy and the save that lists it: reported, never deleted here
            log.warning("%s: %d file(s) in %s that no entry lists (a reference photo copied by an enrolment that did "
                        "not finish?): %s; delete them, or enrol them with `sdr-semcom db enroll --reference`",
                        path, len(stray), db.references_dir, ", ".join(p.name for p in stray))
        return db

    def save(self, path: str | Path | None = None) -> Path:
        """Write the YAML file with mode 0600, replacing any file there (also one with a wider mode)."""
        path = Path(path or self.path)
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, width=120)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # created 0600
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.path = path
        return path

    def to_dict(self) -> dict:
        entries = []
        for e in self.entries:
            d = {"id": e.id, "category": e.category, "description": e.description, "policy": e.policy}
            if e.enrolled is not None:
                d["enrolled"] = asdict(e.enrolled)
            entries.append(d)
        return {"version": VERSION, "name": self.name, "secret": self.secret.hex(), "threshold": self.threshold,
                "entries": entries}

    @classmethod
    def default(cls, name: str = "lab-default") -> "PrivacyDatabase":
        """Faces, text and plates removed; a fresh random secret."""
        return cls(
            entries=[
                Entry("faces", "face", "human face"),
                Entry("text", "text", "printed text, signs and documents"),
                Entry("plates", "license_plate", "vehicle license plate"),
            ],
            secret=_secrets.token_bytes(32),
            name=name,
        )

    # -- queries ---------------------------------------------------------------------------------
    @property
    def content_hash(self) -> str:
        canon = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()

    @property
    def entries_hash(self) -> str:
        """SHA-256 over the entries alone: the version of what is private, independent of the secret."""
        canon = json.dumps(self.to_dict()["entries"], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()

    def entry(self, entry_id: str) -> Entry:
        for e in self.entries:
            if e.id == entry_id:
                return e
        raise KeyError(f"no entry '{entry_id}' in database {self.name}")

    def enroll(self, entry_id: str, embeddings: list[list[float]], references: list[str],
               description: str = "enrolled person", policy: str = "remove") -> Entry:
        """Add (or extend) a face entry for a known person."""
        try:
            e = self.entry(entry_id)
            if e.category != "face":
                raise DatabaseError(f"entry '{entry_id}' is a {e.category} entry, only face entries take enrolments")
        except KeyError:
            if not _ID.fullmatch(entry_id):
                raise DatabaseError(f"entry id '{entry_id}' must match {_ID.pattern}") from None
            e = Entry(entry_id, "face", description, policy)
            self.entries.append(e)
        if e.enrolled is None:
            e.enrolled = Enrollment([], [])
        e.enrolled.embeddings.extend([list(map(float, v)) for v in embeddings])
        e.enrolled.references.extend(references)
        return e

    # -- reference photos (biometric data: kept beside the file, owner only) ---------------------
    @property
    def references_dir(self) -> Path:
        """The folder beside the database file that holds its reference photos (``<stem>.references``)."""
        if self.path is None:
            raise DatabaseError(f"database {self.name} has no file yet: save it before adding reference photos")
        return self.path.parent / f"{self.path.stem}.references"

    def add_reference(self, entry_id: str, photo: str | Path) -> str:
        """Copy ``photo`` into :attr:`references_dir` (0700; the copy 0600) and list it under the enrolled
        entry ``entry_id``; returns the stored path (relative to the database's folder). Save the database after
        (or use :meth:`add_references`, which saves and leaves no copy behind when anything fails).

        The photo is checked first (a regular file, not a FIFO, device or folder, opened without blocking; an
        image of at most :data:`~sdr_semcom.images.REFERENCE_MAX_PIXELS` pixels in a file of at most
        :data:`~sdr_semcom.images.REFERENCE_MAX_BYTES`: nothing is copied otherwise), then copied from the same
        open file (a file swapped in after the check is not what is copied). The copy's name ``<entry>-<n><suffix>`` is taken with
        ``O_EXCL``: a name another process took meanwhile is skipped for the next free one (never
        overwritten or removed), and a copy that fails midway is removed.

        Raises
        ------
        DatabaseError
            The entry is not enrolled, the database has no file, or the photo cannot be read or copied.
        """
        from .. import images

        e = self.entry(entry_id)
        if e.enrolled is None:
            raise DatabaseError(f"entry '{entry_id}' is not enrolled: enrol the person before adding reference photos")
        photo = Path(photo)
        try:
            src = images.open_regular(photo)  # one open file, checked then copied: a file swapped meanwhile is not
        except images.ImageError as exc:  # read; a FIFO, a device or a folder is refused, without blocking
            raise DatabaseError(f"reference photo for entry '{entry_id}': {exc}") from None
        with src:
            try:
                images.check_image(photo, images.REFERENCE_MAX_PIXELS, fp=src)
                src.seek(0)
                size = os.fstat(src.fileno()).st_size
            except (images.ImageError, OSError) as exc:
                raise DatabaseError(f"reference photo for entry '{entry_id}': {exc}") from None
            if size > images.REFERENCE_MAX_BYTES:
                raise DatabaseError(f"reference photo for entry '{entry_id}': {photo}: {size / 1e6:.1f} MB, more than "
                                    f"the {images.REFERENCE_MAX_BYTES / 1e6:.1f} MB a reference photo may have")
            return self._copy_reference(e, entry_id, photo, src)

    def _copy_reference(self, e: Entry, entry_id: str, photo: Path, src) -> str:
        """:meth:`add_reference`'s copy of the open, checked photo ``src`` under a free name (``O_EXCL``)."""
        from .. import images

        folder = self.references_dir
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            os.chmod(folder, 0o700)
        except OSError as exc:  # e.g. a file where the folder goes
            raise DatabaseError(f"reference photo {photo} for entry '{entry_id}': cannot make the folder {folder} "
                                f"({exc.strerror or exc})") from exc
        n = len(e.enrolled.references) + 1
        for _ in range(_NAME_TRIES):
            dest = folder / f"{entry_id}-{n}{photo.suffix.lower()}"
            try:
                fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # taken (by an earlier photo, or by another process just now): the next one
                n += 1
                continue
            except OSError as exc:
                raise DatabaseError(f"reference photo {photo} for entry '{entry_id}': cannot create {dest} "
                                    f"({exc.strerror or exc})") from exc
            break
        else:
            raise DatabaseError(f"reference photo {photo} for entry '{entry_id}': no free name in {folder} after "
                                f"{_NAME_TRIES} tries")
        try:  # the name is ours from here: a failed copy removes it
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(_Bounded(src, images.REFERENCE_MAX_BYTES), out)  # a file growing meanwhile too
        except BaseException as exc:
            dest.unlink(missing_ok=True)
            if not isinstance(exc, OSError):
                raise
            raise DatabaseError(f"reference photo {photo} for entry '{entry_id}': cannot copy "
                                f"({exc.strerror or exc})") from exc
        rel = dest.relative_to(self.path.parent).as_posix()
        e.enrolled.references.append(rel)
        return rel

    def add_references(self, entry_id: str, photos: list[str | Path]) -> list[str]:
        """:meth:`add_reference` for each photo, then :meth:`save`: all or nothing. When a photo cannot be copied
        or the file cannot be written, the copies made here are removed and unlisted (and the references folder,
        when this call made it and it is left empty), and the error raised: no photo is left behind unlisted.

        Output
        ------
        list of str
            The stored paths (relative to the database's folder).
        """
        folder = self.references_dir
        existed = folder.exists()
        e = self.entry(entry_id)
        listed = list(e.enrolled.references) if e.enrolled is not None else None
        added: list[str] = []
        try:
            for p in photos:
                added.append(self.add_reference(entry_id, p))
            try:
                self.save()
            except OSError as exc:
                raise DatabaseError(f"{self.path}: cannot write the database ({exc.strerror or exc}); "
                                    f"the {len(added)} reference photo(s) copied for entry '{entry_id}' were "
                                    "removed") from exc
        except BaseException:
            for rel in added:
                (self.path.parent / rel).unlink(missing_ok=True)
            if e.enrolled is not None and listed is not None:
                e.enrolled.references[:] = listed
            if not existed and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
            raise
        return added

    def unlisted_references(self) -> list[Path]:
        """The files in :attr:`references_dir` that no entry lists (sorted; none without a path or a folder): what
        an enrolment cut between copying a photo and saving the database leaves. :meth:`load` warns naming them."""
        if self.path is None or not self.references_dir.is_dir():
            return []
        base = self.path.parent
        listed = {os.path.normpath(Path(r) if Path(r).is_absolute() else base / r)
                  for e in self.entries if e.enrolled is not None for r in e.enrolled.references}
        try:
            return sorted(p for p in self.references_dir.iterdir() if os.path.normpath(p) not in listed)
        except OSError:  # unreadable folder: reference_photos says so when a listed photo is needed
            return []

    def reference_photos(self) -> dict[str, list[Path]]:
        """``entry id -> reference photo files`` of the enrolled entries that list some, resolved against the
        database's folder (what :func:`~sdr_semcom.generative.receiver.receiver_inpainter` gives the
        authorized receiver).

        Raises
        ------
        DatabaseError
            A listed photo is missing or unreadable (names the entry, the listed name and the file).
        """
        base = self.path.parent if self.path is not None else Path.cwd()
        out: dict[str, list[Path]] = {}
        for e in self.entries:
            if e.enrolled is None or not e.enrolled.references:
                continue
            paths = []
            for ref in e.enrolled.references:
                p = Path(ref) if Path(ref).is_absolute() else base / ref
                if not p.is_file() or not os.access(p, os.R_OK):
                    why = "not found" if not p.exists() else "not a readable file"
                    raise DatabaseError(f"{self.path or self.name}: entry '{e.id}': reference photo {ref!r} ({p}) is "
                                        f"{why}: copy it back, or re-enrol with `sdr-semcom db enroll --reference`")
                if stat.S_IMODE(p.stat().st_mode) & 0o077:  # biometric data, like the file's secret: warn
                    log.warning("%s: entry '%s': reference photo %s is readable by group or others (mode %04o): "
                                "run `chmod 600 %s`", self.path or self.name, e.id, p,
                                stat.S_IMODE(p.stat().st_mode), p)
                paths.append(p)
            out[e.id] = paths
        return out


class _Bounded:
    """A binary file read through at most ``limit`` bytes: one more is an ``OSError`` (the copy is removed)."""

    def __init__(self, f, limit: int) -> None:
        self.f, self.left, self.limit = f, limit, limit

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(self.left + 1 if n is None or n < 0 else min(n, self.left + 1))
        self.left -= len(data)
        if self.left < 0:
            raise OSError(f"the file grew past {self.limit / 1e6:.1f} MB while it was copied")
        return data


def _line(node, *keys) -> int:
    """1-based line of the YAML node reached by ``keys`` (str for mappings, int for sequences)."""
    cur = node
    for k in keys:
        nxt = None
        if isinstance(cur, yaml.MappingNode):
            for kn, vn in cur.value:
                if kn.value == k:
                    nxt = vn
                    break
        elif isinstance(cur, yaml.SequenceNode) and isinstance(k, int) and k < len(cur.value):
            nxt = cur.value[k]
        if nxt is None:
            break
        cur = nxt
    return (cur.start_mark.line + 1) if cur is not None else 1


def _validate(data, node, path: Path) -> PrivacyDatabase:
    def fail(msg: str, *keys) -> None:
        field_name = ".".join(f"[{k}]" if isinstance(k, int) else str(k) for k in keys).replace(".[", "[")
        raise DatabaseError(f"{path}:{_line(node, *keys)}: {field_name or 'document'}: {msg}")

    if not isinstance(data, dict):
        fail("expected a mapping with version, secret and entries")
    known = {"version", "name", "secret", "threshold", "entries"}
    for k in data:
        if k not in known:
            fail(f"unknown field (known: {', '.join(sorted(known))})", k)
    if data.get("version") != VERSION:
        fail(f"must be {VERSION}, got {data.get('version')!r}", "version")
    secret = data.get("secret")
    if not isinstance(secret, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", secret):
        fail("must be 64 hexadecimal digits (32 bytes)", "secret")
    threshold = data.get("threshold", 0.5)
    if not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        fail("must be a number between 0 and 1", "threshold")
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, list) or not raw_entries:
        fail("must be a non-empty list", "entries")
    entries, seen = [], set()
    for i, e in enumerate(raw_entries):
        if not isinstance(e, dict):
            fail("must be a mapping", "entries", i)
        for k in e:
            if k not in ("id", "category", "description", "policy", "enrolled"):
                fail("unknown field", "entries", i, k)
        eid = e.get("id")
        if not isinstance(eid, str) or not _ID.fullmatch(eid):
            fail(f"must match {_ID.pattern}", "entries", i, "id")
        if eid in seen:
            fail(f"duplicate id '{eid}'", "entries", i, "id")
        seen.add(eid)
        if e.get("category") not in CATEGORIES:
            fail(f"must be one of {', '.join(CATEGORIES)}", "entries", i, "category")
        if not isinstance(e.get("description"), str) or not e["description"].strip():
            fail("must be a non-empty string", "entries", i, "description")
        if e.get("policy", "remove") not in POLICIES:
            fail(f"must be one of {', '.join(POLICIES)}", "entries", i, "policy")
        enrolled = None
        if "enrolled" in e:
            en = e["enrolled"]
            if e["category"] != "face":
                fail("only face entries can enrol a person", "entries", i, "enrolled")
            embs = en.get("embeddings") if isinstance(en, dict) else None
            if not isinstance(embs, list) or not embs or not all(
                isinstance(v, list) and len(v) == 128 and all(isinstance(x, (int, float)) for x in v) for v in embs
            ):
                fail("embeddings must be a non-empty list of 128-number lists (SFace features)",
                     "entries", i, "enrolled")
            enrolled = Enrollment([list(map(float, v)) for v in embs], list(en.get("references", [])))
        entries.append(Entry(eid, e["category"], e["description"].strip(), e.get("policy", "remove"), enrolled))
    return PrivacyDatabase(entries, bytes.fromhex(secret), str(data.get("name", path.stem)), float(threshold), path)
