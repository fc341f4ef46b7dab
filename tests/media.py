"""Test media from the real shared footage and photos (generated on the fly, never committed)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from conftest import MEDIA_DIR as SHARED_MEDIA
from PIL import Image

from framesift.synth import fit, write_video

VTEST = SHARED_MEDIA / "vtest.avi"
TREE = SHARED_MEDIA / "tree.avi"


def footage_with_photo(
    path: Path, photo: str, start: float, seconds: float, size: tuple[int, int] = (384, 288)
) -> Path:
    """vtest.avi (10 fps pedestrians) re-encoded at ``size`` with ``photo`` shown from ``start``."""
    width, height = size
    picture = fit(np.asarray(Image.open(SHARED_MEDIA / photo).convert("RGB")), width, height)

    def frames():
        with av.open(str(VTEST)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                t = i / 10
                if start <= t < start + seconds:
                    yield picture
                else:
                    yield frame.to_ndarray(width=width, height=height, format="rgb24")

    write_video(path, frames(), fps=10)
    return path
