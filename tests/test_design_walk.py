"""docs/design.md's append walk names real code: every step's file exists and defines the function
the step names, and the walk stays within the eight files issue 24 set as its bound. A rename in the
code that the page does not follow fails here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What each step of the walk calls, written out by hand from the page (file -> function or method).
EXPECTED = {
    "serving/api/routes_conversations.py": "append_messages",
    "serving/review/appends.py": "Appends.append",
    "serving/review/request_limits.py": "check_append",
    "groomguard/windowing.py": "Windower.encode_messages",
    "serving/batcher.py": "MicroBatcher.score_async",
    "serving/store/conversations.py": "read_snapshot",
    "serving/store/cases.py": "active_case",
    "serving/store/accounts.py": "after_append",
}


def _walk_files() -> list[str]:
    text = (ROOT / "docs/design.md").read_text(encoding="utf-8")
    section = text.split("## The append walk", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\d+\. \*\*`([^`]+)`\*\*", section, flags=re.MULTILINE)


def _defines(path: Path, dotted: str) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    *owner, name = dotted.split(".")
    scope: list[ast.stmt] = tree.body
    if owner:
        classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == owner[0]]
        if not classes:
            return False
        scope = classes[0].body
    return any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name for n in scope)


def test_the_walk_is_eight_files_in_order() -> None:
    assert _walk_files() == list(EXPECTED)


def test_every_step_names_code_that_exists() -> None:
    missing = [f"{f}: {fn}" for f, fn in EXPECTED.items() if not (ROOT / f).is_file() or not _defines(ROOT / f, fn)]
    assert not missing, missing


def test_the_route_awaits_the_append_part_directly() -> None:
    """Step 1 -> step 2 with no facade hop in between (the walk's first arrow)."""
    source = (ROOT / "serving/api/routes_conversations.py").read_text(encoding="utf-8")
    assert "await services.review.appends.append(" in source
