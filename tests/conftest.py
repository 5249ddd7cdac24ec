"""Shared fixtures: a small survey on disk, its grid, and a store file per test."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from dialer.ami.client import AmiClient, AmiSettings
from dialer.ami.errors import AmiConnectError
from dialer.api.app import build_app
from dialer.api.server import ApiServer
from dialer.campaign.runner import CampaignRunner, CampaignSettings, CampaignSummary, Simulation
from dialer.console.routes import ConsoleSettings
from dialer.frame_import import import_frame
from dialer.schedule.retry import RetryPolicy
from dialer.schedule.window import DAYS, CallingWindow
from dialer.testbed import start_testbed, stop_testbed
from sampling.survey import Survey, load_survey

SURVEY_TOML = """
[survey]
name = "test-survey"
wave = {wave}
interviews = {interviews}
margins = "margins.csv"
districts = ["North", "South"]
age_bands = ["18-34", "35-64", "65+"]
sex = ["M", "F"]

[quotas]
mode = "{mode}"
overshoot = {overshoot}

[yield]
prior = 0.5
strength = 10

[waves]
exclude_last = 1
exclude_results = ["complete", "refusal"]
"""

MARGINS = """# test margins
district,age_band,sex,population
North,18-34,M,100
North,18-34,F,100
North,35-64,M,200
North,35-64,F,200
North,65+,M,100
North,65+,F,150
South,18-34,M,50
South,18-34,F,50
South,35-64,M,100
South,35-64,F,100
South,65+,M,50
South,65+,F,75
"""

SurveyFactory = Callable[..., Survey]


@pytest.fixture
def make_survey(tmp_path: Path) -> SurveyFactory:
    """Write a survey definition and margins to tmp_path and load it."""

    def make(wave: int = 1, interviews: int = 40, mode: str = "hard", overshoot: int = 0) -> Survey:
        (tmp_path / "margins.csv").write_text(MARGINS, encoding="utf-8")
        path = tmp_path / f"survey-w{wave}.toml"
        text = SURVEY_TOML.format(wave=wave, interviews=interviews, mode=mode, overshoot=overshoot)
        path.write_text(text, encoding="utf-8")
        return load_survey(path)

    return make


@pytest.fixture
def survey(make_survey: SurveyFactory) -> Survey:
    return make_survey()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite"


def write_frame(path: Path, rows: list[str], header: str = "phone,district,age,sex,note") -> Path:
    """Write a frame CSV with a header and the given raw lines."""
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def landline(n: int) -> str:
    """A valid La Spezia landline, distinct for each n < 800,000."""
    return f"0187{200000 + n:06d}"


def free_port() -> int:
    """A TCP port nothing listens on now (for a test's own HTTP server)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def until(
    check: Callable[[], bool | Awaitable[bool]], within_s: float = 60.0, step_s: float = 0.1
) -> None:
    """Return once ``check()`` holds (awaited if it is a coroutine); fail after ``within_s``."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        held = check()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(step_s)


REPO = Path(__file__).resolve().parents[1]
TEST_AMI_PORT = 15038


@pytest.fixture(scope="session")
def asterisk() -> Iterator[AmiSettings]:
    """A real Asterisk 22 (deploy/asterisk-testbed) on its own AMI port, for the whole session:
    started afresh, since an interrupted run leaves its calls and seat lines in a running one
    (a seat's line left in its conference made the next run's callees abandoned)."""
    stop_testbed(TEST_AMI_PORT)
    try:
        settings = start_testbed(TEST_AMI_PORT)
    except AmiConnectError as exc:
        pytest.fail(f"the Asterisk testbed did not start:\n{exc}")
    yield settings
    stop_testbed(TEST_AMI_PORT)


@pytest.fixture
async def ami(asterisk: AmiSettings) -> AsyncIterator[AmiClient]:
    """A logged-in AMI client, closed after the test."""
    client = AmiClient(asterisk)
    await client.connect()
    yield client
    await client.close()


ALWAYS_OPEN = CallingWindow.always_open()
ALWAYS_OPEN_TOML = "\n".join(
    [
        *(f'{day} = "00:00-23:59:59"' for day in DAYS),
        'eve_of_holiday = "00:00-23:59:59"',  # holidays and their eves too
        'holidays = "none"',
    ]
)
"""A campaign file's [window] open whenever the tests run (the default closes at 20:00 in
Rome, all day on Sundays and holidays)."""
FAST_RETRIES = RetryPolicy(
    busy_delay=timedelta(seconds=1),
    unreached_delay=timedelta(seconds=1),
    congestion_delay=timedelta(seconds=1),
    machine_quiet=timedelta(seconds=1),  # simulated callees: no day's rest after a machine
    day_parts=(),
)


@contextlib.asynccontextmanager
async def serving(
    runner: CampaignRunner, token: str, console: ConsoleSettings | None = None
) -> AsyncIterator[tuple[str, asyncio.Task[CampaignSummary]]]:
    """The runner's HTTP app on a free port, and the run as a task; the run is aborted (if
    still going) and the server stopped afterwards."""
    port = free_port()
    server = ApiServer("127.0.0.1", port)
    await server.start(build_app(runner, token, console))
    run = asyncio.create_task(runner.run())
    try:
        yield f"http://127.0.0.1:{port}", run
    finally:
        if not run.done():
            runner.abort("test over")
        await run
        await server.stop()


async def small_campaign(
    tmp_path: Path,
    make_survey: SurveyFactory,
    seats: tuple[str, ...] = ("7101", "7102", "7103", "7104"),
    interviews: int = 12,
    per_cell: int = 15,
) -> CampaignSettings:
    """12 interviews over 12 cells, 15 numbers a cell, simulated callees and operators."""
    survey = make_survey(interviews=interviews)
    rows = []
    n = 0
    for district in ("North", "South"):
        for age in (25, 45, 75):
            for sex in "MF":
                for _ in range(per_cell):
                    rows.append(f"{landline(n)},{district},{age},{sex},")
                    n += 1
    store = tmp_path / "campaign.sqlite"
    await import_frame(store, survey, write_frame(tmp_path / "f.csv", rows), [])
    return CampaignSettings(
        survey=survey,
        store=store,
        seats=seats,
        window=ALWAYS_OPEN,
        retry=FAST_RETRIES,
        simulation=Simulation(answer=0.7, busy=0.1, congestion=0.05, complete=0.7, seed=3),
        ring_timeout_s=3,
        max_duration_s=240,
        release_seed=1,
    )
