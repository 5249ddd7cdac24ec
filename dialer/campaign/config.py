"""The campaign file: one TOML per campaign, validated with errors naming the key."""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialer.ami.client import AmiSettings
from dialer.campaign.runner import Simulation
from dialer.pacing.predictive import LEGAL_CAP
from dialer.schedule.holidays import italian_holidays
from dialer.schedule.retry import RetryPolicy
from dialer.schedule.window import DAYS, CallingWindow, Span
from sampling.errors import ConfigError
from sampling.survey import Survey, load_survey
from sampling.tomlkeys import (
    bounded,
    check_keys,
    optional,
    positive_int,
    required,
    table,
    typed,
)

T = TypeVar("T")

MIN_RING_S = 15.0  # ring at least 15 s (or four rings) before giving up (regulation)
SIMULATED_CONTEXTS = ("sim-pstn", "sim-trunk")
"""The dialplan contexts whose callees are simulated (asterisk_conf/extensions.conf)."""
MAX_DELAY = timedelta(days=90)
"""The longest retry delay or quiet time a campaign file may set (as for callbacks)."""

_SECTIONS: dict[str, set[str]] = {
    "campaign": {"name", "survey", "store", "mode"},
    "ami": {"host", "port", "username", "secret_file"},
    "trunk": {"context", "channel_limit", "ring_timeout_s", "amd"},
    "window": {"timezone", *DAYS, "eve_of_holiday", "holidays"},
    "retry": {"max_attempts", "busy_delay_min", "unreached_delay_min", "congestion_delay_min",
              "abandoned_quiet_h", "machine_quiet_h", "day_parts"},
    "seats": {"ids"},
    "simulation": {"answer", "busy", "congestion", "machine", "complete", "seed", "operators"},
    "http": {"host", "port", "token_file"},
    "console": {"operators_file", "wrap_up_s", "session_hours", "idle_minutes"},
    "abandon": {"window_h", "cap", "amd_false_positive"},
}  # fmt: skip

MAX_WINDOW_H = 31 * 24.0
"""The longest regulatory window a campaign may hold its rate over (FTC: 30 days)."""


@dataclass(frozen=True, slots=True)
class AbandonPolicy:
    """How abandoned calls are counted and capped: the regulator's rule, as a policy."""

    window_h: float = 24.0
    """The window the rate is held over: Ofcom's 24 hours by default (FTC: 30 days)."""
    cap: float = LEGAL_CAP
    """The highest abandon rate allowed over the window: the law's 3%, or a house cap below."""
    amd_false_positive: float = 0.0
    """The estimated share of answering-machine verdicts that were people: each verdict
    counts that share of an abandoned live answer (Ofcom)."""


@dataclass(frozen=True, slots=True)
class ConsoleFile:
    """The operators' console: who may log in to which seat, wrap-up and session limits."""

    operators_file: Path | None
    """Seat -> hash of its operator's secret (``dialer console hash``); None: no console."""
    wrap_up_s: float = 10.0
    session: timedelta = timedelta(hours=10)
    idle: timedelta = timedelta(minutes=30)


class CampaignConfigError(ConfigError):
    what = "campaign file"


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """Where the control API listens and the bearer token it requires."""

    host: str
    port: int
    token: str = field(repr=False)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class CampaignFile:
    """A validated campaign file."""

    name: str
    survey: Survey
    store: Path
    mode: str
    ami: AmiSettings
    context: str
    channel_limit: int
    ring_timeout_s: float
    amd: bool
    window: CallingWindow
    retry: RetryPolicy
    seats: tuple[str, ...]
    simulation: Simulation | None
    http: HttpSettings
    console: ConsoleFile = ConsoleFile(None)
    abandon: AbandonPolicy = AbandonPolicy()


def load_campaign(path: Path) -> CampaignFile:
    """Read and validate a campaign file; relative paths are relative to it."""
    return _load(path, _parse)


