"""Sampling for telephone surveys: frame import, quota design, stratified random releases.

The modules here are the pure core (arrays in, arrays out; randomness and time passed in), plus
the frame-file reader. The SQLite store that persists them lives in ``dialer.store``.
"""
