"""``dialer results CAMPAIGN``: response rates, weighted estimates, CSV and an HTML report."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from dialer.campaign.config import load_campaign_data
from dialer.store.db import StoreError, connect
from dialer.store.wave_results import wave_results
from questionnaire.load import load_questionnaire
from questionnaire.model import Questionnaire
from results.aapor import RATES
from results.report import estimates_csv, html_report, rates_csv
from results.summary import WaveResults
from sampling.errors import SurveyConfigError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    results = sub.add_parser(
        "results",
        help="response rates (AAPOR), weighted estimates, CSV and an HTML report",
        description="Writes results-wN.csv, rates-wN.csv and results-wN.html next to the store "
        "(or into --out) and prints the AAPOR rates.",
    )
    results.add_argument("campaign", type=Path, help="the campaign file (TOML)")
    results.add_argument("--wave", type=int, help="the wave (default: the survey's current)")
    results.add_argument("--out", type=Path, help="the directory for the files")
    results.add_argument("--language", choices=("it", "en"), default="it", help="of the report")
    results.add_argument("--json", action="store_true", help="print the rates as JSON")
    results.set_defaults(handler=_results)


def _results(args: argparse.Namespace) -> int:
    campaign = load_campaign_data(args.campaign)
    survey = campaign.survey
    if survey.questionnaire_path is None:
        raise SurveyConfigError("survey.questionnaire", "results need the survey's questionnaire")
    questionnaire = load_questionnaire(survey.questionnaire_path)
    if not campaign.store.exists():
        raise StoreError(f"no store at {campaign.store}: nothing was dialled yet")
    wave = args.wave or survey.wave
    results = asyncio.run(load_results(campaign.store, survey.name, wave, questionnaire))
    files = write_results(results, args.out or campaign.store.parent, args.language)
    if args.json:
        outcomes = results.outcomes
        print(json.dumps({"wave": wave, "cases": outcomes.counts.cases, "rates": outcomes.rates}))
    else:
        print_rates(results)
        print("written: " + "  ".join(str(p) for p in files))
    return 0


async def load_results(
    store: Path, survey: str, wave: int, questionnaire: Questionnaire
) -> WaveResults:
    async with connect(store) as db:
        return await wave_results(db, survey, wave, questionnaire)


def write_results(results: WaveResults, out: Path, language: str) -> list[Path]:
    """The estimates and rates as CSV, and the HTML report (last), into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    wave = results.wave
    files = {
        out / f"results-w{wave}.csv": estimates_csv(results),
        out / f"rates-w{wave}.csv": rates_csv(results),
        out / f"results-w{wave}.html": html_report(results, language),
    }
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return list(files)


def print_rates(results: WaveResults) -> None:
    """The wave's AAPOR counts and rates, as a table."""
    c = results.outcomes.counts
    table = Table(title=f"{results.survey}, wave {results.wave}: outcome rates (AAPOR)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    counts = {"cases": c.cases, "I": c.i, "P": c.p, "R": c.r, "NC": c.nc, "O": c.o,
              "UH": c.uh, "UO": c.uo, "NE": c.ne}  # fmt: skip
    for name, value in counts.items():
        table.add_row(name, str(value))
    e = results.outcomes.eligibility
    table.add_row("e", "–" if e is None else f"{e:.4f}")
    for name in RATES:
        rate = results.outcomes.rates[name]
        table.add_row(name, "–" if rate is None else f"{100 * rate:.1f}%")
    if results.weighting is not None:
        table.add_row("respondents", str(len(results.weighting.weights)))
        table.add_row("design effect", f"{results.weighting.design_effect:.3f}")
        for category in results.weighting.unrepresented:
            table.add_row("no respondent", category)
        table.add_row("weighted by", ", ".join(results.weighting.variables) or "none")
    Console().print(table)
