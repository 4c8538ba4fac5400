"""`groomguard data synth` and `groomguard data audit`: the SYNTHETIC corpus and its shortcut audit."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from groomguard.errors import DataError


def synth(
    out: Path = typer.Option(..., "--out", "-o", help="Output JSONL file (canonical conversations), e.g. data/synth.jsonl."),
    n_conversations: Optional[int] = typer.Option(None, "--n-conversations", "-n", help="How many conversations (default: configs/synth.yaml)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed; the same seed gives byte-identical output."),
    pool_half: str = typer.Option("all", "--pool-half", help="Surface-form pool half: A, B or all (A/B for template-disjoint experiments)."),
    config: Optional[Path] = typer.Option(None, "--config", help="Synth config YAML (default: configs/synth.yaml)."),
    set_: list[str] = typer.Option([], "--set", help="Override a config value, e.g. --set generator.french_rate=0.2."),
) -> None:
    """Generate a SYNTHETIC labelled chat corpus (grooming tactics, benign chats, hard negatives).

    Every conversation is labelled source="synthetic" and tagged with its scenario, pacing and
    tactics. For demos and tests only: it is not a substitute for real labelled data.
    """
    from groomguard.progress import progress_bar
    from groomguard.training.synth.config import load_synth_settings
    from groomguard.training.synth.generator import write_corpus

    if pool_half not in ("A", "B", "all"):
        raise DataError(f"--pool-half must be A, B or all (got {pool_half!r})")
    settings = load_synth_settings(config, set_).generator
    n = n_conversations if n_conversations is not None else settings.n_conversations
    if n <= 0:
        raise DataError("--n-conversations must be positive")
    s = seed if seed is not None else settings.seed
    started = time.perf_counter()
    with progress_bar() as bar:
        task = bar.add_task("generating", total=n)
        written = write_corpus(out, n, s, pool_half, settings,  # type: ignore[arg-type]
                               on_item=lambda: bar.advance(task))
    typer.echo(f"wrote {written} synthetic conversations to {out} (seed {s}, pool half {pool_half}) "
               f"in {time.perf_counter() - started:.1f}s")


def audit(
    file: Path = typer.Argument(..., help="Canonical JSONL corpus to audit (e.g. data/synth.jsonl)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the full report as JSON here."),
    finetune: bool = typer.Option(False, "--finetune", help="Also fine-tune the demo model on a half-A corpus and score half B (slow)."),
    config: Optional[Path] = typer.Option(None, "--config", help="Synth config YAML (default: configs/synth.yaml)."),
    set_: list[str] = typer.Option([], "--set", help="Override a config value, e.g. --set audit.cv_folds=3."),
) -> None:
    """Check a corpus for shortcuts a model could learn instead of the tactics.

    Reports the shallow-feature ROC-AUC (length, punctuation, emoji, authors, gaps; should be < 0.65),
    distinct-n-gram ratios, the most frequent message lines (none should be in > 1% of
    conversations) and template-disjoint generalisation (train on pool half A, test on half B).
    """
    from rich.console import Console

    from groomguard.cli.files import check_input, check_output
    from groomguard.training.synth.audit import run_audit
    from groomguard.training.synth.audit_report import print_report, write_json
    from groomguard.training.synth.config import load_synth_settings

    check_input("FILE", file)
    if json_out is not None:
        check_output("--json", json_out)  # before the audit runs, not after
    settings = load_synth_settings(config, set_)
    report = run_audit(file, settings, finetune=finetune)
    print_report(Console(), report)
    if json_out is not None:
        write_json(json_out, report)
        typer.echo(f"wrote {json_out}")


def mix(
    config: Optional[Path] = typer.Option(None, "--config", help="Mix config YAML (default: configs/mix-demo.yaml)."),
    set_: list[str] = typer.Option([], "--set", help="Override a config value, e.g. --set real_test.benign=300."),
) -> None:
    """Build the training mix: SYNTHETIC grooming/benign + REAL benign chat + grafted positives.

    Reads the synthetic author split and the converted chit-chat corpus named in the config and
    writes train/val/test.jsonl, real-test.jsonl (held-out real chat: false alerts),
    real-test-grafted.jsonl (grafted grooming on held-out real openings: recall) and manifest.json.
    Real-test conversations (sha256 of the corpus key starts with 0 or 1) never reach train or val.

    Example: groomguard data mix --config configs/mix-demo.yaml --set out_dir=data/mix2
    """
    from groomguard.training.mix import build_mix
    from groomguard.training.mix_config import load_mix_config

    started = time.perf_counter()
    cfg = load_mix_config(config, set_)
    build_mix(cfg, log=typer.echo)
    typer.echo(f"mix written to {cfg.out_dir} in {time.perf_counter() - started:.1f}s")


def register(data_app: typer.Typer) -> None:
    data_app.command("synth")(synth)
    data_app.command("audit")(audit)
    data_app.command("mix")(mix)
