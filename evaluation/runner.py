"""`evaluate_bundle`: score a labelled set through the serving engine and write the report.

Outputs in `out_dir`: `metrics.json` (model + baselines), `scores.jsonl` (per-conversation risks,
no text) and `report.html` (one self-contained file; contains message text — an analyst's document).
`groomguard evaluate` and the end of `groomguard train` both call this.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from groomguard.bundle import Bundle
from groomguard.config import load_config
from groomguard.errors import DataError
from groomguard.evaluation.accounts import AccountPaths, evaluate_accounts
from groomguard.evaluation.baselines import (
    DEFAULT_KEYWORDS,
    TfidfSettings,
    keyword_baseline,
    tfidf_baseline,
    train_tfidf,
)
from groomguard.evaluation.config import DEFAULT_EVAL_CONFIG, EvalConfig
from groomguard.evaluation.context import EvalContext
from groomguard.evaluation.held_out import assert_held_out
from groomguard.evaluation.metrics import MetricError
from groomguard.evaluation.real_chat import REAL_STRIDE, baseline_block, load_real, real_chat_block
from groomguard.evaluation.slices import slice_table, worst_errors
from groomguard.evaluation.summary import EvalSettings, ScoredSet, summarise
from groomguard.evaluation.thresholds import threshold_for_precision, threshold_for_recall
from groomguard.evaluation.yardsticks import (
    YardstickPaths,
    disjoint_block,
    handwritten_block,
    load_handwritten,
    real_full_block,
)
from groomguard.jsonl import iter_jsonl
from groomguard.schema import Conversation
from groomguard.scores import Thresholds
from groomguard.window_plan import WindowPlan

METRICS_FILE = "metrics.json"
SCORES_FILE = "scores.jsonl"
REPORT_FILE = "report.html"


def load_labelled(path: Path) -> list[Conversation]:
    """All conversations of a labelled JSONL file; every one must carry a label."""
    convs = list(iter_jsonl(path))
    if not convs:
        raise DataError(f"{path}: no conversations to evaluate")
    unlabelled = sum(c.label is None for c in convs)
    if unlabelled:
        raise DataError(f"{path}: {unlabelled} of {len(convs)} conversations have no label; evaluation needs labels")
    return convs


def _resolve_train(train_path: Path | None, bundle: Bundle) -> tuple[Path | None, str | None]:
    """The training split for the TF-IDF baseline: --train, else bundle.json's path; or why it is skipped."""
    if train_path is not None:
        if not train_path.is_file():
            raise DataError(f"{train_path}: training split not found")
        return train_path, None
    recorded = bundle.manifest.training_data.train_path
    if not recorded:
        return None, "bundle.json records no training split; pass --train to add the TF-IDF baseline"
    for candidate in (Path(recorded), bundle.path / recorded):
        if candidate.is_file():
            return candidate, None
    return None, f"training split recorded in bundle.json ({recorded}) is not on this machine; pass --train"


WindowMemo = dict[bytes, np.ndarray]  # window token ids -> the engine's [risk, transformer, lexical] row


def _score_model(bundle_dir: Path, convs: Sequence[Conversation], cfg: EvalConfig,
                 thresholds: Thresholds | None, extra: Sequence[float], show_progress: bool,
                 stride: int | None = None, what: str = "model", memo: WindowMemo | None = None) -> ScoredSet:
    """Score through the serving engine: exactly what `groomguard serve` computes.

    `memo`: windows already scored in this `evaluate` run are not scored again. The sets overlap:
    real-test chats are the first 60 messages of full-length ones, grafts start with real-test
    openings, and one grafted file can be both a real-chat and a template-disjoint set. A window's
    score depends only on its token ids, so the memo changes no figure, only the time (the main set
    is scored first, with an empty memo, so its windows/s is a true rate)."""
    from groomguard.serving.engine import build_engine

    stride = stride or cfg.stride
    engine = build_engine(str(bundle_dir), cfg.engine, thresholds)
    try:
        plan = WindowPlan.of(engine.windower, convs, stride)  # the windows the engine scores
        memo = {} if memo is None else memo
        keys = [np.asarray(w, dtype=np.int64).tobytes() for w in plan.windows]
        new = {k: w for k, w in zip(keys, plan.windows, strict=True) if k not in memo}  # each new window once
        todo, new_windows = list(new), list(new.values())
        t0 = time.perf_counter()
        if show_progress:
            from groomguard.progress import progress_bar

            with progress_bar() as bar:
                task = bar.add_task(f"scoring windows ({what})", total=len(new_windows))
                scored_new = engine.score_window_parts(new_windows, progress=lambda n: bar.advance(task, n))
        else:
            scored_new = engine.score_window_parts(new_windows)
        memo.update(zip(todo, scored_new, strict=True))
        out = np.array([memo[k] for k in keys]).reshape(len(keys), 3)
        # column 0 is what ScoringEngine.score_conversations serves; 1-2 the hybrid's parts (log-odds)
        parts = ({name: plan.by_message(1.0 / (1.0 + np.exp(-out[:, k])))
                  for k, name in ((1, "transformer"), (2, "lexical"))} if engine.hybrid is not None else {})
        seconds = time.perf_counter() - t0
        t = engine.thresholds
        named = {"review": t.review, "high": t.high, **{f"at_{x:g}": float(x) for x in extra}}
        served = engine.variant or cfg.engine.variant
        runtime = str(engine.health()["detail"])  # e.g. CPUExecutionProvider, or OpenVINO ... bf16
        scored = ScoredSet("model", f"Model {engine.model_ref}", plan.by_message(out[:, 0]), plan.spans.ends,
                           seconds, named, "review", [f"serving engine: {cfg.engine.backend}/{served} ({runtime})"],
                           variant=served, runtime=runtime, parts=parts)
        return scored
    finally:
        engine.close()


