"""Errors that name what is wrong: a key, a column, a line."""


class SamplingError(Exception):
    """Base class: a message fit to show an administrator as is."""


class ConfigError(SamplingError):
    """A configuration file is invalid; the message names the key."""

    what = "configuration"

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{self.what}: {key}: {problem}")
        self.key = key
        self.problem = problem


class SurveyConfigError(ConfigError):
    """The survey definition is invalid; the message names the key."""

    what = "survey definition"


class FrameFileError(SamplingError):
    """The frame file as a whole cannot be imported (encoding, header); nothing was stored."""
