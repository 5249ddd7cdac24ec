"""The supervisors' metrics: Prometheus counters, gauges and histograms for one campaign.

Names follow Prometheus' conventions (base units, ``_total`` counters, ``_seconds``
histograms), all under ``cati_`` and labelled ``campaign``; quota metrics add ``district``,
``age_band`` and ``sex``. Each campaign runner has its own registry, served at ``/metrics``.
The runner calls the recording methods as calls move; the quota gauges are set from the store
at each scrape (``quotas``), so they are right after a restart.

What the AMI event path records (calls, attempts, the histograms) is kept as plain numbers
and turned into Prometheus families at scrape time by a custom collector: prometheus-client's
own counters and histograms take a lock and a value wrapper at each update, which cost the
event path as much as a fifth of panoramisk's parsing (bench/metrics_cost.py). The dialer is
one asyncio loop, so nothing else updates them meanwhile.
"""

from __future__ import annotations

import itertools
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import structlog
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from dialer.store.quotas import CellCounts
from sampling.cells import CellKey

SEAT_STATES = ("free", "talking", "wrap_up", "paused", "no_line")
"""Seat states as the gauge names them (``no_line``: logged in, the operator's line down)."""

# Buckets by what each measures: the 2-s rule, ring times up to the 25-s timeout, talk times
# from a refusal to a long interview, wrap-ups, and event handling well under a tick.
WAIT_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
RING_BUCKETS = (1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 15.0, 20.0, 25.0, 30.0, 45.0)
TALK_BUCKETS = (10.0, 30.0, 60.0, 120.0, 180.0, 300.0, 450.0, 600.0, 900.0, 1200.0, 1800.0)
WRAP_BUCKETS = (1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 120.0, 300.0)
LAG_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)

log = structlog.get_logger(__name__)

QUOTA_LABELS = ("campaign", "district", "age_band", "sex")


