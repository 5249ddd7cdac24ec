"""The pacing simulator: a discrete-event call centre in virtual time."""
