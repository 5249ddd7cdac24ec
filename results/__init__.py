"""What comes out of a wave: response rates, weights and estimates (pure)."""
