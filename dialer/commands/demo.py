"""``dialer demo``: the whole loop as far as it is built, on a synthetic La Spezia frame.

Today that is sampling: make a frame, import it with its do-not-call list, design the quotas and
draw the first replicate. Dialling on the real Asterisk joins it with the dialer core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from dialer.commands.sampling import (
    _counts,
    _import_with_progress,
    console,
    make_frame,
    print_import,
    print_quotas,
    print_release,
    release,
)
from sampling.survey import load_survey

DEMO_SEED = 20261123


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help="run the demo end to end in a folder of its own")
    demo.add_argument("--dir", type=Path, default=Path("demo-run"), help="the demo's folder")
    demo.add_argument("--rows", type=int, default=20_000, help="numbers in the synthetic frame")
    demo.add_argument("--json", action="store_true", help="end with one JSON line of results")
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    db = args.dir / "demo.sqlite"
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    made = make_frame(
        argparse.Namespace(
            out_dir=args.dir,
            city="la-spezia",
            rows=args.rows,
            seed=1,
            wrong_share=0.08,
            malformed=12,
            dnc_share=0.005,
        )
    )
    console.rule("1. sample frame")
    survey = load_survey(made.survey)
    report = asyncio.run(_import_with_progress(db, survey, made.frame, [made.dnc]))
    print_import(report)
    console.rule("2. quota design")
    print_quotas(survey, asyncio.run(_counts(db, survey)))
    console.rule("3. first release")
    result = asyncio.run(release(db, survey, DEMO_SEED))
    print_release(survey, result)
    console.print(f"store: {db}   rejects: {report.rejects_path}")
    if args.json:
        s = report.summary
        print(
            json.dumps(
                {
                    "frame_rows": s.read,
                    "imported": s.imported,
                    "rejected": s.rejected_total,
                    "target": int(result.plan.counts.target.sum()),
                    "released": result.size,
                    "release_seed": result.seed,
                }
            )
        )
    return 0