def _threshold_helper(scored: ScoredSet, convs: Sequence[Conversation], precision: float | None,
                      recall: float | None) -> dict[str, Any]:
    labels = [int(c.label or 0) for c in convs]
    risk = scored.conversation_risk.tolist()
    out: dict[str, Any] = {}
    for key, target, fn in (("target_precision", precision, threshold_for_precision),
                            ("target_recall", recall, threshold_for_recall)):
        if target is None:
            continue
        try:
            point = fn(labels, risk, target)
        except MetricError as exc:
            out[key] = {"target": target, "achievable": False, "reason": str(exc)}
            continue
        out[key] = ({"target": target, "achievable": True, **point.as_dict()} if point is not None
                    else {"target": target, "achievable": False, "reason": "no threshold reaches it on this data"})
    return out


def _summary_sentence(m: dict[str, Any]) -> str:
    model = m["models"]["model"]
    p = model["thresholds"]["review"]
    n, pos = model["n_conversations"], model["n_positive"]
    k = model["early_detection"]["review"]["messages_to_detection"]["median"]
    when = f", typically after {k:.0f} messages" if k is not None else ""
    if pos == 0:
        return (f"On {n} labelled conversations (none grooming, so recall and AUCs are undefined), at its review "
                f"threshold ({p['threshold']:.2f}) the model raises {p['alerts_per_1000']:.0f} alerts per 1,000 "
                "conversations, all of them false alarms.")
    text = (f"On {n} labelled conversations ({pos} grooming), at its review threshold ({p['threshold']:.2f}) the model "
            f"catches {p['recall']:.0%} of grooming conversations ({p['tp']} of {pos}){when}, and raises "
            f"{p['alerts_per_1000']:.0f} alerts per 1,000 conversations, {p['precision']:.0%} of them correct.")
    rc = m.get("real_chat")
    if rc and "review" in rc["points"]:
        r = rc["points"]["review"]
        alerts = r["alerts_per_1000"]["value"]
        text += f" On {rc['n_benign']} real conversations it raises {alerts:.0f} alerts per 1,000 at review"
        text += (f" and catches {r['recall']['value']:.0%} of {rc['n_grooming']} grooming conversations written in "
                 "real people's register." if "recall" in r else ".")
    others = [(b["label"], b["roc_auc"]) for name, b in m["models"].items()
              if name != "model" and "headline" in b and b["roc_auc"] is not None]
    if others and model["roc_auc"] is not None:
        best = max(others, key=lambda x: x[1])
        text += f" ROC-AUC {model['roc_auc']:.3f} against {best[1]:.3f} for the best baseline ({best[0]})."
    return text


def _real_chat(ctx: EvalContext, benign_path: Path, grooming_path: Path | None) -> dict[str, Any]:
    """Score real chat at stride 1 (model and, when possible, TF-IDF) and build the `real_chat` block."""
    benign = load_real(benign_path, 0)
    grooming = load_real(grooming_path, 1) if grooming_path is not None else None
    if ctx.seen:
        assert_held_out(benign, ctx.seen, benign_path, "real benign")
    mb = ctx.model(benign, "real benign chat")
    mg = ctx.model(grooming, "real-register grooming") if grooming is not None else None
    baseline = None
    tfidf_thresholds = ctx.tfidf_thresholds()
    if tfidf_thresholds is not None:
        tb = ctx.tfidf(benign)
        assert tb is not None
        baseline = baseline_block(tfidf_thresholds, tb, ctx.tfidf(grooming) if grooming is not None else None,
                                  ctx.settings)
    paths = {"benign": str(benign_path), "grooming": str(grooming_path) if grooming_path else ""}
    authors = {a for c in ctx.train_convs for a in c.authors} if ctx.train_convs else None
    return real_chat_block(mb, mg, benign, grooming, ctx.model_thresholds, ctx.settings, paths, authors, baseline)


