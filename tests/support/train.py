"""Hand-made SYNTHETIC chat corpora for the training/export tests (no tests here; helpers only).

Content rule: grooming examples show tactics only (age/location questions, flattery, gifts,
secrecy, moving to private apps, meeting requests, vague picture requests) and stop there.
"""

from __future__ import annotations

import random
from pathlib import Path

from groomguard.cli import main
from groomguard.jsonl import write_jsonl
from groomguard.schema import Conversation, Message

BENIGN = [
    "did you finish the maths homework", "yeah the last question was hard", "want to play the new level later",
    "my team won the match today", "what time is practice tomorrow", "i got a new book from the library",
    "the science project is due friday", "lol that video was so funny", "are you going to the school fair",
    "my dog chewed my headphones again", "we had pizza for lunch", "that boss fight took me ages",
]
TACTICS = [
    "how old are you", "where do you live exactly", "you seem really mature for your age",
    "i can buy you a gift card if you want", "dont tell your parents we talk ok", "this is our little secret",
    "lets move to a private app", "add me on another app where nobody can see", "can you send me a pic of you",
    "we should meet up somewhere just us", "your friends dont understand you like i do", "are you home alone",
]


def make_conversation(rng: random.Random, cid: str, grooming: bool) -> Conversation:
    n = rng.randint(5, 9)
    a, b = f"user{rng.randint(1, 10**6)}", f"user{rng.randint(1, 10**6)}"
    texts = [rng.choice(BENIGN) for _ in range(n)]
    first = None
    if grooming:
        first = rng.randint(1, n - 2)
        for i in range(first, n, 2):
            texts[i] = rng.choice(TACTICS)
    msgs = [Message(author=a if i % 2 == 0 else b, text=t) for i, t in enumerate(texts)]
    return Conversation(conversation_id=cid, messages=msgs, label=int(grooming), first_risk_index=first,
                        predator_ids=[a if first is not None and first % 2 == 0 else b] if grooming else [],
                        source="synthetic")


def make_splits(root: Path, n_train: int = 40, n_eval: int = 16, seed: int = 0) -> dict[str, Path]:
    """train/val/test JSONL under `root` with both classes in every split."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, n in (("train", n_train), ("val", n_eval), ("test", n_eval)):
        convs = [make_conversation(rng, f"{split}-{i}", grooming=i % 3 == 0) for i in range(n)]
        paths[split] = root / f"{split}.jsonl"
        write_jsonl(paths[split], convs)
    return paths


def overrides(paths: dict[str, Path], out: Path, work: Path) -> list[str]:
    """--set arguments pointing configs/train-test.yaml at tmp data and tmp outputs."""
    return [f"data.train={paths['train']}", f"data.val={paths['val']}", f"data.test={paths['test']}",
            f"output_dir={out}", f"work_dir={work}", f"evaluation.report_dir={work / 'reports'}"]


def tracked_run_overrides(paths: dict[str, Path], root: Path) -> list[str]:
    """`overrides` for a short tracked run under `root`: 12 steps, 48-token windows, MLflow in a
    SQLite store there, evaluation on (the training pipeline and torchrun tests train this)."""
    return [*overrides(paths, root / "bundle", root / "work"), "training.max_steps=12", "windows.max_length=48",
            "tracking.enabled=true", f"tracking.tracking_uri=sqlite:///{root}/mlflow.db",
            f"tracking.artifact_root={root}/mlruns", "evaluation.enabled=true"]


def run_cli(args: list[str]) -> int:
    """Run `groomguard ARGS` in-process; the exit code (0 when main returns)."""
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def windows_alone(bundle_dir: Path, path: Path) -> tuple[list[list[int]], list[float], list[int | None], list[int],
                                                         list[Conversation]]:
    """Every prefix window of the conversations in `path`, each run ALONE (no padding, batch 1) through
    the bundle's fp32 ONNX graph: window ids, transformer margin (l1 - l0), window label, owner, and the
    conversations. The second, simple implementation the export's arithmetic is checked against."""
    import numpy as np
    import onnxruntime as ort

    from groomguard.bundle import Bundle
    from groomguard.jsonl import iter_jsonl
    from groomguard.windowing import window_label

    w = Bundle.load(bundle_dir).windower()
    sess = ort.InferenceSession(str(bundle_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    windows, margins, labels, owner = [], [], [], []
    convs = list(iter_jsonl(path))
    for i, conv in enumerate(convs):
        ids = w.encode_messages(conv.messages)
        for end in range(len(ids)):
            window = w.window_ids(ids, end)
            x = np.array([window], dtype=np.int64)
            logit = sess.run(None, {"input_ids": x, "attention_mask": np.ones_like(x)})[0][0].astype(np.float64)
            windows.append(window)
            margins.append(float(logit[1] - logit[0]))
            labels.append(window_label(conv, end))
            owner.append(i)
    return windows, margins, labels, owner, convs
