"""The dialer's /metrics on a real uvicorn, after a campaign on the real Asterisk: every count
agrees with the store, and the quota gauges are read from it at each scrape."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from dialer.ami.client import AmiClient
from dialer.api.app import build_app
from dialer.api.server import ApiServer
from dialer.call.state import Answered, MachineDetected, Ringing, new_call, transition
from dialer.campaign.runner import learn, open_campaign
from dialer.disposition import Outcome
from dialer.metrics import DialerMetrics
from dialer.pacing.stats import CallStats
from tests.conftest import SurveyFactory, free_port, small_campaign

TOKEN = "test-token-0123456789abcdef"


def _samples(text: str) -> list[Sample]:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]
    assert len(found) == 1, f"{name} {labels}: {found}"
    return found[0]


def _store(store: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(store) as db:
        return db.execute(sql).fetchall()


async def test_metrics_agree_with_the_store(
    tmp_path: Path, make_survey: SurveyFactory, ami: AmiClient
) -> None:
    """A campaign runs to its quotas; /metrics (no token needed) then counts the calls,
    attempts and completes the store holds, and each cell's target and completes; a cell
    changed in the store shows at the next scrape."""
    settings = replace(await small_campaign(tmp_path, make_survey), name="metrics-test")
    port = free_port()
    async with open_campaign(settings, ami) as runner:
        server = ApiServer("127.0.0.1", port)
        await server.start(build_app(runner, TOKEN))
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                early = _samples((await http.get("/metrics")).text)
                assert 0 == _value(early, "cati_calls_launched_total", campaign="metrics-test")
                summary = await asyncio.wait_for(runner.run(), 240)
                assert "quotas full" == summary.finished
                response = await http.get("/metrics")
                assert 200 == response.status_code
                assert response.headers["content-type"].startswith("text/plain")
                samples = _samples(response.text)
                await _check_against_store(samples, settings.store)
                _store(settings.store, "UPDATE cell SET target = target + 5 WHERE position = 0")
                again = _samples((await http.get("/metrics")).text)
        finally:
            await server.stop()
    first = {"district": "North", "age_band": "18-34", "sex": "M"}
    before = _value(samples, "cati_quota_target", **first)
    assert before + 5 == _value(again, "cati_quota_target", **first)


async def _check_against_store(samples: list[Sample], store: Path) -> None:
    c = {"campaign": "metrics-test"}
    (attempts,) = _store(store, "SELECT count(*) FROM attempt")[0]
    assert attempts == _value(samples, "cati_calls_launched_total", **c)
    for outcome, count in _store(store, "SELECT outcome, count(*) FROM attempt GROUP BY 1"):
        assert count == _value(samples, "cati_attempts_total", outcome=str(outcome), **c)
    (answered,) = _store(store, "SELECT count(*) FROM attempt WHERE answered_at IS NOT NULL")[0]
    assert answered == _value(samples, "cati_calls_answered_total", **c)
    assert answered == _value(samples, "cati_ring_to_answer_seconds_count", **c)
    (abandoned,) = _store(store, "SELECT count(*) FROM attempt WHERE outcome = 'abandoned'")[0]
    assert abandoned == _value(samples, "cati_calls_abandoned_total", **c)
    (completes,) = _store(store, "SELECT count(*) FROM sample_case WHERE result = 'complete'")[0]
    assert completes == _value(samples, "cati_completes_total", **c)
    for code, count in _store(store, "SELECT aapor_code, count(*) FROM attempt GROUP BY 1"):
        coded = [
            s.value
            for s in samples
            if s.name == "cati_dispositions_total" and s.labels.get("aapor_code") == code
        ]
        assert count == sum(coded), code
    cells = _store(
        store,
        "SELECT district, age_band, sex, target, closed_at,"
        " (SELECT count(*) FROM sample_case c WHERE c.verified_cell_id = cell.id"
        "  AND c.result = 'complete') FROM cell",
    )
    assert 12 == len(cells)
    for district, age_band, sex, target, closed_at, done in cells:
        labels = {"district": str(district), "age_band": str(age_band), "sex": str(sex), **c}
        assert target == _value(samples, "cati_quota_target", **labels)
        assert done == _value(samples, "cati_quota_completes", **labels)
        assert (0 if closed_at else 1) == _value(samples, "cati_quota_cell_open", **labels)
    assert 4 == sum(s.value for s in samples if s.name == "cati_seats")
    assert 1 == _value(samples, "cati_ami_connected", **c)
    assert _value(samples, "cati_ami_event_lag_seconds_count", **c) > 0


def test_event_path_counts_expose_as_prometheus_client_would() -> None:
    """The event path's plain-number counters and histograms scrape exactly as
    prometheus-client's own would for the same observations (bucket bounds inclusive)."""
    from prometheus_client import CollectorRegistry, Counter, Histogram

    from dialer.metrics import LAG_BUCKETS, RING_BUCKETS, DialerMetrics

    ours = DialerMetrics("c")
    registry = CollectorRegistry()
    ring = Histogram("cati_ring_to_answer_seconds", "", ["campaign"], buckets=RING_BUCKETS,
                     registry=registry).labels("c")  # fmt: skip
    lag = Histogram("cati_ami_event_lag_seconds", "", ["campaign"], buckets=LAG_BUCKETS,
                    registry=registry).labels("c")  # fmt: skip
    answered = Counter("cati_calls_answered_total", "", ["campaign"], registry=registry)
    attempts = Counter("cati_attempts_total", "", ["campaign", "outcome"], registry=registry)
    rings = [0.5, 1.0, 2.0, 2.5, 25.0, 45.0, 46.0, 0.0, 7.25]  # bounds and between
    for i, value in enumerate(rings):
        ours.answered(value)
        ring.observe(value)
        answered.labels("c").inc()
        outcome = ("busy", "no_answer")[i % 2]
        ours.attempt_ended(outcome, None)
        attempts.labels("c", outcome).inc()
        ours.event_handled(value / 100)
        lag.observe(value / 100)

    def scraped(text: bytes, prefix: tuple[str, ...]) -> dict[tuple[str, str], float]:
        return {
            (s.name, str(sorted(s.labels.items()))): s.value
            for s in _samples(text.decode())
            if s.name.startswith(prefix) and not s.name.endswith("_created")
        }

    names = ("cati_ring_to_answer", "cati_ami_event_lag", "cati_calls_answered", "cati_attempts")
    from prometheus_client import generate_latest

    # the registry knows the event path's names: scrapes by name, and no duplicate series
    named = ours.registry.restricted_registry(["cati_calls_answered_total"])
    assert ["cati_calls_answered"] == [family.name for family in named.collect()]
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Counter("cati_calls_answered", "", ["campaign"], registry=ours.registry)
    expected = scraped(generate_latest(registry), names)
    # each histogram: its buckets, +Inf, count and sum; one answered count; two outcomes
    assert (len(RING_BUCKETS) + 3) + (len(LAG_BUCKETS) + 3) + 1 + 2 == len(expected)
    assert expected == scraped(ours.exposition(), names)


