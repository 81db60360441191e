"""Bytes <-> GNU Radio PDUs (a pair of metadata dict and u8 vector)."""

from __future__ import annotations

import pmt


def pdu_bytes(msg) -> bytes:
    """The payload of a u8 PDU."""
    return bytes(pmt.u8vector_elements(pmt.cdr(msg)))


def to_pdu(data: bytes, meta: dict | None = None):
    """A u8 PDU carrying ``data`` (metadata NIL when there is none)."""
    car = pmt.to_pmt(meta) if meta else pmt.PMT_NIL
    return pmt.cons(car, pmt.init_u8vector(len(data), list(data)))
