"""Progress reporting on stderr: a bar on a terminal, a periodic log line otherwise.

Library code takes a ``Progress`` and calls ``task(...)``; the CLI picks the mode.
The default, ``SILENT``, reports nothing, so library calls stay quiet in tests.
"""

import logging
import sys
import time
from contextlib import contextmanager
from typing import Iterator, Literal

log = logging.getLogger("ganaug")

Mode = Literal["bar", "log", "off"]
POSTFIX_INTERVAL_S = 0.2


class ProgressTask:
    """One counted piece of work (decoding, training steps, sampling)."""

    def __init__(self, description: str, total: int | None, unit: str, mode: Mode, interval_s: float):
        self.description, self.total, self.unit, self.mode = description, total, unit, mode
        self.count = 0
        self.stats: dict[str, object] = {}
        self._interval_s = interval_s
        self._start = self._last_log = self._last_postfix = time.monotonic()
        self._bar = None
        if mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=description, unit=unit, file=sys.stderr, dynamic_ncols=True)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self._start
        return self.count / elapsed if elapsed > 0 else 0.0

    def update(self, n: int = 1, **stats: object) -> None:
        self.count += n
        self.stats.update(stats)
        if self._bar is not None:
            self._bar.update(n)
            # Formatting the postfix every step is wasted on fast steps: the bar redraws a few
            # times a second at most, so the stats are handed over at that pace.
            if stats and time.monotonic() - self._last_postfix >= POSTFIX_INTERVAL_S:
                self._last_postfix = time.monotonic()
                self._bar.set_postfix({k: _short(v) for k, v in self.stats.items()}, refresh=False)
        elif self.mode == "log" and time.monotonic() - self._last_log >= self._interval_s:
            self._last_log = time.monotonic()
            log.info(self.line())

    def line(self) -> str:
        done = f"{self.count}/{self.total}" if self.total else str(self.count)
        parts = [f"{self.description}: {done} {self.unit}", f"{self.rate:.1f} {self.unit}/s"]
        parts += [f"{k} {_short(v)}" for k, v in self.stats.items()]
        return ", ".join(parts)

    def close(self) -> None:
        if self._bar is not None:
            if self.stats:
                self._bar.set_postfix({k: _short(v) for k, v in self.stats.items()}, refresh=False)
            self._bar.close()
        elif self.mode == "log":
            log.info(self.line())


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class Progress:
    def __init__(self, mode: Mode = "off", interval_s: float = 10.0):
        self.mode = mode
        self.interval_s = interval_s

    @contextmanager
    def task(self, description: str, total: int | None = None, unit: str = "it") -> Iterator[ProgressTask]:
        task = ProgressTask(description, total, unit, self.mode, self.interval_s)
        try:
            yield task
        finally:
            task.close()


SILENT = Progress("off")