def load_http(path: Path) -> HttpSettings:
    """Only the [http] section (and the token): what ``dialer campaign`` needs to call the API."""
    return _load(path, lambda text, base: _http(table(_toml(text), "http"), base))


@dataclass(frozen=True, slots=True)
class CampaignData:
    """Where a campaign keeps its data: what ``dialer results`` needs (no secrets)."""

    name: str
    survey: Survey
    store: Path


def load_campaign_data(path: Path) -> CampaignData:
    """Only the [campaign] section: the survey and the store."""

    def parse(text: str, base: Path) -> CampaignData:
        c = table(_toml(text), "campaign", required=True)
        return CampaignData(
            name=required(c, "campaign.name", str),
            survey=load_survey(base / required(c, "campaign.survey", str)),
            store=base / required(c, "campaign.store", str),
        )

    return _load(path, parse)


def _load(path: Path, parse: Callable[[str, Path], T]) -> T:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CampaignConfigError(str(path), f"cannot read: {exc.strerror}") from None
    try:
        return parse(text, path.parent)
    except CampaignConfigError:
        raise
    except ConfigError as exc:
        if exc.what == "survey definition":
            raise
        raise CampaignConfigError(exc.key, exc.problem) from None


def _toml(text: str) -> dict[str, Any]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CampaignConfigError("(file)", f"not valid TOML: {exc}") from None
    check_keys(doc, _SECTIONS)
    return doc


def _parse(text: str, base: Path) -> CampaignFile:
    doc = _toml(text)
    c = table(doc, "campaign", required=True)
    mode = optional(c, "campaign.mode", str, "progressive")
    if mode not in ("progressive", "predictive"):
        raise CampaignConfigError("campaign.mode", f"{mode!r} is not progressive or predictive")
    sim = table(doc, "simulation")
    simulation = _simulation(sim) if "simulation" in doc else None
    trunk = table(doc, "trunk")
    context = optional(trunk, "trunk.context", str, "outbound")
    if simulation is not None and context not in SIMULATED_CONTEXTS:
        # simulated operators would "interview" real people, with the rules' limits off
        raise CampaignConfigError(
            "simulation",
            f"simulates the callees and operators, so trunk.context must be one of "
            f"{', '.join(SIMULATED_CONTEXTS)}, not {context!r}",
        )
    ring = optional(trunk, "trunk.ring_timeout_s", float, 20.0)
    if not math.isfinite(ring) or ring <= 0:
        raise CampaignConfigError("trunk.ring_timeout_s", "must be a number of seconds above 0")
    if ring < MIN_RING_S and simulation is None:
        raise CampaignConfigError(
            "trunk.ring_timeout_s", f"must be at least {MIN_RING_S:.0f} s for real callees"
        )
    amd = optional(trunk, "trunk.amd", bool, False)
    seats = [str(s) for s in optional(table(doc, "seats"), "seats.ids", list, [])]
    # the dialplan's seat patterns (_X., _9X.) need two digits at least
    if (
        not seats
        or not all(s.isdigit() and len(s) >= 2 for s in seats)
        or len(set(seats)) != len(seats)
    ):
        raise CampaignConfigError(
            "seats.ids", "must be a list of distinct numeric seat ids of 2 digits or more"
        )
    return CampaignFile(
        name=required(c, "campaign.name", str),
        survey=load_survey(base / required(c, "campaign.survey", str)),
        store=base / required(c, "campaign.store", str),
        mode=mode,
        ami=_ami(table(doc, "ami"), base),
        context=context,
        channel_limit=positive_int(
            optional(trunk, "trunk.channel_limit", int, 30), "trunk.channel_limit"
        ),
        ring_timeout_s=ring,
        amd=amd,
        window=_window(table(doc, "window")),
        retry=_retry(table(doc, "retry"), real=simulation is None),
        seats=tuple(seats),
        simulation=simulation,
        http=_http(table(doc, "http"), base),
        console=_console(table(doc, "console"), base),
        abandon=_abandon(table(doc, "abandon"), amd, real=simulation is None),
    )


