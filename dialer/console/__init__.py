"""The operators' console: a web page served by the dialer's HTTP app."""
