"""The operators' console: sessions, secrets, the seat's view, its HTTP routes on a real
campaign, and an operator's whole call in a real headless Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sqlite3
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from dialer.ami.client import AmiClient
from dialer.campaign.runner import CampaignRunner, CampaignSummary, open_campaign
from dialer.campaign.selection import CaseView
from dialer.console.changes import Changes
from dialer.console.operators import OperatorsFileError, check_secret, hash_secret, load_operators
from dialer.console.routes import ConsoleSettings, _stream
from dialer.console.sessions import SessionError, Sessions, TooManyFailures
from dialer.console.view import case_card, seat_view
from dialer.disposition import Disposition, Outcome
from dialer.schedule.retry import AttemptRecord
from dialer.seats import SeatBoard, end_call, log_in, pause, take
from questionnaire.load import load_questionnaire
from sampling.cells import CellGrid, parse_age_band
from sampling.survey import Survey
from tests.conftest import REPO, SurveyFactory, serving, small_campaign

TOKEN = "test-token-0123456789abcdef"
SECRET = "anna-7101-secret"
SHIPPED = REPO / "sampling" / "data" / "la_spezia" / "questionnaire.toml"
LA_SPEZIA = load_questionnaire(SHIPPED)
ARTEFACTS = REPO / "test-artifacts" / "console"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


# --- sessions, secrets, the view (pure) --------------------------------------------------


def test_a_session_expires_after_its_lifetime_or_when_idle() -> None:
    """A session lasts a shift from login, and ends after half an hour without a request."""
    sessions = Sessions(lifetime=timedelta(hours=10), idle=timedelta(minutes=30))
    token = sessions.open("7101", T0)
    assert "7101" == sessions.seat(token, T0 + timedelta(minutes=29))
    assert "7101" == sessions.seat(token, T0 + timedelta(minutes=58))  # seen at 29: not idle
    with pytest.raises(SessionError, match="expired"):
        sessions.seat(token, T0 + timedelta(minutes=90))
    with pytest.raises(SessionError, match="not logged in"):
        sessions.seat(token, T0 + timedelta(minutes=91))  # gone for good
    long = sessions.open("7101", T0)
    for minutes in range(20, 600, 20):
        sessions.seat(long, T0 + timedelta(minutes=minutes))
    with pytest.raises(SessionError, match="expired"):
        sessions.seat(long, T0 + timedelta(hours=10, minutes=1))


def test_wrong_secrets_lock_a_seat_for_their_address_a_while() -> None:
    """Five wrong secrets for a seat from one address within five minutes: its logins wait
    until five minutes after the first; other addresses and seats are not held up, and a
    login clears the count."""
    sessions = Sessions()
    for second in range(5):
        sessions.admit("7101", "10.0.0.9", T0 + timedelta(seconds=second))
        sessions.failed("7101", "10.0.0.9", T0 + timedelta(seconds=second))
    with pytest.raises(TooManyFailures, match=r"seat 7101: try after 2026-11-23T09:05:00\+00:00"):
        sessions.admit("7101", "10.0.0.9", T0 + timedelta(minutes=1))
    sessions.admit("7101", "10.0.0.7", T0 + timedelta(minutes=1))
    sessions.admit("7102", "10.0.0.9", T0 + timedelta(minutes=1))
    sessions.admit("7101", "10.0.0.9", T0 + timedelta(minutes=5, seconds=1))
    sessions.open("7101", T0 + timedelta(minutes=1))
    sessions.admit("7101", "10.0.0.9", T0 + timedelta(minutes=1))


def test_one_session_per_seat_and_logout() -> None:
    """Logging in again ends the seat's earlier session; logout ends it; no token, no seat."""
    sessions = Sessions()
    first = sessions.open("7101", T0)
    second = sessions.open("7101", T0)
    with pytest.raises(SessionError):
        sessions.seat(first, T0)
    assert "7101" == sessions.seat(second, T0)
    sessions.close(second)
    with pytest.raises(SessionError):
        sessions.seat(second, T0)
    with pytest.raises(SessionError):
        sessions.seat(None, T0)


