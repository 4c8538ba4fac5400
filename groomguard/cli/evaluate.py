"""`groomguard evaluate`: score a labelled set with a bundle (through the serving engine) and write a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from groomguard.cli.options import EvalConfigOpt, SetOpt, Variant, old_flag


def register(app: typer.Typer) -> None:
    app.command("evaluate", no_args_is_help=True)(evaluate)


def evaluate(
    bundle: Annotated[Path, typer.Option(help="Model bundle directory, e.g. models/bundles/demo.")],
    input: Annotated[Optional[Path], typer.Option("--input", "-i", show_default=False, help="Labelled conversations JSONL (every line needs `label`), e.g. the test split; - for stdin (required).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", show_default=False, help="Output directory, e.g. reports/demo: metrics.json, scores.jsonl, report.html (required).")] = None,
    train: Annotated[Optional[Path], typer.Option(help="Training split for the TF-IDF baseline (default: the path recorded in bundle.json).")] = None,
    threshold: Annotated[Optional[list[float]], typer.Option(help="Extra operating threshold to report (repeatable), besides the bundle's review/high.")] = None,
    review_threshold: Annotated[Optional[float], typer.Option(help="Override the bundle's review threshold.")] = None,
    high_threshold: Annotated[Optional[float], typer.Option(help="Override the bundle's high threshold.")] = None,
    target_precision: Annotated[Optional[float], typer.Option(help="Report the threshold reaching this precision (e.g. 0.9) and its alerts per 1,000.")] = None,
    target_recall: Annotated[Optional[float], typer.Option(help="Report the threshold reaching this recall (e.g. 0.8) and its alerts per 1,000.")] = None,
    stride: Annotated[Optional[int], typer.Option(min=1, help="Score after every Nth message (default from the config: 1).")] = None,
    variant: Annotated[Optional[Variant], typer.Option(help="Model variant to evaluate (engine.variant).")] = None,
    config: EvalConfigOpt = None,
    set_: SetOpt = None,
    real_benign: Annotated[Optional[Path], typer.Option(help="JSONL of real, presumed-benign conversations (e.g. data/demo/real-test.jsonl): adds alerts per 1,000 real conversations with CIs.")] = None,
    real_grooming: Annotated[Optional[Path], typer.Option(help="JSONL of grooming in real people's register (e.g. data/demo/real-test-grafted.jsonl): recall beside the false-alert rate. Needs --real-benign.")] = None,
    handwritten: Annotated[Optional[Path], typer.Option(help="Hand-written DEV set (a directory of JSONL, e.g. data/handwritten, or one file): ROC-AUC, F1, hard-negative and teen-peer alert rates, French, alert latency, beside TF-IDF.")] = None,
    real_full: Annotated[Optional[Path], typer.Option(help="Held-out real chat at full length (e.g. data/demo/real-test-full.jsonl): alerts per 1,000 by length bucket, beside TF-IDF.")] = None,
    test_disjoint: Annotated[Optional[Path], typer.Option(help="Synthetic conversations from the other pool half (e.g. data/demo/test-disjoint.jsonl): template-disjoint AUC and recall beside the same-pool --input.")] = None,
    real_grooming_same: Annotated[Optional[Path], typer.Option(help="Real-register grooming grafted with the training pool half (e.g. data/demo/real-test-grafted-same.jsonl), beside --real-grooming's disjoint one.")] = None,
    accounts: Annotated[Optional[Path], typer.Option(help="Labelled conversations of accounts with several conversations each (e.g. data/accounts-test.jsonl from `data synth-accounts --pool-half B`): account-level precision, recall, F0.5 and messages until flagged, best conversation vs the account rule.")] = None,
    accounts_val: Annotated[Optional[Path], typer.Option(help="Validation accounts (another seed, e.g. data/accounts-val.jsonl): the account rule's minimum risk is chosen on these, never on --accounts. Needs --accounts.")] = None,
    mlflow_run_id: Annotated[Optional[str], typer.Option(help="Log metrics and the report into this MLflow run.")] = None,
    tracking_uri: Annotated[Optional[str], typer.Option(help="MLflow tracking URI; logs into a new run when no run id is given.")] = None,
    data: Annotated[Optional[Path], old_flag("--data")] = None,
    out: Annotated[Optional[Path], old_flag("--out")] = None,
) -> None:
    """Evaluate a model bundle on a labelled set and write an analyst's report.

    Scores every conversation exactly as `groomguard serve` would (risk after each message), then
    reports ROC-AUC, PR-AUC, precision/recall/F1/F0.5 and alerts per 1,000 conversations at the
    bundle's review and high thresholds, author-level detection, messages to detection and
    latency-weighted F1, calibration, bootstrap intervals, slices and the worst errors, next to a
    TF-IDF and a keyword baseline. report.html quotes message text: treat it as sensitive.

    With --real-benign (and --real-grooming) the report adds "Real chat": alerts per 1,000 real
    conversations and recall on real-register grooming at every operating point, scored at stride 1.
    --handwritten, --real-full and --test-disjoint add the yardsticks the generator did not write
    (hand-written dev set, full-length real chat, template-disjoint sets), each beside TF-IDF.
    --accounts (with --accounts-val) adds "Accounts": the best single conversation beside the account
    rule, replayed in time order through the served account code.

    Example: groomguard evaluate --bundle models/bundles/demo -i data/demo/test.jsonl -o reports/eval
    --real-benign data/demo/real-test.jsonl --real-grooming data/demo/real-test-grafted.jsonl
    """
    from pydantic import ValidationError

    from groomguard.cli.files import STDIO, FileArgumentError, check_input, check_out_dir, spooled_stdin
    from groomguard.cli.options import renamed, required
    from groomguard.config import load_config
    from groomguard.errors import ConfigError
    from groomguard.evaluation.accounts import AccountPaths
    from groomguard.evaluation.config import EvalConfig
    from groomguard.evaluation.real_chat import real_chat_lines
    from groomguard.evaluation.report_accounts import account_lines
    from groomguard.evaluation.runner import METRICS_FILE, REPORT_FILE, SCORES_FILE, evaluate_bundle
    from groomguard.evaluation.yardsticks import YardstickPaths, yardstick_lines
    from groomguard.scores import Thresholds

    data = required(renamed(input, data, "--input", "--data"), "--input")
    out = required(renamed(output, out, "--output", "--out"), "--output")
    # Every file flag is checked before any scoring: a bad --output fails in a second, not after the run.
    check_input("--input", data)
    for flag, path in (("--train", train), ("--real-benign", real_benign), ("--real-grooming", real_grooming),
                       ("--real-full", real_full), ("--test-disjoint", test_disjoint),
                       ("--real-grooming-same", real_grooming_same), ("--accounts", accounts),
                       ("--accounts-val", accounts_val)):
        if path is not None:
            if str(path) == STDIO:
                raise FileArgumentError(f"{flag}: stdin (-) is only supported for --input; give a file")
            check_input(flag, path)
    if handwritten is not None and not handwritten.exists():
        raise FileArgumentError(f"--handwritten: {handwritten}: no such file or directory")
    if accounts_val is not None and accounts is None:
        raise FileArgumentError("--accounts-val needs --accounts (the minimum risk is chosen for a test set)")
    check_out_dir("--output", out)
    cfg = load_config(EvalConfig, config, set_ or [], default="eval.yaml",
                      values={"stride": stride, "engine.variant": variant})
    overrides = None
    if review_threshold is not None or high_threshold is not None:
        from groomguard.bundle import Bundle

        current = Bundle.load(bundle, verify=False).manifest.thresholds
        try:
            overrides = Thresholds(review=review_threshold if review_threshold is not None else current.review,
                                   high=high_threshold if high_threshold is not None else current.high)
        except ValidationError as exc:
            raise ConfigError(f"thresholds: {exc.errors(include_input=False)[0]['msg']}") from None
    for name, value in (("--target-precision", target_precision), ("--target-recall", target_recall),
                        *(("--threshold", t) for t in threshold or [])):
        if value is not None and not 0.0 < value <= 1.0:
            raise ConfigError(f"{name} must be in (0, 1], got {value}")

    with spooled_stdin(data) as data_file:  # `--input -`: a temporary copy of stdin
        metrics = evaluate_bundle(
            bundle, data_file, out, train, thresholds_override=overrides, target_precision=target_precision,
            target_recall=target_recall, mlflow_run=mlflow_run_id or False, config=cfg,
            extra_thresholds=threshold or [], tracking_uri=tracking_uri, show_progress=True,
            real_benign=real_benign, real_grooming=real_grooming,
            yardsticks=YardstickPaths(handwritten, real_full, test_disjoint,
                                      real_grooming if (test_disjoint or real_grooming_same) else None,
                                      real_grooming_same),
            accounts=AccountPaths(accounts, accounts_val) if accounts is not None else None,
        )
    typer.echo(metrics["summary"])
    for line in [*real_chat_lines(metrics), *yardstick_lines(metrics), *account_lines(metrics)]:
        typer.echo(f"  {line}")
    for block in metrics["models"].values():
        if "headline" not in block:
            typer.echo(f"  {block['label']}: skipped ({block['skipped']})")
            continue
        h = block["headline"]
        auc = "–" if h["roc_auc"] is None else f"{h['roc_auc']:.3f}"
        typer.echo(f"  {block['label']}: ROC-AUC {auc}  F1 {h['f1']:.3f}  F_latency {h['f_latency']:.3f}  "
                   f"{h['throughput_windows_per_s'] or 0:,.0f} windows/s")
    for h in metrics["threshold_helper"].values():
        if h["achievable"]:
            typer.echo(f"  threshold {h['threshold']:.4f}: precision {h['precision']:.3f}, recall {h['recall']:.3f}, "
                       f"{h['alerts_per_1000']:.1f} alerts per 1,000")
        else:
            typer.echo(f"  target {h['target']}: not reachable ({h['reason']})")
    typer.echo(f"wrote {out / METRICS_FILE}, {out / SCORES_FILE}, {out / REPORT_FILE}")
    if "mlflow_run_id" in metrics["meta"]:
        typer.echo(f"logged to MLflow run {metrics['meta']['mlflow_run_id']}")
