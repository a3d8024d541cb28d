"""Process-wide settings a search changes, held once for all the searches of a process.

Optuna's log level, the warnings filters and the thread error hook belong to the process, not
to a search. Searches in several threads of one process overlap; each putting back what it
found as it began would, when they end out of order, leave a neighbour's setting behind for
good. So the first search to begin saves what the process had, each applies its own, and the
last to end puts back what the first saved.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

Restore = Callable[[], None]


class Held:
    """A process-wide setting: ``save`` records the process's own and returns how to put it
    back; :meth:`held` applies a search's setting while the search runs."""

    def __init__(self, save: Callable[[], Restore]) -> None:
        self._save = save
        self._lock = threading.Lock()
        self._searches = 0
        self._restore: Restore | None = None

    @contextlib.contextmanager
    def held(self, apply: Callable[[], object] | None = None) -> Iterator[None]:
        entered = False  # counted in: a Ctrl-C before that leaves nothing to count out
        try:
            with self._lock:
                if not self._searches:
                    self._restore = self._save()
                self._searches += 1
                entered = True
                if apply is not None:
                    apply()
            yield
        finally:
            if entered:
                with self._lock:
                    self._leave()

    def _leave(self) -> None:
        self._searches -= 1
        if not self._searches and self._restore is not None:
            restore, self._restore = self._restore, None
            restore()
