"""The committed lock is what a fresh machine installs: it must cover pyproject.toml, carry hashes,
and be exactly what this venv holds (the Makefile installs from it with --require-hashes --no-deps).

What fails here: a dependency added to pyproject.toml without `make lock` (the lock would not
satisfy it), a hand-edited pin without a hash, a venv that drifted from the lock (an unlocked
`pip install -U`), torch leaving the CPU pin, or the gateway image lock missing one of the packages
its install pulls in / gaining a training-stack one.
"""

from __future__ import annotations

import os
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
REQ = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ \\;]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")
DEV_EXTRAS = ("train", "scale", "dev", "bf16")


def parse_lock(path: Path) -> dict[str, tuple[Version, int, str | None]]:
    """name -> (version, number of hashes, marker) for every pin of a uv/pip-tools lock file."""
    out: dict[str, tuple[Version, int, str | None]] = {}
    current: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        m = PIN.match(line)
        if m:
            current = canonicalize_name(m.group(1))
            assert current not in out or out[current][2] is not None, f"{path.name}: {current} pinned twice"
            out[current] = (Version(m.group(2)), 0, m.group(3))
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes, marker = out[current]
            assert re.fullmatch(r"--hash=sha256:[0-9a-f]{64}( \\)?", line.strip()), line
            out[current] = (version, hashes + 1, marker)
        elif line and not line.startswith((" ", "#")):
            pytest.fail(f"{path.name}: unexpected line {line!r}")
    return out


def project() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def requirements(extras: tuple[str, ...]) -> list[Requirement]:
    p = project()
    reqs = [Requirement(r) for r in p["dependencies"]]
    for extra in extras:
        reqs += [Requirement(r) for r in p["optional-dependencies"][extra]]
    return [r for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})]


def test_parser_reads_pins_hashes_and_markers(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    lock.write_text("# header\nfoo-bar==1.2 \\\n    --hash=sha256:" + "a" * 64 + " \\\n    --hash=sha256:"
                    + "b" * 64 + "\n    # via x\nbaz==2.0 ; sys_platform == 'win32' \\\n    --hash=sha256:"
                    + "c" * 64 + "\n", encoding="utf-8")
    assert parse_lock(lock) == {"foo-bar": (Version("1.2"), 2, None),
                                "baz": (Version("2.0"), 1, "sys_platform == 'win32'")}


def test_dev_lock_satisfies_every_requirement_and_hashes_every_pin() -> None:
    lock = parse_lock(REQ / "dev.lock")
    assert "torch" not in lock, "torch is locked on its own (requirements/torch-cpu.txt) so GPU hosts can swap it"
    for req in requirements(DEV_EXTRAS):
        name = canonicalize_name(req.name)
        if name == "torch":
            continue
        assert name in lock, f"pyproject.toml needs {req}, which requirements/dev.lock lacks: run `make lock`"
        assert req.specifier.contains(lock[name][0], prereleases=True), \
            f"requirements/dev.lock pins {name}=={lock[name][0]}, outside {req}: run `make lock`"
    unhashed = [n for n, (_, hashes, _) in lock.items() if hashes == 0]
    assert not unhashed, f"pins without a hash: {unhashed}"
    for tool in ("pip", "setuptools", "wheel", "uv", "mypy", "ruff"):
        assert tool in lock, f"{tool} must be locked too"


def test_torch_is_the_hashed_cpu_build() -> None:
    lock = parse_lock(REQ / "torch-cpu.txt")
    assert set(lock) == {"torch"}
    version, hashes, _ = lock["torch"]
    assert version.local == "cpu" and hashes >= 1
    (torch_req,) = [r for r in requirements(("train",)) if canonicalize_name(r.name) == "torch"]
    assert torch_req.specifier.contains(version)


@pytest.mark.skipif(os.environ.get("GROOMGUARD_INSTALL") == "latest",
                    reason="make test-latest: newest releases on purpose")
def test_this_venv_is_exactly_the_lock() -> None:
    lock = parse_lock(REQ / "dev.lock") | parse_lock(REQ / "torch-cpu.txt")
    drift = {}
    for name, (version, _, marker) in lock.items():
        if marker is not None and not Requirement(f"x; {marker}").marker.evaluate():  # type: ignore[union-attr]
            continue
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            drift[name] = f"{version} locked, not installed"
            continue
        if installed != version:
            drift[name] = f"{version} locked, {installed} installed"
    assert not drift, f"the venv differs from the lock (rebuild it: rm -rf .venv && make venv): {drift}"


def test_gateway_lock_is_serving_only_and_complete() -> None:
    from tests.test_deploy_image import FORBIDDEN, install_closure

    lock = parse_lock(REQ / "gateway.lock")
    assert not set(lock) & FORBIDDEN, sorted(set(lock) & FORBIDDEN)
    missing = install_closure({"gateway"}) - set(lock)
    assert not missing, f"the image would install {sorted(missing)} unlocked: run `make lock`"
    for req in requirements(("gateway",)):
        name = canonicalize_name(req.name)
        assert req.specifier.contains(lock[name][0], prereleases=True), f"{name}: {lock[name][0]} outside {req}"
    assert all(hashes for _, hashes, _ in lock.values())
