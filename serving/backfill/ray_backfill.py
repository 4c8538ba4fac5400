"""`groomguard score --engine ray`: score a JSONL history on a Ray cluster with Ray Data.

Pipeline: the driver plans the job (serving/backfill/manifest.py: hashes, chunks, shards, what a
previous run finished) -> a Ray Dataset of the pending chunks -> `read_chunk` tasks read each chunk's
byte range -> `ChunkScorer` actors (one `ScoringEngine` each, `backfill.actors` of them) score a
chunk per call -> the driver collects a shard's chunks, writes `part-NNNNN.jsonl` atomically and
records it in `manifest.json`. Output lines are exactly the local `groomguard score` lines.

The input files and the bundle must be readable at the same path on every node (shared storage,
or a one-machine cluster); the output directory is written by the driver alone.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from groomguard.bundle import MANIFEST as BUNDLE_MANIFEST
from groomguard.bundle import Bundle, sha256_file
from groomguard.errors import ConfigError, DataError, GroomguardError
from groomguard.serving.backfill.config import BackfillConfig
from groomguard.serving.backfill.manifest import (
    BackfillManifest,
    Shard,
    find_inputs,
    now,
    plan,
    read_manifest,
    resume_from,
    save_manifest,
    text_lines,
    write_atomic,
)
from groomguard.serving.engine_config import EngineConfig

log = logging.getLogger(__name__)
MAX_KEPT_ERRORS = 20


@dataclass
class BackfillRequest:
    bundle: Path
    input: Path
    output: Path  # a directory: part-*.jsonl + manifest.json
    engine: EngineConfig
    backfill: BackfillConfig
    stride: int = 1
    lenient: bool = False
    ray_address: str | None = None  # None: RAY_ADDRESS, else a local cluster on this machine
    show_progress: bool = True


@dataclass
class BackfillResult:
    manifest: BackfillManifest
    scored: int = 0  # conversations scored by this run
    shards_skipped: int = 0  # finished by an earlier run
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.scored / self.seconds if self.seconds > 0 else 0.0


def read_chunk(row: dict[str, Any]) -> dict[str, Any]:
    """Ray Data task: the chunk's byte range of its input file as text lines (blank ones dropped)."""
    with open(row["path"], "rb") as fh:
        fh.seek(row["start"])
        data = fh.read(row["end"] - row["start"])
    if row["start"] == 0 and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines, numbers = [], []
    lineno = row["first_line"] - 1
    for raw in BytesIO(data):
        for text in text_lines(raw, row["path"], lineno + 1):
            lineno += 1
            if text.strip():
                lines.append(text)
                numbers.append(lineno)
    return {"shard": row["shard"], "chunk": row["chunk"], "path": row["path"], "lines": lines, "lineno": numbers}


class ChunkScorer:
    """Ray actor: one ScoringEngine, one `score_conversations` call per chunk.

    Our own errors (a malformed line, a bundle the worker cannot load) come back in the row's
    `fatal` field rather than as exceptions: Ray's wrappers would bury the one-line message under
    remote tracebacks (and drop the exception chain on the way)."""

    def __init__(self, bundle_dir: str, engine: dict[str, Any], stride: int, lenient: bool) -> None:
        from groomguard.serving.engine import ScoringEngine, build_engine

        self.stride, self.lenient, self.fatal, self.used = stride, lenient, "", ""
        self.engine: ScoringEngine | None = None
        try:
            self.engine = build_engine(bundle_dir, EngineConfig.model_validate(engine))
        except GroomguardError as exc:
            self.fatal = str(exc)
            return
        backend = self.engine.backend
        self.used = f"{self.engine.variant or backend.name} on {getattr(backend, 'provider', backend.name)}"

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"shard": row["shard"], "chunk": row["chunk"], "records": [], "errors": [],
                               "engine": self.used, "fatal": self.fatal}
        if self.engine is None:
            return out
        try:
            out["records"], out["errors"] = self._score(row)
        except GroomguardError as exc:
            out["fatal"] = str(exc)
        return out

    def _score(self, row: dict[str, Any]) -> tuple[list[str], list[str]]:
        from groomguard.jsonl import parse_line

        assert self.engine is not None
        convs, errors = [], []
        for line, number in zip(row["lines"], row["lineno"], strict=True):
            try:
                convs.append(parse_line(line, f"{row['path']}:{number}"))
            except DataError as exc:
                if not self.lenient:
                    raise
                errors.append(str(exc))
        scores = self.engine.score_conversations(convs, stride=self.stride) if convs else []
        return [s.to_json() for s in scores], errors


