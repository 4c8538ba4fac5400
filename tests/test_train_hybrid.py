"""`groomguard train` with the lexical head (issue 23): the bundle serves the combination it was
calibrated and thresholded on, and every path that scores (engine, appends' batch call) serves it.

Expectations are recomputed from raw ONNX Runtime logits and the head's margins (themselves checked
against scikit-learn in tests/test_lexical.py), with a grid search for the calibration and brute force
for the thresholds: a second, simple implementation of the export's arithmetic.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from groomguard.bundle import Bundle
from groomguard.errors import BundleError
from groomguard.jsonl import iter_jsonl, write_jsonl
from groomguard.lexical import LexicalHead
from groomguard.serving.engine import build_engine
from groomguard.serving.engine_config import EngineConfig
from groomguard.window_plan import WindowPlan
from tests.support.train import make_conversation, make_splits, overrides, run_cli, windows_alone

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "train-test.yaml"
WEIGHT = 0.4
HEAD = ["lexical.enabled=true", f"lexical.weight={WEIGHT}", "lexical.ngram_max=2", "lexical.windows_per_conversation=3",
        "lexical.extra_benign_windows=100000"]


@pytest.fixture(scope="module", params=["ids", "words"])
def hybrid(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A trained hybrid bundle, once per `lexical.units` (token-id n-grams; decoded words)."""
    root = tmp_path_factory.mktemp(f"hybrid-{request.param}")
    paths = make_splits(root / "data", n_train=60)
    # the head's own windows: 3 per training conversation plus every window of benign-only long chats
    rng = random.Random(5)
    extra = [make_conversation(rng, f"long-{i}", grooming=False) for i in range(4)]
    write_jsonl(root / "data" / "extra-benign.jsonl", extra)
    sets = [*overrides(paths, root / "bundle", root / "work"), "training.max_steps=8", "windows.max_length=48",
            *HEAD, f"lexical.units={request.param}", "export.int8=false", "export.fused=false",
            "evaluation.enabled=false",
            "thresholds.review_alerts_per_1000=250", f"lexical.extra_benign={root / 'data' / 'extra-benign.jsonl'}"]
    args = ["train", "--config", str(CONFIG)]
    for s in sets:
        args += ["--set", s]
    assert run_cli(args) == 0
    return {**paths, "bundle": root / "bundle", "root": root, "extra": root / "data" / "extra-benign.jsonl",
            "units": request.param}