def test_secrets_are_stored_as_salted_hashes(tmp_path: Path) -> None:
    """A secret checks against its hash only; the operators file names seats and hashes."""
    stored = hash_secret(SECRET)
    assert stored.startswith("scrypt$")
    assert SECRET not in stored
    assert stored != hash_secret(SECRET)  # a new salt each time
    assert check_secret(SECRET, stored)
    assert not check_secret("anna-7101-secreT", stored)
    assert not check_secret(SECRET, "plain text")
    path = tmp_path / "operators.toml"
    path.write_text(f'"7101" = "{stored}"\n', encoding="utf-8")
    assert {"7101": stored} == load_operators(path, ("7101", "7102"))
    path.write_text(f'"7999" = "{stored}"\n', encoding="utf-8")
    with pytest.raises(OperatorsFileError, match="7999: is not one of the campaign's seats"):
        load_operators(path, ("7101",))
    path.write_text('"7101" = "letmein"\n', encoding="utf-8")
    with pytest.raises(OperatorsFileError, match="7101: must be a hash"):
        load_operators(path, ("7101",))


def test_the_seat_view_shows_the_case_with_the_number_masked() -> None:
    """On a call the view carries the case card: the frame cell, the history with the
    callback note, the introduction, and only the number's last 3 digits."""
    bands = tuple(parse_age_band(label) for label in ("18-34", "35-64", "65+"))
    grid = CellGrid(("North", "South"), bands, ("M", "F"))
    history = (
        AttemptRecord(T0, Outcome.NO_ANSWER),
        AttemptRecord(T0 + timedelta(hours=2), Outcome.CONNECTED, Disposition.CALLBACK,
                      T0 + timedelta(days=1), "chiedere di Anna"),
    )  # fmt: skip
    case = CaseView(7, "+390187123456", 3, {"age": "47"}, history)
    card = case_card("call-1", case, grid, LA_SPEZIA, admitted=True)
    assert "**********456" == card.phone  # every digit but the last 3, and the +
    assert {"district": "North", "age_band": "35-64", "sex": "F", "age": "47"} == card.frame
    assert "chiedere di Anna" == card.callback_note
    assert ["no_answer", "connected"] == [a["outcome"] for a in card.attempts]
    assert card.introduction["it"].startswith("Buongiorno")
    board, _ = take(log_in(SeatBoard(), "7101", T0), "call-1", T0)
    on_call = seat_view("7101", board, card, on_the_line=True)
    assert ("on_call", False) == (on_call.state, on_call.hung_up)
    wrap = seat_view("7101", end_call(board, "7101", T0), card, on_the_line=False)
    assert ("wrap_up", True) == (wrap.state, wrap.hung_up)
    paused = seat_view("7101", pause(log_in(SeatBoard(), "7101", T0), "7101", "training", T0),
                       None, False)  # fmt: skip
    assert ("paused", "training", None) == (paused.state, paused.pause_reason, paused.call)
    assert "logged_out" == seat_view("7102", board, None, False).state


# --- the console on a real campaign ------------------------------------------------------


@dataclass
class Console:
    runner: CampaignRunner
    url: str
    api: httpx.AsyncClient
    store: Path
    run: asyncio.Task[CampaignSummary]
    offset: list[timedelta]
    """The console's clock runs this far ahead of the real one (tests move it)."""

    def shift(self, by: timedelta) -> None:
        self.offset[0] += by


async def _console(
    tmp_path: Path, make_survey: SurveyFactory, ami: AmiClient, questionnaire: Path = SHIPPED
) -> AsyncGenerator[Console, None]:
    settings = await small_campaign(tmp_path, make_survey, seats=("7101",))
    assert settings.simulation is not None
    survey: Survey = replace(settings.survey, questionnaire_path=questionnaire)
    settings = replace(
        settings,
        survey=survey,
        autostart=False,
        simulation=replace(settings.simulation, operators=False, answer=1.0, busy=0.0,
                           congestion=0.0),
        max_duration_s=240,
        wrap_up_s=1.0,
    )  # fmt: skip
    offset = [timedelta(0)]
    async with open_campaign(settings, ami) as runner:
        console = ConsoleSettings(
            operators={"7101": hash_secret(SECRET)},
            grid=survey.grid,
            questionnaire=runner.questionnaire,
            clock=lambda: datetime.now(UTC) + offset[0],
            sessions=Sessions(),
        )
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            serving(runner, TOKEN, console) as (url, run),
            httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as api,
        ):
            yield Console(runner, url, api, settings.store, run, offset)


