"""A short campaign on the real Asterisk: dials, connects, records, fills its quotas exactly."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from dialer.ami.client import AmiClient
from dialer.campaign.runner import CampaignSettings, Simulation, run_campaign
from dialer.frame_import import import_frame
from dialer.schedule.retry import RetryPolicy
from dialer.schedule.window import CallingWindow
from tests.conftest import SurveyFactory, landline, write_frame

ALWAYS_OPEN = CallingWindow.always_open()
FAST_RETRIES = RetryPolicy(
    busy_delay=timedelta(seconds=1),
    unreached_delay=timedelta(seconds=1),
    congestion_delay=timedelta(seconds=1),
    day_parts=(),
)


async def test_short_campaign_fills_its_quotas_exactly_and_stops(
    tmp_path: Path, make_survey: SurveyFactory, ami: AmiClient
) -> None:
    """12 interviews over 12 cells, 4 simulated operators: every target met, none exceeded."""
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
    settings = CampaignSettings(
        survey=survey,
        store=store,
        seats=("7101", "7102", "7103", "7104"),
        window=ALWAYS_OPEN,
        retry=FAST_RETRIES,
        simulation=Simulation(answer=0.7, busy=0.1, congestion=0.05, complete=0.7, seed=3),
        ring_timeout_s=3,
        max_duration_s=240,
    )
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
