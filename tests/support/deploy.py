"""What the deploy/ checks share: the real gateway's routes and CLI, the Dockerfile, label selectors.

The manifests are checked against the code they deploy, never against copies of it: probe paths
against the FastAPI app's routes, container arguments by running `groomguard serve` on them,
GROOMGUARD_* variables against the ServeConfig model.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "gateway" / "Dockerfile"
ENV_PREFIX = "GROOMGUARD_"


def yaml_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


@functools.cache
def gateway_get_routes() -> frozenset[str]:
    """GET paths of the real app (nothing is opened: the lifespan does not run)."""
    from groomguard.serving.api.app import create_app
    from groomguard.serving.settings import load_serve_config

    app = create_app(load_serve_config(None), ROOT / "no-bundle-needed")
    return frozenset(r.path for r in app.routes if "GET" in (getattr(r, "methods", None) or ()))


def dockerfile_commands() -> list[Any]:
    import dockerfile  # BuildKit's own parser (continuations, JSON forms, flags)

    return list(dockerfile.parse_file(str(DOCKERFILE)))


def final_stage(commands: list[Any]) -> list[Any]:
    starts = [i for i, c in enumerate(commands) if c.cmd == "FROM"]
    return commands[starts[-1]:]


def image_path_map() -> dict[str, Path]:
    """Container path prefix -> repository path, from the final stage's `COPY <repo dir>/ <dir>/`."""
    out: dict[str, Path] = {}
    for c in final_stage(dockerfile_commands()):
        if c.cmd == "COPY" and not any(f.startswith("--from") for f in c.flags):
            *sources, dest = c.value
            for src in sources:
                out[dest.rstrip("/") + "/"] = ROOT / src.rstrip("/")
    return out


def config_field_exists(env_name: str) -> bool:
    """GROOMGUARD_STORE__URL -> ServeConfig.store.url (pydantic-settings' nested delimiter `__`)."""
    from pydantic import BaseModel

    from groomguard.serving.settings import ServeConfig

    if not env_name.startswith(ENV_PREFIX):
        return False
    model: Any = ServeConfig
    for part in env_name[len(ENV_PREFIX):].lower().split("__"):
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return False
        model = model.model_fields[part].annotation
    return True


def run_serve_args(args: list[str], tmp: Path, env_values: dict[str, str]) -> tuple[str, Path]:
    """Run the real `groomguard serve` on container arguments, with container paths mapped onto the
    repository (from the Dockerfile's COPY lines) and the bundle onto a missing directory, so it
    stops right after parsing the flags and validating the whole config. Returns its error line
    and the bundle path it was given; a wrong flag, a bad --set or an invalid config fails here."""
    assert args and args[0] == "serve", args
    missing_bundle = tmp / "bundle-not-here"
    mapped: list[str] = []
    prefixes = image_path_map()
    for a in args[1:]:
        a = re.sub(r"\$\((\w+)\)", lambda m: env_values[m.group(1)], a)  # Kubernetes' $(VAR)
        if a == "/models/bundle":
            a = str(missing_bundle)
        for prefix, repo in prefixes.items():
            if a.startswith(prefix):
                a = str(repo / a[len(prefix):])
        mapped.append(a)
    out = subprocess.run([sys.executable, "-m", "groomguard", "serve", *mapped], capture_output=True, text=True,
                         cwd=tmp, timeout=120)
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert out.returncode == 2 and len(errors) == 1, (out.returncode, out.stderr[-1500:])
    return errors[0], missing_bundle


def flag(args: list[str], name: str) -> str | None:
    """Value of `--name value` or `--name=value` in an argument list (last one wins)."""
    value = None
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            value = args[i + 1]
        elif a.startswith(name + "="):
            value = a.split("=", 1)[1]
    return value


def set_value(args: list[str], key: str) -> str | None:
    """Value given to `--set key=value`."""
    value = None
    for i, a in enumerate(args):
        if a == "--set" and i + 1 < len(args) and args[i + 1].startswith(key + "="):
            value = args[i + 1].split("=", 1)[1]
    return value


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics: matchLabels and matchExpressions; {} matches everything.
    A plain map (a Service's selector) is treated as matchLabels."""
    if selector is None:
        return False
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        selector = {"matchLabels": selector}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        ok = {"In": key in labels and labels[key] in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True