def _yardsticks(ctx: EvalContext, main: tuple[Sequence[Conversation], ScoredSet], paths: YardstickPaths
                ) -> dict[str, Any]:
    """The `yardsticks` block (evaluation/yardsticks.py): hand-written dev, full-length real chat,
    template-disjoint sets beside the same-pool ones, each with TF-IDF beside the model."""
    out: dict[str, Any] = {}
    tt = ctx.tfidf_thresholds()
    if paths.handwritten is not None:
        hw = load_handwritten(paths.handwritten)
        if ctx.seen:
            assert_held_out(hw, ctx.seen, paths.handwritten, "hand-written dev")
        out["handwritten"] = handwritten_block(ctx.model(hw, "hand-written dev set"), ctx.tfidf(hw), hw,
                                               ctx.model_thresholds, tt, paths.handwritten)
    if paths.real_full is not None:
        full = load_real(paths.real_full, 0)
        if ctx.seen:
            assert_held_out(full, ctx.seen, paths.real_full, "full-length real")
        out["real_full"] = real_full_block(ctx.model(full, "full-length real chat"), ctx.tfidf(full), full,
                                           ctx.model_thresholds, tt, ctx.settings, paths.real_full)
    sets: dict[str, tuple[Sequence[Conversation], ScoredSet, ScoredSet | None]] = {}
    named: dict[str, str] = {}
    strides: dict[str, int] = {}
    if paths.test_disjoint is not None:
        # Both synthetic sets at the main set's stride (the main set is the same-pool one): like for like,
        # and `make model`'s stride 5 keeps its report within budget. Real-chat sets stay at stride 1.
        convs, scored = main
        stride = ctx.cfg.stride
        sets["synthetic_same_pool"] = (convs, scored, ctx.tfidf(convs, stride))
        disjoint = load_labelled(paths.test_disjoint)
        sets["synthetic_disjoint"] = (disjoint, ctx.model(disjoint, "template-disjoint synthetic", stride),
                                      ctx.tfidf(disjoint, stride))
        named["synthetic_disjoint"] = str(paths.test_disjoint)
        strides.update(synthetic_same_pool=stride, synthetic_disjoint=stride)
    for name, path in (("grafted_same_pool", paths.grafted_same), ("grafted_disjoint", paths.grafted_disjoint)):
        if path is not None:
            grafted = load_real(path, 1)
            sets[name] = (grafted, ctx.model(grafted, name.replace("_", " ")), ctx.tfidf(grafted))
            named[name] = str(path)
            strides[name] = REAL_STRIDE
    if sets:
        out["disjoint"] = disjoint_block(sets, ctx.model_thresholds, tt, named, strides)
    if tt is not None:
        out["tfidf_thresholds"] = tt
    return out