@pytest.fixture
async def console(
    tmp_path: Path, make_survey: SurveyFactory, ami: AmiClient
) -> AsyncIterator[Console]:
    """A one-seat campaign (7101) served with the console, not yet started; its callees are
    simulated and stay on the line 120 s; the operator is whoever logs in to the console."""
    async for c in _console(tmp_path, make_survey, ami):
        yield c


@contextlib.asynccontextmanager
async def _logged_in(console: Console) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client holding seat 7101's console session."""
    async with httpx.AsyncClient(base_url=console.url, timeout=10) as client:
        answer = await client.post("/console/login", json={"seat": "7101", "secret": SECRET})
        assert 200 == answer.status_code, answer.text
        yield client


async def _view_with_call(client: httpx.AsyncClient, within_s: float = 60) -> dict[str, Any]:
    """Read the seat's event stream until a call is put through; its view."""
    async with asyncio.timeout(within_s):
        async with client.stream("GET", "/console/events", timeout=None) as stream:
            assert "no" == stream.headers["X-Accel-Buffering"]  # nginx: pass it on at once
            event = ""
            async for line in stream.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "seat":
                    view: dict[str, Any] = json.loads(line[6:])
                    if view["call"] is not None:
                        return view
    raise AssertionError("no call")  # pragma: no cover


async def test_console_refuses_bad_logins_and_expired_sessions(console: Console) -> None:
    """A wrong secret or seat is 401 with one message; without a session every route is
    401; an expired session says so; after five wrong secrets a seat's logins wait (429)."""
    async with httpx.AsyncClient(base_url=console.url) as anonymous:
        page = await anonymous.get("/console")
        assert 200 == page.status_code
        assert "<title>CATI console</title>" in page.text
        for body in ({"seat": "7101", "secret": "wrong"}, {"seat": "7102", "secret": SECRET}):
            refused = await anonymous.post("/console/login", json=body)
            assert (401, "wrong seat or secret") == (refused.status_code, refused.json()["detail"])
        for route in ("/console/ready", "/console/next", "/console/disposition"):
            assert 401 == (await anonymous.post(route, json={})).status_code
        assert 401 == (await anonymous.get("/console/events")).status_code
    async with _logged_in(console) as client:
        assert 200 == (await client.post("/console/pause", json={"reason": "training"})).status_code
        console.shift(timedelta(hours=11))
        expired = await client.post("/console/ready")
        assert (401, "the session has expired: log in again") == (
            expired.status_code, expired.json()["detail"],
        )  # fmt: skip
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as guesser:
        guess = {"seat": "7101", "secret": "guess"}
        sent = [guesser.post("/console/login", json=guess) for _ in range(12)]  # at once
        codes = sorted(r.status_code for r in await asyncio.gather(*sent))
        assert codes.count(401) in (5, 6)  # checked two at a time: one more may slip in
        assert set(codes) == {401, 429}
        right = {"seat": "7101", "secret": SECRET}
        held = await guesser.post("/console/login", json=right)
        assert 429 == held.status_code
        assert "too many wrong secrets for seat 7101" in held.json()["detail"]
        # behind the TLS proxy deploy/README.md asks for, each operator's own address counts
        proxied = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
        other = await guesser.post("/console/login", json=right, headers=proxied)
        assert 200 == other.status_code
        console.shift(timedelta(minutes=6))
        assert 200 == (await guesser.post("/console/login", json=right)).status_code


