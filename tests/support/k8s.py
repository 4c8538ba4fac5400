"""Consistency checks over the Kubernetes manifests in deploy/k8s, as functions returning problems.

tests/test_deploy_k8s.py asserts each returns nothing for the shipped manifests, and that each
finds the mistake in a deliberately broken copy (so none of them can pass vacuously).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from tests.support.deploy import gateway_get_routes, selector_matches

Doc = dict[str, Any]
NAMESPACE = "groomguard"


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def named(docs: list[Doc], kind: str, name: str) -> Doc:
    (doc,) = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    return doc


def pod_labels(deploy: Doc) -> dict[str, str]:
    return dict(deploy["spec"]["template"]["metadata"]["labels"])


def container_ports(deploy: Doc) -> dict[str, int]:
    """name -> containerPort, and str(number) -> number, over all containers."""
    out: dict[str, int] = {}
    for c in deploy["spec"]["template"]["spec"]["containers"]:
        for p in c.get("ports", []):
            out[str(p["containerPort"])] = p["containerPort"]
            if "name" in p:
                out[p["name"]] = p["containerPort"]
    return out


def services_select_deployments(docs: list[Doc]) -> list[str]:
    problems = []
    for svc in of_kind(docs, "Service"):
        name, selector = svc["metadata"]["name"], svc["spec"].get("selector")
        if selector is None:
            slices = [s for s in of_kind(docs, "EndpointSlice")
                      if s["metadata"]["labels"].get("kubernetes.io/service-name") == name]
            if not slices:
                problems.append(f"Service {name}: no selector and no EndpointSlice")
            for s in slices:
                if {p["name"] for p in svc["spec"]["ports"]} != {p["name"] for p in s["ports"]}:
                    problems.append(f"Service {name}: port names differ from EndpointSlice {s['metadata']['name']}")
            continue
        matches = [d for d in of_kind(docs, "Deployment") if selector_matches(selector, pod_labels(d))]
        if len(matches) != 1:
            problems.append(f"Service {name} selects {len(matches)} Deployments")
            continue
        ports = container_ports(matches[0])
        for p in svc["spec"]["ports"]:
            if str(p.get("targetPort", p["port"])) not in ports:
                problems.append(f"Service {name}: targetPort {p.get('targetPort')} is no container port")
    for d in of_kind(docs, "Deployment"):
        if not selector_matches(d["spec"]["selector"], pod_labels(d)):
            problems.append(f"Deployment {d['metadata']['name']}: selector does not match its pods")
    return problems


def probes_are_served(docs: list[Doc]) -> list[str]:
    """Gateway probes hit real GET routes of the app; Triton is ready on /v2/health/ready."""
    problems = []
    routes = gateway_get_routes()
    for d in of_kind(docs, "Deployment"):
        ports = container_ports(d)
        for c in d["spec"]["template"]["spec"]["containers"]:
            for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
                get = (c.get(kind) or {}).get("httpGet")
                if get is None:
                    problems.append(f"{c['name']}: no {kind}")
                    continue
                if str(get["port"]) not in ports:
                    problems.append(f"{c['name']}: {kind} port {get['port']} is not a container port")
                if c["name"] == "gateway" and get["path"] not in routes:
                    problems.append(f"gateway {kind} {get['path']} is not a route of the app")
            if c["name"] == "triton" and c["readinessProbe"]["httpGet"]["path"] != "/v2/health/ready":
                problems.append("triton readiness must be /v2/health/ready")
    return problems


def pods_are_locked_down(docs: list[Doc]) -> list[str]:
    problems = []
    volumes_ok = {p["metadata"]["name"] for p in of_kind(docs, "PersistentVolumeClaim")}
    for d in of_kind(docs, "Deployment"):
        spec = d["spec"]["template"]["spec"]
        pod_sc = spec.get("securityContext", {})
        declared = {v["name"]: v for v in spec.get("volumes", [])}
        for c in spec["containers"]:
            sc = c.get("securityContext", {})
            where = f"{d['metadata']['name']}/{c['name']}"
            if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
                problems.append(f"{where}: runAsNonRoot")
            if sc.get("readOnlyRootFilesystem") is not True or sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: read-only root and no privilege escalation")
            if "ALL" not in (sc.get("capabilities") or {}).get("drop", []):
                problems.append(f"{where}: capabilities not dropped")
            if not (c.get("resources") or {}).get("requests"):
                problems.append(f"{where}: no resource requests")
            for m in c.get("volumeMounts", []):
                if m["name"] not in declared:
                    problems.append(f"{where}: mounts undeclared volume {m['name']}")
        for v in declared.values():
            claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
            if claim is not None and claim not in volumes_ok:
                problems.append(f"{d['metadata']['name']}: PVC {claim} is not defined")
    return problems


# -- NetworkPolicy semantics (enough of them: pod/namespace selectors, ipBlock, named ports) --------
def _port_ok(rule_ports: list[dict[str, Any]] | None, port: int, named: dict[str, int]) -> bool:
    if not rule_ports:
        return True
    return any(p.get("port") is None or p["port"] == port or named.get(str(p["port"])) == port for p in rule_ports)


def _peer_ok(peer: dict[str, Any], src: dict[str, Any]) -> bool:
    """src: {'ns': namespace, 'ns_labels': {...}, 'labels': {...}} for a pod, or {'ip': '1.2.3.4'}."""
    if "ipBlock" in peer:
        if "ip" not in src:
            return False
        block = peer["ipBlock"]
        ip = ipaddress.ip_address(src["ip"])
        return ip in ipaddress.ip_network(block["cidr"]) and not any(
            ip in ipaddress.ip_network(e) for e in block.get("except", []))
    if "ip" in src:
        return False
    ns_sel, pod_sel = peer.get("namespaceSelector"), peer.get("podSelector")
    if ns_sel is None and src["ns"] != NAMESPACE:
        return False  # a bare podSelector means pods of the policy's own namespace
    if ns_sel is not None and not selector_matches(ns_sel, src["ns_labels"]):
        return False
    return pod_sel is None or selector_matches(pod_sel, src["labels"])


def pod(labels: dict[str, str], ns: str = NAMESPACE) -> dict[str, Any]:
    return {"ns": ns, "ns_labels": {"kubernetes.io/metadata.name": ns}, "labels": labels}


def allowed(docs: list[Doc], direction: str, subject: dict[str, str], peer: dict[str, Any], port: int,
            named_ports: dict[str, int]) -> bool:
    """Does the policy set let `subject` (pod labels in the namespace) receive from (Ingress) or send
    to (Egress) `peer` on `port`? Unselected pods are not isolated in that direction."""
    policies = [p for p in of_kind(docs, "NetworkPolicy") if direction in p["spec"].get("policyTypes", ["Ingress"])
                and selector_matches(p["spec"]["podSelector"], subject)]
    if not policies:
        return True
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for p in policies:
        for rule in p["spec"].get(key, []):
            peers = rule.get(peers_key)
            if (not peers or any(_peer_ok(x, peer) for x in peers)) and _port_ok(rule.get("ports"), port, named_ports):
                return True
    return False


def only_gateway_reaches_triton_and_db(docs: list[Doc]) -> list[str]:
    problems = []
    gateway = pod_labels(named(docs, "Deployment", "groomguard-gateway"))
    triton_deploy = named(docs, "Deployment", "groomguard-triton")
    triton, tports = pod_labels(triton_deploy), container_ports(triton_deploy)
    other = {"app.kubernetes.io/name": "something-else"}
    for port in (tports["grpc"], tports["http"]):
        if not allowed(docs, "Ingress", triton, pod(gateway), port, tports):
            problems.append(f"gateway cannot reach triton:{port}")
        for who, src in {"another pod in the namespace": pod(other), "triton itself": pod(triton),
                         "a pod in another namespace": pod(gateway, ns="elsewhere"),
                         "the monitoring namespace": pod({}, ns="monitoring")}.items():
            if allowed(docs, "Ingress", triton, src, port, tports):
                problems.append(f"{who} can reach triton:{port}")
    if not allowed(docs, "Ingress", triton, pod({}, ns="monitoring"), tports["metrics"], tports):
        problems.append("Prometheus (namespace monitoring) cannot scrape triton metrics")
    for port in (tports["grpc"], tports["http"]):
        if not allowed(docs, "Egress", gateway, pod(triton), port, tports):
            problems.append(f"gateway egress to triton:{port} blocked")
    db = named(docs, "Service", "groomguard-postgres")["spec"]["ports"][0]["port"]
    slices = [s for s in of_kind(docs, "EndpointSlice")
              if s["metadata"]["labels"].get("kubernetes.io/service-name") == "groomguard-postgres"]
    for ip in (a for s in slices for e in s["endpoints"] for a in e["addresses"]):
        if not allowed(docs, "Egress", gateway, {"ip": ip}, db, {}):
            problems.append(f"gateway cannot reach the database at {ip}:{db}")
        for who, labels in {"triton": triton, "another pod": other}.items():
            if allowed(docs, "Egress", labels, {"ip": ip}, db, {}):
                problems.append(f"{who} can reach the database at {ip}:{db}")
    return problems
