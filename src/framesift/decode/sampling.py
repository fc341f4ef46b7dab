"""Which moments of a video become candidate frames."""

from __future__ import annotations

import bisect
import math
import numbers
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from framesift.errors import InputError


@dataclass(frozen=True)
class Sampling:
    """Candidate times: ``fps`` per second, or exactly ``count`` evenly spaced ones.

    Setting ``count`` makes ``fps`` ``None`` (it is ignored), so equal samplings compare and
    serialise equally. ``start``/``end`` restrict sampling to a window in seconds; by
    default the whole video.
    """

    fps: float | None = 1.0
    count: int | None = None
    start: float | None = None
    end: float | None = None

    def __post_init__(self) -> None:
        if self.count is not None:
            count = self.count
            if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 1:
                raise InputError(f"Sampling count must be a positive integer, got {count!r}")
            object.__setattr__(self, "count", int(count))
            object.__setattr__(self, "fps", None)
        elif self.fps is None:
            raise InputError("Sampling needs fps (frames per second) or count (number of frames)")
        elif not _finite(self.fps) or self.fps <= 0:
            raise InputError(f"Sampling fps must be a positive number, got {self.fps!r}")
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and (not _finite(value) or value < 0):
                raise InputError(f"Sampling {name} must be a time >= 0 in seconds, got {value!r}")
        if (self.start or 0.0) >= (float("inf") if self.end is None else self.end):
            raise InputError(
                f"the window is empty: start {self.start or 0.0:g} s is not before end "
                f"{self.end:g} s; give an end after the start"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form used in cache keys; ``Sampling(**d)`` rebuilds it."""

        def num(x: float | None) -> float | None:
            return None if x is None else float(x)

        return {
            "fps": num(self.fps),
            "count": self.count,
            "start": num(self.start),
            "end": num(self.end),
        }

    def spacing(self, duration: float) -> float:
        """Seconds between consecutive targets, for a video of ``duration`` seconds."""
        if self.fps is not None:
            return 1.0 / self.fps
        start, end = self.window(duration)
        return (end - start) / self.count  # type: ignore[operator]

    def window(self, duration: float) -> tuple[float, float]:
        """The sampled window in seconds, ``end`` clipped to ``duration``."""
        start = self.start or 0.0
        end = duration if self.end is None else min(self.end, duration)
        return start, end


@dataclass(frozen=True)
class Targets:
    """The target times of a sampling, searchable by time instead of listed.

    ``fps`` targets are ``start + k / fps`` (k = 0, 1, ...); ``count`` targets the middles of
    ``count`` equal segments of the window, ``start + (i + 0.5) * step``; ``times`` an explicit
    increasing list. Only targets in ``[lo, hi)`` exist (``hi`` is ``inf`` for an open fps
    window: stated durations can be short, so the reader stops at the last decoded frame).
    Searching rather than iterating keeps a pool cheap however dense it is: ``fps=1e9`` costs
    one lookup per decoded frame, not a billion targets per second of video.
    """

    start: float = 0.0
    step: float | None = None  # seconds between count targets
    fps: float | None = None
    count: int | None = None
    times: tuple[float, ...] | None = None
    lo: float = -math.inf
    hi: float = math.inf

    def value(self, k: int) -> float:
        """The k-th target (k >= 0), unbounded."""
        if self.times is not None:
            return self.times[k]
        if self.fps is not None:
            return self.start + k / self.fps
        return self.start + (k + 0.5) * self.step  # type: ignore[operator]

    def _last_index(self) -> int | None:
        if self.times is not None:
            return len(self.times) - 1
        return None if self.count is None else self.count - 1

    def first_at_or_after(self, t: float) -> float | None:
        """The smallest target >= ``t`` (and >= ``lo``, < ``hi``), or None."""
        t = max(t, self.lo)
        if self.times is not None:
            k = bisect.bisect_left(self.times, t)
        else:
            rate = self.fps if self.fps is not None else 1 / self.step  # type: ignore[operator]
            offset = 0.0 if self.fps is not None else 0.5
            ahead = (t - self.start) * rate - offset if t > self.start else 0.0
            k = max(math.floor(ahead) - 1, 0)  # at or just before the answer
            while self.value(k) < t:
                k += 1
        last = self._last_index()
        if last is not None and k > last:
            return None
        value = self.value(k)
        return value if value < self.hi else None

    def within(self, lo: float, hi: float) -> Targets:
        """The targets in ``[lo, hi)`` only."""
        return replace(self, lo=max(lo, self.lo), hi=min(hi, self.hi))

    def __iter__(self) -> Iterator[float]:
        t = self.first_at_or_after(-math.inf)
        while t is not None:
            yield t
            t = self.first_at_or_after(math.nextafter(t, math.inf))


def targets(sampling: Sampling, duration: float) -> Targets:
    """The targets of ``sampling`` over a video whose stated length is ``duration`` seconds.

    With ``count`` the stated duration bounds the window; with ``fps`` and no ``end`` the
    targets do not stop at ``duration``, because stated durations can be short.
    """
    start = sampling.start or 0.0
    if sampling.count is not None:
        start, end = sampling.window(duration)
        return Targets(start=start, step=(end - start) / sampling.count, count=sampling.count)
    end = math.inf if sampling.end is None else sampling.end - 1e-9
    return Targets(start=start, fps=float(sampling.fps), hi=end)  # type: ignore[arg-type]


def at_times(times: Iterable[float]) -> Targets:
    """Explicit target times (seconds, increasing)."""
    return Targets(times=tuple(float(t) for t in times))


def _finite(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)
