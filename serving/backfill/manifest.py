"""The backfill plan and its manifest: which input bytes become which output shard.

Invariants:
- Inputs are a JSONL file or every `*.jsonl` under a directory (recursive, sorted by path); each
  is hashed (sha256) while it is planned, so a rerun on changed input is refused, not mixed.
- A shard is a run of consecutive conversations of one input file, cut into chunks of
  `batch_size` conversations (byte ranges). A chunk is scored by one `score_conversations` call,
  exactly as the local `groomguard score` scores its `--chunk`s, so the risks are identical.
- `manifest.json` is rewritten atomically after every finished shard; a shard counts as done only
  when the manifest says so and its file still has the recorded sha256. A rerun skips done shards.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from groomguard.atomic import atomic_write
from groomguard.bundle import sha256_file
from groomguard.errors import ConfigError, DataError

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class InputFile(BaseModel):
    path: str
    sha256: str
    bytes: int
    conversations: int  # non-blank lines


class Chunk(BaseModel):
    byte_start: int
    byte_end: int
    first_line: int  # 1-based physical line number of byte_start (for error messages)
    conversations: int


class Shard(BaseModel):
    id: int
    file: str  # output file name inside the output directory
    input: int  # index into inputs
    chunks: list[Chunk]
    conversations: int
    done: bool = False
    sha256: str | None = None  # of the output file, once done
    scored: int = 0
    skipped: int = 0  # malformed lines skipped (lenient runs only)
    errors: list[str] = Field(default_factory=list)  # first few skip reasons (file:line: field: why)


class BackfillManifest(BaseModel):
    format_version: int = FORMAT_VERSION
    kind: str = "groomguard-backfill"
    created_at: str
    updated_at: str
    model: str  # bundle name@version, as in every output record
    bundle_sha256: str  # sha256 of bundle.json, which lists every bundle file's sha256
    engine: dict[str, Any]  # backend + variant asked for
    engines_used: list[str] = Field(default_factory=list)  # "variant on provider" the actors reported
    stride: int
    lenient: bool
    batch_size: int
    shard_conversations: int
    inputs: list[InputFile]
    shards: list[Shard]
    counts: dict[str, int] = Field(default_factory=dict)
    complete: bool = False

    def job_key(self) -> dict[str, Any]:
        """What must match for a rerun to resume this backfill instead of starting another."""
        return {"inputs": [(i.path, i.sha256) for i in self.inputs], "bundle_sha256": self.bundle_sha256,
                "engine": self.engine, "stride": self.stride, "lenient": self.lenient,
                "batch_size": self.batch_size, "shard_conversations": self.shard_conversations}

    def refresh_counts(self) -> None:
        done = [s for s in self.shards if s.done]
        self.counts = {"conversations": sum(s.conversations for s in self.shards), "shards": len(self.shards),
                       "shards_done": len(done), "scored": sum(s.scored for s in done),
                       "skipped": sum(s.skipped for s in done)}
        self.complete = len(done) == len(self.shards)
        self.updated_at = now()


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def find_inputs(path: Path) -> list[Path]:
    """The JSONL files a backfill reads: `path` itself, or every *.jsonl below a directory."""
    if str(path) == "-":
        raise DataError("--input: a Ray backfill reads files (every worker opens them), not stdin")
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.jsonl") if p.is_file() and not p.name.startswith("."))
        if not files:
            raise DataError(f"--input: {path}: no *.jsonl files in this directory")
        return files
    raise DataError(f"--input: {path}: no such file or directory")


def text_lines(raw: bytes, name: str, lineno: int) -> list[str]:
    """Decode one newline-terminated byte line the way `iter_jsonl` reads text (UTF-8, universal
    newlines: a lone CR also ends a line); `lineno` names the line in the error."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{name}:{lineno}: not UTF-8 text (UTF-16 or a legacy encoding?); "
                        "re-save the file as UTF-8") from None
    return text.rstrip("\n").removesuffix("\r").split("\r")


def plan_file(path: Path, batch_size: int) -> tuple[InputFile, list[Chunk]]:
    """Hash `path` and cut it into chunks of `batch_size` non-blank lines (byte ranges)."""
    digest, chunks = hashlib.sha256(), []
    pos = start = 0
    lineno, first, count, total = 0, 1, 0, 0
    with path.open("rb") as fh:
        for raw in fh:
            digest.update(raw)
            bom = pos == 0 and raw.startswith(b"\xef\xbb\xbf")  # tolerated at the start, as by iter_jsonl
            raw_text = raw[3:] if bom else raw
            for line in text_lines(raw_text, str(path), lineno + 1):
                lineno += 1
                if line.strip():
                    count += 1
                    total += 1
            pos += len(raw)
            if count >= batch_size:
                chunks.append(Chunk(byte_start=start, byte_end=pos, first_line=first, conversations=count))
                start, first, count = pos, lineno + 1, 0
    if count:
        chunks.append(Chunk(byte_start=start, byte_end=pos, first_line=first, conversations=count))
    return InputFile(path=str(path.resolve()), sha256=digest.hexdigest(), bytes=pos, conversations=total), chunks


def plan(inputs: list[Path], batch_size: int, shard_size: int) -> tuple[list[InputFile], list[Shard]]:
    """Every input's chunks grouped into shards of `shard_size // batch_size` chunks, numbered in order."""
    files: list[InputFile] = []
    shards: list[Shard] = []
    per_shard = max(1, shard_size // batch_size)
    for index, path in enumerate(inputs):
        info, chunks = plan_file(path, batch_size)
        files.append(info)
        for i in range(0, len(chunks), per_shard):
            group = chunks[i : i + per_shard]
            sid = len(shards)
            shards.append(Shard(id=sid, file=f"part-{sid:05d}.jsonl", input=index, chunks=group,
                                conversations=sum(c.conversations for c in group)))
    return files, shards


def read_manifest(out_dir: Path) -> BackfillManifest | None:
    path = out_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        return BackfillManifest.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, UnicodeDecodeError):
        raise ConfigError(f"--output: {path} is not a groomguard backfill manifest; "
                          "choose an empty directory") from None


def resume_from(fresh: BackfillManifest, old: BackfillManifest | None, out_dir: Path) -> BackfillManifest:
    """Carry the finished shards of `old` into `fresh` when both describe the same job."""
    if old is None:
        return fresh
    if old.job_key() != fresh.job_key():
        diff = [k for k, v in fresh.job_key().items() if old.job_key()[k] != v]
        raise ConfigError(f"--output: {out_dir} holds a backfill with different {', '.join(diff)}; "
                          "use a new output directory (or delete this one) to start another")
    fresh.created_at = old.created_at
    fresh.engines_used = old.engines_used
    for new, prev in zip(fresh.shards, old.shards, strict=True):
        file = out_dir / new.file
        if prev.done and prev.sha256 and file.is_file() and sha256_file(file) == prev.sha256:
            fresh.shards[new.id] = prev
    return fresh


def write_atomic(path: Path, data: str) -> None:
    """Write `data` to `path` through a temporary file renamed into place (never half-written)."""
    with atomic_write(path) as fh:
        fh.write(data)


def save_manifest(out_dir: Path, manifest: BackfillManifest) -> None:
    manifest.refresh_counts()
    write_atomic(out_dir / MANIFEST, manifest.model_dump_json(indent=1) + "\n")
