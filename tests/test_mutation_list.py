"""`make mutation` must test something: every listed mutant's pattern occurs exactly once in its file
(a refactor that moves the code breaks this test, not silently the mutation run), and the run tests
the copy's layers, not the checkout's (benchmarks/mutation.py `copy_repo`)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.mutation import MUTANTS, ROOT, copy_repo, imports_the_copy, mutant_env


def test_every_mutant_matches_exactly_once() -> None:
    wrong = {m.name: (ROOT / m.path).read_text(encoding="utf-8").count(m.old) for m in MUTANTS}
    assert {k: v for k, v in wrong.items() if v != 1} == {}
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)


def test_the_copy_imports_its_own_layers(tmp_path: Path) -> None:
    copy_repo(tmp_path)
    imports_the_copy(tmp_path, mutant_env(tmp_path))  # raises SystemExit when the checkout's layers are imported
