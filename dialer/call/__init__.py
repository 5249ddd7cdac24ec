"""One outbound call's life: an explicit state machine driven by typed events (pure)."""
