"""`dialer run`: the campaign file is validated by key; AMI trouble exits 2 with nothing written."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from dialer.ami.client import AmiSettings
from dialer.campaign.config import CampaignConfigError, load_campaign
from dialer.cli import main
from dialer.commands.run import settings_of
from dialer.pacing.predictive import Predictive
from dialer.schedule.window import CallingWindow
from tests.conftest import ALWAYS_OPEN_TOML, REPO, SurveyFactory, free_port, landline, write_frame

CELLS = [(d, a, s) for d in ("North", "South") for a in (25, 45, 75) for s in "MF"]

CAMPAIGN = """
[campaign]
name = "test"
survey = "survey-w1.toml"
store = "run.sqlite"

[ami]
port = {port}
secret_file = "secret.txt"

[trunk]
context = "sim-pstn"
ring_timeout_s = {ring}

[seats]
ids = ["7201", "7202"]

[window]
{always}

[http]
port = {http_port}
token_file = "token.txt"

{simulation}
"""

TOKEN = "run-command-token-0123456789"


def write_campaign(
    tmp_path: Path,
    port: int,
    secret: str,
    ring: float = 3,
    simulation: str = "[simulation]",
    http_port: int = 8600,
) -> Path:
    (tmp_path / "secret.txt").write_text(secret, encoding="utf-8")
    (tmp_path / "token.txt").write_text(TOKEN, encoding="utf-8")
    path = tmp_path / "campaign.toml"
    text = CAMPAIGN.format(
        port=port, ring=ring, simulation=simulation, http_port=http_port, always=ALWAYS_OPEN_TOML
    )
    path.write_text(text, encoding="utf-8")
    return path


def test_campaign_file_loads(tmp_path: Path, make_survey: SurveyFactory) -> None:
    """A valid file gives the survey, seats, AMI settings and the simulation."""
    make_survey()
    campaign = load_campaign(write_campaign(tmp_path, 15038, "s3"))
    assert ("7201", "7202") == campaign.seats
    assert "s3" == campaign.ami.secret
    assert campaign.simulation is not None


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('context = "sim-pstn"', "context = 5", "trunk.context"),
        ('ids = ["7201", "7202"]', 'ids = ["7201", "7201"]', "seats.ids"),
        ('ids = ["7201", "7202"]', 'ids = ["7201", "7"]', "seats.ids"),
        ('name = "test"', 'name = "test"\nmode = "preview"', "campaign.mode"),
        ("[seats]", "[seat]", "seat"),
        ('secret_file = "secret.txt"', 'secret_file = "missing.txt"', "ami.secret_file"),
        ('token_file = "token.txt"', 'token_file = "secret.txt"', "http.token_file"),
        ("port = 8600", "port = 0", "http.port"),
        ("[http]", "[console]\nwrap_up_s = -1\n[http]", "console.wrap_up_s"),
        ("[http]", "[console]\nidle_minutes = 0\n[http]", "console.idle_minutes"),
        ('holidays = "none"', 'holidays = "none"\ntimezone = "Europe/Rom"', "window.timezone"),
        ('mon = "00:00-23:59:59"', 'mon = "20:00-09:00"', "window.mon"),
        ("[http]", "[retry]\nabandoned_quiet_h = -5\n[http]", "retry.abandoned_quiet_h"),
        ("[http]", "[retry]\nabandoned_quiet_h = nan\n[http]", "retry.abandoned_quiet_h"),
        ("ring_timeout_s = 3", "ring_timeout_s = nan", "trunk.ring_timeout_s"),
        ('holidays = "none"', 'holidays = "none"\ntimezone = "Europe"', "window.timezone"),
        ("[http]", "[retry]\nmax_attempts = 0\n[http]", "retry.max_attempts"),
        ("[http]", '[retry]\nday_parts = ["17:00", "13:00"]\n[http]', "retry.day_parts"),
        ("[http]", "[http]\nhost = 5", "http.host"),
        ('context = "sim-pstn"', 'context = "outbound"', "simulation"),
        ("port = 8600", "port = 70000", "http.port"),
        ("port = 15038", "port = 70000", "ami.port"),
        ("[http]", "[retry]\nbusy_delay_min = inf\n[http]", "retry.busy_delay_min"),
        ("[http]", "[retry]\nunreached_delay_min = 1e12\n[http]", "retry.unreached_delay_min"),
        ("[http]", "[retry]\nabandoned_quiet_h = 1e9\n[http]", "retry.abandoned_quiet_h"),
        ("[http]", "[console]\nwrap_up_s = nan\n[http]", "console.wrap_up_s"),
        ("[http]", "[console]\nsession_hours = 1e12\n[http]", "console.session_hours"),
        ("[http]", "[abandon]\ncap = 0.05\n[http]", "abandon.cap"),
        ("[http]", "[abandon]\ncap = 0\n[http]", "abandon.cap"),
        ("[http]", "[abandon]\nwindow_h = 0.5\n[http]", "abandon.window_h"),
        ("[http]", "[abandon]\nwindow_h = 1e6\n[http]", "abandon.window_h"),
        ("[http]", "[abandon]\namd_false_positive = 1.5\n[http]", "abandon.amd_false_positive"),
        ("[http]", "[abandon]\namd_false_positive = nan\n[http]", "abandon.amd_false_positive"),
        ("[http]", "[abandon]\nwindow = 24\n[http]", "abandon.window"),
    ],
)
def test_invalid_campaign_file_names_the_key(
    tmp_path: Path, make_survey: SurveyFactory, old: str, new: str, key: str
) -> None:
    """Each invalid setting is refused with an error naming its key."""
    make_survey()
    path = write_campaign(tmp_path, 15038, "s3")
    path.write_text(path.read_text().replace(old, new), encoding="utf-8")
    with pytest.raises(CampaignConfigError) as caught:
        load_campaign(path)
    assert key == caught.value.key


def test_dialer_run_has_no_time_limit(tmp_path: Path, make_survey: SurveyFactory) -> None:
    """Fieldwork lasts weeks: ``dialer run`` is not cut off after a while (it was after 7
    days, mid-interview), only tests and the demo set a limit."""
    make_survey()
    campaign = load_campaign(write_campaign(tmp_path, 15038, "s3"))
    assert settings_of(campaign, start=False).max_duration_s is None


def test_campaign_file_defaults_are_the_safe_ones(
    tmp_path: Path, make_survey: SurveyFactory
) -> None:
    """Left out, the API listens on loopback only, dials through the production context
    with the rules' ring and quiet time, and calls within the Italian window."""
    make_survey()
    path = write_campaign(tmp_path, 15038, "s3", ring=20, simulation="")
    text = path.read_text().replace('context = "sim-pstn"\n', "")
    text = text.replace("ring_timeout_s = 20\n", "").replace(f"[window]\n{ALWAYS_OPEN_TOML}", "")
    path.write_text(text, encoding="utf-8")
    campaign = load_campaign(path)
    assert "127.0.0.1" == campaign.http.host
    assert "outbound" == campaign.context
    assert 20.0 == campaign.ring_timeout_s
    assert timedelta(hours=72) == campaign.retry.abandoned_quiet
    italian = CallingWindow()
    window = campaign.window
    assert (italian.timezone, italian.weekdays) == (window.timezone, window.weekdays)
    assert italian.eve_of_holiday == window.eve_of_holiday
    assert window.holidays(2026) == italian.holidays(2026) != frozenset()


