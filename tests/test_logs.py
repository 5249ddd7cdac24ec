"""A whole campaign's log output, at debug level (panoramisk's AMI traffic included): JSON
lines, every call event naming its campaign, case, attempt and channel, and no phone number,
AMI secret or API token anywhere in it."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from enum import Enum
from pathlib import Path

import httpx
import pytest
import structlog

from dialer.ami.client import AmiClient, AmiSettings
from dialer.api.app import build_app
from dialer.api.server import ApiServer
from dialer.campaign.runner import open_campaign
from dialer.campaign.selection import CaseView
from dialer.disposition import Outcome
from dialer.logs import add_timestamp, configure, debug_enabled
from tests.conftest import SurveyFactory, free_port, small_campaign

TOKEN = "log-test-token-0123456789abcdef"


@contextlib.contextmanager
def _captured(json_lines: bool = True) -> Iterator[io.StringIO]:
    """The log lines written inside it (JSON, or the console's); the default set-up after."""
    sink = io.StringIO()
    configure(json=json_lines, stream=sink)
    try:
        yield sink
    finally:
        configure()


async def test_a_campaigns_logs_name_every_call_and_hide_numbers_and_secrets(
    tmp_path: Path, make_survey: SurveyFactory, asterisk: AmiSettings
) -> None:
    settings = replace(await small_campaign(tmp_path, make_survey), name="log-test")
    stream = io.StringIO()
    configure(json=True, level=logging.DEBUG, stream=stream)
    try:
        ami = AmiClient(asterisk)  # its login is in the log too
        await ami.connect()
        try:
            port = free_port()
            async with open_campaign(settings, ami) as runner:
                server = ApiServer("127.0.0.1", port)
                await server.start(build_app(runner, TOKEN))
                try:
                    run = asyncio.create_task(runner.run())
                    headers = {"Authorization": f"Bearer {TOKEN}"}
                    url = f"http://127.0.0.1:{port}"
                    async with httpx.AsyncClient(base_url=url, headers=headers) as api:
                        assert 200 == (await api.get("/status")).status_code
                        assert 200 == (await api.get("/metrics")).status_code
                    assert "quotas full" == (await asyncio.wait_for(run, 240)).finished
                finally:
                    await server.stop()
        finally:
            await ami.close()
    finally:
        configure()
    text = stream.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    with sqlite3.connect(settings.store) as db:
        phones = [str(p) for (p,) in db.execute("SELECT phone FROM sample_case")]
        attempts = {str(c) for (c,) in db.execute("SELECT call_id FROM attempt")}

    assert any(line.get("event") == "panoramisk" for line in lines), "debug AMI traffic logged"
    calls = [line for line in lines if "call_id" in line]
    assert attempts == {line["call_id"] for line in calls}
    for line in calls:
        assert "log-test" == line.get("campaign"), line
        assert isinstance(line.get("case_id"), int), line
        assert isinstance(line.get("attempt_id"), int), line
        assert "channel" in line, line
    connected = [line for line in calls if line["event"] == "call" and line["to"] == "connected"]
    assert connected
    assert all(line["channel"] for line in connected)
    assert [] == [p for p in phones if p[-9:] in text]  # international or national form
    assert asterisk.secret
    assert asterisk.secret not in text
    assert TOKEN not in text


def test_debug_lines_are_known_to_be_written_or_not() -> None:
    """The event path builds its transition lines only when debug lines are written."""
    try:
        configure(json=True, level=logging.INFO, stream=io.StringIO())
        assert not debug_enabled(structlog.get_logger("t").bind())
        configure(json=True, level=logging.DEBUG, stream=io.StringIO())
        assert debug_enabled(structlog.get_logger("t").bind())
    finally:
        configure()
    assert debug_enabled(object())  # a logger that cannot tell: build them


def test_time_stamps_are_iso_utc_to_the_microsecond(monkeypatch: pytest.MonkeyPatch) -> None:
    """Within a second and across the next, the stamp is the time as ISO 8601 in UTC."""
    for now in (1795000000.25, 1795000000.5, 1795000001.000002, 1795086400.75):
        monkeypatch.setattr("dialer.logs.time.time", lambda now=now: now)
        stamp = add_timestamp(None, "info", {})["timestamp"]
        expected = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert expected == stamp


def test_json_lines_carry_the_time_stamp() -> None:
    with _captured() as sink:
        before = datetime.now(UTC)
        structlog.get_logger("t").info("stamped")
        after = datetime.now(UTC)
    stamp = json.loads(sink.getvalue())["timestamp"]
    assert stamp.endswith("Z")
    assert before <= datetime.fromisoformat(stamp) <= after


def test_a_json_lines_traceback_is_written_and_masked() -> None:
    """``log.exception`` writes the traceback into the JSON line, its numbers masked."""
    with _captured() as sink:
        try:
            raise ValueError("no route to Local/390187200123@outbound")
        except ValueError:
            structlog.get_logger("t").exception("the store refused")
    line = json.loads(sink.getvalue())
    assert "error" == line["level"]
    assert "Traceback" in line["exception"]
    assert "ValueError: no route to Local/*********123@outbound" in line["exception"]
    assert "exc_info" not in line


def test_json_lines_write_what_json_cannot_as_its_repr() -> None:
    with _captured() as sink:
        structlog.get_logger("t").warning("odd", path=Path("/srv/x"), when=datetime(2026, 1, 2))
    line = json.loads(sink.getvalue())
    assert "warning" == line["level"]
    assert "PosixPath('/srv/x')" == line["path"]
    assert "2026-01-02T00:00:00" == line["when"]


@dataclass(frozen=True)
class _Hidden:
    phone: str = field(repr=False)


def test_numbers_are_masked_at_any_depth_and_in_any_object() -> None:
    """A number inside a mapping, a list or a tuple, or in an object logged whole (a case),
    is masked as a top-level string is; ids, counts and codes are written as they are."""
    case = CaseView(7, "+390187200125", 0, {"note": "ask for 3331234567"}, ())
    with _captured() as sink:
        structlog.get_logger("t").info(
            "nested",
            seats={"7101": {"dialled": "+390187200123"}},
            calls=[("c1", "Local/390187200124@outbound")],
            case=case,
            case_id=7,
            outcome=Outcome.BUSY,
            hidden=_Hidden("+390187200126"),
            pairs={("a", "b"): "3331234568"},
        )
    text = sink.getvalue()
    for number in ("0187200123", "0187200124", "0187200125", "0187200126", "3331234567"):
        assert number not in text
    line = json.loads(text)
    assert {"7101": {"dialled": "**********123"}} == line["seats"]
    assert [["c1", "Local/*********124@outbound"]] == line["calls"]
    assert "**********125" == line["case"]["phone"]
    assert {"note": "ask for *******567"} == line["case"]["attributes"]
    assert {"phone": "**********126"} == line["hidden"]
    assert {"('a', 'b')": "*******568"} == line["pairs"]  # a tuple key: its text
    assert (7, "busy") == (line["case_id"], line["outcome"])


def test_the_consoles_traceback_and_nested_values_are_masked() -> None:
    """In a terminal the console renders its own traceback: its numbers are masked too."""
    with _captured(json_lines=False) as sink:
        try:
            raise ValueError("no route to Local/390187200123@outbound")
        except ValueError:
            structlog.get_logger("t").exception("refused", calls=["+390187200124"])
    text = sink.getvalue()
    assert "Local/*********123@outbound" in text
    assert "**********124" in text
    assert "0187200123" not in text
    assert "0187200124" not in text


class _Code(Enum):
    LINE = "+390187200127"


@dataclass
class _Unset:
    phone: str = field(init=False)


def test_a_log_line_is_written_whatever_it_names() -> None:
    """Values orjson refuses outright (an aware time, an int past 64 bits), keys it cannot
    write, a field never set and a code whose value is a number: the line is written, its
    numbers masked, and the log call never fails."""
    with _captured() as sink:
        structlog.get_logger("t").info(
            "odd",
            at=time(9, 30, tzinfo=UTC),
            big=2**70,
            waits={timedelta(seconds=5): "+390187200128"},
            code=_Code.LINE,
            unset=_Unset(),
        )
    text = sink.getvalue()
    line = json.loads(text)
    assert "odd" == line["event"]
    assert str(2**70) == line["big"]
    for number in ("0187200127", "0187200128"):
        assert number not in text