def _abandon(a: dict[str, Any], amd: bool, real: bool) -> AbandonPolicy:
    key = "abandon.amd_false_positive"
    if amd and real and "amd_false_positive" not in a:
        raise CampaignConfigError(
            key,
            "required with trunk.amd on for real callees: the estimated share of machine "
            "verdicts that were people (Ofcom counts them as abandons; 0 only if measured)",
        )
    d = AbandonPolicy()
    return AbandonPolicy(
        window_h=bounded(a, "abandon.window_h", d.window_h, 1.0, MAX_WINDOW_H, above=False),
        cap=bounded(a, "abandon.cap", d.cap, 0.0, LEGAL_CAP),
        amd_false_positive=bounded(a, key, d.amd_false_positive, 0.0, 1.0, above=False),
    )


def _console(c: dict[str, Any], base: Path) -> ConsoleFile:
    operators = c.get("operators_file")
    wrap = bounded(c, "console.wrap_up_s", 10.0, 0.0, 3600.0, above=False)
    hours = bounded(c, "console.session_hours", 10.0, 0.0, 24.0)
    idle = bounded(c, "console.idle_minutes", 30.0, 0.0, 24 * 60.0)
    return ConsoleFile(
        base / typed(operators, "console.operators_file", str) if operators else None,
        wrap,
        timedelta(hours=hours),
        timedelta(minutes=idle),
    )


def _http(h: dict[str, Any], base: Path) -> HttpSettings:
    token = _secret(h, "http.token_file", "DIALER_API_TOKEN", base)
    if not token:
        raise CampaignConfigError("http.token_file", "no API token: set it or DIALER_API_TOKEN")
    if len(token) < 16:
        raise CampaignConfigError("http.token_file", "the API token needs at least 16 characters")
    return HttpSettings(
        host=optional(h, "http.host", str, "127.0.0.1"),
        port=_port(optional(h, "http.port", int, 8600), "http.port"),
        token=token,
    )


def _secret(section: dict[str, Any], key: str, variable: str, base: Path) -> str:
    """A secret from the file named at ``key``, else from the environment ``variable``."""
    name = key.split(".")[1]
    if name not in section:
        return os.environ.get(variable, "")
    path = base / typed(section[name], key, str)
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CampaignConfigError(key, f"cannot read {path}: {exc.strerror}") from None


def _ami(a: dict[str, Any], base: Path) -> AmiSettings:
    secret = _secret(a, "ami.secret_file", "DIALER_AMI_SECRET", base)
    if not secret:
        raise CampaignConfigError("ami.secret_file", "no AMI secret: set it or DIALER_AMI_SECRET")
    return AmiSettings(
        host=optional(a, "ami.host", str, "127.0.0.1"),
        port=_port(optional(a, "ami.port", int, 5038), "ami.port"),
        username=optional(a, "ami.username", str, "dialer"),
        secret=secret,
    )


def _span(text: str, key: str) -> Span | None:
    if not text.strip():
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise CampaignConfigError(key, f"{text!r} is not 'HH:MM-HH:MM' or empty (closed)") from None
    if not start < end:
        raise CampaignConfigError(key, f"{text!r} ends before it starts")
    return (start, end)


def _window(w: dict[str, Any]) -> CallingWindow:
    default = CallingWindow()
    days = tuple(
        _span(typed(w[day], f"window.{day}", str), f"window.{day}")
        if day in w
        else default.weekdays[i]
        for i, day in enumerate(DAYS)
    )
    eve = (
        _span(typed(w["eve_of_holiday"], "window.eve_of_holiday", str), "window.eve_of_holiday")
        if "eve_of_holiday" in w
        else default.eve_of_holiday
    )
    holidays = optional(w, "window.holidays", str, "IT")
    if holidays not in ("IT", "none"):
        raise CampaignConfigError("window.holidays", f"{holidays!r} is not 'IT' or 'none'")
    timezone = optional(w, "window.timezone", str, default.timezone)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a directory
        raise CampaignConfigError(
            "window.timezone", f"{timezone!r} is not a time zone (e.g. 'Europe/Rome')"
        ) from None
    return CallingWindow(
        timezone=timezone,
        weekdays=days,
        eve_of_holiday=eve,
        holidays=italian_holidays if holidays == "IT" else (lambda _year: frozenset()),
    )