def test_short_quiet_after_an_abandon_is_refused_for_real_callees(
    tmp_path: Path, make_survey: SurveyFactory
) -> None:
    """Without [simulation], redialling sooner than 72 h after an abandon is refused."""
    make_survey()
    path = write_campaign(tmp_path, 15038, "s3", ring=20, simulation="")
    path.write_text(path.read_text() + "\n[retry]\nabandoned_quiet_h = 24\n", encoding="utf-8")
    with pytest.raises(CampaignConfigError, match=re.escape("at least 72 h for real callees")):
        load_campaign(path)


def test_detection_without_a_false_positive_estimate_is_refused_for_real_callees(
    tmp_path: Path, make_survey: SurveyFactory
) -> None:
    """Ofcom counts the people answering-machine detection hangs up on as abandons: with
    detection on for real callees the campaign must say how many it estimates."""
    make_survey()
    path = write_campaign(tmp_path, 15038, "s3", ring=20, simulation="")
    text = path.read_text().replace("ring_timeout_s = 20\n", "ring_timeout_s = 20\namd = true\n")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CampaignConfigError) as caught:
        load_campaign(path)
    assert "abandon.amd_false_positive" == caught.value.key
    path.write_text(text + "\n[abandon]\namd_false_positive = 0.04\n", encoding="utf-8")
    assert 0.04 == load_campaign(path).abandon.amd_false_positive


