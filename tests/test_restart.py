"""kill -9 of the dialer mid-campaign, then a restart: nothing stored is lost or dialled twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path

from dialer.ami.client import AmiSettings
from dialer.frame_import import import_frame
from dialer.store.db import connect
from dialer.store.quotas import load_counts
from dialer.store.waves import ensure_wave
from sampling.margins import load_margins
from tests.conftest import ALWAYS_OPEN_TOML, REPO, SurveyFactory, free_port, landline, write_frame

CAMPAIGN = """
[campaign]
name = "restart"
survey = "survey-w1.toml"
store = "restart.sqlite"

[ami]
port = {port}
secret_file = "{secret_file}"

[trunk]
context = "sim-pstn"
ring_timeout_s = 3

[retry]
busy_delay_min = 0.02
unreached_delay_min = 0.02
congestion_delay_min = 0.02
day_parts = []

[window]
{always}

[seats]
ids = ["7301", "7302", "7303", "7304"]

[http]
port = {http_port}
token_file = "{token_file}"

[simulation]
answer = 0.8
complete = 0.7
seed = 5
"""


def _completes(store: Path) -> int:
    if not store.exists():
        return 0
    with sqlite3.connect(store) as db:
        row = db.execute("SELECT count(*) FROM sample_case WHERE result = 'complete'").fetchone()
    return int(row[0])


async def test_kill_9_and_restart_loses_nothing_and_never_dials_a_number_twice_at_once(
    tmp_path: Path, make_survey: SurveyFactory, asterisk: AmiSettings
) -> None:
    """Completes stored before the kill survive; the restart fills the quotas exactly; no case
    ever had two attempts at once; the quota counts equal what the store says."""
    survey = make_survey(interviews=12)
    rows = [
        f"{landline(i)},{d},{a},{s},"
        for i, (d, a, s) in enumerate(
            (d, a, s)
            for d in ("North", "South")
            for a in (25, 45, 75)
            for s in "MF"
            for _ in range(15)
        )
    ]
    frame = write_frame(tmp_path / "f.csv", rows)
    store = tmp_path / "restart.sqlite"
    await import_frame(store, survey, frame, [])
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(asterisk.secret, encoding="utf-8")
    token_file = tmp_path / "token.txt"
    token_file.write_text("restart-test-token-0123456789", encoding="utf-8")
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(
        CAMPAIGN.format(
            port=asterisk.port,
            secret_file=secret_file,
            always=ALWAYS_OPEN_TOML,
            http_port=free_port(),
            token_file=token_file,
        ),
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "dialer", "run", "--start", str(campaign)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    deadline = time.monotonic() + 90
    while _completes(store) < 4:
        assert first.returncode is None, "the first run ended before the kill"
        assert time.monotonic() < deadline, "no completes within 90 s"
        await asyncio.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    before = _completes(store)

    with (tmp_path / "restart.log").open("w", encoding="utf-8") as log:
        second = await asyncio.create_subprocess_exec(*command, env=env, stdout=log, stderr=log)
        try:
            code = await asyncio.wait_for(second.wait(), 180)
        finally:
            if second.returncode is None:
                second.kill()
                await second.wait()
    assert 0 == code, (tmp_path / "restart.log").read_text(encoding="utf-8")[-3000:]

    with sqlite3.connect(store) as db:
        overlapping = db.execute(
            "SELECT count(*) FROM attempt a JOIN attempt b ON a.case_id = b.case_id AND a.id < b.id"
            " WHERE b.started_at < a.ended_at"
        ).fetchone()[0]
        still_open = db.execute("SELECT count(*) FROM attempt WHERE ended_at IS NULL").fetchone()[0]
        in_progress = db.execute(
            "SELECT count(*) FROM sample_case WHERE state = 'in_progress'"
        ).fetchone()[0]
        targets = [r[0] for r in db.execute("SELECT target FROM cell ORDER BY position")]
    assert before <= _completes(store)
    assert 12 == _completes(store)
    assert (0, 0, 0) == (overlapping, still_open, in_progress)
    async with connect(store) as db:
        wave = await ensure_wave(db, survey, load_margins(survey.margins_path, survey.grid))
        counts = await load_counts(db, survey, wave)
    assert targets == counts.completes.tolist()
