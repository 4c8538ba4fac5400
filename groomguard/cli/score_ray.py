"""`groomguard score --engine ray`: the CLI side of a Ray Data backfill (serving/backfill)."""

from __future__ import annotations

from pathlib import Path

import typer

from groomguard.serving.engine_config import EngineConfig


def score_on_ray(bundle: Path, input: Path, output: Path, config: Path | None, overrides: list[str],
                 engine: EngineConfig, stride: int, lenient: bool, ray_address: str | None) -> None:
    """Run (or resume) the backfill and print one summary line; errors are one line (exit 2)."""
    from groomguard.config import load_config
    from groomguard.errors import ConfigError
    from groomguard.serving.backfill.config import BackfillConfig

    backfill = load_config(BackfillConfig, config, overrides, default="serve.yaml", section="backfill")
    try:
        from groomguard.serving.backfill.ray_backfill import BackfillRequest, run_backfill
    except ImportError as exc:  # ray is in the `scale` extra
        raise ConfigError(f"--engine ray needs Ray Data: pip install 'groomguard[scale]' ({exc.name} missing)") from None
    req = BackfillRequest(bundle=bundle, input=input, output=output, engine=engine, backfill=backfill,
                          stride=stride, lenient=lenient, ray_address=ray_address)
    result = run_backfill(req, echo=typer.echo)
    m = result.manifest
    rate = f", {result.per_second:.1f} conversations/s" if result.scored else ""
    typer.echo(f"scored {result.scored} conversations in {len(m.shards) - result.shards_skipped} shards "
               f"({result.shards_skipped} already done){rate} -> {output} (model {m.model}; {', '.join(m.engines_used)})")
    if m.counts.get("skipped"):
        typer.echo(f"skipped {m.counts['skipped']} malformed lines; first: {result.errors[0] if result.errors else ''}",
                   err=True)
