"""An AMI client over panoramisk 1.4 that works around its known traps (see shared FACTS).

- ``connect`` returns only after a confirmed login; an unreachable host or a refused login is an
  ``AmiConnectError`` at once, never an endless retry.
- Reconnects with backoff after a lost connection; a watchdog pings and drops a dead one.
- Originates are never re-sent after a reconnect (they could dial a number twice); each one runs
  with its own timeout. The dialer reconciles calls from events and a channel snapshot.
- Events reach one plain callback that feeds an ``asyncio.Queue``, so their order is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from panoramisk import Manager

from dialer.ami.errors import AmiConnectError, AmiError
from dialer.logs import mask_text

log = structlog.get_logger(__name__)

Message = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AmiSettings:
    """Where and how to reach Asterisk's manager interface."""

    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "dialer"
    secret: str = field(default="", repr=False)
    login_timeout_s: float = 5.0
    action_timeout_s: float = 10.0
    ping_interval_s: float = 5.0
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 10.0


class _Manager(Manager):  # type: ignore[misc]
    """panoramisk's Manager, told when to stop reconnecting and when a login fails, and
    reconnecting with backoff: panoramisk waits its whole-second ``reconnect_timeout``
    between attempts for ever, and reads it at each one, so the wait doubles after each
    failed attempt (up to ``backoff[1]``) and starts again from ``backoff[0]`` once logged in.
    """

    def __init__(
        self,
        on_login_result: Callable[[bool], None],
        backoff: tuple[float, float] = (0.5, 10.0),
        **config: Any,
    ) -> None:
        super().__init__(**config)
        self.stopped = False
        self._on_login_result = on_login_result
        self._backoff = backoff
        self.reconnect_timeout = backoff[0]
        self._logged_in = False  # since the last connection attempt
        self.accepted_at: float | None = None
        """When the latest connection was accepted, while its login is unanswered."""

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        if self.stopped:
            return None
        self._logged_in = False
        return super().connect(*args, **kwargs)

    def connection_made(self, f: Any) -> None:
        if not f.cancelled() and isinstance(f.exception(), OSError):
            self._back_off()  # before panoramisk schedules the next attempt at that wait
        elif not f.cancelled():
            self.accepted_at = self.loop.time()
        super().connection_made(f)

    def login_overdue(self, timeout_s: float) -> bool:
        """An accepted connection's login has gone unanswered for ``timeout_s``: a host that
        takes the connection but never answers (half-open link, hung process) would keep
        this attempt waiting for as long as TCP gives it, not the seconds a retry takes."""
        at = self.accepted_at
        return at is not None and not self._logged_in and self.loop.time() - at > timeout_s

    def connection_lost(self, exc: Any) -> None:
        if not self._logged_in:  # accepted, then dropped before any login: a failed attempt
            self._back_off()
        super().connection_lost(exc)

    def login(self, future: Any) -> bool:
        ok = bool(super().login(future))
        if ok:
            self._logged_in = True
            self.accepted_at = None
            self.reconnect_timeout = self._backoff[0]
        self._on_login_result(ok)
        return ok

    def _back_off(self) -> None:
        self.reconnect_timeout = min(self.reconnect_timeout * 2, self._backoff[1])


@dataclass(frozen=True, slots=True)
class OriginateResult:
    """The end of an async originate: Asterisk's reason code and whether it answered."""

    reason: int
    response: str
    channel_id: str

    @property
    def answered(self) -> bool:
        return self.reason == 4


FORGETTABLE = (
    "ping", "login", "logoff", "originate", "redirect", "hangup", "setvar", "coreshowchannels",
    "confbridgelist", "dbgettree",
)  # fmt: skip
"""Every action the client sends (lowercase, as panoramisk compares them)."""
LISTS = ("CoreShowChannels", "DBGetTree")
"""Actions whose answer is a list of events, gathered whole."""


