"""Pins groomguard/bundle.py: verification refuses tampered or unsupported bundles."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from groomguard.bundle import BUNDLE_FORMAT_VERSION, Bundle, sha256_file
from groomguard.errors import BundleError


@pytest.fixture()
def bundle_copy(tiny_bundle_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_bundle_dir, tmp_path / "b"))


def _edit_manifest(path: Path, **changes: object) -> None:
    data = json.loads((path / "bundle.json").read_text())
    data.update(changes)
    (path / "bundle.json").write_text(json.dumps(data))


def test_loads_and_lists_hashes(bundle_copy: Path) -> None:
    b = Bundle.load(bundle_copy)
    assert b.manifest.format_version == BUNDLE_FORMAT_VERSION
    assert set(b.manifest.files) == {"tokenizer.json", "model.onnx", "model_card.md"}
    assert b.manifest.files["model.onnx"] == sha256_file(bundle_copy / "model.onnx")
    assert b.model_path("fp32") == bundle_copy / "model.onnx"
    assert b.windower().config.max_length == b.manifest.max_length
    assert b.manifest.model_ref == f"{b.manifest.name}@{b.manifest.version}"


@pytest.mark.parametrize("name", ["model.onnx", "tokenizer.json", "model_card.md"])
def test_refuses_modified_file(bundle_copy: Path, name: str) -> None:
    with (bundle_copy / name).open("ab") as fh:
        fh.write(b"\n")
    with pytest.raises(BundleError, match=rf"{name}: sha256 mismatch .* re-export the bundle"):
        Bundle.load(bundle_copy)
    Bundle.load(bundle_copy, verify=False)  # explicit opt-out still reads the manifest


def test_refuses_missing_file(bundle_copy: Path) -> None:
    (bundle_copy / "model_card.md").unlink()
    with pytest.raises(BundleError, match=r"model_card\.md is missing"):
        Bundle.load(bundle_copy)


def test_refuses_unsupported_format_version(bundle_copy: Path) -> None:
    _edit_manifest(bundle_copy, format_version=BUNDLE_FORMAT_VERSION + 1)
    with pytest.raises(BundleError, match=rf"bundle format {BUNDLE_FORMAT_VERSION + 1} is not supported"):
        Bundle.load(bundle_copy)


def test_refuses_unsupported_normalisation(bundle_copy: Path) -> None:
    _edit_manifest(bundle_copy, normalisation={"version": 99, "deobfuscate": True})
    with pytest.raises(BundleError, match="text normalisation v99 is not supported"):
        Bundle.load(bundle_copy)


@pytest.mark.parametrize(("version", "rendered"), [(1, "A: ieyo at spm"), (2, "A: 13yo at 5pm")])
def test_manifest_normalisation_version_drives_windows(bundle_copy: Path, version: int, rendered: str) -> None:
    # v1 bundles keep loading and keep v1's rendering (its digit defects included) after v2 became the default.
    _edit_manifest(bundle_copy, normalisation={"version": version, "deobfuscate": True})
    assert Bundle.load(bundle_copy).windower().render_message("A", "13yo at 5pm") == rendered


def test_refuses_invalid_manifest_and_non_bundle(bundle_copy: Path, tmp_path: Path) -> None:
    _edit_manifest(bundle_copy, max_length="long")
    with pytest.raises(BundleError, match=r"bundle.json: max_length: "):
        Bundle.load(bundle_copy)
    with pytest.raises(BundleError, match="not a model bundle"):
        Bundle.load(tmp_path / "empty")


def test_missing_variant_is_a_clear_error(bundle_copy: Path) -> None:
    with pytest.raises(BundleError, match=r"no int8 model \(model.int8.onnx\)"):
        Bundle.load(bundle_copy).model_path("int8")


def test_required_files_must_be_listed(bundle_copy: Path) -> None:
    data = json.loads((bundle_copy / "bundle.json").read_text())
    del data["files"]["tokenizer.json"]
    (bundle_copy / "bundle.json").write_text(json.dumps(data))
    with pytest.raises(BundleError, match=r"does not list tokenizer\.json"):
        Bundle.load(bundle_copy)


def test_refuses_a_manifest_without_calibration(bundle_copy: Path) -> None:
    """Serving used to score such a bundle silently with T = 1, bias = 0; it must say what is missing."""
    data = json.loads((bundle_copy / "bundle.json").read_text())
    del data["calibration"]
    (bundle_copy / "bundle.json").write_text(json.dumps(data))
    with pytest.raises(BundleError, match=r"bundle.json: calibration: Field required"):
        Bundle.load(bundle_copy)
    _edit_manifest(bundle_copy, calibration={"temperature": 2.0})  # a block must name its method too
    with pytest.raises(BundleError, match=r"calibration.method: Field required"):
        Bundle.load(bundle_copy)
    _edit_manifest(bundle_copy, calibration={"method": "none"})  # uncalibrated, said explicitly: served
    assert Bundle.load(bundle_copy).manifest.calibration.temperature == 1.0
