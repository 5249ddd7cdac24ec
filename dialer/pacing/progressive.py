"""Progressive pacing: one call in flight per free seat (pure)."""

from __future__ import annotations

from dialer.pacing.snapshot import Snapshot


class Progressive:
    """Never more calls out than seats free to take them: no abandons but idle waiting."""

    name = "progressive"
    aiming = 0.0
    """The abandon rate it aims at: none (it abandons only when a seat fails its callee)."""

    def launch(self, snap: Snapshot) -> int:
        return one_per_free_seat(snap)


def one_per_free_seat(snap: Snapshot) -> int:
    """Free seats less the calls that will each want one (in flight, or answered and waiting)."""
    return max(0, min(snap.free - snap.in_flight - snap.waiting, snap.channel_room))
