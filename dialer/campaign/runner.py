"""The live campaign loop on Asterisk: pace, dial, connect, record, until the quotas are full.

One task owns all state (calls, seats); AMI events, originate results and timers reach it
through one inbox in order, so there are no locks. Decisions are the pure core's (call state,
seats, selection, pacing, retry, quotas); this module only moves data between them, AMI and
the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import structlog

from dialer.ami.client import AmiClient
from dialer.ami.errors import AmiError
from dialer.ami.events import (
    ChannelHangup,
    ConferenceJoin,
    DialplanEvent,
    LinkState,
    parse_event,
)
from dialer.call.state import (
    Abandoned,
    Answered,
    Call,
    CallEvent,
    CallState,
    ConnectToSeat,
    Effect,
    HungUp,
    MachineDetected,
    OriginateEnded,
    RecordAttempt,
    ReleaseSeat,
    SeatJoined,
    new_call,
    transition,
)
from dialer.campaign.pacing import progressive
from dialer.campaign.selection import CaseView, due_cases
from dialer.disposition import Disposition, Outcome
from dialer.schedule.retry import RetryPolicy
from dialer.schedule.window import CallingWindow
from dialer.seats import SeatBoard, end_call, hand_back, log_in, ready, take
from dialer.store.attempts import (
    close_attempt,
    dialable_cases,
    open_attempt,
    recover_after_restart,
    set_disposition,
)
from dialer.store.cases import finish_case, start_interview, withdraw_if_closed
from dialer.store.db import StoreError, open_store
from dialer.store.quotas import load_counts
from dialer.store.releases import make_release
from dialer.store.waves import WaveRef, ensure_wave
from sampling.cells import CellKey
from sampling.margins import load_margins
from sampling.phone import mask
from sampling.survey import Survey

log = structlog.get_logger(__name__)

RESULT_OF = {
    Disposition.COMPLETE: "complete",
    Disposition.REFUSAL: "refusal",
    Disposition.BREAK_OFF: "refusal",
    Disposition.OVER_QUOTA: "over_quota",
    Disposition.PARTIAL: "other",
}


@dataclass(frozen=True, slots=True)
class Simulation:
    """Simulated callees and operators, for the demo and the tests."""

    answer: float = 0.6
    busy: float = 0.1
    congestion: float = 0.05
    ring_s: tuple[float, float] = (0.3, 1.5)
    talk_s: tuple[float, float] = (0.5, 2.0)
    wrap_s: float = 0.3
    complete: float = 0.75
    seed: int = 1


@dataclass(frozen=True, slots=True)
class CampaignSettings:
    """Everything a campaign run needs."""

    survey: Survey
    store: Path
    seats: tuple[str, ...]
    window: CallingWindow
    retry: RetryPolicy
    simulation: Simulation | None = None
    channel_limit: int = 30
    ring_timeout_s: float = 15.0
    dial_context: str = "sim-pstn"
    release_seed: int = 1
    max_duration_s: float = 600.0
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    completes: int
    target: int
    attempts: int
    outcomes: dict[str, int]
    abandon_rate: float
    overshoot: int
    finished: str


class CampaignRunner:
    """Runs one campaign to the end (quotas full, sample exhausted, or time up)."""

    def __init__(
        self, settings: CampaignSettings, ami: AmiClient, db: aiosqlite.Connection, wave: WaveRef
    ) -> None:
        self.s = settings
        self.ami = ami
        self.db = db
        self.wave = wave
        self.inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.calls: dict[str, Call] = {}
        self.cases: dict[str, CaseView] = {}
        self.seat_of: dict[str, str] = {}
        self.board = SeatBoard()
        self.rng = random.Random(settings.simulation.seed if settings.simulation else 0)
        self.outcomes: Counter[str] = Counter()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.finished = ""
        self.link_lost = False

    async def run(self) -> CampaignSummary:
        await self._open_seats()
        pump = asyncio.create_task(self._pump(), name="ami-pump")
        ticker = asyncio.create_task(self._ticker(), name="ticker")
        try:
            await asyncio.wait_for(self._consume(), self.s.max_duration_s)
        except TimeoutError:
            self.finished = "time limit"
        finally:
            pump.cancel()
            ticker.cancel()
            for task in self.tasks:
                task.cancel()
        await self._close_seats()
        return await self._summary()

    # --- the one consumer ------------------------------------------------------------------

    async def _consume(self) -> None:
        while not self.finished:
            kind, item = await self.inbox.get()
            if kind == "tick":
                await self._tick()
            elif kind == "ami":
                await self._on_ami(item)
            elif kind == "call":
                call_id, event = item
                await self._apply(call_id, event)
            elif kind == "operator_done":
                await self._operator_done(item)
            elif kind == "seat_ready":
                self.board = ready(self.board, item, self.s.clock())

    async def _apply(self, call_id: str, event: CallEvent) -> None:
        call = self.calls.get(call_id)
        if call is None:
            return
        before = call.state
        call, effects = transition(call, event)
        self.calls[call_id] = call
        if call.state is not before:
            log.info(
                "call", call_id=call_id, case_id=call.case_id, trigger=type(event).__name__,
                **{"from": before.value}, to=call.state.value, seat=call.seat,
            )  # fmt: skip
        for effect in effects:
            await self._effect(call, effect)

    async def _effect(self, call: Call, effect: Effect) -> None:
        now = self.s.clock()
        if isinstance(effect, ConnectToSeat):
            self.board, seat = take(self.board, call.call_id, now)
            if seat is None:
                return  # the dialplan abandons the call after 2 s with the message
            self.seat_of[call.call_id] = seat.seat_id
            self._spawn(self._redirect(call.call_id, effect.channel, seat.seat_id))
        elif isinstance(effect, ReleaseSeat):
            self.board = end_call(self.board, effect.seat, now)
            self.seat_of.pop(call.call_id, None)
            wrap = self.s.simulation.wrap_s if self.s.simulation else 0.0
            self._later(wrap, "seat_ready", effect.seat)
        elif isinstance(effect, RecordAttempt):
            taken = self.seat_of.pop(call.call_id, None)
            if taken is not None:  # taken for a callee who never arrived
                self.board = hand_back(self.board, taken, now)
            await close_attempt(self.db, call)
            if effect.outcome is not Outcome.CONNECTED:
                await withdraw_if_closed(self.db, call.case_id)
            self.outcomes[effect.outcome.value] += 1
            self.calls.pop(call.call_id, None)
            if effect.outcome is not Outcome.CONNECTED or self.s.simulation is None:
                self.cases.pop(call.call_id, None)
            # else the (simulated) operator still owes the case its disposition

    async def _on_ami(self, message: Any) -> None:
        event = parse_event(message)
        now = self.s.clock()
        if isinstance(event, LinkState):
            if not event.up:
                self.link_lost = True
            elif self.link_lost:
                self.link_lost = False
                await self._resync(now)
            return
        if isinstance(event, DialplanEvent) and event.uniqueid in self.calls:
            if event.name == "Answered":
                await self._apply(event.uniqueid, Answered(now, event.channel))
            elif event.name == "Abandoned":
                await self._apply(event.uniqueid, Abandoned(now))
            elif event.name == "Machine":
                await self._apply(event.uniqueid, MachineDetected(now))
        elif isinstance(event, ConferenceJoin) and event.joined and event.uniqueid in self.calls:
            seat = event.conference.removeprefix("seat-")
            await self._apply(event.uniqueid, SeatJoined(now, seat))
            await self._start_interview(event.uniqueid)
        elif isinstance(event, ChannelHangup) and event.uniqueid in self.calls:
            await self._apply(event.uniqueid, HungUp(now, event.cause))

    async def _resync(self, now: datetime) -> None:
        """After a (re)connect: calls past the answer whose channel Asterisk no longer has
        ended while we could not hear it. Calls not yet answered end through their originate."""
        try:
            live = {str(m.get("Uniqueid")) for m in await self.ami.core_show_channels()}
        except AmiError as exc:
            log.warning("resync failed", error=str(exc))
            return
        for call_id, call in list(self.calls.items()):
            if call.state in (CallState.ANSWERED, CallState.CONNECTED) and call_id not in live:
                log.info("resync: call gone", call_id=call_id, case_id=call.case_id)
                await self._apply(call_id, HungUp(now, 0))
        if self.s.simulation is not None and not any(u.startswith("seat-") for u in live):
            # Asterisk restarted: the simulated operators' open lines went with it.
            self._spawn(self._reopen_seat_lines())

    # --- pacing and dialling ---------------------------------------------------------------

    async def _tick(self) -> None:
        now = self.s.clock()
        counts = await load_counts(self.db, self.s.survey, self.wave)
        if bool((counts.completes >= counts.target).all()):
            if not self.calls:
                self.finished = "quotas full"
            return
        if not self.s.window.is_open(now) or not self.ami.connected.is_set():
            return  # outside the window, or Asterisk unreachable: dial nothing
        in_flight = sum(1 for c in self.calls.values() if c.state is not CallState.CONNECTED)
        launch = progressive(
            len(self.board.free()), in_flight, len(self.calls), self.s.channel_limit
        )
        if launch == 0:
            return
        fill = [
            float(c) / t if t else 1.0 for c, t in zip(counts.completes, counts.target, strict=True)
        ]
        cases = await dialable_cases(self.db, self.wave.wave_id)
        due, exhausted, soonest = due_cases(cases, now, self.s.retry, self.s.window, fill)
        for case in exhausted:
            last = case.history[-1].outcome if case.history else None
            result = "ineligible" if last is Outcome.FAILED else "other"
            await finish_case(self.db, self.s.survey, self.wave, case.case_id, result)
        dialling = {v.case_id for v in self.cases.values()}
        due = [c for c in due if c.case_id not in dialling]
        if not due and not self.calls and soonest is None:
            release = await make_release(self.db, self.s.survey, self.wave, self.s.release_seed)
            self.s = _with_seed(self.s, self.s.release_seed + 1)
            if release.size == 0 and not exhausted:
                self.finished = "sample exhausted"
            return
        for case in due[:launch]:
            await self._dial(case, now)

    async def _dial(self, case: CaseView, now: datetime) -> None:
        call_id = str(uuid.uuid4())
        try:
            await open_attempt(self.db, case.case_id, call_id, now)
        except StoreError as exc:
            log.warning("not dialled", case_id=case.case_id, reason=str(exc))
            return
        self.calls[call_id] = new_call(call_id, case.case_id, now)
        self.cases[call_id] = case
        log.info("dial", call_id=call_id, case_id=case.case_id, number=mask(case.phone))
        self._spawn(self._originate(call_id, case))

    async def _originate(self, call_id: str, case: CaseView) -> None:
        variables = self._callee_behaviour()
        try:
            result = await self.ami.originate(
                channel=f"Local/{case.phone.lstrip('+')}@{self.s.dial_context}",
                context="dialer-hold",
                exten="s",
                channel_id=call_id,
                other_channel_id=call_id + "-far",
                timeout_s=self.s.ring_timeout_s,
                variables=variables,
            )
            reason = result.reason
        except AmiError as exc:
            # Our side failed (link down, timeout), not the number: retry it like congestion.
            log.warning("originate failed", call_id=call_id, error=str(exc))
            reason = 8
        await self.inbox.put(("call", (call_id, OriginateEnded(self.s.clock(), reason))))

    async def _redirect(self, call_id: str, channel: str, seat: str) -> None:
        try:
            await self.ami.redirect(channel, "connect", seat)
        except AmiError as exc:  # the callee hung up meanwhile: the hang-up event frees the seat
            log.info("redirect failed", call_id=call_id, seat=seat, error=str(exc))

    # --- operators (simulated) ---------------------------------------------------------------

    async def _reopen_seat_lines(self) -> None:
        try:
            await asyncio.gather(*(self._open_line(seat) for seat in self.s.seats))
        except AmiError as exc:
            log.warning("seat lines not reopened", error=str(exc))

    async def _open_line(self, seat: str) -> None:
        result = await self.ami.originate(
            channel=f"Local/{seat}@seat-sim",
            context="seat-keepalive",
            exten="s",
            channel_id=f"seat-{seat}-{uuid.uuid4()}",
            timeout_s=5,
        )
        if not result.answered:
            raise AmiError("Originate", f"seat {seat}: line did not open")
        await wait_for_operator(self.ami, seat)

    async def _open_seats(self) -> None:
        await self._close_seats()  # lines a previous run left open would make each seat busy
        await asyncio.gather(*(self._open_line(seat) for seat in self.s.seats))
        for seat in self.s.seats:
            self.board = log_in(self.board, seat, self.s.clock())

    async def _close_seats(self) -> None:
        for seat in self.s.seats:
            with contextlib.suppress(AmiError):
                await self.ami.hangup(f"/^Local\\/{seat}@seat-sim-/")

    async def _start_interview(self, call_id: str) -> None:
        call, case = self.calls.get(call_id), self.cases.get(call_id)
        if call is None or case is None or self.s.simulation is None:
            return
        admitted = await start_interview(self.db, self.s.survey, self.wave, case.case_id)
        low, high = self.s.simulation.talk_s
        self._later(self.rng.uniform(low, high), "operator_done", (call_id, admitted))

    async def _operator_done(self, item: tuple[str, bool]) -> None:
        if self.s.simulation is None:
            return
        call_id, admitted = item
        call, case = self.calls.get(call_id), self.cases.pop(call_id, None)
        if case is None:
            return
        if not admitted:
            disposition = Disposition.OVER_QUOTA
        elif self.rng.random() < self.s.simulation.complete:
            disposition = Disposition.COMPLETE
        else:
            disposition = Disposition.REFUSAL
        await set_disposition(self.db, call_id, disposition)
        verified = (
            _verified_cell(self.s.survey, case) if disposition is Disposition.COMPLETE else None
        )
        outcome = await finish_case(
            self.db, self.s.survey, self.wave, case.case_id, RESULT_OF[disposition], verified
        )
        log.info("disposition", call_id=call_id, case_id=case.case_id, result=outcome.result)
        if call is not None and call.channel:  # still on the line: the operator ends the call
            with contextlib.suppress(AmiError):
                await self.ami.hangup(call.channel)

    def _callee_behaviour(self) -> dict[str, str]:
        sim = self.s.simulation
        if sim is None:
            return {}
        draw = self.rng.random()
        if draw < sim.answer:
            outcome = "answer"
        elif draw < sim.answer + sim.busy:
            outcome = "busy"
        elif draw < sim.answer + sim.busy + sim.congestion:
            outcome = "congestion"
        else:
            outcome = "noanswer"
        ring = self.rng.uniform(*sim.ring_s)
        return {"SIM_OUTCOME": outcome, "SIM_RING_S": f"{ring:.1f}", "SIM_TALK_S": "120"}

    # --- plumbing ----------------------------------------------------------------------

    async def _pump(self) -> None:
        while True:
            await self.inbox.put(("ami", await self.ami.events.get()))

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            await self.inbox.put(("tick", None))

    def _later(self, delay: float, kind: str, item: Any) -> None:
        async def fire() -> None:
            await asyncio.sleep(delay)
            await self.inbox.put((kind, item))

        self._spawn(fire())

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _summary(self) -> CampaignSummary:
        counts = await load_counts(self.db, self.s.survey, self.wave)
        async with self.db.execute(
            "SELECT outcome, count(*) FROM attempt a JOIN sample_case c ON c.id = a.case_id"
            " WHERE c.wave_id = ? AND a.ended_at IS NOT NULL GROUP BY outcome",
            (self.wave.wave_id,),
        ) as cursor:
            outcomes = {str(o): int(n) async for o, n in cursor}
        live = outcomes.get("connected", 0) + outcomes.get("abandoned", 0)
        return CampaignSummary(
            completes=int(counts.completes.sum()),
            target=int(counts.target.sum()),
            attempts=sum(outcomes.values()),
            outcomes=outcomes,
            abandon_rate=outcomes.get("abandoned", 0) / live if live else 0.0,
            overshoot=int((counts.completes - counts.target).clip(min=0).sum()),
            finished=self.finished,
        )


async def wait_for_operator(ami: AmiClient, seat: str, within_s: float = 5.0) -> None:
    """Return once the seat's conference holds its operator: the line's answer comes a moment
    before the operator is in, and a callee sent in before would find the seat empty."""
    deadline = asyncio.get_running_loop().time() + within_s
    while "@seat-" not in await ami.command(f"confbridge list seat-{seat}"):
        if asyncio.get_running_loop().time() > deadline:
            raise AmiError("ConfBridge", f"seat {seat}: operator not in the conference")
        await asyncio.sleep(0.05)


async def run_campaign(settings: CampaignSettings, ami: AmiClient) -> CampaignSummary:
    """Open the store, run the campaign to its end on a connected AMI client, summarise."""
    db = await open_store(settings.store)
    try:
        population = load_margins(settings.survey.margins_path, settings.survey.grid)
        wave = await ensure_wave(db, settings.survey, population)
        await _recover(db, ami, settings.clock())
        return await CampaignRunner(settings, ami, db, wave).run()
    finally:
        await db.close()


async def _recover(db: aiosqlite.Connection, ami: AmiClient, now: datetime) -> None:
    """Close what a previous run left open (it died without closing its calls)."""
    channels = {
        str(m.get("Uniqueid")): str(m.get("Channel")) for m in await ami.core_show_channels()
    }
    orphans, interrupted = await recover_after_restart(db, set(channels), now)
    for call_id in orphans:
        with contextlib.suppress(AmiError):
            await ami.hangup(channels[call_id])
    if orphans or interrupted:
        log.warning("recovered after restart", orphan_calls=len(orphans), interviews=interrupted)


def _verified_cell(survey: Survey, case: CaseView) -> CellKey:
    """The respondent's true cell: the simulated truth when the frame carries it."""
    frame = survey.grid.cells()[case.cell]
    a = case.attributes
    return CellKey(
        a.get("sim_district", frame.district),
        a.get("sim_age_band", frame.age_band),
        a.get("sim_sex", frame.sex),
    )


def _with_seed(settings: CampaignSettings, seed: int) -> CampaignSettings:
    return replace(settings, release_seed=seed)
