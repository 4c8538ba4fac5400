"""Stress the bf16 (OpenVINO) backend with concurrent calls of changing shapes; a hang is a failure.

Why: one `groomguard score` run with two OpenVINO streams froze for good (issue 22 item 4): every
thread on a futex, the two batch threads inside `InferRequest.infer` -> `update_inputs`, the shape
change of an input tensor. It was rare (1 run in 7), so this script makes the same calls many times
over: N threads call `OpenVinoBackend.infer` with a new batch size and sequence length on (almost)
every call, optionally on several backends (compiled models) in one process, optionally through
`run_batches` (the offline scoring path, a new set of threads per run). A watchdog notices any
thread that has not finished a call for `--timeout-s` seconds, dumps every thread's Python stack
(faulthandler) and, with gdb present, the native stacks, then exits with status 3 instead of
hanging; the summary line gives windows/s, the throughput figure the fix must not lower.

    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.openvino_stress --calls 10000 --threads 2
    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.openvino_stress --model minilm --threads 4 --backends 2
    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.openvino_stress --bundle models/bundles/demo

Exit status: 0 finished, 1 a call failed or returned a wrong shape, 3 hang detected.
"""

from __future__ import annotations

import argparse
import faulthandler
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

EXIT_OK, EXIT_FAILED, EXIT_HANG = 0, 1, 3
OUT = Path(__file__).resolve().parent / "out"  # gitignored: the generated models are cached here

# Model shapes: `tiny` is the tests' 2-layer BERT (calls of ~1 ms, so the shape change itself is a
# large share of each call: the race window is as wide as it gets); `minilm` has the demo bundle's
# architecture (MiniLM-L6: 6 layers, 384 hidden) with random weights, so calls last as long as served ones.
MODEL_KINDS: dict[str, dict[str, int]] = {
    "tiny": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64},
    "minilm": {"hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536},
}


def build_model(kind: str, out_dir: Path = OUT) -> Path:
    """`model.onnx` of a random BERT of the given kind (exported once, then reused from `out_dir`)."""
    path = out_dir / f"stress-{kind}" / "model.onnx"
    if path.is_file():
        return path
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from groomguard.training.export.to_onnx import export_onnx

    torch.manual_seed(0)
    make_config: Any = BertConfig  # transformers' stubs do not know the kwargs its configs accept
    cfg = make_config(vocab_size=30522, max_position_embeddings=512, num_labels=2, attn_implementation="eager",
                      **MODEL_KINDS[kind])
    tmp = path.with_name("model.onnx.tmp")
    export_onnx(BertForSequenceClassification(cfg).eval(), tmp)
    tmp.replace(path)  # a crash mid-export never leaves a truncated model to be reused
    return path


@dataclass
class Progress:
    """Per-thread progress the watchdog reads: last time each worker finished (or started) a call."""

    last: dict[str, float] = field(default_factory=dict)
    calls: int = 0
    windows: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def beat(self, name: str, windows: int = 0) -> None:
        with self.lock:
            self.last[name] = time.monotonic()
            if windows:
                self.calls += 1
                self.windows += windows

    def leave(self, name: str) -> None:
        with self.lock:
            self.last.pop(name, None)

    def fail(self, what: str) -> None:
        with self.lock:
            self.failures.append(what)


def shape_pool(count: int, max_batch: int, max_len: int, seed: int) -> list[tuple[int, int]]:
    """`count` fixed (batch, length) shapes; calls drawn from them meet warm kernels (a throughput
    figure), where fresh random shapes mostly measure OpenVINO compiling a kernel per new shape."""
    rng = np.random.default_rng(seed + 10_000)
    return [(int(rng.integers(1, max_batch + 1)), int(rng.integers(2, max_len + 1))) for _ in range(count)]


def random_batch(rng: np.random.Generator, max_batch: int, max_len: int,
                 shapes: Sequence[tuple[int, int]] = ()) -> tuple[np.ndarray, np.ndarray]:
    """A right-padded batch of a random size and length (rows of random lengths, like run_batches'),
    or of one of `shapes` when given."""
    if shapes:
        batch, length = shapes[int(rng.integers(len(shapes)))]
    else:
        batch = int(rng.integers(1, max_batch + 1))
        length = int(rng.integers(2, max_len + 1))
    lens = rng.integers(2, length + 1, size=batch)
    lens[0] = length  # the batch is as long as its longest row
    mask = (np.arange(length)[None, :] < lens[:, None]).astype(np.int64)
    ids = rng.integers(1000, 30000, size=(batch, length), dtype=np.int64) * mask
    return ids, mask