class DialerMetrics:
    """Every metric of one campaign, in ``registry`` (a new one by default)."""

    def __init__(self, campaign: str, registry: CollectorRegistry | None = None) -> None:
        self.campaign = campaign
        self.registry = registry if registry is not None else CollectorRegistry()
        r, c = self.registry, ("campaign",)

        def gauge(name: str, doc: str) -> Gauge:
            return Gauge(name, doc, c, registry=r).labels(campaign)

        def by(name: str, doc: str, labels: Sequence[str]) -> Gauge:
            return Gauge(name, doc, labels, registry=r)

        path = _EventPath(campaign)
        self._launched = path.count("cati_calls_launched_total", "Calls originated.")
        self._answered = path.count(
            "cati_calls_answered_total", "Calls a person answered (put through or abandoned)."
        )
        self._abandoned = path.count(
            "cati_calls_abandoned_total", "Answered calls with no operator within the grace."
        )
        self._completes = path.count("cati_completes_total", "Interviews completed.")
        self._attempts = path.by("cati_attempts_total", "Attempts ended, by outcome.", ("outcome",))
        self._dispositions = path.by(
            "cati_dispositions_total",
            "Attempts given their final AAPOR code: by the outcome alone, or by the operator.",
            ("disposition", "aapor_code"),
        )
        self._reconnects = path.count("cati_ami_reconnects_total", "AMI links re-established.")
        self._seats = by("cati_seats", "Logged-in seats by state.", (*c, "state"))
        self._ringing = gauge("cati_calls_ringing", "Calls out, not yet answered.")
        self._waiting = gauge("cati_calls_waiting", "Answered callers waiting for a seat.")
        self._dial_level = gauge(
            "cati_dial_level", "Calls out per free seat (no free seat counts as one)."
        )
        self._abandon_rate = gauge(
            "cati_abandon_rate", "Abandoned over live answers, over the regulatory window."
        )
        self._abandon_target = gauge(
            "cati_abandon_rate_target", "The abandon rate the pacer steers to."
        )
        self._abandon_cap = gauge(
            "cati_abandon_rate_cap", "The cap on the abandon rate: the law's, or a house cap."
        )
        self._window_answers = gauge(
            "cati_window_answers",
            "Live answers in the regulatory window, machine verdicts' estimated people included.",
        )
        self._detection = gauge(
            "cati_amd_on",
            "1 while answering-machine detection is on for new calls (0: off, or suspended "
            "because its estimated false positives near the abandon cap).",
        )
        self._amd_abandons = gauge(
            "cati_window_amd_abandons",
            "Of the window's abandons, those estimated from machine verdicts (people that "
            "answering-machine detection hung up on).",
        )
        self._ami_up = gauge("cati_ami_connected", "1 while the AMI link is up.")
        self._running = gauge(
            "cati_campaign_dialling", "1 while the campaign may dial now (running, in its window)."
        )
        self._target = by("cati_quota_target", "Completes wanted in the cell.", QUOTA_LABELS)
        self._cell_completes = by(
            "cati_quota_completes", "Completes counted in the cell.", QUOTA_LABELS
        )
        self._cell_in_progress = by(
            "cati_quota_in_progress",
            "Interviews under way, reserved in the cell.",
            QUOTA_LABELS,
        )
        self._cell_open = by("cati_quota_cell_open", "1 while the cell is open.", QUOTA_LABELS)
        self._cell_released = by(
            "cati_quota_numbers_released",
            "Numbers released in the cell and not yet finished.",
            QUOTA_LABELS,
        )
        self._cell_available = by(
            "cati_quota_numbers_available",
            "Numbers of the cell's frame a release may still draw.",
            QUOTA_LABELS,
        )
        self._cell_finished = by(
            "cati_quota_numbers_finished",
            "Released numbers with a final result.",
            QUOTA_LABELS,
        )
        self._cell_yield = by(
            "cati_quota_frame_completes",
            "Completes among the cell's finished numbers (the yield's numerator).",
            QUOTA_LABELS,
        )
        self._open_cells = gauge("cati_cells_open", "Quota cells still open.")
        self._left = gauge(
            "cati_release_numbers_left", "Released numbers not yet finished, all cells."
        )
        self._wait = path.histogram(
            "cati_answer_to_seat_seconds", "From a person's answer to an operator.", WAIT_BUCKETS
        )
        self._ring = path.histogram(
            "cati_ring_to_answer_seconds", "From the dial to a person's answer.", RING_BUCKETS
        )
        self._talk = path.histogram(
            "cati_talk_seconds", "Operator talk time per call.", TALK_BUCKETS
        )
        self._wrap = path.histogram(
            "cati_wrap_up_seconds", "From a call's end to its seat being free again.", WRAP_BUCKETS
        )
        self._lag = path.histogram(
            "cati_ami_event_lag_seconds",
            "From an AMI event's arrival to the dialer having handled it.",
            LAG_BUCKETS,
        )
        self.event_handled = self._lag.observe
        self._ami_up.set(0)
        self.registry.register(path)  # once it holds its metrics: the registry learns their names
        self._path = path

    # --- calls ------------------------------------------------------------------------------

    def launched(self) -> None:
        self._launched.inc()

    def answered(self, ring_s: float) -> None:
        self._answered.inc()
        self._ring.observe(ring_s)

    def connected(self, wait_s: float) -> None:
        self._wait.observe(wait_s)

    def abandoned(self) -> None:
        self._abandoned.inc()

    def talk_ended(self, seconds: float) -> None:
        self._talk.observe(seconds)

    def wrap_ended(self, seconds: float) -> None:
        self._wrap.observe(seconds)

    def attempt_ended(self, outcome: str, aapor: str | None) -> None:
        """An attempt stored; ``aapor`` when its outcome alone decides its code."""
        self._attempts.inc((outcome,))
        if aapor is not None:
            self._dispositions.inc((outcome, aapor))

    def disposed(self, disposition: str, aapor: str, complete: bool) -> None:
        """An operator's disposition of a connected call."""
        self._dispositions.inc((disposition, aapor))
        if complete:
            self._completes.inc()

    # --- the AMI link -----------------------------------------------------------------------

    def ami_reconnected(self) -> None:
        """The AMI link came back after a loss."""
        self._reconnects.inc()

    event_handled: Callable[[float], None]
    """An AMI event handled ``lag_s`` after its arrival: the lag histogram's own ``observe``
    (set in ``__init__``), since every event of the stream asks."""

    def fold(self) -> None:
        """Count the histograms' observations since the last fold into their buckets."""
        self._path.fold()

    # --- pace, at each tick -----------------------------------------------------------------

    def pace(
        self, seats: Iterable[str], ringing: int, waiting: int, dialling: bool, ami_up: bool
    ) -> None:
        """Seats by state (one state name per logged-in seat), the calls out, and whether
        the campaign may dial and Asterisk is reachable; at each tick, so the histograms'
        observations since the last are counted too (``fold``)."""
        self.fold()
        tally = Tally(seats)
        for state in SEAT_STATES:
            self._seats.labels(self.campaign, state).set(tally[state])
        self._ringing.set(ringing)
        self._waiting.set(waiting)
        self._dial_level.set(ringing / max(tally["free"], 1))
        self._running.set(1 if dialling else 0)
        self._ami_up.set(1 if ami_up else 0)

    def detection(self, on: bool) -> None:
        """Whether answering-machine detection is on for the calls dialled now."""
        self._detection.set(1 if on else 0)

    def abandons(
        self, rate: float, answers: float, target: float, cap: float, amd: float = 0.0
    ) -> None:
        """The regulatory window's abandon rate, with the pacer's target and the cap; ``amd``
        of its abandons are estimated from machine verdicts."""
        self._abandon_rate.set(rate)
        self._window_answers.set(answers)
        self._amd_abandons.set(amd)
        self._abandon_target.set(target)
        self._abandon_cap.set(cap)

    # --- quotas, from the store at each scrape ---------------------------------------------

    def quotas(self, cells: Sequence[CellKey], counts: CellCounts) -> None:
        """Set every cell's gauges from counts read from the store just now."""
        columns = (
            (self._target, counts.target),
            (self._cell_completes, counts.completes),
            (self._cell_in_progress, counts.in_progress),
            (self._cell_released, counts.released),
            (self._cell_available, counts.available),
            (self._cell_finished, counts.finished),
            (self._cell_yield, counts.frame_completes),
        )
        for i, key in enumerate(cells):
            labels = (self.campaign, key.district, key.age_band, key.sex)
            for metric, values in columns:
                metric.labels(*labels).set(int(values[i]))
            self._cell_open.labels(*labels).set(0 if counts.closed_at[i] else 1)
        self._open_cells.set(sum(1 for c in counts.closed_at if not c))
        self._left.set(int(sum(counts.released)))

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