async def test_a_disposition_needs_a_call_and_answers_in_range(console: Console) -> None:
    """No call on the seat: 409. An answer out of range: 422 naming the question, and
    nothing stored; a complete without its answers is refused, naming them; a disposition
    for another call than the seat's (a page behind the seat) is 409, and nothing stored."""
    async with _logged_in(console) as client:
        idle = await client.post(
            "/console/disposition", json={"call_id": "gone", "disposition": "refusal"}
        )
        assert (409, "seat 7101 has no call awaiting a disposition") == (
            idle.status_code, idle.json()["detail"],
        )  # fmt: skip
        bad = await client.post(
            "/console/next",
            json={"answers": {"q1": "B", "q2": "C", "q3": {"a": 9}}, "after": "q3"},
        )
        assert 422 == bad.status_code
        assert "answer to q3.a: 9 is not a rating from 1 to 4" == bad.json()["detail"]
        lost = await client.post("/console/next", json={"answers": {}, "after": "q99"})
        assert (422, "after: q99 is not on this interview's path") == (
            lost.status_code, lost.json()["detail"],
        )  # fmt: skip
        await console.api.post("/campaign/start")
        view = await _view_with_call(client)
        call_id = view["call"]["call_id"]
        incomplete = await client.post(
            "/console/disposition",
            json={"call_id": call_id, "disposition": "complete", **_frame(view),
                  "answers": {"q1": "A"}},
        )  # fmt: skip
        assert 422 == incomplete.status_code
        assert "answers.q3: not answered" in incomplete.json()["detail"]
        stale = await client.post(  # a page still showing the seat's previous call
            "/console/disposition", json={"call_id": "an-earlier-call", "disposition": "refusal"}
        )
        assert (409, f"call an-earlier-call is no longer on seat 7101: it has call {call_id}") == (
            stale.status_code, stale.json()["detail"],
        )  # fmt: skip
        with sqlite3.connect(console.store) as db:
            assert [(None,)] == db.execute("SELECT disposition FROM attempt").fetchall()
            assert [(0,)] == db.execute("SELECT count(*) FROM response").fetchall()


def _frame(view: dict[str, Any]) -> dict[str, str]:
    frame = view["call"]["frame"]
    return {k: frame[k] for k in ("district", "age_band", "sex")}


# --- an operator's call in a real browser ------------------------------------------------


async def test_an_operator_runs_a_call_by_keyboard_in_chromium(console: Console) -> None:
    """In Debian's chromium: the operator logs in, a simulated callee is put through on the
    real Asterisk, the case appears at once, the questionnaire is answered by keyboard
    along a routed path (1B, 2C: no explanation; 8 yes: 8a, not 8b), the respondent's cell
    is confirmed, the complete is stored with its answers and the quota moves. A screenshot
    of each step is kept in test-artifacts/console/. The next call is a refusal, given
    from the outcomes' menu (F2, R, Enter)."""
    async with _chromium_page("last.png") as page:
        await _operate(page, console)
    status = (await console.api.get("/status")).json()
    assert 1 == status["completes"]  # the quota moved: this operator's is the only one
    metrics = (await console.api.get("/metrics")).text
    assert 'cati_wrap_up_seconds_count{campaign="campaign"} 1.0' in metrics  # measured
    with sqlite3.connect(console.store) as db:
        (answers,) = db.execute("SELECT answers FROM response").fetchone()
        dispositions = db.execute(
            "SELECT disposition FROM attempt WHERE disposition IS NOT NULL ORDER BY id"
        ).fetchall()
    stored = json.loads(answers)
    assert {"q1": "B", "q2": "C", "q8": "yes", "q8a": ["A", "C"]}.items() <= stored.items()
    assert {"a": 4, "b": 3, "c": 2, "d": 4, "e": 1} == stored["q3"]
    assert {"answer": "yes", "because": "ci hanno chiesto il parere"} == stored["q6"]
    assert "più piste ciclabili" == stored["q7"]
    assert "q8b" not in stored
    assert [("complete",), ("refusal",)] == dispositions


LONG_LISTS = """
[questionnaire]
id = "long-lists"
title = { it = "Liste lunghe", en = "Long lists" }
introduction = { it = "Buongiorno.", en = "Good morning." }

[[item]]
id = "q1"
kind = "single"
text = { it = "Quale?", en = "Which?" }
options = [%s]

[[item]]
id = "q2"
kind = "multiple"
text = { it = "Quali?", en = "Which ones?" }
options = [%s]

[[item]]
id = "q3"
kind = "grid"
text = { it = "Da 0 a 10?", en = "From 0 to 10?" }
rows = [%s]
scale = [0, 10]
"""


