"""``dialer console hash SEAT``: a line for the operators file, from a secret typed in."""

from __future__ import annotations

import argparse
import getpass
import sys

from dialer.console.operators import hash_secret
from sampling.errors import ConfigError

MIN_SECRET = 8


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    console = sub.add_parser("console", help="the operators' console")
    verbs = console.add_subparsers(dest="verb", required=True)
    make = verbs.add_parser(
        "hash",
        help="print an operators-file line for a seat (the secret is read from the terminal, "
        "or from stdin when piped)",
    )
    make.add_argument("seat", help="the seat (extension) number")
    make.set_defaults(handler=_hash)


def _hash(args: argparse.Namespace) -> int:
    if not args.seat.isdigit():
        raise ConfigError("seat", f"must be the seat's number, not {args.seat!r}")
    secret = getpass.getpass("secret: ") if sys.stdin.isatty() else sys.stdin.readline()
    secret = secret.rstrip("\n")
    if len(secret) < MIN_SECRET:
        raise ConfigError("secret", f"must be at least {MIN_SECRET} characters")
    print(f'"{args.seat}" = "{hash_secret(secret)}"')
    return 0
