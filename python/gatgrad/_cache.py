"""A small cache whose entries live only as long as the tensors they were made from (graphs
prepared per ``edge_index``, forward runs kept for their backward)."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import Optional


class _Cache:
    """A small least-recently-used cache whose entries are valid only while the tensors they were
    made from are alive and unchanged: an entry keeps weak references to them and is found again
    only for the same tensor objects at the same version counters."""

    def __init__(self, size: int):
        self.size = size
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    @staticmethod
    def key(tag, tensors) -> Optional[tuple]:
        """The key of real tensors; ``None`` for tensors without storage (while tracing)."""
        try:
            return (tag,) + tuple(
                (t.data_ptr(), t._version, tuple(t.shape), t.stride(), t.dtype) for t in tensors
            )
        except RuntimeError:
            return None

    def get(self, tag, tensors, pop: bool = False):
        k = self.key(tag, tensors)
        if k is None:
            return None
        with self.lock:
            hit = self.entries.get(k)
            if hit is None:
                return None
            refs, value = hit
            if any(r() is not t for r, t in zip(refs, tensors)):
                del self.entries[k]
                return None
            if pop:
                del self.entries[k]
            else:
                self.entries.move_to_end(k)
            return value

    def put(self, tag, tensors, value) -> None:
        k = self.key(tag, tensors)
        if k is None:
            return
        refs = [weakref.ref(t) for t in tensors]
        with self.lock:
            self.entries[k] = (refs, value)
            self.entries.move_to_end(k)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
