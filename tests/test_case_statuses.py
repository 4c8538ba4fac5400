"""Case statuses are defined once (serving/store/statuses.py): the typed Literals, the tuples the
code filters by and the database's partial-index predicate must agree, or a case could be active
for the service but not for the one-active-case index (or the other way round)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, get_args

from groomguard.serving.store import statuses
from groomguard.serving.store.orm import CaseRow

MIGRATION = Path(__file__).resolve().parents[1] / "serving/store/migrations/versions/0001_initial_schema.py"


def test_status_sets_as_documented() -> None:
    """Written out by hand from docs/design.md: open -> escalated (still active) -> confirmed/dismissed."""
    assert statuses.STATUSES == ("open", "escalated", "confirmed", "dismissed")
    assert statuses.ACTIVE_STATUSES == ("open", "escalated")
    assert statuses.DECIDED_STATUSES == ("confirmed", "dismissed", "escalated")
    assert statuses.FINAL_STATUSES == ("confirmed", "dismissed")


def test_literals_match_the_tuples() -> None:
    """The API's enums come from the Literals; the filters from the tuples: same values, same order."""
    assert get_args(statuses.CaseStatus) == statuses.STATUSES
    assert get_args(statuses.Decision) == statuses.DECIDED_STATUSES


def _migration(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_index_predicate_matches_the_migration() -> None:
    """The model's partial indexes must be the ones migrations 0001 and 0005 created (autogenerate
    would differ): 0005 restricted the first to conversation cases and added one per account."""
    assert statuses.ACTIVE_SQL == _migration(MIGRATION).ACTIVE == "status IN ('open', 'escalated')"
    m5 = _migration(MIGRATION.with_name("0005_accounts.py"))
    assert statuses.ACTIVE_CONVERSATION_SQL == m5.ACTIVE_CONVERSATION == (
        "status IN ('open', 'escalated') AND kind = 'conversation'")
    assert statuses.ACTIVE_ACCOUNT_SQL == m5.ACTIVE_ACCOUNT
    for name, predicate in (("uq_cases_one_active_per_conversation", statuses.ACTIVE_CONVERSATION_SQL),
                            ("uq_cases_one_active_per_account", statuses.ACTIVE_ACCOUNT_SQL)):
        index = next(i for i in CaseRow.__table__.indexes if i.name == name)
        assert str(index.dialect_options["sqlite"]["where"]) == predicate
        assert str(index.dialect_options["postgresql"]["where"]) == predicate
