"""numba for mountcam: ``njit`` and friends, with on-disk caches that notice edits anywhere in
the package.

Why: numba (0.68) keys a cached kernel on a hash of *its own* source file. A kernel that calls
``@njit`` functions of other modules compiles them into itself, so after an edit of, say,
``demosaic_fast.py`` the pipeline's cached kernel kept running the old demosaic until its
cache files were deleted by hand (touching the file does not help: the key is the content).
Every mountcam module imports numba through here, which first puts a cache locator ahead of
numba's own: for files inside the mountcam package it adds to numba's per-file stamp a hash of
every package module that defines or uses kernels, so an edit in any of them makes all of mountcam's
cached kernels recompile once. Files outside the package are left to numba. The locator hooks
into ``numba.core.caching.CacheImpl._locator_classes``, a private list; if a numba release
changes it, :func:`install_package_cache_locator` does nothing and numba's per-file caching
applies (the stale-kernel hazard returns, the results of a fresh install are unaffected).
"""

from __future__ import annotations

import hashlib
import importlib
import os
from functools import lru_cache
from pathlib import Path

# OpenMP's idle workers spin after each parallel region (GNU libgomp's default "active" wait).
# mountcam launches kernels from several Python threads at once (the live view's preview
# thread beside its render thread, develop's strips), and on two cores one thread's spinning
# team takes the cores the other's kernel needs: on a 1024×768 live-view frame, develop took
# 27 ms instead of 12 and the clip search 17 ms instead of 0.35. A value the user set is kept;
# it acts only when set before libgomp loads (numba loads it at the first parallel kernel).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from numba import get_num_threads, njit, prange, set_num_threads  # noqa: E402

__all__ = [
    "concurrent_launches_are_safe",
    "fft_workers",
    "get_num_threads",
    "install_package_cache_locator",
    "njit",
    "prange",
    "set_num_threads",
]

#: The mountcam package folder (the tree whose kernels share one freshness stamp).
PACKAGE_ROOT = Path(__file__).resolve().parent


def _numba_modules(root: Path) -> list[Path]:
    """The ``.py`` files under ``root`` that can hold kernels: those that mention ``njit`` or
    numba."""
    found = []
    for path in sorted(root.rglob("*.py")):
        try:
            text = path.read_bytes()
            if b"njit" in text or b"numba" in text:
                found.append(path)
        except OSError:
            continue
    return found


@lru_cache(maxsize=8)
def package_source_stamp(root: Path = PACKAGE_ROOT) -> str:
    """SHA-256 over the names and contents of the numba-using modules under ``root``.

    Taken once per process: the kernels a process runs are those of the sources it imported.
    """
    digest = hashlib.sha256()
    for path in _numba_modules(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _is_under(path: str, root: Path) -> bool:
    try:
        return Path(path).resolve().is_relative_to(root)
    except (OSError, ValueError):
        return False


def _package_locator(base: type, root: Path) -> type:
    """A subclass of numba locator ``base`` that serves only files under ``root`` and stamps
    them with numba's own stamp plus :func:`package_source_stamp` of ``root``."""

    class PackageLocator(base):  # type: ignore[misc, valid-type]
        @classmethod
        def from_function(cls, py_func, py_file):
            if not _is_under(py_file, root):
                return None
            return super().from_function(py_func, py_file)

        def get_source_stamp(self):
            return (super().get_source_stamp(), package_source_stamp(root))

    PackageLocator.__name__ = PackageLocator.__qualname__ = f"Package{base.__name__}"
    PackageLocator.package_root = root
    return PackageLocator


def install_package_cache_locator(root: Path = PACKAGE_ROOT) -> bool:
    """Put package-stamped locators for ``root`` ahead of numba's own (once per root).

    Returns whether they are in place. Must run before the ``@njit(cache=True)`` decorators of
    the modules under ``root`` execute (numba picks a kernel's locator when it is decorated).
    """
    from numba.core import caching

    def find(name: str):  # public in numba 0.68, underscored before
        return getattr(caching, name, None) or getattr(caching, "_" + name, None)

    impl = find("CacheImpl")
    bases = [find(n) for n in ("UserProvidedCacheLocator", "InTreeCacheLocator")]
    bases.append(find("UserWideCacheLocator"))
    classes = getattr(impl, "_locator_classes", None)
    if impl is None or classes is None or None in bases:
        return False
    root = Path(root).resolve()
    if any(getattr(c, "package_root", None) == root for c in classes):
        return True
    impl._locator_classes = [_package_locator(b, root) for b in bases] + list(classes)
    return True


@lru_cache(maxsize=1)
def concurrent_launches_are_safe() -> bool:
    """Whether ``parallel=True`` kernels may be launched from several Python threads at once.

    numba's TBB and OpenMP threading layers allow it; its fallback, ``workqueue`` (chosen when
    neither library is installed, or by ``NUMBA_THREADING_LAYER=workqueue``), detects the
    concurrent launch and aborts the whole process. Callers that run kernels on worker
    threads (the develop pipeline's strips) use one thread when this is False.
    """
    from numba.core import config

    layer = str(config.THREADING_LAYER).lower()
    if layer == "workqueue":
        return False
    wanted = {"tbb": ["tbbpool"], "omp": ["omppool"]}.get(layer, ["tbbpool", "omppool"])
    for name in wanted:
        try:
            importlib.import_module(f"numba.np.ufunc.{name}")
        except ImportError:
            continue
        return True
    return False


install_package_cache_locator()


def fft_workers() -> int:
    """Threads for scipy.fft: as many as numba's kernels use in the calling thread.

    A process or task set to one thread (a Dask worker, :func:`mountcam.cluster.single_threaded`)
    then runs its transforms on one too. With a fixed two, each of two dataset workers on two
    cores ran pocketfft threads beside its task thread (a quarter of its CPU time), and the
    workers scaled 1.72× where two plain single-threaded loops scaled 1.84×."""
    return get_num_threads()
