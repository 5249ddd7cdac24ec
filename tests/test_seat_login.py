"""Real operators' phones opening their seats' lines (the dialplan's seat-login), on an
Asterisk with the PJSIP stack and simulated phones (``asterisk-testbed start --phones``)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import structlog

from dialer.ami.client import AmiClient
from dialer.ami.errors import AmiConnectError
from dialer.ami.events import DialplanEvent, parse_event
from dialer.campaign.control import Command
from dialer.campaign.runner import open_campaign, wait_for_operator
from dialer.testbed import start_testbed, stop_testbed
from tests.conftest import TEST_AMI_PORT, SurveyFactory, small_campaign, until

PHONES_PORT = TEST_AMI_PORT + 7
"""An instance of its own: the others load no PJSIP."""


@pytest.fixture
async def phones() -> AsyncIterator[AmiClient]:
    try:
        settings = start_testbed(PHONES_PORT, phones=True)
    except AmiConnectError as exc:
        pytest.fail(f"the Asterisk testbed with phones did not start:\n{exc}")
    client = AmiClient(settings)
    try:
        await client.connect()
        yield client
    finally:
        await client.close()
        stop_testbed(PHONES_PORT)


async def test_only_the_seats_own_phone_opens_its_line(phones: AmiClient) -> None:
    """Phone 7002 dialling 97001, and a channel that is no phone, are refused (the dialplan
    says so in a SeatRefused event) and seat 7001's conference stays empty: before, any
    phone could join any seat's conference, hear its operator's interviews and have its
    callees abandoned (the seat no longer held exactly its operator). Phone 7001 opens it."""
    seen: list[tuple[str, str, str]] = []

    async def listen() -> None:
        while True:
            event = parse_event(await phones.events.get())
            if isinstance(event, DialplanEvent) and event.name.startswith("Seat"):
                fields = event.fields
                seen.append((event.name, fields.get("Seat", ""), fields.get("Phone", "")))

    listening = asyncio.create_task(listen())
    try:
        for channel in ("PJSIP/7002", "Local/answer@phone-sim"):
            await _dial_in(phones, channel, "7001")
        await until(lambda: 2 == sum(name == "SeatRefused" for name, _, _ in seen), 10)
        refused = {(seat, phone.split("-")[0]) for name, seat, phone in seen}
        assert {("7001", "PJSIP/7002"), ("7001", "Local/answer@phone")} == refused
        assert [] == await phones.confbridge_channels("seat-7001")
        await _dial_in(phones, "PJSIP/7001", "7001")
        await wait_for_operator(phones, "7001")
        await until(lambda: ("SeatReady", "7001", "") in seen, 10)
    finally:
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening


async def _dial_in(ami: AmiClient, channel: str, seat: str) -> None:
    """``channel`` (a phone's line, as the dialer rings it) dials 9<seat>."""
    result = await ami.originate(
        channel=channel, context="seat-login", exten=f"9{seat}",
        channel_id=str(uuid.uuid4()), timeout_s=10,
    )  # fmt: skip
    assert result.answered, channel


async def test_a_campaign_logs_in_the_seat_its_phone_opens_and_warns_of_another_phone(
    tmp_path: Path, make_survey: SurveyFactory, phones: AmiClient
) -> None:
    """A campaign of real operators: phone 7002 dialling seat 7001 is refused, the dialer
    says so in its log, and the seat stays out; phone 7001 dialling in logs it in."""
    settings = await small_campaign(tmp_path, make_survey, ("7001", "7002"))
    settings = replace(settings, simulation=None, autostart=False)
    async with open_campaign(settings, phones) as runner:
        run = asyncio.create_task(runner.run())
        try:
            with structlog.testing.capture_logs() as logs:
                await _dial_in(phones, "PJSIP/7002", "7001")
                await until(lambda: any("refused" in e["event"] for e in logs), 10)
            (warning,) = [e for e in logs if "refused" in e["event"]]
            assert ("warning", "7001") == (warning["log_level"], warning["seat"])
            assert warning["phone"].startswith("PJSIP/7002-")
            assert "7001" not in runner.board.seats
            await _dial_in(phones, "PJSIP/7001", "7001")
            await until(lambda: "7001" in runner.board.seats, 10)
            assert runner.board.seats["7001"].line
        finally:
            await runner.command(Command.STOP)
            await asyncio.wait_for(run, 30)
