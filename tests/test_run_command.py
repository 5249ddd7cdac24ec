"""`dialer run`: the campaign file is validated by key; AMI trouble exits 2 with nothing written."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from dialer.ami.client import AmiSettings
from dialer.campaign.config import CampaignConfigError, load_campaign
from dialer.cli import main
from tests.conftest import SurveyFactory

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

{simulation}
"""


def write_campaign(
    tmp_path: Path, port: int, secret: str, ring: float = 3, simulation: str = "[simulation]"
) -> Path:
    (tmp_path / "secret.txt").write_text(secret, encoding="utf-8")
    path = tmp_path / "campaign.toml"
    path.write_text(CAMPAIGN.format(port=port, ring=ring, simulation=simulation), encoding="utf-8")
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
        ('name = "test"', 'name = "test"\nmode = "predictive"', "campaign.mode"),
        ("[seats]", "[seat]", "seat"),
        ('secret_file = "secret.txt"', 'secret_file = "missing.txt"', "ami.secret_file"),
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
    campaign = load_campaign(Path(__file__).parents[1] / "deploy" / "campaign.example.toml")
    assert 20.0 == campaign.ring_timeout_s
    assert campaign.simulation is None
