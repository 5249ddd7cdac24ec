"""Progressive pacing: one call in flight per free seat, within the trunk's channels (pure).

The predictive pacer (its own issue) answers the same question with forecasts.
"""

from __future__ import annotations


def progressive(
    free_seats: int, calls_in_flight: int, calls_active: int, channel_limit: int
) -> int:
    """Calls to launch now.

    ``calls_in_flight`` are dialling, ringing or answered calls not yet with an operator: each
    will want a seat. ``calls_active`` are all calls holding a trunk channel.
    """
    wanted = free_seats - calls_in_flight
    room = channel_limit - calls_active
    return max(0, min(wanted, room))
