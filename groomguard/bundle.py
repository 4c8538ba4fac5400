"""The model bundle: the one artefact that moves from training to evaluation to serving.

Layout (docs/design.md): ``bundle.json``, ``tokenizer.json``, ``model.onnx`` (+ optional
``model.fused.onnx`` / ``model.int8.onnx`` / ``model.fp16.onnx`` / ``model.fused-fp16.onnx``),
optional ``lexical.npz`` (the lexical head: groomguard/lexical.py), ``model_card.md``. Every
consumer loads it through `Bundle.load`, which verifies sha256s and refuses versions it cannot honour.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError
from tokenizers import Tokenizer

from groomguard.errors import BundleError
from groomguard.lexical import LEXICAL_FILE, Head, Hybrid, LexicalHead
from groomguard.lexical_words import WordHead
from groomguard.normalise import SUPPORTED_NORMALISATION_VERSIONS, NormalisationConfig
from groomguard.scores import Thresholds
from groomguard.windowing import WindowConfig, Windower

BUNDLE_FORMAT_VERSION = 1
MANIFEST = "bundle.json"
TOKENIZER = "tokenizer.json"
# "bf16" is no file of its own: OpenVINO runs model.onnx at bf16 precision (serving/backends/openvino.py)
# "fused-fp16": the fused graph in fp16, for GPUs (training/export/fused_fp16.py)
MODEL_FILES: dict[str, str] = {"fp32": "model.onnx", "fused": "model.fused.onnx", "int8": "model.int8.onnx",
                               "fp16": "model.fp16.onnx", "bf16": "model.onnx", "fused-fp16": "model.fused-fp16.onnx"}
# "fused": fp32 with ONNX Runtime contrib-op fusions
Variant = Literal["fp32", "fused", "int8", "fp16", "bf16", "fused-fp16"]


class NormalisationInfo(BaseModel):
    version: int
    deobfuscate: bool


class Calibration(BaseModel):
    """risk = sigmoid((l_pos - l_neg) / temperature + bias); bias is 0 for temperature scaling."""

    method: Literal["temperature", "platt", "none"]
    temperature: float = Field(default=1.0, gt=0.0)
    bias: float = 0.0
    ece_val: float | None = None  # expected calibration error on validation windows, after scaling


class LexicalInfo(BaseModel):
    """The lexical head beside the transformer (groomguard/lexical.py): served risk =
    sigmoid(z / temperature + bias), z = (1 - weight) * transformer margin * transformer_scale
    + weight * lexical margin. The calibration and thresholds of the bundle are fitted on z."""

    file: str = LEXICAL_FILE
    weight: float = Field(ge=0.0, le=1.0)
    transformer_scale: float = Field(gt=0.0)  # 1 / the transformer's own validation temperature
    ngram_max: int = Field(ge=1)
    features: int = Field(ge=0)
    train_windows: int = Field(default=0, ge=0)
    extra_benign_windows: int = Field(default=0, ge=0)  # of train_windows: benign-only chats (lexical.extra_benign)
    units: Literal["ids", "words"] = "ids"  # n-grams of token ids, or of the words they decode to (lexical.units)


class OperatingPointInfo(BaseModel):
    """How a threshold was chosen and what it did on validation conversations (running max)."""

    threshold: float
    precision: float | None = None
    recall: float | None = None
    alerts_per_1000_real: float | None = None  # alerts per 1,000 real benign validation conversations
    rule: str = ""


class OnnxSignature(BaseModel):
    """Tensor names of the exported graph; Triton's config.pbtxt and the engine both read them."""

    inputs: list[str] = Field(default_factory=lambda: ["input_ids", "attention_mask"])
    output: str = "logits"
    positive_index: int = 1
    opset: int = 17


class BudgetCheck(BaseModel):
    """The bundle's thresholds applied to this variant's risks on the validation conversations (every
    prefix window, running max), as the export measured them: serving may pick a variant automatically
    only when `passed` (serving/variant_choice.py), so the alert budget the thresholds were chosen for
    holds on what is served, not only on fp32."""

    passed: bool
    review_alerts_per_1000_real: float | None = None
    high_alerts_per_1000_real: float | None = None
    review_recall: float | None = None
    high_recall: float | None = None
    detail: str = ""  # why it failed, or what it was compared with


class VariantInfo(BaseModel):
    """One model file and what was measured about it at export (older bundles: file + error only)."""

    file: str
    budget_check: BudgetCheck | None = None  # None: not checked (never chosen by `auto`, fp32 aside)
    max_abs_delta_prob: float | None = None  # against fp32 on held-out windows
    method: str | None = None  # how it was made, e.g. "ORT transformer optimizer" or "static QDQ ..."
    windows_per_s: dict[str, float] = Field(default_factory=dict)  # batch size -> windows/s on the parity windows
    measured_on: str | None = None  # the export machine the speeds come from (CPU, cores, ORT, threads)


class TrainingDataInfo(BaseModel):
    fingerprint: str = ""
    train_path: str | None = None
    val_path: str | None = None
    test_path: str | None = None
    synthetic: bool = False
    n_train_conversations: int | None = None


