"""The dialer service: campaigns on Asterisk over AMI, its store, CLI and HTTP API."""

__version__ = "0.1.0"
