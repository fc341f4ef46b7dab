"""Videos made on the fly (never committed) from the real footage and photos in tests/assets."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from conftest import MEDIA_DIR
from PIL import Image

from framesift.synth import fit, write_video

VTEST = MEDIA_DIR / "vtest.avi"
TREE = MEDIA_DIR / "tree.avi"


def footage_with_photo(
    path: Path, photo: str, start: float, seconds: float, size: tuple[int, int] = (384, 288)
) -> Path:
    """vtest.avi (10 fps pedestrians) re-encoded at ``size`` with ``photo`` shown from ``start``."""
    width, height = size
    picture = fit(np.asarray(Image.open(MEDIA_DIR / photo).convert("RGB")), width, height)

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
