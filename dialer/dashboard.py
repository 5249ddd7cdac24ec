"""The supervisors' Grafana dashboard, as code (grafana-foundation-sdk, for Grafana 11.6).

``python -m dialer.dashboard > deploy/grafana/dashboards/cati-dialer.json`` writes what we
ship; a test checks the committed file is what this builds and runs every query in it on a
real Prometheus. Every panel and query uses the provisioned datasource ``DATASOURCE_UID``.
"""

from __future__ import annotations

import sys

from grafana_foundation_sdk.builders import common as gc
from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm

DATASOURCE_UID = "cati-prometheus"
"""The Prometheus datasource's uid, as deploy/grafana/provisioning/datasources sets it."""
DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
C = 'campaign="$campaign"'
SELECTOR = "{" + C + "}"
"""The campaign picked in the dashboard's variable, as a series selector."""


def query(expr: str, legend: str = "", instant: bool = False) -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).datasource(DATASOURCE)
    if legend:
        q = q.legend_format(legend)
    return q.instant().format(pm.PromQueryFormat.TABLE) if instant else q


def steps(*pairs: tuple[float | None, str]) -> gd.ThresholdsConfig:
    return (
        gd.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value, color) for value, color in pairs])
    )


def big_number(title: str, expr: str, unit: str, width: int = 4) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .datasource(DATASOURCE)
        .with_target(query(expr))
        .unit(unit)
        .height(5)
        .span(width)
        .reduce_options(gc.ReduceDataOptions().calcs(["lastNotNull"]))
    )


def chart(
    title: str, unit: str, *targets: prometheus.Dataquery, width: int = 12
) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).datasource(DATASOURCE).unit(unit).height(8).span(width)
    for target in targets:
        panel = panel.with_target(target)
    return panel


def quota_table() -> table.Panel:
    """One row per cell: completes, target and fill, the fill coloured."""
    cell = SELECTOR
    return (
        table.Panel()
        .title("Quota fill per cell")
        .description("Completes of target per district, age band and sex (read from the store).")
        .datasource(DATASOURCE)
        .with_target(query(f"cati_quota_completes{cell}", instant=True).ref_id("completes"))
        .with_target(query(f"cati_quota_target{cell}", instant=True).ref_id("target"))
        .with_target(
            # a cell with no target (an override of 0) has no fill, not NaN or +Inf
            query(
                f"cati_quota_completes{cell} / (cati_quota_target{cell} > 0)", instant=True
            ).ref_id("fill")
        )
        .with_target(query(f"cati_quota_in_progress{cell}", instant=True).ref_id("in_progress"))
        .with_transformation(dm.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            dm.DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {
                        "Time": True,
                        "campaign": True,
                        "instance": True,
                        "job": True,
                    },
                    "renameByName": {
                        "Value #completes": "completes",
                        "Value #target": "target",
                        "Value #fill": "fill",
                        "Value #in_progress": "in progress",
                    },
                },
            )
        )
        .override_by_name(
            "fill",
            [
                dm.DynamicConfigValue(id_val="unit", value="percentunit"),
                dm.DynamicConfigValue(
                    id_val="custom.cellOptions", value={"type": "color-background"}
                ),
                dm.DynamicConfigValue(
                    id_val="thresholds",
                    value=steps((None, "red"), (0.5, "orange"), (0.9, "yellow"), (1.0, "green"))
                    .build()
                    .to_json(),
                ),
            ],
        )
        .height(12)
        .span(12)
    )


