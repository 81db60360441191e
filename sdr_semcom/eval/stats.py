"""Paired bootstrap confidence intervals (seeded), for the claims table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A mean with its bootstrap 95 % interval over ``n`` paired samples."""

    mean: float
    lo: float
    hi: float
    n: int

    def __str__(self) -> str:
        return self.format()

    def format(self, scale: float = 1.0, digits: int = 3, unit: str = "") -> str:
        """``mean [lo, hi] (n)`` times ``scale`` (100 and '%' for a percentage); n < 2: no interval."""
        if self.n == 0 or not np.isfinite(self.mean):
            return "n/a"
        f = lambda v: f"{scale * v:+.{digits}f}{unit}"  # noqa: E731
        if self.n < 2:
            return f"{f(self.mean)} (n=1)"
        return f"{f(self.mean)} [{f(self.lo)}, {f(self.hi)}] (n={self.n})"

    def to_json(self) -> dict:
        return {"mean": self.mean, "lo": self.lo, "hi": self.hi, "n": self.n}


def bootstrap_mean(x, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> Estimate:
    """Mean of ``x`` (NaNs dropped) with its percentile bootstrap interval."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    a = (1 - level) / 2
    return Estimate(float(x.mean()), float(np.quantile(means, a)), float(np.quantile(means, 1 - a)), int(x.size))


def paired_bootstrap(a, b, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> Estimate:
    """Mean of the paired differences ``a - b`` with its bootstrap interval (pairs with a NaN dropped)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired_bootstrap: {a.shape} vs {b.shape}: the samples must be paired")
    return bootstrap_mean(a - b, n_boot, seed, level)


def ratio_bootstrap(num, den, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> Estimate:
    """``1 - mean(num) / mean(den)`` over paired samples, resampling the pairs (leakage reduction)."""
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    ok = np.isfinite(num) & np.isfinite(den)
    num, den = num[ok], den[ok]
    if num.size == 0 or den.mean() == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), int(num.size))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, num.size, size=(n_boot, num.size))
    d = den[idx].mean(axis=1)
    r = 1 - num[idx].mean(axis=1) / np.where(d == 0, np.nan, d)
    a = (1 - level) / 2
    return Estimate(float(1 - num.mean() / den.mean()), float(np.nanquantile(r, a)), float(np.nanquantile(r, 1 - a)),
                    int(num.size))


def relative_change(a, b, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> Estimate:
    """``mean(a) / mean(b) - 1`` over paired samples, resampling the pairs (``+0.10``: ``a`` is 10 % higher)."""
    r = ratio_bootstrap(a, b, n_boot, seed, level)
    return Estimate(-r.mean, -r.hi, -r.lo, r.n)
