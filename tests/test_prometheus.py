"""The supervisors' view on a real Prometheus: the shipped config and rules pass promtool,
every query of the dashboard and the rules returns data for a campaign run on the real
Asterisk, and the quota values Prometheus holds are what the store says."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from grafana_foundation_sdk.models.dashboard import Dashboard

from dialer.ami.client import AmiClient
from dialer.api.app import build_app
from dialer.api.server import ApiServer
from dialer.campaign.runner import open_campaign
from dialer.dashboard import DATASOURCE_UID, build, to_json
from tests.conftest import SurveyFactory, free_port, small_campaign

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "cati-dialer.json"
RULES = DEPLOY / "prometheus" / "rules.yml"
CAMPAIGN = "prom-test"
TOKEN = "test-token-0123456789abcdef"
# Grafana's variables, as a dashboard would resolve them over this short campaign
GRAFANA = {"$campaign": CAMPAIGN, "$__rate_interval": "1m", "$__range": "10m"}


def _tools() -> None:
    """Prometheus from Debian's packages, installed if missing (needs root)."""
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        subprocess.run([str(DEPLOY / "install-packages"), "prometheus"], check=True)


def _promtool(*args: str) -> str:
    done = subprocess.run(["promtool", *args], capture_output=True, text=True, check=False)
    assert 0 == done.returncode, done.stdout + done.stderr
    return done.stdout


def test_promtool_passes_the_shipped_config_and_rules() -> None:
    """check config (which checks the rules it loads), check rules, and the rules' unit
    tests: each alert fires on the series meant to raise it and not on healthy ones."""
    _tools()
    _promtool("check", "config", str(DEPLOY / "prometheus" / "prometheus.yml"))
    assert "SUCCESS" in _promtool("check", "rules", str(RULES))
    assert "SUCCESS" in _promtool("test", "rules", str(DEPLOY / "prometheus" / "rules.test.yml"))


def test_the_dashboard_is_built_by_the_sdk_and_uses_the_provisioned_datasource() -> None:
    """The committed JSON is what dialer.dashboard builds, loads back into the SDK's model,
    and every panel and query names the datasource the provisioning file defines."""
    text = DASHBOARD.read_text()
    assert to_json(build()) == text, "regenerate: python -m dialer.dashboard > " + str(DASHBOARD)
    data = json.loads(text)
    loaded = Dashboard.from_json(data)
    assert "cati-dialer" == loaded.uid
    assert len(data["panels"]) == len(loaded.panels or [])
    provisioned = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    assert [DATASOURCE_UID] == [d["uid"] for d in provisioned["datasources"]]
    panels = [p for p in data["panels"] if p["type"] != "row"]
    assert len(panels) >= 15
    for panel in panels:
        assert DATASOURCE_UID == panel["datasource"]["uid"], panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert DATASOURCE_UID == target["datasource"]["uid"], panel["title"]
    for variable in data["templating"]["list"]:
        assert DATASOURCE_UID == variable["datasource"]["uid"]


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) for every query of the dashboard."""
    data = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in data["panels"]
        for target in panel.get("targets", [])
    ]


def rule_queries() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(name, PromQL) of the recording rules, and of each alert's series (its expression
    without the final comparison with a number: the rules' convention)."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    records, alerts = [], []
    for group in groups:
        for rule in group["rules"]:
            if "record" in rule:
                records.append((rule["record"], rule["expr"]))
            else:
                found = re.fullmatch(r"(.+?)\s*(?:>|<|==|!=|>=|<=)\s*[\d.]+\s*", rule["expr"])
                assert found, f"{rule['alert']}: not '<series> <op> <number>'"
                alerts.append((rule["alert"], found.group(1)))
    return records, alerts


@dataclass
class Prometheus:
    url: str
    http: httpx.AsyncClient

    async def query(self, expr: str) -> list[dict[str, Any]]:
        for name, value in GRAFANA.items():
            expr = expr.replace(name, value)
        response = await self.http.get(f"{self.url}/api/v1/query", params={"query": expr})
        body = response.json()
        assert "success" == body.get("status"), f"{expr}: {body}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result


@pytest.fixture
def prometheus_config(tmp_path: Path) -> tuple[Path, int]:
    """The shipped rules, evaluated every second, and a 1-s scrape of the dialer's port."""
    _tools()
    dialer_port = free_port()
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        group["interval"] = "1s"
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    shipped = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    shipped["global"].update(scrape_interval="1s", evaluation_interval="1s")
    shipped["scrape_configs"][0]["static_configs"] = [{"targets": [f"127.0.0.1:{dialer_port}"]}]
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(shipped))
    return config, dialer_port