class BundleManifest(BaseModel):
    """Contents of bundle.json."""

    format_version: int = BUNDLE_FORMAT_VERSION
    name: str
    version: str
    created_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    groomguard_version: str = ""
    base_model: str
    max_length: int
    stride: int = 1
    normalisation: NormalisationInfo
    thresholds: Thresholds
    # Required: a bundle.json without it used to be served as T = 1, bias = 0 without a word. An
    # uncalibrated model says so explicitly ({"method": "none"}).
    calibration: Calibration
    operating_points: dict[str, OperatingPointInfo] = Field(default_factory=dict)  # review, high
    onnx: OnnxSignature = Field(default_factory=OnnxSignature)
    variants: dict[str, VariantInfo] = Field(default_factory=dict)
    lexical: LexicalInfo | None = None  # None: the transformer alone
    pad_token_id: int = 0
    files: dict[str, str] = Field(default_factory=dict)  # file name -> sha256
    training_data: TrainingDataInfo = Field(default_factory=TrainingDataInfo)
    metrics: dict[str, Any] = Field(default_factory=dict)

    @property
    def window_config(self) -> WindowConfig:
        return WindowConfig(
            max_length=self.max_length,
            stride=self.stride,
            normalisation=NormalisationConfig(self.normalisation.version, self.normalisation.deobfuscate),
        )

    @property
    def model_ref(self) -> str:
        """`name@version`: what scores, cases and reports record as the model that produced them."""
        return f"{self.name}@{self.version}"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


class Bundle:
    """A verified bundle on disk."""

    def __init__(self, path: Path, manifest: BundleManifest) -> None:
        self.path = path
        self.manifest = manifest

    @classmethod
    def load(cls, path: str | Path, *, verify: bool = True) -> Bundle:
        path = Path(path)
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            raise BundleError(
                f"{path}: not a model bundle (no {MANIFEST}); build one with `make model` or `groomguard train`"
            )
        try:
            manifest = BundleManifest.model_validate_json(manifest_path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise BundleError(f"{manifest_path}: not UTF-8 text; re-export the bundle") from None
        except ValidationError as exc:
            first = exc.errors(include_input=False)[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise BundleError(f"{manifest_path}: {loc}: {first['msg']}") from None
        if manifest.format_version != BUNDLE_FORMAT_VERSION:
            raise BundleError(
                f"{manifest_path}: bundle format {manifest.format_version} is not supported by this "
                f"groomguard (supports {BUNDLE_FORMAT_VERSION}); re-export the bundle or upgrade"
            )
        if manifest.normalisation.version not in SUPPORTED_NORMALISATION_VERSIONS:
            raise BundleError(
                f"{manifest_path}: text normalisation v{manifest.normalisation.version} is not supported "
                f"(supports {sorted(SUPPORTED_NORMALISATION_VERSIONS)})"
            )
        for name in manifest.files:
            if not _confined(path, name):
                raise BundleError(f"{manifest_path}: files: {name!r} is not a file inside the bundle directory")
        bundle = cls(path, manifest)
        if verify:
            bundle.verify()
        return bundle

    def verify(self) -> None:
        """Check every listed file's sha256; the fp32 model and tokenizer are mandatory."""
        for required in (MODEL_FILES["fp32"], TOKENIZER):
            if required not in self.manifest.files:
                raise BundleError(f"{self.path}: {MANIFEST} does not list {required}")
        for name, expected in self.manifest.files.items():
            file = self.path / name
            if not file.is_file():
                raise BundleError(f"{self.path}: {name} is missing")
            actual = sha256_file(file)
            if actual != expected:
                raise BundleError(
                    f"{file}: sha256 mismatch (bundle.json says {expected[:12]}…, file is {actual[:12]}…); "
                    "the file was modified or corrupted — re-export the bundle"
                )

    def model_path(self, variant: Variant = "fp32") -> Path:
        name = MODEL_FILES[variant]
        if name not in self.manifest.files:
            raise BundleError(f"{self.path}: bundle has no {variant} model ({name}); export it or choose fp32")
        return self.path / name

    def tokenizer(self) -> Tokenizer:
        """The bundle's tokenizer; a file that matches its hash but does not parse is a BundleError."""
        try:
            return Tokenizer.from_file(str(self.path / TOKENIZER))
        except Exception as exc:  # tokenizers raises a bare Exception for malformed JSON
            raise BundleError(f"{self.path / TOKENIZER}: not a valid tokenizer ({exc.__class__.__name__}); "
                              "re-export the bundle") from None

    def windower(self) -> Windower:
        return Windower(self.tokenizer(), self.manifest.window_config)

    def hybrid(self) -> Hybrid | None:
        """The lexical head and its weights, or None for a transformer-only bundle."""
        info = self.manifest.lexical
        if info is None:
            return None
        if info.file not in self.manifest.files:
            raise BundleError(f"{self.path}: {MANIFEST} names the lexical head {info.file} but does not list it")
        file = self.path / info.file
        head: Head = LexicalHead.load(file) if info.units == "ids" else WordHead.load(file, self.tokenizer())
        if head.ngram_max != info.ngram_max or head.n_features != info.features:
            raise BundleError(f"{self.path / info.file}: does not match {MANIFEST} lexical (n-grams, features)")
        return Hybrid(head, info.weight, info.transformer_scale, self.manifest.onnx.positive_index)


def _confined(bundle_dir: Path, name: str) -> bool:
    """True when `name` is a relative path that stays inside `bundle_dir` (no `..`, not absolute):
    a manifest must not make a consumer hash or load files elsewhere on the machine."""
    if not name or Path(name).is_absolute() or "\\" in name:
        return False
    root = bundle_dir.resolve()
    return (root / name).resolve().is_relative_to(root) and (root / name).resolve() != root


def write_manifest(path: str | Path, manifest: BundleManifest) -> BundleManifest:
    """Hash every artefact present in `path` and write bundle.json. Returns the manifest written."""
    path = Path(path)
    files = {}
    for name in [TOKENIZER, *dict.fromkeys(MODEL_FILES.values()), LEXICAL_FILE, "model_card.md"]:
        if (path / name).is_file():
            files[name] = sha256_file(path / name)
    manifest = manifest.model_copy(update={"files": files})
    (path / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return manifest
