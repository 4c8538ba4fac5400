"""Settings of `groomguard data mix` (defaults: configs/mix-demo.yaml)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from groomguard.config import load_config
from groomguard.training.synth.templates import PoolHalf


class GraftBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    opening: tuple[int, int] = (3, 14)
    beats: tuple[int, int] = (2, 6)
    filler: tuple[int, int] = (0, 3)


class PoolsBlock(BaseModel):
    """Which half of every synthetic pool each side draws from (`data synth --pool-half`): the
    template-disjoint yardstick trains on A and tests on B, so phrasings memorised in training
    cannot score on the test side."""

    model_config = ConfigDict(extra="forbid")
    train: PoolHalf = "all"   # train/val grafts (and, by convention, the synthetic corpus in synthetic_dir)
    test: PoolHalf = "all"    # real-test grafts (real-test-grafted.jsonl) and the synthetic_test corpus


class RealTestBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    benign: int = Field(200, gt=0)        # fixed, seeded sample of real-test conversations
    grafted: int = Field(120, gt=0)       # grafted positives built only from real-test openings
    seed: int = 20261125


class MixConfig(BaseModel):
    """Which data goes where. Paths are relative to the working directory."""

    model_config = ConfigDict(extra="forbid")
    synthetic_dir: Path                   # author split of the synthetic corpus: train/val/test.jsonl
    # Generator settings the grafts are continued with: the file `data synth --config` read for the
    # synthetic corpus, so both sides of the mix speak alike (None: the packaged configs/synth.yaml).
    synth_config: Path | None = None
    real: Path                            # canonical JSONL of real benign chat (`data convert --format chitchat`)
    out_dir: Path
    seed: int = 7
    min_messages: int = Field(10, ge=2)   # real conversations shorter than this are not used
    max_messages: int = Field(60, ge=2)   # ... and longer ones keep their first max_messages (training)
    val_max_messages: int = Field(0, ge=0)  # real validation chats: 0 = full length (the budget is set on these)
    real_val_share: float = Field(0.15, gt=0, lt=1)
    real_train: int = Field(0, ge=0)      # real benign conversations in train (0 = all eligible)
    real_val: int = Field(150, gt=0)      # ... in val (these set the false-alert budget)
    # Also every other validation-side real chat, appended after the seeded sample of `real_val`: the
    # budget is counted on more chats while train.jsonl and that sample stay byte-identical.
    real_val_rest: bool = False
    benign_grafts_share: float = Field(0.5, ge=0)  # benign grafts in train, per real benign conversation
    grafts_train: int = Field(0, ge=0)    # grafted positives in train (0 = real benign + benign grafts)
    grafts_val: int = Field(60, ge=0)
    synthetic_val: int = Field(60, ge=0)  # synthetic val conversations kept (0 = all)
    graft: GraftBlock = Field(default_factory=GraftBlock)
    pools: PoolsBlock = Field(default_factory=PoolsBlock)
    # A synthetic corpus generated from `pools.test` (`data synth --pool-half B`): written as
    # test-disjoint.jsonl beside the same-pool synthetic test split. None: no disjoint synthetic test.
    synthetic_test: Path | None = None
    real_test: RealTestBlock = Field(default_factory=RealTestBlock)


def load_mix_config(path: Path | None = None, overrides: list[str] | None = None) -> MixConfig:
    return load_config(MixConfig, path, overrides or [], default="mix-demo.yaml")