def _retry(r: dict[str, Any], real: bool) -> RetryPolicy:
    """The retry policy; ``real``: for real callees, whom the rules protect."""
    d = RetryPolicy()

    def minutes(key: str, default: timedelta) -> timedelta:
        most = MAX_DELAY.total_seconds() / 60
        value = bounded(r, f"retry.{key}", default.total_seconds() / 60, 0.0, most, above=False)
        return timedelta(minutes=value)

    return RetryPolicy(
        max_attempts=positive_int(
            optional(r, "retry.max_attempts", int, d.max_attempts), "retry.max_attempts"
        ),
        busy_delay=minutes("busy_delay_min", d.busy_delay),
        unreached_delay=minutes("unreached_delay_min", d.unreached_delay),
        congestion_delay=minutes("congestion_delay_min", d.congestion_delay),
        day_parts=_day_parts(optional(r, "retry.day_parts", list, ["13:00", "17:00"])),
        abandoned_quiet=_quiet(r, "abandoned_quiet_h", d.abandoned_quiet, real, "an abandon"),
        machine_quiet=_quiet(r, "machine_quiet_h", d.machine_quiet, real, "a machine verdict"),
    )


def _quiet(r: dict[str, Any], name: str, least: timedelta, real: bool, after: str) -> timedelta:
    """A rest after an outcome, in hours: at least the rules' (``least``, the default) for
    real callees."""
    key, most = f"retry.{name}", MAX_DELAY.total_seconds() / 3600
    hours = bounded(r, key, least.total_seconds() / 3600, 0.0, most, above=False)
    if real and hours < least.total_seconds() / 3600:
        raise CampaignConfigError(
            key,
            f"must be at least {least / _HOUR:.0f} h for real callees (no redial after {after})",
        )
    return timedelta(hours=hours)


_HOUR = timedelta(hours=1)


def _day_parts(values: list[Any]) -> tuple[time, ...]:
    """Boundaries between parts of the day, e.g. ["13:00", "17:00"]; [] for one part."""
    try:
        parts = tuple(time.fromisoformat(typed(v, "retry.day_parts", str)) for v in values)
    except ValueError:
        raise CampaignConfigError("retry.day_parts", "must be times like '13:00'") from None
    if list(parts) != sorted(set(parts)):
        raise CampaignConfigError("retry.day_parts", "must be in increasing order")
    return parts


def _simulation(s: dict[str, Any]) -> Simulation:
    d = Simulation()
    shares = {
        key: optional(s, f"simulation.{key}", float, getattr(d, key))
        for key in ("answer", "busy", "congestion", "machine", "complete")
    }
    for key, value in shares.items():
        if not 0.0 <= value <= 1.0:
            raise CampaignConfigError(
                f"simulation.{key}", f"must be a share in [0, 1], not {value}"
            )
    if sum(shares[k] for k in ("answer", "busy", "congestion", "machine")) > 1.0:
        raise CampaignConfigError(
            "simulation.answer", "answer + busy + congestion + machine exceed 1"
        )
    return Simulation(
        answer=shares["answer"], busy=shares["busy"], congestion=shares["congestion"],
        machine=shares["machine"], complete=shares["complete"],
        seed=optional(s, "simulation.seed", int, d.seed),
        operators=optional(s, "simulation.operators", bool, d.operators),
    )  # fmt: skip


def _port(value: Any, key: str) -> int:
    """A TCP port number, 1 to 65535."""
    port = positive_int(value, key)
    if port > 65535:
        raise CampaignConfigError(key, f"must be a port number up to 65535, not {port}")
    return port
