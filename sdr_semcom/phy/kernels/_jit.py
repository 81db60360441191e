"""numba options shared by the kernels (cached on disk, GIL released), and their cache's key.

numba reuses a cached kernel while its own source file is unchanged; but a cached kernel holds
the machine code of the kernels it calls, which may live in another module of this package, and
its index names the named tuples of :mod:`.layout` it was compiled for (unpickling an index that
names a tuple since renamed fails). So the kernels here are cached under a digest of all the
package's modules, in the file names as well as the stamp: editing any module compiles every
kernel afresh, into new files (the old ones stay in ``__pycache__`` until removed).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from numba.core import caching

JIT = {"cache": True, "nogil": True, "fastmath": False}
#: Reassociation allowed: for vectorised loops (no NaN/inf reach these).
JIT_FAST = {**JIT, "fastmath": True}

_HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def package_digest() -> str:
    """A digest of the package's module sources (12 hex digits)."""
    h = hashlib.sha1()
    for p in sorted(_HERE.glob("*.py")):
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:12]


def _keyed(base: type) -> type:
    """``base`` (one of numba's source-file cache locators) for this package's kernels only,
    keyed by :func:`package_digest`."""

    class Locator(base):
        def get_source_stamp(self):
            return package_digest()

        def get_disambiguator(self):
            return f"{super().get_disambiguator()}-{package_digest()}"

        @classmethod
        def from_function(cls, py_func, py_file):
            if Path(py_file).resolve().parent != _HERE:
                return None
            return super().from_function(py_func, py_file)

    Locator.__name__ = Locator.__qualname__ = f"SdrSemcom{base.__name__}"
    return Locator


def _install() -> None:
    """Put keyed copies of numba's file-backed locators first (once per process); with a numba
    whose internals differ, its own locators (stamped per file) stay in use."""
    try:
        classes = caching.CacheImpl._locator_classes
        bases = [caching._UserProvidedCacheLocator, caching._InTreeCacheLocator, caching._UserWideCacheLocator]
    except AttributeError:
        return
    if not any(c.__name__.startswith("SdrSemcom") for c in classes):
        classes[:0] = [_keyed(b) for b in bases]


_install()
