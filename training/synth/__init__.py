"""Synthetic chat corpus for demos and tests (SYNTHETIC: not a substitute for real labelled data)."""

from training.synth.generator import generate, iter_generate, write_corpus

__all__ = ["generate", "iter_generate", "write_corpus"]
