"""A small least-recently-used store for maps that depend on the lens and the readout, never
on the scene (relative illumination, …), keyed by exactly what they depend on.

A new scene in front of the camera renders a new optical image, but the lens's fall-off over
the window, for the same lens, aperture and window, is the same map: computing it again cost a
fifth of a new-scene press. The stored arrays are read-only, so a caller cannot change what
the next caller gets; the store is bounded in bytes (a full-resolution map is 200 MB).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np


class MapCache:
    """``get(key, make)``: the array stored under ``key``, made by ``make()`` the first time.

    At most ``max_bytes`` are kept (the least recently used maps go first; the newest is kept
    even alone over the budget). Thread-safe; ``make`` runs outside the lock.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self._maps: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        #: Maps made and maps re-used, for tests and benchmarks.
        self.misses = 0
        self.hits = 0

    def get(self, key: Hashable, make: Callable[[], np.ndarray]) -> np.ndarray:
        with self._lock:
            if key in self._maps:
                self._maps.move_to_end(key)
                self.hits += 1
                return self._maps[key]
        value = np.asarray(make())
        value.setflags(write=False)
        with self._lock:
            self.misses += 1
            self._maps[key] = value
            self._maps.move_to_end(key)
            while len(self._maps) > 1 and sum(a.nbytes for a in self._maps.values()) > (
                self.max_bytes
            ):
                self._maps.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._maps.clear()
