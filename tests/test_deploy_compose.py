"""deploy/compose: valid per the compose specification (the `compose-spec` parser, offline; no
Docker daemon or compose plugin needed), and every cross-reference real: volumes, networks,
depends_on health, the gateway's command (run through the real CLI), the Triton and database
addresses it uses, and Prometheus' targets against the ports and routes the services serve."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.support.deploy import DEPLOY, config_field_exists, flag, gateway_get_routes, run_serve_args, set_value

COMPOSE = DEPLOY / "compose" / "compose.yaml"
_VAR = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def example_env() -> dict[str, str]:
    env = {}
    for line in (DEPLOY / "compose" / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} (a required variable must be set)."""

    def sub(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3) or ""
        if name in env and (env[name] or not op or not op.startswith(":")):
            return env[name]
        if op and op.endswith("?"):
            raise KeyError(f"{name}: {arg}")
        return arg if op else ""

    return _VAR.sub(sub, text.replace("$$", "\0")).replace("\0", "$")


def compose_text(uncomment_gpu: bool = False) -> str:
    text = COMPOSE.read_text(encoding="utf-8")
    if uncomment_gpu:
        block = re.search(r"(?m)^    # deploy:\n(?:    #.*\n)+", text)
        assert block is not None, "the commented GPU reservation is missing"
        text = text.replace(block.group(0), re.sub(r"(?m)^    # ", "    ", block.group(0)))
    return interpolate(text, example_env())


def load(uncomment_gpu: bool = False) -> dict[str, Any]:
    return dict(yaml.safe_load(compose_text(uncomment_gpu)))


@pytest.mark.parametrize("gpu", [False, True], ids=["cpu-host", "gpu-block-uncommented"])
def test_valid_compose_spec(gpu: bool) -> None:
    from compose_spec import PyCompose

    project = PyCompose.from_yaml(compose_text(gpu))  # raises on unknown keys, wrong types, bad ports
    project.validate()  # networks, volumes, configs, secrets that services name must be declared
    assert set(project.service_names()) == {"gateway", "triton", "postgres", "prometheus"}
    triton = load(gpu)["services"]["triton"]
    if gpu:
        (device,) = triton["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    else:
        assert "deploy" not in triton, "CPU hosts: the GPU reservation stays commented"


def test_required_password_is_enforced() -> None:
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        interpolate(COMPOSE.read_text(encoding="utf-8"), {})


def test_volumes_networks_and_dependencies_resolve() -> None:
    doc = load()
    services, volumes, networks = doc["services"], set(doc["volumes"]), set(doc["networks"])
    for name, svc in services.items():
        for v in svc.get("volumes", []):
            if isinstance(v, str):
                source = v.split(":")[0]
                kind = "bind" if source.startswith((".", "/")) else "volume"
            else:
                source, kind = v["source"], v["type"]
            if kind == "volume":
                assert source in volumes, f"{name}: volume {source} not declared"
            else:
                path = (COMPOSE.parent / source).resolve()
                # generated artefacts (models/...) need only their parent; config files must exist
                assert path.exists() or path.parent.is_dir(), f"{name}: bind source {source} missing"
        assert set(svc.get("networks", [])) <= networks
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{dep} has no healthcheck to wait for"
    # Triton and PostgreSQL: only on the internal network, nothing published
    assert doc["networks"]["backend"].get("internal") is True
    for name in ("triton", "postgres"):
        assert services[name]["networks"] == ["backend"] and "ports" not in services[name]


def _shares_network(doc: dict[str, Any], a: str, b: str) -> bool:
    return bool(set(doc["services"][a]["networks"]) & set(doc["services"][b]["networks"]))


def _triton_flag(doc: dict[str, Any], name: str) -> str | None:
    return flag(doc["services"]["triton"]["command"], name)


def test_gateway_command_runs_and_points_at_triton_and_postgres(tmp_path: Path) -> None:
    doc = load()
    gw = doc["services"]["gateway"]
    args = [str(a) for a in gw["command"]]
    error, bundle = run_serve_args(args, tmp_path, {})
    assert f"{bundle}: no bundle.json" in error, error
    assert any(v.endswith(":/models/bundle") or v == "/models/bundle" for v in
               [m if isinstance(m, str) else m["target"] for m in gw["volumes"]]), "bundle mounted where --bundle says"
    # Triton: host = the service, port = the one its protocol listens on, same model name
    host, port = (flag(args, "--triton-url") or "").rsplit(":", 1)
    assert host == "triton" and _shares_network(doc, "gateway", "triton")
    assert port == _triton_flag(doc, f"--{flag(args, '--triton-protocol')}-port")
    assert set_value(args, "engine.triton.model_name") == _triton_flag(doc, "--load-model")
    # PostgreSQL: host, port, user, password and database of the postgres service
    url = urlsplit(flag(args, "--store-url") or "")
    pg = doc["services"]["postgres"]["environment"]
    assert url.scheme == "postgresql+psycopg" and url.hostname == "postgres" and url.port == 5432
    assert (url.username, url.password, url.path) == (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"],
                                                      "/" + pg["POSTGRES_DB"])
    assert _shares_network(doc, "gateway", "postgres")
    for key, value in gw["environment"].items():
        assert config_field_exists(key), f"{key} names no serve setting"
        if key == "GROOMGUARD_STORE__URL":
            assert value == flag(args, "--store-url")
    published = [p.split(":")[-1] for p in gw["ports"]]
    assert published == [flag(args, "--port")]


def test_prometheus_scrapes_both_on_their_real_ports() -> None:
    doc = load()
    prom = yaml.safe_load((DEPLOY / "compose" / "prometheus.yml").read_text(encoding="utf-8"))
    mounted = [v for v in doc["services"]["prometheus"]["volumes"] if v.startswith("./prometheus.yml:")]
    assert mounted, "prometheus.yml is not mounted into the Prometheus container"
    listens = {"gateway": flag(doc["services"]["gateway"]["command"], "--port"),
               "triton": _triton_flag(doc, "--metrics-port")}
    scraped = set()
    for job in prom["scrape_configs"]:
        path = job.get("metrics_path", "/metrics")
        for target in (t for sc in job["static_configs"] for t in sc["targets"]):
            host, port = target.rsplit(":", 1)
            assert host in listens and port == listens[host], target
            assert _shares_network(doc, "prometheus", host)
            if host == "gateway":
                assert path in gateway_get_routes()
            scraped.add(host)
    assert scraped == {"gateway", "triton"}
