"""Synthetic chat corpus for demos and tests (SYNTHETIC: not a substitute for real labelled data)."""

from groomguard.training.synth.generator import generate, iter_generate, write_corpus

__all__ = ["generate", "iter_generate", "write_corpus"]
