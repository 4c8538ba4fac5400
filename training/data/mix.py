"""`groomguard data mix`: the training mix that cannot learn "real vs synthetic".

Inputs: an author split of the SYNTHETIC corpus and real benign chat (canonical JSONL of the
chit-chat corpus). Outputs in `out_dir`:

- ``train.jsonl`` / ``val.jsonl``: synthetic grooming + synthetic benign + real benign chat +
  grafted positives (real openings continued by synthetic tactics in the participants' own
  register, `groomguard.training.synth.graft`) + (train only) benign grafts (the same, continued by benign and
  hard-negative scenarios), so that neither class can be told by style or source;
- ``test.jsonl``: the synthetic test split, unchanged (in-distribution numbers);
- ``real-test.jsonl``: a fixed, seeded sample of held-out real chat (`groomguard.training.data.real_test_rule` rule),
  first `max_messages` each, the false-alert set; ``real-test-full.jsonl``: every held-out real
  conversation with >= `min_messages`, at full length (served conversations are not cut: a running
  maximum grows with length); ``real-test-grafted.jsonl``: grafted positives built only from real-test
  openings with the `pools.test` half, the recall set for grooming in real people's register, and,
  when the pools differ, ``real-test-grafted-same.jsonl`` built with the training half (same-pool
  beside template-disjoint). None of these is ever trained on;
- ``test-disjoint.jsonl`` (with `synthetic_test`): a synthetic corpus from the other pool half;
- ``real-train-full.jsonl``: the training side's real chats (the validation and real-test sides
  excluded) at full length, the lexical head's extra benign windows (`lexical.extra_benign`);
- ``manifest.json``: counts per split and source, seeds, sha256 of every file.

Real chat is split by *conversation*, not by author: the chit-chat corpus's author graph is one
connected component (6,086 of the 6,287 non-test conversations), so an author split is impossible.
The held-out rule is by corpus key and does not depend on this split.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from groomguard.bundle import sha256_file
from groomguard.errors import DataError
from groomguard.jsonl import iter_jsonl, write_jsonl
from groomguard.schema import Conversation
from groomguard.training.data.mix_config import MixConfig
from groomguard.training.data.real_test_rule import REAL_TEST_DIGEST_PREFIXES, is_real_test
from groomguard.training.synth.config import load_synth_settings
from groomguard.training.synth.generator import packs
from groomguard.training.synth.graft import GraftSettings, graft
from groomguard.training.synth.templates import PoolHalf

OUTPUTS = ("train", "val", "test", "real-test", "real-test-full", "real-test-grafted")


def _read(path: Path) -> list[Conversation]:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    return list(iter_jsonl(path))


def _truncate(conv: Conversation, n: int) -> Conversation:
    return conv if len(conv.messages) <= n else conv.model_copy(update={"messages": conv.messages[:n]})


def _sample(rng: random.Random, items: Sequence[Conversation], n: int) -> list[Conversation]:
    return list(items) if n <= 0 or n >= len(items) else rng.sample(list(items), n)


def make_grafts(sources: Sequence[Conversation], n: int, cfg: MixConfig, seed: int,
                benign: bool = False, half: PoolHalf | None = None) -> list[Conversation]:
    """`n` grafts cycling over `sources` in a seeded order (the k-th pass uses graft n=k); synthetic
    lines from pool half `half` (default: the training half)."""
    settings = GraftSettings(cfg.graft.opening, cfg.graft.beats, cfg.graft.filler, cfg.min_messages)
    generator = load_synth_settings(cfg.synth_config).generator
    order = list(sources)
    random.Random(seed).shuffle(order)
    out: list[Conversation] = []
    i = 0
    while len(out) < n and order and i < 10 * n + len(order):
        g = graft(order[i % len(order)], i // len(order), seed, packs()["en"], generator, settings, benign,
                  half or cfg.pools.train)
        if g is not None:
            out.append(g)
        i += 1
    return out


def _describe(convs: Sequence[Conversation]) -> dict[str, Any]:
    by = Counter(f"{c.source or 'unknown'}:{c.label}" for c in convs)
    return {"conversations": len(convs), "positives": sum(c.label == 1 for c in convs), "by_source_label": dict(by)}


def build_mix(cfg: MixConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Build and write the mix; returns the manifest."""
    synth = {s: _read(cfg.synthetic_dir / f"{s}.jsonl") for s in ("train", "val", "test")}
    for name, convs in synth.items():
        if any(is_real_test(c) for c in convs):
            raise DataError(f"{cfg.synthetic_dir / name}.jsonl: contains real-test chit-chat conversations")
    whole = sorted((c.model_copy(update={"label": 0}) for c in _read(cfg.real)
                    if c.label in (None, 0) and len(c.messages) >= cfg.min_messages), key=lambda c: c.conversation_id)
    real = [_truncate(c, cfg.max_messages) for c in whole]
    held = [c for c in real if is_real_test(c)]
    pool = [c for c in real if not is_real_test(c)]
    full_by_id = {c.conversation_id: c for c in whole}
    if not pool or not held:
        raise DataError(f"{cfg.real}: needs real conversations on both sides of the real-test rule "
                        f"(found {len(pool)} trainable, {len(held)} real-test with >= {cfg.min_messages} messages)")
    rng = random.Random(cfg.seed)
    shuffled = list(pool)
    rng.shuffle(shuffled)
    n_val = max(1, round(cfg.real_val_share * len(shuffled)))
    pool_val, pool_train = shuffled[:n_val], shuffled[n_val:]
    real_train = _sample(rng, pool_train, cfg.real_train)
    real_val = _sample(rng, pool_val, cfg.real_val)
    if cfg.real_val_rest:  # after the draw, so the seeded stream (and with it train.jsonl) is unchanged
        drawn = {c.conversation_id for c in real_val}
        real_val += sorted((c for c in pool_val if c.conversation_id not in drawn), key=lambda c: c.conversation_id)
    # validation chats at full length (val_max_messages 0): the alert budget is chosen on what is served
    real_val = [_truncate(full_by_id[c.conversation_id], cfg.val_max_messages or 10**9) for c in real_val]
    benign_grafts = make_grafts(pool_train, round(cfg.benign_grafts_share * len(real_train)), cfg, cfg.seed, True)
    grafts_train = make_grafts(pool_train, cfg.grafts_train or len(real_train) + len(benign_grafts), cfg, cfg.seed)
    grafts_val = make_grafts(pool_val, cfg.grafts_val, cfg, cfg.seed + 1)
    trng = random.Random(cfg.real_test.seed)
    test_benign = sorted(_sample(trng, held, cfg.real_test.benign), key=lambda c: c.conversation_id)
    test_grafted = make_grafts(held, cfg.real_test.grafted, cfg, cfg.real_test.seed, half=cfg.pools.test)
    test_full = [full_by_id[c.conversation_id] for c in held]
    # the training side's real chats at full length (never validation or real-test): the lexical head's
    # extra benign windows (configs/train-demo.yaml lexical.extra_benign), the long-chat register
    train_full = [full_by_id[c.conversation_id] for c in sorted(pool_train, key=lambda c: c.conversation_id)]

    train = [*synth["train"], *real_train, *benign_grafts, *grafts_train]
    val = [*_sample(rng, synth["val"], cfg.synthetic_val), *real_val, *grafts_val]
    rng.shuffle(train)
    rng.shuffle(val)
    outputs = {"train": train, "val": val, "test": synth["test"], "real-test": test_benign,
               "real-test-full": test_full, "real-test-grafted": test_grafted, "real-train-full": train_full}
    if cfg.pools.test != cfg.pools.train:  # same-pool recall beside the template-disjoint one
        outputs["real-test-grafted-same"] = make_grafts(held, cfg.real_test.grafted, cfg, cfg.real_test.seed,
                                                        half=cfg.pools.train)
    if cfg.synthetic_test is not None:
        disjoint = _read(cfg.synthetic_test)
        if any(is_real_test(c) for c in disjoint):
            raise DataError(f"{cfg.synthetic_test}: contains real-test chit-chat conversations")
        outputs["test-disjoint"] = disjoint
    for name in ("train", "val", "real-train-full"):  # the rule, checked on what is written (cannot be bent by config)
        if any(is_real_test(c) for c in outputs[name]):
            raise DataError(f"internal error: real-test conversation in {name}")
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Any] = {}
    for name, convs in outputs.items():
        path = cfg.out_dir / f"{name}.jsonl"
        write_jsonl(path, convs)
        files[name] = {**_describe(convs), "file": path.name, "sha256": sha256_file(path)}
        log(f"{name}: {files[name]['conversations']} conversations ({files[name]['positives']} grooming)")
    manifest = {
        "held_out_rule": "chit-chat corpus keys whose sha256 hex digest starts with "
                         f"{'/'.join(REAL_TEST_DIGEST_PREFIXES)} are real-test: never trained, tuned or calibrated on",
        "pools": {"train": cfg.pools.train, "test": cfg.pools.test},
        "real": {"path": str(cfg.real), "eligible": len(real), "real_test_eligible": len(held),
                 "trainable": len(pool), "split": "by conversation (the corpus's author graph is one component)"},
        "config": cfg.model_dump(mode="json"),
        "files": files,
    }
    (cfg.out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
