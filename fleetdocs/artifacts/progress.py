"""Byte-count progress reporting that stays cheap on streams of many tiny reads.

The CLI draws a rich progress bar from these callbacks; this package only counts bytes, so
rich stays out of it. Callbacks fire at most once per `step` bytes, plus once at the end.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[[int, int], None]
"""Called with (bytes done, bytes total)."""

DEFAULT_STEP = 1 << 20


class ProgressMeter:
    """Accumulates byte counts and reports them to an optional callback."""

    def __init__(self, total: int, callback: ProgressCallback | None, step: int = DEFAULT_STEP) -> None:
        self.total = total
        self.done = 0
        self._callback = callback
        self._step = step
        self._reported = 0

    def advance(self, count: int) -> None:
        """Record `count` more bytes; report if a step was crossed."""
        self.done += count
        if self._callback is not None and self.done - self._reported >= self._step:
            self._report()

    def finish(self) -> None:
        """Report the final count (also when it did not cross a step)."""
        if self._callback is not None and self._reported != self.done:
            self._report()

    def _report(self) -> None:
        assert self._callback is not None
        self._reported = self.done
        self._callback(self.done, self.total)
