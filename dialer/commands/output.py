"""The console the commands print their tables to."""

from __future__ import annotations

import sys

from rich.console import Console

# Tables are wide: outside a terminal (logs, CI) do not squeeze them into 80 columns.
console = Console(width=None if sys.stdout.isatty() else 160)