def watchdog(progress: Progress, timeout_s: float, stop: threading.Event, native: bool) -> None:
    """Exit with EXIT_HANG when any worker has gone `timeout_s` without finishing a call.

    Per worker, not in total: with more threads than streams one stuck call would otherwise hide
    behind the others' progress."""
    while not stop.wait(min(0.5, timeout_s / 4)):
        with progress.lock:
            now = time.monotonic()
            stuck = {name: now - t for name, t in progress.last.items() if now - t > timeout_s}
            calls = progress.calls
        if stuck:
            names = ", ".join(f"{n} ({s:.1f} s)" for n, s in sorted(stuck.items()))
            print(f"HANG: no progress for {timeout_s:g} s in {names} after {calls} calls; stacks follow",
                  file=sys.stderr, flush=True)
            faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
            if native:
                native_stacks()
            sys.stderr.flush()
            os._exit(EXIT_HANG)  # the stuck threads would block a normal exit (they cannot be interrupted)


def native_stacks() -> None:
    """Every thread's C/C++ stack, by gdb attached to this process (where the futex waits are)."""
    gdb = shutil.which("gdb")
    if gdb is None:
        print("(gdb not found: no native stacks)", file=sys.stderr, flush=True)
        return
    cmd = [gdb, "-p", str(os.getpid()), "-batch", "-nx", "-ex", "set pagination off", "-ex", "thread apply all bt 30"]
    try:
        got = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        print(got.stdout[-200_000:], file=sys.stderr, flush=True)
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"(gdb failed: {exc.__class__.__name__})", file=sys.stderr, flush=True)


def direct_worker(name: str, backend: Any, calls: Callable[[], bool], seed: int, max_batch: int, max_len: int,
                  progress: Progress, shapes: Sequence[tuple[int, int]] = ()) -> None:
    """One caller thread: `backend.infer` on a new random shape per call until the calls run out."""
    rng = np.random.default_rng(seed)
    progress.beat(name)
    try:
        while calls():
            ids, mask = random_batch(rng, max_batch, max_len, shapes)
            try:
                out = backend.infer(ids, mask)
            except Exception as exc:  # reported, not raised: the other threads keep stressing
                progress.fail(f"{name}: {exc.__class__.__name__}: {exc}")
                continue
            if out.shape != (len(ids), 2) or not np.isfinite(out).all():
                progress.fail(f"{name}: output {out.shape} for a batch of {len(ids)}")
            progress.beat(name, len(ids))
    finally:
        progress.leave(name)


def run_batches_driver(backend: Any, total_calls: int, concurrency: int, seed: int, max_batch: int, max_len: int,
                       progress: Progress) -> None:
    """The offline scoring path: `run_batches` over random windows, a fresh set of threads per run
    (as `groomguard score` makes one per chunk of conversations)."""
    from groomguard.batching import run_batches
    from groomguard.windowing import Batch

    rng = np.random.default_rng(seed)

    def infer(b: Batch) -> np.ndarray:
        name = threading.current_thread().name
        progress.beat(name)
        try:
            out = np.asarray(backend.infer(b.input_ids, b.attention_mask))
        finally:
            progress.leave(name)  # a finished pool thread must not look stuck
        progress.beat("run_batches", len(b.input_ids))
        return out

    done = 0
    while done < total_calls:
        n_batches = min(total_calls - done, 64)
        windows = [rng.integers(1000, 30000, size=int(rng.integers(2, max_len + 1))).tolist()
                   for _ in range(n_batches * max_batch)]
        run_batches(windows, 0, max_batch, infer, sort=False, concurrency=concurrency)
        done += n_batches
    progress.leave("run_batches")


def load_backends(model: Path, count: int, precision: str, streams: int, ov_threads: int) -> list[Any]:
    from groomguard.serving.backends.openvino import OpenVinoBackend

    return [OpenVinoBackend(model, precision, ov_threads, streams=streams) for _ in range(count)]


