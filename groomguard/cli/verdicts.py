"""`groomguard data verdicts`: moderators' decisions as canonical JSONL for the next training run.

Lives beside the other `data` commands (it is registered on the same group) but in its own module:
it reads the serving store, not data files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    from groomguard.cli.data import data_app

    data_app.command("verdicts", no_args_is_help=True)(verdicts)


def verdicts(
    store: Annotated[str, typer.Option("--store", help="Database URL of the review queue, e.g. "
                                       "sqlite:///var/groomguard.db or postgresql+psycopg://user@host/db.")],
    out: Annotated[Path, typer.Option("--out", help="Canonical JSONL to write (confirmed/escalated -> label 1 "
                                      "with first_risk_index, dismissed -> label 0).")],
) -> None:
    """Write decided review cases as labelled conversations; train on them with
    `--set 'data.extra_train=[verdicts.jsonl]'`."""
    from groomguard.serving.review.verdicts import export_verdicts
    from groomguard.serving.store import StoreConfig, open_store

    db = open_store(StoreConfig(url=store))
    counts = {0: 0, 1: 0}
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for conv in export_verdicts(db):
                fh.write(json.dumps(conv.model_dump(mode="json", exclude_none=True), ensure_ascii=False) + "\n")
                counts[int(conv.label or 0)] += 1
        tmp.replace(out)  # a reader never sees half a file
    finally:
        db.close()
    typer.echo(f"wrote {counts[1] + counts[0]} decided case(s) to {out}: {counts[1]} positive "
               f"(confirmed/escalated), {counts[0]} negative (dismissed)")
