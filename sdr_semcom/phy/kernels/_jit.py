"""numba options shared by the kernels (cached on disk, GIL released), and the cache's stamp.

numba reuses a cached kernel while its own source file is unchanged; but a cached kernel holds
the machine code of the kernels it calls, which may live in another module of this package.
So the kernels here are stamped with all the package's modules (latest modification time, total
size): editing any of them recompiles every kernel on the next run.
"""

from __future__ import annotations

import os
from pathlib import Path

from numba.core import caching

JIT = {"cache": True, "nogil": True, "fastmath": False}
#: Reassociation allowed: for vectorised loops (no NaN/inf reach these).
JIT_FAST = {**JIT, "fastmath": True}

_HERE = Path(__file__).resolve().parent


def _package_stamp() -> tuple[float, int]:
    """(latest mtime, total size) of the package's modules."""
    stats = [os.stat(p) for p in sorted(_HERE.glob("*.py"))]
    return max(s.st_mtime for s in stats), sum(s.st_size for s in stats)


def _stamped(base: type) -> type:
    """``base`` (one of numba's source-file cache locators) for this package's kernels only,
    stamped with :func:`_package_stamp`."""

    class Locator(base):
        def get_source_stamp(self):
            return _package_stamp()

        @classmethod
        def from_function(cls, py_func, py_file):
            if Path(py_file).resolve().parent != _HERE:
                return None
            return super().from_function(py_func, py_file)

    Locator.__name__ = Locator.__qualname__ = f"SdrSemcom{base.__name__}"
    return Locator


def _install() -> None:
    """Put stamped copies of numba's file-backed locators first (once per process); with a
    numba whose internals differ, its own locators (stamped per file) stay in use."""
    try:
        classes = caching.CacheImpl._locator_classes
        bases = [caching._UserProvidedCacheLocator, caching._InTreeCacheLocator, caching._UserWideCacheLocator]
    except AttributeError:
        return
    if not any(c.__name__.startswith("SdrSemcom") for c in classes):
        classes[:0] = [_stamped(b) for b in bases]


_install()
