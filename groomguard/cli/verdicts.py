"""`groomguard data verdicts`: moderators' decisions as canonical JSONL for the next training run.

Lives beside the other `data` commands (it is registered on the same group) but in its own module:
it reads the serving store, not data files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from groomguard.cli.data import data_app
from groomguard.cli.keys_store import DbUrlOpt
from groomguard.cli.options import ServeConfigOpt, SetOpt, old_flag


def register(app: typer.Typer) -> None:
    data_app.command("verdicts", no_args_is_help=True)(verdicts)


def verdicts(
    output: Annotated[Optional[Path], typer.Option("--output", "-o", show_default=False, help="Canonical JSONL to "
                                                   "write: confirmed/escalated -> label 1 with first_risk_index, "
                                                   "dismissed -> label 0 (- for stdout; required).")] = None,
    config: ServeConfigOpt = None,
    set_: SetOpt = None,
    db_url: DbUrlOpt = None,
    store: Annotated[Optional[str], old_flag("--store")] = None,
    out: Annotated[Optional[Path], old_flag("--out")] = None,
) -> None:
    """Write decided review cases as labelled conversations; train on them with
    `--set 'data.extra_train=[verdicts.jsonl]'`. The review queue is the serve config's store
    (GROOMGUARD_STORE__URL or --db-url override it).

    Example: groomguard data verdicts --db-url sqlite:///var/groomguard.db -o data/verdicts.jsonl
    """
    from groomguard.cli.files import atomic_output, check_output
    from groomguard.cli.keys_store import opened_store
    from groomguard.cli.options import renamed, required
    from groomguard.serving.review.verdicts import export_verdicts

    target = required(renamed(output, out, "--output", "--out"), "--output")
    url = renamed(db_url, store, "--db-url", "--store")
    check_output("--output", target)
    counts = {0: 0, 1: 0}
    with opened_store(config, url, set_) as db, atomic_output(target) as fh:  # a reader never sees half a file
        for conv in export_verdicts(db):
            fh.write(json.dumps(conv.model_dump(mode="json", exclude_none=True), ensure_ascii=False) + "\n")
            counts[int(conv.label or 0)] += 1
    typer.echo(f"wrote {counts[1] + counts[0]} decided case(s) to {target}: {counts[1]} positive "
               f"(confirmed/escalated), {counts[0]} negative (dismissed)", err=str(target) == "-")
