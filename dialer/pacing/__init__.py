"""Pacing: how many calls to launch now, and from which quota cells (pure).

Every pacer takes a ``Snapshot`` (time, seats, calls in flight, recent statistics) and returns
a count; ``cells.spread`` shares it over the quota cells. No I/O and no clock of their own: the
same objects run live on Asterisk, in the simulator and in tests.
"""
