"""Known-vulnerability audit of the committed locks (issue 26): `make audit`, run by `.ci/run`.

Runs pip-audit on each lock as written (hash-pinned, so `--disable-pip`: nothing is resolved, built or
installed; only the pins are looked up in PyPI's vulnerability data) and fails on any finding that
`requirements/audit-allow.toml` does not excuse. Every exception there names the advisory, the
package, why it is accepted and until when; an expired or malformed entry fails the audit by itself, so
an exception is a dated decision, never a permanent mute. An entry that matches nothing is reported
(it can go) but does not fail.

Network: the lookup needs PyPI's JSON API (https://pypi.org/pypi/...). Without it the audit stops with
exit status 3 and says so in one line, instead of a pip-audit traceback or, worse, a green result.
GROOMGUARD_AUDIT_OFFLINE=skip turns that into a visible skip (.ci/run sets it: the CI machines reach
PyPI's package index but not this API, measured 2026-12-06).

A package pip-audit could not look up (its report's `skip_reason`) fails the audit too: not audited is
not clean. Local version labels (`torch==2.13.0+cpu`) are looked up as the public release they build.

Exit status: 0 clean, 1 unexcused vulnerabilities, 2 a bad allow-list, a pip-audit failure or a
package that could not be audited, 3 PyPI's vulnerability API unreachable.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess  # nosec B404  # runs pip-audit from this venv, fixed argv, no shell
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import tomllib

# pip-audit's PyPI service reads https://pypi.org/pypi/<name>/<version>/json; probe that endpoint itself
# (a proxy that passes the package index but not this API makes pip-audit *skip* every package, which
# must not read as clean). pip 24.0 is a release that will stay.
PROBE_URL = "https://pypi.org/pypi/pip/24.0/json"
EXIT_FOUND, EXIT_BROKEN, EXIT_OFFLINE = 1, 2, 3
ENTRY_KEYS = {"id", "package", "reason", "expires"}
LOCAL_LABEL = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*==[^\s+;\\]+)\+[A-Za-z0-9.]+", re.MULTILINE)


class AllowListError(Exception):
    """The allow-list itself is wrong (missing field, expired entry, unparseable file)."""


@dataclass(frozen=True)
class Allowed:
    id: str
    package: str
    reason: str
    expires: date


@dataclass(frozen=True)
class Finding:
    lock: str
    package: str
    version: str
    id: str
    aliases: tuple[str, ...]
    fix_versions: tuple[str, ...]

    def excused_by(self, entry: Allowed) -> bool:
        return _norm(entry.package) == _norm(self.package) and entry.id in (self.id, *self.aliases)


def _norm(name: str) -> str:
    """PEP 503 normalisation: `Jinja2`, `jinja2` and `jinja_2`... name one package."""
    return "-".join(name.lower().replace("_", "-").replace(".", "-").split("-"))


def load_allow_list(path: Path, today: date) -> list[Allowed]:
    """Parse and check the allow-list; every problem is collected so one run shows them all."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise AllowListError(f"{path}: {exc}") from None
    unknown = set(data) - {"allow"}
    if unknown:
        raise AllowListError(f"{path}: unknown top-level keys {sorted(unknown)} (only [[allow]] tables)")
    entries, problems = [], []
    for n, raw in enumerate(data.get("allow", []), start=1):
        where = f"{path} entry {n}"
        if not isinstance(raw, dict) or set(raw) != ENTRY_KEYS:
            got = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
            problems.append(f"{where}: needs exactly the keys {sorted(ENTRY_KEYS)}, has {got}")
            continue
        if not isinstance(raw["expires"], date):
            problems.append(f"{where} ({raw['id']}): expires must be a TOML date like 2027-03-01")
            continue
        if not str(raw["reason"]).strip() or not str(raw["id"]).strip() or not str(raw["package"]).strip():
            problems.append(f"{where}: id, package and reason must not be empty")
            continue
        if raw["expires"] < today:
            problems.append(f"{where} ({raw['id']} in {raw['package']}): expired on {raw['expires']}; "
                            "upgrade the package, or re-decide and set a new date")
            continue
        entries.append(Allowed(str(raw["id"]), str(raw["package"]), str(raw["reason"]), raw["expires"]))
    if problems:
        raise AllowListError("\n".join(problems))
    return entries


def skipped(report: dict[str, Any]) -> list[str]:
    """Packages pip-audit could not audit, with its reason."""
    return [f"{dep['name']}: {dep['skip_reason']}" for dep in report.get("dependencies", []) if dep.get("skip_reason")]


def parse_report(lock: str, report: dict[str, Any]) -> list[Finding]:
    """pip-audit's JSON (`{"dependencies": [{"name", "version", "vulns": [...]}]}`) -> one Finding per
    advisory."""
    found = []
    for dep in report.get("dependencies", []):
        for vuln in dep.get("vulns", []):
            found.append(Finding(lock, dep["name"], dep.get("version", "?"), vuln["id"],
                                 tuple(vuln.get("aliases", [])), tuple(vuln.get("fix_versions", []))))
    return found


