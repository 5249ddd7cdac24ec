"""Running a campaign: which case to call next, how many calls to place, the live loop."""