class _Count:
    """A counter as a plain number."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self) -> None:
        self.value += 1.0


class _Counts:
    """Counters by label values (besides the campaign), as plain numbers."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: dict[tuple[str, ...], float] = {}

    def inc(self, labels: tuple[str, ...]) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + 1.0


class _Buckets:
    """A histogram as plain numbers: observations per bucket (the last: past every bound).

    ``observe`` only appends the value (a list's own ``append``: no Python frame on the
    event path, where sorting each value into its bucket cost half the metrics' share of a
    call: bench/metrics_cost.py); ``fold`` sorts what came since, all at once, and runs at
    each tick and before each scrape, so a scrape sees every observation."""

    __slots__ = ("_edges", "bounds", "counts", "observe", "pending", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self._edges = np.array(self.bounds)
        self.counts = np.zeros(len(self.bounds) + 1, dtype=np.int64)
        self.total = 0.0
        self.pending: list[float] = []
        self.observe: Callable[[float], None] = self.pending.append

    def fold(self) -> None:
        """Count the observations made since the last fold into their buckets."""
        pending = self.pending
        if not pending:
            return
        taken = pending[:]
        del pending[: len(taken)]  # one step: an observation made meanwhile stays pending
        try:
            values = np.array(taken, dtype=np.float64)
        except (TypeError, ValueError):  # a bug's value: dropped, not left to fail every fold
            kept = [v for v in taken if isinstance(v, int | float)]
            log.error("histogram values dropped", dropped=len(taken) - len(kept))
            values = np.array(kept, dtype=np.float64)
        where = np.searchsorted(self._edges, values, side="left")  # a bound holds its value
        self.counts += np.bincount(where, minlength=len(self.counts))
        self.total += float(values.sum())


class _EventPath(Collector):
    """The event path's counters and histograms, as Prometheus families at each scrape."""

    def __init__(self, campaign: str) -> None:
        self.campaign = campaign
        self._counts: list[tuple[str, str, _Count]] = []
        self._by: list[tuple[str, str, tuple[str, ...], _Counts]] = []
        self._histograms: list[tuple[str, str, _Buckets]] = []

    def count(self, name: str, doc: str) -> _Count:
        found = _Count()
        self._counts.append((name, doc, found))
        return found

    def by(self, name: str, doc: str, labels: tuple[str, ...]) -> _Counts:
        found = _Counts()
        self._by.append((name, doc, labels, found))
        return found

    def histogram(self, name: str, doc: str, bounds: Sequence[float]) -> _Buckets:
        found = _Buckets(bounds)
        self._histograms.append((name, doc, found))
        return found

    def fold(self) -> None:
        for _, _, buckets in self._histograms:
            buckets.fold()

    def collect(self) -> Iterator[Metric]:
        self.fold()
        campaign = (self.campaign,)
        for name, doc, count in self._counts:
            family = CounterMetricFamily(name, doc, labels=("campaign",))
            family.add_metric(campaign, count.value)
            yield family
        for name, doc, labels, counts in self._by:
            family = CounterMetricFamily(name, doc, labels=("campaign", *labels))
            for values, value in sorted(counts.values.items()):
                family.add_metric((*campaign, *values), value)
            yield family
        for name, doc, buckets in self._histograms:
            histogram = HistogramMetricFamily(name, doc, labels=("campaign",))
            cumulative = itertools.accumulate(list(buckets.counts))
            edges = [*(_le(b) for b in buckets.bounds), "+Inf"]
            histogram.add_metric(
                campaign, [(e, float(n)) for e, n in zip(edges, cumulative, strict=True)],
                buckets.total,
            )  # fmt: skip
            yield histogram

    def describe(self) -> Iterator[Metric]:
        return self.collect()


def _le(bound: float) -> str:
    """A bucket's bound as prometheus-client writes it (Go's float format)."""
    text: str = floatToGoString(bound)  # type: ignore[no-untyped-call]
    return text
