"""A simulation scenario (TOML): seats, shift, callees, talk times, breaks, cells and targets."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialer.pacing.snapshot import GRACE_S
from sampling.errors import ConfigError
from sampling.tomlkeys import bounded, check_keys, optional, positive_int, table

_SECTIONS: dict[str, set[str]] = {
    "scenario": {"name", "seats", "shift_h", "start", "channels_per_seat"},
    "callees": {"answer", "busy", "machine", "ring_mean_s", "ring_sd_s", "ring_timeout_s",
                "busy_s", "amd_s", "patience_mean_s", "amd_false_positive"},
    "talk": {"complete", "complete_mean_s", "refusal_mean_s", "screen_out_s", "wrap_mean_s"},
    "breaks": {"every_min", "length_min"},
    "quotas": {"cells", "target", "numbers", "yield_spread"},
    "regulation": {"abandon_window_min", "grace_s", "amd_false_positive"},
}  # fmt: skip

MIN_RING_S = 15.0
"""Ring at least 15 s (or four rings) before giving up: the rules, as for a campaign."""
LEGAL_GRACE_S = 2.0
"""An answered callee waits at most 2 s for an operator before the call is abandoned."""


class ScenarioError(ConfigError):
    what = "scenario"


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    seats: int
    shift_h: float
    start_hhmm: int
    channels_per_seat: int
    answer: float
    busy: float
    machine: float
    ring_mean_s: float
    ring_sd_s: float
    ring_timeout_s: float
    busy_s: float
    amd_s: float
    patience_mean_s: float
    complete: float
    complete_mean_s: float
    refusal_mean_s: float
    screen_out_s: float
    wrap_mean_s: float
    break_every_min: float
    break_length_min: float
    cells: int
    target: int
    numbers: int
    yield_spread: float
    abandon_window_min: float
    grace_s: float
    amd_false_positive: float = 0.0
    """Of the machine verdicts, the share that were people hung up on (abandoned)."""
    amd_estimate: float = 0.0
    """The share the pacer counts as abandons (the campaign's estimate; by default the
    true share)."""


def load_scenario(path: Path) -> Scenario:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(str(path), f"cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("(file)", f"not valid TOML: {exc}") from None
    try:
        return _parse(doc, path.stem)
    except ScenarioError:
        raise
    except ConfigError as exc:
        raise ScenarioError(exc.key, exc.problem) from None


def _share(section: dict[str, Any], key: str, default: float) -> float:
    value = optional(section, key, float, default)
    if not 0.0 <= value <= 1.0:
        raise ScenarioError(key, f"must be a share in [0, 1], not {value}")
    return value


def _positive(section: dict[str, Any], key: str, default: float) -> float:
    value = optional(section, key, float, default)
    if not 0 < value < math.inf:  # nan too
        raise ScenarioError(key, f"must be a positive number, not {value}")
    return value


def _parse(doc: dict[str, Any], stem: str) -> Scenario:
    check_keys(doc, _SECTIONS)
    s, c, t = table(doc, "scenario", required=True), table(doc, "callees"), table(doc, "talk")
    b, q, r = table(doc, "breaks"), table(doc, "quotas"), table(doc, "regulation")
    seats = positive_int(optional(s, "scenario.seats", int, 10), "scenario.seats")
    answer = _share(c, "callees.answer", 0.3)
    busy = _share(c, "callees.busy", 0.1)
    machine = _share(c, "callees.machine", 0.1)
    if answer + busy + machine > 1.0:
        raise ScenarioError("callees.answer", "answer + busy + machine exceed 1")
    false_positive = bounded(c, "callees.amd_false_positive", 0.0, 0.0, 1.0, above=False)
    start = optional(s, "scenario.start", str, "09:00")
    try:
        hours, minutes = (int(x) for x in start.split(":"))
    except ValueError:
        raise ScenarioError("scenario.start", f"{start!r} is not HH:MM") from None
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise ScenarioError("scenario.start", f"{start!r} is not a time of day (HH:MM)")
    cells = positive_int(optional(q, "quotas.cells", int, 12), "quotas.cells")
    numbers = positive_int(optional(q, "quotas.numbers", int, seats * 4000), "quotas.numbers")
    if numbers < cells:
        raise ScenarioError("quotas.numbers", f"fewer numbers ({numbers}) than cells ({cells})")
    return Scenario(
        name=optional(s, "scenario.name", str, stem),
        seats=seats,
        shift_h=bounded(s, "scenario.shift_h", 8.0, 0.0, 24.0),
        start_hhmm=hours * 100 + minutes,
        channels_per_seat=positive_int(
            optional(s, "scenario.channels_per_seat", int, 8), "scenario.channels_per_seat"
        ),
        answer=answer,
        busy=busy,
        machine=machine,
        ring_mean_s=_positive(c, "callees.ring_mean_s", 9.0),
        ring_sd_s=_positive(c, "callees.ring_sd_s", 5.0),
        ring_timeout_s=bounded(c, "callees.ring_timeout_s", 25.0, MIN_RING_S, 300.0, above=False),
        busy_s=_positive(c, "callees.busy_s", 4.0),
        amd_s=_positive(c, "callees.amd_s", 2.5),
        patience_mean_s=_positive(c, "callees.patience_mean_s", 8.0),
        complete=_share(t, "talk.complete", 0.35),
        complete_mean_s=_positive(t, "talk.complete_mean_s", 540.0),
        refusal_mean_s=_positive(t, "talk.refusal_mean_s", 40.0),
        screen_out_s=_positive(t, "talk.screen_out_s", 30.0),
        wrap_mean_s=_positive(t, "talk.wrap_mean_s", 15.0),
        break_every_min=_positive(b, "breaks.every_min", 120.0),
        break_length_min=_positive(b, "breaks.length_min", 10.0),
        cells=cells,
        target=positive_int(optional(q, "quotas.target", int, seats * 40), "quotas.target"),
        numbers=numbers,
        yield_spread=_share(q, "quotas.yield_spread", 0.3),
        abandon_window_min=bounded(
            r, "regulation.abandon_window_min", 60.0, 1.0, 60 * 24 * 31, above=False
        ),
        grace_s=bounded(r, "regulation.grace_s", GRACE_S, 0.0, LEGAL_GRACE_S),
        amd_false_positive=false_positive,
        amd_estimate=bounded(
            r, "regulation.amd_false_positive", false_positive, 0.0, 1.0, above=False
        ),
    )
