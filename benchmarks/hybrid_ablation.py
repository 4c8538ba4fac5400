"""Which lexical head, weight and `high` rule? Refit the hybrid's head on cached transformer scores.

The transformer is the expensive part of `make model`; the lexical head (groomguard/lexical.py) and
the combination cost seconds. This script scores every window the export and the evaluation score
once with a bundle's transformer (cached under var/ablation/, keyed by the window's token ids), then
for each candidate refits the head, combines, calibrates (Platt on the validation windows, as the
export does), chooses `review`/`high` on the validation conversations by the bundle's own rule
(evaluation/thresholds.py) and measures the yardsticks nobody tuned on: the hand-written DEV set,
template-disjoint synthetic test and grafts, full-length held-out real chat, real-test. The rows
go into docs/model-development.md; `make model` then confirms the chosen one end to end.

    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.hybrid_ablation --bundle models/bundles/demo \
        --config configs/train-demo.yaml -o reports/hybrid-ablation.json

Candidates (`CANDIDATES`): the head's training windows, built by the training code itself
(training/lexical_fit.py `head_windows`: the transformer's own sampled windows, or more windows of
the training conversations, or those plus the training side's real chats at full length,
real-train-full.jsonl of `data mix`), its weight, n-grams and regularisation, and the `high` rule
(the bundle's budget rule, or that rule with the real-chat tail extrapolated:
evaluation/thresholds.py `tail_threshold`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from groomguard.schema import Conversation
from groomguard.window_plan import WindowPlan


@dataclass(frozen=True)
class Candidate:
    name: str
    weight: float = 0.5
    ngram_max: int = 2
    c: float = 4.0
    max_features: int = 50000
    head_windows: str = "train"  # train | train_all | train_all+real (lexical.windows_per_conversation, extra_benign)
    per_conversation: int = 8  # train_all: windows per training conversation
    real_windows: int = 20000  # +real: windows of the training side's real chats at full length
    high_rule: str = "budget"  # budget | tail
    units: str = "ids"  # lexical.units: ids | words


BASE = Candidate("today (transformer's windows, w 0.5)")
WORDS = Candidate("words 1-2, 100k, C 0.5, w 0.85", weight=0.85, c=0.5, max_features=100000,
                  head_windows="train_all+real", units="words")
CANDIDATES: list[Candidate] = [
    Candidate("transformer alone", weight=0.0),
    BASE,
    replace(BASE, name="today, high: tail", high_rule="tail"),
    replace(BASE, name="8 windows per training conversation", head_windows="train_all"),
    replace(BASE, name="8 per conversation + left-out real chats", head_windows="train_all+real"),
    replace(BASE, name="8 + real, C 1", head_windows="train_all+real", c=1.0),
    replace(BASE, name="8 + real, w 0.65", head_windows="train_all+real", weight=0.65),
    replace(BASE, name="8 + real, w 0.75", head_windows="train_all+real", weight=0.75),
    replace(BASE, name="8 + real, w 0.65, high: tail", head_windows="train_all+real", weight=0.65, high_rule="tail"),
    replace(BASE, name="8 + real, w 0.75, high: tail", head_windows="train_all+real", weight=0.75, high_rule="tail"),
    replace(BASE, name="8 + real, 1-3-grams, w 0.65", head_windows="train_all+real", weight=0.65, ngram_max=3),
    # second round, around the best of the first (w 0.75)
    replace(BASE, name="8 + real, head alone", head_windows="train_all+real", weight=1.0),
    replace(BASE, name="8 + real, w 0.85", head_windows="train_all+real", weight=0.85),
    replace(BASE, name="8 + real, C 1, w 0.75", head_windows="train_all+real", weight=0.75, c=1.0),
    replace(BASE, name="8 + real, C 2, w 0.75", head_windows="train_all+real", weight=0.75, c=2.0),
    replace(BASE, name="8 + real, 1-3-grams, w 0.75", head_windows="train_all+real", weight=0.75, ngram_max=3),
    replace(BASE, name="8 + real, 100k features, w 0.75", head_windows="train_all+real", weight=0.75,
            max_features=100000),
    replace(BASE, name="8 + 40k real, w 0.75", head_windows="train_all+real", weight=0.75, real_windows=40000),
    replace(BASE, name="16 + 40k real, w 0.75", head_windows="train_all+real", weight=0.75, per_conversation=16,
            real_windows=40000),
    replace(BASE, name="all windows + 40k real, w 0.75", head_windows="train_all+real", weight=0.75,
            per_conversation=0, real_windows=40000),
    # third round: the real chats from `data mix` (real-train-full.jsonl), around C 1
    replace(BASE, name="8 + real, C 1, w 0.65", head_windows="train_all+real", weight=0.65, c=1.0),
    replace(BASE, name="8 + real, C 1, w 0.75, high: tail", head_windows="train_all+real", weight=0.75, c=1.0,
            high_rule="tail"),
    replace(BASE, name="8 + real, C 0.5, w 0.75", head_windows="train_all+real", weight=0.75, c=0.5),
    replace(BASE, name="8 + 10k real, C 0.5, w 0.75", head_windows="train_all+real", weight=0.75, c=0.5,
            real_windows=10000),
    replace(BASE, name="8 + 10k real, C 1, w 0.75", head_windows="train_all+real", weight=0.75, c=1.0,
            real_windows=10000),
    # fourth round (stop 36): the served head (8 + real, C 0.5) at other weights, for a transformer that
    # ranks better on its own (multilingual-e5-small: --bundle models/bundles/e5 --config configs/train-e5.yaml)
    *(replace(BASE, name=f"8 + real, C 0.5, w {w:g}", head_windows="train_all+real", weight=w, c=0.5)
      for w in (0.25, 0.4, 0.5, 0.6, 0.85)),
    # fifth round (stop 37): the head on words (lexical.units: words; the ids decoded by the bundle's own
    # tokenizer, lower-cased, accents stripped), alone and at the weights around the served one
    *(replace(BASE, name=f"words 1-2, 100k, C 0.5, w {w:g}", head_windows="train_all+real", weight=w, c=0.5,
              max_features=100000, units="words") for w in (1.0, 0.5, 0.6, 0.75, 0.85)),
    *(replace(BASE, name=f"words 1-2, 100k, C 1, w {w:g}", head_windows="train_all+real", weight=w, c=1.0,
              max_features=100000, units="words") for w in (0.6, 0.75)),
    replace(BASE, name="8 + real, C 0.5, head alone", head_windows="train_all+real", weight=1.0, c=0.5),
    # around the best of those (w 0.85): its weight, the `high` rule, regularisation, size, trigrams
    *(replace(WORDS, name=f"words 1-2, 100k, C 0.5, w {w:g}", weight=w) for w in (0.8, 0.9)),
    replace(WORDS, name="words 1-2, 100k, C 0.5, w 0.85, high: tail", high_rule="tail"),
    replace(WORDS, name="words 1-2, 100k, C 0.25, w 0.85", c=0.25),
    replace(WORDS, name="words 1-2, 50k, C 0.5, w 0.85", max_features=50000),
    replace(WORDS, name="words 1-3, 200k, C 0.5, w 0.85", ngram_max=3, max_features=200000),
    # sixth round (stop 38): the served head (words 1-3, 200k) at lower weights, for a transformer that ranks
    # better on its own (multilingual-e5-small: --bundle models/bundles/e5 --config configs/train-e5.yaml)
    *(replace(WORDS, name=f"words 1-3, 200k, C 0.5, w {w:g}", ngram_max=3, max_features=200000, weight=w)
      for w in (0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 1.0)),
]


def _digest(window: Sequence[int]) -> bytes:
    return hashlib.blake2b(np.asarray(window, dtype=np.int64).tobytes(), digest_size=16).digest()


class TransformerCache:
    """The bundle's transformer part (its margin in log-odds units) per distinct window, on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.values: dict[bytes, float] = {}
        if path.is_file():
            with np.load(path) as z:  # keys as raw uint8 rows: numpy's bytes dtype drops trailing zero bytes
                self.values = dict(zip((k.tobytes() for k in z["keys"]), z["values"].tolist(), strict=True))

    def fill(self, engine: Any, windows: Sequence[Sequence[int]]) -> None:
        todo = {}
        for w in windows:
            k = _digest(w)
            if k not in self.values:
                todo[k] = w
        if not todo:
            return
        from groomguard.progress import progress_bar

        with progress_bar() as bar:
            task = bar.add_task("scoring windows (transformer part)", total=len(todo))
            parts = engine.score_window_parts(list(todo.values()), progress=lambda n: bar.advance(task, n))
        self.values.update(zip(todo, parts[:, 1].tolist(), strict=True))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.frombuffer(b"".join(self.values), dtype=np.uint8).reshape(len(self.values), 16)
        np.savez(self.path, keys=keys, values=np.array(list(self.values.values())))

    def of(self, windows: Sequence[Sequence[int]]) -> np.ndarray:
        return np.array([self.values[_digest(w)] for w in windows])


