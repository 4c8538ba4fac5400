"""Backfill configuration: the `backfill:` section of configs/serve.yaml (defaults live there)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class BackfillConfig(BaseModel):
    """How `groomguard score --engine ray` spreads work over a Ray cluster.

    `batch_size` is the number of conversations one actor scores in one engine call; it equals the
    local engine's `score --chunk`, so both engines form the same padded batches and give the same
    risks bit for bit. `shard_conversations` is the output shard size and the unit a rerun skips.
    """

    model_config = ConfigDict(extra="forbid")

    actors: int = Field(default=2, ge=1)  # scoring actors, one ScoringEngine each
    cpus_per_actor: float = Field(default=1.0, gt=0)
    gpus_per_actor: float = Field(default=0.0, ge=0)  # e.g. 1, or 0.25 to pack four actors on a GPU
    intra_op_threads: int | None = Field(default=1, ge=0)  # ONNX Runtime threads per actor; null = engine's
    batch_size: int = Field(default=256, ge=1)
    shard_conversations: int = Field(default=8192, ge=1)

    def shard_size(self) -> int:
        """Shards hold whole batches, so a batch never spans two shards (or two input files)."""
        return max(1, self.shard_conversations // self.batch_size) * self.batch_size
