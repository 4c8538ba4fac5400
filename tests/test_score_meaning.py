"""What a score means, pinned by hand-computed expectations (not by the code's own output).

risk = softmax(logits / T)[positive_index], computed here in numpy from the raw ONNX Runtime logits
of each window, run one window at a time (no padding, no batching), on a bundle whose temperature
is 2.5 and whose classifier is sharpened so its logits are far from zero. The serving engine and
`groomguard score` must return the same numbers. Which wrong changes this catches: risk inverted
(positive/negative swapped), temperature multiplied instead of divided, positive_index ignored,
unscored messages (stride > 1) set to 0 instead of carrying the last score, `>=` turned into `>` at
the level thresholds. All chat text is synthetic and benign.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from groomguard.bundle import Bundle, Calibration, write_manifest
from groomguard.schema import Conversation, Message
from groomguard.scores import Thresholds, fill_by_message, level_for
from groomguard.serving.engine import build_engine
from groomguard.serving.engine_config import EngineConfig
from tests.support.store import run_cli

TEMPERATURE = 2.5

TEXTS = [
    "hey, are you coming to the robotics club tomorrow?",
    "yes! i finished the gear assembly last night",
    "nice, the motor mount still wobbles though",
    "bring the small screwdriver and we can fix it",
    "my sister says the bus is late again",
    "ok then we start at four instead",
    "did you read chapter six for history?",
    "only half, the part about the harbour",
    "the quiz is on friday so there is time",
    "see you at practice",
]


def _conv(cid: str, n: int) -> Conversation:
    return Conversation(conversation_id=cid, messages=[
        Message(author=("u_one", "u_two")[i % 2], text=f"{TEXTS[i % len(TEXTS)]} ({i})") for i in range(n)])


CONVS = [_conv("meaning-a", 7), _conv("meaning-b", 3), _conv("meaning-c", 10)]


@pytest.fixture(scope="module")
def sharp_bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """The same sharpened tiny model with T=2.5, once with positive_index 1 and once with 0."""
    from benchmarks.support.tiny_bundle import build_tiny_bundle, tiny_bert

    model = tiny_bert(seed=3, init_range=0.5)  # the default init gives margins ~0.25 for every input
    base = tmp_path_factory.mktemp("meaning")
    out: dict[int, Path] = {}
    for positive in (1, 0):
        path = build_tiny_bundle(base / f"pos{positive}", name=f"meaning{positive}", model=model)
        manifest = Bundle.load(path).manifest
        onnx_sig = manifest.onnx.model_copy(update={"positive_index": positive})
        write_manifest(path, manifest.model_copy(update={
            "calibration": Calibration(method="temperature", temperature=TEMPERATURE), "onnx": onnx_sig}))
        out[positive] = path
    return out


def raw_logits(bundle_dir: Path, windows: list[list[int]]) -> np.ndarray:
    """Logits straight from ONNX Runtime, one unpadded window per run."""
    sess = ort.InferenceSession(str(bundle_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    rows = []
    for ids in windows:
        feed = {"input_ids": np.array([ids], dtype=np.int64), "attention_mask": np.ones((1, len(ids)), dtype=np.int64)}
        rows.append(sess.run(["logits"], feed)[0][0])
    return np.array(rows, dtype=np.float64)


def softmax_risk(logits: np.ndarray, temperature: float, positive: int) -> np.ndarray:
    """The definition, written out: exp(z_pos / T) / sum_k exp(z_k / T)."""
    z = logits / temperature
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True))[:, positive]


def expected_by_message(bundle_dir: Path, conv: Conversation, positive: int, stride: int = 1) -> list[float]:
    """Risk after each message, by hand: windows at every `stride`-th message (and the last),
    each later message carrying the last score forward, messages before the first window 0."""
    windower = Bundle.load(bundle_dir).windower()
    n = len(conv.messages)
    ends = sorted({*range(stride - 1, n, stride), n - 1})
    ids = windower.encode_messages(conv.messages)
    risks = softmax_risk(raw_logits(bundle_dir, [windower.window_ids(ids, e) for e in ends]), TEMPERATURE, positive)
    by_end = dict(zip(ends, risks.tolist(), strict=True))
    out, last = [], 0.0
    for i in range(n):
        last = by_end.get(i, last)
        out.append(last)
    return out


def test_fixture_logits_are_sharp_enough_to_tell_errors_apart(sharp_bundles: dict[int, Path]) -> None:
    """Guards the other tests: with logits near 0 every formula gives ~0.5 and nothing is caught."""
    windower = Bundle.load(sharp_bundles[1]).windower()
    wins = [w.input_ids for c in CONVS for w in windower.prefix_windows(c, stride=1)]
    margins = np.abs(np.diff(raw_logits(sharp_bundles[1], wins), axis=1))
    assert margins.max() > 2.0, margins.max()
    correct = softmax_risk(raw_logits(sharp_bundles[1], wins), TEMPERATURE, 1)
    assert np.abs(correct - softmax_risk(raw_logits(sharp_bundles[1], wins), 1 / TEMPERATURE, 1)).max() > 0.1
    assert np.abs(correct - (1 - correct)).max() > 0.1


@pytest.mark.parametrize("positive", [1, 0])
@pytest.mark.parametrize("stride", [1, 3])
def test_engine_risk_is_softmax_of_logits_over_temperature(sharp_bundles: dict[int, Path], positive: int,
                                                           stride: int) -> None:
    engine = build_engine(str(sharp_bundles[positive]), EngineConfig(providers=["CPUExecutionProvider"]))
    try:
        got = engine.score_conversations(CONVS, stride=stride)
    finally:
        engine.close()
    for conv, score in zip(CONVS, got, strict=True):
        exp = expected_by_message(sharp_bundles[positive], conv, positive, stride)
        assert score.risk_by_message == pytest.approx(exp, abs=1e-5), conv.conversation_id
        assert score.risk == pytest.approx(max(exp), abs=1e-5)
        if stride > 1 and len(conv.messages) > stride:  # the fill-forward actually happened
            assert score.risk_by_message[stride] == pytest.approx(score.risk_by_message[stride - 1], abs=1e-12)
            assert score.risk_by_message[stride] > 0.0


def test_cli_score_matches_hand_computed_risk(sharp_bundles: dict[int, Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text("".join(c.model_dump_json(exclude_none=True) + "\n" for c in CONVS))
    cfg = tmp_path / "serve.yaml"
    cfg.write_text("engine:\n  providers: [CPUExecutionProvider]\n")
    code, _, err = run_cli(capsys, "score", "--bundle", str(sharp_bundles[1]), "--input", str(inp),
                           "--output", str(out), "--config", str(cfg), "--stride", "3")
    assert code == 0, err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["conversation_id"] for r in rows] == [c.conversation_id for c in CONVS]
    for conv, row in zip(CONVS, rows, strict=True):
        assert row["risk_by_message"] == pytest.approx(expected_by_message(sharp_bundles[1], conv, 1, 3), abs=1e-5)
        assert row["variant"] == "fp32"  # every output line names the variant that scored it


def test_level_at_exactly_the_threshold_is_that_level() -> None:
    th = Thresholds(review=0.25, high=0.75)  # exact binary fractions: no rounding at the boundary
    assert [level_for(r, th) for r in (0.0, 0.2499, 0.25, 0.7499, 0.75, 1.0)] == [
        "low", "low", "review", "review", "high", "high"]
    same = Thresholds(review=0.5, high=0.5)
    assert level_for(0.5, same) == "high"


def test_engine_level_at_a_risk_equal_to_the_threshold(sharp_bundles: dict[int, Path]) -> None:
    """A threshold set to a conversation's own overall risk puts it at that level (not one below)."""
    risk = max(expected_by_message(sharp_bundles[1], CONVS[0], 1))
    cfg = EngineConfig(providers=["CPUExecutionProvider"])
    engine = build_engine(str(sharp_bundles[1]), cfg)
    try:
        overall = engine.score_conversations([CONVS[0]])[0].risk
    finally:
        engine.close()
    assert overall == pytest.approx(risk, abs=1e-5)
    for th, level in ((Thresholds(review=overall, high=1.0), "review"), (Thresholds(review=0.0, high=overall), "high")):
        engine = build_engine(str(sharp_bundles[1]), cfg, th)
        try:
            assert engine.score_conversations([CONVS[0]])[0].level == level
        finally:
            engine.close()