class AmiClient:
    """One logged-in AMI connection, with reconnects, a watchdog and typed verbs."""

    def __init__(self, settings: AmiSettings) -> None:
        self.settings = settings
        self.events: asyncio.Queue[Message] = asyncio.Queue()
        self.connected = asyncio.Event()
        self.booted = asyncio.Event()
        """Asterisk said it is fully booted (FullyBooted, at each login once it is, and when it
        gets there) since the link last came up: a login can come before its dialplan is
        loaded, and every call placed then would fail."""
        self.reconnects = 0
        self.logins_dropped = 0
        """Reconnects' logins left unanswered and dropped by the watchdog."""
        self._manager: _Manager | None = None
        self._login: asyncio.Future[bool] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._ever_logged_in = False

    async def connect(self) -> None:
        """Connect and log in; ``AmiConnectError`` if Asterisk is unreachable or says no."""
        loop = asyncio.get_running_loop()
        self._login = loop.create_future()
        manager = _Manager(
            self._login_result,
            (self.settings.reconnect_min_s, self.settings.reconnect_max_s),
            host=self.settings.host,
            port=self.settings.port,
            username=self.settings.username,
            secret=self.settings.secret,
            loop=loop,
            ping_delay=3600,  # our watchdog pings; panoramisk's pinger cannot see a dead link
            # Every action is forgotten with its link: panoramisk would send the others again
            # after a reconnect, by then stale (a Hangup of a channel name Asterisk, started
            # again, has given to another call). Their callers time out and hear an AmiError.
            forgetable_actions=FORGETTABLE,
            on_disconnect=self._disconnected,
            log=_QuietLog(),
        )
        manager.register_event("*", self._event)
        self._manager = manager
        where = f"{self.settings.host}:{self.settings.port}"
        try:
            await asyncio.wait_for(manager.connect(), self.settings.login_timeout_s)
        except (OSError, TimeoutError) as exc:
            manager.stopped = True
            manager.close()
            raise AmiConnectError("connect", f"cannot reach Asterisk at {where}: {exc}") from None
        try:
            ok = await asyncio.wait_for(self._login, self.settings.login_timeout_s)
        except TimeoutError:
            ok = False
        if not ok:
            await self.close()
            raise AmiConnectError(
                "login",
                f"Asterisk at {where} refused user {self.settings.username!r}"
                " (check the AMI user and secret)",
            )
        self._ever_logged_in = True
        self._watchdog = asyncio.create_task(self._watch(), name="ami-watchdog")
        log.info("ami connected", host=self.settings.host, port=self.settings.port)

    async def close(self) -> None:
        """Stop reconnecting and close the connection."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        if self._manager is not None:
            self._manager.stopped = True
            self._manager.close()
        self.connected.clear()
        self.booted.clear()

    # --- one function per AMI verb -------------------------------------------------------

    async def originate(
        self,
        *,
        channel: str,
        context: str,
        exten: str,
        channel_id: str,
        timeout_s: float,
        variables: Mapping[str, str] | None = None,
        caller_id: str | None = None,
        other_channel_id: str | None = None,
    ) -> OriginateResult:
        """Place a call and wait for its OriginateResponse (answer, or failure after ring)."""
        action: dict[str, Any] = {
            "Action": "Originate",
            "Channel": channel,
            "Context": context,
            "Exten": exten,
            "Priority": "1",
            "Timeout": str(int(timeout_s * 1000)),
            "ChannelId": channel_id,
            "Async": "true",
        }
        if other_channel_id:
            action["OtherChannelId"] = other_channel_id
        if caller_id:
            action["CallerID"] = caller_id
        if variables:
            action["Variable"] = [f"{k}={v}" for k, v in variables.items()]
        replies = await self._send(action, timeout_s + self.settings.action_timeout_s)
        messages = replies if isinstance(replies, list) else [replies]
        for message in messages:
            if str(message.get("Event", "")).lower() == "originateresponse":
                return OriginateResult(
                    reason=int(message.get("Reason", 0) or 0),
                    response=str(message.get("Response", "")),
                    channel_id=channel_id,
                )
        first = messages[0] if messages else {}
        raise AmiError("Originate", str(first.get("Message", "no OriginateResponse")))

    async def redirect(self, channel: str, context: str, exten: str) -> None:
        """Move a channel to another place in the dialplan."""
        await self._expect_success(
            {"Action": "Redirect", "Channel": channel, "Context": context, "Exten": exten,
             "Priority": "1"}
        )  # fmt: skip

    async def hangup(self, channel: str, cause: int = 16) -> None:
        await self._expect_success({"Action": "Hangup", "Channel": channel, "Cause": str(cause)})

    async def set_var(self, channel: str, name: str, value: str) -> None:
        await self._expect_success(
            {"Action": "Setvar", "Channel": channel, "Variable": name, "Value": value}
        )

    async def core_show_channels(self) -> list[Message]:
        """A snapshot of every live channel (for resync after a reconnect)."""
        replies = await self._send({"Action": "CoreShowChannels"}, self.settings.action_timeout_s)
        messages: Sequence[Message] = replies if isinstance(replies, list) else [replies]
        return [m for m in messages if str(m.get("Event", "")) == "CoreShowChannel"]

    async def db_family(self, family: str) -> dict[str, str]:
        """Every key of a family of Asterisk's database, with its value (DBGetTree)."""
        replies = await self._send(
            {"Action": "DBGetTree", "Family": family}, self.settings.action_timeout_s
        )
        messages: Sequence[Message] = replies if isinstance(replies, list) else [replies]
        prefix = f"/{family}/"
        return {
            str(m.get("Key", "")).removeprefix(prefix): str(m.get("Val", ""))
            for m in messages
            if m.get("Event") == "DBGetTreeResponse"
        }

    async def run_dialplan(
        self, context: str, exten: str, variables: Mapping[str, str] | None = None
    ) -> None:
        """Run an extension of the dialplan on a Local channel of its own, with these
        channel ``variables``, and wait for it (for what AMI does not let the dialer do)."""
        await self.originate(
            channel=f"Local/{exten}@{context}",
            context=context,
            exten=exten,
            channel_id=f"dialplan-{uuid.uuid4()}",
            timeout_s=self.settings.action_timeout_s,
            variables=variables,
        )

    async def confbridge_channels(self, conference: str) -> list[str]:
        """The channels in a conference now (none when it has nobody, or does not exist)."""
        reply = await self._send(
            {"Action": "ConfbridgeList", "Conference": conference}, self.settings.action_timeout_s
        )
        messages: Sequence[Message] = reply if isinstance(reply, list) else [reply]
        return [str(m.get("Channel")) for m in messages if m.get("Event") == "ConfbridgeList"]

    async def ping(self) -> None:
        await self._expect_success({"Action": "Ping"})

    # --- internals ----------------------------------------------------------------------

    async def _expect_success(self, action: dict[str, Any]) -> None:
        reply = await self._send(action, self.settings.action_timeout_s)
        if isinstance(reply, list):
            reply = reply[0]
        if str(reply.get("Response", "")) not in ("Success", "Follows"):
            raise AmiError(action["Action"], str(reply.get("Message", "failed")))

    async def _send(self, action: dict[str, Any], timeout_s: float) -> Any:
        manager = self._manager
        if manager is None or not self.connected.is_set():
            raise AmiError(action["Action"], "not connected to Asterisk")
        # None lets panoramisk wait for an Originate's OriginateResponse, and gather a list
        # that "will follow" (ConfbridgeList: an Error, for an empty conference, is one reply);
        # a snapshot's events must be gathered as a list.
        as_list = True if action["Action"] in LISTS else None
        future = manager.send_action(action, as_list=as_list)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except TimeoutError:
            future.cancel()  # done: never sent again, and its late answer goes nowhere
            _forget(manager, future)
            raise AmiError(action["Action"], f"no answer within {timeout_s:.0f} s") from None

    def _login_result(self, ok: bool) -> None:
        if ok:
            self.connected.set()
            if self._ever_logged_in:
                self.reconnects += 1
                log.info("ami reconnected", reconnects=self.reconnects)
                self.events.put_nowait({"Event": "DialerReconnected"})
        if self._login is not None and not self._login.done():
            self._login.set_result(ok)

    def _disconnected(self, _manager: Any, _exc: Any) -> None:
        if self.connected.is_set():
            log.warning("ami connection lost")
            self.events.put_nowait({"Event": "DialerDisconnected"})
        self.connected.clear()
        self.booted.clear()

    def _event(self, _manager: Any, message: Message) -> None:
        if message.get("Event") == "FullyBooted":
            self.booted.set()
        self.events.put_nowait(message)

    async def _watch(self) -> None:
        """Ping every interval; a ping left unanswered means a dead link, and a reconnect's
        login unanswered within ``login_timeout_s`` a dead attempt: drop either to retry."""
        while True:
            await asyncio.sleep(min(self.settings.ping_interval_s, self.settings.login_timeout_s))
            manager = self._manager
            if manager is None:
                continue
            if not self.connected.is_set():
                if manager.login_overdue(self.settings.login_timeout_s):
                    log.warning("ami login unanswered, dropping the connection")
                    manager.accepted_at = None
                    self.logins_dropped += 1
                    self._drop()
                continue
            try:
                await self.ping()
            except AmiError:
                log.warning("ami watchdog: no pong, dropping the connection")
                self._drop()

    def _drop(self) -> None:
        """Close the link as if it broke: panoramisk reconnects (after its backoff)."""
        protocol = getattr(self._manager, "protocol", None)
        if protocol is not None:
            protocol.transport.close()


class _QuietLog:
    """panoramisk logs every reconnect attempt at error level through stdlib logging; ours
    are structured and said once, so its own messages go to debug."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        def emit(message: str, *args: Any, **_: Any) -> None:
            text = message % args if args else message
            log.debug("panoramisk", message=mask_text(text))  # even if logs are not configured

        return emit


def _forget(manager: Manager, future: asyncio.Future[Any]) -> None:
    """Drop a timed-out action from panoramisk's pending ones. It keeps each until its
    answer completes it, and an answer to a cancelled action never does: every action that
    timed out (Asterisk slow, an Originate's late response) stayed until the link dropped."""
    pending = getattr(getattr(manager, "protocol", None), "responses", None)
    if isinstance(pending, dict):
        for key in [k for k, a in pending.items() if getattr(a, "future", None) is future]:
            del pending[key]
