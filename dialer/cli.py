"""The ``dialer`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dialer import __version__
from dialer.ami.errors import AmiConnectError
from dialer.commands import campaign, console, demo, results, run, sampling, simulate
from dialer.logs import configure
from dialer.store.db import StoreError
from results.raking import RakingError
from sampling.errors import SamplingError

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dialer", description="Predictive dialer and sampling for telephone surveys."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-json", action="store_true", help="log JSON lines to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    sampling.add_parsers(sub)
    demo.add_parser(sub)
    run.add_parser(sub)
    campaign.add_parser(sub)
    simulate.add_parser(sub)
    results.add_parser(sub)
    console.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors in the user's input print one line and exit 2."""
    args = build_parser().parse_args(argv)
    configure(json=True if args.log_json else None)
    try:
        code: int = args.handler(args)
    except (SamplingError, StoreError, AmiConnectError, RakingError) as exc:
        print(f"dialer: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return code
