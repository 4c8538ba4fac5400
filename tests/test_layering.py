"""The import order docs/design.md describes, checked on the source (static imports, ast).

contract (groomguard/*.py, groomguard/normalise) < serving < evaluation < training < CLI: a module
imports only its own layer or the layers before it, at module level or inside a function. The one
named exception is the package facade `groomguard.load_engine` (groomguard/__init__.py), which
imports the serving engine inside the function so that `import groomguard` stays light. Benchmarks
never import the tests (they share `benchmarks/support/`).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("training", "serving", "evaluation")
RANK = {"contract": 0, "serving": 1, "evaluation": 2, "training": 3, "cli": 4}
# (importer, imported module prefix): each allowed upward import, with its reason in the docstring above
ALLOWED_UPWARD = {("groomguard", "groomguard.serving.engine"), ("groomguard", "groomguard.serving.engine_config")}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] in LAYERS:  # installed beneath the contract package (setup.py package_dir)
        parts.insert(0, "groomguard")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str | None:
    """The layer of a `groomguard...` module name; None for anything outside the project."""
    parts = module.split(".")
    if parts[0] != "groomguard":
        return None
    if len(parts) > 1 and parts[1] in LAYERS:
        return parts[1]
    if len(parts) > 1 and parts[1] in ("cli", "__main__"):
        return "cli"
    return "contract"


def imports(path: Path, top_level_only: bool = False) -> set[str]:
    """Absolute module names `path` imports (`from a.b import c` counts as a.b and a.b.c)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def upward_imports(path: Path, name: str) -> list[str]:
    """Imports of `path` (module `name`) that reach a later layer than its own, minus the allowed ones."""
    own = layer_of(name)
    assert own is not None, name
    bad = []
    for m in sorted(imports(path)):
        layer = layer_of(m)
        if layer is None or RANK[layer] <= RANK[own]:
            continue
        if any(name == importer and m.startswith(prefix) for importer, prefix in ALLOWED_UPWARD):
            continue
        bad.append(m)
    return bad


def sources(*dirs: str) -> list[Path]:
    return sorted(p for d in dirs for p in (ROOT / d).rglob("*.py") if "__pycache__" not in p.parts)


def test_module_names_follow_the_installed_layout() -> None:
    assert module_name(ROOT / "training" / "train.py") == "groomguard.training.train"
    assert module_name(ROOT / "serving" / "api" / "__init__.py") == "groomguard.serving.api"
    assert module_name(ROOT / "groomguard" / "windowing.py") == "groomguard.windowing"
    assert [layer_of(m) for m in ("groomguard.windowing", "groomguard.serving.engine", "groomguard.evaluation",
                                  "groomguard.training.train", "groomguard.cli.score", "numpy")] == [
        "contract", "serving", "evaluation", "training", "cli", None]


@pytest.mark.parametrize("path", sources(*LAYERS, "groomguard"), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_later_layer(path: Path) -> None:
    name = module_name(path)
    assert not upward_imports(path, name), f"{name} ({layer_of(name)}) imports a later layer"


def test_the_facade_is_lazy() -> None:
    """The allowed exception stays what it claims: `import groomguard` loads no layer."""
    code = "import sys, groomguard; print(sorted(m for m in sys.modules if m.startswith('groomguard.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert not [m for m in ast.literal_eval(out) if layer_of(m) not in ("contract", None)]


@pytest.mark.parametrize("planted, expected", [
    ("from groomguard.training.train import run_training", "groomguard.training.train"),  # serving -> training
    ("def f():\n    from groomguard.evaluation.metrics import roc_auc\n", "groomguard.evaluation.metrics"),
    ("import groomguard.cli.score", "groomguard.cli.score"),
])
def test_the_checker_catches_a_planted_upward_import(tmp_path: Path, planted: str, expected: str) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(planted + "\n")
    assert expected in upward_imports(probe, "groomguard.serving.engine")


def test_same_or_earlier_layers_are_allowed(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from groomguard.serving.engine import build_engine\nfrom groomguard.windowing import Windower\n")
    assert upward_imports(probe, "groomguard.evaluation.runner") == []
    assert upward_imports(probe, "groomguard.windowing") == ["groomguard.serving.engine",
                                                            "groomguard.serving.engine.build_engine"]


@pytest.mark.parametrize("path", sources("benchmarks"), ids=lambda p: str(p.relative_to(ROOT)))
def test_benchmarks_do_not_import_the_tests(path: Path) -> None:
    bad = sorted(m for m in imports(path) if m == "tests" or m.startswith("tests."))
    assert not bad, f"{path.name} imports test modules: {bad} (shared helpers live in benchmarks/support/)"
