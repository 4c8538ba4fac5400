"""Data preparation for training: mixing, splitting, the held-out real-test rule, the windowed training sets."""
