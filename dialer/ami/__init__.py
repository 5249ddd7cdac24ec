"""The Asterisk Manager Interface adapter: panoramisk underneath, typed events and verbs on top."""
