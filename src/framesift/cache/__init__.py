"""The per-video cache: one layer for every artefact of a video that does not depend on the
question (frame features, patch tokens, a host model's vision-tower outputs).

The API the pipeline calls:

- ``Cache(root)``: a cache folder (``default_cache_dir()``: ``$FRAMESIFT_CACHE`` or the
  platform's user cache folder); a file or an unwritable folder is an ``InputError`` at once.
  ``Cache.scratch()``: a temporary one, deleted on exit.
- ``extract(video, sampling, encoder, cache, *, patch_encoder=None, with_features=True,
  progress=False) -> Extraction``: features (``VideoFeatures``: times, embeddings) and/or
  patch tokens (``PatchStore``), from the cache or built in one overlapped decode + encode
  pass; ``cache=None`` builds without keeping anything.
- ``is_cached(video, sampling, encoder, cache, *, patch_encoder=None) -> bool``: whether
  ``extract`` would decode nothing; cheap.

How entries are written, locked, checked and cleaned up: ``framesift.cache.store``; how
videos are identified: ``framesift.cache.fingerprints``; reusing embeddings of unchanged
frames: ``framesift.cache.changes``.
"""

from framesift.cache.extraction import (
    Extraction,
    VideoFeatures,
    expected_frames,
    extract,
    is_cached,
)
from framesift.cache.fingerprints import Fingerprint, content_digest, fingerprint
from framesift.cache.patches import PatchStore
from framesift.cache.store import Cache
from framesift.hub import default_cache_dir

__all__ = [
    "Cache",
    "Extraction",
    "Fingerprint",
    "PatchStore",
    "VideoFeatures",
    "content_digest",
    "default_cache_dir",
    "expected_frames",
    "extract",
    "fingerprint",
    "is_cached",
]
