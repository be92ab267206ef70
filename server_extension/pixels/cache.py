"""A cache of rendered bytes (tiles, regions, thumbnails), bounded by bytes.

Keys hold everything that changes the bytes: the image id, its pyramid's store path (a new import
gets a new path), and the fully resolved render plan, in which the caller's saved settings are
already folded (so another user's settings, or the same user's after a change, is another key).
Entries of an image are dropped when someone saves rendering settings for it, so that thumbnails
never outlive the settings they were made with.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

DEFAULT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Rendered:
    """Encoded bytes, their media type and an entity tag, computed off the event loop."""

    data: bytes
    media_type: str
    etag: str

    @classmethod
    def of(cls, data: bytes, media_type: str) -> Rendered:
        return cls(data, media_type, '"' + hashlib.blake2b(data, digest_size=16).hexdigest() + '"')


class RenderedCache:
    """LRU of ``key -> Rendered``; every key starts with the image id."""

    def __init__(self, max_bytes: int = DEFAULT_BYTES):
        self.max_bytes = max_bytes
        self.nbytes = 0
        self.hits = self.misses = 0
        self._items: OrderedDict[tuple, Rendered] = OrderedDict()
        self._by_image: dict[int, set[tuple]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Rendered | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: tuple, value: Rendered) -> None:
        if len(value.data) > self.max_bytes // 8:
            return  # one huge region would flush everything else
        with self._lock:
            self._drop(key)
            self._items[key] = value
            self._by_image.setdefault(key[0], set()).add(key)
            self.nbytes += len(value.data)
            while self.nbytes > self.max_bytes:
                self._drop(next(iter(self._items)))

    def invalidate(self, image_id: int) -> int:
        """Forget everything rendered from ``image_id``; returns how many entries went."""
        with self._lock:
            keys = list(self._by_image.get(image_id, ()))
            for key in keys:
                self._drop(key)
            return len(keys)

    def _drop(self, key: Hashable) -> None:
        found = self._items.pop(key, None)  # type: ignore[call-overload]
        if found is None:
            return
        self.nbytes -= len(found.data)
        keys = self._by_image.get(key[0])  # type: ignore[index]
        if keys is not None:
            keys.discard(key)  # type: ignore[arg-type]
            if not keys:
                del self._by_image[key[0]]  # type: ignore[index]

    def __len__(self) -> int:
        return len(self._items)