def build() -> gd.Dashboard:
    c = SELECTOR
    return (
        gd.Dashboard("CATI dialer: campaign")
        .uid("cati-dialer")
        .tags(["cati", "dialer"])
        .refresh("10s")
        .time("now-1h", "now")
        .timezone("browser")
        .with_variable(
            gd.QueryVariable("campaign")
            .label("Campaign")
            .datasource(DATASOURCE)
            .query("label_values(cati_calls_launched_total, campaign)")
            .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        )
        .with_row(gd.Row("Progress"))
        .with_panel(
            big_number(
                "Completes of target",
                f"sum(cati_quota_completes{c}) / clamp_min(sum(cati_quota_target{c}), 1)",
                "percentunit",
            )
        )
        .with_panel(big_number("Completes", f"sum(cati_quota_completes{c})", "none"))
        .with_panel(big_number("Target", f"sum(cati_quota_target{c})", "none"))
        .with_panel(big_number("Interviews under way", f"sum(cati_quota_in_progress{c})", "none"))
        .with_panel(big_number("Open cells", f"cati_cells_open{c}", "none"))
        .with_panel(
            big_number("Numbers left in the release", f"cati_release_numbers_left{c}", "none")
        )
        .with_panel(quota_table())
        .with_panel(
            chart(
                "Calls per minute by outcome",
                "cpm",
                query(
                    f"sum by (outcome) (rate(cati_attempts_total{c}[$__rate_interval])) * 60",
                    "{{outcome}}",
                ),
            )
        )
        .with_row(gd.Row("Pace and abandons"))
        .with_panel(
            chart(
                "Abandon rate over the regulatory window",
                "percentunit",
                query(f"cati_abandon_rate{c}", "abandon rate"),
                query(f"cati_abandon_rate_target{c}", "target"),
                query(f"cati_abandon_rate_cap{c}", "cap"),
                query(
                    f"cati_window_amd_abandons{c} / clamp_min(cati_window_answers{c}, 1)",
                    "of which machine verdicts (estimate)",
                ),
            )
        )
        .with_panel(
            chart(
                "Dial level (calls out per free seat)",
                "none",
                query(f"cati_dial_level{c}", "dial level"),
            )
        )
        .with_panel(
            chart(
                "Seats by state",
                "none",
                query(f"sum by (state) (cati_seats{c})", "{{state}}"),
            ).stacking(gc.StackingConfig().mode(common.StackingMode.NORMAL))
        )
        .with_panel(
            chart(
                "Occupancy (talk and wrap-up over staffed seats)",
                "percentunit",
                query(
                    f'sum(cati_seats{{{C},state=~"talking|wrap_up"}})'
                    f' / sum(cati_seats{{{C},state=~"free|talking|wrap_up"}})',
                    "occupancy",
                ),
            )
        )
        .with_panel(
            chart(
                "Answer to seat wait",
                "s",
                query(_quantile(0.95, "cati_answer_to_seat_seconds", c), "p95"),
                query(_quantile(0.99, "cati_answer_to_seat_seconds", c), "p99"),
            )
        )
        .with_panel(
            chart(
                "Calls out and callers waiting",
                "none",
                query(f"cati_calls_ringing{c}", "ringing"),
                query(f"cati_calls_waiting{c}", "answered, waiting for a seat"),
            )
        )
        .with_row(gd.Row("Asterisk (AMI)"))
        .with_panel(big_number("AMI connected", f"cati_ami_connected{c}", "bool_yes_no"))
        .with_panel(
            big_number(
                "AMI reconnects", f"increase(cati_ami_reconnects_total{c}[$__range])", "none"
            )
        )
        .with_panel(
            chart(
                "AMI event handling lag",
                "s",
                query(_quantile(0.99, "cati_ami_event_lag_seconds", c), "p99"),
                query(_quantile(0.5, "cati_ami_event_lag_seconds", c), "median"),
                width=16,
            )
        )
    )


def _quantile(q: float, histogram: str, selector: str) -> str:
    return (
        f"histogram_quantile({q}, sum by (le) (rate({histogram}_bucket{selector}"
        f"[$__rate_interval])))"
    )


def to_json(board: Builder[dm.Dashboard]) -> str:
    """The dashboard as Grafana's JSON model, keys sorted (a stable file to commit)."""
    return JSONEncoder(sort_keys=True, indent=2).encode(board.build()) + "\n"


def main() -> int:
    sys.stdout.write(to_json(build()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
