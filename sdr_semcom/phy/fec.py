"""LDPC forward error correction on gr-fec's parity-check matrices.

The parity-check matrices are GNU Radio's own (``gr-fec`` ships them as alist
files under ``share/gnuradio/fec/ldpc``); copies live in ``codes/`` so that a
link's code cannot change under it when GNU Radio is upgraded.  Encoding uses a
systematic generator derived once by GF(2) elimination; decoding is a
normalised min-sum belief-propagation decoder, vectorised with numpy over a
batch of codewords (no per-bit Python loop).

LLR convention everywhere in :mod:`sdr_semcom.phy`: ``llr = log P(b=0)/P(b=1)``,
positive means bit 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

CODES_DIR = Path(__file__).with_name("codes")
#: LLR magnitude used for bits the receiver knows (shortened / padding bits).
KNOWN_LLR = 1.0e3


def read_alist(path: Path) -> np.ndarray:
    """Read an alist file into a dense ``(m, n)`` uint8 parity-check matrix.

    Raises
    ------
    ValueError
        If the file does not follow the alist layout.
    """
    try:
        rows = [list(map(int, line.split())) for line in Path(path).read_text().splitlines() if line.strip()]
        n, m = rows[0][:2]
        col_lists = rows[4 : 4 + n]
        if len(col_lists) != n:
            raise ValueError(f"expected {n} column lines, found {len(col_lists)}")
        h = np.zeros((m, n), dtype=np.uint8)
        for j, entries in enumerate(col_lists):
            for r in entries:
                if r > 0:
                    h[r - 1, j] = 1
    except (IndexError, ValueError) as exc:
        raise ValueError(f"{path}: not a valid alist file ({exc})") from exc
    return h


def _systematic_form(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reduce H over GF(2) to ``[A | I]`` up to a column permutation.

    Returns ``(a, info_cols, parity_cols)`` such that for any info vector u the
    codeword ``c[info_cols] = u, c[parity_cols] = a @ u mod 2`` satisfies H c = 0.
    """
    m, n = h.shape
    work = h.copy()
    pivot_cols: list[int] = []
    row = 0
    for col in range(n):
        if row == m:
            break
        candidates = np.nonzero(work[row:, col])[0]
        if candidates.size == 0:
            continue
        pivot = row + candidates[0]
        if pivot != row:
            work[[row, pivot]] = work[[pivot, row]]
        others = np.nonzero(work[:, col])[0]
        others = others[others != row]
        work[others] ^= work[row]
        pivot_cols.append(col)
        row += 1
    rank = row
    parity_cols = np.array(pivot_cols)
    info_cols = np.setdiff1d(np.arange(n), parity_cols)
    a = work[:rank][:, info_cols]
    return a, info_cols, parity_cols


