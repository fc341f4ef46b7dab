"""Domain errors. Library code raises these; only the CLI turns them into exit codes.

Every message says what went wrong and what to do about it.
"""


class FramesiftError(Exception):
    """Base class of every error framesift raises on purpose."""


class InputError(FramesiftError, ValueError):
    """A bad argument: empty question, too few options, impossible budget or window."""


class VideoNotFoundError(FramesiftError, FileNotFoundError):
    """The video path does not exist or is not a file."""


class VideoDecodeError(FramesiftError, ValueError):
    """The file exists but yields no usable video frames (not a video, no video stream...)."""