def _val_parts(bundle: Bundle, val: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """Per prefix window of `val` (any labelled file), each scored alone: transformer margin, lexical
    margin, window label, owner; and the conversations' labels."""
    head = bundle.hybrid()
    assert head is not None
    windows, margins, labels, owner, convs = windows_alone(bundle.path, val)
    lexical = [head.head.margins(np.array([w]), np.ones((1, len(w))))[0] for w in windows]
    return (np.array(margins), np.array(lexical), np.array(labels), np.array(owner),
            [int(c.label or 0) for c in convs])


def _nll(m: np.ndarray, y: np.ndarray, t: np.ndarray, b: np.ndarray) -> np.ndarray:
    z = m[None, None, :] / t[:, None, None] + b[None, :, None]
    return np.mean(np.logaddexp(0.0, z) - y[None, None, :] * z, axis=2)


def test_bundle_carries_the_head_and_its_weights(hybrid: dict[str, Any]) -> None:
    bundle = Bundle.load(hybrid["bundle"])
    lx = bundle.manifest.lexical
    assert lx is not None and lx.weight == WEIGHT and lx.ngram_max == 2 and lx.features > 0
    assert lx.units == hybrid["units"] and bundle.hybrid().head.units == lx.units  # type: ignore[union-attr]
    assert "lexical.npz" in bundle.manifest.files
    # 3 windows per training conversation (every window of the shorter ones), then every window of the
    # extra benign chats: one per message (stride 1)
    own = sum(min(3, len(c.messages)) for c in iter_jsonl(hybrid["train"]))
    n_extra = sum(len(c.messages) for c in iter_jsonl(hybrid["extra"]))
    assert (lx.train_windows, lx.extra_benign_windows) == (own + n_extra, n_extra)
    for key in ("val_window_roc_auc_transformer", "val_window_roc_auc_lexical"):
        assert 0.0 <= bundle.manifest.metrics[key] <= 1.0
    assert "lexical head" in (hybrid["bundle"] / "model_card.md").read_text()


def test_scale_calibration_and_thresholds_are_those_of_the_combination(hybrid: dict[str, Any]) -> None:
    bundle = Bundle.load(hybrid["bundle"])
    m, lex, y, owner, conv_y = _val_parts(bundle, hybrid["val"])
    lx, cal = bundle.manifest.lexical, bundle.manifest.calibration
    assert lx is not None
    t_grid = np.exp(np.linspace(np.log(0.02), np.log(50.0), 2000))
    # the transformer's own temperature (bias 0): its margin in log-odds units
    t_only = t_grid[np.argmin(_nll(m, y, t_grid, np.zeros(1))[:, 0])]
    assert 1.0 / lx.transformer_scale == pytest.approx(t_only, rel=0.01)
    z = (1 - WEIGHT) * m * lx.transformer_scale + WEIGHT * lex
    t_coarse, b_grid = t_grid[::5], np.linspace(-6, 6, 241)
    best = float(_nll(z, y, t_coarse, b_grid).min())
    assert float(_nll(z, y, np.array([cal.temperature]), np.array([cal.bias]))[0, 0]) <= best + 1e-4
    risk = 1.0 / (1.0 + np.exp(-(z / cal.temperature + cal.bias)))
    conv_max = np.zeros(len(conv_y))
    np.maximum.at(conv_max, owner, risk)
    neg = conv_max[np.array(conv_y) == 0]
    candidates = sorted({0.0, *(float(np.nextafter(v, np.inf)) for v in conv_max)})
    review = next(c for c in candidates if (neg >= c).sum() <= 0.25 * neg.size)  # 250 per 1,000
    assert bundle.manifest.thresholds.review == pytest.approx(review, abs=1e-9)


def test_engine_and_the_append_batch_call_serve_the_combination(hybrid: dict[str, Any]) -> None:
    bundle = Bundle.load(hybrid["bundle"])
    m, lex, _, _, _ = _val_parts(bundle, hybrid["val"])
    lx, cal = bundle.manifest.lexical, bundle.manifest.calibration
    assert lx is not None
    expected = 1.0 / (1.0 + np.exp(-(((1 - WEIGHT) * m * lx.transformer_scale + WEIGHT * lex) / cal.temperature
                                     + cal.bias)))
    engine = build_engine(str(hybrid["bundle"]), EngineConfig(variant="fp32", max_batch_size=5))
    try:
        convs = list(iter_jsonl(hybrid["val"]))
        plan = WindowPlan.of(engine.windower, convs)
        np.testing.assert_allclose(engine.score_windows(plan.windows), expected, atol=1e-5)  # padded, mixed
        np.testing.assert_allclose(engine.infer_batch(plan.windows[:7]), expected[:7], atol=1e-5)  # appends
        parts = engine.score_window_parts(plan.windows)
        np.testing.assert_allclose(parts[:, 1], m * lx.transformer_scale, atol=1e-4)
        np.testing.assert_allclose(parts[:, 2], lex, atol=1e-9)
    finally:
        engine.close()


def test_a_missing_or_foreign_head_is_refused(hybrid: dict[str, Any], tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "b"
    shutil.copytree(hybrid["bundle"], copy)
    (copy / "lexical.npz").unlink()
    with pytest.raises(BundleError, match=r"lexical\.npz is missing"):
        Bundle.load(copy)
    manifest = Bundle.load(hybrid["bundle"]).manifest
    broken = manifest.model_copy(update={"lexical": manifest.lexical.model_copy(update={"features": 1})})  # type: ignore[union-attr]
    shutil.copytree(hybrid["bundle"], tmp_path / "c")
    (tmp_path / "c" / "bundle.json").write_text(broken.model_dump_json(), encoding="utf-8")
    with pytest.raises(BundleError, match=r"does not match bundle\.json lexical"):
        Bundle.load(tmp_path / "c").hybrid()
    # a manifest naming the other kind of head than its file holds is refused, not misread
    other = "ids" if hybrid["units"] == "words" else "words"
    flipped = manifest.model_copy(update={"lexical": manifest.lexical.model_copy(update={"units": other})})  # type: ignore[union-attr]
    (tmp_path / "c" / "bundle.json").write_text(flipped.model_dump_json(), encoding="utf-8")
    with pytest.raises(BundleError, match=r"lexical\.npz: not a valid (word|lexical) head"):
        Bundle.load(tmp_path / "c").hybrid()


def test_the_report_shows_each_part_beside_the_combination(hybrid: dict[str, Any], tmp_path: Path) -> None:
    """`evaluate` on a hybrid bundle: the yardstick blocks carry each part's ROC-AUC, recomputed here
    from the parts scored window by window (the handwritten slot takes any labelled file)."""
    from groomguard.evaluation.metrics import roc_auc
    from groomguard.evaluation.runner import evaluate_bundle
    from groomguard.evaluation.yardsticks import YardstickPaths
    from groomguard.jsonl import write_jsonl
    from groomguard.schema import Message

    # the tiny corpus repeats its phrases; a numbered copy of the test split passes the held-out guard
    held = tmp_path / "held.jsonl"
    write_jsonl(held, [c.model_copy(update={"messages": [Message(author=x.author, text=f"{x.text} {c.conversation_id}"
                                                                 f" {i}") for i, x in enumerate(c.messages)]})
                       for c in iter_jsonl(hybrid["test"])])
    bundle = Bundle.load(hybrid["bundle"])
    m, lex, _, owner, conv_y = _val_parts(bundle, held)
    lx = bundle.manifest.lexical
    assert lx is not None
    metrics = evaluate_bundle(hybrid["bundle"], hybrid["test"], tmp_path / "r", train_path=hybrid["train"],
                              yardsticks=YardstickPaths(handwritten=held))
    got = metrics["yardsticks"]["handwritten"]["model"]["parts_roc_auc"]
    for name, margin in (("transformer", m * lx.transformer_scale), ("lexical", lex)):
        conv_max = np.full(len(conv_y), -np.inf)
        np.maximum.at(conv_max, owner, margin)
        assert got[name] == pytest.approx(roc_auc(conv_y, conv_max.tolist()))
    assert "part alone" in (tmp_path / "r" / "report.html").read_text()


def test_export_of_the_checkpoint_refits_the_same_head(hybrid: dict[str, Any], tmp_path: Path) -> None:
    """`groomguard export` on the saved checkpoint refits the head from the training split (seeded):
    the same arrays, so the same calibration and thresholds as the trained bundle."""
    out = tmp_path / "exported"
    args = ["export", "--checkpoint", str(hybrid["root"] / "work" / "tiny-test" / "best"), "--config", str(CONFIG),
            "-o", str(out)]
    for s in [*overrides(hybrid, out, hybrid["root"] / "work"), "windows.max_length=48", *HEAD,
              f"lexical.units={hybrid['units']}",
              f"lexical.extra_benign={hybrid['extra']}", "export.int8=false", "export.fused=false",
              "thresholds.review_alerts_per_1000=250"]:
        args += ["--set", s]
    assert run_cli(args) == 0
    again, first = Bundle.load(out), Bundle.load(hybrid["bundle"])
    a, b = again.hybrid(), first.hybrid()
    assert a is not None and b is not None
    assert a.head.units == b.head.units == hybrid["units"]
    np.testing.assert_array_equal(a.head.keys if isinstance(a.head, LexicalHead) else a.head.terms,
                                  b.head.keys if isinstance(b.head, LexicalHead) else b.head.terms)
    np.testing.assert_allclose(a.head.coef, b.head.coef, rtol=1e-9)
    assert again.manifest.calibration.temperature == pytest.approx(first.manifest.calibration.temperature, rel=1e-6)
    assert again.manifest.thresholds == first.manifest.thresholds
