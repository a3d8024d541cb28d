"""Process-wide settings a search changes, held once for all the searches of a process.

Optuna's log level, the warnings filters and the thread error hook belong to the process, not
to a search. Searches in several threads of one process overlap; each putting back what it
found as it began would, when they end out of order, leave a neighbour's setting behind for
good. So the first search to begin applies the setting and saves what the process had, and the
last to end puts that back.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

Restore = Callable[[], None]


class Held:
    """A process-wide setting: ``hold`` applies it and returns how to put back what the
    process had; :meth:`held` keeps it while a search runs."""

    def __init__(self, hold: Callable[[], Restore]) -> None:
        self._hold = hold
        self._lock = threading.Lock()
        self._searches = 0
        self._restore: Restore | None = None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        entered = False  # counted in: a Ctrl-C before that leaves nothing to count out
        try:
            with self._lock:
                if not self._searches:
                    self._restore = self._hold()
                self._searches += 1
                entered = True
            yield
        finally:
            if entered:
                with self._lock:
                    self._searches -= 1
                    if not self._searches and self._restore is not None:
                        restore, self._restore = self._restore, None
                        restore()
