"""Video decoding: probe a file and turn it into batches of resized candidate frames."""

from framesift.decode.frames import decode_frames
from framesift.decode.probe import VideoInfo, probe
from framesift.decode.reader import FrameBatch, decode_at
from framesift.decode.resize import Resize
from framesift.decode.sampling import Sampling

__all__ = ["FrameBatch", "Resize", "Sampling", "VideoInfo", "decode_at", "decode_frames", "probe"]
