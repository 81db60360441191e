"""What a receiver does once its samples have been received: shared by ``rx`` (live, over ZeroMQ) and
``decode`` (a SigMF recording), so that both write the same images and the same ``report.json``.

:func:`receiver_stage` builds the generative stage before anything is received (a missing model
fails at once); :func:`write_reception` decodes the messages a :class:`LinkReceiver` collected
(``semantic``: :class:`~sdr_semcom.pipeline.SemanticReceiver`, then the fill; ``raw``: the
messages as files), writes them and the report into ``out`` and returns the summary line.
"""

from __future__ import annotations

from pathlib import Path

from .link.endpoints import LinkReceiver
from .report import rx_line, save_items, save_received, write_json

PAYLOADS = ("semantic", "raw")


def receiver_stage(role: str, payload: str, generator: str = "auto", generator_dir: str | Path | None = None,
                   db_path: str | Path | None = None):
    """The generative stage of a ``role`` receiver (``generative.receiver_inpainter``); None for ``raw``.

    ``db_path``: the authorized receiver's database, whose enrolled persons' reference photos it
    restores from (never the eavesdropper's).

    Raises
    ------
    ValueError
        ``payload`` is not one of :data:`PAYLOADS`, or an eavesdropper given a database.
    DatabaseError
        The database, or a reference photo it lists, cannot be read.
    GeneratorError
        A generator whose model is missing.
    """
    if payload not in PAYLOADS:
        raise ValueError(f"payload must be one of {PAYLOADS}, got {payload!r}")
    if payload == "raw":
        return None
    from .generative import receiver_inpainter
    from .privacy import PrivacyDatabase

    return receiver_inpainter(role, generator, generator_dir, PrivacyDatabase.load(db_path) if db_path else None)


def write_reception(receiver: LinkReceiver, report: dict, role: str, out: Path, mtu: int, inpainter=None,
                    db_path: str | Path | None = None, strict: bool = False) -> str:
    """Decode, fill and write what ``receiver`` got; writes ``out/report.json`` (``report`` with the
    images' rows) and returns the receiver's summary line (:func:`~sdr_semcom.report.rx_line`).

    Parameters
    ----------
    receiver : LinkReceiver
        Finished (:meth:`LinkReceiver.finish`): its messages are decoded.
    report : dict
        Its report (:meth:`LinkReceiver.report` and what the caller adds); ``images`` or
        ``messages`` (raw payload) are added.
    role : str
        ``auth`` or ``eve`` (the fill's policy; the eavesdropper's never reads a database).
    out : Path
        Where the images and ``report.json`` go.
    mtu : int
        The link's fragment size (raw images are cut at it).
    inpainter : Inpainter or None
        From :func:`receiver_stage`; None: the raw payload (messages written as files).
    db_path : path or None
        The authorized receiver's database (never the eavesdropper's).
    strict : bool
        Raise :class:`~sdr_semcom.pipeline.KeyCheckError` (after writing everything) when the
        transmitter's key or database differs.
    """
    if inpainter is None:
        report["messages"] = save_received(receiver, out, mtu)
    else:
        from .generative import fill_item
        from .pipeline import KeyCheckError, SemanticReceiver
        from .semantic.weights import load_codec

        db = None
        if db_path:
            from .privacy import PrivacyDatabase

            db = PrivacyDatabase.load(db_path)
        untrusted = None
        try:
            items = SemanticReceiver(load_codec(), db=db, strict=strict).decode(receiver.messages)
        except KeyCheckError as exc:  # strict: write what arrived, then fail
            items, untrusted = exc.items, exc
            report["key_check_failed"] = str(exc)
        report["images"] = save_items(items, out, {it.index: fill_item(it, role, inpainter, db) for it in items})
        if untrusted is not None:
            write_json(out / "report.json", report)
            raise untrusted
    write_json(out / "report.json", report)
    return rx_line(role, report, out)