@pytest.fixture
async def prometheus(
    tmp_path: Path, prometheus_config: tuple[Path, int]
) -> AsyncIterator[Prometheus]:
    config, _ = prometheus_config
    port = free_port()
    with (tmp_path / "prometheus.log").open("w") as log:
        process = await asyncio.create_subprocess_exec(
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            for _ in range(200):
                try:
                    if (await http.get(f"{url}/-/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                output = (tmp_path / "prometheus.log").read_text()
                pytest.fail(f"Prometheus did not start: {output}")
            yield Prometheus(url, http)
    finally:
        process.terminate()
        await process.wait()


async def test_every_query_returns_data_and_the_quotas_equal_the_store(
    tmp_path: Path,
    make_survey: SurveyFactory,
    ami: AmiClient,
    prometheus: Prometheus,
    prometheus_config: tuple[Path, int],
) -> None:
    """A campaign runs to its quotas with its /metrics scraped every second; then every
    dashboard query, recording rule and alert series returns data for it through
    Prometheus' HTTP API, the rules are all healthy, and the quota gauges equal the store."""
    _, port = prometheus_config
    settings = replace(await small_campaign(tmp_path, make_survey), name=CAMPAIGN)
    async with open_campaign(settings, ami) as runner:
        server = ApiServer("127.0.0.1", port)
        await server.start(build_app(runner, TOKEN))
        try:
            summary = await asyncio.wait_for(runner.run(), 240)
            assert "quotas full" == summary.finished
            await asyncio.sleep(3)  # a few scrapes and rule evaluations of the final state
            # Queried while the dialer still serves: a failed scrape marks every series stale.
            await _every_query_returns_data(prometheus)
            await _quotas_equal_the_store(prometheus, settings.store)
        finally:
            await server.stop()


async def _every_query_returns_data(prometheus: Prometheus) -> None:
    assert [CAMPAIGN] == (
        await prometheus.http.get(
            f"{prometheus.url}/api/v1/label/campaign/values",
            params={"match[]": "cati_calls_launched_total"},
        )
    ).json()["data"]
    records, alerts = rule_queries()
    empty = [
        f"{name}: {expr}"
        for name, expr in [*dashboard_queries(), *records, *alerts]
        if not await prometheus.query(expr)
    ]
    assert [] == empty
    rules = (await prometheus.http.get(f"{prometheus.url}/api/v1/rules")).json()["data"]
    health = {r["name"]: r["health"] for g in rules["groups"] for r in g["rules"]}
    assert {name for name, _ in [*records, *alerts]} == set(health)
    assert {"ok"} == set(health.values()), health


async def _quotas_equal_the_store(prometheus: Prometheus, store: Path) -> None:
    with sqlite3.connect(store) as db:
        cells = db.execute(
            "SELECT district, age_band, sex, target,"
            " (SELECT count(*) FROM sample_case c WHERE c.verified_cell_id = cell.id"
            "  AND c.result = 'complete') FROM cell"
        ).fetchall()
    for metric, column in (("cati_quota_target", 3), ("cati_quota_completes", 4)):
        held = {
            (s["metric"]["district"], s["metric"]["age_band"], s["metric"]["sex"]): float(
                s["value"][1]
            )
            for s in await prometheus.query(f'{metric}{{campaign="{CAMPAIGN}"}}')
        }
        assert {(d, a, s): float(row[column]) for row in cells for d, a, s in [row[:3]]} == held