def test_the_abandon_policy_reaches_the_pacer_and_its_statistics(
    tmp_path: Path, make_survey: SurveyFactory
) -> None:
    """A 30-day window (the FTC's), a house cap of 1.5% and a false-positive estimate: the
    predictive pacer steers in proportion below the cap, and the window is the policy's.
    Left out: Ofcom's 24 hours and the law's 3%."""
    make_survey()
    path = write_campaign(tmp_path, 15038, "s3")
    default = settings_of(load_campaign(path), start=False)
    assert (24 * 3600.0, 0.03, 0.0) == (
        default.abandon_window_s,
        default.abandon_cap,
        default.amd_false_positive,
    )
    text = path.read_text().replace('name = "test"', 'name = "test"\nmode = "predictive"')
    policy = "[abandon]\nwindow_h = 720\ncap = 0.015\namd_false_positive = 0.05\n"
    path.write_text(text + policy, encoding="utf-8")
    settings = settings_of(load_campaign(path), start=False)
    assert (720 * 3600.0, 0.015, 0.05) == (
        settings.abandon_window_s,
        settings.abandon_cap,
        settings.amd_false_positive,
    )
    pacer = settings.pacer()
    assert isinstance(pacer, Predictive)
    assert (0.015, 0.004, 0.002) == pytest.approx((pacer.cap, pacer.target, pacer.fallback_margin))


def test_a_short_rest_after_a_machine_verdict_is_refused_for_real_callees(
    tmp_path: Path, make_survey: SurveyFactory
) -> None:
    """Without [simulation], redialling sooner than 24 h after a machine verdict is refused
    (Ofcom); simulated callees may be redialled sooner."""
    make_survey()
    path = write_campaign(tmp_path, 15038, "s3", ring=20, simulation="")
    path.write_text(path.read_text() + "\n[retry]\nmachine_quiet_h = 2\n", encoding="utf-8")
    with pytest.raises(
        CampaignConfigError, match=re.escape("at least 24 h for real callees (no redial after a")
    ):
        load_campaign(path)
    simulated = write_campaign(tmp_path, 15038, "s3")
    simulated.write_text(simulated.read_text() + "\n[retry]\nmachine_quiet_h = 0.5\n")
    assert timedelta(minutes=30) == load_campaign(simulated).retry.machine_quiet


def test_short_ring_is_refused_for_real_callees(tmp_path: Path, make_survey: SurveyFactory) -> None:
    """Without [simulation], a ring shorter than 15 s breaks the rules and is refused."""
    make_survey()
    path = write_campaign(tmp_path, 15038, "s3", ring=5, simulation="")
    with pytest.raises(
        CampaignConfigError, match=re.escape("trunk.ring_timeout_s: must be at least 15 s")
    ):
        load_campaign(path)


