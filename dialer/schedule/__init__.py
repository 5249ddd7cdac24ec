"""When a case may be called: the calling window and the retry policy (pure, clock passed in)."""
