"""The operators' console over HTTP: the page, login sessions, the seat's event stream
(server-sent events), pause and ready, the questionnaire's next item, the disposition."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from importlib import resources
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Cookie, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, Field

from dialer.campaign.dispositions import OperatorDisposition
from dialer.campaign.status import SeatStatus
from dialer.console.changes import Changes
from dialer.console.operators import check_secret
from dialer.console.sessions import SessionError, Sessions
from dialer.console.view import SeatView
from dialer.disposition import Disposition
from questionnaire.answers import check_answer
from questionnaire.errors import AnswerError
from questionnaire.model import Item, Questionnaire
from questionnaire.routing import kept_answers, next_item, path
from sampling.cells import CellGrid

COOKIE = "cati_console"
HEARTBEAT_S = 15.0
CHECKS_AT_ONCE = 2
"""Secrets checked at once (each in a thread): a flood of logins queues, and the dialer's
loop goes on."""
# A hash to check unknown seats against: a wrong seat costs the same time as a wrong secret.
_NOBODY = "scrypt$00000000000000000000000000000000$" + "00" * 64


class ConsoleController(Protocol):
    """What the console drives: the campaign runner."""

    changes: Changes
    finished: str

    def console_view(self, seat_id: str) -> SeatView: ...
    def console_key(self, seat_id: str) -> tuple[object, ...]: ...
    async def seat(self, seat_id: str, action: str, reason: str = "break") -> SeatStatus: ...
    async def dispose(self, call_id: str, entry: OperatorDisposition) -> str: ...


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    operators: Mapping[str, str]
    """Seat -> the hash of its operator's secret."""
    grid: CellGrid
    questionnaire: Questionnaire | None
    clock: Callable[[], datetime]
    sessions: Sessions


class LoginIn(BaseModel):
    seat: str = Field(pattern=r"^\d{1,12}$")
    secret: str = Field(min_length=1, max_length=200)


class PauseIn(BaseModel):
    reason: str = Field(default="break", min_length=1, max_length=40)


class NextIn(BaseModel):
    answers: dict[str, Any] = Field(default_factory=dict)
    after: str | None = Field(default=None, description="the item just answered (None: start)")


class ConsoleDisposition(BaseModel):
    call_id: str = Field(
        min_length=1, max_length=100, description="the call the operator disposes of, as shown"
    )
    disposition: Disposition
    district: str | None = None
    age_band: str | None = None
    sex: str | None = None
    callback_at: datetime | None = None
    answers: dict[str, Any] | None = None
    note: str | None = None


