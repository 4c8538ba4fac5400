"""deploy/k8s: every manifest validates (strict) against the official Kubernetes schemas shipped by
`kubernetes-validate` (offline), and the pieces fit together and fit the code: selectors, ports,
probes, GPU requests, secrets, NetworkPolicy reachability, the HPA's metrics, the gateway's args."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.support import k8s as kc
from tests.support.deploy import DEPLOY, config_field_exists, flag, run_serve_args, set_value, yaml_docs

K8S = DEPLOY / "k8s"
VERSIONS = ["1.29.0", "1.37.0"]  # oldest and newest Kubernetes the manifests are checked against
CHECKS: list[Callable[[list[kc.Doc]], list[str]]] = [
    kc.services_select_deployments, kc.probes_are_served, kc.pods_are_locked_down,
    kc.only_gateway_reaches_triton_and_db]


def resources() -> list[str]:
    return list(yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))["resources"])


def manifests() -> list[kc.Doc]:
    return [d for name in resources() for d in yaml_docs(K8S / name)]


def gateway_container(docs: list[kc.Doc]) -> dict[str, Any]:
    (c,) = kc.named(docs, "Deployment", "groomguard-gateway")["spec"]["template"]["spec"]["containers"]
    return dict(c)


def test_kustomization_lists_every_manifest() -> None:
    assert sorted(resources()) == sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    for d in manifests():
        assert d["metadata"].get("namespace", "groomguard") == "groomguard" or d["kind"] == "Namespace"


@pytest.mark.parametrize("version", VERSIONS)
def test_manifests_match_the_kubernetes_schemas(version: str) -> None:
    import kubernetes_validate

    for d in manifests():
        kubernetes_validate.validate(d, version, strict=True)  # raises ValidationError / SchemaNotFoundError


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_consistency(check: Callable[[list[kc.Doc]], list[str]]) -> None:
    assert check(manifests()) == []


def _edit(path: str, value: Any, key: str | None = None) -> Callable[[list[kc.Doc]], None]:
    """kind/name:dotted.path (list indexes as numbers) -> set value; `key`: a last key with dots."""
    target, dotted = path.split(":")
    kind, name = target.split("/")

    def apply(docs: list[kc.Doc]) -> None:
        node: Any = kc.named(docs, kind, name)
        *parts, leaf = dotted.split(".")
        if key is not None:
            parts, leaf = [*parts, leaf], key
        for p in parts:
            node = node[int(p)] if p.isdigit() else node[p]
        node[int(leaf) if leaf.isdigit() else leaf] = value

    return apply


POD = "spec.template.spec.containers.0"
GW_LABEL = "app.kubernetes.io/component"
BROKEN = {
    "service selects no pods": (_edit("Service/groomguard-gateway:spec.selector", "gatewy", GW_LABEL),
                                kc.services_select_deployments),
    "service targets a missing port": (_edit("Service/groomguard-triton:spec.ports.1.targetPort", "grcp"),
                                       kc.services_select_deployments),
    "probe path not served": (_edit(f"Deployment/groomguard-gateway:{POD}.readinessProbe.httpGet.path", "/ready"),
                              kc.probes_are_served),
    "triton readiness elsewhere": (_edit(f"Deployment/groomguard-triton:{POD}.readinessProbe.httpGet.path",
                                         "/v2/health/live"), kc.probes_are_served),
    "writable root": (_edit(f"Deployment/groomguard-triton:{POD}.securityContext.readOnlyRootFilesystem", False),
                      kc.pods_are_locked_down),
    "policy misses triton pods": (_edit("NetworkPolicy/groomguard-triton:spec.podSelector.matchLabels",
                                        "tritn", GW_LABEL), kc.only_gateway_reaches_triton_and_db),
    "triton open to the namespace": (_edit("NetworkPolicy/groomguard-triton:spec.ingress.0.from.0.podSelector", {}),
                                     kc.only_gateway_reaches_triton_and_db),
    "database address outside the egress rule": (
        _edit("EndpointSlice/groomguard-postgres-1:endpoints.0.addresses", ["192.0.2.99"]),
        kc.only_gateway_reaches_triton_and_db),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_checks_catch_broken_manifests(case: str) -> None:
    mutate, check = BROKEN[case]
    docs = copy.deepcopy(manifests())
    mutate(docs)
    assert check(docs), f"{check.__name__} missed: {case}"


def test_schema_check_catches_a_wrong_api_version() -> None:
    import kubernetes_validate

    hpa = copy.deepcopy(kc.named(manifests(), "HorizontalPodAutoscaler", "groomguard-gateway"))
    hpa["apiVersion"] = "autoscaling/v1"  # v1 has no `metrics`
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(hpa, VERSIONS[-1], strict=True)


def test_secrets_are_placeholders_and_references_resolve() -> None:
    docs = manifests()
    secrets = {s["metadata"]["name"]: s for s in kc.of_kind(docs, "Secret")}
    for s in secrets.values():
        assert "data" not in s, "base64 `data` hides what is committed; use stringData placeholders"
        for key, value in s["stringData"].items():
            assert "REPLACE_ME" in value, f"{s['metadata']['name']}.{key} is not a placeholder"
    for d in kc.of_kind(docs, "Deployment"):
        for c in d["spec"]["template"]["spec"]["containers"]:
            for e in c.get("env", []):
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref is not None:
                    assert ref["key"] in secrets[ref["name"]]["stringData"], ref
                if e["name"].startswith("GROOMGUARD_"):
                    assert config_field_exists(e["name"]), f"{e['name']} names no serve setting"


def test_gateway_args_run_and_reach_triton_and_the_database(tmp_path: Path) -> None:
    docs = manifests()
    c = gateway_container(docs)
    args = [str(a) for a in c["args"]]
    env = {e["name"]: kc.named(docs, "Secret", e["valueFrom"]["secretKeyRef"]["name"])["stringData"][
        e["valueFrom"]["secretKeyRef"]["key"]] for e in c["env"] if "valueFrom" in e}
    assert set(re.findall(r"\$\((\w+)\)", " ".join(args))) <= set(env), "$(VAR) without an env entry"
    error, bundle = run_serve_args(args, tmp_path, env)
    assert f"{bundle}: no bundle.json" in error, error
    assert {m["mountPath"] for m in c["volumeMounts"]} >= {flag(args, "--bundle")}
    assert str(kc.container_ports(kc.named(docs, "Deployment", "groomguard-gateway"))["http"]) == flag(args, "--port")
    # Triton: Service name and port -> the container port of the protocol in use; same model name
    host, port = (flag(args, "--triton-url") or "").rsplit(":", 1)
    svc_port = {p["port"]: p for p in kc.named(docs, "Service", host)["spec"]["ports"]}[int(port)]
    assert svc_port["targetPort"] == flag(args, "--triton-protocol")
    (triton,) = kc.named(docs, "Deployment", "groomguard-triton")["spec"]["template"]["spec"]["containers"]
    assert set_value(args, "engine.triton.model_name") == flag(triton["args"], "--load-model")
    assert flag(triton["args"], f"--{svc_port['targetPort']}-port") == str(kc.container_ports(
        kc.named(docs, "Deployment", "groomguard-triton"))[svc_port["targetPort"]])
    # the database URL names the in-cluster database Service and its port
    url = urlsplit(env["GROOMGUARD_STORE__URL"])
    db = kc.named(docs, "Service", url.hostname or "")
    assert url.scheme == "postgresql+psycopg" and url.port in {p["port"] for p in db["spec"]["ports"]}


def test_triton_gets_a_gpu_and_the_models_volume() -> None:
    docs = manifests()
    (c,) = kc.named(docs, "Deployment", "groomguard-triton")["spec"]["template"]["spec"]["containers"]
    assert int(c["resources"]["limits"]["nvidia.com/gpu"]) >= 1
    assert c["resources"]["requests"]["nvidia.com/gpu"] == c["resources"]["limits"]["nvidia.com/gpu"]
    assert c["image"].startswith("nvcr.io/nvidia/tritonserver:") and c["image"].endswith("-py3")
    assert flag(c["args"], "--model-repository") in {m["mountPath"] for m in c["volumeMounts"]}


def test_hpa_scales_the_gateway_on_metrics_the_gateway_exports() -> None:
    from prometheus_client import REGISTRY

    import groomguard.serving.api.metrics as gateway_metrics

    docs = manifests()
    hpa = kc.named(docs, "HorizontalPodAutoscaler", "groomguard-gateway")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "groomguard-gateway")
    assert hpa["spec"]["minReplicas"] >= 2, "replicas are the point: at least two"
    rules = yaml.safe_load((K8S / "prometheus-adapter" / "values.yaml").read_text(encoding="utf-8"))["rules"]["custom"]
    by_name = {r["name"]["as"]: r for r in rules}
    exported = {f"{m.name}_total" if m.type == "counter" else m.name: m for m in REGISTRY.collect()}
    labels = {"groomguard_http_requests_total": gateway_metrics.REQUESTS._labelnames,
              "groomguard_batch_queue_depth": gateway_metrics.QUEUE_DEPTH._labelnames}
    assert hpa["spec"]["metrics"], "no metrics"
    for m in hpa["spec"]["metrics"]:
        assert m["type"] == "Pods"
        rule = by_name[m["pods"]["metric"]["name"]]
        series = re.match(r"(\w+)\{", rule["seriesQuery"])
        assert series is not None and series.group(1) in exported, rule["seriesQuery"]
        assert re.fullmatch(rule["name"]["matches"].strip("^$"), series.group(1))
        for label in re.findall(r",(\w+)=~?", rule["metricsQuery"]):
            assert label in labels[series.group(1)], f"{series.group(1)} has no label {label}"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed (kustomize build check)")
def test_kustomize_builds() -> None:
    out = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    built = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert len(built) == len(manifests())
