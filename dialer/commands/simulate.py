"""``dialer simulate``: one shift of a scenario with one pacer, in virtual time."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from rich.table import Table

from dialer.commands.output import console
from dialer.simulate.engine import simulate
from dialer.simulate.oracle import SIMULATED_PACERS, simulated_pacer
from dialer.simulate.scenario import load_scenario


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = sub.add_parser("simulate", help="simulate a shift with a pacer (virtual time)")
    sim.add_argument("--scenario", type=Path, required=True, help="a scenario TOML file")
    sim.add_argument("--pacer", choices=SIMULATED_PACERS, default="predictive")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--json", action="store_true", help="print one JSON object")
    sim.set_defaults(handler=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    result = simulate(load_scenario(args.scenario), simulated_pacer(args.pacer), args.seed)
    figures = dataclasses.asdict(result)
    if args.json:
        print(json.dumps(figures))
        return 0
    table = Table(title=f"{result.scenario}, {result.pacer}, seed {result.seed}", show_header=False)
    for key, value in figures.items():
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    console.print(table)
    return 0
