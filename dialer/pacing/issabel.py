"""Issabel CallCenter's predictor: a faithful re-implementation, a baseline only.

From Predictor.class.php and CampaignProcess.class.php as ../shared/BASELINES.md describes
them; not improved. The overcommit option is on (it is what makes it predictive).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dialer.pacing.progressive import one_per_free_seat
from dialer.pacing.snapshot import Snapshot


@dataclass
class Issabel:
    qos: float = 0.97
    overcommit: bool = True
    min_calls: int = 10
    floor: float = 0.20
    name: str = "issabel"
    drop_after_s: float = 2.0
    """The legal 2 s: Issabel's callers wait in a queue with no drop timer of its own."""

    def launch(self, snap: Snapshot) -> int:
        stats = snap.stats
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
        if self.overcommit and stats.finished_dials >= self.min_calls:
            calls = calls / max(stats.answer_rate(), self.floor)
        return max(0, min(int(calls), snap.channel_room))
