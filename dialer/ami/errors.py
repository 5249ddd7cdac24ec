"""AMI errors that carry the action that failed."""

from __future__ import annotations


class AmiError(Exception):
    """An AMI action failed or timed out; ``action`` names it."""

    def __init__(self, action: str, reason: str) -> None:
        super().__init__(f"AMI {action}: {reason}")
        self.action = action
        self.reason = reason


class AmiConnectError(AmiError):
    """Asterisk could not be reached, or refused the login: a configuration problem (exit 2)."""
