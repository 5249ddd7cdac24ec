"""The control API: FastAPI routes over the campaign runner, behind a bearer token.

Every route but ``/metrics`` (Prometheus' scrape: counts only, no phone numbers or names)
and the OpenAPI schema and its docs needs ``Authorization: Bearer <token>``.
Errors come back as JSON ``{"detail": ...}`` naming the seat, call or field: 404 for an
unknown one, 409 for a request that does not apply now, 422 for content that cannot be taken.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field

from dialer import __version__
from dialer.campaign.control import Command, ControlError, Invalid, NotFound, RunState
from dialer.campaign.dispositions import OperatorDisposition
from dialer.campaign.status import CampaignStatus, RatesStatus, SeatStatus
from dialer.console.routes import ConsoleController, ConsoleSettings, console_router
from dialer.disposition import Disposition


class Controller(ConsoleController, Protocol):
    """What the API drives: the campaign runner."""

    async def command(self, command: Command) -> RunState: ...
    async def dispose(self, call_id: str, entry: OperatorDisposition) -> str: ...
    async def status(self) -> CampaignStatus: ...
    async def metrics_text(self) -> bytes: ...
    async def rates(self) -> RatesStatus: ...


class SeatAction(StrEnum):
    LOGIN = "login"
    LOGOUT = "logout"
    PAUSE = "pause"
    READY = "ready"


class CommandResult(BaseModel):
    state: RunState


class DispositionIn(BaseModel):
    """An operator's disposition; a complete names the respondent's verified cell."""

    disposition: Disposition
    district: str | None = None
    age_band: str | None = None
    sex: str | None = None
    callback_at: datetime | None = Field(
        default=None, description="a callback's agreed time, with its UTC offset"
    )
    answers: dict[str, Any] | None = Field(
        default=None,
        description="a complete's answers: question id -> answer (docs/questionnaire.md)",
    )
    note: str | None = Field(default=None, description="shown at the case's next call")


class DispositionResult(BaseModel):
    call_id: str
    result: str = Field(
        description="the case's result, or 'callback', or 'retry' (an answering machine)"
    )


# Module level: FastAPI resolves the (string) annotations of routes in this module's globals.
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))]
SeatId = Annotated[str, Path(pattern=r"^\d{1,12}$", description="the seat (extension) number")]


def build_app(
    controller: Controller, token: str, console: ConsoleSettings | None = None
) -> FastAPI:
    """The API for one campaign; ``token`` is the bearer token every request must carry.
    With ``console``, the operators' console too (its own sessions, not the token)."""
    if not token:
        raise ValueError("the control API needs a token")

    def authorised(credentials: Credentials) -> None:
        if credentials is None or not secrets.compare_digest(
            credentials.credentials.encode(), token.encode()
        ):
            raise HTTPException(
                401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )

    app = FastAPI(title="CATI dialer control API", version=__version__)
    guarded = APIRouter(dependencies=[Depends(authorised)])

    @app.exception_handler(ControlError)
    async def refused(_request: Request, exc: ControlError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFound) else 422 if isinstance(exc, Invalid) else 409
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @guarded.get("/status", summary="quota fill per cell, seats, attempts by outcome")
    async def status() -> CampaignStatus:
        return await controller.status()

    @guarded.get("/results/rates", summary="AAPOR outcome rates, the wave's and each cell's")
    async def rates() -> RatesStatus:
        return await controller.rates()

    @guarded.post("/campaign/{command}", summary="start, pause, resume or stop the campaign")
    async def command(command: Command) -> CommandResult:
        return CommandResult(state=await controller.command(command))

    @guarded.post(
        "/seats/{seat_id}/{action}", summary="log a seat in or out, pause it, make it ready"
    )
    async def seat(seat_id: SeatId, action: SeatAction) -> SeatStatus:
        return await controller.seat(seat_id, action.value)

    @guarded.post("/calls/{call_id}/disposition", summary="the operator's disposition of a call")
    async def dispose(call_id: str, body: DispositionIn) -> DispositionResult:
        entry = OperatorDisposition(
            body.disposition, body.district, body.age_band, body.sex, body.callback_at,
            body.answers, body.note,
        )  # fmt: skip
        return DispositionResult(call_id=call_id, result=await controller.dispose(call_id, entry))

    app.include_router(guarded)
    if console is not None:
        app.include_router(console_router(controller, console))

    @app.get(
        "/metrics",
        summary="Prometheus metrics (no token: counts only, no numbers or names)",
        response_class=PlainTextResponse,
    )
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(await controller.metrics_text(), media_type=CONTENT_TYPE_LATEST)

    return app
