"""Real benign chat: the chit-chat loader, the held-out real-test rule, grafted positives and the mix."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from groomguard.errors import DataError
from groomguard.jsonl import iter_jsonl, write_jsonl
from groomguard.schema import Conversation, Message
from groomguard.training.data.mix import build_mix
from groomguard.training.data.mix_config import MixConfig, RealTestBlock
from groomguard.training.data.real_test_rule import (
    assert_not_real_test,
    corpus_key,
    is_real_benign,
    is_real_test,
    is_real_test_key,
)
from groomguard.training.loaders import load
from groomguard.training.loaders.chitchat import iter_chitchat
from groomguard.training.synth.config import load_synth_settings
from groomguard.training.synth.generator import generate, packs
from groomguard.training.synth.graft import GraftSettings, graft
from tests.conftest import FIXTURES

CHITCHAT = FIXTURES / "chitchat" / "dataset.json"
# Keys of the fixture whose sha256 hex digest starts with 0 or 1 (computed by hand with sha256sum):
HELD_OUT = {"00000000-0000-0000-0000-00000000cae4", "00000000-0000-0000-0000-00000000e9d3",
            "00000000-0000-0000-0000-00000002003a"}


def test_loader_reads_turns_as_messages() -> None:
    convs = list(iter_chitchat(CHITCHAT))
    assert len(convs) == 9
    first = convs[0]
    assert first.conversation_id == "chitchat-00000000-0000-0000-0000-000000003039"
    assert (first.label, first.source, first.lang) == (0, "chitchat", "en")
    # 12 one-message turns + one turn of three messages, one of them blank (dropped) -> 13 messages.
    assert len(first.messages) == 13
    assert [m.text for m in first.messages[1:3]] == ["how's your week going?", "and you?"]
    assert first.messages[0].timestamp is not None and first.messages[0].timestamp.year == 2018
    assert len(set(first.authors)) == 2  # senders are authors


def test_loader_is_reachable_through_load_and_reports_bad_records(tmp_path: Path) -> None:
    assert len(list(load(CHITCHAT, "chitchat"))) == 9
    bad = tmp_path / "dataset.json"
    bad.write_text(json.dumps({"k1": {"messages": [[{"text": "hi", "sender": "a"}]]},
                               "k2": {"messages": [[{"text": 3, "sender": "b"}]]}}), encoding="utf-8")
    with pytest.raises(DataError, match=r"dataset.json: k2: turn 0 message 0: text: expected a string"):
        list(iter_chitchat(bad))
    assert [c.conversation_id for c in iter_chitchat(bad, strict=False)] == ["chitchat-k1"]
    (tmp_path / "list.json").write_text("[]", encoding="utf-8")
    with pytest.raises(DataError, match="expected a JSON object"):
        list(iter_chitchat(tmp_path / "list.json"))


def test_real_test_rule_is_the_sha256_prefix() -> None:
    for key in HELD_OUT:
        assert hashlib.sha256(key.encode()).hexdigest()[0] in "01"
        assert is_real_test_key(key)
    held = {corpus_key(c.conversation_id) for c in iter_chitchat(CHITCHAT) if is_real_test(c)}
    assert held == HELD_OUT
    graft_of_held = Conversation(conversation_id=f"chitchat-{min(HELD_OUT)}/graft-3", label=1,
                                 messages=[Message(author="a", text="x")], source="chitchat+synthetic")
    assert is_real_test(graft_of_held)  # a graft keeps its opening's fate
    assert not is_real_test(graft_of_held.model_copy(update={"conversation_id": "synth-7-all-000001"}))
    with pytest.raises(DataError, match="held-out real-test"):
        assert_not_real_test([graft_of_held], "train.jsonl")


def _real(key: str) -> Conversation:
    return next(c for c in iter_chitchat(CHITCHAT) if c.conversation_id == f"chitchat-{key}")


def test_graft_keeps_the_real_opening_and_length() -> None:
    src = _real("00000000-0000-0000-0000-000000004f28")
    synth = load_synth_settings().generator
    g = graft(src, 0, 7, packs()["en"], synth, GraftSettings(opening=(3, 4)))
    assert g is not None
    k = g.first_risk_index
    assert k in (3, 4)
    assert g.messages[:k] == src.messages[:k]  # the opening is the real conversation, verbatim
    assert len(g.messages) == len(src.messages)  # real continuation made room for the tactics
    assert (g.label, g.source) == (1, "chitchat+synthetic")
    assert "grafted" in g.tags and any(t.startswith("tactic:") for t in g.tags)
    assert g.predator_ids and g.predator_ids[0] in src.authors
    assert g.messages[k].author == g.predator_ids[0] and g.messages[k].message_id == "g0"
    assert set(g.authors) == set(src.authors)  # no new participant appears
    assert g == graft(src, 0, 7, packs()["en"], synth, GraftSettings(opening=(3, 4)))  # deterministic
    benign = graft(src, 0, 7, packs()["en"], synth, GraftSettings(opening=(3, 4)), benign=True)
    assert benign is not None and benign.label == 0 and benign.first_risk_index is None
    assert not is_real_benign(benign) and is_real_benign(src)  # partly synthetic: not "real chat"


def test_short_or_group_conversations_are_not_grafted() -> None:
    short = _real("00000000-0000-0000-0000-0000000000ff")
    assert graft(short, 0, 7, packs()["en"], load_synth_settings().generator, GraftSettings()) is None


def _mix(tmp_path: Path) -> MixConfig:
    synth_dir = tmp_path / "synth"
    convs = generate(30, seed=5)
    for name, part in (("train", convs[:20]), ("val", convs[20:25]), ("test", convs[25:])):
        write_jsonl(synth_dir / f"{name}.jsonl", part)
    real = tmp_path / "chitchat.jsonl"
    write_jsonl(real, iter_chitchat(CHITCHAT))
    return MixConfig(synthetic_dir=synth_dir, real=real, out_dir=tmp_path / "mix", seed=3, real_val_share=0.4,
                     real_val=5, grafts_val=2, synthetic_val=0, benign_grafts_share=0.5,
                     real_test=RealTestBlock(benign=2, grafted=3, seed=1))


def test_mix_keeps_real_test_out_of_training(tmp_path: Path) -> None:
    cfg = _mix(tmp_path).model_copy(update={"max_messages": 10})  # training chats cut, the fixture's are 12 long
    manifest = build_mix(cfg, log=lambda _: None)
    out = {name: list(iter_jsonl(cfg.out_dir / f"{name}.jsonl"))
           for name in ("train", "val", "test", "real-test", "real-test-grafted")}
    for name in ("train", "val"):
        assert not [c for c in out[name] if is_real_test(c)]
    # 8 real conversations have >= 10 messages; 3 are held out, 5 trainable: 2 val (0.4), 3 train.
    assert manifest["real"] == {**manifest["real"], "eligible": 8, "real_test_eligible": 3, "trainable": 5}
    assert {corpus_key(c.conversation_id) for c in out["real-test"]} <= HELD_OUT
    assert len(out["real-test"]) == 2 and all(c.label == 0 for c in out["real-test"])
    assert len(out["real-test-grafted"]) == 3
    assert {corpus_key(c.conversation_id) for c in out["real-test-grafted"]} <= HELD_OUT
    assert all(c.label == 1 and c.first_risk_index for c in out["real-test-grafted"])
    train_real = [c for c in out["train"] if c.source == "chitchat"]
    assert len(train_real) == 3
    # grooming grafts = real benign + benign grafts (round(0.5 * 3) = 2): the real origin carries no label
    grafts = [c for c in out["train"] if c.source == "chitchat+synthetic"]
    assert sum(c.label == 1 for c in grafts) == 3 + 2 and sum(c.label == 0 for c in grafts) == 2
    assert len([c for c in out["train"] if c.source == "synthetic"]) == 20
    # train and val draw real chat (plain and as graft openings) from disjoint pools: the validation
    # budget is measured on chats whose openings the model never saw
    train_keys = {corpus_key(c.conversation_id) for c in out["train"]} - {None}
    val_keys = {corpus_key(c.conversation_id) for c in out["val"]} - {None}
    assert len(train_keys) == 3 and len(val_keys) == 2 and not train_keys & val_keys
    assert out["test"] == list(iter_jsonl(cfg.synthetic_dir / "test.jsonl"))
    # the lexical head's extra benign chats: the 3 training-side real chats whole, where train has
    # their first 10 messages; never a validation or real-test chat
    source = {corpus_key(c.conversation_id): len(c.messages) for c in iter_chitchat(CHITCHAT)}
    train_full = list(iter_jsonl(cfg.out_dir / "real-train-full.jsonl"))
    assert {corpus_key(c.conversation_id) for c in train_full} == train_keys
    assert all(len(c.messages) == source[corpus_key(c.conversation_id)] and c.label == 0 for c in train_full)
    assert max(len(c.messages) for c in train_full) > 10 >= max(len(c.messages) for c in train_real)
    train_sha = hashlib.sha256((cfg.out_dir / "train.jsonl").read_bytes()).hexdigest()
    assert manifest["files"]["train"]["sha256"] == train_sha


def test_real_val_rest_adds_the_other_validation_chats_and_leaves_train_alone(tmp_path: Path) -> None:
    base = _mix(tmp_path).model_copy(update={"real_val": 1})
    rest = base.model_copy(update={"real_val_rest": True, "out_dir": tmp_path / "mix-rest"})
    build_mix(base, log=lambda _: None)
    build_mix(rest, log=lambda _: None)

    def real_val(cfg: MixConfig) -> set[str | None]:
        return {corpus_key(c.conversation_id) for c in iter_jsonl(cfg.out_dir / "val.jsonl") if c.source == "chitchat"}

    # the fixture's 5 trainable chats: 2 on the validation side (0.4); real_val 1 samples one of them
    one, both = real_val(base), real_val(rest)
    assert len(one) == 1 and len(both) == 2 and one < both
    # the added chat comes from the validation side, never from training
    train_keys = {corpus_key(c.conversation_id) for c in iter_jsonl(base.out_dir / "train.jsonl")} - {None}
    assert not both & train_keys
    for name in ("train.jsonl", "real-train-full.jsonl", "real-test.jsonl"):
        assert (base.out_dir / name).read_bytes() == (rest.out_dir / name).read_bytes()


@pytest.mark.parametrize("where", ["train", "val", "extra_train"])
def test_training_refuses_a_split_with_real_test(tmp_path: Path, where: str) -> None:
    """Each branch of the guard in training/data/prepare.py: real-test in train, in val, in extra files."""
    from benchmarks.support.tiny_bundle import minilm_dir
    from groomguard.training.data.prepare import prepare_data
    from groomguard.training.train_config import TrainConfig

    cfg = _mix(tmp_path)
    build_mix(cfg, log=lambda _: None)
    base = "val" if where == "val" else "train"
    leaked = tmp_path / f"leaky-{where}.jsonl"
    write_jsonl(leaked, [*iter_jsonl(cfg.out_dir / f"{base}.jsonl"), *iter_jsonl(cfg.out_dir / "real-test.jsonl")])
    data = {"train": cfg.out_dir / "train.jsonl", "val": cfg.out_dir / "val.jsonl"}
    if where == "extra_train":
        data["extra_train"] = [leaked]  # type: ignore[assignment]
    else:
        data[where] = leaked
    tc = TrainConfig(name="t", data=data)  # type: ignore[arg-type]
    with pytest.raises(DataError, match=rf"leaky-{where}.jsonl: 2 conversation\(s\) come from the held-out real-test"):
        prepare_data(tc, minilm_dir() / "tokenizer.json", need_train=where != "val")


def test_style_shortcut_check_sees_origin(tmp_path: Path) -> None:
    from groomguard.training.synth.shortcuts import origin, shallow_auc

    real = list(iter_chitchat(CHITCHAT))
    synth = generate(len(real), seed=9)
    assert {origin(c) for c in real} == {"chitchat"} and {origin(c) for c in synth} == {"synthetic"}
    assert origin(real[0].model_copy(update={"source": "chitchat+synthetic"})) == "chitchat"
    # Label = origin: the check must see it (near-perfect AUC); without origin it only has style.
    leaky = [c.model_copy(update={"label": 0}) for c in real] + [c.model_copy(update={"label": 1}) for c in synth]
    assert min(shallow_auc(leaky, folds=3, with_origin=True).values()) > 0.9


def test_audit_reports_style_auc_on_a_mix(tmp_path: Path) -> None:
    from groomguard.training.synth.audit import run_audit

    cfg = _mix(tmp_path)
    build_mix(cfg, log=lambda _: None)
    settings = load_synth_settings(overrides=["audit.cv_folds=3"])
    report = run_audit(cfg.out_dir / "train.jsonl", settings, with_template_disjoint=False)
    assert set(report.origins) == {"chitchat", "synthetic"}
    assert set(report.style_auc) == {"logistic_regression", "gradient_boosting"}
    assert report.style_auc_limit == 0.70
    assert report.to_dict()["style_ok"] == (max(report.style_auc.values()) < 0.70)
    synthetic_only = run_audit(cfg.synthetic_dir / "train.jsonl", settings, with_template_disjoint=False)
    assert synthetic_only.style_auc == {} and synthetic_only.style_ok  # one origin: nothing to check