def test_bad_secret_exits_2_and_writes_nothing(
    tmp_path: Path,
    make_survey: SurveyFactory,
    asterisk: AmiSettings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Wrong AMI credentials: exit code 2, a clear message, and no store file created."""
    make_survey()
    path = write_campaign(tmp_path, asterisk.port, "wrong-secret")
    assert 2 == main(["run", str(path)])
    assert "refused user 'dialer'" in capsys.readouterr().err
    assert not (tmp_path / "run.sqlite").exists()


def test_unreachable_asterisk_exits_2(
    tmp_path: Path, make_survey: SurveyFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing listening on the AMI port: exit code 2 naming where it tried."""
    make_survey()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    assert 2 == main(["run", str(write_campaign(tmp_path, free, "x"))])
    assert f"cannot reach Asterisk at 127.0.0.1:{free}" in capsys.readouterr().err
    assert not (tmp_path / "run.sqlite").exists()


def test_shipped_example_campaign_file_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    """deploy/campaign.example.toml loads (with a secret from the environment)."""
    monkeypatch.setenv("DIALER_AMI_SECRET", "example")
    monkeypatch.setenv("DIALER_API_TOKEN", "example-token-0123456789")
    campaign = load_campaign(Path(__file__).parents[1] / "deploy" / "campaign.example.toml")
    assert 20.0 == campaign.ring_timeout_s
    assert campaign.simulation is None


def test_taken_api_port_exits_2_before_dialling(
    tmp_path: Path,
    make_survey: SurveyFactory,
    asterisk: AmiSettings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Another process holds the API port: exit 2 naming it, and no store file created."""
    make_survey()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path = write_campaign(tmp_path, asterisk.port, asterisk.secret, http_port=port)
        assert 2 == main(["run", str(path)])
    assert f"http.port: cannot serve the API on 127.0.0.1:{port}" in capsys.readouterr().err
    assert not (tmp_path / "run.sqlite").exists()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dialer", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "160"},
        check=False,
    )


def _with_console(campaign: Path, operators: Path) -> None:
    """The campaign serves the operators' console; seat 7201's secret hashed by the CLI."""
    hashed = subprocess.run(
        [sys.executable, "-m", "dialer", "console", "hash", "7201"],
        input="operator-7201-secret\n", capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    ).stdout  # fmt: skip
    assert "operator-7201-secret" not in hashed
    operators.write_text(hashed, encoding="utf-8")
    text = campaign.read_text(encoding="utf-8")
    console = f'[console]\noperators_file = "{operators.name}"\nwrap_up_s = 2\n\n[http]'
    campaign.write_text(text.replace("[http]", console), encoding="utf-8")


def test_supervisor_drives_dialer_run_from_the_command_line(
    tmp_path: Path, make_survey: SurveyFactory, asterisk: AmiSettings
) -> None:
    """`dialer run` waits for `dialer campaign start`; `status` prints the quota table; a wrong
    token is refused; `pause` and `resume` change the state status shows; SIGTERM stops the
    run gracefully with its summary."""
    make_survey(interviews=40)
    frame = tmp_path / "frame.csv"
    rows = [f"{landline(i)},{d},{a},{s}," for i, (d, a, s) in enumerate(CELLS * 20)]
    write_frame(frame, rows)
    http_port = free_port()
    path = write_campaign(tmp_path, asterisk.port, asterisk.secret, http_port=http_port)
    _with_console(path, tmp_path / "operators.toml")
    args = ["--survey", str(tmp_path / "survey-w1.toml"), "--db", str(tmp_path / "run.sqlite")]
    assert 0 == main(["frame", "import", *args, str(frame)])
    log = (tmp_path / "run.log").open("w", encoding="utf-8")
    watch: subprocess.Popen[str] | None = None
    service = subprocess.Popen(
        [sys.executable, "-m", "dialer", "run", str(path)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "160"},
    )
    try:
        deadline = time.monotonic() + 30
        while (status := _cli("campaign", "status", str(path))).returncode != 0:
            assert service.poll() is None, (tmp_path / "run.log").read_text()
            assert time.monotonic() < deadline, status.stdout
            time.sleep(0.2)
        assert "campaign test: ready" in status.stdout
        assert "abandons over the last 24 h: 0.00% of 0 live answers (cap 3.0%)" in status.stdout
        console = httpx.post(
            f"http://127.0.0.1:{http_port}/console/login",
            json={"seat": "7201", "secret": "operator-7201-secret"},
        )
        assert (200, "7201") == (console.status_code, console.json()["seat"])
        assert "South" in status.stdout
        assert "65+" in status.stdout
        (tmp_path / "token.txt").write_text("not-the-token-0123456789", encoding="utf-8")
        refused = _cli("campaign", "start", str(path))
        assert (1, "401") == (refused.returncode, refused.stdout.split(":")[1].strip()[:3])
        (tmp_path / "token.txt").write_text(TOKEN, encoding="utf-8")
        started = _cli("campaign", "start", str(path))
        assert (0, "campaign is running") == (started.returncode, started.stdout.strip())
        watch = subprocess.Popen(
            [sys.executable, "-m", "dialer", "campaign", "status", "--watch", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "160"},
        )
        while "connected" not in _cli("campaign", "status", str(path)).stdout:
            assert time.monotonic() < deadline + 60, "no connected call"
            time.sleep(0.5)
        for verb, state in (("pause", "paused"), ("resume", "running")):
            said = _cli("campaign", verb, str(path))
            assert (0, f"campaign is {state}") == (said.returncode, said.stdout.strip())
            assert f"campaign test: {state}" in _cli("campaign", "status", str(path)).stdout
        service.send_signal(signal.SIGTERM)
        assert 0 == service.wait(60)
        watched, _ = watch.communicate(timeout=30)  # the watch ends with the campaign
        assert 0 == watch.returncode
        assert "all cells" in watched
        assert "South 65+ F" in watched
    finally:
        for process in (service, watch):
            if process is not None and process.poll() is None:
                process.kill()
        log.close()
    output = (tmp_path / "run.log").read_text(encoding="utf-8")
    assert "stopped" in output
    assert TOKEN not in output
    assert asterisk.secret not in output
