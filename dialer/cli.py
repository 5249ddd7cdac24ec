"""The ``dialer`` command line."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from dialer import __version__
from dialer.ami.errors import AmiConnectError
from dialer.logs import configure
from dialer.store.db import StoreError
from results.raking import RakingError
from sampling.errors import SamplingError

EXIT_USAGE = 2

COMMANDS = {
    "frame": "sampling",
    "quotas": "sampling",
    "release": "sampling",
    "demo": "demo",
    "run": "run",
    "campaign": "campaign",
    "simulate": "simulate",
    "results": "results",
    "console": "console",
}
"""Each command's module under ``dialer.commands`` (in the order ``--help`` lists them)."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or only of ``command``: a command's module imports what
    it runs (the web app, the store, the simulator), and importing them all took ``dialer
    simulate`` a third of a second before its first event."""
    parser = argparse.ArgumentParser(
        prog="dialer", description="Predictive dialer and sampling for telephone surveys."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-json", action="store_true", help="log JSON lines to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    wanted = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in wanted:
        module = importlib.import_module(f"dialer.commands.{name}")
        add = getattr(module, "add_parsers", None) or module.add_parser
        add(sub)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The command named on the line (its first word that is not an option), if any; None
    when help is asked before it (``dialer -h simulate`` lists every command)."""
    for word in argv:
        if word in ("-h", "--help"):
            return None
        if not word.startswith("-"):
            return word
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors in the user's input print one line and exit 2."""
    words = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_command(words)).parse_args(words)
    configure(json=True if args.log_json else None)
    try:
        code: int = args.handler(args)
    except (SamplingError, StoreError, AmiConnectError, RakingError) as exc:
        print(f"dialer: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return code