@dataclass
class Scored:
    convs: list[Conversation]
    plan: WindowPlan
    transformer: np.ndarray  # per window, log-odds units


def _extra_benign(cfg: Any) -> Path:
    if cfg.lexical.extra_benign is None:
        raise SystemExit("the +real candidates need lexical.extra_benign in the recipe "
                         "(data mix's real-train-full.jsonl)")
    return Path(cfg.lexical.extra_benign)


def lexical_settings(cand: Candidate, cfg: Any) -> Any:
    """The candidate as the recipe's `lexical:` block (training/train_config.py LexicalSettings)."""
    from groomguard.training.train_config import LexicalSettings

    return LexicalSettings(
        enabled=True, weight=cand.weight, ngram_max=cand.ngram_max, c=cand.c, max_features=cand.max_features,
        windows_per_conversation=None if cand.head_windows == "train" else cand.per_conversation,
        extra_benign=_extra_benign(cfg) if cand.head_windows.endswith("+real") else None,
        extra_benign_windows=cand.real_windows, max_train_windows=10**9, units=cand.units)


def evaluate(cand: Candidate, sets: dict[str, Scored], data: Any, cfg: Any, settings: Any) -> dict[str, Any]:
    from groomguard.evaluation.summary import ScoredSet
    from groomguard.evaluation.thresholds import tail_threshold
    from groomguard.evaluation.yardsticks import full_length_alerts, handwritten_metrics
    from groomguard.lexical import combine_logits
    from groomguard.scores import risk_from_logits
    from groomguard.training.data.real_test_rule import is_real_benign
    from groomguard.training.export.pipeline import choose_operating_points
    from groomguard.training.export.temperature import calibrate
    from groomguard.training.lexical_fit import fit_lexical, head_windows
    from groomguard.windowing import window_label

    pad_id, head, n_head = data.windower.pad_id, None, 0
    fit_s = 0.0
    if cand.weight > 0:  # the training code path: the same windows `groomguard train` would fit on
        recipe = cfg.model_copy(update={"lexical": lexical_settings(cand, cfg)})
        windows, _ = head_windows(recipe, data)
        fitted = fit_lexical(windows, data.windower.tokenizer, recipe.lexical, cfg.seed)
        head, n_head, fit_s = fitted.head, fitted.n_windows, fitted.seconds

    def logits(s: Scored) -> np.ndarray:
        """[windows, 2] served logits: the cached part is already in log-odds units (scale 1)."""
        part = np.c_[np.zeros_like(s.transformer), s.transformer]
        if head is None:
            return part
        return combine_logits(part, head.margins_for(s.plan.windows, pad_id), cand.weight, 1.0)

    combined = {name: logits(s) for name, s in sets.items()}
    val = sets["val"]
    val_labels = np.array([int(window_label(c, e) or 0) for c, ends in zip(val.convs, val.plan.spans.ends, strict=True)
                           for e in ends])
    temperature, bias, _ = calibrate(combined["val"], val_labels, cfg.export.calibration)  # as the export does

    def risk(name: str) -> ScoredSet:
        r = risk_from_logits(combined[name], temperature, bias=bias)
        s = sets[name]
        return ScoredSet(name, name, s.plan.by_message(r), s.plan.spans.ends, 0.0, {}, "review")

    val_risk = risk("val").conversation_risk
    points, _ = choose_operating_points(cfg.thresholds, val.convs, val_risk, log=lambda _m: None)
    th = {"review": points["review"].threshold, "high": points["high"].threshold}
    if cand.high_rule == "tail":
        real = np.array([is_real_benign(c) for c in val.convs])
        th["high"] = max(th["high"], tail_threshold(val_risk[real], cfg.thresholds.high_alerts_per_1000))
    row: dict[str, Any] = {"candidate": cand.name, **cand.__dict__, "head_train_windows": n_head,
                           "head_fit_s": round(fit_s, 1), "thresholds": th}
    for name in sets:
        if name == "val":
            continue
        scored, convs = risk(name), sets[name].convs
        conv = scored.conversation_risk
        labels = np.array([int(c.label or 0) for c in convs])
        if name == "handwritten":
            m = handwritten_metrics(scored, convs, th["review"])
            row["dev"] = {k: m[k] for k in ("roc_auc", "roc_auc_french", "recall", "precision", "f1",
                                            "hard_negative_alert_rate", "teen_peer_alert_rate",
                                            "alert_latency_median")}
            row["dev"]["recall_high"] = float((conv[labels == 1] >= th["high"]).mean())
            row["dev"]["benign_high"] = int((conv[labels == 0] >= th["high"]).sum())
        elif name in ("real_full", "real_test"):
            a = full_length_alerts(scored, convs, th, settings)
            row[name] = {p: a[p]["alerts_per_1000"]["value"] for p in ("review", "high")}
        elif labels.min() == 1:
            row[name] = {"recall": float((conv >= th["review"]).mean()),
                         "recall_high": float((conv >= th["high"]).mean())}
        else:
            from groomguard.evaluation.metrics import roc_auc

            row[name] = {"roc_auc": float(roc_auc(labels.tolist(), conv.tolist())),
                         "recall": float((conv[labels == 1] >= th["review"]).mean())}
    return row


