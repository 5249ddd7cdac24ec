"""The supervisors' metrics: Prometheus counters, gauges and histograms for one campaign.

Names follow Prometheus' conventions (base units, ``_total`` counters, ``_seconds``
histograms), all under ``cati_`` and labelled ``campaign``; quota metrics add ``district``,
``age_band`` and ``sex``. Each campaign runner has its own registry, served at ``/metrics``.
The runner calls the recording methods as calls move; the quota gauges are set from the store
at each scrape (``quotas``), so they are right after a restart.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

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

QUOTA_LABELS = ("campaign", "district", "age_band", "sex")


class DialerMetrics:
    """Every metric of one campaign, in ``registry`` (a new one by default)."""

    def __init__(self, campaign: str, registry: CollectorRegistry | None = None) -> None:
        self.campaign = campaign
        self.registry = registry if registry is not None else CollectorRegistry()
        r, c = self.registry, ("campaign",)

        # Metrics labelled by campaign only are kept as the campaign's child: looking the
        # labels up at each event cost a fifth of the event path (bench/metrics_cost.py).
        def counter(name: str, doc: str) -> Counter:
            return Counter(name, doc, c, registry=r).labels(campaign)

        def gauge(name: str, doc: str) -> Gauge:
            return Gauge(name, doc, c, registry=r).labels(campaign)

        def histogram(name: str, doc: str, buckets: Sequence[float]) -> Histogram:
            return Histogram(name, doc, c, buckets=buckets, registry=r).labels(campaign)

        def by(
            kind: type[Counter] | type[Gauge], name: str, doc: str, labels: Sequence[str]
        ) -> Any:
            return kind(name, doc, labels, registry=r)

        self._launched = counter("cati_calls_launched_total", "Calls originated.")
        self._answered = counter(
            "cati_calls_answered_total", "Calls a person answered (put through or abandoned)."
        )
        self._abandoned = counter(
            "cati_calls_abandoned_total", "Answered calls with no operator within the grace."
        )
        self._completes = counter("cati_completes_total", "Interviews completed.")
        self._attempts = by(
            Counter, "cati_attempts_total", "Attempts ended, by outcome.", (*c, "outcome")
        )
        self._dispositions = by(
            Counter,
            "cati_dispositions_total",
            "Attempts given their final AAPOR code: by the outcome alone, or by the operator.",
            (*c, "disposition", "aapor_code"),
        )
        self._reconnects = counter("cati_ami_reconnects_total", "AMI links re-established.")
        self._seats = by(Gauge, "cati_seats", "Logged-in seats by state.", (*c, "state"))
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
        self._abandon_cap = gauge("cati_abandon_rate_cap", "The legal cap on the abandon rate.")
        self._window_answers = gauge(
            "cati_window_answers", "Live answers in the regulatory window."
        )
        self._ami_up = gauge("cati_ami_connected", "1 while the AMI link is up.")
        self._running = gauge(
            "cati_campaign_dialling", "1 while the campaign may dial now (running, in its window)."
        )
        self._target = by(Gauge, "cati_quota_target", "Completes wanted in the cell.", QUOTA_LABELS)
        self._cell_completes = by(
            Gauge, "cati_quota_completes", "Completes counted in the cell.", QUOTA_LABELS
        )
        self._cell_in_progress = by(
            Gauge,
            "cati_quota_in_progress",
            "Interviews under way, reserved in the cell.",
            QUOTA_LABELS,
        )
        self._cell_open = by(
            Gauge, "cati_quota_cell_open", "1 while the cell is open.", QUOTA_LABELS
        )
        self._cell_released = by(
            Gauge,
            "cati_quota_numbers_released",
            "Numbers released in the cell and not yet finished.",
            QUOTA_LABELS,
        )
        self._cell_available = by(
            Gauge,
            "cati_quota_numbers_available",
            "Numbers of the cell's frame a release may still draw.",
            QUOTA_LABELS,
        )
        self._cell_finished = by(
            Gauge,
            "cati_quota_numbers_finished",
            "Released numbers with a final result.",
            QUOTA_LABELS,
        )
        self._cell_yield = by(
            Gauge,
            "cati_quota_frame_completes",
            "Completes among the cell's finished numbers (the yield's numerator).",
            QUOTA_LABELS,
        )
        self._open_cells = gauge("cati_cells_open", "Quota cells still open.")
        self._left = gauge(
            "cati_release_numbers_left", "Released numbers not yet finished, all cells."
        )
        self._wait = histogram(
            "cati_answer_to_seat_seconds", "From a person's answer to an operator.", WAIT_BUCKETS
        )
        self._ring = histogram(
            "cati_ring_to_answer_seconds", "From the dial to a person's answer.", RING_BUCKETS
        )
        self._talk = histogram("cati_talk_seconds", "Operator talk time per call.", TALK_BUCKETS)
        self._wrap = histogram(
            "cati_wrap_up_seconds", "From a call's end to its seat being free again.", WRAP_BUCKETS
        )
        self._lag = histogram(
            "cati_ami_event_lag_seconds",
            "From an AMI event's arrival to the dialer having handled it.",
            LAG_BUCKETS,
        )
        self._ami_up.set(0)

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
        self._attempts.labels(self.campaign, outcome).inc()
        if aapor is not None:
            self._dispositions.labels(self.campaign, outcome, aapor).inc()

    def disposed(self, disposition: str, aapor: str, complete: bool) -> None:
        """An operator's disposition of a connected call."""
        self._dispositions.labels(self.campaign, disposition, aapor).inc()
        if complete:
            self._completes.inc()

    # --- the AMI link -----------------------------------------------------------------------

    def ami_reconnected(self) -> None:
        """The AMI link came back after a loss."""
        self._reconnects.inc()

    def event_handled(self, lag_s: float) -> None:
        self._lag.observe(lag_s)

    # --- pace, at each tick -----------------------------------------------------------------

    def pace(
        self, seats: Iterable[str], ringing: int, waiting: int, dialling: bool, ami_up: bool
    ) -> None:
        """Seats by state (one state name per logged-in seat), the calls out, and whether
        the campaign may dial and Asterisk is reachable."""
        tally = Tally(seats)
        for state in SEAT_STATES:
            self._seats.labels(self.campaign, state).set(tally[state])
        self._ringing.set(ringing)
        self._waiting.set(waiting)
        self._dial_level.set(ringing / max(tally["free"], 1))
        self._running.set(1 if dialling else 0)
        self._ami_up.set(1 if ami_up else 0)

    def abandons(self, rate: float, answers: int, target: float, cap: float) -> None:
        """The regulatory window's abandon rate, with the pacer's target and the cap."""
        self._abandon_rate.set(rate)
        self._window_answers.set(answers)
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
