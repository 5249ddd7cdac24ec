"""The admin commands behind ``dialer``: one module per group of subcommands."""
