"""framesift: answer questions about long videos by showing a model only the frames they need.

>>> from framesift import Pipeline
>>> pipe = Pipeline(selector="dks", budget=8)
>>> result = pipe.ask("video.mp4", "Is there a dog?", ["yes", "no"])
>>> result.keyframes[0].time, result.answer
"""

from framesift.errors import FramesiftError, InputError, VideoDecodeError, VideoNotFoundError
from framesift.pipeline import AskResult, Keyframe, Pipeline, PipelineConfig, ask

__version__ = "0.1.0"

__all__ = [
    "AskResult",
    "FramesiftError",
    "InputError",
    "Keyframe",
    "Pipeline",
    "PipelineConfig",
    "VideoDecodeError",
    "VideoNotFoundError",
    "__version__",
    "ask",
]
