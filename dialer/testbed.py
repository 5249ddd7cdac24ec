"""Starting the project's Asterisk testbed (deploy/asterisk-testbed) from Python."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dialer.ami.client import AmiSettings
from dialer.ami.errors import AmiConnectError

SCRIPT = Path(__file__).resolve().parents[1] / "deploy" / "asterisk-testbed"


def start_testbed(port: int, phones: bool = False) -> AmiSettings:
    """Start (or reuse) the testbed instance on ``port`` and return how to reach its AMI;
    ``phones``: with the PJSIP stack and simulated operator phones (``--phones``)."""
    info = _start(port, phones)
    secret = Path(info["ami_secret_file"]).read_text(encoding="utf-8").strip()
    return AmiSettings(host=info["ami_host"], port=int(info["ami_port"]), secret=secret)


START_TIMEOUT_S = 900


def asterisk_pid(port: int) -> int:
    """The pid of the Asterisk running the testbed instance on ``port`` (started if not)."""
    return int(_start(port)["pid"])


def _start(port: int, phones: bool = False) -> dict[str, str]:
    """The script's ``start``, and what it prints of the instance (key=value lines)."""
    if not SCRIPT.exists():
        raise AmiConnectError("testbed", f"{SCRIPT} not found: run the demo from a checkout")
    try:  # a first start builds the chroot (minutes); a start never waits for ever
        done = subprocess.run(
            [str(SCRIPT), "start", "--ami-port", str(port), *(["--phones"] if phones else [])],
            capture_output=True, text=True, check=False, timeout=START_TIMEOUT_S,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise AmiConnectError(
            "testbed", f"the testbed did not start within {START_TIMEOUT_S // 60} min"
        ) from None
    if done.returncode != 0:
        raise AmiConnectError("testbed", done.stderr.strip() or "the testbed did not start")
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


def stop_testbed(port: int) -> None:
    subprocess.run(
        [str(SCRIPT), "stop", "--ami-port", str(port)], capture_output=True, check=False, timeout=60
    )
