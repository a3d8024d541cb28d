"""What a running search shows: a live status line on a terminal, one log line per trial elsewhere.

A search can run for an hour, so a terminal or a notebook gets a line redrawn every second
(counts, best score and its strategy, elapsed and remaining time) while CI logs and files get
one plain line per trial, which stays readable when captured. The command line and
``autoimb.search(verbose=...)`` show the same display.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from autoimb.leaderboard import REPEATS
from autoimb.strategy import strategy_label

__all__ = ["SearchProgress", "clear_live_line", "format_seconds", "interactive", "study_best"]

_REFRESH_SECONDS = 1.0
_live: list[SearchProgress] = []  # the live line on the terminal now, if any


def clear_live_line() -> None:
    """Make way for a message: wipe the live line, which the next tick draws again below it,
    so the message starts on a clean line instead of running on from the line's end."""
    for progress in _live:
        with progress._lock:
            progress._clear()


def format_seconds(seconds: float) -> str:
    """``h:mm:ss`` or ``m:ss``: budgets are read at a glance, not to the millisecond."""
    total = max(round(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def study_best(study: Any) -> tuple[float, int, dict] | None:
    """The study's best ``(value, number, config)``, from whichever process found it."""
    try:
        best = study.best_trial
    except Exception:  # no complete trial yet, or a storage that cannot be read just now
        return None
    return float(best.value), best.number, best.user_attrs.get("config", {})


def interactive(stream: TextIO | None) -> bool:
    """A person is watching: a terminal, or a notebook's kernel (which shows stderr live)."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):
        return False
    return "ipykernel" in sys.modules


class SearchProgress:
    """An Optuna trial callback that reports the search as it goes.

    Parameters
    ----------
    stream
        Where it goes, stderr as a rule; None (pythonw, a windowed app, a service: no stderr)
        shows nothing, and the search goes on.
    metric_name, greater_is_better
        What the scores are, and which way is better, to track the best one.
    time_budget, n_trials
        The limits of this run, to show what is left of them.
    live
        Redraw one status line (a terminal) rather than print a line per trial.
    best
        ``(value, trial number, config)`` of a resumed study's best trial, so the display
        starts from what the study already holds.
    """

    def __init__(
        self,
        stream: TextIO | None,
        *,
        metric_name: str,
        greater_is_better: bool,
        time_budget: float | None = None,
        n_trials: int | None = None,
        live: bool = False,
        already: int = 0,
        best: tuple[float, int, Mapping[str, Any]] | None = None,
    ) -> None:
        self.stream = stream
        self.metric_name = metric_name
        self.sign = 1.0 if greater_is_better else -1.0
        self.time_budget = time_budget
        self.n_trials = n_trials
        self.live = live
        self.already = already
        self.best = best
        self.counts = {"COMPLETE": 0, "PRUNED": 0, "FAIL": 0}
        self.started = time.monotonic()
        self._lock = threading.RLock()
        self._shown_warning: Callable[..., None] | None = None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._width = 0

    # -- the callback ----------------------------------------------------------------------

    def __call__(self, study: Any, trial: Any) -> None:
        # A repeat of a finished trial's strategy fitted nothing: it is not one of the trials.
        state = "REPEAT" if trial.user_attrs.get(REPEATS) is not None else trial.state.name
        config = trial.user_attrs.get("config")
        with self._lock:
            self.counts[state] = self.counts.get(state, 0) + 1
            improved = (
                state == "COMPLETE"
                and trial.value is not None
                and (self.best is None or self.sign * trial.value > self.sign * self.best[0])
            )
            if improved:
                self.best = (float(trial.value), trial.number, config or {})
            elsewhere = study_best(study)  # other processes of a shared study find some too
            if elsewhere is not None and (
                self.best is None or self.sign * elsewhere[0] > self.sign * self.best[0]
            ):
                self.best = elsewhere
            if self.live:
                if improved:
                    self._print_above(
                        f"new best {self.metric_name} {trial.value:.4f}: "
                        f"{strategy_label(config)} (trial {trial.number})"
                    )
                self._draw()
            else:
                self._write(self._trial_line(trial, state, config) + "\n")

    def _trial_line(self, trial: Any, state: str, config: Mapping[str, Any] | None) -> str:
        seconds = trial.user_attrs.get("seconds")
        took = f" {seconds:.1f}s" if isinstance(seconds, int | float) else ""
        if state == "COMPLETE":
            outcome = f"{self.metric_name}={trial.value:.4f}"
        elif state == "FAIL":
            outcome = f"failed: {trial.user_attrs.get('error', 'no error recorded')}"[:120]
        elif state == "REPEAT":
            outcome = f"repeats trial {trial.user_attrs[REPEATS]}, not fitted again"
        else:
            outcome = state.lower()
        best = ""
        if self.best is not None:
            best = f" | best {self.best[0]:.4f} (trial {self.best[1]})"
        return (
            f"trial {trial.number:>4} {outcome}  {strategy_label(config)}{took}{best}"
            f" | {self._time_text()}"
        )

    # -- the live line ---------------------------------------------------------------------

    def start(self) -> SearchProgress:
        """Start redrawing the live line each second, so the clock moves during long trials."""
        self.started = time.monotonic()
        if self.live:
            _live.append(self)
            # A warning printed while the line is up would run on from its end: clear it first.
            self._shown_warning = shown = warnings.showwarning

            def show(*args: Any, **kwargs: Any) -> None:
                clear_live_line()
                shown(*args, **kwargs)

            warnings.showwarning = show
            self._ticker = threading.Thread(target=self._tick, name="autoimb-progress", daemon=True)
            self._ticker.start()
        return self

    def close(self) -> None:
        """Stop the clock and leave the terminal on a clean line."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2 * _REFRESH_SECONDS)
        if self.live:
            if self in _live:
                _live.remove(self)
            if self._shown_warning is not None:
                warnings.showwarning = self._shown_warning
                self._shown_warning = None
            with self._lock:
                self._clear()
                self._write(self.status() + "\n")

    def __enter__(self) -> SearchProgress:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tick(self) -> None:
        while not self._stop.wait(_REFRESH_SECONDS):
            with self._lock:
                self._draw()

    def status(self) -> str:
        """Counts and time first, so a narrow terminal cuts the strategy's name, not the clock."""
        of = f"/{self.n_trials}" if self.n_trials else ""
        earlier = f" (+{self.already} earlier)" if self.already else ""
        parts = [
            f"{sum(n for s, n in self.counts.items() if s != 'REPEAT')}{of} trials{earlier}: "
            f"{self.counts['COMPLETE']} done, "
            f"{self.counts['PRUNED']} pruned, {self.counts['FAIL']} failed",
            self._time_text(),
        ]
        if self.best is not None:
            value, number, config = self.best
            parts.append(
                f"best {self.metric_name} {value:.4f} (trial {number}) {strategy_label(config)}"
            )
        return " | ".join(parts)

    def _time_text(self) -> str:
        elapsed = time.monotonic() - self.started
        text = f"{format_seconds(elapsed)} elapsed"
        if self.time_budget is not None:
            text += f", {format_seconds(self.time_budget - elapsed)} left"
        return text

    def _draw(self) -> None:
        columns = shutil.get_terminal_size((100, 20)).columns
        line = self.status()
        if len(line) >= columns:  # a wrapped line cannot be redrawn in place
            line = line[: max(columns - 2, 10)] + "…"
        self._write("\r" + line.ljust(self._width))
        self._width = len(line)

    def _clear(self) -> None:
        if self._width:
            self._write("\r" + " " * self._width + "\r")
            self._width = 0

    def _print_above(self, text: str) -> None:
        self._clear()
        self._write(text + "\n")

    def _write(self, text: str) -> None:
        if self.stream is None:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stream must not stop the search
            pass
