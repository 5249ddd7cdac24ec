"""The deployment files refer to what the checkout holds."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

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
