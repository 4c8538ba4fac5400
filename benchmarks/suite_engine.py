"""Engine-side measurements of `python -m benchmarks`: the naive pipeline, every variant, S buckets,
and the share of time spent normalising + tokenising. All on the same windows, in one process."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from groomguard.bundle import MODEL_FILES, Bundle
from groomguard.jsonl import iter_jsonl
from groomguard.schema import Conversation, Message
from groomguard.serving.engine import ScoringEngine, build_engine
from groomguard.serving.engine_config import EngineConfig
from groomguard.windowing import assign_roles

FILLER = ["hey", "how was school", "did you finish the maths homework", "lol same", "what game are you playing",
          "my team won today", "going to the shop brb", "ok see you later", "that film was so long", "haha"]


def synthetic_conversations(n: int, seed: int, messages: int = 30) -> list[Conversation]:
    """Benign filler chat (used when no data file is given, e.g. the test of the quick mode)."""
    rng = random.Random(seed)
    return [Conversation(conversation_id=f"bench-{i}", messages=[
        Message(author="ab"[j % 2], text=" ".join(rng.choice(FILLER) for _ in range(rng.randint(1, 4))))
        for j in range(messages)]) for i in range(n)]


def load_conversations(data: Path | None, n: int, seed: int) -> list[Conversation]:
    if data is None or not data.is_file():
        return synthetic_conversations(n, seed)
    convs = list(iter_jsonl(data))
    random.Random(seed).shuffle(convs)
    return convs[:n]


def sample_windows(bundle: Bundle, convs: Sequence[Conversation], n: int, seed: int) -> list[list[int]]:
    """n prefix windows (stride 1, as serving scores) drawn from the conversations."""
    windower = bundle.windower()
    pool = [w.input_ids for c in convs for w in windower.prefix_windows(c)]
    random.Random(seed).shuffle(pool)
    return pool[:n]


def fixed_length(windows: Sequence[Sequence[int]], length: int) -> list[list[int]]:
    """Windows of exactly `length` tokens: each real window's body repeated, keeping its first/last token."""
    out = []
    for w in windows:
        body = list(w[1:-1]) or [w[0]]
        reps = (length - 2) // len(body) + 1
        out.append([w[0], *(body * reps)[: length - 2], w[-1]])
    return out


def rate(fn: Callable[[], Any], n_items: int, min_seconds: float) -> float:
    """Items/s of `fn` (repeated until `min_seconds`; the caller warms up what needs it)."""
    done, t0 = 0, time.perf_counter()
    while True:
        fn()
        done += n_items
        if (elapsed := time.perf_counter() - t0) >= min_seconds:
            return done / elapsed


@dataclass
class Ctx:
    bundle_dir: Path
    threads: int
    min_seconds: float
    providers: list[str]


def engine_for(ctx: Ctx, variant: str, batch: int, streams: int = 1) -> ScoringEngine:
    cfg = EngineConfig.model_validate({"variant": variant, "max_batch_size": batch, "providers": ctx.providers,
                                       "intra_op_threads": ctx.threads, "streams": streams})
    return build_engine(str(ctx.bundle_dir), cfg)


def batch1_rate(ctx: Ctx, variant: str, windows: list[list[int]], streams: int = 1) -> float:
    """windows/s of the engine at batch 1 with `streams` calls in flight: 1 is the HTTP target's
    baseline; the server's `engine.streams` is what its inference could do alone (a reference)."""
    engine = engine_for(ctx, variant, 1, streams)
    try:
        engine.score_windows(windows[: 2 * streams])
        return rate(lambda: engine.score_windows(windows), len(windows), ctx.min_seconds)
    finally:
        engine.close()


def variants_present(bundle: Bundle, gpu: bool) -> list[str]:
    """Variants this machine can run: fp16 and fused-fp16 only on a GPU, bf16 only where recorded and the CPU
    has native bf16."""
    from groomguard.serving.backends.openvino import native_bf16

    names = [v for v in MODEL_FILES if MODEL_FILES[v] in bundle.manifest.files]
    return [v for v in names if (v not in ("fp16", "fused-fp16") or gpu)
            and (v != "bf16" or ("bf16" in bundle.manifest.variants and not gpu and native_bf16()))]


def engine_rows(ctx: Ctx, bundle: Bundle, windows: list[list[int]], lengths: Sequence[int],
                bucket_windows: int, gpu: bool, only: str | None = None) -> list[dict[str, Any]]:
    """windows/s of every variant (or `only` one) at batch 1 and 32 on the sampled windows and at each
    fixed length S."""
    rows = []
    for variant in [v for v in variants_present(bundle, gpu) if only in (None, v)]:
        for batch in (1, 32):
            engine = engine_for(ctx, variant, batch)
            engine.score_windows(windows[:batch])  # warm-up: first-run allocations are not throughput
            sets: list[tuple[str, list[list[int]]]] = [("windows", windows)]
            sets += [(f"S={s}", fixed_length(windows[:bucket_windows], s)) for s in lengths]
            for label, ws in sets:
                def score(ws: list[list[int]] = ws, e: ScoringEngine = engine) -> None:
                    e.score_windows(ws)
                rows.append({"path": f"engine {variant}", "variant": variant, "batch": batch, "input": label,
                             "windows_per_s": round(rate(score, len(ws), ctx.min_seconds), 2)})
            engine.close()
    return rows