def pypi_reachable(url: str = PROBE_URL, timeout_s: float = 10.0) -> str | None:
    """None when PyPI's per-release JSON answers, else why not (one line)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # nosec B310  # our https URL, or a test's file:
            response.read(1)
        return None
    except urllib.error.HTTPError as exc:  # reached something that is not the API (a proxy passing the index only)
        return f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError) as exc:
        return str(getattr(exc, "reason", exc))


def run_pip_audit(lock: Path, pip_audit: str, timeout_s: float) -> dict[str, Any]:
    """pip-audit on one hash-pinned lock; its JSON report. Raises RuntimeError when pip-audit itself
    failed (exit status 1 alone means "vulnerabilities found" and still writes the report)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        public = Path(tmp) / "public.txt"  # local labels dropped: PyPI knows torch 2.13.0, not 2.13.0+cpu
        public.write_text(LOCAL_LABEL.sub(r"\1", lock.read_text(encoding="utf-8")), encoding="utf-8")
        cmd = [pip_audit, "--requirement", str(public), "--disable-pip", "--require-hashes", "--format", "json",
               "--output", str(out), "--progress-spinner", "off", "--timeout", str(int(timeout_s))]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)  # nosec B603  # fixed argv, no shell
        if done.returncode not in (0, 1) or not out.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise RuntimeError(f"pip-audit failed on {lock} (exit {done.returncode}): " + " | ".join(tail))
        report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return report


def audit(locks: list[Path], allow: list[Allowed], pip_audit: str, timeout_s: float = 30.0
          ) -> tuple[list[Finding], list[tuple[Finding, Allowed]], list[Allowed]]:
    """(unexcused findings, excused ones with their entry, allow entries that matched nothing)."""
    bad: list[Finding] = []
    excused: list[tuple[Finding, Allowed]] = []
    used: set[Allowed] = set()
    for lock in locks:
        report = run_pip_audit(lock, pip_audit, timeout_s)
        not_audited = skipped(report)
        if not_audited:
            raise RuntimeError(f"{len(not_audited)} package(s) in {lock} could not be audited (not audited is not "
                               "clean): " + "; ".join(not_audited[:5]))
        for finding in parse_report(str(lock), report):
            entry = next((e for e in allow if finding.excused_by(e)), None)
            if entry is None:
                bad.append(finding)
            else:
                excused.append((finding, entry))
                used.add(entry)
    return bad, excused, [e for e in allow if e not in used]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("locks", nargs="+", type=Path, help="hash-pinned requirement files")
    parser.add_argument("--allow", type=Path, default=Path(__file__).with_name("audit-allow.toml"))
    parser.add_argument("--pip-audit", default=str(Path(sys.executable).with_name("pip-audit")))
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="for tests: the date expiry is "
                        "judged against (default: today, UTC)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per PyPI request")
    parser.add_argument("--probe-url", default=PROBE_URL, help=argparse.SUPPRESS)  # tests: file:// stands in
    args = parser.parse_args(argv)
    try:
        allow = load_allow_list(args.allow, args.today or date.today())
    except AllowListError as exc:
        print(f"audit: the allow-list is not valid:\n{exc}", file=sys.stderr)
        return EXIT_BROKEN
    why = pypi_reachable(args.probe_url)
    if why is not None:
        if os.environ.get("GROOMGUARD_AUDIT_OFFLINE") == "skip":
            print(f"audit: SKIPPED, PyPI unreachable ({why}); GROOMGUARD_AUDIT_OFFLINE=skip", file=sys.stderr)
            return 0
        print(f"audit: cannot reach PyPI's vulnerability API ({args.probe_url}: {why}). The lookup needs "
              "network: run it where PyPI answers (CI does), or set GROOMGUARD_AUDIT_OFFLINE=skip to skip it "
              "knowingly.", file=sys.stderr)
        return EXIT_OFFLINE
    try:
        bad, excused, unused = audit(args.locks, allow, args.pip_audit, args.timeout)
    except RuntimeError as exc:
        print(f"audit: {exc}", file=sys.stderr)
        return EXIT_BROKEN
    for finding, entry in excused:
        print(f"audit: allowed until {entry.expires}: {finding.package}=={finding.version} {finding.id} "
              f"({finding.lock}): {entry.reason}")
    for entry in unused:
        print(f"audit: note: allow-list entry {entry.id} ({entry.package}) matches nothing any more; remove it")
    for f in bad:
        fix = ", ".join(f.fix_versions) or "no fixed release yet"
        aka = f" (aka {', '.join(f.aliases)})" if f.aliases else ""
        print(f"audit: VULNERABLE {f.package}=={f.version} in {f.lock}: {f.id}{aka}; fixed in: {fix}",
              file=sys.stderr)
    if bad:
        print(f"audit: {len(bad)} known vulnerabilit{'y' if len(bad) == 1 else 'ies'} not in {args.allow}; "
              "upgrade (docs/dependencies.md) or add a dated exception with a reason", file=sys.stderr)
        return EXIT_FOUND
    print(f"audit: no unexcused known vulnerabilities in {', '.join(str(p) for p in args.locks)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
