"""Errors that name what is wrong: a key, a column, a line."""


class SamplingError(Exception):
    """Base class: a message fit to show an administrator as is."""


class SurveyConfigError(SamplingError):
    """The survey definition is invalid; the message names the key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"survey definition: {key}: {problem}")
        self.key = key
        self.problem = problem


class FrameFileError(SamplingError):
    """The frame file as a whole cannot be imported (encoding, header); nothing was stored."""