@dataclass(frozen=True)
class LdpcCode:
    """A binary LDPC code with encoder and min-sum decoder.

    Parameters
    ----------
    name : str
        Name of an alist file in ``sdr_semcom/phy/codes`` (without ``.alist``).

    Attributes
    ----------
    n, k : int
        Codeword and information lengths in bits.
    """

    name: str

    @property
    def _tables(self) -> "_Tables":
        return _tables(self.name)

    @property
    def n(self) -> int:
        return self._tables.n

    @property
    def k(self) -> int:
        return self._tables.k

    @property
    def info_cols(self) -> np.ndarray:
        return self._tables.info_cols

    def encode(self, info: np.ndarray) -> np.ndarray:
        """Encode information bits.

        Input
        -----
        info : ``(batch, k)`` or ``(k,)`` array of 0/1

        Output
        ------
        ``(batch, n)`` or ``(n,)`` uint8 codewords
        """
        t = self._tables
        u = np.atleast_2d(np.asarray(info, dtype=np.uint8))
        if u.shape[1] != t.k:
            raise ValueError(f"LDPC {self.name}: expected {t.k} info bits, got {u.shape[1]}")
        code = np.zeros((u.shape[0], t.n), dtype=np.uint8)
        code[:, t.info_cols] = u
        parity = (u.astype(np.float32) @ t.a_t) % 2
        code[:, t.parity_cols] = parity.astype(np.uint8)
        return code if np.ndim(info) == 2 else code[0]

    def decode(self, llr: np.ndarray, max_iter: int = 40, alpha: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
        """Normalised min-sum decoding.

        Input
        -----
        llr : ``(batch, n)`` or ``(n,)`` float channel LLRs (positive = bit 0)

        Output
        ------
        info : ``(batch, k)`` uint8 decoded information bits
        ok : ``(batch,)`` bool, True where every parity check is satisfied
        """
        t = self._tables
        ch = np.atleast_2d(np.asarray(llr, dtype=np.float32))
        batch = ch.shape[0]
        if ch.shape[1] != t.n:
            raise ValueError(f"LDPC {self.name}: expected {t.n} LLRs, got {ch.shape[1]}")
        ch = np.clip(ch, -KNOWN_LLR, KNOWN_LLR)
        # one extra "dummy" variable (index n) that is a sure 0, for padded check slots
        ch_ext = np.concatenate([ch, np.full((batch, 1), KNOWN_LLR, np.float32)], axis=1)
        r_msg = np.zeros((batch, t.m, t.dc), np.float32)
        total = ch_ext
        hard = (total < 0).astype(np.uint8)
        ok = ~np.any(np.bitwise_xor.reduce(hard[:, t.edge_var], axis=2), axis=1)
        for _ in range(max_iter if not ok.all() else 0):
            q = total[:, t.edge_var] - r_msg  # variable -> check
            sign = np.where(q < 0, -1.0, 1.0).astype(np.float32)
            mag = np.abs(q)
            sign_prod = np.prod(sign, axis=2, keepdims=True)
            idx1 = np.argmin(mag, axis=2)[..., None]
            min1 = np.take_along_axis(mag, idx1, axis=2)
            np.put_along_axis(mag, idx1, np.inf, axis=2)
            min2 = np.min(mag, axis=2, keepdims=True)
            out_mag = np.broadcast_to(min1, mag.shape).copy()
            np.put_along_axis(out_mag, idx1, min2, axis=2)
            r_msg = alpha * sign_prod * sign * out_mag
            r_flat = np.concatenate([r_msg.reshape(batch, -1), np.zeros((batch, 1), np.float32)], axis=1)
            total = ch_ext.copy()
            total[:, : t.n] += r_flat[:, t.var_edges].sum(axis=2)
            hard = (total < 0).astype(np.uint8)
            ok = ~np.any(np.bitwise_xor.reduce(hard[:, t.edge_var], axis=2), axis=1)
            if ok.all():
                break
        hard = (total[:, : t.n] < 0).astype(np.uint8)
        info = hard[:, t.info_cols]
        if np.ndim(llr) == 1:
            return info[0], ok[:1]
        return info, ok


@dataclass(frozen=True)
class _Tables:
    n: int
    k: int
    m: int
    dc: int
    a_t: np.ndarray  # (k, rank) float32, parity = u @ a_t mod 2
    info_cols: np.ndarray
    parity_cols: np.ndarray
    edge_var: np.ndarray  # (m, dc) variable index per check slot, n for padding
    var_edges: np.ndarray  # (n, dv) flat edge index per variable slot, m*dc for padding


@lru_cache(maxsize=None)
def _tables(name: str) -> _Tables:
    path = CODES_DIR / f"{name}.alist"
    if not path.exists():
        raise FileNotFoundError(f"LDPC code '{name}' not found: expected {path}")
    h = read_alist(path)
    m, n = h.shape
    a, info_cols, parity_cols = _systematic_form(h)
    dc = int(h.sum(axis=1).max())
    edge_var = np.full((m, dc), n, dtype=np.int64)
    for i in range(m):
        cols = np.nonzero(h[i])[0]
        edge_var[i, : cols.size] = cols
    dv = int(h.sum(axis=0).max())
    var_edges = np.full((n, dv), m * dc, dtype=np.int64)
    fill = np.zeros(n, dtype=np.int64)
    for flat, v in enumerate(edge_var.ravel()):
        if v < n:
            var_edges[v, fill[v]] = flat
            fill[v] += 1
    return _Tables(
        n=n,
        k=info_cols.size,
        m=m,
        dc=dc,
        a_t=np.ascontiguousarray(a.T.astype(np.float32)),
        info_cols=info_cols,
        parity_cols=parity_cols,
        edge_var=edge_var,
        var_edges=var_edges,
    )


#: The data code: rate ~1/2, n=1800, k=902 (gr-fec ``n_1800_k_0902_gap_28``).
DATA_CODE = LdpcCode("n_1800_k_0902_gap_28")
#: The signal-field code: n=100, k=42 (gr-fec ``n_0100_k_0042_gap_02``).
SIG_CODE = LdpcCode("n_0100_k_0042_gap_02")
