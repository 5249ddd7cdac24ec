"""The control API on a real uvicorn, driving a campaign on the real Asterisk."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from dialer.ami.client import AmiClient
from dialer.campaign.runner import CampaignRunner, CampaignSummary, open_campaign
from tests.conftest import SurveyFactory, serving, small_campaign, until

TOKEN = "test-token-0123456789abcdef"


@dataclass
class Service:
    runner: CampaignRunner
    api: httpx.AsyncClient
    url: str
    store: Path
    run: asyncio.Task[CampaignSummary]


async def _service(
    tmp_path: Path,
    make_survey: SurveyFactory,
    ami: AmiClient,
    simulated_operators: bool,
    wrap_up_s: float = 0.0,
) -> AsyncIterator[Service]:
    settings = await small_campaign(tmp_path, make_survey)
    assert settings.simulation is not None
    settings = replace(
        settings,
        autostart=False,
        simulation=replace(settings.simulation, operators=simulated_operators),
        max_duration_s=180,
        wrap_up_s=wrap_up_s,
    )
    async with open_campaign(settings, ami) as runner, serving(runner, TOKEN) as (url, run):
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as api:
            yield Service(runner, api, url, settings.store, run)


@pytest.fixture
async def service(
    tmp_path: Path, make_survey: SurveyFactory, ami: AmiClient
) -> AsyncIterator[Service]:
    """A campaign served over HTTP, not yet started; its operators post through the API."""
    async for s in _service(tmp_path, make_survey, ami, simulated_operators=False):
        yield s


@pytest.fixture
async def wrapping(
    tmp_path: Path, make_survey: SurveyFactory, ami: AmiClient
) -> AsyncIterator[Service]:
    """The same, with two minutes of wrap-up after each disposition."""
    async for s in _service(tmp_path, make_survey, ami, simulated_operators=False, wrap_up_s=120):
        yield s


@pytest.fixture
async def simulated(
    tmp_path: Path, make_survey: SurveyFactory, ami: AmiClient
) -> AsyncIterator[Service]:
    """The same, with simulated operators posting their own dispositions."""
    async for s in _service(tmp_path, make_survey, ami, simulated_operators=True):
        yield s


def _attempts(store: Path, where: str = "1") -> list[tuple[Any, ...]]:
    with sqlite3.connect(store) as db:
        return db.execute(
            "SELECT case_id, started_at, outcome, disposition, aapor_code, ended_at"
            f" FROM attempt WHERE {where} ORDER BY id"
        ).fetchall()


async def test_api_refuses_requests_without_the_token(service: Service) -> None:
    """No token or a wrong one: 401, and nothing happens; the OpenAPI schema is published."""
    async with httpx.AsyncClient(base_url=service.url) as anonymous:
        assert 401 == (await anonymous.get("/status")).status_code
        refused = await anonymous.post(
            "/campaign/start", headers={"Authorization": "Bearer wrong-token-0123456789"}
        )
        assert 401 == refused.status_code
        assert "Bearer" == refused.headers["www-authenticate"]
        schema = (await anonymous.get("/openapi.json")).json()
    assert "ready" == (await service.api.get("/status")).json()["state"]
    assert {
        "/status",
        "/campaign/{command}",
        "/seats/{seat_id}/{action}",
        "/calls/{call_id}/disposition",
        "/results/rates",
    } <= set(schema["paths"])


async def test_seats_log_out_and_in(service: Service, ami: AmiClient) -> None:
    """Log out takes the operator's line down; log in opens it again; unknown seats are 404."""
    out = await service.api.post("/seats/7104/logout")
    assert ("logged_out", 200) == (out.json()["state"], out.status_code)

    async def line_down() -> bool:
        return not any("@seat-sim" in c for c in await ami.confbridge_channels("seat-7104"))

    await until(line_down, 5)
    again = await service.api.post("/seats/7104/logout")
    assert (409, "seat 7104 is not logged in") == (again.status_code, again.json()["detail"])
    unknown = await service.api.post("/seats/7999/login")
    assert 404 == unknown.status_code
    assert "seat 7999 is not one of this campaign's seats" == unknown.json()["detail"]
    back = await service.api.post("/seats/7104/login")
    assert 200 == back.status_code, back.text
    assert ("free", 200) == (back.json()["state"], back.status_code)
    assert any("@seat-sim" in c for c in await ami.confbridge_channels("seat-7104"))
    seats = {s["seat"]: s["state"] for s in (await service.api.get("/status")).json()["seats"]}
    assert {"7101": "free", "7102": "free", "7103": "free", "7104": "free"} == seats


