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
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import aiosqlite
import numpy as np
import numpy.typing as npt
import structlog

from dialer.ami.client import AmiClient
from dialer.ami.errors import AmiError
from dialer.ami.events import (
    FAR_LEG,
    ConferenceJoin,
    DialplanEvent,
    LinkState,
    call_event_of,
    parse_event,
)
from dialer.call.resync import (
    ABANDONED_FAMILY,
    HOLD_CONTEXT,
    left_to_dialplan,
    missed_events,
    records_to_clear,
    settle_unknown,
)
from dialer.call.state import (
    BEFORE_ANSWER,
    UNKNOWN_END,
    Abandoned,
    Call,
    CallEvent,
    CallState,
    ConnectToSeat,
    Effect,
    OriginateEnded,
    RecordAttempt,
    ReleaseSeat,
    SeatJoined,
    new_call,
    transition,
)
from dialer.campaign.control import (
    Command,
    ControlError,
    Invalid,
    NotFound,
    RunState,
    apply,
    dials,
    settle,
)
from dialer.campaign.detection import detection_suspended, share_of_cap, suspended_at_start
from dialer.campaign.dispositions import (
    CheckedDisposition,
    DispositionError,
    OperatorDisposition,
    check,
)
from dialer.campaign.due_reader import DueReader
from dialer.campaign.pace import calls_out, cell_needs, snapshot_of, to_dial
from dialer.campaign.selection import (
    CaseView,
    DueRead,
    held_back,
    in_closed_cells,
    offer,
)
from dialer.campaign.status import (
    AbandonWindow,
    CampaignStatus,
    RatesStatus,
    SeatStatus,
    abandon_rate,
    cell_rows,
    rates_status,
    seat_rows,
)
from dialer.console.changes import Changes
from dialer.console.view import CaseCard, SeatView, case_card, seat_view
from dialer.disposition import Disposition, Outcome, aapor_code
from dialer.logs import bind, debug_enabled
from dialer.metrics import DialerMetrics
from dialer.pacing.progressive import Progressive
from dialer.pacing.registry import Pacer
from dialer.pacing.snapshot import GRACE_S
from dialer.pacing.stats import CallStats
from dialer.schedule.retry import RetryPolicy
from dialer.schedule.window import CallingWindow
from dialer.seats import (
    Seat,
    SeatBoard,
    SeatError,
    SeatState,
    end_call,
    hand_back,
    line_back,
    line_lost,
    log_in,
    log_out,
    pause,
    ready,
    take,
    wrapped_up,
)
from dialer.store.attempts import (
    close_attempt,
    closed_call_ids,
    live_answers_since,
    live_call_ids,
    open_attempt,
    recover_after_restart,
    set_disposition,
)
from dialer.store.cases import cancel_interview, finish_case, start_interview, withdraw_if_barred
from dialer.store.db import StoreError, open_store, transaction
from dialer.store.outcomes import case_codes
from dialer.store.quotas import ended_dials, load_counts
from dialer.store.releases import fresh_seed, make_release
from dialer.store.responses import Answers
from dialer.store.waves import WaveRef, ensure_wave
from questionnaire.load import load_questionnaire
from questionnaire.model import Questionnaire
from questionnaire.simulate import simulate_answers
from results.summary import outcome_rates
from sampling.cells import CellKey
from sampling.margins import load_margins
from sampling.phone import mask
from sampling.survey import Survey

log = structlog.get_logger(__name__)

TICK_S = 0.25
"""How often the campaign decides what to dial, and updates its pace metrics."""

RECORD_FORGET_S = 30.0
"""The longest the dialplan's records of the abandons and machine verdicts stored wait to be
cleared."""
RECORDED = (Outcome.ABANDONED, Outcome.MACHINE)
"""The outcomes the dialplan records in Asterisk's database (for a resync or a restart)."""

LATEST_SEAT_S = GRACE_S
"""The longest after its answer that a waiting callee is still put through: the dialplan
plays the abandon message at 2 s (ABANDON_AFTER), and the Redirect must land before. The
pacers are told the cut-off of the calls placed now (``latest_seat_s``, the snapshot's
``grace_s``)."""
AMD_AFTER_GREETING_S = 0.8
"""With answering-machine detection, the silence after a person's hello that AMD waits for
(the dialplan's AMD_AFTER_GREETING_MS): the 2 s count from the greeting's end, so the
dialplan abandons that much sooner after the answer the dialer hears, and so does the
dialer's cut-off."""


def latest_seat_s(amd: bool) -> float:
    """The longest after its answer (AMD's verdict, with detection) that a waiting callee
    is still put through."""
    return LATEST_SEAT_S - AMD_AFTER_GREETING_S if amd else LATEST_SEAT_S


RESYNC_RETRY_S = 5.0
"""A resync that failed (Asterisk slow to list its channels, the link flapping) is tried
again this much later: until it runs, calls whose hangup was missed stay open."""
UNKNOWN_RESYNC_S = 1.0
"""How soon a resync follows an originate that failed on our side with the link up (one for
every such call within it)."""
CLEAR_CHECK_S = 1.0
"""How often a seat held after a callee found its line busy checks its conference."""
LAST_RECORD_S = 10.0
"""How long a run's end tries to store the attempts still unrecorded (a try under way may
wait the store's busy timeout past it)."""
STORE_PATIENCE_MS = 50
"""How long the running campaign's writes wait for another process's lock on the store (a
frame import, a release from the command line) before the write is put off and tried
again. Every event waits behind the one consumer, and a callee answered meanwhile has
1.5 s to reach a seat: with the store's usual 5-s busy timeout, a store held locked for
1.8 s now and then held the consumer up to 1.84 s (Asterisk test campaign)."""
LOCK_BACKOFF_S = 0.5
"""After a write found the store locked, how long the others put themselves off without
trying: each try waits ``STORE_PATIENCE_MS`` on the consumer, and a large floor's pending
interviews, dispositions and dials, each tried in turn, would fill it."""
RECORD_RETRY_S = 1.0
"""How often the unrecorded attempts are tried again (each try waits at most
``STORE_PATIENCE_MS`` for the lock)."""
STORE_RETRY_S = 0.25
"""How soon an interview's start or an operator's disposition the store refused for a lock
is tried again."""
DISPOSE_PATIENCE_S = 30.0
"""How long an operator's disposition is tried again on a locked store before the operator
hears that it failed."""
UNBOOTED_WARN_S = 30.0
"""How long Asterisk may stay connected without saying it is fully booted before the
dialer, which does not dial meanwhile, warns (and again after as long)."""

IDLE_RELEASE = timedelta(minutes=5)
"""Nothing to dial and nothing under way until a retry further off than this: a release tops
up the cells whose numbers left wait longer than LONG_WAIT."""
LONG_WAIT = timedelta(hours=24)
"""Numbers not callable within a day (72 h after an abandoned call, 24 h and a new part of the
day after a machine verdict, a callback days ahead) do not count toward their cell's need
when operators have nothing to dial: fresh numbers are drawn for them. Retries after a busy
line or no answer (at the latest the next day's opening, bar a weekend) still count."""


@dataclass(frozen=True, slots=True)
class Simulation:
    """Simulated callees and operators, for the demo and the tests."""

    answer: float = 0.6
    busy: float = 0.1
    congestion: float = 0.05
    machine: float = 0.0
    """Share of answering machines (reported as such only when detection is on)."""
    ring_s: tuple[float, float] = (0.3, 1.5)
    talk_s: tuple[float, float] = (0.5, 2.0)
    wrap_s: float = 0.3
    complete: float = 0.75
    seed: int = 1
    operators: bool = True
    """Simulated operators post their dispositions; False: they come through the API."""


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
    amd: bool = False
    """Answering-machine detection before a callee is put through (it delays every answer)."""
    pacer: Callable[[], Pacer] = Progressive
    abandon_window_s: float = 24 * 3600.0
    """The regulatory window the abandon rate is held over (Ofcom: 24 hours)."""
    abandon_cap: float = 0.03
    """Abandoned over live answers that the law allows over the window (FACTS.md)."""
    amd_false_positive: float = 0.0
    """The estimated share of answering-machine verdicts that were people: each counts
    that share of an abandoned live answer (Ofcom)."""
    release_seed: int | None = None
    """The first release's seed, the next ones counting up (a reproducible run: the demo, the
    tests); None: a fresh random seed for each release. Either way each release stores its
    seed, so it can be drawn again. One fixed default drew the same numbers in every wave."""
    wrap_up_s: float = 0.0
    """After a disposition, the longest an operator's seat stays in wrap-up (finishing
    notes) before it is free; the operator's Ready ends it sooner."""
    max_duration_s: float | None = 600.0
    """A test's or the demo's time limit: past it the run is cut off wherever it is. None
    for a real campaign, which runs until its quotas are full, its sample is used up or the
    supervisor stops it (fieldwork lasts weeks)."""
    name: str = "campaign"
    autostart: bool = True
    """Dial from the start; False: wait for the supervisor's start command."""
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


@dataclass(frozen=True, slots=True)
class Interview:
    """A callee put through to an operator, whose disposition is awaited."""

    case: CaseView
    admitted: bool
    seat: str
    card: CaseCard
    connected: datetime | None = None
    """When the callee joined the seat: the live answer the pacer counted."""


