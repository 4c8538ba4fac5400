"""The import layering DESIGN.md describes, checked on the source (static imports, ast).

contract (groomguard/*.py, groomguard/normalise) <- training / serving / evaluation <- CLI:
nothing below the CLI imports `groomguard.cli`, the contract imports no layer (`groomguard.load_engine`
imports serving lazily, inside the function, by design), and `training.train` / `training.export` do
not import each other (data preparation lives in training/prepare.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("training", "serving", "evaluation")


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] in LAYERS:  # installed beneath the contract package (setup.py package_dir)
        parts.insert(0, "groomguard")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


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


def sources(*dirs: str) -> list[Path]:
    return sorted(p for d in dirs for p in (ROOT / d).rglob("*.py") if "__pycache__" not in p.parts)


def test_module_names_follow_the_installed_layout() -> None:
    assert module_name(ROOT / "training" / "train.py") == "groomguard.training.train"
    assert module_name(ROOT / "serving" / "api" / "__init__.py") == "groomguard.serving.api"
    assert module_name(ROOT / "groomguard" / "windowing.py") == "groomguard.windowing"


@pytest.mark.parametrize("path", sources(*LAYERS, "groomguard"), ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_below_the_cli_imports_it(path: Path) -> None:
    name = module_name(path)
    if name == "groomguard.__main__" or name.startswith("groomguard.cli"):
        return
    bad = sorted(m for m in imports(path) if m == "groomguard.cli" or m.startswith("groomguard.cli."))
    assert not bad, f"{name} imports the CLI: {bad}"


@pytest.mark.parametrize("path", sources("groomguard"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_contract_imports_no_layer_at_module_level(path: Path) -> None:
    name = module_name(path)
    if name.startswith("groomguard.cli") or name == "groomguard.__main__":
        return
    bad = sorted(m for m in imports(path, top_level_only=True)
                 if any(m == f"groomguard.{layer}" or m.startswith(f"groomguard.{layer}.") for layer in LAYERS))
    assert not bad, f"{name} imports a layer at import time: {bad}"


def test_train_and_export_do_not_import_each_other() -> None:
    train = imports(ROOT / "training" / "train.py")
    export = imports(ROOT / "training" / "export.py")
    assert not {m for m in export if m.startswith("groomguard.training.train")
                and not m.startswith("groomguard.training.train_config")}
    assert "groomguard.training.export" not in imports(ROOT / "training" / "prepare.py")
    # train calls export (train -> export is the one allowed direction)
    assert any(m.startswith("groomguard.training.export") for m in train)


def test_the_checker_sees_a_cli_import(tmp_path: Path) -> None:
    """The scanner itself: a planted `from groomguard.cli.files import x` is found."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from groomguard.cli.files import check_input\n    return check_input\n")
    assert "groomguard.cli.files" in imports(probe)
    assert "groomguard.cli.files" not in imports(probe, top_level_only=True)
