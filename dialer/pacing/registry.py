"""The pacers by name, as the campaign file, the simulator and the benchmark name them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from dialer.pacing.issabel import Issabel
from dialer.pacing.predictive import Predictive
from dialer.pacing.progressive import Progressive
from dialer.pacing.snapshot import Snapshot
from dialer.pacing.vicidial import Vicidial, hard_limit


class Pacer(Protocol):
    """Decides how many calls to launch now."""

    name: str

    def launch(self, snap: Snapshot) -> int: ...


PACERS: dict[str, Callable[[], Pacer]] = {
    "progressive": Progressive,
    "predictive": Predictive,
    "vicidial": Vicidial,
    "issabel": Issabel,
    "vicidial-hard-limit": hard_limit,
}


def make_pacer(name: str) -> Pacer:
    try:
        return PACERS[name]()
    except KeyError:
        raise ValueError(f"pacer {name!r} is not one of {', '.join(PACERS)}") from None
