"""``dialer demo``: the whole loop on a synthetic La Spezia frame and a real Asterisk.

Make a frame, import it with its do-not-call list, design the quotas, then run a scaled-down
campaign on the Asterisk testbed with simulated operators and callees until the quotas are
full, and print a summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
from datetime import timedelta
from pathlib import Path

from rich.table import Table

from dialer.ami.client import AmiClient
from dialer.campaign.runner import CampaignSettings, CampaignSummary, Simulation, run_campaign
from dialer.commands.output import console
from dialer.commands.results import load_results, print_rates, write_results
from dialer.commands.sampling import (
    _counts,
    _import_with_progress,
    make_frame,
    print_import,
    print_quotas,
)
from dialer.logs import configure
from dialer.schedule.retry import RetryPolicy
from dialer.schedule.window import CallingWindow
from dialer.testbed import start_testbed, stop_testbed
from questionnaire.load import load_questionnaire
from sampling.survey import Survey, load_survey

# The demo runs at any hour: a real campaign keeps the default (Italian) calling window.
DEMO_WINDOW = CallingWindow.always_open()
# Minutes instead of hours between tries, so retries happen within the demo; 72 h after an
# abandoned call stays as the rule says.
DEMO_RETRIES = RetryPolicy(
    busy_delay=timedelta(seconds=5),
    unreached_delay=timedelta(seconds=10),
    congestion_delay=timedelta(seconds=5),
    day_parts=(),
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help="run the demo end to end in a folder of its own")
    demo.add_argument("--dir", type=Path, default=Path("demo-run"), help="the demo's folder")
    demo.add_argument("--rows", type=int, default=20_000, help="numbers in the synthetic frame")
    demo.add_argument("--interviews", type=int, default=120, help="the scaled-down target")
    demo.add_argument("--seats", type=int, default=10, help="simulated operators")
    demo.add_argument("--ami-port", type=int, default=5038, help="the testbed's AMI port")
    demo.add_argument("--keep-asterisk", action="store_true", help="leave the testbed running")
    demo.add_argument("--json", action="store_true", help="end with one JSON line of results")
    demo.add_argument("--force", action="store_true", help="overwrite survey files not ours")
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    args.dir.mkdir(parents=True, exist_ok=True)
    log_path = args.dir / "dialer.log"
    with log_path.open("w", encoding="utf-8") as log_file:
        # every call event (transitions are debug lines), as JSON lines, not on screen
        configure(json=True, level=logging.DEBUG, stream=log_file)
        try:
            return _run_demo(args, log_path)
        finally:
            configure()


def _run_demo(args: argparse.Namespace, log_path: Path) -> int:
    frame_args = argparse.Namespace(
        out_dir=args.dir, city="la-spezia", rows=args.rows, seed=1,
        wrong_share=0.08, malformed=12, dnc_share=0.005, force=args.force,
    )  # fmt: skip
    made = make_frame(frame_args)  # first: it refuses a folder of someone else's files
    db = args.dir / "demo.sqlite"
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    survey = _scaled(load_survey(made.survey), made.survey, args.interviews)
    console.rule("1. sample frame")
    report = asyncio.run(_import_with_progress(db, survey, made.frame, [made.dnc]))
    print_import(report)
    console.rule(f"2. quota design ({args.interviews} interviews, scaled down from 1,000)")
    print_quotas(survey, asyncio.run(_counts(db, survey)))
    console.rule(f"3. campaign on Asterisk: {args.seats} simulated operators, progressive")
    try:
        summary = asyncio.run(_campaign(survey, db, args.seats, args.ami_port))
    finally:
        if not args.keep_asterisk:
            stop_testbed(args.ami_port)
    print_quotas(survey, asyncio.run(_counts(db, survey)))
    print_summary(summary)
    console.rule("4. results: response rates and weighted estimates")
    report_path = _results(survey, db, args.dir)
    console.print(f"store: {db}   call log: {log_path}   rejects: {report.rejects_path}")
    console.print(f"results: {report_path}")
    if args.json:
        print(
            json.dumps(
                {
                    "completes": summary.completes,
                    "target": summary.target,
                    "attempts": summary.attempts,
                    "abandon_rate": round(summary.abandon_rate, 4),
                    "overshoot": summary.overshoot,
                    "outcomes": summary.outcomes,
                    "finished": summary.finished,
                    "frame_rows": report.summary.read,
                    "imported": report.summary.imported,
                    "rejected": report.summary.rejected_total,
                }
            )
        )
    return 0


def _results(survey: Survey, db: Path, out: Path) -> Path:
    """Rates, weights and the report of the demo's wave, as ``dialer results`` makes them."""
    assert survey.questionnaire_path is not None
    questionnaire = load_questionnaire(survey.questionnaire_path)
    results = asyncio.run(load_results(db, survey.name, survey.wave, questionnaire))
    print_rates(results)
    return write_results(results, out, "it")[-1]


def _scaled(survey: Survey, path: Path, interviews: int) -> Survey:
    """The shipped survey with the demo's interview count and no per-cell minimum."""
    text = re.sub(r"(?m)^interviews = \d+", f"interviews = {interviews}", survey.source_text)
    text = re.sub(r"(?m)^minimum_per_cell = \d+", "minimum_per_cell = 0", text)
    path.write_text(text, encoding="utf-8")
    return load_survey(path)


async def _campaign(survey: Survey, db: Path, seats: int, port: int) -> CampaignSummary:
    ami = AmiClient(start_testbed(port))
    await ami.connect()
    try:
        settings = CampaignSettings(
            survey=survey,
            store=db,
            seats=tuple(str(7001 + i) for i in range(seats)),
            window=DEMO_WINDOW,
            retry=DEMO_RETRIES,
            simulation=Simulation(),
            ring_timeout_s=4,  # simulated callees ring at most 1.5 s; production keeps >= 15 s
            channel_limit=max(2 * seats, 10),
            max_duration_s=900,
            name="la-spezia-demo",
            release_seed=1,  # the demo draws the same sample each time
        )
        return await run_campaign(settings, ami)
    finally:
        await ami.close()


def print_summary(summary: CampaignSummary) -> None:
    table = Table(title="campaign summary", show_header=False)
    table.add_row("finished", summary.finished)
    table.add_row("completes / target", f"{summary.completes} / {summary.target}")
    table.add_row("overshoot", str(summary.overshoot))
    table.add_row("attempts", str(summary.attempts))
    for outcome, count in sorted(summary.outcomes.items()):
        table.add_row(f"  {outcome}", str(count))
    table.add_row("abandon rate (of live answers)", f"{summary.abandon_rate:.1%}")
    console.print(table)
