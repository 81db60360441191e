"""Block-DCT transform coding on 16x16 macroblocks (MCUs), the pixel side of ``DctCodec``.

JPEG's colour space and transform: full-range YCbCr, chroma averaged 2x2 (4:2:0), 8x8
orthonormal DCT-II of each block, uniform quantisation by steps derived from the Annex K
tables (:data:`LUMA_STEPS`, :data:`CHROMA_STEPS`) times a scale.
An MCU (16x16 pixels) is six blocks: four luma (raster order) then Cb, then Cr. Everything
here is numpy; decoding the blocks that arrived back to pixels leaves the MCUs that did not
arrive at 0 with a 0 in the mask.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import sparse
from scipy.fft import dctn, idctn
from scipy.sparse.linalg import splu

MCU = 16
BLOCKS_PER_MCU = 6
CHANNEL_OF_BLOCK = np.array([0, 0, 0, 0, 1, 2], np.int64)  # Y Y Y Y Cb Cr

LUMA_TABLE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.float64).reshape(8, 8)
CHROMA_TABLE = np.full((8, 8), 99.0)
CHROMA_TABLE[:4, :4] = np.array([[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]])



def _flatten(table: np.ndarray, gamma: float) -> np.ndarray:
    m = table.mean()
    return m * (table / m) ** gamma


#: Quantiser steps at scale 1. JPEG's tables are tuned for the eye; for PSNR (what this link
#: is measured by) flatter steps and finer chroma do better: Annex K flattened with exponent
#: 0.2, chroma at 0.4x, chosen on the training images (+0.8 dB there at the same bytes).
def _steps(gamma: float, chroma: float) -> tuple[np.ndarray, np.ndarray]:
    luma = _flatten(LUMA_TABLE, gamma)
    return luma, _flatten(CHROMA_TABLE, gamma) * chroma * LUMA_TABLE.mean() / luma.mean()


#: The table sets (flatness exponent, chroma ratio) an image may be coded with; the encoder of
#: codec v4 picks one per image (rate-distortion choice) and the header says which (see
#: :class:`.codec.DctCodec`). Set 0 is the default above; 1 and 2 are flatter, 1 with finer chroma.
TABLE_SETS = ((0.2, 0.4), (0.1, 0.3), (0.1, 0.4))
_STEPS = [_steps(*t) for t in TABLE_SETS]
LUMA_STEPS, CHROMA_STEPS = _STEPS[0]
DEADZONE = 0.1  # AC coefficients round toward 0 by this much more: fewer isolated +-1s

_ZZ = sorted(((i, j) for i in range(8) for j in range(8)),
             key=lambda p: (p[0] + p[1], p[0] if (p[0] + p[1]) % 2 else p[1]))
ZIGZAG = np.array([i * 8 + j for i, j in _ZZ])  # zig-zag position -> row-major index
UNZIGZAG = np.argsort(ZIGZAG)
_UV = np.arange(8)
#: the orthonormal 8-point DCT-II matrix: ``coefs = DCT_BASIS @ x @ DCT_BASIS.T``
DCT_BASIS = np.sqrt(np.where(_UV[:, None] == 0, 1 / 8, 2 / 8)) * np.cos(np.pi * (2 * _UV[None, :] + 1) * _UV[:, None] / 16)


def quant_tables(scale: float, tables: int = 0) -> np.ndarray:
    """(6, 64) quantiser steps in zig-zag order, one row per block of an MCU, of table set ``tables``
    (an index into :data:`TABLE_SETS`)."""
    tabs = [np.clip(np.round(t * scale), 1, 255).ravel()[ZIGZAG] for t in _STEPS[tables]]
    return np.stack([tabs[0]] * 4 + [tabs[1]] * 2)


def rgb_to_ycc(rgb: np.ndarray) -> np.ndarray:
    x = rgb.astype(np.float64)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    return np.stack([0.299 * r + 0.587 * g + 0.114 * b,
                     -0.168736 * r - 0.331264 * g + 0.5 * b + 128,
                     0.5 * r - 0.418688 * g - 0.081312 * b + 128], axis=-1)


def ycc_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """(..., 3) float YCbCr -> float RGB (not clipped)."""
    y, cb, cr = ycc[..., 0], ycc[..., 1] - 128, ycc[..., 2] - 128
    return np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], axis=-1)


def padded_shape(h: int, w: int) -> tuple[int, int]:
    return -(-h // MCU) * MCU, -(-w // MCU) * MCU


def forward(rgb: np.ndarray, fit_chroma: bool = False) -> np.ndarray:
    """RGB uint8 (H, W, 3), H and W multiples of 16 -> DCT coefficients (MCUs, 6, 64), zig-zag.
    Chroma at half resolution: the 2 x 2 means, or with ``fit_chroma`` (an encoder's choice, the
    decoder is the same) the samples whose upsampling by the decoder (:func:`_upsample2`) is nearest
    the full-resolution chroma in squared error (:func:`fitted_chroma`)."""
    h, w = rgb.shape[:2]
    r, c = h // MCU, w // MCU
    ycc = rgb_to_ycc(rgb) - 128
    y = ycc[..., 0].reshape(r, 2, 8, c, 2, 8).transpose(0, 3, 1, 4, 2, 5).reshape(r * c, 4, 8, 8)
    if fit_chroma:
        chroma = np.stack([fitted_chroma(ycc[..., i]) for i in (1, 2)], axis=-1).reshape(r, 8, c, 8, 2)
    else:
        chroma = ycc[..., 1:].reshape(r, 8, 2, c, 8, 2, 2).mean(axis=(2, 5))  # (r, 8, c, 8, 2)
    chroma = chroma.transpose(0, 2, 4, 1, 3).reshape(r * c, 2, 8, 8)
    blocks = np.concatenate([y, chroma], axis=1)
    return dctn(blocks, axes=(-2, -1), norm="ortho").reshape(r * c, BLOCKS_PER_MCU, 64)[..., ZIGZAG]


def quantise(coefs: np.ndarray, scale: float, tables: int = 0, deadzone: float = DEADZONE) -> np.ndarray:
    """Coefficients (..., 6, 64) -> quantised integers (DC rounded, AC with a dead zone of
    ``deadzone`` steps, an encoder's choice) by table set ``tables``."""
    rounding = np.full(64, 0.5 - deadzone)
    rounding[0] = 0.5
    x = np.abs(coefs)
    x *= 1.0 / quant_tables(scale, tables)
    x += rounding
    np.floor(x, out=x)
    return np.copysign(x, coefs).astype(np.int32)


def inverse(q: np.ndarray, scale: float, received: np.ndarray, shape: tuple[int, int],
            tables: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Quantised coefficients (MCUs, 6, 64) of table set ``tables`` -> (YCbCr float (H, W, 3) with chroma upsampled,
    MCU mask (H, W) float: 1 where the MCU arrived). MCUs not received are 0 in all three planes."""
    h, w = shape
    r, c = h // MCU, w // MCU
    deq = (q * quant_tables(scale, tables))[..., UNZIGZAG].reshape(r * c, BLOCKS_PER_MCU, 8, 8)
    pix = idctn(deq, axes=(-2, -1), norm="ortho") + 128
    pix[~received] = 0
    y = pix[:, :4].reshape(r, c, 2, 2, 8, 8).transpose(0, 2, 4, 1, 3, 5).reshape(h, w)
    chroma = pix[:, 4:].reshape(r, c, 2, 8, 8).transpose(2, 0, 3, 1, 4).reshape(2, h // 2, w // 2)
    up = np.stack([_upsample2(ch) for ch in chroma], axis=-1)
    mask = np.repeat(np.repeat(received.reshape(r, c), MCU, 0), MCU, 1).astype(np.float64)
    return np.concatenate([y[..., None], up], axis=-1), mask


def _upsample_matrix(n: int) -> sparse.csr_matrix:
    """(2n, n) sparse matrix of :func:`_upsample2` along one axis."""
    rows = np.arange(2 * n)
    near = rows // 2
    far = np.clip(near + np.where(rows % 2, 1, -1), 0, n - 1)
    return sparse.coo_matrix((np.r_[np.full(2 * n, 0.75), np.full(2 * n, 0.25)], (np.r_[rows, rows], np.r_[near, far])),
                             shape=(2 * n, n)).tocsr()


@lru_cache(maxsize=8)
def _fit_solver(n: int):
    a = _upsample_matrix(n)
    return a, splu((a.T @ a).tocsc())


def fitted_chroma(full: np.ndarray) -> np.ndarray:
    """Full-resolution chroma (2h, 2w) -> the (h, w) samples whose :func:`_upsample2` is nearest to it in
    squared error: separable least squares, ``C = (A^T A)^-1 A^T X B (B^T B)^-1`` with ``A``, ``B`` the
    upsampling matrices of the two axes (sparse, banded normal equations).

    Parameters
    ----------
    full : ndarray
        (2h, 2w) float chroma plane.

    Output
    ------
    ndarray
        (h, w) float64.
    """
    a, lu_a = _fit_solver(full.shape[0] // 2)
    b, lu_b = _fit_solver(full.shape[1] // 2)
    t = lu_a.solve(np.asarray(a.T @ full))  # (h, 2w)
    return lu_b.solve(np.asarray(b.T @ t.T)).T


def _upsample2(x: np.ndarray) -> np.ndarray:
    """2x bilinear upsampling with half-pixel centres (libjpeg's 'fancy' upsampling), edges replicated."""
    p = np.pad(x, 1, mode="edge")
    rows = np.empty((2 * x.shape[0], x.shape[1] + 2))
    rows[0::2] = 0.75 * p[1:-1] + 0.25 * p[:-2]
    rows[1::2] = 0.75 * p[1:-1] + 0.25 * p[2:]
    out = np.empty((rows.shape[0], 2 * x.shape[1]))
    out[:, 0::2] = 0.75 * rows[:, 1:-1] + 0.25 * rows[:, :-2]
    out[:, 1::2] = 0.75 * rows[:, 1:-1] + 0.25 * rows[:, 2:]
    return out