def _line(r: dict[str, Any]) -> str:
    d, rf = r["dev"], r["real_full"]

    def f(x: Any, n: int = 3) -> str:
        return "-" if x is None else f"{x:.{n}f}"

    return (f"| {r['candidate']} | {f(d['roc_auc'])} ({f(d['roc_auc_french'], 2)}) | {f(d['recall'])} / "
            f"{f(d['precision'], 2)} / {f(d['f1'])} | {f(d['hard_negative_alert_rate'], 2)} / "
            f"{f(d['teen_peer_alert_rate'], 2)} | {f(r['test_disjoint']['roc_auc'])} / "
            f"{f(r['test_disjoint']['recall'])} | {f(r['grafted_disjoint']['recall'])} | "
            f"{f(rf['review'], 1)} / {f(rf['high'], 1)} | {f(r['real_test']['review'], 1)} | "
            f"{f(r['thresholds']['review'])} / {f(r['thresholds']['high'])} | {f(d['recall_high'], 2)} |")


HEADER = ("| candidate | dev ROC-AUC (FR) | dev recall / precision / F1 at review | dev hard-neg / teen-peer | "
          "disjoint synthetic AUC / recall | disjoint grafts recall | full-length real per 1,000 review / high | "
          "real-test review | thresholds review / high | dev recall at high |\n" + "|---" * 10 + "|")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", type=Path, default=Path("models/bundles/demo"))
    ap.add_argument("--config", type=Path, default=Path("configs/train-demo.yaml"))
    ap.add_argument("--only", default="", help="candidate names separated by ; (default: all)")
    ap.add_argument("-o", "--output", type=Path, default=Path("reports/hybrid-ablation.json"))
    args = ap.parse_args(argv)

    from groomguard.bundle import TOKENIZER
    from groomguard.config import load_config
    from groomguard.evaluation.summary import EvalSettings
    from groomguard.evaluation.yardsticks import load_handwritten
    from groomguard.jsonl import iter_jsonl
    from groomguard.serving.engine import build_engine
    from groomguard.serving.engine_config import EngineConfig
    from groomguard.training.data.prepare import prepare_data
    from groomguard.training.train_config import TrainConfig

    cfg = load_config(TrainConfig, args.config, [])
    data = prepare_data(cfg, args.bundle / TOKENIZER)
    windower = data.windower
    d = cfg.data
    files = {"real_full": d.real_test_full, "real_test": d.real_test, "grafted_disjoint": d.real_test_grooming,
             "test_disjoint": d.test_disjoint}
    convs: dict[str, list[Conversation]] = {"val": data.val_conversations}
    convs.update({k: list(iter_jsonl(p)) for k, p in files.items() if p is not None})
    convs["handwritten"] = load_handwritten(Path(str(d.handwritten)))
    sets: dict[str, Scored] = {}
    engine = build_engine(str(args.bundle), EngineConfig(variant="fp32"))
    cache = TransformerCache(Path("var/ablation") / f"{engine.model_ref.replace('@', '-')}.npz")
    plans = {k: WindowPlan.of(windower, cs) for k, cs in convs.items()}  # stride 1, as served and evaluated
    cache.fill(engine, [w for p in plans.values() for w in p.windows])
    engine.close()
    for k, cs in convs.items():
        sets[k] = Scored(cs, plans[k], cache.of(plans[k].windows))

    # few resamples: the rows compare counts; the make model report carries the bootstrap CIs
    settings = EvalSettings(latency_p=0.9, calibration_bins=10, bootstrap_resamples=50, bootstrap_seed=0,
                            bootstrap_level=0.95)
    only = {s.strip() for s in args.only.split(";") if s.strip()}
    rows = []
    print(HEADER, flush=True)
    for cand in CANDIDATES:
        if only and cand.name not in only:
            continue
        row = evaluate(cand, sets, data, cfg, settings)
        rows.append(row)
        print(_line(row), flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"bundle": str(args.bundle), "rows": rows}, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