def test_fill_by_message_carries_the_last_score_forward() -> None:
    assert fill_by_message(7, [2, 5, 6], [0.4, 0.2, 0.9]) == [0.0, 0.0, 0.4, 0.4, 0.4, 0.2, 0.9]
    assert fill_by_message(3, [0, 1, 2], [0.3, 0.1, 0.2]) == [0.3, 0.1, 0.2]  # stride 1: no carrying


def test_copy_of_bundle_with_temperature_one_scores_differently(sharp_bundles: dict[int, Path],
                                                                tmp_path: Path) -> None:
    """The engine reads T from bundle.json (not a constant): the same model at T=1 gives sharper risks."""
    plain = tmp_path / "t1"
    shutil.copytree(sharp_bundles[1], plain)
    manifest = Bundle.load(plain).manifest
    write_manifest(plain, manifest.model_copy(update={"calibration": Calibration(method="none")}))
    windower = Bundle.load(plain).windower()
    ids = windower.encode_messages(CONVS[2].messages)
    logits = raw_logits(plain, [windower.window_ids(ids, e) for e in range(len(ids))])
    engine = build_engine(str(plain), EngineConfig(providers=["CPUExecutionProvider"]))
    try:
        got = engine.score_conversations([CONVS[2]])[0].risk_by_message
    finally:
        engine.close()
    assert got == pytest.approx(softmax_risk(logits, 1.0, 1).tolist(), abs=1e-5)
    assert np.abs(np.array(got) - softmax_risk(logits, TEMPERATURE, 1)).max() > 0.05


def test_platt_bias_is_added_after_the_temperature(sharp_bundles: dict[int, Path], tmp_path: Path) -> None:
    """risk = 1 / (1 + exp(-((z_pos - z_neg) / T + b))), by hand, against the engine."""
    src = sharp_bundles[1]
    biased = tmp_path / "biased"
    shutil.copytree(src, biased)
    manifest = Bundle.load(src).manifest
    write_manifest(biased, manifest.model_copy(update={
        "calibration": Calibration(method="platt", temperature=TEMPERATURE, bias=-0.8)}))
    conv = _conv("platt", 6)
    windower = Bundle.load(biased).windower()
    ids = windower.encode_messages(conv.messages)
    wins = [windower.window_ids(ids, e) for e in range(len(ids))]
    z = raw_logits(biased, wins)
    want = 1.0 / (1.0 + np.exp(-((z[:, 1] - z[:, 0]) / TEMPERATURE - 0.8)))
    engine = build_engine(str(biased), EngineConfig(providers=["CPUExecutionProvider"]))
    try:
        got = engine.score_conversations([conv])[0].risk_by_message
    finally:
        engine.close()
    assert got == pytest.approx(want.tolist(), abs=1e-6)
    assert np.abs(np.array(got) - softmax_risk(z, TEMPERATURE, 1)).max() > 0.05  # the bias matters here