async def test_start_pause_resume_stop(simulated: Service) -> None:
    """Ready dials nothing; start dials; paused places no new call; stop ends the run once the
    live calls have ended, with every attempt closed."""
    api = simulated.api
    await asyncio.sleep(1.0)
    assert [] == _attempts(simulated.store)
    assert 409 == (await api.post("/campaign/resume")).status_code
    assert "running" == (await api.post("/campaign/start")).json()["state"]

    async def some_dialled() -> bool:
        return len(_attempts(simulated.store)) >= 4

    await until(some_dialled)
    assert "paused" == (await api.post("/campaign/pause")).json()["state"]
    paused_at = datetime.now(UTC).isoformat()
    await asyncio.sleep(1.5)
    assert [] == _attempts(simulated.store, f"started_at > '{paused_at}'")
    assert "running" == (await api.post("/campaign/resume")).json()["state"]
    resumed_at = datetime.now(UTC).isoformat()

    async def dialling_again() -> bool:
        return bool(_attempts(simulated.store, f"started_at > '{resumed_at}'"))

    await until(dialling_again)
    assert "stopping" == (await api.post("/campaign/stop")).json()["state"]
    summary = await asyncio.wait_for(simulated.run, 60)
    assert "stopped" == summary.finished
    assert [] == _attempts(simulated.store, "ended_at IS NULL")
    assert [] == _attempts(simulated.store, "outcome = 'connected' AND disposition IS NULL")
    assert summary.completes < summary.target


async def test_operators_dispositions_fill_the_quotas(service: Service) -> None:
    """Operators post dispositions over the API: bad ones are refused naming the field, a
    callback is dialled again at its time (the operators refuse the calls before it, the
    first taken for an answering machine: its case stays open), and completes fill every
    cell exactly."""
    api = service.api
    missing = await api.post("/calls/no-such-call/disposition", json={"disposition": "refusal"})
    assert 404 == missing.status_code
    await api.post("/campaign/start")
    done: set[str] = set()
    callback: dict[str, Any] = {}
    machine: dict[str, Any] = {}

    async def operate() -> bool:
        """One look at the seats, as four operators would: dispose of each call put through."""
        status = (await api.get("/status")).json()
        for seat in status["seats"]:
            call_id = seat["call_id"]
            if call_id is None or call_id in done:
                continue
            if not callback:
                bad = await api.post(
                    f"/calls/{call_id}/disposition",
                    json={"disposition": "complete", "district": "North", "age_band": "65+"},
                )
                if bad.status_code == 404:
                    continue  # not put through yet
                assert (422, "sex: a complete needs the respondent's verified sex") == (
                    bad.status_code,
                    bad.json()["detail"],
                )
                at = datetime.now(UTC) + timedelta(seconds=1.5)
                body = {"disposition": "callback", "callback_at": at.isoformat()}
            elif not machine:
                body = {"disposition": "answering_machine"}
            elif not _called_since(service.store, callback["case_id"], callback["at"]):
                body = {"disposition": "refusal"}  # until the callback is kept
            else:
                body = {"disposition": "complete", **_frame_cell(service.store, seat["case_id"])}
            answer = await api.post(f"/calls/{call_id}/disposition", json=body)
            if answer.status_code == 404:
                continue
            assert 200 == answer.status_code, answer.text
            done.add(call_id)
            if body["disposition"] == "callback":
                callback.update(case_id=seat["case_id"], at=at)
            if body["disposition"] == "answering_machine":
                assert "retry" == answer.json()["result"]
                machine.update(case_id=seat["case_id"])
        return bool(status["state"] == "finished")

    await until(operate, 150)
    summary = await asyncio.wait_for(service.run, 10)
    assert ("quotas full", 0) == (summary.finished, summary.overshoot)
    assert summary.target == summary.completes
    attempts = _attempts(service.store, f"case_id = {callback['case_id']}")
    assert ("callback", "2.21") == attempts[0][3:5]
    machine_attempts = _attempts(service.store, f"case_id = {machine['case_id']}")
    assert ("answering_machine", "3.14") == machine_attempts[0][3:5]
    assert _called_since(service.store, callback["case_id"], callback["at"])
    assert [] == _attempts(service.store, "outcome = 'connected' AND disposition IS NULL")
    rates = (await api.get("/results/rates")).json()
    overall, *cells = rates["rows"]
    assert ("all", summary.completes) == (overall["cell"], overall["counts"]["I"])
    assert 12 == len(cells)
    assert overall["counts"]["cases"] == sum(c["counts"]["cases"] for c in cells)
    dialled = {row[0] for row in _attempts(service.store)}
    assert len(dialled) <= overall["counts"]["cases"]  # plus released cases not yet dialled
    counts = overall["counts"]
    rr1 = counts["I"] / (counts["cases"] - counts["NE"])  # every case but the ineligible
    assert rr1 == pytest.approx(overall["rates"]["RR1"])


