"""``dialer campaign start|pause|resume|stop|status CAMPAIGN.toml``: the supervisor's commands.

They call the control API of the ``dialer run`` serving that campaign (address and token from
the campaign file's [http] section).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import httpx
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from dialer.campaign.config import HttpSettings, load_http
from dialer.commands.output import console

ENDED = ("stopped", "finished")


class ApiUnavailable(Exception):
    """No dialer answers at the campaign's API address, or it refused the request."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    campaign = sub.add_parser("campaign", help="control a running campaign (dialer run)")
    verbs = campaign.add_subparsers(dest="verb", required=True)
    for verb, text in (
        ("start", "start dialling"),
        ("pause", "stop placing new calls; operators stay logged in"),
        ("resume", "dial again after a pause"),
        ("stop", "place no new calls and end the run once the live calls have ended"),
    ):
        parser = verbs.add_parser(verb, help=text)
        parser.add_argument("campaign", type=Path, help="the campaign file (TOML)")
        parser.set_defaults(handler=_command)
    status = verbs.add_parser("status", help="quota fill per cell, seats, attempts by outcome")
    status.add_argument("campaign", type=Path, help="the campaign file (TOML)")
    status.add_argument("--watch", action="store_true", help="live progress bars per cell")
    status.add_argument("--interval", type=float, default=1.0, help="seconds between updates")
    status.set_defaults(handler=_status)


def call(http: HttpSettings, method: str, path: str) -> dict[str, Any]:
    """One API request; ApiUnavailable with the reason when it does not succeed."""
    try:
        response = httpx.request(
            method,
            http.url + path,
            headers={"Authorization": f"Bearer {http.token}"},
            timeout=10.0,
        )
    except httpx.TransportError:
        raise ApiUnavailable(
            f"no dialer answers at {http.url} (is `dialer run` serving this campaign?)"
        ) from None
    try:
        body: dict[str, Any] = response.json()
    except ValueError:  # not JSON: a server error page
        body = {"detail": response.text.strip()}
    if response.status_code != 200:
        raise ApiUnavailable(f"{response.status_code}: {body.get('detail', body)}")
    return body


def _command(args: argparse.Namespace) -> int:
    try:
        body = call(load_http(args.campaign), "POST", f"/campaign/{args.verb}")
    except ApiUnavailable as exc:
        console.print(f"[red]dialer campaign {args.verb}: {exc}")
        return 1
    console.print(f"campaign is {body['state']}")
    return 0


def _status(args: argparse.Namespace) -> int:
    http = load_http(args.campaign)
    try:
        status = call(http, "GET", "/status")
        if not args.watch:
            print_status(status)
            return 0
        _watch(http, status, args.interval)
    except ApiUnavailable as exc:
        console.print(f"[red]dialer campaign status: {exc}")
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def print_status(status: dict[str, Any]) -> None:
    console.print(_headline(status))
    console.print(abandon_line(status["window"]))
    cells = Table(title="quota fill per cell")
    for column in ("district", "age", "sex", "completes", "target", "in progress", "fill", ""):
        cells.add_column(column, justify="right")
    for c in status["cells"]:
        fill = f"{c['completes'] / c['target']:.0%}" if c["target"] else "-"
        closed = "closed" if c["closed"] else ""
        cells.add_row(
            c["district"], c["age_band"], c["sex"], str(c["completes"]), str(c["target"]),
            str(c["in_progress"]), fill, closed,
        )  # fmt: skip
    console.print(cells)
    attempts = Table(title="attempts by outcome")
    attempts.add_column("outcome")
    attempts.add_column("attempts", justify="right")
    for outcome, count in sorted(status["attempts"].items()):
        attempts.add_row(outcome, str(count))
    attempts.add_section()
    attempts.add_row("total", str(sum(status["attempts"].values())))
    seats = Table(title="seats")
    for column in ("seat", "state", "call", "case"):
        seats.add_column(column)
    for s in status["seats"]:
        seats.add_row(s["seat"], s["state"], s["call_id"] or "", str(s["case_id"] or ""))
    console.print(attempts, seats)


def abandon_line(window: dict[str, Any]) -> str:
    """The regulatory window's abandon rate against the campaign's cap, and what machine
    detection's estimated false positives add to it."""
    line = (
        f"abandons over the last {window['window_h']:g} h: {window['abandon_rate']:.2%} of "
        f"{window['answers']:.0f} live answers (cap {window['cap']:.1%})"
    )
    if window["amd_false_positive"]:
        line += (
            f", of which machine verdicts {window['amd_abandons']:.1f} "
            f"(estimate: {window['amd_false_positive']:.0%} of them people)"
        )
    if window.get("amd_suspended"):
        line += "; machine detection suspended"
    return line


def _headline(status: dict[str, Any]) -> str:
    ended = f" ({status['finished']})" if status["finished"] else ""
    return (
        f"campaign {status['campaign']}: {status['state']}{ended}   "
        f"completes {status['completes']} / {status['target']}   "
        f"live calls {status['live_calls']}   abandon rate {status['abandon_rate']:.1%}"
    )


def _watch(http: HttpSettings, status: dict[str, Any], interval: float) -> None:
    """Progress bars per cell, updated until the campaign ends or Ctrl-C."""
    bars = Progress(
        TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), console=console
    )
    total = bars.add_task("all cells", total=status["target"])
    rows = [
        bars.add_task(f"{c['district']} {c['age_band']} {c['sex']}", total=c["target"])
        for c in status["cells"]
    ]
    with Live(console=console, refresh_per_second=4) as live:
        while True:
            bars.update(total, completed=status["completes"])
            for task, c in zip(rows, status["cells"], strict=True):
                bars.update(task, completed=c["completes"])
            view = Table.grid()
            view.add_row(_headline(status))
            view.add_row(bars)
            live.update(view)
            if status["state"] in ENDED:
                return
            time.sleep(interval)
            try:
                status = call(http, "GET", "/status")
            except ApiUnavailable:
                console.print("the dialer has ended this campaign's run")
                return
