"""Bundles that pass their hashes but cannot work, and store/engine failures at `groomguard serve`
start-up: one line on stderr and exit 2, never a traceback, never "ready" then 503 on every score."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.support.server import free_port
from groomguard.bundle import Bundle, BundleManifest, write_manifest
from groomguard.errors import BundleError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def bundle_copy(tiny_bundle_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_bundle_dir, tmp_path / "b"))


def _edit_manifest(path: Path, **changes: object) -> None:
    data = json.loads((path / "bundle.json").read_text())
    data.update(changes)
    (path / "bundle.json").write_text(json.dumps(data))


def _rehash(path: Path) -> None:
    """Re-sign the bundle after tampering, so only the content (not the hash) is wrong."""
    write_manifest(path, Bundle.load(path, verify=False).manifest)


def serve(bundle: Path, store_url: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "groomguard", "serve", "--bundle", str(bundle), "--store-url", store_url,
           "--port", str(free_port()), "--set", "engine.providers=[CPUExecutionProvider]"]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)


def _one_line_exit_2(r: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, r.stderr[-2000:]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


@pytest.mark.parametrize("name", ["../../../../etc/hostname", "/etc/hostname", "sub/../../x", ".", "a\\..\\..\\x"])
def test_manifest_files_are_confined_to_the_bundle(bundle_copy: Path, name: str) -> None:
    files = json.loads((bundle_copy / "bundle.json").read_text())["files"]
    _edit_manifest(bundle_copy, files={**files, name: "0" * 64})
    with pytest.raises(BundleError, match="not a file inside the bundle directory"):
        Bundle.load(bundle_copy, verify=False)


def test_non_utf8_manifest_is_a_bundle_error(bundle_copy: Path) -> None:
    raw = (bundle_copy / "bundle.json").read_bytes().replace(b'"name"', b'"n\xe9me"', 1)
    (bundle_copy / "bundle.json").write_bytes(raw)
    with pytest.raises(BundleError, match="not UTF-8"):
        Bundle.load(bundle_copy)


def test_corrupt_tokenizer_with_matching_hash_is_one_line(bundle_copy: Path, tmp_path: Path) -> None:
    (bundle_copy / "tokenizer.json").write_text('{"version": "1.0", "model": 42}')
    _rehash(bundle_copy)
    Bundle.load(bundle_copy)  # the hash matches: only loading it can tell
    _one_line_exit_2(serve(bundle_copy, f"sqlite:///{tmp_path / 'gg.db'}"), "tokenizer.json", "not a valid tokenizer")


def test_corrupt_onnx_with_matching_hash_is_one_line(bundle_copy: Path, tmp_path: Path) -> None:
    (bundle_copy / "model.onnx").write_bytes(b"\x08\x07not a model graph" * 50)
    _rehash(bundle_copy)
    _one_line_exit_2(serve(bundle_copy, f"sqlite:///{tmp_path / 'gg.db'}"), "model.onnx", "cannot load")


def test_unknown_output_name_is_one_line_at_load(bundle_copy: Path, tmp_path: Path) -> None:
    manifest = Bundle.load(bundle_copy).manifest
    onnx = manifest.onnx.model_copy(update={"output": "probabilities"})
    write_manifest(bundle_copy, BundleManifest.model_validate({**manifest.model_dump(), "onnx": onnx.model_dump()}))
    _one_line_exit_2(serve(bundle_copy, f"sqlite:///{tmp_path / 'gg.db'}"), "'probabilities'", "onnx.output")


def test_store_that_cannot_be_created_is_one_line(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    _one_line_exit_2(serve(tiny_bundle_dir, f"sqlite:///{blocker / 'var' / 'gg.db'}"), "store.url", "a-file")


def test_bad_store_url_is_one_line(tiny_bundle_dir: Path) -> None:
    _one_line_exit_2(serve(tiny_bundle_dir, "notadb://nowhere/x"), "store.url")


def test_unreachable_postgres_is_one_line(tiny_bundle_dir: Path) -> None:
    line = _one_line_exit_2(serve(tiny_bundle_dir, f"postgresql+psycopg://gg:hunter2@127.0.0.1:{free_port()}/none"),
                            "cannot open the store")
    assert "hunter2" not in line
