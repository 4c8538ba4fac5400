"""`groomguard data ...`: load, inspect, convert and split conversation data.

Thin wrappers over `groomguard.training.loaders`, `groomguard.training.data.stats` and `groomguard.training.data.split`. Inputs may be
canonical JSONL, CSV/TSV (one message per row), PAN12 XML or a Hugging Face dataset directory;
defaults (column names, split ratios, seed) come from the packaged `data.yaml` (`--config` merges over it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Optional

import typer

from groomguard.cli import data_synth
from groomguard.cli.console import err
from groomguard.cli.options import DataConfigOpt, UsageError, old_flag, renamed, required, warn_deprecated

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from groomguard.jsonl import ReadReport
    from groomguard.schema import Conversation
    from groomguard.training.loaders import DataConfig, LoadProgress

data_app = typer.Typer(help="Inspect, convert, split and synthesise conversation data.", no_args_is_help=True,
                       rich_markup_mode=None)

InputOpt = Annotated[Path, typer.Option("--input", "-i", help="Data file or HF dataset directory (- for stdin: JSONL unless --format says otherwise).")]
CorpusInputOpt = Annotated[Optional[Path], typer.Option(
    "--input", "-i", help="Data file or HF dataset directory (- for stdin; --format chitchat: default = the installed corpus).")]
Format = Literal["jsonl", "csv", "pan12", "hf", "chitchat"]  # training.loaders.FORMATS (same values; tests check)
FormatOpt = Annotated[
    Optional[Format], typer.Option("--format", "-f", help="Input format (default: guessed from the path; chitchat = "
                                                          "the real chit-chat corpus's dataset.json).")
]
PredatorsOpt = Annotated[
    Optional[Path], typer.Option(help="PAN12 predator-ids file (one author id per line); sets labels.")
]
Problem2Opt = Annotated[
    Optional[Path], typer.Option(help="PAN12 problem-2 file (conversation_id<TAB>line); sets first_risk_index.")
]
LenientOpt = Annotated[bool, typer.Option(help="Skip malformed records (counted, first errors shown) instead of stopping.")]
ConfigOpt = DataConfigOpt
SetOpt = Annotated[
    Optional[list[str]], typer.Option("--set", help="Override a config key (repeatable), e.g. csv.columns.author=user_id.")
]


def register(app: typer.Typer) -> None:
    data_app.command("stats", no_args_is_help=True)(stats)
    data_app.command("convert", no_args_is_help=True)(convert)
    data_app.command("split", no_args_is_help=True)(split)
    data_synth.register(data_app)  # `data synth` and `data audit` live in their own module
    app.add_typer(data_app, name="data")


class _Source:
    """One configured input: `open()` streams it afresh each time (split reads it twice)."""

    def __init__(self, path: Path | None, fmt: str | None, lenient: bool, predators: Path | None,
                 problem2: Path | None, config: Path | None, overrides: list[str] | None) -> None:
        from groomguard.errors import DataError
        from groomguard.training.loaders import (
            ReadReport,
            guess_format,
            load_data_config,
            read_predator_ids,
            read_problem2,
        )
        from groomguard.training.loaders.chitchat import default_chitchat_path

        if path is None:
            if fmt != "chitchat":
                raise DataError("--input is required (only --format chitchat has a default input)")
            path = default_chitchat_path()
        self.path: Path = path
        self.fmt = fmt or guess_format(path)
        self.strict = not lenient
        self.config: DataConfig = load_data_config(config, overrides)
        self.predators = read_predator_ids(predators) if predators else None
        self.problem2 = read_problem2(problem2) if problem2 else None
        self.report: ReadReport = ReadReport()

    def open(self, progress: LoadProgress | None = None) -> Iterator[Conversation]:
        from groomguard.training.loaders import load

        self.report.read = self.report.skipped = 0  # same object each pass: callers may hold it
        self.report.errors.clear()
        return load(self.path, self.fmt, strict=self.strict, report=self.report, config=self.config,
                    predators=self.predators, problem2=self.problem2, progress=progress)

    def print_skipped(self) -> None:

        if self.report.skipped:
            err.print(f"skipped {self.report.skipped} malformed record(s); first errors:", markup=False)
            for message in self.report.errors:
                err.print(f"  {message}", markup=False, highlight=False, soft_wrap=True)


@contextlib.contextmanager
def _open_source(path: Path | None, fmt: str | None, lenient: bool, predators: Path | None, problem2: Path | None,
                 config: Path | None, overrides: list[str] | None) -> Iterator[_Source]:
    """Check the file flags (each error names its flag), then yield the source; `-` reads stdin
    (a temporary copy, JSONL unless --format says otherwise)."""
    from groomguard.cli.files import STDIO, check_source, check_text_input, spooled_stdin

    if path is not None:
        check_source("--input", path)
    check_text_input("--predators", predators)
    check_text_input("--problem2", problem2)
    if path is None:
        yield _Source(None, fmt, lenient, predators, problem2, config, overrides)
        return
    stdin = str(path) == STDIO
    with spooled_stdin(path) as readable:
        yield _Source(readable, fmt or ("jsonl" if stdin else None), lenient, predators, problem2, config, overrides)


def _tracked(convs: Iterator[Conversation], bar: Progress, task: TaskID, progress: LoadProgress,
             verb: str) -> Iterator[Conversation]:
    """Advance the bar by input position (bytes/rows) when known, else by conversations."""
    n = 0
    for conv in convs:
        n += 1
        if n % 200 == 0:
            bar.update(task, completed=progress.done if progress.total else n, total=progress.total,
                       description=f"{verb} {n:,} conversations")
        yield conv
    bar.update(task, completed=progress.total or n, total=progress.total or n,
               description=f"{verb} {n:,} conversations")


def stats(
    input: CorpusInputOpt = None,
    format: FormatOpt = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", show_default=False, help="Write the statistics as one JSON object to this file (- for stdout) instead of printing tables.")] = None,
    predators: PredatorsOpt = None,
    problem2: Problem2Opt = None,
    lenient: LenientOpt = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    json_out: Annotated[bool, old_flag("--json", "Deprecated: use -o -.")] = False,
) -> None:
    """Count conversations, messages, authors and labels; length distributions; sources/langs/tags.

    Reads the input once, streaming. Author handles are counted, never printed.

    Example: groomguard data stats -i data/demo/train.jsonl -o stats.json
    """
    import json

    from groomguard.cli.files import atomic_output, check_output
    from groomguard.progress import progress_bar
    from groomguard.training.data.stats import compute_stats
    from groomguard.training.loaders import LoadProgress

    if json_out:
        warn_deprecated("--json", "-o -")
        if output is not None:
            raise UsageError("--output: given twice (also as --json)")
        output = Path("-")
    if output is not None:
        check_output("--output", output)
    progress = LoadProgress()
    with _open_source(input, format, lenient, predators, problem2, config, set_) as src, \
            progress_bar(transient=True) as bar:
        task = bar.add_task("reading", total=None)
        summary = compute_stats(_tracked(src.open(progress), bar, task, progress, "read")).summary()
    shown = str(input) if input is not None else str(src.path)
    summary["input"] = {"path": shown, "format": src.fmt, "skipped_records": src.report.skipped}
    src.print_skipped()
    if output is not None:
        with atomic_output(output) as fh:
            fh.write(json.dumps(summary, indent=2) + "\n")
        return
    _print_stats(summary)


def _print_stats(s: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    overview = Table(title=f"{s['input']['path']} ({s['input']['format']})", show_header=False)
    overview.add_column("what")
    overview.add_column("value", justify="right")
    rate = "n/a" if s["positive_rate"] is None else f"{s['positive_rate']:.2%}"
    for key, value in [
        ("conversations", f"{s['conversations']:,}"), ("messages", f"{s['messages']:,}"),
        ("authors", f"{s['authors']:,}"), ("predator authors", f"{s['predator_authors']:,}"),
        ("label 1 (grooming)", f"{s['labels']['1']:,}"), ("label 0", f"{s['labels']['0']:,}"),
        ("unlabelled", f"{s['labels']['unlabelled']:,}"), ("positive rate (labelled)", rate),
        ("with first_risk_index", f"{s['with_first_risk_index']:,}"), ("empty messages", f"{s['empty_messages']:,}"),
        ("skipped records", f"{s['input']['skipped_records']:,}"),
    ]:
        overview.add_row(key, value)
    console.print(overview)
    lengths = Table(title="lengths")
    for col in ("", "min", "median", "p95", "max", "mean"):
        lengths.add_column(col, justify="right" if col else "left")
    for key, label in (("messages_per_conversation", "messages / conversation"), ("chars_per_message", "chars / message")):
        d = s[key]
        lengths.add_row(label, *(f"{d[k]:g}" for k in ("min", "median", "p95", "max", "mean")))
    console.print(lengths)
    for key in ("sources", "langs", "tags"):
        if s[key]:
            t = Table(title=key)
            t.add_column(key[:-1])
            t.add_column("conversations", justify="right")
            for name, count in s[key].items():
                t.add_row(name, f"{count:,}")
            console.print(t)


def convert(
    output: Annotated[Optional[Path], typer.Option("--output", "-o", show_default=False, help="Canonical JSONL file to write (- for stdout; required).")] = None,
    input: CorpusInputOpt = None,
    format: FormatOpt = None,
    predators: PredatorsOpt = None,
    problem2: Problem2Opt = None,
    lenient: LenientOpt = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    out_old: Annotated[Optional[Path], old_flag("--out")] = None,
) -> None:
    """Convert PAN12 XML, CSV/TSV, a HF dataset or JSONL into canonical conversation JSONL.

    Example: groomguard data convert -i pan12.xml --predators predators.txt --problem2 diff.txt -o data/pan12.jsonl
    Real benign chat: groomguard data convert --format chitchat -o data/chitchat.jsonl (label 0, source
    "chitchat"; the held-out real-test part is decided later by corpus key, see `groomguard data mix`).
    The output appears only when the whole input converted (written to a temporary file, then renamed);
    `-o -` writes to stdout, `-i -` reads stdin.
    """
    from groomguard.cli.files import STDIO, atomic_output, check_output
    from groomguard.errors import DataError
    from groomguard.jsonl import write_jsonl_to
    from groomguard.progress import progress_bar
    from groomguard.training.loaders import LoadProgress

    out = required(renamed(output, out_old, "--output", "--out"), "--output")
    check_output("--output", out)
    if input is not None and STDIO not in (str(out), str(input)) and out.resolve() == input.resolve():
        raise DataError(f"--output: {out} would overwrite the input")
    progress = LoadProgress()
    with _open_source(input, format, lenient, predators, problem2, config, set_) as src:
        # Written to a temporary file renamed into place at the end: a failure leaves no partial output.
        with atomic_output(out) as fh, progress_bar() as bar:
            task = bar.add_task("converting", total=None)
            n = write_jsonl_to(fh, _tracked(src.open(progress), bar, task, progress, "converted"))
        src.print_skipped()
    err.print(f"wrote {n:,} conversations to {out}", markup=False, highlight=False)


def split(
    input: InputOpt,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", show_default=False, help="Directory for train/val/test.jsonl and manifest.json (required).")] = None,
    by: Annotated[Optional[Literal["author", "conversation"]], typer.Option(help="author: no author in two splits (default: split.by).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Random seed (same seed + input = same split).")] = None,
    ratios: Annotated[Optional[str], typer.Option(help="train,val,test shares summing to 1, e.g. 0.8,0.1,0.1.")] = None,
    format: FormatOpt = None,
    predators: PredatorsOpt = None,
    problem2: Problem2Opt = None,
    lenient: LenientOpt = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    out_dir: Annotated[Optional[Path], old_flag("--out-dir")] = None,
) -> None:
    """Split into train/val/test, stratified by label; `--by author` keeps every author on one side.

    Conversations sharing an author are kept together (connected components). Fails with a clear
    message when handles are reused across conversations so an author split is impossible.
    Writes train.jsonl, val.jsonl, test.jsonl and manifest.json (input sha256, seed, ratios,
    per-split counts and sha256s, author-disjointness check). Defaults: data.yaml `split:`.

    Example: groomguard data split -i data/synth.jsonl -o data/synth-split --by author --seed 7
    """
    import json

    from groomguard.cli.files import check_out_dir

    out_dir = required(renamed(output, out_dir, "--output", "--out-dir"), "--output")
    check_out_dir("--output", out_dir)
    with _open_source(input, format, lenient, predators, problem2, config, set_) as src:
        manifest = _split(src, out_dir, by, seed, ratios)
    summary = {name: {"conversations": s["conversations"], "labels": s["labels"]} for name, s in manifest["splits"].items()}
    typer.echo(json.dumps({"out_dir": str(out_dir), "by": manifest["by"], "splits": summary,
                           "author_check": manifest["author_check"]}, indent=2))


def _split(src: _Source, out_dir: Path, by: str | None, seed: int | None, ratios: str | None) -> dict[str, Any]:
    from pydantic import ValidationError

    from groomguard.errors import DataError
    from groomguard.progress import progress_bar
    from groomguard.training.data.split import split_dataset
    from groomguard.training.loaders.config import Ratios

    cfg = src.config.split
    try:
        ratio_values = Ratios.parse(ratios) if ratios else cfg.ratios
    except ValidationError as exc:
        raise DataError(f"--ratios: {exc.errors(include_input=False)[0]['msg']}") from None
    except ValueError as exc:
        raise DataError(f"--ratios: {exc}") from None
    with progress_bar() as bar:
        tasks: dict[str, TaskID] = {}  # the write bar appears (and starts its clock) when writing starts
        counts = {"plan": 0, "write": 0}

        def tick(phase: str) -> None:
            if phase not in tasks:
                total = counts["plan"] if phase == "write" else None
                tasks[phase] = bar.add_task("reading" if phase == "plan" else "writing", total=total)
            counts[phase] += 1
            if counts[phase] % 200 == 0:
                bar.update(tasks[phase], completed=counts[phase])

        manifest = split_dataset(
            src.open, src.path, out_dir, by=by or cfg.by, ratios=ratio_values,
            seed=cfg.seed if seed is None else seed, max_component_fraction=cfg.max_component_fraction,
            report=src.report, tick=tick,
        )
        for phase, task in tasks.items():
            bar.update(task, completed=counts[phase], total=counts["plan"])
    src.print_skipped()
    return manifest
