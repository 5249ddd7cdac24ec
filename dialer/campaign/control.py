"""A campaign's run state and the supervisor's commands on it (pure).

ready --start--> running --pause--> paused --resume--> running
running/paused --stop--> stopping: no new calls; once the live calls have ended, stopped.
A campaign whose quotas fill (or whose sample runs out) is finished.
"""

from __future__ import annotations

from enum import StrEnum


class RunState(StrEnum):
    READY = "ready"  # the service is up; dialling starts on the supervisor's word
    RUNNING = "running"
    PAUSED = "paused"  # no new calls; operators stay logged in
    STOPPING = "stopping"  # no new calls; waiting for the live calls to end
    STOPPED = "stopped"
    FINISHED = "finished"  # quotas full or sample exhausted


class Command(StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"


class ControlError(Exception):
    """A request that does not apply in the campaign's current state."""


class NotFound(ControlError):
    """The seat or call a request names is not there."""


class Invalid(ControlError):
    """A request whose content cannot be taken; names the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


_NEXT: dict[tuple[Command, RunState], RunState] = {
    (Command.START, RunState.READY): RunState.RUNNING,
    (Command.PAUSE, RunState.RUNNING): RunState.PAUSED,
    (Command.RESUME, RunState.PAUSED): RunState.RUNNING,
    (Command.STOP, RunState.READY): RunState.STOPPING,
    (Command.STOP, RunState.RUNNING): RunState.STOPPING,
    (Command.STOP, RunState.PAUSED): RunState.STOPPING,
}


def apply(state: RunState, command: Command) -> RunState:
    """The state after ``command``; ControlError when it does not apply."""
    try:
        return _NEXT[(command, state)]
    except KeyError:
        raise ControlError(f"cannot {command.value} a campaign that is {state.value}") from None


def dials(state: RunState) -> bool:
    """Whether new calls may be placed in this state."""
    return state is RunState.RUNNING


def settle(state: RunState, live_calls: int) -> RunState:
    """A stopping campaign is stopped once its last call has ended."""
    if state is RunState.STOPPING and live_calls == 0:
        return RunState.STOPPED
    return state