def evaluate_bundle(
    bundle_dir: Path,
    data_path: Path,
    out_dir: Path,
    train_path: Path | None = None,
    *,
    thresholds_override: Thresholds | None = None,
    target_precision: float | None = None,
    target_recall: float | None = None,
    mlflow_run: bool | str = False,
    config: EvalConfig | Path | None = None,
    extra_thresholds: Sequence[float] = (),
    tracking_uri: str | None = None,
    show_progress: bool = False,
    real_benign: Path | None = None,
    real_grooming: Path | None = None,
    yardsticks: YardstickPaths | None = None,
    recorded_as: Path | None = None,
    accounts: AccountPaths | None = None,
) -> dict[str, Any]:
    """Evaluate a bundle on a labelled JSONL; writes metrics.json, scores.jsonl, report.html; returns metrics.

    `mlflow_run`: False = no MLflow; True = log into the active run (or a new one); a string = that run id.
    `real_benign` / `real_grooming`: real presumed-benign chat and grooming in real people's register
    (e.g. the mix's real-test files): adds the `real_chat` block (evaluation/real_chat.py).
    `recorded_as`: the bundle path the report names (training evaluates the staged bundle before it
    is moved into place, so that the bundle is written once).
    `accounts`: account corpora (`data synth-accounts`): adds the `accounts` block (evaluation/accounts.py).
    """
    bundle_dir, data_path, out_dir = Path(bundle_dir), Path(data_path), Path(out_dir)
    cfg = config if isinstance(config, EvalConfig) else load_config(EvalConfig, config, default=DEFAULT_EVAL_CONFIG)
    bundle = Bundle.load(bundle_dir)
    convs = load_labelled(data_path)
    extra = [*cfg.extra_thresholds, *extra_thresholds]
    memo: WindowMemo = {}
    model = _score_model(bundle_dir, convs, cfg, thresholds_override, extra, show_progress, memo=memo)
    windower = bundle.windower()

    scored_sets = [model]
    skipped: dict[str, dict[str, Any]] = {}
    tf = cfg.baselines.tfidf
    train_file, why = _resolve_train(train_path, bundle)
    train_convs = list(iter_jsonl(train_file)) if train_file is not None else []
    tfidf_model = None
    settings = TfidfSettings(tf.threshold, tf.max_windows_per_conversation, tf.max_train_windows,
                             tf.word_ngrams, tf.char_ngrams, tf.max_features, tf.c, tf.seed)
    if tf.enabled:
        if train_file is None:
            skipped["tfidf_logreg"] = {"label": "TF-IDF + logistic regression", "skipped": why}
        else:
            tfidf_model = train_tfidf(windower, train_convs, settings)
            scored_sets.append(tfidf_baseline(windower, train_convs, convs, cfg.stride, settings, tfidf_model))
    kw = cfg.baselines.keywords
    if kw.enabled:
        scored_sets.append(keyword_baseline(windower, convs, cfg.stride, kw.threshold, kw.path or DEFAULT_KEYWORDS))

    settings_ = EvalSettings(cfg.latency.p, cfg.calibration.bins, cfg.bootstrap.resamples, cfg.bootstrap.seed,
                             cfg.bootstrap.level)
    models: dict[str, Any] = {s.name: summarise(s, convs, settings_) for s in scored_sets}
    models.update(skipped)
    m = bundle.manifest
    metrics: dict[str, Any] = {
        "meta": {
            "model": m.model_ref, "bundle": str(recorded_as or bundle_dir),
            "bundle_created_at": m.created_at.isoformat(),
            "base_model": m.base_model, "groomguard_version": m.groomguard_version, "data": str(data_path),
            "n_conversations": len(convs), "n_positive": sum(int(c.label or 0) for c in convs),
            "synthetic": bool(m.training_data.synthetic or any(c.source == "synthetic" for c in convs)),
            "sources": sorted({c.source or "(none)" for c in convs}),
            "evaluated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "engine": {"backend": cfg.engine.backend, "variant": model.variant or cfg.engine.variant,
                       "variant_setting": cfg.engine.variant, "runtime": model.runtime},
            "stride": cfg.stride, "latency_p": cfg.latency.p,
            "thresholds": model.thresholds, "train_path": str(train_path or m.training_data.train_path or ""),
        },
        "models": models,
        "threshold_helper": _threshold_helper(model, convs, target_precision or cfg.target_precision,
                                              target_recall or cfg.target_recall),
        "slices": slice_table(model, convs, cfg.slices.length_buckets, cfg.slices.min_size),
        "worst_errors": worst_errors(model, convs, cfg.slices.worst_errors),
    }
    ctx = EvalContext(bundle, cfg, settings_, lambda cs, stride, what: _score_model(
        bundle_dir, cs, cfg, thresholds_override, extra, show_progress, stride, what, memo),
        {"review": model.thresholds["review"], "high": model.thresholds["high"]}, train_convs, tfidf_model)
    if real_benign is not None:
        metrics["real_chat"] = _real_chat(ctx, real_benign, real_grooming)
    elif real_grooming is not None:
        raise DataError("--real-grooming needs --real-benign (false alerts and recall are reported together)")
    if yardsticks is not None and yardsticks.any():
        metrics["yardsticks"] = _yardsticks(ctx, (convs, model), yardsticks)
    if accounts is not None:  # (--input is scored once, when it is an account corpus at stride 1)
        metrics["accounts"] = evaluate_accounts(lambda cs, what: ctx.model(cs, what).risk_by_message, ctx.seen,
                                                Thresholds(**ctx.model_thresholds), cfg.accounts, accounts,
                                                show_progress, {data_path.resolve(): model.risk_by_message}
                                                if cfg.stride == 1 else None)
    metrics["summary"] = _summary_sentence(metrics)

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    with (out_dir / SCORES_FILE).open("w", encoding="utf-8") as fh:
        for i, conv in enumerate(convs):
            row: dict[str, Any] = {"conversation_id": conv.conversation_id, "label": conv.label}
            for s in scored_sets:
                row[s.name] = {"risk": max(s.risk_by_message[i]), "risk_by_message": s.risk_by_message[i]}
            fh.write(json.dumps(row) + "\n")

    from groomguard.evaluation.report import render_report

    (out_dir / REPORT_FILE).write_text(render_report(metrics, scored_sets, convs, cfg), encoding="utf-8")
    if mlflow_run or tracking_uri:
        from groomguard.evaluation.mlflow_log import log_to_mlflow

        files = [out_dir / METRICS_FILE, out_dir / REPORT_FILE]
        metrics["meta"]["mlflow_run_id"] = log_to_mlflow(metrics, files, mlflow_run or True,
                                                         tracking_uri or cfg.mlflow.tracking_uri, cfg.mlflow.experiment)
    return metrics
