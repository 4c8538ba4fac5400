"""Importers that turn base models shipped in registry packages into local transformers checkpoints."""