def console_router(controller: ConsoleController, settings: ConsoleSettings) -> APIRouter:
    """The console's routes, under /console."""
    router = APIRouter(prefix="/console", tags=["operators' console"])
    page = (resources.files("dialer.console") / "page.html").read_text(encoding="utf-8")

    def seat_of(token: Annotated[str | None, Cookie(alias=COOKIE)] = None) -> str:
        try:
            return settings.sessions.seat(token, settings.clock())
        except SessionError as exc:
            raise HTTPException(401, str(exc)) from None

    @router.get("", response_class=HTMLResponse, summary="the operator's page")
    async def console_page() -> HTMLResponse:
        return HTMLResponse(page)

    checking = asyncio.Semaphore(CHECKS_AT_ONCE)

    @router.post("/login", summary="log in to a seat with its operator's secret")
    async def login(body: LoginIn, request: Request, response: Response) -> dict[str, Any]:
        address = request.client.host if request.client else ""
        stored = settings.operators.get(body.seat)
        async with checking:  # scrypt takes ~50 ms of CPU: off the loop that dials
            try:  # asked here, not before the queue: guesses sent at once wait their turn
                settings.sessions.admit(body.seat, address, settings.clock())
            except SessionError as exc:
                raise HTTPException(429, str(exc)) from None
            right = await asyncio.to_thread(check_secret, body.secret, stored or _NOBODY)
            if not right or stored is None:
                settings.sessions.failed(body.seat, address, settings.clock())
                raise HTTPException(401, "wrong seat or secret")
        token = settings.sessions.open(body.seat, settings.clock())
        secure = request.url.scheme == "https"  # behind a TLS proxy (deploy/README.md)
        response.set_cookie(
            COOKIE, token, httponly=True, samesite="strict", path="/console", secure=secure
        )
        return {"seat": body.seat, **_meta(settings)}

    @router.post("/logout", summary="end the session")
    async def logout(
        response: Response, token: Annotated[str | None, Cookie(alias=COOKIE)] = None
    ) -> dict[str, str]:
        settings.sessions.close(token)
        response.delete_cookie(COOKIE, path="/console")
        return {"state": "logged out"}

    @router.get("/events", summary="the seat's state and call, pushed as server-sent events")
    async def events(
        request: Request, token: Annotated[str | None, Cookie(alias=COOKIE)] = None
    ) -> StreamingResponse:
        seat = seat_of(token)
        stream = _stream(controller, settings, seat, token, request)
        return StreamingResponse(
            stream,
            media_type="text/event-stream",
            # nginx buffers what it proxies: a call put through reached the screen late
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @router.post("/pause", summary="a pause, with its reason (on a call: after it)")
    async def pause(body: PauseIn, seat: str = Depends(seat_of)) -> dict[str, Any]:
        return asdict(await controller.seat(seat, "pause", body.reason))

    @router.post("/ready", summary="pause over, or wrap-up done: the seat takes calls")
    async def ready(seat: str = Depends(seat_of)) -> dict[str, Any]:
        return asdict(await controller.seat(seat, "ready"))

    @router.post("/next", summary="check the answer just given; the next item on the path")
    async def next_question(body: NextIn, seat: str = Depends(seat_of)) -> dict[str, Any]:
        questionnaire = settings.questionnaire
        if questionnaire is None:
            return {"item": None, "answers": {}, "position": 0, "length": 0}
        answers = dict(body.answers)
        try:
            if body.after is not None:
                item = questionnaire.item(body.after)
                if item.asks:
                    answers[item.id] = check_answer(item, answers.get(item.id))
            kept = kept_answers(questionnaire, answers)
            following = next_item(questionnaire, kept, body.after)
        except AnswerError as exc:
            raise HTTPException(422, str(exc)) from None
        except KeyError as exc:
            raise HTTPException(
                422, f"after: {exc.args[0]} is not on this interview's path"
            ) from None
        shown = [i.id for i in path(questionnaire, kept)]
        position = shown.index(following.id) + 1 if following is not None else len(shown)
        return {
            "item": _item(following) if following is not None else None,
            "answers": kept,
            "position": position,
            "length": len(shown),
        }

    @router.post("/disposition", summary="the disposition of the seat's call")
    async def dispose(body: ConsoleDisposition, seat: str = Depends(seat_of)) -> dict[str, str]:
        card = controller.console_view(seat).call
        if card is None:
            raise HTTPException(409, f"seat {seat} has no call awaiting a disposition")
        if card.call_id != body.call_id:  # a page behind the seat: never dispose another call
            raise HTTPException(
                409, f"call {body.call_id} is no longer on seat {seat}: it has call {card.call_id}"
            )
        entry = OperatorDisposition(
            body.disposition, body.district, body.age_band, body.sex, body.callback_at,
            body.answers, body.note,
        )  # fmt: skip
        return {"call_id": card.call_id, "result": await controller.dispose(card.call_id, entry)}

    return router


async def _stream(
    controller: ConsoleController,
    settings: ConsoleSettings,
    seat: str,
    token: str | None,
    request: Request,
) -> AsyncGenerator[str, None]:
    """The seat's view whenever it changes; a comment every 15 s keeps proxies from closing
    the stream; ends when the session expires, the client goes or the campaign ends."""
    last: str | None = None
    shown: tuple[object, ...] = ()
    while True:
        wake = controller.changes.current()
        try:
            settings.sessions.seat(token, settings.clock())
        except SessionError as exc:
            yield _event("expired", {"detail": str(exc)})
            return
        # Every seat's change wakes every stream: the view is rebuilt only when what it is
        # made of changed (300 streams rebuilt theirs at each of 10-20 changes a second).
        key = controller.console_key(seat)
        if len(key) != len(shown) or any(a is not b for a, b in zip(key, shown, strict=True)):
            shown = key
            view = json.dumps(asdict(controller.console_view(seat)))
            if view != last:
                yield f"event: seat\ndata: {view}\n\n"
                last = view
        if controller.finished:
            yield _event("ended", {"detail": f"the campaign has ended ({controller.finished})"})
            return
        try:
            await asyncio.wait_for(wake.wait(), HEARTBEAT_S)
        except TimeoutError:
            yield ": still here\n\n"
        if await request.is_disconnected():
            return


def _event(name: str, data: Mapping[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def _meta(settings: ConsoleSettings) -> dict[str, Any]:
    """What the page needs once: the cells' labels, the dispositions, the questionnaire."""
    q = settings.questionnaire
    grid = settings.grid
    return {
        "grid": {
            "district": list(grid.districts),
            "age_band": [band.label for band in grid.age_bands],
            "sex": list(grid.sexes),
        },
        "dispositions": [d.value for d in Disposition],
        "questionnaire": None if q is None else {"id": q.id, "title": asdict(q.title)},
    }


def _item(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind.value,
        "text": asdict(item.text),
        "options": [{"code": o.code, "label": asdict(o.label)} for o in item.options],
        "scale": list(item.scale),
        "scale_labels": [asdict(label) for label in item.scale_labels],
        "max_choices": item.max_choices,
        "because": asdict(item.because) if item.because else None,
    }