def test_histograms_count_every_observation_at_the_scrape_and_survive_a_bad_one() -> None:
    """Observations wait for a tick or a scrape to be counted; a scrape counts them all. A
    value no histogram can hold (a bug's) is dropped once, not left to fail every fold."""
    metrics = DialerMetrics("c")
    for lag in (0.0004, 0.001, 2.0):
        metrics.event_handled(lag)
    metrics.event_handled("not a number")  # type: ignore[arg-type]
    metrics.fold()
    metrics.event_handled(0.003)
    samples = _samples(metrics.exposition().decode())
    assert 4 == _value(samples, "cati_ami_event_lag_seconds_count", campaign="c")
    assert 1 == _value(samples, "cati_ami_event_lag_seconds_bucket", campaign="c", le="0.0005")
    assert 2 == _value(samples, "cati_ami_event_lag_seconds_bucket", campaign="c", le="0.001")
    assert 3 == _value(samples, "cati_ami_event_lag_seconds_bucket", campaign="c", le="0.005")
    assert 2.0044 == pytest.approx(_value(samples, "cati_ami_event_lag_seconds_sum", campaign="c"))


@pytest.mark.parametrize("answered_first", [False, True])
def test_a_machine_verdict_teaches_the_window_however_the_call_got_there(
    answered_first: bool,
) -> None:
    """A verdict ends a ringing call, or one a resync took for answered (its channel up in
    the hold context before AMD() ran): either way the window counts its estimated person."""
    stats, metrics = CallStats(window_s=3600, machine_people=0.25), DialerMetrics("c")
    start = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    call = new_call("c1", 1, start)
    steps: list[Ringing | Answered | MachineDetected] = [Ringing(start + timedelta(seconds=1))]
    if answered_first:
        steps.append(Answered(start + timedelta(seconds=5), "Local/1@sim-pstn-1;1"))
    steps.append(MachineDetected(start + timedelta(seconds=8)))
    for event in steps:
        before = call.state
        call, _ = transition(call, event)
        learn(stats, metrics, before, call, event.at)
    assert Outcome.MACHINE is call.outcome
    assert (0.25, 0.25) == stats.window((start + timedelta(seconds=9)).timestamp())
    assert (1, 0.25) == stats.machine_window((start + timedelta(seconds=9)).timestamp())
