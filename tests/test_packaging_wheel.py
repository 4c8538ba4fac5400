"""The wheel as a pipeline team installs it: built from this checkout, installed into a fresh venv
with the base dependencies only (no torch, no transformers), used from a directory outside the
repository. Serving-side commands work there; training-side ones name the extra to install.

Slow (~1 min: pip resolves the base dependencies from the configured indexes and its cache).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("training", "serving", "evaluation", "configs")  # installed as groomguard.<name> (setup.py)
CONVS = [
    {"conversation_id": "a", "messages": [{"author": "x", "text": "did you finish the maths homework?"},
                                          {"author": "y", "text": "not yet, page 40 is hard"}]},
    {"conversation_id": "b", "messages": [{"author": "x", "text": "you seem really mature for your age"},
                                          {"author": "y", "text": "thanks i guess"},
                                          {"author": "x", "text": "dont tell your parents we talk ok"}]},
]


def _run(cmd: list[str | Path], cwd: Path, env: dict[str, str],
         timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _source_copy(dest: Path) -> Path:
    """Tracked and untracked-not-ignored files only: what a clean checkout would build."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    base = tmp_path_factory.mktemp("wheel")
    src = _source_copy(base / "src")
    r = _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", base / "dist",
              f"{src}{os.sep}"], cwd=base, env=dict(os.environ))
    assert r.returncode == 0, r.stderr[-3000:]
    [wheel] = (base / "dist").glob("groomguard-*.whl")
    venv = base / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
           and not k.startswith("GROOMGUARD_")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    r = _run([sys.executable, "-m", "venv", venv], cwd=base, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    r = _run([venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel],
             cwd=base, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    outside = base / "elsewhere"
    outside.mkdir()
    return wheel, venv, env | {"HOME": str(base)}


def test_one_top_level_package(installed: tuple[Path, Path, dict[str, str]]) -> None:
    wheel, venv, env = installed
    with zipfile.ZipFile(wheel) as zf:
        [top] = [n for n in zf.namelist() if n.endswith(".dist-info/top_level.txt")]
        assert zf.read(top).decode().split() == ["groomguard"]
        names = set(zf.namelist())
    # every data file the code ships with (configs, desk templates and static files, keyword list, ...)
    tracked = subprocess.run(["git", "ls-files", "groomguard", *LAYERS], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    data_files = [f if f.startswith("groomguard/") else f"groomguard/{f}" for f in tracked if not f.endswith(".py")]
    assert "groomguard/configs/serve.yaml" in data_files and "groomguard/serving/desk/static/desk.css" in data_files
    assert [f for f in data_files if f not in names] == []
    for module in ("torch", "transformers", "training", "serving", "evaluation"):
        r = _run([venv / "bin" / "python", "-c", f"import {module}"], cwd=wheel.parent, env=env)
        assert r.returncode == 1 and "ModuleNotFoundError" in r.stderr, module


def test_serving_side_commands_work_outside_the_repository(installed: tuple[Path, Path, dict[str, str]],
                                                           tiny_bundle_dir: Path) -> None:
    from groomguard import Conversation, __version__, load_engine
    from groomguard.bundle import BUNDLE_FORMAT_VERSION
    from groomguard.normalise import NORMALISATION_VERSION

    wheel, venv, env = installed
    gg = venv / "bin" / "groomguard"
    cwd = wheel.parent.parent / "elsewhere"
    env = env | {"GROOMGUARD_STORE__URL": f"sqlite:///{cwd / 'gg.db'}"}

    r = _run([gg, "--version"], cwd, env)
    assert r.stdout.strip() == (f"groomguard {__version__} (normalisation v{NORMALISATION_VERSION}, "
                                f"bundle format {BUNDLE_FORMAT_VERSION})")
    r = _run([gg, "keys", "create", "--name", "wheel-test", "--scope", "score"], cwd, env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-1].startswith("gg_") and (cwd / "gg.db").is_file()
    r = _run([gg, "config", "show", "serve"], cwd, env)
    assert r.stdout == (ROOT / "configs" / "serve.yaml").read_text(encoding="utf-8")

    (cwd / "in.jsonl").write_text("".join(json.dumps(c) + "\n" for c in CONVS), encoding="utf-8")
    r = _run([gg, "score", "--bundle", tiny_bundle_dir, "-i", "in.jsonl", "-o", "scores.jsonl",
              "--set", "engine.providers=[CPUExecutionProvider]"], cwd, env)
    assert r.returncode == 0, r.stderr[-3000:]
    got = {s["conversation_id"]: s["risk_by_message"]
           for s in map(json.loads, (cwd / "scores.jsonl").read_text(encoding="utf-8").splitlines())}
    engine = load_engine(str(tiny_bundle_dir), providers=["CPUExecutionProvider"])  # this checkout, in process
    want = {s.conversation_id: s.risk_by_message
            for s in engine.score_conversations([Conversation.model_validate(c) for c in CONVS])}
    engine.close()
    assert got.keys() == want.keys()
    for cid in want:
        assert max(abs(a - b) for a, b in zip(got[cid], want[cid], strict=True)) < 1e-6

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(gg), "serve", "--bundle", str(tiny_bundle_dir), "--port", str(port),
                               "--set", "engine.providers=[CPUExecutionProvider]"], cwd=cwd, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline, ready = time.monotonic() + 90, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
                    ready = (resp.status, json.loads(resp.read()))
                    break
            except OSError:
                time.sleep(0.3)
        assert ready is not None, server.stderr.read()[-3000:] if server.poll() is not None else "no answer"
        assert ready[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_training_side_commands_name_the_extra(installed: tuple[Path, Path, dict[str, str]]) -> None:
    wheel, venv, env = installed
    gg = venv / "bin" / "groomguard"
    cwd = wheel.parent.parent / "elsewhere"
    r = _run([gg, "train", "--help"], cwd, env)
    assert r.returncode == 0 and "groomguard[train]" in " ".join(r.stdout.split())
    for cmd in (["train", "--config", "train-test"],
                ["export", "--checkpoint", ".", "--config", "train-test", "-o", "bundle"]):
        r = _run([gg, *cmd], cwd, env)
        assert r.returncode == 3, (cmd, r.stderr[-2000:])
        assert r.stderr.strip().splitlines() == [
            "error: this command needs the 'train' extra (torch is not installed): pip install 'groomguard[train]'"]
