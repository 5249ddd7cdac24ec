"""``python -m dialer``: the same as the ``dialer`` console script."""

from dialer.cli import main

raise SystemExit(main())
