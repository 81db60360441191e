"""Receiver side: which database entry a received text embedding speaks of."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .database import PrivacyDatabase
from .descriptions import candidate_descriptions
from .text_encoder import text_encoder


@dataclass(frozen=True)
class Match:
    entry_id: str | None  # None when no entry reaches the database's threshold
    score: float  # cosine with the best candidate text
    text: str  # that candidate: what the transmitter most likely said
    runner_up: str | None


class Aligner:
    """Nearest database entry (and description) to a received embedding.

    Each entry is represented by its own text and by every description the guard can produce
    for it (:func:`sdr_semcom.privacy.descriptions.candidate_descriptions`), embedded once.

    Parameters
    ----------
    db : PrivacyDatabase
        The receiver's copy of the database.
    encoder : callable, optional
        Texts -> unit vectors; default the process-wide MiniLM encoder.

    Input
    -----
    :meth:`match` takes a unit 384-d vector.

    Output
    ------
    :class:`Match`.
    """

    def __init__(self, db: PrivacyDatabase, encoder=None) -> None:
        self.db = db
        self.ids, self.texts = [], []
        for e in db.entries:
            for t in [e.text, *candidate_descriptions(e)]:
                self.ids.append(e.id)
                self.texts.append(t)
        self._emb = (encoder or text_encoder())(self.texts)

    def match(self, vector: np.ndarray) -> Match:
        sims = self._emb @ np.asarray(vector, np.float32)
        order = np.argsort(-sims)
        best = int(order[0])
        runner = next((self.ids[i] for i in order if self.ids[i] != self.ids[best]), None)
        score = float(sims[best])
        return Match(self.ids[best] if score >= self.db.threshold else None, score, self.texts[best], runner)