async def test_a_pause_asked_during_a_call_starts_after_its_disposition(
    service: Service,
) -> None:
    """An operator on a call asks for a break: the seat finishes the call, then pauses
    instead of taking the next one; ready brings it back."""
    api = service.api
    seat = await _a_seat_on_a_call(api)
    asked = await api.post(f"/seats/{seat['seat']}/pause")
    assert 200 == asked.status_code, asked.text
    assert ("on_call", "break") == (asked.json()["state"], asked.json()["pause_after"])
    answer = await api.post(
        f"/calls/{seat['call_id']}/disposition", json={"disposition": "refusal"}
    )
    assert 200 == answer.status_code, answer.text

    await until(lambda: _seat_in(api, seat["seat"], "paused"), 20)
    assert 200 == (await api.post(f"/seats/{seat['seat']}/ready")).status_code
    assert await _seat_in(api, seat["seat"], "free") or await _seat_in(api, seat["seat"], "on_call")


async def test_an_operators_ready_ends_the_wrap_up_and_the_pacer_learns_it(
    wrapping: Service,
) -> None:
    """An operator who presses Ready in the middle of a 2-minute wrap-up frees the seat, and
    the pacer learns that wrap-up's length (it learnt only wrap-ups their timer ended)."""
    api = wrapping.api
    seat = await _a_seat_on_a_call(api)
    answer = await api.post(
        f"/calls/{seat['call_id']}/disposition", json={"disposition": "refusal"}
    )
    assert 200 == answer.status_code, answer.text
    stats = wrapping.runner.stats
    before = stats.wraps

    await until(lambda: _seat_in(api, seat["seat"], "wrap_up"), 20)
    assert 200 == (await api.post(f"/seats/{seat['seat']}/ready")).status_code
    assert before + 1 == stats.wraps
    assert 0 <= stats.mean_wrap() < 60


async def _a_seat_on_a_call(api: httpx.AsyncClient) -> dict[str, Any]:
    """Start the campaign and wait for a seat to be put through: its status row."""
    await api.post("/campaign/start")
    seat: dict[str, Any] = {}

    async def put_through() -> bool:
        for row in (await api.get("/status")).json()["seats"]:
            if row["call_id"] and row["state"] == "on_call":
                seat.update(row)
                return True
        return False

    await until(put_through)
    return seat


async def _seat_in(api: httpx.AsyncClient, seat: str, state: str) -> bool:
    rows = (await api.get("/status")).json()["seats"]
    return any(r["seat"] == seat and r["state"] == state for r in rows)


def _called_since(store: Path, case_id: int, moment: datetime) -> bool:
    return any(
        datetime.fromisoformat(a[1]) >= moment for a in _attempts(store, f"case_id = {case_id}")
    )


def _frame_cell(store: Path, case_id: int) -> dict[str, str]:
    """The respondent's verified cell: in this frame, the cell the number was drawn in."""
    with sqlite3.connect(store) as db:
        district, age_band, sex = db.execute(
            "SELECT k.district, k.age_band, k.sex FROM sample_case c JOIN cell k"
            " ON k.id = c.cell_id WHERE c.id = ?",
            (case_id,),
        ).fetchone()
    return {"district": district, "age_band": age_band, "sex": sex}
