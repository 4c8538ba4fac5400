"""`groomguard data synth` and `groomguard data audit`: the SYNTHETIC corpus and its shortcut audit."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from groomguard.cli.options import MixConfigOpt, SynthConfigOpt, old_flag, renamed, required
from groomguard.errors import DataError


def synth(
    output: Annotated[Optional[Path], typer.Option("--output", "-o", show_default=False, help="Output JSONL file (canonical conversations), e.g. data/synth.jsonl (required).")] = None,
    n_conversations: Optional[int] = typer.Option(None, "--n-conversations", "-n", help="How many conversations (default: generator.n_conversations)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed; the same seed gives byte-identical output."),
    pool_half: Literal["A", "B", "all"] = typer.Option("all", "--pool-half", help="Surface-form pool half (A/B for template-disjoint experiments)."),
    config: SynthConfigOpt = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a config value (repeatable), e.g. --set generator.french_rate=0.2.")] = None,
    out: Annotated[Optional[Path], old_flag("--out")] = None,
) -> None:
    """Generate a SYNTHETIC labelled chat corpus (grooming tactics, benign chats, hard negatives).

    Every conversation is labelled source="synthetic" and tagged with its scenario, pacing and
    tactics. For demos and tests only: it is not a substitute for real labelled data.

    Example: groomguard data synth -o data/synth.jsonl -n 3000 --seed 7
    """
    from groomguard.progress import progress_bar
    from groomguard.training.synth.config import load_synth_settings
    from groomguard.training.synth.generator import write_corpus

    target = required(renamed(output, out, "--output", "--out"), "--output")
    settings = load_synth_settings(config, set_ or []).generator
    n = n_conversations if n_conversations is not None else settings.n_conversations
    if n <= 0:
        raise DataError("--n-conversations must be positive")
    s = seed if seed is not None else settings.seed
    started = time.perf_counter()
    with progress_bar() as bar:
        task = bar.add_task("generating", total=n)
        written = write_corpus(target, n, s, pool_half, settings, on_item=lambda: bar.advance(task))
    typer.echo(f"wrote {written} synthetic conversations to {target} (seed {s}, pool half {pool_half}) "
               f"in {time.perf_counter() - started:.1f}s")


def synth_accounts(
    output: Annotated[Optional[Path], typer.Option("--output", "-o", show_default=False, help="Output JSONL file (canonical conversations), e.g. data/accounts-test.jsonl (required).")] = None,
    n_accounts: Optional[int] = typer.Option(None, "--n-accounts", "-n", help="How many accounts, each with several conversations (default: accounts.n_accounts)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed; the same seed gives byte-identical output (default: accounts.seed)."),
    pool_half: Literal["A", "B", "all"] = typer.Option("all", "--pool-half", help="Surface-form pool half: B for a test set template-disjoint from a model trained on half A."),
    config: SynthConfigOpt = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a config value (repeatable), e.g. --set accounts.dropout_rate=0.5.")] = None,
) -> None:
    """Generate a SYNTHETIC corpus of accounts, each author in several conversations (issue 25).

    Grooming accounts contact several children with variations of one script (some children drop out
    early); hard-negative accounts (a tutor, a coach, a youth-club organiser) have many young contacts
    and ask legitimate age, schedule and location questions; benign accounts chat with several
    people. An account's handle is the same in all its conversations; grooming conversations carry
    label 1 and the handle in predator_ids. For `groomguard evaluate --accounts` (account-level
    precision, recall, F0.5 and messages until flagged). For demos and tests only.

    Example: groomguard data synth-accounts -o data/accounts-test.jsonl -n 60 --seed 22 --pool-half B
    """
    from groomguard.cli.files import check_output
    from groomguard.progress import progress_bar
    from groomguard.training.synth.accounts import write_accounts
    from groomguard.training.synth.config import load_synth_settings

    target = required(output, "--output")
    check_output("--output", target)  # before any work
    settings = load_synth_settings(config, set_ or [])
    n = n_accounts if n_accounts is not None else settings.accounts.n_accounts
    if n <= 0:
        raise DataError("--n-accounts must be positive")
    s = seed if seed is not None else settings.accounts.seed
    started = time.perf_counter()
    with progress_bar() as bar:
        task = bar.add_task("generating accounts", total=n)
        written = write_accounts(target, n, s, pool_half, settings.accounts, settings.generator,
                                 on_account=lambda: bar.advance(task))
    typer.echo(f"wrote {written} synthetic conversations of {n} accounts to {target} (seed {s}, pool half "
               f"{pool_half}) in {time.perf_counter() - started:.1f}s")


def audit(
    input: Annotated[Optional[Path], typer.Option("--input", "-i", show_default=False, help="Canonical JSONL corpus to audit, e.g. data/synth.jsonl (required).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", show_default=False, help="Also write the full report as JSON here (- for stdout).")] = None,
    finetune: bool = typer.Option(False, "--finetune", help="Also fine-tune the demo model on a half-A corpus and score half B (slow; needs groomguard[train])."),
    config: SynthConfigOpt = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a config value (repeatable), e.g. --set audit.cv_folds=3.")] = None,
    file: Annotated[Optional[Path], typer.Argument(hidden=True, show_default=False, help="Deprecated: use --input.")] = None,
    json_out: Annotated[Optional[Path], old_flag("--json")] = None,
) -> None:
    """Check a corpus for shortcuts a model could learn instead of the tactics.

    Reports the shallow-feature ROC-AUC (length, punctuation, emoji, authors, gaps; should be < 0.65),
    distinct-n-gram ratios, the most frequent message lines (none should be in > 1% of
    conversations) and template-disjoint generalisation (train on pool half A, test on half B).

    Example: groomguard data audit -i data/synth.jsonl -o reports/synth-audit.json
    """
    import json

    from rich.console import Console

    from groomguard.cli.files import STDIO, atomic_output, check_input, check_output, spooled_stdin
    from groomguard.training.synth.audit import run_audit
    from groomguard.training.synth.audit_report import print_report
    from groomguard.training.synth.config import load_synth_settings

    corpus = required(renamed(input, file, "--input", "the positional FILE"), "--input")
    json_out = renamed(output, json_out, "--output", "--json")
    check_input("--input", corpus)
    if json_out is not None:
        check_output("--output", json_out)  # before the audit runs, not after
    settings = load_synth_settings(config, set_ or [])
    with spooled_stdin(corpus) as readable:
        report = run_audit(readable, settings, finetune=finetune)
    to_stdout = str(json_out) == STDIO
    print_report(Console(stderr=to_stdout), report)  # JSON on stdout: keep the tables off it
    if json_out is not None:
        with atomic_output(json_out) as fh:
            fh.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
        if not to_stdout:
            typer.echo(f"wrote {json_out}")


def mix(
    output: Annotated[Optional[Path], typer.Option("--output", "-o", show_default=False, help="Directory to write the mix into (default: out_dir of the config).")] = None,
    config: MixConfigOpt = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a config value (repeatable), e.g. --set real_test.benign=300.")] = None,
) -> None:
    """Build the training mix: SYNTHETIC grooming/benign + REAL benign chat + grafted positives.

    Reads the synthetic author split and the converted chit-chat corpus named in the config and
    writes train/val/test.jsonl, real-test.jsonl (held-out real chat: false alerts),
    real-test-grafted.jsonl (grafted grooming on held-out real openings: recall) and manifest.json.
    Real-test conversations (sha256 of the corpus key starts with 0 or 1) never reach train or val.

    Example: groomguard data mix --config configs/mix-demo.yaml -o data/mix2
    """
    from groomguard.training.data.mix import build_mix
    from groomguard.training.data.mix_config import load_mix_config

    started = time.perf_counter()
    from groomguard.cli.files import check_out_dir

    if output is not None:
        check_out_dir("--output", output)
    cfg = load_mix_config(config, [*(set_ or []), *([f"out_dir={output}"] if output is not None else [])])
    build_mix(cfg, log=typer.echo)
    typer.echo(f"mix written to {cfg.out_dir} in {time.perf_counter() - started:.1f}s")


def register(data_app: typer.Typer) -> None:
    data_app.command("synth")(synth)
    data_app.command("synth-accounts")(synth_accounts)
    data_app.command("audit")(audit)
    data_app.command("mix")(mix)
