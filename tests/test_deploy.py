"""The deployment files refer to what the checkout holds."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from dialer.campaign.runner import AMD_AFTER_GREETING_S, latest_seat_s
from dialer.testbed import START_TIMEOUT_S

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def test_docker_compose_mounts_and_builds_files_that_exist() -> None:
    """Every Dockerfile and every bind-mounted file or folder of docker-compose.yml exists,
    and the Prometheus and Grafana services mount the shipped config."""
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"asterisk", "dialer", "prometheus", "grafana"} == set(services)
    mounted = []
    for name, service in services.items():
        if "build" in service:
            context = DEPLOY / service["build"]["context"]
            assert (context / service["build"]["dockerfile"]).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name}: {source}"
                mounted.append((DEPLOY / source).resolve())
    for shipped in (
        "prometheus/prometheus.yml",
        "prometheus/rules.yml",
        "grafana/dashboards",
        "grafana/provisioning/datasources",
        "grafana/provisioning/dashboards",
    ):
        assert (DEPLOY / shipped).resolve() in mounted, shipped


def test_the_dialer_image_copies_every_package_the_project_ships() -> None:
    """The dialer's Dockerfile copies each package pyproject.toml installs: one left out
    installs without error and fails at ``dialer``'s first import."""
    project = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text())
    shipped = {
        pattern.rstrip("*")
        for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    dockerfile = (DEPLOY / "docker" / "dialer.Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+)/ \1/$", dockerfile, flags=re.MULTILINE))
    assert shipped == copied


def test_the_pjsip_template_loads_in_asterisk_22_as_its_comments_say() -> None:
    """asterisk_conf/pjsip.conf, uncommented as an admin fills it in, loads in Asterisk 22,
    which reads every option the template's comments promise."""
    done = subprocess.run(
        [str(DEPLOY / "asterisk-testbed"), "check-pjsip"],
        capture_output=True, text=True, check=False, timeout=START_TIMEOUT_S,
    )  # fmt: skip
    assert 0 == done.returncode, done.stderr
    shown: dict[str, dict[str, str]] = {}
    for block in done.stdout.split("== ")[1:]:
        name, _, body = block.partition("\n")
        pairs = (line.split(" : ", 1) for line in body.splitlines() if " : " in line)
        shown[name] = {key.strip(): value.strip() for key, value in pairs}
    phone, phone_aor = shown["endpoint 7001"], shown["aor 7001"]
    assert ("seat-login", "false", "60") == (
        phone["context"],
        phone["direct_media"],
        phone["rtp_timeout"],
    )
    assert ("true", "true", "true") == (
        phone["rtp_symmetric"],
        phone["force_rport"],
        phone["rewrite_contact"],
    )
    assert ("1", "true", "30") == (
        phone_aor["max_contacts"],
        phone_aor["remove_existing"],
        phone_aor["qualify_frequency"],
    )
    trunk, trunk_aor = shown["endpoint trunk"], shown["aor trunk"]
    assert ("from-trunk", "false", "60") == (
        trunk["context"],
        trunk["direct_media"],
        trunk["rtp_timeout"],
    )
    assert "60" == trunk_aor["qualify_frequency"]


def test_the_dialers_cut_off_keeps_the_dialplans_margin_with_detection_too() -> None:
    """The dialplan abandons a waiting callee ABANDON_AFTER s after the answer, less the
    silence AMD waits for after a hello (AMD_AFTER_GREETING_MS) with detection on; the
    dialer stops putting one through the same half second before, either way."""
    text = (DEPLOY.parent / "asterisk_conf" / "extensions.conf").read_text()
    globals_ = dict(re.findall(r"^(\w+) = (\S+)", text.split("[globals]")[1].split("\n[")[0], re.M))
    abandon_after = float(globals_["ABANDON_AFTER"])
    after_greeting = float(globals_["AMD_AFTER_GREETING_MS"]) / 1000
    assert AMD_AFTER_GREETING_S == after_greeting
    held = abandon_after - after_greeting  # what HOLD_S is set to (the Asterisk test reads it)
    assert 0 < latest_seat_s(amd=True) < held
    assert held - latest_seat_s(amd=True) == pytest.approx(abandon_after - latest_seat_s(False))