def naive_pipeline_rows(ctx: Ctx, bundle: Bundle, convs: Sequence[Conversation], n: int, checkpoint: Path | None,
                        seed: int, bf16: bool = False) -> tuple[list[dict[str, Any]], str]:
    """The obvious alternative: transformers' text-classification pipeline on the window texts
    (fp32; `bf16`: also under torch's bf16 autocast)."""
    import torch
    from transformers import PreTrainedTokenizerFast, pipeline

    from groomguard.evaluation.windows_text import conversation_windows

    windower = bundle.windower()
    texts = [t for c in convs for t in conversation_windows(windower, c, windower.window_ends(len(c.messages)))]
    random.Random(seed).shuffle(texts)
    texts = texts[:n]
    if checkpoint is not None and (checkpoint / "config.json").is_file():
        from transformers import AutoModelForSequenceClassification

        model = AutoModelForSequenceClassification.from_pretrained(str(checkpoint))
        described = f"fine-tuned checkpoint {checkpoint}"
    else:
        from benchmarks.support.tiny_bundle import tiny_bert

        model, described = tiny_bert(), "tiny random BERT (no checkpoint given)"
    tok = PreTrainedTokenizerFast(tokenizer_file=str(bundle.path / "tokenizer.json"),
                                  pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]", unk_token="[UNK]")
    if ctx.threads:
        torch.set_num_threads(ctx.threads)
    clf = pipeline("text-classification", model=model.eval(), tokenizer=tok, device=-1)
    clf(texts[:4], batch_size=4, truncation=True, max_length=bundle.manifest.max_length)  # warm-up
    rows = []
    # The baseline is the pipeline as it comes (fp32). Where the engine serves bf16 the same
    # pipeline under torch's bf16 autocast is the like-for-like precision: measured beside it, not
    # used for the target's ratio (docs/performance.md).
    precisions = [("torch fp32", None)] + ([("torch bf16 autocast", torch.bfloat16)] if bf16 else [])
    for variant, dtype in precisions:
        for batch in (1, 32):
            def run(batch: int = batch, dtype: Any = dtype) -> None:
                with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
                    clf(texts, batch_size=batch, truncation=True, max_length=bundle.manifest.max_length)
            run(4)  # warm-up (autocast's first run builds its kernels)
            rows.append({"path": "naive transformers pipeline", "variant": variant, "batch": batch,
                         "input": "windows", "windows_per_s": round(rate(run, len(texts), ctx.min_seconds), 2)})
    return rows, described


def tokenise_share(ctx: Ctx, bundle: Bundle, convs: Sequence[Conversation], variant: str,
                   tail: int = 128) -> dict[str, Any]:
    """Per append, serving normalises + tokenises only the new message and assembles the window from the
    tail's cached ids (serving/review/appends.py); then one batch-1 inference. Share of the first in the
    sum, on each conversation's last message. `whole_tail_ms` is what re-rendering the whole stored tail
    (<= `tail` messages, the path before the cache) costs, for comparison."""
    windower = bundle.windower()
    engine = engine_for(ctx, variant, 1)
    tails = [c.messages[-tail:] for c in convs if c.messages]
    roles = [assign_roles(m) for m in tails]
    cached = [windower.encode_messages(m[:-1], r) for m, r in zip(tails, roles, strict=True)]
    t0 = time.perf_counter()
    windows = [windower.assemble_newest(ids + windower.encode_messages(m[-1:], r))
               for m, r, ids in zip(tails, roles, cached, strict=True)]
    t_tok = time.perf_counter() - t0
    t0 = time.perf_counter()
    whole = [windower.newest_window(m, r).input_ids for m, r in zip(tails, roles, strict=True)]
    t_whole = time.perf_counter() - t0
    assert whole == windows, "cached assembly must equal the contract's window"
    engine.infer_batch(windows[0:1])
    t0 = time.perf_counter()
    for w in windows:
        engine.infer_batch([w])
    t_inf = time.perf_counter() - t0
    engine.close()
    return {"variant": variant, "conversations": len(tails), "mean_messages": sum(map(len, tails)) / len(tails),
            "tokenise_ms": 1000 * t_tok / len(tails), "infer_ms": 1000 * t_inf / len(tails),
            "share": t_tok / (t_tok + t_inf), "whole_tail_ms": 1000 * t_whole / len(tails)}
