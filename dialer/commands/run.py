"""``dialer run CAMPAIGN.toml``: run a campaign on Asterisk until its quotas are full."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from dialer.ami.client import AmiClient
from dialer.campaign.config import CampaignFile, load_campaign
from dialer.campaign.runner import CampaignSettings, CampaignSummary, run_campaign
from dialer.commands.demo import print_summary


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="run a campaign (progressive) until its quotas are full")
    run.add_argument("campaign", type=Path, help="the campaign file (TOML)")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    campaign = load_campaign(args.campaign)
    print_summary(asyncio.run(run(campaign)))
    return 0


async def run(campaign: CampaignFile) -> CampaignSummary:
    """Connect to Asterisk (a bad secret or host fails here, before anything is written)."""
    ami = AmiClient(campaign.ami)
    await ami.connect()
    try:
        settings = CampaignSettings(
            survey=campaign.survey,
            store=campaign.store,
            seats=campaign.seats,
            window=campaign.window,
            retry=campaign.retry,
            simulation=campaign.simulation,
            channel_limit=campaign.channel_limit,
            ring_timeout_s=campaign.ring_timeout_s,
            dial_context=campaign.context,
            max_duration_s=24 * 3600,
        )
        return await run_campaign(settings, ami)
    finally:
        await ami.close()