def _locked(exc: sqlite3.OperationalError) -> bool:
    """Whether the store refused for a lock (another process writing, past the busy
    timeout), which passes: not a disk or a read-only file, which does not."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is None or code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class Unrecorded(NamedTuple):
    """An ended call whose attempt is still to be stored."""

    call: Call
    case: CaseView | None
    ids: dict[str, Any]
    """What its log lines name (``CampaignRunner._ids``), kept as the call is let go."""


class CampaignRunner:
    """Runs one campaign to the end (quotas full, sample exhausted, stopped, or time up).

    The supervisor's and operators' requests (``command``, ``seat``, ``dispose``) go through
    the same inbox as the AMI events and are answered once the one consumer has applied them.
    """

    def __init__(
        self,
        settings: CampaignSettings,
        ami: AmiClient,
        db: aiosqlite.Connection,
        wave: WaveRef,
        questionnaire: Questionnaire | None = None,
    ) -> None:
        self.s = settings
        self.questionnaire = questionnaire
        self.ami = ami
        self.db = db
        self.wave = wave
        self.inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.calls: dict[str, Call] = {}
        self.cases: dict[str, CaseView] = {}  # calls being dialled or on the line
        self.interviews: dict[str, Interview] = {}  # put through, disposition awaited
        self.interview_at: dict[str, str] = {}  # seat -> the call whose disposition it owes
        self.seat_of: dict[str, str] = {}
        self.unseated: dict[str, None] = {}  # answered, no seat free yet: oldest first
        self.attempt_of: dict[str, int] = {}  # until the call's disposition
        self.clearing: set[str] = set()  # seats whose conference is checked (_await_clear)
        self.unrecorded: dict[str, Unrecorded] = {}
        """Ended calls whose attempt the store refused to close (another process held it
        locked past its busy timeout): stored again every ``RECORD_RETRY_S``; meanwhile
        their numbers are not dialled (their attempt is still open) and the campaign
        neither ends nor goes idle (what their outcome says of the number is not known)."""
        self._record_retry_at = 0.0  # monotonic: when the unrecorded are tried again
        self.starting: dict[str, tuple[CaseView, str]] = {}
        """Callees in a seat whose interview the store has not yet started (locked by
        another process): call id -> (case, seat). The seat owes its disposition already."""
        self._disposing: dict[asyncio.Future[Any], float] = {}  # put off: first try (monotonic)
        self._locked_logged = 0.0  # monotonic: when "store locked" was last logged
        self._lock_seen = -float("inf")  # monotonic: when a write last found the store locked
        self.unknown_ends: dict[str, tuple[OriginateEnded, bool]] = {}
        """Calls whose originate's result was lost on our side (``UNKNOWN_END``), and whether
        a resync found their channel gone already: a resync says what became of them (a
        callee answered during an outage was abandoned by the dialplan, and recorded) and
        ends as unknown those it finds gone unanswered (``settle_unknown``)."""
        self._resync_asked = False  # a resync is on its way (``_ask_resync``)
        self._outage = False  # the link was lost, and no resync has read Asterisk since
        self.detecting: set[str] = set()  # calls dialled with machine detection on
        self.sim_machines: set[str] = set()  # simulated callees that are answering machines
        self.stored_ends: list[str] = []  # abandons and machines stored: records to clear
        self._records_forgotten = time.monotonic()
        self.amd_suspended = False
        """Detection suspended: its estimated false positives alone near the cap."""
        self.amd_suspended_at: datetime | None = None
        self.lost_ends: set[str] = set()  # ended as unknown: no dial of their cell's yield
        self.unwithdrawn: set[int] = set()
        """Cases whose withdrawal (a cell closed, a do-not-call list) a locked store put
        off: withdrawn with the unrecorded attempts."""
        self.board = SeatBoard()
        self.opening: set[str] = set()  # seats whose line is being opened
        self.rng = random.Random(settings.simulation.seed if settings.simulation else 0)
        self.tasks: set[asyncio.Task[Any]] = set()
        self.state = RunState.RUNNING if settings.autostart else RunState.READY
        self.finished = ""
        self.link_lost = False
        self._unbooted_since: datetime | None = None
        self.release_seed = settings.release_seed
        self.pacer = settings.pacer()
        self.stats = CallStats(
            window_s=settings.abandon_window_s, machine_people=settings.amd_false_positive
        )
        self.dials = np.zeros(len(wave.cell_ids), dtype=np.int64)
        """Ended dials by frame cell (``recall``, then counted here): per-dial yields."""
        self.metrics = DialerMetrics(settings.name)
        self.log = log.bind()  # resolved now: each call on the module's proxy re-binds
        self.tracing = debug_enabled(self.log)  # transition lines: built only if written
        self.changes = Changes()  # wakes the operators' consoles
        self._epoch = 0  # counts interviews started and ended
        self._shown: tuple[SeatBoard, int] = (self.board, 0)
        self._idle_for: frozenset[int] = frozenset()  # what waited when a release drew none
        self._due_read: DueRead | None = None  # the released cases as a recent tick read them
        self.reader = DueReader(
            settings.store, wave.wave_id, settings.retry, settings.window, settings.clock
        )
        self._tick_queued = False

    async def recall(self) -> None:
        """What pacing learnt before this process, from the store. The regulatory window's
        live answers: after a restart the pacer and the abandon-rate gauge still count the
        abandons the cap counts (a new process started from none, and could breach the cap
        while its alerts stayed silent). The dials per cell, for the yields per dial."""
        since = self.s.clock() - timedelta(seconds=self.s.abandon_window_s)
        estimate = self.s.amd_false_positive
        for at, outcome, people in await live_answers_since(
            self.db, self.wave.wave_id, since, estimate
        ):
            if outcome == "machine":
                self.stats.machine_verdict(at.timestamp(), people)
            else:
                self.stats.live_answer(at.timestamp(), outcome == "abandoned")
        if self.s.amd:
            w = self._abandon_window(self.s.clock())
            self.amd_suspended = suspended_at_start(w.amd_abandons, w.answers, w.cap)
            if self.amd_suspended:
                self.amd_suspended_at = self.s.clock()
                share = share_of_cap(w.amd_abandons, w.answers, w.cap)
                log.error("machine detection suspended at start: its estimated false "
                          "positives near the cap", share_of_cap=round(share, 3))  # fmt: skip
        self.dials = await ended_dials(self.db, self.wave)

    async def run(self) -> CampaignSummary:
        # Every log line of the run (and of the tasks it starts) names the campaign.
        bind(campaign=self.s.name)
        self.log = log.bind()  # with the logging configured now
        self.tracing = debug_enabled(self.log)  # transition lines: built only if written
        s = self.s
        log.info("abandon policy", window_h=s.abandon_window_s / 3600, cap=s.abandon_cap,
                 amd=s.amd, amd_false_positive=s.amd_false_positive)  # fmt: skip
        if s.amd_false_positive and not s.amd:
            log.warning(
                "abandon.amd_false_positive is set but trunk.amd is off: no effect (verdicts "
                "already stored keep the share they were counted as)"
            )
        await self._open_seats()
        await self.db.execute(f"PRAGMA busy_timeout = {STORE_PATIENCE_MS}")
        pump = asyncio.create_task(self._pump(), name="ami-pump")
        ticker = asyncio.create_task(self._ticker(), name="ticker")
        try:
            await asyncio.wait_for(self._consume(), self.s.max_duration_s)
        except TimeoutError:
            self.finished = "time limit"
            log.warning(
                "time limit", state=self.state.value, calls=len(self.calls),
                interviews=len(self.interviews),
                seats={k: v.state.value for k, v in self.board.seats.items()},
                call_states=sorted(c.state.value for c in self.calls.values()),
            )  # fmt: skip
        finally:
            pump.cancel()
            ticker.cancel()
            self.reader.drop()
            for task in self.tasks:
                task.cancel()
            self._refuse_waiting()
        await self._close_seats()
        await self._record_before_the_end()
        if self.stored_ends:  # else the next start's recovery reads them
            with contextlib.suppress(AmiError):
                await forget_records(self.ami, self.stored_ends)
        return await self._summary()

    # --- requests from the API (supervisor, operators) ------------------------------------

    async def command(self, command: Command) -> RunState:
        """Start, pause, resume or stop; ControlError when it does not apply now."""
        result: RunState = await self._ask("control", command)
        return result

    async def seat(self, seat_id: str, action: str, reason: str = "break") -> SeatStatus:
        """Log a seat in or out, pause it (with its reason) or make it ready."""
        result: SeatStatus = await self._ask("seat", (seat_id, action, reason))
        return result

    def console_view(self, seat_id: str) -> SeatView:
        """What the seat's operator sees now: its state and the call awaiting its disposition."""
        _, card, on_line = self.console_key(seat_id)
        return seat_view(seat_id, self.board, card, on_line)

    def console_key(self, seat_id: str) -> tuple[Seat | None, CaseCard | None, bool]:
        """What the seat's view is made of (immutable: a change is a new object), so that a
        stream woken by another seat's change skips rebuilding its own view."""
        call_id = self.interview_at.get(seat_id)
        interview = self.interviews.get(call_id) if call_id is not None else None
        card = interview.card if interview is not None else None
        on_line = card is not None and card.call_id in self.calls
        return self.board.seats.get(seat_id), card, on_line

    async def dispose(self, call_id: str, entry: OperatorDisposition) -> str:
        """The operator's disposition of a call; returns the case's result (or "callback", or
        "retry": an answering machine)."""
        result: str = await self._ask("dispose", (call_id, entry))
        return result

    def abort(self, reason: str) -> None:
        """End the run now, leaving live calls to the recovery of the next start."""
        self.inbox.put_nowait(("abort", reason))

    async def status(self) -> CampaignStatus:
        counts = await load_counts(self.db, self.s.survey, self.wave)
        outcomes, people = await self._outcomes()
        case_of = {call_id: case.case_id for call_id, case in self.cases.items()}
        case_of.update({call_id: i.case.case_id for call_id, i in self.interviews.items()})
        return CampaignStatus(
            campaign=self.s.name,
            state=self.state.value,
            finished=self.finished,
            completes=int(counts.completes.sum()),
            target=int(counts.target.sum()),
            live_calls=len(self.calls),
            attempts=outcomes,
            abandon_rate=abandon_rate(outcomes, people),
            seats=seat_rows(self.s.seats, self.board, case_of),
            cells=cell_rows(
                self.s.survey.grid.cells(),
                counts.target.tolist(),
                counts.completes.tolist(),
                counts.in_progress.tolist(),
                [c is not None for c in counts.closed_at],
            ),
            window=self._abandon_window(self.s.clock()),
        )

    def _abandon_window(self, now: datetime) -> AbandonWindow:
        """The abandon policy and the regulatory window's figures now."""
        at = now.timestamp()
        abandoned, answers = self.stats.window(at)
        return AbandonWindow(
            window_h=self.s.abandon_window_s / 3600,
            cap=self.s.abandon_cap,
            amd_false_positive=self.s.amd_false_positive,
            abandon_rate=abandoned / answers if answers else 0.0,
            answers=answers,
            amd_abandons=self.stats.machine_window(at)[1],
            amd_suspended=self.amd_suspended,
        )

    async def _ask(self, kind: str, payload: Any) -> Any:
        if self.finished:
            raise ControlError(f"the campaign has ended ({self.finished})")
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self.inbox.put((kind, (payload, answer)))
        return await answer

    # --- the one consumer ------------------------------------------------------------------

    async def _consume(self) -> None:
        while not self.finished:
            kind, item = await self.inbox.get()
            try:
                await self._handle(kind, item)
            except (StoreError, sqlite3.Error) as exc:  # a lock: a tick's work waits for
                # the next tick; another process withdrew a case: that item fails; either
                # way the campaign goes on
                if not self._put_off(exc, kind):
                    log.exception("the store refused", item=kind)
            if self.unseated:
                self._seat_waiting()
            self._show()
        self.changes.notify()  # the consoles see the campaign's end
        self._refuse_waiting()

    async def _handle(self, kind: str, item: Any) -> None:
        """One inbox item."""
        if kind == "tick":
            self._tick_queued = False
            await self._tick()
        elif kind == "ami":
            message, arrived = item
            try:
                await self._on_ami(message)
            finally:
                self.metrics.event_handled(time.monotonic() - arrived)
        elif kind == "call":
            call_id, event = item
            if isinstance(event, OriginateEnded) and event.reason == UNKNOWN_END:
                self._end_unknown_later(call_id, event)
            else:
                await self._apply(call_id, event)
        elif kind == "seat_ready":
            self._wrapped_up(*item)
        elif kind == "seat_in":
            self._seat_in(*item)
        elif kind == "line_back":
            self._line_back(item)
        elif kind == "resync":
            self._resync_asked = False  # this is it
            if not self.link_lost:  # else the reconnect resyncs
                await self._resync(self.s.clock())
        elif kind == "abort":
            self.finished = item
        elif kind in ("control", "seat", "dispose"):
            payload, answer = item
            await self._answer(kind, payload, answer)
        elif kind == "interview":
            await self._start_interview(*item)

    def _show(self) -> None:
        """Wake the consoles when a seat or an interview changed (the board is immutable:
        a change is a new board). Two comparisons: this runs after every AMI event."""
        if self.board is not self._shown[0] or self._epoch != self._shown[1]:
            self._shown = (self.board, self._epoch)
            self.changes.notify()

    async def _answer(self, kind: str, payload: Any, answer: asyncio.Future[Any]) -> None:
        put_off = False
        try:
            if kind == "control":
                result: Any = self._control(payload)
            elif kind == "seat":
                seat_id, action, reason = payload
                result = self._seat_request(seat_id, action, answer, reason)
            elif not self._store_free() and self._dispose_later(payload, answer):
                put_off = True  # not even tried: the store was locked a moment ago
                return
            else:
                result = await self._dispose(*payload)
        except sqlite3.OperationalError as exc:
            if kind == "dispose" and self._put_off(exc, kind):
                put_off = self._dispose_later(payload, answer)
                if put_off:
                    return
            log.exception("request failed", request=kind)
            if not answer.done():
                answer.set_exception(exc)
            return
        except ControlError as exc:
            if not answer.done():
                answer.set_exception(exc)
            return
        except Exception as exc:  # a bug or the store failing: the asker hears, dialling goes on
            log.exception("request failed", request=kind)
            if not answer.done():
                answer.set_exception(exc)
            return
        except asyncio.CancelledError:  # the run's time limit, mid-request
            if not answer.done():
                answer.set_exception(ControlError("the campaign has ended"))
            raise
        finally:
            if not put_off:
                self._disposing.pop(answer, None)
        if result is not None and not answer.done():
            answer.set_result(result)

    def _refuse_waiting(self) -> None:
        """The run ends: requests still in the inbox (they came too late, or a time limit
        cut the run short) and dispositions put off (their retries were cancelled) are
        answered; their askers would wait for ever."""
        ended = ControlError(f"the campaign has ended ({self.finished or 'aborted'})")
        drained = _drain(self.inbox)
        waiting = [item[1] for _, item in drained if isinstance(item, tuple) and len(item) == 2]
        for answer in [*waiting, *self._disposing]:
            if isinstance(answer, asyncio.Future) and not answer.done():
                answer.set_exception(ended)
        self._disposing.clear()

    def _dispose_later(self, payload: Any, answer: asyncio.Future[Any]) -> bool:
        """An operator's disposition the store refused for a lock (nothing of it stored):
        asked again soon, the operator's request still waiting, for up to
        ``DISPOSE_PATIENCE_S``. False when that is over."""
        first = self._disposing.setdefault(answer, time.monotonic())
        if time.monotonic() - first > DISPOSE_PATIENCE_S or answer.done():
            return False
        self._later(STORE_RETRY_S, "dispose", (payload, answer))
        return True

    def _put_off(self, exc: BaseException, item: str) -> bool:
        """Whether a write failed for another process's lock on the store, to be put off.
        If so, the other writes put themselves off for ``LOCK_BACKOFF_S``; said at most
        every 5 s."""
        if not (isinstance(exc, sqlite3.OperationalError) and _locked(exc)):
            return False
        now = time.monotonic()
        self._lock_seen = now
        if now - self._locked_logged >= 5.0:
            self._locked_logged = now
            log.warning("store locked by another process: writes put off", item=item,
                        error=str(exc))  # fmt: skip
        return True

    def _control(self, command: Command) -> RunState:
        self.state = apply(self.state, command)
        log.info("campaign", command=command.value, state=self.state.value)
        return self.state

    async def _apply(self, call_id: str, event: CallEvent, teach: bool = True) -> None:
        """A call's event: its new state and what that calls for; the pacer's statistics
        learn from it unless ``teach`` is False (an end not known)."""
        call = self.calls.get(call_id)
        if call is None:
            return
        before = call.state
        call, effects = transition(call, event)
        self.calls[call_id] = call
        if teach:
            learn(self.stats, self.metrics, before, call, event.at)
        if self.tracing and call.state is not before:
            self.log.debug(
                "call", **self._ids(call_id), trigger=type(event).__name__,
                **{"from": before.value}, to=call.state.value, seat=call.seat,
            )  # fmt: skip
        for effect in effects:
            await self._effect(call, effect)

    async def _effect(self, call: Call, effect: Effect) -> None:
        now = self.s.clock()
        if isinstance(effect, ConnectToSeat):
            if not self._put_through(call.call_id, effect.channel, now):
                self.unseated[call.call_id] = None  # the first seat to come free takes it
        elif isinstance(effect, ReleaseSeat):
            with contextlib.suppress(SeatError):
                self.board = end_call(self.board, effect.seat, now)
            self.seat_of.pop(call.call_id, None)
            if not self._owed(call.call_id):  # disposed of already (or never put through)
                self._wrap_up_later(effect.seat)
        elif isinstance(effect, RecordAttempt):
            taken = self.seat_of.pop(call.call_id, None)
            if taken is not None:  # taken for a callee who never arrived
                self.board = hand_back(self.board, taken, now)
            ended = Unrecorded(call, self.cases.get(call.call_id), self._ids(call.call_id))
            try:
                if not self._store_free():  # locked a moment ago: not even tried
                    self.unrecorded[call.call_id] = ended
                    return
                await close_attempt(self.db, call, self.s.amd_false_positive)
            except sqlite3.OperationalError as exc:
                if not self._put_off(exc, "attempt"):
                    raise
                self.unrecorded[call.call_id] = ended
            else:
                await self._recorded(ended)
            finally:  # the call is over even if the store refused to record it
                self.calls.pop(call.call_id, None)
                self.cases.pop(call.call_id, None)
                self.detecting.discard(call.call_id)
                if call.call_id not in self.interviews and call.call_id not in self.starting:
                    self.sim_machines.discard(call.call_id)  # else its operator reads it
                if not self._owed(call.call_id):
                    self.attempt_of.pop(call.call_id, None)

    async def _recorded(self, ended: Unrecorded) -> None:
        """An ended call's attempt is stored: count its dial, and withdraw its number if its
        cell closed or a do-not-call list took it meanwhile."""
        call = ended.call
        assert call.outcome is not None
        if call.call_id in self.lost_ends:  # what the dial did is not known
            self.lost_ends.discard(call.call_id)
        elif ended.case is not None:
            self.dials[ended.case.cell] += 1
        code = None if call.outcome is Outcome.CONNECTED else aapor_code(call.outcome)
        self.metrics.attempt_ended(call.outcome.value, code)
        self.log.info("attempt", **ended.ids, **attempt_fields(call))
        if call.outcome in RECORDED:  # stored: the dialplan's record of it may go
            self.stored_ends.append(call.call_id)
        if call.outcome is not Outcome.CONNECTED:
            await self._withdraw_if_barred(call.case_id)

    async def _withdraw_if_barred(self, case_id: int) -> None:
        """Withdraw the case if its cell closed or a list took its number; on a locked
        store, with the unrecorded attempts (``unwithdrawn``)."""
        try:
            await withdraw_if_barred(self.db, case_id)
        except sqlite3.OperationalError as exc:
            if not self._put_off(exc, "withdraw"):
                raise
            self.unwithdrawn.add(case_id)

    async def _record_again(self) -> None:
        """Store the attempts the store refused to close (``unrecorded``), oldest first,
        until it is locked again. One it refuses for good (another process closed it) is
        let go: kept, it held every tick."""
        for call_id, ended in list(self.unrecorded.items()):
            try:
                await close_attempt(self.db, ended.call, self.s.amd_false_positive)
            except (StoreError, sqlite3.Error) as exc:
                if self._put_off(exc, "attempt"):
                    return  # still locked: tried again in RECORD_RETRY_S
                del self.unrecorded[call_id]
                self.lost_ends.discard(call_id)
                log.error("attempt not stored", **ended.ids, error=str(exc))
                continue
            del self.unrecorded[call_id]
            try:
                await self._recorded(ended)
            except (StoreError, sqlite3.Error) as exc:  # its withdrawal: a later tick's
                log.warning("number not withdrawn", **ended.ids, error=str(exc))
        for case_id in sorted(self.unwithdrawn):
            try:
                await withdraw_if_barred(self.db, case_id)
            except (StoreError, sqlite3.Error) as exc:
                if self._put_off(exc, "withdraw"):
                    return
                log.warning("number not withdrawn", case_id=case_id, error=str(exc))
            self.unwithdrawn.discard(case_id)

    async def _record_before_the_end(self) -> None:
        """The run ends: store what ``unrecorded`` and ``unwithdrawn`` hold while the store
        allows, for up to ``LAST_RECORD_S`` (a restart would code the attempts congestion)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LAST_RECORD_S
        while (self.unrecorded or self.unwithdrawn) and loop.time() < deadline:
            await self._record_again()
            if self.unrecorded or self.unwithdrawn:
                await asyncio.sleep(0.5)
        for ended in self.unrecorded.values():
            log.error("attempt left open: a restart codes it congestion", **ended.ids)
        if self.unwithdrawn:  # never dialled (the list is read with the cases), still out
            log.error("numbers not withdrawn", case_ids=sorted(self.unwithdrawn))

    def _put_through(self, call_id: str, channel: str, now: datetime) -> bool:
        """Give the answered callee the longest-waiting free seat; False when none is free."""
        self.board, seat = take(self.board, call_id, now)
        if seat is None:
            return False
        self.seat_of[call_id] = seat.seat_id
        self._spawn(self._redirect(call_id, channel, seat.seat_id))
        return True

    def _seat_waiting(self) -> None:
        """Seats come free (a wrap-up over, a callee who never arrived, an operator back)
        take the answered callees still waiting, oldest first, as long as the dialplan will
        not have given up on them (ABANDON_AFTER, 2 s; less with detection) before the
        Redirect lands."""
        now = self.s.clock()
        for call_id in list(self.unseated):
            call = self.calls.get(call_id)
            if (
                call is None
                or call.state is not CallState.ANSWERED
                or call.channel is None
                or call.answered is None
                or (now - call.answered).total_seconds() > latest_seat_s(call_id in self.detecting)
            ):
                del self.unseated[call_id]  # put through, gone, or about to hear the message
            elif self._put_through(call_id, call.channel, now):
                del self.unseated[call_id]
                log.debug("put through late", **self._ids(call_id))
            else:
                return  # no seat free

    def _wrap_s(self) -> float:
        sim = self.s.simulation
        return sim.wrap_s if sim is not None and sim.operators else self.s.wrap_up_s

    async def _on_ami(self, message: Any) -> None:
        ours = call_event_of(message, self.s.clock, self.calls)
        if ours is not None:
            call_id, call_event = ours
            if call_event is None:
                return
            seat = self.seat_of.get(call_id)
            await self._apply(call_id, call_event)
            if isinstance(call_event, SeatJoined):
                await self._start_interview(call_id, call_event.seat)
            elif isinstance(call_event, Abandoned) and seat is not None:
                if call_event.reason == "no-operator":
                    self._line_lost(seat, "the seat's conference had no operator")
                elif call_event.reason == "seat-busy":
                    self._line_busy(seat)
            return
        event = parse_event(message)
        if isinstance(event, LinkState):
            if event.up and self.link_lost:
                self.metrics.ami_reconnected()
            if not event.up:
                self.link_lost = self._outage = True
            elif self.link_lost:
                self.link_lost = False
                await self._resync(self.s.clock())
        elif isinstance(event, DialplanEvent) and event.name == "SeatReady":
            if self.s.simulation is None:  # simulated lines are opened by the dialer itself
                self._phone_login(event.fields.get("Seat", ""))
        elif isinstance(event, DialplanEvent) and event.name == "SeatRefused":
            seat = event.fields.get("Seat", "")
            if seat in self.s.seats:
                log.warning("a seat's line refused: only the seat's own phone may open it",
                            seat=seat, phone=event.fields.get("Phone", ""))  # fmt: skip
        elif isinstance(event, ConferenceJoin) and not event.joined:
            seat = event.conference.removeprefix("seat-")
            if event.channel.startswith(self._line_prefix(seat)):  # the operator's line left
                self._line_lost(seat, "the operator left")

    async def _resync(self, now: datetime) -> None:
        """After a (re)connect, or an originate's result lost: what became of the open calls
        while the dialer could not hear (``dialer.call.resync``), applied as the events it
        missed; calls whose originate's result was lost are settled (``_end_unknown``);
        seats whose line is gone lose it. Calls not answered whose channel is gone end
        through their originate."""
        try:
            channels = await self.ami.core_show_channels()
            abandoned = await self.ami.db_family(ABANDONED_FAMILY)
        except AmiError as exc:  # tried again soon: calls whose hangup was missed stay open
            log.warning("resync failed", error=str(exc), retry_s=RESYNC_RETRY_S)
            self._ask_resync(RESYNC_RETRY_S)
            return
        after_outage, self._outage = self._outage, False
        try:
            for call_id, event in missed_events(self.calls, channels, abandoned, now):
                log.info("resync", **self._ids(call_id), missed=type(event).__name__)
                await self._apply(call_id, event)
                if isinstance(event, SeatJoined):
                    await self._start_interview(call_id, event.seat)
            live = {str(m.get("Uniqueid", "")): str(m.get("Channel", "")) for m in channels}
            await self._end_unknown(live, after_outage, now)
        finally:  # whatever failed, the calls still unknown are asked about again
            if self.unknown_ends:
                self._ask_resync(RESYNC_RETRY_S)
        if abandoned:  # read: its own calls' are cleared once their attempts are closed
            self._spawn(_forget_abandons(self.db, self.ami, abandoned, now))
        lines = [str(m.get("Channel", "")) for m in channels]
        for seat in list(self.board.seats):
            if not any(line.startswith(self._line_prefix(seat)) for line in lines):
                self._line_lost(seat, "its line was gone at a resync")

    def _end_unknown_later(self, call_id: str, event: OriginateEnded) -> None:
        """A call's originate failed on our side (its result lost with the link, or timed
        out): what became of the call is asked of Asterisk by a resync (the reconnect's, or
        one soon) before the call is ended as unknown."""
        if call_id not in self.calls:
            return
        self.unknown_ends[call_id] = (event, False)
        if not self.link_lost:  # else the reconnect's
            self._ask_resync(UNKNOWN_RESYNC_S)

    def _ask_resync(self, delay: float) -> None:
        """A resync in ``delay`` s, unless one is on its way already (many calls' originates
        failing at once, or resyncs failing, ask for one)."""
        if not self._resync_asked:
            self._resync_asked = True
            self._later(delay, "resync", None)

    async def _end_unknown(self, live: dict[str, str], after_outage: bool, now: datetime) -> None:
        """After a resync, the calls whose originate's result was lost (``settle_unknown``):
        those still unanswered and gone are ended as unknown (congestion; the pacer learns
        nothing), at their hangup's time if heard; one whose channel lived too long is hung
        up first; the others wait for another resync. ``live``: channels by call id."""
        for call_id, (event, gone_before) in list(self.unknown_ends.items()):
            waited = (now - event.at).total_seconds()
            verdict = settle_unknown(
                self.calls.get(call_id), call_id in live, gone_before, after_outage, waited
            )
            if verdict in ("wait", "gone"):
                self.unknown_ends[call_id] = (event, verdict == "gone")
                continue
            del self.unknown_ends[call_id]
            if verdict == "drop":
                continue
            if verdict == "hang_up":
                log.warning("call's channel outlived its lost result: hung up",
                            **self._ids(call_id))  # fmt: skip
                with contextlib.suppress(AmiError):
                    await self.ami.hangup(live[call_id])
            self.lost_ends.add(call_id)
            await self._apply(call_id, event, teach=False)

    def _line_lost(self, seat_id: str, why: str) -> None:
        """A logged-in seat lost its operator's line: it takes no callee until the line is
        back. A simulated operator's line is reopened; a real operator dials in again."""
        seat = self.board.seats.get(seat_id)
        if seat is None or not seat.line:
            return  # logged out (or already known)
        self.board = line_lost(self.board, seat_id)
        log.warning("seat line lost", seat=seat_id, reason=why)
        if self.s.simulation is not None:
            self._spawn(self._restore_line(seat_id))

    def _line_busy(self, seat_id: str) -> None:
        """A callee sent to the seat found another party beside its operator (a channel whose
        end the dialer never heard, someone dialled into the conference): every callee sent
        there is abandoned, so the seat takes none until its conference holds its operator
        alone. Hanging the other party up could cut off a supervisor or a live call."""
        seat = self.board.seats.get(seat_id)
        if seat is None or not seat.line:
            return
        self.board = line_lost(self.board, seat_id)
        log.warning("seat line busy: no callee until its conference is clear", seat=seat_id)
        if seat_id not in self.clearing:
            self._spawn(self._await_clear(seat_id))

    async def _await_clear(self, seat_id: str) -> None:
        """Give the seat its line back once its conference holds its operator alone (checked
        every ``CLEAR_CHECK_S``; one check a seat). With the operator gone as well, a
        simulated operator's line is reopened and the check goes on; a real operator
        dials in again (``_operator_back`` checks the same)."""
        if seat_id in self.clearing:
            return
        self.clearing.add(seat_id)
        try:
            while (seat := self.board.seats.get(seat_id)) is not None and not seat.line:
                await asyncio.sleep(CLEAR_CHECK_S)
                await self.ami.connected.wait()
                try:
                    channels = await self.ami.confbridge_channels(f"seat-{seat_id}")
                    if not operator_listed(channels, seat_id):
                        if self.s.simulation is None or seat_id not in self.board.seats:
                            return  # a real operator dials in; a seat logged out needs none
                        await self._open_line(seat_id)
                        continue
                except AmiError:
                    continue
                if len(channels) == 1:
                    await self.inbox.put(("line_back", seat_id))
                    return
        finally:
            self.clearing.discard(seat_id)

    async def _restore_line(self, seat_id: str) -> None:
        """Reopen a simulated operator's line, retrying with backoff while the seat is in."""
        delay = 0.5
        while seat_id in self.board.seats:
            await self.ami.connected.wait()
            try:
                if not await _operator_in(self.ami, seat_id):  # never two lines in one seat
                    await self._open_line(seat_id)
            except AmiError as exc:
                log.warning("seat line not reopened", seat=seat_id, error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 8.0)
                continue
            await self.inbox.put(("line_back", seat_id))
            return

    # --- pacing and dialling ---------------------------------------------------------------

    async def _tick(self) -> None:
        now = self.s.clock()
        self._check_detection(self._observe(now), now)
        self._forget_records()
        if not self._store_free():
            return  # another process held the store a moment ago: its writes wait
        if (self.unrecorded or self.unwithdrawn) and time.monotonic() >= self._record_retry_at:
            self._record_retry_at = time.monotonic() + RECORD_RETRY_S
            await self._record_again()
            if not self._store_free():
                return  # still locked: the tick's other writes would wait for it too
        counts = await load_counts(self.db, self.s.survey, self.wave)
        if bool((counts.completes >= counts.target).all()):
            if not self._open_work():
                self.state, self.finished = RunState.FINISHED, "quotas full"
            return
        if not dials(self.state):
            self.state = settle(self.state, self._open_work())
            if self.state is RunState.STOPPED:
                self.finished = "stopped"
            return
        if not self._asterisk_ready(now) or not self.s.window.is_open(now):
            return  # Asterisk unreachable or still booting, or outside the window: no dials
        snap = snapshot_of(
            now, self.board, self.calls.values(), self.seat_of, self.s.channel_limit, self.stats,
            latest_seat_s(self.amd_on),
        )  # fmt: skip
        launch = min(self.pacer.launch(snap), snap.channel_room)
        if launch == 0:
            return
        fill = [
            float(c) / t if t else 1.0 for c, t in zip(counts.completes, counts.target, strict=True)
        ]
        busy = {v.case_id for v in self.cases.values()}
        busy.update(i.case.case_id for i in self.interviews.values())
        busy.update(case.case_id for case, _ in self.starting.values())
        busy.update(u.call.case_id for u in self.unrecorded.values())  # their history is owed
        idle = not self._open_work()
        try:
            landed = self.reader.landed(now)
        except sqlite3.Error as exc:  # the old read serves; the next tick reads again
            log.warning("released cases not read", error=str(exc))
            landed = None
        read: DueRead | None
        if landed is not None:
            read, fresh = await self._take_read(landed), True
        else:
            read, fresh = self._due_read, False
        offered = offer(read, now, busy, idle)
        if offered.read_next:
            self.reader.start(now, fill, busy)  # taken by a tick once it has landed
        if read is None:
            return
        due, barred = in_closed_cells(offered.cases, counts.closed_at)
        for case in barred:
            await withdraw_if_barred(self.db, case.case_id)
            read.taken.add(case.case_id)
            self.reader.changed(case.case_id)
        if not due and idle:
            if offered.settled:  # else the next read decides
                await self._going_idle(read, now, fresh, len(fill))
            return
        out = calls_out(self.cases, self.calls) + [c.cell for c, _ in self.starting.values()]
        needs = cell_needs(counts, self.s.survey, out, self.dials)
        taken = read.take(to_dial(launch, due, needs), now, self.s.retry, self.s.window)
        for i, case in enumerate(taken):
            if not await self._dial(case, now):  # the store is locked: the next tick dials
                read.taken.difference_update(c.case_id for c in taken[i:])
                return

    async def _going_idle(self, read: DueRead, now: datetime, fresh: bool, cells: int) -> None:
        """No calls, no interviews and none due: release more, or finish."""
        if read.soonest is None:  # every released number is done with: the next release
            self._forget_read()
            if await self._release() == 0 and not (fresh and read.exhausted):
                self.state, self.finished = RunState.FINISHED, "sample exhausted"
        elif read.soonest - now > IDLE_RELEASE:
            await self._idle_release(read.left, now, cells)

    async def _take_read(self, read: DueRead) -> DueRead:
        """Finish the landed read's exhausted cases, and keep it for the ticks to come
        (``READ_EVERY``)."""
        for case in read.exhausted:
            last = case.history[-1].outcome if case.history else None
            result = "ineligible" if last is Outcome.FAILED else "other"
            try:
                await finish_case(self.db, self.s.survey, self.wave, case.case_id, result)
            except StoreError as exc:  # withdrawn during the read (a cell closed, a list)
                log.debug("exhausted case not finished", case_id=case.case_id, reason=str(exc))
            except sqlite3.OperationalError as exc:  # the next read finds them again
                if not self._put_off(exc, "finish"):
                    raise
                break
        self._due_read = read
        return read

    def _forget_read(self) -> None:
        """The released cases changed (a release): the read in use and any under way are
        out of date."""
        self._due_read = None
        self.reader.drop()

    def _asterisk_ready(self, now: datetime) -> bool:
        """Whether Asterisk is up and fully booted (``boot_check``), with its warning."""
        ami = self.ami
        ready, self._unbooted_since, warn = boot_check(
            self._unbooted_since, now, ami.connected.is_set(), ami.booted.is_set()
        )
        if warn:
            log.warning("asterisk connected but not fully booted: not dialling",
                        hint="the AMI user must read the 'system' class")  # fmt: skip
        return ready

    async def _idle_release(self, waiting: list[CaseView], now: datetime, cells: int) -> None:
        """Operators wait for retries: release more for the cells whose numbers left may not
        be called for a long while (LONG_WAIT: 72 h after an abandoned call, a callback days
        ahead); numbers due again sooner (busy, no answer) still count as out. A release
        that drew none is not redone while the same numbers wait."""
        if self._idle_for == (ids := _ids_of(waiting)):
            return
        until = now + LONG_WAIT
        later = held_back(waiting, now, until, self.s.retry, self.s.window, cells)
        drawn = await self._release(np.array(later, dtype=np.int64))
        self._idle_for = frozenset() if drawn else ids
        if drawn:
            self._forget_read()  # the next tick reads the numbers drawn

    async def _release(self, held_back: npt.NDArray[np.int64] | None = None) -> int:
        """Draw and store the next release; the numbers it drew."""
        seed = self.release_seed if self.release_seed is not None else fresh_seed()
        release = await make_release(self.db, self.s.survey, self.wave, seed, held_back=held_back)
        if self.release_seed is not None:
            self.release_seed += 1
        log.info("release", release_id=release.release_id, numbers=release.size, seed=seed)
        return release.size

    def _ids(self, call_id: str) -> dict[str, Any]:
        """What every log line about a call names: its case, attempt and channel (the call id
        is the channel's unique id, set on the originate; the name comes once it rings)."""
        call = self.calls.get(call_id)
        interview = self.interviews.get(call_id)
        case = self.cases.get(call_id) or (interview.case if interview else None)
        return {
            "call_id": call_id,
            "case_id": call.case_id if call else case.case_id if case else None,
            "attempt_id": self.attempt_of.get(call_id),
            "channel": call.channel if call else None,
        }

    def _observe(self, now: datetime) -> AbandonWindow:
        """Seats, calls out and the window's abandon rate, for the metrics; the window."""
        seats = [_seat_gauge_state(seat) for seat in self.board.seats.values()]
        states = [call.state for call in self.calls.values()]
        ringing = sum(s in (CallState.DIALLING, CallState.RINGING) for s in states)
        waiting = sum(s is CallState.ANSWERED for s in states)
        dialling = dials(self.state) and self.s.window.is_open(now)
        self.metrics.pace(seats, ringing, waiting, dialling, self.ami.connected.is_set())
        w = self._abandon_window(now)
        aiming = getattr(self.pacer, "aiming", w.cap)
        self.metrics.abandons(w.abandon_rate, w.answers, aiming, w.cap, w.amd_abandons)
        self.metrics.detection(self.amd_on)
        return w

    def _forget_records(self) -> None:
        """Clear the dialplan's records of the abandons and machine verdicts stored since the
        last time (a batch at least every ``RECORD_FORGET_S``): kept for an outage or a
        crash, they would pile up (machines: a tenth of the dials) until the next resync
        read them all. A batch that fails with the link up is tried again; with the link
        down, the reconnect's resync clears them."""
        heard = self.stored_ends
        if not heard or (
            len(heard) < FORGET_BATCH
            and time.monotonic() - self._records_forgotten < RECORD_FORGET_S
        ):
            return
        self.stored_ends, self._records_forgotten = [], time.monotonic()

        async def forget() -> None:
            try:
                await forget_records(self.ami, heard)
            except AmiError as exc:
                log.info("records not cleared", error=str(exc), calls=len(heard))
                if self.ami.connected.is_set():
                    self.stored_ends.extend(heard)

        self._spawn(forget())

    @property
    def amd_on(self) -> bool:
        """Answering-machine detection listens to the calls placed now: configured, and not
        suspended (``_check_detection``)."""
        return self.s.amd and not self.amd_suspended

    def _check_detection(self, w: AbandonWindow, now: datetime) -> None:
        """Suspend answering-machine detection while its estimated false positives alone
        take most of the cap, and turn it on again once they are diluted (``detection``)."""
        if not self.s.amd:
            return
        suspended = detection_suspended(self.amd_suspended, w.amd_abandons, w.answers, w.cap)
        if suspended == self.amd_suspended:
            return
        self.amd_suspended = suspended
        if suspended:
            self.amd_suspended_at = now
        share = share_of_cap(w.amd_abandons, w.answers, w.cap)
        (log.error if suspended else log.warning)(
            "machine detection suspended: its estimated false positives near the cap"
            if suspended else "machine detection on again",
            share_of_cap=round(share, 3), estimate=self.s.amd_false_positive,
        )  # fmt: skip

    async def rates(self) -> RatesStatus:
        """The wave's AAPOR outcome rates, overall and per cell, from the store now."""
        cases = [(c.cell, c.codes) for c in await case_codes(self.db, self.wave.wave_id)]
        outcomes = outcome_rates(cases, self.s.survey.grid.cells())
        return rates_status(self.s.name, self.wave.number, outcomes)

    async def metrics_text(self) -> bytes:
        """The metrics in Prometheus' text format, the quota gauges read from the store now."""
        counts = await load_counts(self.db, self.s.survey, self.wave)
        self.metrics.quotas(self.s.survey.grid.cells(), counts)
        self._observe(self.s.clock())
        return self.metrics.exposition()

    async def _dial(self, case: CaseView, now: datetime) -> bool:
        """Dial the case; False when the store is locked by another process (a tick's
        other dials would wait for it too)."""
        call_id = str(uuid.uuid4())
        try:
            attempt_id = await open_attempt(self.db, case.case_id, call_id, now)
        except StoreError as exc:
            self.reader.changed(case.case_id)
            log.warning("not dialled", case_id=case.case_id, reason=str(exc))
            return True
        except sqlite3.OperationalError as exc:
            if not self._put_off(exc, "dial"):
                raise
            return False
        self.reader.changed(case.case_id)
        self.calls[call_id] = new_call(call_id, case.case_id, now)
        self.cases[call_id] = case
        self.attempt_of[call_id] = attempt_id
        self.metrics.launched()
        if self.tracing:  # its fields cost more than the filtered call
            self.log.debug("dial", **self._ids(call_id), number=mask(case.phone))
        self._spawn(self._originate(call_id, case, self._dial_variables(call_id)))
        return True

    def _dial_variables(self, call_id: str) -> dict[str, str]:
        """The originate's channel variables, decided as the call is placed: a simulated
        callee's behaviour, and whether machine detection listens (the call's cut-off for a
        seat follows it)."""
        variables = self._callee_behaviour()
        if variables.get("SIM_OUTCOME") == "machine":
            self.sim_machines.add(call_id)
        if self.amd_on:
            variables["DIALER_AMD"] = "1"
            self.detecting.add(call_id)
        return variables

    async def _originate(self, call_id: str, case: CaseView, variables: dict[str, str]) -> None:
        try:
            result = await self.ami.originate(
                channel=f"Local/{case.phone.lstrip('+')}@{self.s.dial_context}",
                context="dialer-hold",
                exten="s",
                channel_id=call_id,
                other_channel_id=call_id + FAR_LEG,
                timeout_s=self.s.ring_timeout_s,
                variables=variables,
            )
            reason = result.reason
        except AmiError as exc:  # our side failed (link down, timeout): the end is unknown
            log.warning("originate failed", **self._ids(call_id), error=str(exc))
            reason = UNKNOWN_END
        await self.inbox.put(("call", (call_id, OriginateEnded(self.s.clock(), reason))))

    async def _redirect(self, call_id: str, channel: str, seat: str) -> None:
        try:
            await self.ami.redirect(channel, "connect", seat)
        except AmiError as exc:  # the callee hung up meanwhile: the hang-up event frees the seat
            log.info("redirect failed", **self._ids(call_id), seat=seat, error=str(exc))

    # --- seats -----------------------------------------------------------------------------

    def _seat_request(
        self, seat_id: str, action: str, answer: asyncio.Future[Any], reason: str = "break"
    ) -> SeatStatus | None:
        if seat_id not in self.s.seats:
            raise NotFound(f"seat {seat_id} is not one of this campaign's seats")
        now = self.s.clock()
        try:
            if action == "login":
                if seat_id in self.board.seats or seat_id in self.opening:
                    raise ControlError(f"seat {seat_id} is already logged in")
                self.opening.add(seat_id)
                self._spawn(self._login(seat_id, answer))
                return None  # answered once the line is open
            if seat_id in self.interview_at and action != "pause":
                raise ControlError(f"seat {seat_id} owes a disposition; post it first")
            if action == "logout":
                self._wrap_over(seat_id, now)
                self.board = log_out(self.board, seat_id)
                self._spawn(self._hang_up_line(seat_id))
            elif action == "pause":
                self.board = pause(self.board, seat_id, reason, now)
            elif action == "ready":
                self._wrap_over(seat_id, now)
                self.board = ready(self.board, seat_id, now)
            else:
                raise NotFound(f"no seat action {action!r}")
        except SeatError as exc:
            raise ControlError(str(exc)) from None
        log.info("seat", seat=seat_id, action=action)
        return self._seat_status(seat_id)

    def _seat_status(self, seat_id: str) -> SeatStatus:
        return seat_rows([seat_id], self.board, {})[0]

    async def _login(self, seat_id: str, answer: asyncio.Future[Any] | None) -> None:
        try:
            await self._open_line(seat_id)
            error = None
        except AmiError as exc:
            error = ControlError(f"seat {seat_id}: {exc.reason}")
        await self.inbox.put(("seat_in", (seat_id, answer, error)))

    def _seat_in(
        self, seat_id: str, answer: asyncio.Future[Any] | None, error: ControlError | None
    ) -> None:
        self.opening.discard(seat_id)
        if error is None and seat_id not in self.board.seats:
            self.board = log_in(self.board, seat_id, self.s.clock())
            log.info("seat", seat=seat_id, action="login")
        if answer is None or answer.done():
            return
        if error is not None:
            answer.set_exception(error)
        else:
            answer.set_result(self._seat_status(seat_id))

    def _line_back(self, seat_id: str) -> None:
        if seat_id in self.board.seats:
            self.board = line_back(self.board, seat_id, self.s.clock())
            log.info("seat line back", seat=seat_id)

    def _phone_login(self, seat_id: str) -> None:
        """A real operator dialled in from the phone (9 + seat): the seat logs in, or gets
        its line back."""
        seat = self.board.seats.get(seat_id)
        if seat is not None and not seat.line:
            self._spawn(self._operator_back(seat_id))
        elif seat_id in self.s.seats and seat_id not in {*self.board.seats, *self.opening}:
            self.opening.add(seat_id)
            self._spawn(self._operator_arrived(seat_id))

    async def _operator_arrived(self, seat_id: str) -> None:
        error = None
        try:
            await wait_for_operator(self.ami, seat_id)
        except AmiError as exc:
            error = ControlError(str(exc))
        await self.inbox.put(("seat_in", (seat_id, None, error)))

    async def _operator_back(self, seat_id: str) -> None:
        """A real operator dialled in again: the line is back once the seat's conference
        holds the operator alone (a party left there would take the next callee's place)."""
        with contextlib.suppress(AmiError):
            await wait_for_operator(self.ami, seat_id)
            await self._await_clear(seat_id)

    async def _open_line(self, seat: str) -> None:
        """Open an operator's line into the seat's conference: a simulated operator's, or
        ring the real operator's phone, who answers to start the shift."""
        if self.s.simulation is not None:
            channel, context, exten = f"Local/{seat}@seat-sim", "seat-keepalive", "s"
        else:
            channel, context, exten = f"PJSIP/{seat}", "seat-login", f"9{seat}"
        result = await self.ami.originate(
            channel=channel,
            context=context,
            exten=exten,
            channel_id=f"seat-{seat}-{uuid.uuid4()}",
            timeout_s=5 if self.s.simulation is not None else 30,
        )
        if not result.answered:
            raise AmiError("Originate", f"seat {seat}: line did not open")
        await wait_for_operator(self.ami, seat)

    async def _open_seats(self) -> None:
        """Simulated operators all log in at the start; real ones already in their seat (the
        dialer restarted under them) are logged in, the others log in when they come."""
        if self.s.simulation is not None:
            await self._close_seats()  # lines a previous run left open would make seats busy
            await asyncio.gather(*(self._open_line(seat) for seat in self.s.seats))
            present = list(self.s.seats)
        else:
            present = [s for s in self.s.seats if await _operator_in(self.ami, s)]
        for seat in present:
            self.board = log_in(self.board, seat, self.s.clock())

    async def _close_seats(self) -> None:
        if self.s.simulation is None:
            return  # real operators hang up themselves; a restart must not cut them off
        for seat in self.s.seats:
            await self._hang_up_line(seat)

    def _line_prefix(self, seat: str) -> str:
        """How the name of a seat's open line begins (its conference-side channel)."""
        return f"Local/{seat}@seat-sim-" if self.s.simulation is not None else f"PJSIP/{seat}-"

    async def _hang_up_line(self, seat: str) -> None:
        pattern = "/^" + self._line_prefix(seat).replace("/", "\\/") + "/"  # seats are digits
        with contextlib.suppress(AmiError):
            await self.ami.hangup(pattern)

    # --- interviews and dispositions -------------------------------------------------------

    async def _start_interview(self, call_id: str, seat: str, case: CaseView | None = None) -> None:
        """The callee is in the seat: the case's interview, once (a resync's channel list
        and the live join it raced can both say so). On a store locked by another process
        it is started a little later (``starting``), whether the callee is still on the
        line or not: the seat owes its disposition from now."""
        if case is not None:  # tried again: only while still put off (once a start is under way)
            if self.starting.get(call_id) != (case, seat):
                return
        elif call_id in self.starting:  # a resync's join while put off: the retry starts it
            return
        case = case or self.cases.get(call_id)
        if case is None or call_id in self.interviews:
            return
        if not self._store_free():  # locked a moment ago: not even tried
            self._start_later(call_id, case, seat)
            return
        try:
            admitted = await start_interview(self.db, self.s.survey, self.wave, case.case_id)
        except sqlite3.OperationalError as exc:
            if not self._put_off(exc, "interview"):
                self._not_starting(call_id, seat)
                raise
            self._start_later(call_id, case, seat)
            return
        except BaseException:
            self._not_starting(call_id, seat)
            raise
        self.starting.pop(call_id, None)
        card = case_card(call_id, case, self.s.survey.grid, self.questionnaire, admitted)
        call = self.calls.get(call_id)
        connected = call.connected if call is not None else await self._connected_at(call_id)
        self.interviews[call_id] = Interview(case, admitted, seat, card, connected)
        self.interview_at[seat] = call_id
        self._epoch += 1
        sim = self.s.simulation
        if sim is not None and sim.operators:
            self._spawn(
                self._simulated_operator(call_id, case, admitted, self.rng.uniform(*sim.talk_s))
            )

    def _start_later(self, call_id: str, case: CaseView, seat: str) -> None:
        """The interview waits for the store; its seat owes the disposition already."""
        self.starting[call_id] = (case, seat)
        self.interview_at[seat] = call_id
        self._later(STORE_RETRY_S, "interview", (call_id, seat, case))

    async def _connected_at(self, call_id: str) -> datetime | None:
        """When a call that has ended already joined its seat (an interview put off by a
        locked store starts after the callee hung up), from its stored attempt."""
        async with self.db.execute(
            "SELECT connected_at FROM attempt WHERE call_id = ?", (call_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def _not_starting(self, call_id: str, seat: str) -> None:
        """An interview put off will not start after all (the store refused it for good):
        the seat owes nothing, and a wrap-up its call's end began runs out as usual."""
        self.sim_machines.discard(call_id)
        if self.starting.pop(call_id, None) is None or self.interview_at.get(seat) != call_id:
            return
        del self.interview_at[seat]
        if call_id not in self.calls and self._in_wrap_up(seat):
            self._wrap_up_later(seat)

    def _store_free(self) -> bool:
        """Whether to try a write now: no write found the store locked in the last
        ``LOCK_BACKOFF_S``."""
        return time.monotonic() - self._lock_seen >= LOCK_BACKOFF_S

    def _owed(self, call_id: str) -> bool:
        """Whether the call's seat owes a disposition for it (its interview started, or
        waits for the store)."""
        return call_id in self.interviews or call_id in self.starting

    def _open_work(self) -> int:
        """Calls, interviews (started or waiting for the store), attempts and withdrawals
        still to store: while any, the campaign neither finishes nor goes idle."""
        return (
            len(self.calls) + len(self.interviews) + len(self.starting) + len(self.unrecorded)
            + len(self.unwithdrawn)
        )  # fmt: skip

    async def _simulated_operator(
        self, call_id: str, case: CaseView, admitted: bool, talk_s: float
    ) -> None:
        """Talk, then post a disposition as an operator would."""
        await asyncio.sleep(talk_s)
        sim = self.s.simulation
        assert sim is not None
        if call_id in self.sim_machines:  # detection off or suspended: a machine's greeting
            self.sim_machines.discard(call_id)
            entry = OperatorDisposition(Disposition.ANSWERING_MACHINE)
        elif not admitted:
            entry = OperatorDisposition(Disposition.OVER_QUOTA)
        elif self.rng.random() < sim.complete:
            truth = _verified_cell(self.s.survey, case)
            answers = simulate_answers(self.questionnaire, self.rng) if self.questionnaire else None
            entry = OperatorDisposition(
                Disposition.COMPLETE, truth.district, truth.age_band, truth.sex, answers=answers
            )
        else:
            entry = OperatorDisposition(Disposition.REFUSAL)
        with contextlib.suppress(ControlError):
            await self.dispose(call_id, entry)

    async def _dispose(self, call_id: str, entry: OperatorDisposition) -> str:
        interview = self.interviews.get(call_id)
        if interview is None:
            raise NotFound(f"call {call_id}: no interview awaits a disposition")
        try:
            checked = check(
                entry, self.s.survey.grid, self.s.clock(), self.questionnaire, self.s.window
            )
        except DispositionError as exc:
            raise Invalid(exc.field, exc.problem) from None
        result, disposition = await self._store_disposition(call_id, interview, checked)
        if disposition is Disposition.ANSWERING_MACHINE and interview.connected is not None:
            self.stats.retract_answer(interview.connected.timestamp())  # no person answered
        # A callback whose number is now listed, or whose cell closed: withdrawn. The
        # disposition is stored already, so the seat owes none whatever this does (a listed
        # number is never dialled; a closed cell's case is withdrawn when it next falls due).
        try:
            await self._withdraw_if_barred(interview.case.case_id)
        except (StoreError, sqlite3.Error):
            log.exception("case not withdrawn", **self._ids(call_id))
        del self.interviews[call_id]
        if self.interview_at.get(interview.seat) == call_id:
            del self.interview_at[interview.seat]
        self._epoch += 1
        self.metrics.disposed(
            disposition.value, aapor_code(Outcome.CONNECTED, disposition),
            complete=result == "complete",
        )  # fmt: skip
        log.info("disposition", **self._ids(call_id), seat=interview.seat,
                 disposition=disposition.value, result=result)  # fmt: skip
        if call_id not in self.calls:  # else the hang-up still names the attempt
            self.attempt_of.pop(call_id, None)
        call = self.calls.get(call_id)
        if call is not None and call.channel:  # still on the line: the operator ends the call
            self._spawn(self._hang_up(call.channel))
        elif self._in_wrap_up(interview.seat):  # the call ended first: wrap-up is over
            self._wrap_up_later(interview.seat)
        return result

    async def _store_disposition(
        self, call_id: str, interview: Interview, checked: CheckedDisposition
    ) -> tuple[str, Disposition]:
        """The attempt's disposition, the case's result and a complete's answers, in one
        transaction: all stored, or none (the operator can post again)."""
        case_id = interview.case.case_id
        async with transaction(self.db):
            await set_disposition(
                self.db, call_id, checked.disposition, checked.callback_at, checked.note
            )
            if checked.case_result is None:
                await cancel_interview(self.db, self.wave, case_id)
                again = "callback" if checked.disposition is Disposition.CALLBACK else "retry"
                return again, checked.disposition
            answers = (
                Answers(self.questionnaire.id, checked.answers)
                if self.questionnaire is not None and checked.answers is not None
                else None
            )
            finished = await finish_case(
                self.db, self.s.survey, self.wave, case_id, checked.case_result, checked.verified,
                answers=answers,
            )  # fmt: skip
            if checked.disposition is Disposition.COMPLETE and finished.result == "over_quota":
                # the verified cell was full: AAPOR 4.80
                await set_disposition(self.db, call_id, Disposition.OVER_QUOTA, note=checked.note)
                return finished.result, Disposition.OVER_QUOTA
            return finished.result, checked.disposition

    def _wrap_up_later(self, seat_id: str) -> None:
        """The seat's wrap-up ends after the wrap-up time, if it is still this wrap-up then."""
        seat = self.board.seats.get(seat_id)
        if seat is not None:
            self._later(self._wrap_s(), "seat_ready", (seat_id, seat.since))

    def _wrapped_up(self, seat_id: str, since: datetime) -> None:
        """A wrap-up timer fired: the seat is free (or paused), unless it moved on meanwhile
        (made ready, took another call, and may be wrapping up that one, whose disposition
        its operator still owes)."""
        seat = self.board.seats.get(seat_id)
        if seat is None or seat.state is not SeatState.WRAP_UP or seat.since != since:
            return
        now = self.s.clock()
        self._wrap_over(seat_id, now)
        self.board = wrapped_up(self.board, seat_id, now)

    def _wrap_over(self, seat_id: str, now: datetime) -> None:
        """The seat's wrap-up, if it is in one, ends ``now`` (its timer, or the operator's
        Ready or logout cut it short): the pacer learns its length. Learning only the
        timer's would leave the pacer no wrap-ups where operators press Ready first, and
        with none it counts a seat free the moment its talk ends."""
        seat = self.board.seats.get(seat_id)
        if seat is None or seat.state is not SeatState.WRAP_UP:
            return
        wrap = (now - seat.since).total_seconds()
        self.stats.wrap_ended(wrap)
        self.metrics.wrap_ended(wrap)

    def _in_wrap_up(self, seat_id: str) -> bool:
        seat = self.board.seats.get(seat_id)
        return seat is not None and seat.state is SeatState.WRAP_UP

    async def _hang_up(self, channel: str) -> None:
        with contextlib.suppress(AmiError):
            await self.ami.hangup(channel)

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
        elif draw < sim.answer + sim.busy + sim.congestion + sim.machine:
            outcome = "machine"
        else:
            outcome = "noanswer"
        ring = self.rng.uniform(*sim.ring_s)
        return {"SIM_OUTCOME": outcome, "SIM_RING_S": f"{ring:.1f}", "SIM_TALK_S": "120"}

    # --- plumbing ----------------------------------------------------------------------

    async def _pump(self) -> None:
        while True:
            message = await self.ami.events.get()
            await self.inbox.put(("ami", (message, time.monotonic())))

    async def _ticker(self) -> None:
        """A tick every ``TICK_S``, one waiting at most: ticks that took longer than that
        (a large frame's counts) piled up, and the AMI events queued behind them."""
        while True:
            await asyncio.sleep(TICK_S)
            if not self._tick_queued:
                self._tick_queued = True
                await self.inbox.put(("tick", None))

    def _later(self, delay: float, kind: str, item: Any) -> None:
        async def fire() -> None:
            await asyncio.sleep(delay)
            await self.inbox.put((kind, item))

        self._spawn(fire())

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine, name=getattr(coroutine, "__qualname__", None))
        self.tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        """A task of the run that failed says so (it would otherwise fail unseen, and what
        it was doing, a disposition or a seat's line, would never happen)."""
        self.tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("task failed", task=task.get_name(), exc_info=error)

    async def _outcomes(self) -> tuple[dict[str, int], float]:
        """The wave's ended attempts by outcome (a machine an operator reached apart from
        the calls a person answered), and the people its machine verdicts were counted as
        (a verdict stored before they were kept: as the estimate now)."""
        async with self.db.execute(
            "SELECT CASE WHEN a.disposition = 'answering_machine' THEN 'answering_machine'"
            " ELSE a.outcome END, count(*),"
            " coalesce(sum(CASE WHEN a.outcome = 'machine' THEN coalesce(a.machine_people, ?)"
            " END), 0) FROM attempt a JOIN sample_case c ON c.id = a.case_id"
            " WHERE c.wave_id = ? AND a.ended_at IS NOT NULL GROUP BY 1",
            (self.s.amd_false_positive, self.wave.wave_id),
        ) as cursor:
            rows = [(str(o), int(n), float(p)) async for o, n, p in cursor]
        return {o: n for o, n, _ in rows}, sum(p for _, _, p in rows)

    async def _summary(self) -> CampaignSummary:
        counts = await load_counts(self.db, self.s.survey, self.wave)
        outcomes, people = await self._outcomes()
        return CampaignSummary(
            completes=int(counts.completes.sum()),
            target=int(counts.target.sum()),
            attempts=sum(outcomes.values()),
            outcomes=outcomes,
            abandon_rate=abandon_rate(outcomes, people),
            overshoot=int((counts.completes - counts.target).clip(min=0).sum()),
            finished=self.finished,
        )


def _drain(queue: asyncio.Queue[tuple[str, Any]]) -> list[tuple[str, Any]]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


async def _operator_in(ami: AmiClient, seat: str) -> bool:
    try:
        return operator_listed(await ami.confbridge_channels(f"seat-{seat}"), seat)
    except AmiError:
        return False


def operator_listed(channels: Sequence[str], seat: str) -> bool:
    """Whether a seat's conference holds its operator: a simulated operator's line
    (Local/...@seat-sim...) or the operator's own phone (PJSIP/<seat>-...)."""
    return any("@seat-sim" in c or c.startswith(f"PJSIP/{seat}-") for c in channels)


async def wait_for_operator(ami: AmiClient, seat: str, within_s: float = 5.0) -> None:
    """Return once the seat's conference holds its operator: the line's answer comes a moment
    before the operator is in, and a callee sent in before would find the seat empty."""
    deadline = asyncio.get_running_loop().time() + within_s
    while not operator_listed(await ami.confbridge_channels(f"seat-{seat}"), seat):
        if asyncio.get_running_loop().time() > deadline:
            raise AmiError("ConfBridge", f"seat {seat}: operator not in the conference")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def open_campaign(
    settings: CampaignSettings, ami: AmiClient
) -> AsyncIterator[CampaignRunner]:
    """Load the questionnaire, open the store, set up the wave, close what a dead run left
    open; the runner is ready."""
    path = settings.survey.questionnaire_path
    questionnaire = load_questionnaire(path) if path is not None else None
    db = await open_store(settings.store)
    try:
        population = load_margins(settings.survey.margins_path, settings.survey.grid)
        wave = await ensure_wave(db, settings.survey, population)
        await _recover(db, ami, settings.clock, settings.amd_false_positive)
        runner = CampaignRunner(settings, ami, db, wave, questionnaire)
        await runner.recall()
        yield runner
    finally:
        await db.close()


async def run_campaign(settings: CampaignSettings, ami: AmiClient) -> CampaignSummary:
    """Run the campaign to its end on a connected AMI client, and summarise."""
    async with open_campaign(settings, ami) as runner:
        return await runner.run()


async def _recover(
    db: aiosqlite.Connection,
    ami: AmiClient,
    clock: Callable[[], datetime],
    machine_people: float = 0.0,
) -> None:
    """Close what a previous run left open (it died without closing its calls).

    Its callees waiting for a seat, or hearing the abandon message, are left to the
    dialplan, which abandons them and records it (``left_to_dialplan``); its other calls
    (ringing, or in a seat) are hung up: nobody owns them now. Once none waits (or after
    ``DIALPLAN_GRACE_S``: those still waiting are abandoned too, ``still_holding``), the
    records are read, every open attempt closed (abandoned where recorded) and the records
    of its closed calls cleared (``_forget_abandons``: else they
    would pile up, and every resync read them all)."""
    open_ids = set(await live_call_ids(db))
    ours = [m for m in await ami.core_show_channels() if str(m.get("Uniqueid")) in open_ids]
    orphans = [m for m in ours if not left_to_dialplan(m)]
    for channel in orphans:
        with contextlib.suppress(AmiError):
            await ami.hangup(str(channel.get("Channel")))
    holding = [str(m.get("Uniqueid")) for m in ours if m.get("Context") == HOLD_CONTEXT]
    deadline = time.monotonic() + DIALPLAN_GRACE_S
    while holding and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        live = {str(m.get("Uniqueid")): m for m in await ami.core_show_channels()}
        holding = [i for i in holding if live.get(i, {}).get("Context") == HOLD_CONTEXT]
    abandoned = await ami.db_family(ABANDONED_FAMILY)
    now = clock()
    records = {**still_holding(holding, now), **abandoned}
    found = await recover_after_restart(db, now, records, machine_people)
    if abandoned:
        await _forget_abandons(db, ami, abandoned, clock())
    if open_ids:
        log.warning("recovered after restart", calls=len(open_ids), hung_up=len(orphans),
                    interviews=found.interrupted, abandoned=found.abandoned,
                    machines=found.machines)  # fmt: skip


DIALPLAN_GRACE_S = 10.0
"""How long a restart waits for the dead process's callees on hold to be abandoned by the
dialplan: its 2 s, after answering-machine detection (up to 5 s) if on."""


def still_holding(call_ids: Iterable[str], now: datetime) -> dict[str, str]:
    """Abandon records, as the dialplan writes them, for the dead process's callees still on
    hold when the restart has waited ``DIALPLAN_GRACE_S``: with no dialer to put them
    through, the dialplan abandons each (a slow Asterisk had not yet). A person who
    answered and was not put through counts against the cap, and the number rests; closed
    as a technical failure, the number was redialled within the 72 hours. One still in
    answering-machine detection may prove a machine: it is counted abandoned, the safe side."""
    return {call_id: f"{int(now.timestamp())}:restart" for call_id in call_ids}


async def _forget_abandons(
    db: aiosqlite.Connection, ami: AmiClient, records: Mapping[str, str], now: datetime
) -> None:
    """Clear the abandon records read that are this campaign's to clear
    (``records_to_clear``), through the dialplan's ``dialer-forget``, a call at a time:
    deleting them through AMI needs the "system" right the dialer's user is not given.
    Another campaign's on the same Asterisk are its own to read (clearing every record lost
    them). Records left after it (a dialplan not reloaded since the upgrade) are warned of."""
    clear = records_to_clear(records, set(await closed_call_ids(db, records)), now)
    if not clear:
        return
    try:
        await forget_records(ami, clear)
    except AmiError as exc:  # the next resync or restart reads them again: ended calls
        log.warning("abandon records not cleared", error=str(exc))
        return
    left = set(clear)
    try:  # a Local channel's dialplan runs on after its originate answers: checked again
        for _ in range(FORGET_CHECKS):
            left &= set(await ami.db_family(ABANDONED_FAMILY))
            if not left:
                return
            await asyncio.sleep(FORGET_CHECK_S)
    except AmiError as exc:
        log.info("abandon records cleared, not checked", error=str(exc))
        return
    if left:
        log.warning("abandon records not cleared: is the dialplan's dialer-forget current?",
                    left=len(left))  # fmt: skip


async def forget_records(ami: AmiClient, call_ids: Sequence[str]) -> None:
    """Clear these calls' records through ``dialer-forget``'s batch extension,
    ``FORGET_BATCH`` ids a Local channel, ``FORGET_AT_ONCE`` channels at once."""
    batches = [
        "&".join(call_ids[i : i + FORGET_BATCH]) for i in range(0, len(call_ids), FORGET_BATCH)
    ]
    for start in range(0, len(batches), FORGET_AT_ONCE):
        for result in await asyncio.gather(
            *(
                ami.run_dialplan("dialer-forget", "batch", {"IDS": ids})
                for ids in batches[start : start + FORGET_AT_ONCE]
            ),
            return_exceptions=True,
        ):
            if isinstance(result, BaseException):
                raise result


FORGET_CHECKS, FORGET_CHECK_S = 4, 0.5
"""How often, and how far apart, a clearing is checked before its records left are warned of."""
FORGET_BATCH = 20
"""Records one Local channel clears (20 call ids: some 740 characters of channel variable)."""
FORGET_AT_ONCE = 4
"""Local channels clearing records at once."""


def boot_check(
    since: datetime | None, now: datetime, connected: bool, booted: bool
) -> tuple[bool, datetime | None, bool]:
    """Whether the dialer may dial (Asterisk connected and fully booted); since when it has
    been connected without saying it booted; and whether to warn now: once that has lasted
    ``UNBOOTED_WARN_S``, and again after as long (its FullyBooted reaches only an AMI user
    that reads the 'system' class, so a wrong manager.conf looks like this for ever)."""
    if booted or not connected:
        return booted and connected, None, False
    if since is None:
        return False, now, False
    if (now - since).total_seconds() > UNBOOTED_WARN_S:
        return False, now, True
    return False, since, False


def learn(
    stats: CallStats, metrics: DialerMetrics, before: CallState, call: Call, now: datetime
) -> None:
    """Feed the pacer's statistics and the metrics from a call's transition, by the state
    it reached (most transitions teach nothing: ringing, or no change)."""
    state = call.state
    if state is before or state is _RINGING:
        return
    _, _, _, started, answered, connected, ended, _, _, outcome = call
    if state is _ANSWERED:
        if answered is not None:
            ring = (answered - started).total_seconds()
            stats.dial_ended(ring, True)
            metrics.answered(ring)
    elif state is _CONNECTED:
        stats.live_answer(now.timestamp(), False)
        if answered is not None:
            metrics.connected((now - answered).total_seconds())
    elif outcome is Outcome.ABANDONED:
        if before in BEFORE_ANSWER and answered is not None:
            ring = (answered - started).total_seconds()  # gone before announced
            stats.dial_ended(ring, True)
            metrics.answered(ring)
        stats.live_answer(now.timestamp(), True)
        metrics.abandoned()
    elif outcome is Outcome.CONNECTED:
        if connected is not None and ended is not None:
            talk = (ended - connected).total_seconds()
            stats.talk_ended(talk)
            metrics.talk_ended(talk)
    elif outcome is Outcome.MACHINE:  # also from answered: a resync's made-up answer
        if before in BEFORE_ANSWER and ended is not None:
            stats.dial_ended((ended - started).total_seconds(), False)
        stats.machine_verdict(now.timestamp())
    elif before in BEFORE_ANSWER and ended is not None:
        stats.dial_ended((ended - started).total_seconds(), False)  # busy, no answer...


_RINGING, _ANSWERED, _CONNECTED = CallState.RINGING, CallState.ANSWERED, CallState.CONNECTED


def attempt_fields(call: Call) -> dict[str, Any]:
    """An ended call's outcome, seat and timings (seconds, to the nearest millisecond; None
    unless both ends happened), for its one log line."""
    _, _, _, started, answered, connected, ended, _, seat, outcome = call
    rung = answered or ended
    return {
        "outcome": outcome.value if outcome else None,
        "seat": seat,
        "ring_s": None if rung is None else _seconds(rung - started),
        "wait_s": None if answered is None or connected is None else _seconds(connected - answered),
        "talk_s": None if connected is None or ended is None else _seconds(ended - connected),
    }


def _seconds(span: timedelta) -> float:
    return round(span / _MS) / 1000


_MS = timedelta(milliseconds=1)


def _ids_of(cases: Iterable[CaseView]) -> frozenset[int]:
    return frozenset(case.case_id for case in cases)


def _seat_gauge_state(seat: Seat) -> str:
    """A seat's state as the ``cati_seats`` gauge names it."""
    if not seat.line:
        return "no_line"
    return {SeatState.ON_CALL: "talking"}.get(seat.state, seat.state.value)


def _verified_cell(survey: Survey, case: CaseView) -> CellKey:
    """The respondent's true cell: the simulated truth when the frame carries it."""
    frame = survey.grid.cells()[case.cell]
    a = case.attributes
    return CellKey(
        a.get("sim_district", frame.district),
        a.get("sim_age_band", frame.age_band),
        a.get("sim_sex", frame.sex),
    )
