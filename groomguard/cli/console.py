"""The CLI's stderr console: one place, so every command prints errors the same way."""

from __future__ import annotations

from rich.console import Console

err = Console(stderr=True)
