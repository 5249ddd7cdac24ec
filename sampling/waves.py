"""Repeated waves: which earlier waves' results keep a number out of a new wave's draws."""

from __future__ import annotations

from sampling.survey import WaveRule


def lookback(current: int, rule: WaveRule) -> range:
    """Wave numbers whose results exclude a number from wave ``current`` (may be empty)."""
    return range(max(1, current - rule.exclude_last), current)
