"""Issabel CallCenter's predictor: a faithful re-implementation, a baseline only.

From Predictor.class.php and CampaignProcess.class.php as ../shared/BASELINES.md describes
them; not improved. The overcommit option is on (it is what makes it predictive).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from dialer.pacing.progressive import one_per_free_seat
from dialer.pacing.snapshot import Snapshot
from dialer.pacing.stats import CallStats


@dataclass
class Issabel:
    qos: float = 0.97
    overcommit: bool = True
    min_calls: int = 10
    floor: float = 0.20
    rate_window_s: float = 1800.0
    """The overcommit's answer rate is the last 30 minutes' dials'."""
    name: str = "issabel"
    drop_after_s: float = 2.0
    """The legal 2 s: Issabel's callers wait in a queue with no drop timer of its own."""
    _seen: deque[tuple[float, int, int]] = field(default_factory=deque)
    """(time, dials ended, dials a person answered) as each decision saw the totals."""

    def launch(self, snap: Snapshot) -> int:
        stats = snap.stats
        dials, answered = self._last_30_min(snap.now, stats)
        if stats.talks < self.min_calls:  # prediction starts after 10 finished calls
            return one_per_free_seat(snap)
        mean_call = max(stats.mean_talk(), 1e-9)
        answer_time = stats.mean_answer_ring()
        about_to_free = sum(
            1
            for elapsed in snap.talk_elapsed
            if 1.0 - math.exp(-(float(elapsed) + answer_time) / mean_call) >= self.qos
        )
        calls = float(snap.free + about_to_free - snap.waiting - snap.in_flight)
        if self.overcommit and dials >= self.min_calls:
            calls = calls / max(answered / dials, self.floor)
        return max(0, min(int(calls), snap.channel_room))

    def _last_30_min(self, now: float, stats: CallStats) -> tuple[int, int]:
        """Dials ended, and those a person answered, since the last decision at least
        ``rate_window_s`` ago; all of them until a decision is that old."""
        seen = self._seen
        seen.append((now, stats.dials_total, stats.answered_dials_total))
        while len(seen) > 1 and seen[1][0] <= now - self.rate_window_s:
            seen.popleft()
        if not seen[0][0] <= now - self.rate_window_s:  # under 30 min of decisions: all of it
            return stats.dials_total, stats.answered_dials_total
        _, dials, answered = seen[0]
        return stats.dials_total - dials, stats.answered_dials_total - answered
