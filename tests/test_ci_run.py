""".ci/run must not turn "no PostgreSQL" into a green run: it starts the cluster or fails loudly.

The script runs for real with stand-ins for `pg_isready`, `pg_ctlcluster`, `psql`, `createdb` and
`make` first on PATH (tiny shell scripts that record their calls), so nothing is started and the
suite is not run recursively. What it catches: `.ci/run` going back to "skip PostgreSQL when no
server answers", forgetting to try starting it, or exporting a URL without a server.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def fake_tools(bin_dir: Path, log: Path, pg_answers_after_start: bool) -> None:
    """pg_isready fails until pg_ctlcluster has 'started' the server (if it can); make prints the URL."""
    started = bin_dir / "started"
    ready = f'[ -f "{started}" ] && exit 0; exit 2' if pg_answers_after_start else "exit 2"
    scripts = {
        "pg_isready": ready,
        "pg_ctlcluster": f'echo "pg_ctlcluster $*" >> "{log}"; touch "{started}"',
        "psql": "echo 1",
        "createdb": f'echo "createdb $*" >> "{log}"',
        "make": f'echo "make $* URL=$GROOMGUARD_TEST_POSTGRES_URL CI=$CI" >> "{log}"',
        "sleep": "exit 0",
    }
    bin_dir.mkdir()
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text(f"#!/usr/bin/env bash\n{body}\n")
        path.chmod(0o755)


def run_ci(tmp_path: Path, pg_answers_after_start: bool) -> tuple[subprocess.CompletedProcess[str], str]:
    log = tmp_path / "calls.log"
    log.touch()
    fake_tools(tmp_path / "bin", log, pg_answers_after_start)
    env = {k: v for k, v in os.environ.items() if k not in ("GROOMGUARD_TEST_POSTGRES_URL", "CI")}
    env["PATH"] = f"{tmp_path / 'bin'}:{env['PATH']}"
    (tmp_path / "etc" / "15").mkdir(parents=True)  # a Debian-style /etc/postgresql with one version
    env["GG_POSTGRES_ETC"] = str(tmp_path / "etc")
    res = subprocess.run(["bash", str(ROOT / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60,
                         check=False)
    return res, log.read_text()


def test_starts_postgres_then_runs_the_suite_with_it(tmp_path: Path) -> None:
    res, calls = run_ci(tmp_path, pg_answers_after_start=True)
    assert res.returncode == 0, res.stderr
    assert "pg_ctlcluster --skip-systemctl-redirect 15 main start" in calls
    assert "make test URL=postgresql+psycopg://postgres@127.0.0.1:5432/test CI=true" in calls
    assert "make audit URL=" in calls.splitlines()[-1]  # issue 26: the supply-chain gate runs in CI, last


def test_fails_loudly_when_no_postgres_answers(tmp_path: Path) -> None:
    res, calls = run_ci(tmp_path, pg_answers_after_start=False)
    assert res.returncode == 1
    assert "no PostgreSQL answers" in res.stderr
    assert "pg_ctlcluster" in calls, "it tried to start the cluster first"
    assert "make test" not in calls, "the suite must not run without PostgreSQL in CI"
