"""Receiver side: which database entry a received text embedding speaks of."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .database import PrivacyDatabase
from .descriptions import SEP, appearance_groups, appearance_vector, appearance_vocabulary, candidate_descriptions
from .text_encoder import text_encoder


@dataclass(frozen=True)
class Match:
    entry_id: str | None  # None when no entry reaches the database's threshold
    score: float  # cosine with the best candidate text
    text: str  # that candidate: what the transmitter most likely said
    runner_up: str | None


@lru_cache(maxsize=16)
def _appearance_vectors(encoder, category: str) -> tuple[list[str], np.ndarray]:
    """Every appearance phrase of ``category`` and its vector (built from its words' vectors)."""
    words = sorted({w for g in appearance_groups(category) for w in g})
    vec = dict(zip(words, np.asarray(encoder(words), np.float32)))
    phrases = appearance_vocabulary(category)
    return phrases, np.stack([appearance_vector(p, vec) for p in phrases])


class Aligner:
    """Nearest database entry (and description) to a received embedding.

    Each entry is represented by its own text, by every alignment phrase the guard can produce for
    it (:func:`sdr_semcom.privacy.descriptions.candidate_descriptions`), and by every pair of such a
    phrase with an appearance phrase of the entry's category
    (:func:`~sdr_semcom.privacy.descriptions.appearance_vocabulary`), scored as the guard builds the
    vector (:func:`~sdr_semcom.privacy.descriptions.combine`): ``cos(v, a + p) = (v.a + v.p) / |a + p|``,
    from the parts' vectors only (27 phrases per entry and ~20 appearance words per category embedded).

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
    :class:`Match`: ``text`` is the full description (alignment phrase ``"; "`` appearance words)
    when a pair scores best.
    """

    def __init__(self, db: PrivacyDatabase, encoder=None) -> None:
        self.db = db
        enc = encoder or text_encoder()
        self.ids, self.texts = [], []
        phrase_rows: dict[str, list[int]] = {}
        for e in db.entries:
            for t in [e.text, *candidate_descriptions(e)]:
                if t != e.text:
                    phrase_rows.setdefault(e.id, []).append(len(self.texts))
                self.ids.append(e.id)
                self.texts.append(t)
        self._emb = enc(self.texts)
        # per entry: its phrases' rows, its category's appearance words + vectors, and |a + p| for every pair
        self._pairs = []
        for e in db.entries:
            rows = np.array(phrase_rows.get(e.id, []), int)
            words, app = _appearance_vectors(enc, e.category)
            if len(rows) and len(words):
                norm = np.sqrt(np.maximum(2 + 2 * self._emb[rows] @ app.T, 1e-12))
                self._pairs.append((e.id, rows, words, app, norm))

    def match(self, vector: np.ndarray) -> Match:
        v = np.asarray(vector, np.float32)
        sims = self._emb @ v
        cands = [(float(s), self.ids[i], self.texts[i]) for i, s in enumerate(sims)]
        for eid, rows, words, app, norm in self._pairs:
            pair = (sims[rows][:, None] + (app @ v)[None, :]) / norm
            i, j = np.unravel_index(int(np.argmax(pair)), pair.shape)
            cands.append((float(pair[i, j]), eid, f"{self.texts[rows[i]]}{SEP}{words[j]}"))
            # the entry's best plain phrase already competes through sims
        score, best_id, text = max(cands, key=lambda t: t[0])
        runner = next((c[1] for c in sorted(cands, key=lambda t: -t[0]) if c[1] != best_id), None)
        return Match(best_id if score >= self.db.threshold else None, score, text, runner)