def _options(codes: str) -> str:
    return ", ".join(f'{{ code = "{c}", it = "{c}", en = "{c}" }}' for c in codes)


async def test_numbers_of_two_digits_answer_long_lists_and_0_to_10_scales_in_chromium(
    tmp_path: Path, make_survey: SurveyFactory, ami: AmiClient
) -> None:
    """In Debian's chromium, a questionnaire with 12 options to choose one of, 11 to choose
    several of, and a grid rated 0 to 10: the operator keys 12 (the twelfth option), 1 and
    Enter (the first), 11, 3, then 10, 0, and 1 and Enter (ratings). A digit answered, so
    the tenth option on, and a rating of 10, could not be keyed at all."""
    path = tmp_path / "long.toml"
    path.write_text(
        LONG_LISTS % (_options("ABCDEFGHIJKL"), _options("ABCDEFGHIJK"), _options("abc")),
        encoding="utf-8",
    )
    consoles = contextlib.aclosing(_console(tmp_path, make_survey, ami, questionnaire=path))
    async with consoles as served:
        console = await anext(served)
        async with _chromium_page("long-lists-last.png") as page:
            await _log_in_and_take_a_call(page, console)
            keys = page.keyboard
            await page.wait_for_selector("#progress:has-text('q1')")
            await keys.press("1")
            await page.wait_for_selector("#typed:has-text('1')")  # 1, or 10 to 12
            await keys.press("2")
            await page.wait_for_selector("#progress:has-text('q2')")
            for key in ("1", "Enter", "1", "1", "3"):
                await keys.press(key)
            await page.wait_for_selector("#answer .chosen >> nth=2")
            await keys.press("Enter")
            await page.wait_for_selector("#progress:has-text('q3')")
            for key in ("1", "0", "0", "1", "Enter"):
                await keys.press(key)
            await page.screenshot(path=ARTEFACTS / "long-lists-grid.png")
            await keys.press("Enter")
            await page.wait_for_selector("#verify:not(.hidden)")
            await keys.press("Enter")
            await page.wait_for_selector("#card", state="hidden", timeout=20_000)
        with sqlite3.connect(console.store) as db:
            (answers,) = db.execute("SELECT answers FROM response").fetchone()
        stored = json.loads(answers)
        assert ("L", {"A", "K", "C"}) == (stored["q1"], set(stored["q2"]))
        assert {"a": 10, "b": 0, "c": 1} == stored["q3"]


@contextlib.asynccontextmanager
async def _chromium_page(last: str) -> AsyncIterator[Any]:
    """A page of Debian's headless chromium at 1366x768; its last screen is kept as ``last``
    in test-artifacts/console/."""
    from playwright.async_api import async_playwright

    chromium = shutil.which("chromium")
    assert chromium is not None, "deploy/install-packages chromium"
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox"]
        )
        page = await browser.new_page(viewport={"width": 1366, "height": 768})
        try:
            yield page
        finally:
            await page.screenshot(path=ARTEFACTS / last)
            await browser.close()


async def _log_in_and_take_a_call(page: Any, console: Console) -> None:
    """Log in to seat 7101 in the page, start the campaign, and wait for the case."""
    await page.goto(f"{console.url}/console")
    await page.fill("#seat", "7101")
    await page.fill("#secret", SECRET)
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#state[data-state='free']")
    await console.api.post("/campaign/start")
    await page.wait_for_selector("#card:not(.hidden)", timeout=60_000)
    await console.api.post("/campaign/pause")  # one call: the test's