def stress(model: Path, calls: int, threads: int, backends: int = 1, streams: int = 2, precision: str = "bf16",
           ov_threads: int = 0, max_batch: int = 32, max_len: int = 128, timeout_s: float = 60.0,
           mode: str = "direct", seed: int = 0, native: bool = True, shapes: int = 0,
           warmup_calls: int = 0) -> dict[str, Any]:
    """Run the stress; returns the summary (exits the process with EXIT_HANG on a hang).

    `shapes` > 0: calls draw from that many fixed shapes (with `warmup_calls` untimed calls first,
    so the timed ones meet compiled kernels): the steady-state throughput to compare versions by."""
    pool = load_backends(model, backends, precision, streams, ov_threads)
    for b in pool:  # first-call compilation is not the steady state
        b.infer(np.ones((1, 8), np.int64), np.ones((1, 8), np.int64))
    fixed = shape_pool(shapes, max_batch, max_len, seed) if shapes else []
    stop = threading.Event()
    progress = Progress()
    dog = threading.Thread(target=watchdog, args=(progress, timeout_s, stop, native), name="watchdog", daemon=True)
    dog.start()
    if warmup_calls:
        run_phase(pool, warmup_calls, threads, mode, seed + 1, max_batch, max_len, progress, fixed)
    warm = (progress.calls, progress.windows)
    t0 = time.perf_counter()
    run_phase(pool, calls, threads, mode, seed, max_batch, max_len, progress, fixed)
    seconds = time.perf_counter() - t0
    stop.set()
    dog.join()
    done, windows = progress.calls - warm[0], progress.windows - warm[1]
    return {"model": str(model), "mode": mode, "calls": done, "threads": threads, "backends": backends,
            "streams": streams, "precision": precision, "shapes": shapes or "fresh", "seconds": round(seconds, 2),
            "windows_per_s": round(windows / seconds, 1), "calls_per_s": round(done / seconds, 1),
            "failures": progress.failures[:10], "failed": len(progress.failures), "hang": False}


def run_phase(pool: list[Any], calls: int, threads: int, mode: str, seed: int, max_batch: int, max_len: int,
              progress: Progress, shapes: Sequence[tuple[int, int]]) -> None:
    """`calls` infer calls over `pool` from `threads` threads (direct) or through run_batches."""
    counter = itertools.count()
    counter_lock = threading.Lock()

    def take() -> bool:
        with counter_lock:
            return next(counter) < calls

    if mode == "direct":
        workers = [threading.Thread(target=direct_worker, name=f"caller-{i}",
                                    args=(f"caller-{i}", pool[i % len(pool)], take, seed + i, max_batch, max_len,
                                          progress, shapes), daemon=True)
                   for i in range(threads)]
    else:  # run_batches: each backend gets its own driver thread, `threads` batches in flight each
        share = [calls // len(pool) + (i < calls % len(pool)) for i in range(len(pool))]
        workers = [threading.Thread(target=run_batches_driver, name=f"driver-{i}",
                                    args=(b, share[i], threads, seed + i, max_batch, max_len, progress),
                                    daemon=True)
                   for i, b in enumerate(pool)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--bundle", type=Path, help="a bundle directory (its model.onnx)")
    src.add_argument("--model", choices=sorted(MODEL_KINDS), default="tiny",
                     help="a random BERT of this size, built once into benchmarks/out/ (default tiny)")
    ap.add_argument("--calls", type=int, default=10_000, help="infer calls in all (default 10,000)")
    ap.add_argument("--threads", type=int, default=2, help="caller threads (run_batches: batches in flight)")
    ap.add_argument("--backends", type=int, default=1, help="separate OpenVinoBackend instances (compiled models)")
    ap.add_argument("--streams", type=int, default=2, help="OpenVINO streams per backend (engine.streams)")
    ap.add_argument("--precision", default="bf16", help="bf16 (served) or f32")
    ap.add_argument("--ov-threads", type=int, default=0, help="INFERENCE_NUM_THREADS (0 = OpenVINO decides)")
    ap.add_argument("--max-batch", type=int, default=32)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--mode", choices=("direct", "run_batches"), default="direct",
                    help="direct: threads call backend.infer; run_batches: the offline scoring loop")
    ap.add_argument("--timeout-s", type=float, default=60.0,
                    help="a worker without a finished call for this long is a hang (default 60)")
    ap.add_argument("--shapes", type=int, default=0,
                    help="draw calls from this many fixed shapes (throughput); 0 = a fresh random shape per call")
    ap.add_argument("--warmup-calls", type=int, default=0, help="untimed calls first (compile the --shapes kernels)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-native-stacks", action="store_true", help="skip gdb's native stacks on a hang")
    ap.add_argument("--json", type=Path, help="also write the summary here")
    args = ap.parse_args(argv)
    model = args.bundle / "model.onnx" if args.bundle else build_model(args.model)
    summary = stress(model, args.calls, args.threads, args.backends, args.streams, args.precision, args.ov_threads,
                     args.max_batch, args.max_len, args.timeout_s, args.mode, args.seed, not args.no_native_stacks,
                     args.shapes, args.warmup_calls)
    line = json.dumps(summary)
    print(line, flush=True)
    if args.json:
        args.json.write_text(line + "\n")
    return EXIT_FAILED if summary["failed"] else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
