"""LDPC forward error correction on gr-fec's parity-check matrices.

The parity-check matrices are GNU Radio's own (``gr-fec`` ships them as alist
files under ``share/gnuradio/fec/ldpc``); copies live in ``codes/`` so that a
link's code cannot change under it when GNU Radio is upgraded.  Encoding uses a
systematic generator derived once by GF(2) elimination (parity = XOR of packed
generator columns); decoding is layered normalised min-sum belief propagation
with early stopping per codeword.  Both loops are compiled
(:mod:`sdr_semcom.phy.kernels.ldpc`).

LLR convention everywhere in :mod:`sdr_semcom.phy`: ``llr = log P(b=0)/P(b=1)``,
positive means bit 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import kernels
from .kernels import LdpcTables

CODES_DIR = Path(__file__).with_name("codes")
#: LLR magnitude used for bits the receiver knows (shortened / padding bits).
KNOWN_LLR = 1.0e3
#: dtype of the index tables the compiled kernels gather with: unsigned, so that numba does not
#: check every access for a negative (wraparound) index (measured: the receiver 8 % faster).
INDEX = np.uint32


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
    def tables(self) -> LdpcTables:
        """Encoder and decoder tables (parity-check matrix in CSR form, generator columns)."""
        return _tables(self.name)

    @property
    def n(self) -> int:
        return self.tables.n

    @property
    def k(self) -> int:
        return self.tables.k

    @property
    def info_cols(self) -> np.ndarray:
        return self.tables.info_cols

    def encode(self, info: np.ndarray) -> np.ndarray:
        """Encode information bits.

        Input
        -----
        info : ``(batch, k)`` or ``(k,)`` array of 0/1

        Output
        ------
        ``(batch, n)`` or ``(n,)`` uint8 codewords
        """
        t = self.tables
        u = np.atleast_2d(np.asarray(info, dtype=np.uint8))
        if u.shape[1] != t.k:
            raise ValueError(f"LDPC {self.name}: expected {t.k} info bits, got {u.shape[1]}")
        code = kernels.ldpc_encode(np.ascontiguousarray(u), t)
        return code if np.ndim(info) == 2 else code[0]

    def decode(self, llr: np.ndarray, max_iter: int = 40, alpha: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
        """Layered normalised min-sum decoding (each codeword stops once its checks hold).

        Input
        -----
        llr : ``(batch, n)`` or ``(n,)`` float channel LLRs (positive = bit 0)

        Output
        ------
        info : ``(batch, k)`` uint8 decoded information bits
        ok : ``(batch,)`` bool, True where every parity check is satisfied
        """
        t = self.tables
        ch = np.atleast_2d(np.asarray(llr, dtype=np.float64))
        if ch.shape[1] != t.n:
            raise ValueError(f"LDPC {self.name}: expected {t.n} LLRs, got {ch.shape[1]}")
        hard, ok = kernels.ldpc_decode(np.ascontiguousarray(ch), t.graph, max_iter, alpha, KNOWN_LLR)
        info = hard[:, t.info_cols]
        if np.ndim(llr) == 1:
            return info[0], ok[:1]
        return info, ok


@lru_cache(maxsize=None)
def _tables(name: str) -> LdpcTables:
    """The tables of code ``name`` (:class:`~sdr_semcom.phy.kernels.LdpcTables`, what the kernels take)."""
    path = CODES_DIR / f"{name}.alist"
    if not path.exists():
        raise FileNotFoundError(f"LDPC code '{name}' not found: expected {path}")
    h = read_alist(path)
    a, info_cols, parity_cols = _systematic_form(h)
    rows, cols = np.nonzero(h)  # row-major order: CSR
    row_ptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=h.shape[0]))])
    degree = np.diff(row_ptr)
    if degree.max() > 64:
        raise ValueError(f"{path}: check degree above 64 is not supported")
    checks = np.full((h.shape[0], degree.max()), h.shape[1], np.int64)  # fixed-width rows: faster syndrome
    checks[rows, np.arange(rows.size) - row_ptr[rows]] = cols
    words = -(-a.shape[0] // 64)
    bits = np.zeros((a.shape[1], words * 64), np.uint8)
    bits[:, : a.shape[0]] = a.T
    a_packed = np.packbits(bits.reshape(a.shape[1], words, 64)[:, :, ::-1], axis=2, bitorder="big")
    return LdpcTables(
        n=h.shape[1],
        k=info_cols.size,
        a_packed=np.ascontiguousarray(a_packed.view(">u8").reshape(a.shape[1], words).astype(np.uint64)),
        info_cols=info_cols.astype(INDEX),
        parity_cols=parity_cols.astype(INDEX),
        row_ptr=row_ptr.astype(np.int64),
        col_idx=cols.astype(INDEX),
        checks=checks.astype(INDEX),
    )


#: The data code: rate ~1/2, n=1800, k=902 (gr-fec ``n_1800_k_0902_gap_28``).
DATA_CODE = LdpcCode("n_1800_k_0902_gap_28")
#: The signal-field code: n=100, k=42 (gr-fec ``n_0100_k_0042_gap_02``).
SIG_CODE = LdpcCode("n_0100_k_0042_gap_02")