async def _operate(page: Any, console: Console) -> None:
    async def shot(name: str) -> None:
        await page.screenshot(path=ARTEFACTS / f"{name}.png")

    await page.goto(f"{console.url}/console")
    await page.fill("#seat", "7101")
    await page.fill("#secret", SECRET)
    await shot("1-login")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#state[data-state='free']")
    await shot("2-waiting")
    await console.api.post("/campaign/start")
    await page.wait_for_selector("#card:not(.hidden)", timeout=60_000)
    await page.wait_for_selector("#question:has-text('Piano Strategico')")
    assert "*" in await page.inner_text("#frame")  # the number, masked
    await shot("3-case-and-question-1")
    keys = page.keyboard
    await keys.press("2")  # q1 B: yes, heard of it
    await page.wait_for_selector("#progress:has-text('q2')")
    await shot("4-question-2")
    await keys.press("3")  # q2 C: knows it -> no explanation
    await page.wait_for_selector("#progress:has-text('q3')")
    # q3 grid, rated top down, with two slips mended: the third row's 1 cleared with
    # Backspace and rated again, the first row's 1 changed after the arrows move back to it
    for key in ("1", "3", "1", "Backspace", "2", "4", "1", *["ArrowUp"] * 4, "4"):
        await keys.press(key)
    await shot("5-grid")
    await keys.press("Enter")
    await page.wait_for_selector("#progress:has-text('q4')")
    await keys.press("1")  # q4 A
    await page.wait_for_selector("#progress:has-text('q5')")
    await keys.press("1")
    await keys.press("2")
    await keys.press("Enter")  # q5 A, B
    await page.wait_for_selector("#progress:has-text('q6')")
    await keys.press("s")  # q6 yes (Italian: Sì), then why
    await keys.type("ci hanno chiesto il parere")
    await keys.press("Enter")
    await page.wait_for_selector("#progress:has-text('q7')")
    await keys.type("più piste ciclabili")
    await keys.press("Enter")
    await page.wait_for_selector("#progress:has-text('q8')")
    await keys.press("1")  # q8 yes
    await page.wait_for_selector("#progress:has-text('q8a')")
    await keys.press("1")
    await keys.press("3")
    await shot("6-question-8a")
    await keys.press("Enter")  # q8a A, C
    await page.wait_for_selector("#verify:not(.hidden)")
    await shot("7-verify-cell")
    await console.api.post("/campaign/pause")  # no next call: the screen after it stays
    await keys.press("Enter")  # the frame's cell confirmed: complete
    await page.wait_for_selector("#card", state="hidden", timeout=20_000)
    await page.wait_for_selector("#state[data-state='free']", timeout=20_000)  # wrap-up over
    await shot("8-after-disposition")
    # The next callee refuses at once: F2, the outcome's letter, Enter. Complete is not
    # offered before the questionnaire's end.
    await console.api.post("/campaign/resume")
    await page.wait_for_selector("#card:not(.hidden)", timeout=60_000)
    await console.api.post("/campaign/pause")
    await keys.press("F2")
    await keys.press("c")
    await keys.press("Enter")
    await page.wait_for_selector("#disposition-error:has-text('questionario')")
    await keys.press("r")
    await shot("9-refusal-by-keyboard")
    await keys.press("Enter")
    await page.wait_for_selector("#card", state="hidden", timeout=20_000)


async def test_a_stream_rebuilds_its_view_only_when_its_own_seat_changed() -> None:
    """Every change wakes every operator's stream; a stream whose seat's view is made of the
    same objects as before sends nothing and builds nothing (300 streams each rebuilt their
    view at every change of any seat)."""
    board = log_in(SeatBoard(), "7101", T0)
    built: list[str] = []

    class Runner:
        changes, finished = Changes(), ""

        def console_key(self, seat_id: str) -> tuple[object, ...]:
            return board.seats.get(seat_id), None, False

        def console_view(self, seat_id: str) -> Any:
            built.append(seat_id)
            return seat_view(seat_id, board, None, False)

    class Request:
        async def is_disconnected(self) -> bool:
            return False

    runner = Runner()
    settings = SimpleNamespace(sessions=SimpleNamespace(seat=lambda token, now: "7101"),
                               clock=lambda: T0)  # fmt: skip
    stream = _stream(runner, settings, "7101", "token", Request())  # type: ignore[arg-type]
    assert '"state": "free"' in await anext(stream)
    following = asyncio.ensure_future(anext(stream))
    for _ in range(5):  # another seat's changes
        runner.changes.notify()
        await asyncio.sleep(0)
    assert (["7101"], False) == (built, following.done())
    board = pause(board, "7101", "break", T0)
    runner.changes.notify()
    assert '"state": "paused"' in await following
    assert ["7101", "7101"] == built
    await stream.aclose()
