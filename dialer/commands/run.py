"""``dialer run CAMPAIGN.toml``: the dialer service for one campaign, with its control API."""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
from functools import partial
from pathlib import Path

import structlog

from dialer.ami.client import AmiClient
from dialer.api.app import build_app
from dialer.api.server import ApiServer
from dialer.campaign.config import CampaignFile, load_campaign
from dialer.campaign.control import Command, ControlError
from dialer.campaign.runner import CampaignRunner, CampaignSettings, CampaignSummary, open_campaign
from dialer.commands.demo import print_summary
from dialer.console.operators import load_operators
from dialer.console.routes import ConsoleSettings
from dialer.console.sessions import Sessions
from dialer.pacing.predictive import Predictive
from dialer.pacing.progressive import Progressive

log = structlog.get_logger(__name__)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser(
        "run",
        help="run the dialer for a campaign, controlled over its API",
        description="Serve the campaign's control API and dial when told (dialer campaign "
        "start), or at once with --start. SIGTERM or Ctrl-C stops it gracefully (live calls "
        "end first); a second one ends it at once.",
    )
    run.add_argument("campaign", type=Path, help="the campaign file (TOML)")
    run.add_argument("--start", action="store_true", help="start dialling without waiting")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    campaign = load_campaign(args.campaign)
    print_summary(asyncio.run(run(campaign, start=args.start)))
    return 0


def settings_of(campaign: CampaignFile, start: bool) -> CampaignSettings:
    abandon = campaign.abandon
    return CampaignSettings(
        survey=campaign.survey,
        store=campaign.store,
        seats=campaign.seats,
        window=campaign.window,
        retry=campaign.retry,
        simulation=campaign.simulation,
        channel_limit=campaign.channel_limit,
        ring_timeout_s=campaign.ring_timeout_s,
        dial_context=campaign.context,
        amd=campaign.amd,
        pacer=partial(Predictive.for_cap, abandon.cap)
        if campaign.mode == "predictive"
        else Progressive,
        abandon_window_s=abandon.window_h * 3600,
        abandon_cap=abandon.cap,
        amd_false_positive=abandon.amd_false_positive,
        max_duration_s=None,  # fieldwork lasts weeks: no time limit
        name=campaign.name,
        autostart=start,
        wrap_up_s=campaign.console.wrap_up_s,
    )


def console_settings(campaign: CampaignFile, runner: CampaignRunner) -> ConsoleSettings | None:
    """The operators' console, when the campaign names its operators' secrets."""
    path = campaign.console.operators_file
    if path is None:
        return None
    return ConsoleSettings(
        operators=load_operators(path, campaign.seats),
        grid=campaign.survey.grid,
        questionnaire=runner.questionnaire,
        clock=runner.s.clock,
        sessions=Sessions(campaign.console.session, campaign.console.idle),
    )


async def run(campaign: CampaignFile, start: bool = False) -> CampaignSummary:
    """Take the API port and connect to Asterisk first: a taken port, a bad secret or an
    unreachable host fails here, before anything is written."""
    api = ApiServer(campaign.http.host, campaign.http.port)
    api.bind()
    try:
        ami = AmiClient(campaign.ami)
        await ami.connect()
        try:
            async with open_campaign(settings_of(campaign, start), ami) as runner:
                await api.start(
                    build_app(runner, campaign.http.token, console_settings(campaign, runner))
                )
                log.info("control API", url=campaign.http.url, campaign=campaign.name)
                _on_signals(runner)
                _freeze_startup_objects()
                try:
                    return await runner.run()
                finally:
                    gc.unfreeze()  # for a caller that goes on
                    await api.stop()  # before the store closes under its last requests
        finally:
            await ami.close()
    finally:
        await api.stop()


def _freeze_startup_objects() -> None:
    """Leave the objects of the start-up (modules, classes, the app: hundreds of thousands)
    out of the interpreter's full garbage collections. Each such collection holds every
    thread, the event loop's too: the released cases' reads (``due_reader``) set them off,
    and a 30,000-case read left the loop waiting 82-108 ms; with these frozen, 33-41 ms
    (10,000 cases: 39-60 ms, then 5-11 ms). Start-up's own garbage is collected first."""
    gc.collect()
    gc.freeze()


def _on_signals(runner: CampaignRunner) -> None:
    """The first SIGTERM/SIGINT stops the campaign gracefully, the next ends it at once."""
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[object]] = set()

    async def stop() -> None:
        try:
            await runner.command(Command.STOP)
        except ControlError:  # already stopping: the operator insists
            runner.abort("interrupted")

    def on_signal() -> None:
        task: asyncio.Task[object] = asyncio.ensure_future(stop())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
