"""A short campaign on the real Asterisk: dials, connects, records, fills its quotas exactly."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from dialer.ami.client import AmiClient
from dialer.campaign.runner import CampaignSettings, Simulation, run_campaign
from dialer.frame_import import import_frame
from dialer.schedule.retry import RetryPolicy
from dialer.schedule.window import CallingWindow
from dialer.testbed import start_testbed, stop_testbed
from tests.conftest import TEST_AMI_PORT, SurveyFactory, landline, write_frame

ALWAYS_OPEN = CallingWindow.always_open()
FAST_RETRIES = RetryPolicy(
    busy_delay=timedelta(seconds=1),
    unreached_delay=timedelta(seconds=1),
    congestion_delay=timedelta(seconds=1),
    day_parts=(),
)


async def _campaign(tmp_path: Path, make_survey: SurveyFactory) -> CampaignSettings:
    """12 interviews over 12 cells, 15 numbers a cell, 4 simulated operators."""
    survey = make_survey(interviews=12)
    rows = []
    n = 0
    for district in ("North", "South"):
        for age in (25, 45, 75):
            for sex in "MF":
                for _ in range(15):
                    rows.append(f"{landline(n)},{district},{age},{sex},")
                    n += 1
    store = tmp_path / "campaign.sqlite"
    await import_frame(store, survey, write_frame(tmp_path / "f.csv", rows), [])
    return CampaignSettings(
        survey=survey,
        store=store,
        seats=("7101", "7102", "7103", "7104"),
        window=ALWAYS_OPEN,
        retry=FAST_RETRIES,
        simulation=Simulation(answer=0.7, busy=0.1, congestion=0.05, complete=0.7, seed=3),
        ring_timeout_s=3,
        max_duration_s=240,
    )


async def test_short_campaign_fills_its_quotas_exactly_and_stops(
    tmp_path: Path, make_survey: SurveyFactory, ami: AmiClient
) -> None:
    """12 interviews over 12 cells, 4 simulated operators: every target met, none exceeded."""
    settings = await _campaign(tmp_path, make_survey)
    store = settings.store
    summary = await run_campaign(settings, ami)
    assert "quotas full" == summary.finished
    assert 12 == summary.target
    assert summary.target == summary.completes
    assert 0 == summary.overshoot
    with sqlite3.connect(store) as db:
        per_cell = db.execute(
            "SELECT k.target, (SELECT count(*) FROM sample_case c WHERE c.verified_cell_id = k.id"
            " AND c.result = 'complete') FROM cell k"
        ).fetchall()
        live = db.execute("SELECT count(*) FROM attempt WHERE ended_at IS NULL").fetchone()[0]
        codes = {r[0] for r in db.execute("SELECT aapor_code FROM attempt")}
    assert all(target == done for target, done in per_cell)
    assert 0 == live
    assert "1.1" in codes
    assert summary.attempts >= summary.completes


def _completes(store: Path) -> int:
    with sqlite3.connect(store) as db:
        return int(
            db.execute("SELECT count(*) FROM sample_case WHERE result = 'complete'").fetchone()[0]
        )


async def test_campaign_survives_an_asterisk_restart(
    tmp_path: Path, make_survey: SurveyFactory
) -> None:
    """Asterisk stopped and started mid-campaign: the dialer reconnects, resyncs, and still fills
    every quota exactly with no attempt left open."""
    port = TEST_AMI_PORT + 5
    ami = AmiClient(replace(start_testbed(port), ping_interval_s=1))
    await ami.connect()
    settings = await _campaign(tmp_path, make_survey)
    try:
        campaign = asyncio.create_task(run_campaign(settings, ami))
        deadline = time.monotonic() + 60
        while _completes(settings.store) < 3:
            assert time.monotonic() < deadline, "no completes before the restart"
            await asyncio.sleep(0.2)
        await asyncio.to_thread(stop_testbed, port)
        await asyncio.to_thread(start_testbed, port)
        summary = await asyncio.wait_for(campaign, 240)
    finally:
        await ami.close()
        await asyncio.to_thread(stop_testbed, port)
    assert 1 <= ami.reconnects
    assert "quotas full" == summary.finished
    assert (12, 12, 0) == (summary.target, summary.completes, summary.overshoot)
    with sqlite3.connect(settings.store) as db:
        assert 0 == db.execute("SELECT count(*) FROM attempt WHERE ended_at IS NULL").fetchone()[0]
        assert (
            0
            == db.execute(
                "SELECT count(*) FROM sample_case WHERE state = 'in_progress'"
            ).fetchone()[0]
        )
