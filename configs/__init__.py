"""Packaged default configs (`groomguard.configs`): read with importlib.resources via groomguard.config.

The repository keeps them at the top-level `configs/` directory; setup.py maps it to this package.
"""
