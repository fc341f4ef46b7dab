"""Which moments of a video become candidate frames."""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Iterator
from dataclasses import dataclass
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
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise InputError(
                f"Sampling window is empty: start {self.start} s is not before end {self.end} s"
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


def target_times(sampling: Sampling, duration: float) -> Iterator[float]:
    """The target times in increasing order.

    With ``count``: the middles of ``count`` equal segments of the window (the video's
    stated ``duration`` bounds it). With ``fps``: ``start + k / fps`` while before ``end``;
    without an ``end`` the sequence does not stop at ``duration``, because stated durations
    can be short: the reader stops at the last decoded frame instead.
    """
    start = sampling.start or 0.0
    if sampling.count is not None:
        start, end = sampling.window(duration)
        step = (end - start) / sampling.count
        return (start + (i + 0.5) * step for i in range(sampling.count))
    fps = float(sampling.fps)  # type: ignore[arg-type]
    end = math.inf if sampling.end is None else sampling.end
    times = (start + k / fps for k in itertools.count())
    return itertools.takewhile(lambda t: t < end - 1e-9, times)


def _finite(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)
