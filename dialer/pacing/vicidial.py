"""VICIdial's adaptive dial level: a faithful re-implementation, a baseline only.

From bin/AST_VDadapt.pl (calculate_dial_level) and AST_VDauto_dial.pl, as ../shared/BASELINES.md
describes them; not improved. ``now`` is seconds since ``day_start_hhmm`` (the shift's start).
``dial_method`` is what VICIdial does once the day's drops pass ``adaptive_dropped_percentage``:
ADAPT_TAPERED (the benchmark's ``vicidial``) cuts the level only as the day's end nears;
ADAPT_HARD_LIMIT (``vicidial-hard-limit``) drops it to one line per agent at once, the setting
that keeps nearest the cap.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from dialer.pacing.snapshot import Snapshot

DIAL_METHODS = ("ADAPT_TAPERED", "ADAPT_AVERAGE", "ADAPT_HARD_LIMIT")


@dataclass
class Vicidial:
    adaptive_dl_diff_target: float = 0.0
    adaptive_intensity: float = 0.0
    adaptive_maximum_level: float = 3.0
    adaptive_dropped_percentage: float = 3.0
    latest_server_time: int = 2100
    day_start_hhmm: int = 900
    dial_method: str = "ADAPT_TAPERED"
    """ADAPT_TAPERED, ADAPT_AVERAGE or ADAPT_HARD_LIMIT."""
    name: str = "vicidial"
    drop_after_s: float = 2.0
    """``drop_call_seconds``: BASELINES.md's 2 (VICIdial's default is 5). The simulator
    drops a caller no agent took by then, where ours get the scenario's cut-off
    (``regulation.grace_s``, the dialer's)."""
    level: float = 1.0
    _samples: deque[tuple[int, int, int]] = field(default_factory=lambda: deque(maxlen=15))
    _next_sample: float = 0.0
    _next_adapt: float = 15.0
    _next_place: float = 0.0
    _next_drop_refresh: float = 0.0
    _drop_pct_today: float = 0.0
    _placed: deque[tuple[float, int]] = field(default_factory=deque)  # the last minute's

    def __post_init__(self) -> None:
        if self.dial_method not in DIAL_METHODS:
            raise ValueError(f"dial_method {self.dial_method!r} is not one of {DIAL_METHODS}")

    def launch(self, snap: Snapshot) -> int:
        now = snap.now
        if now >= self._next_sample:  # every 1 s
            ready = snap.free
            total = snap.staffed + snap.paused
            self._samples.append((ready, snap.waiting, total))
            self._next_sample = now + 1.0
        if now >= self._next_drop_refresh:  # the day's drop rate, refreshed every 60 s
            stats = snap.stats
            answers = stats.answers_total
            self._drop_pct_today = 100.0 * stats.abandons_total / answers if answers else 0.0
            self._next_drop_refresh = now + 60.0
        if now >= self._next_adapt:  # every 15 s
            self.level = self._adapt(snap)
            self._next_adapt = now + 15.0
        if now < self._next_place:  # the dialer places calls every 2.5 s, on schedule
            return 0
        following = self._next_place + 2.5  # 0, 2.5, 5...: on 1-s ticks, at 0, 3, 5, 8...
        self._next_place = following if following > now else now + 2.5
        agents = snap.free + snap.busy  # READY/DONE, and on a live call
        existing = snap.in_flight + snap.waiting + snap.busy
        placed = max(0, min(round(self.level * agents) - existing, snap.channel_room))
        self._placed.append((now, placed))
        return placed

    def _adapt(self, snap: Snapshot) -> float:
        if not self._samples:
            return self.level
        n = len(self._samples)
        diff = sum(s[0] for s in self._samples) / n - sum(s[1] for s in self._samples) / n
        total = sum(s[2] for s in self._samples) / n
        target = diff + self.adaptive_dl_diff_target
        pct = 100.0 * target / total if target and total else 0.0
        k = self.adaptive_intensity / 100.0
        ipct = pct * abs(k - 1) if pct < 0 else pct * (k + 1)
        new = min(self.level * (1 + ipct / 100.0), self.adaptive_maximum_level)
        new = max(new, 1.0)
        calls_minute = self._calls_last_minute(snap.now)
        drops_minute = snap.stats.last_minute(snap.now)[1]
        if calls_minute > 20 and drops_minute / calls_minute > 0.5:
            new = new / 2
        stats = snap.stats
        if stats.dials_total > 50 and self._drop_pct_today > self.adaptive_dropped_percentage:
            if self.dial_method == "ADAPT_HARD_LIMIT":
                new = 1.0
            elif self.dial_method == "ADAPT_AVERAGE":
                new = new / 2
            else:
                left = self.latest_server_time - self._hhmm(snap.now)  # plain HHMM arithmetic
                new = 1.0 if left < 0 else new * min(1.0, left / 1000)
        return max(new, 1.0)

    def _calls_last_minute(self, now: float) -> int:
        """Calls placed over the last 60 s (VICIdial's calls_last_minute: dials, not answers)."""
        while self._placed and self._placed[0][0] <= now - 60.0:
            self._placed.popleft()
        return sum(count for _, count in self._placed)

    def _hhmm(self, now: float) -> int:
        start = (self.day_start_hhmm // 100) * 60 + self.day_start_hhmm % 100
        minutes = start + int(now // 60)
        return (minutes // 60) * 100 + minutes % 60


def hard_limit() -> Vicidial:
    """VICIdial with ADAPT_HARD_LIMIT: one line per agent while the day's drops exceed 3%."""
    return Vicidial(dial_method="ADAPT_HARD_LIMIT", name="vicidial-hard-limit")