def run_backfill(req: BackfillRequest, echo: Callable[[str], None] = print) -> BackfillResult:
    """Plan (or resume) the backfill in `req.output`, score what is not finished, return the manifest."""
    bundle = Bundle.load(req.bundle)  # verified here, before any cluster starts
    if req.ray_address:
        check_reachable(req.ray_address)
    inputs = find_inputs(req.input)
    out = req.output
    if str(out) == "-" or (out.exists() and not out.is_dir()):
        raise ConfigError(f"--output: {out}: a Ray backfill writes a directory of shards; give a directory path")
    out.mkdir(parents=True, exist_ok=True)
    with _locked(out):
        files, shards = plan(inputs, req.backfill.batch_size, req.backfill.shard_size())
        stamp = now()
        fresh = BackfillManifest(
            created_at=stamp, updated_at=stamp, model=bundle.manifest.model_ref,
            bundle_sha256=sha256_file(bundle.path / BUNDLE_MANIFEST),
            engine={"backend": req.engine.backend, "variant": req.engine.variant}, stride=req.stride,
            lenient=req.lenient, batch_size=req.backfill.batch_size,
            shard_conversations=req.backfill.shard_size(), inputs=files, shards=shards)
        manifest = resume_from(fresh, read_manifest(out), out)
        save_manifest(out, manifest)
        pending = [s for s in manifest.shards if not s.done]
        result = BackfillResult(manifest, shards_skipped=len(manifest.shards) - len(pending))
        if result.shards_skipped:
            echo(f"resuming {out}: {result.shards_skipped} of {len(manifest.shards)} shards already done")
        if pending:
            t0 = time.perf_counter()
            _score(req, manifest, pending, result)
            result.seconds = time.perf_counter() - t0
        save_manifest(out, manifest)
    return result


def _score(req: BackfillRequest, manifest: BackfillManifest, pending: list[Shard], result: BackfillResult) -> None:
    import ray

    from groomguard.progress import progress_bar

    engine = req.engine.model_copy()
    if req.backfill.intra_op_threads is not None:
        engine.intra_op_threads = req.backfill.intra_op_threads
    rows = [{"shard": s.id, "chunk": k, "path": manifest.inputs[s.input].path, "start": c.byte_start,
             "end": c.byte_end, "first_line": c.first_line} for s in pending for k, c in enumerate(s.chunks)]
    owned = _connect(req.ray_address)
    _quiet_ray_data()
    try:
        chunks = ray.data.from_items(rows, override_num_blocks=len(rows))
        # File reads are light: as many reader tasks as actors, reserving no CPU (the actors hold the CPUs).
        lines = chunks.map(read_chunk, num_cpus=0, compute=ray.data.TaskPoolStrategy(size=req.backfill.actors))
        scored = lines.map(ChunkScorer,  # type: ignore[arg-type]  # a callable class: Ray runs it in actors
                           compute=ray.data.ActorPoolStrategy(size=req.backfill.actors),
                           num_cpus=req.backfill.cpus_per_actor, num_gpus=req.backfill.gpus_per_actor or None,
                           fn_constructor_kwargs={"bundle_dir": str(Path(req.bundle).resolve()),
                                                  "engine": engine.model_dump(), "stride": req.stride,
                                                  "lenient": req.lenient})
        got: dict[int, dict[int, dict[str, Any]]] = {s.id: {} for s in pending}
        with progress_bar(transient=not req.show_progress) as bar:
            task = bar.add_task("scoring conversations (ray)", total=sum(s.conversations for s in pending),
                                visible=req.show_progress)
            for row in scored.iter_rows():
                if row["fatal"]:
                    raise DataError(row["fatal"])
                got[row["shard"]][row["chunk"]] = row
                bar.advance(task, len(row["records"]) + len(row["errors"]))
                shard = manifest.shards[row["shard"]]
                if len(got[shard.id]) == len(shard.chunks):
                    parts = got.pop(shard.id)
                    _finish_shard(req.output, manifest, shard, [parts[k] for k in range(len(shard.chunks))])
                    result.scored += shard.scored
                    result.errors.extend(shard.errors)
    finally:
        if owned:
            ray.shutdown()


def _finish_shard(out: Path, manifest: BackfillManifest, shard: Shard, chunks: list[dict[str, Any]]) -> None:
    records = [line for c in chunks for line in c["records"]]
    errors = [e for c in chunks for e in c["errors"]]
    write_atomic(out / shard.file, "".join(f"{line}\n" for line in records))
    shard.sha256, shard.scored, shard.skipped = sha256_file(out / shard.file), len(records), len(errors)
    shard.errors, shard.done = errors[:MAX_KEPT_ERRORS], True
    for used in sorted({c["engine"] for c in chunks} - set(manifest.engines_used)):
        manifest.engines_used.append(used)
    save_manifest(out, manifest)


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail in seconds on a HOST:PORT nothing listens on (Ray itself retries for minutes).
    Other forms (ray://, auto) are left to Ray."""
    import socket

    host, sep, port = address.rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ConfigError(f"--ray-address: cannot reach {address} ({exc.__class__.__name__}); "
                          "is the Ray head running (`ray start --head`)?") from None


def _connect(address: str | None) -> bool:
    """Join the cluster at `address` (or RAY_ADDRESS, or start a local one); True if we started the
    connection (and so shut it down). A connection made by the caller (tests, notebooks) is reused."""
    import ray

    if ray.is_initialized():
        return False
    quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
    try:
        if address:
            ray.init(address=address, **quiet)
        else:
            # A cluster of our own lives on this machine only: Ray then binds loopback instead of the
            # network interface (its switch for single-machine clusters; a caller's setting wins).
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
            ray.init(include_dashboard=False, **quiet)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        where = address or "a local cluster"
        raise ConfigError(f"--ray-address: cannot connect to {where} ({exc.__class__.__name__})") from None
    return True


def _quiet_ray_data() -> None:
    """Our progress bar and summary line replace Ray Data's own bars and execution banners."""
    import ray

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)
    # "the operator only received N input(s)": a small job needs fewer actors than configured; fine.
    warnings.filterwarnings("ignore", message=".*only received", category=UserWarning)


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    """One backfill per output directory at a time (released by the OS if the process dies)."""
    with (out / ".lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"--output: {out} is being written by another backfill") from None
        yield
