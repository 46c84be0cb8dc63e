"""deploy/ runs as written: compose against the compose-spec schema, the Kubernetes manifests against the
Kubernetes schemas (both offline, from pip packages), and what a schema cannot see: pinned images, health
checks and start order, secrets never inline, non-root hardened pods, commands the `footfall` CLI accepts,
ports and names that agree; the Dockerfile and .dockerignore; the Grafana dashboard's queries."""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import re
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from footfall.deploy.cli import build_parser
from footfall.graph.core.metrics import GatewayMetrics
from footfall.services.core.metrics import REGISTRY
from kubernetes_validate.utils import latest_version

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
K8S = sorted((DEPLOY / "k8s").glob("*.yaml"))
DASHBOARD = DEPLOY / "grafana" / "footfall.json"
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN")


# --- compose -----------------------------------------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def compose_schema_errors(doc: dict[str, Any]) -> list[str]:
    schema = json.loads((files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_compose_matches_the_compose_spec() -> None:
    assert compose_schema_errors(compose()) == []
    broken = copy.deepcopy(compose())
    broken["services"]["gateway"]["depends_on"]["services"]["condition"] = "service_ready"
    broken["services"]["migrate"]["restart_policy"] = "never"
    errors = "\n".join(compose_schema_errors(broken))  # the schema is really applied
    assert "'restart_policy' was unexpected" in errors and "services/gateway" in errors


def _footfall_args(args: list[str]) -> None:
    """`args` is a command line the `footfall` CLI accepts (argparse exits on anything else)."""
    parsed = build_parser().parse_args(args)
    assert callable(parsed.func)


def _servable() -> set[str]:
    """What `footfall serve` accepts."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(next(a for a in commands.choices["serve"]._actions if a.dest == "service").choices or ())


def _pinned(image: str) -> bool:
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag not in ("latest", "") and bool(re.search(r"\d", tag))


def test_compose_runs_as_written() -> None:
    services = compose()["services"]
    interpolated = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE.read_text()))
    example = {line.split("=", 1)[0].lstrip("# ").strip() for line in
               (DEPLOY / ".env.example").read_text().splitlines() if "=" in line}
    assert interpolated <= example, f"deploy/.env.example lacks {interpolated - example}"
    for name, svc in services.items():
        image = svc["image"].replace("${FOOTFALL_VERSION:-", "").replace("}", "")
        assert _pinned(image), f"{name}: image {svc['image']} is not pinned to a version"
        for key, value in (svc.get("environment") or {}).items():
            if any(word in key for word in SECRET_WORDS) or "://" in str(value) and "@" in str(value):
                assert "${" in str(value), f"{name}: {key} is written inline; it belongs in deploy/.env"
        one_shot = svc.get("restart") == "no"
        footfall = svc["image"].startswith("footfall:")
        if not one_shot:
            assert "healthcheck" in svc or footfall, f"{name} has no health check"
        for dep, rule in (svc.get("depends_on") or {}).items():
            assert dep in services
            wanted = "service_completed_successfully" if services[dep].get("restart") == "no" else "service_healthy"
            assert rule["condition"] == wanted, f"{name} -> {dep}: {rule}"
        if footfall and svc.get("entrypoint") is None:
            _footfall_args(svc["command"])
            assert svc.get("read_only") is True and svc.get("cap_drop") == ["ALL"]
    assert services["migrate"]["command"] == ["migrate"]
    assert "migrate" in services["services"]["depends_on"]
    served = set(services["services"]["command"][1:])
    assert served == _servable() - {"gateway"}, "the gateway reaches every service through one target"
    assert services["gateway"]["environment"]["FOOTFALL_GRPC_TARGET"] == "services:50051"
    assert services["gateway"]["ports"] == ["8000:8000"]
    assert importlib.util.find_spec(services["triton-models"]["entrypoint"][2]) is not None
    gitignore = (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in gitignore or "deploy/.env" in gitignore


# --- Kubernetes --------------------------------------------------------------------------------------


@cache
def k8s_docs() -> list[dict[str, Any]]:
    return [doc for path in K8S for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_kubernetes_manifests_match_the_schemas() -> None:
    assert {d["kind"] for d in k8s_docs()} >= {"ConfigMap", "Secret", "Deployment", "Service", "Ingress",
                                              "PodDisruptionBudget", "ServiceAccount"}
    version = latest_version()
    for doc in k8s_docs():
        kubernetes_validate.validate(doc, version, strict=True)
    broken = copy.deepcopy(next(d for d in k8s_docs() if d["kind"] == "Deployment"))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, version, strict=True)


def _of(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in k8s_docs() if d["kind"] == kind}


def test_kubernetes_workloads_are_hardened_and_agree() -> None:
    deployments, services, pdbs = _of("Deployment"), _of("Service"), _of("PodDisruptionBudget")
    secret = next(iter(_of("Secret").values()))
    config = next(iter(_of("ConfigMap").values()))
    for name, dep in deployments.items():
        pod = dep["spec"]["template"]
        labels = pod["metadata"]["labels"]
        assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items()
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] > 0
        assert any(p["spec"]["selector"]["matchLabels"].items() <= labels.items() for p in pdbs.values()), name
        assert any(s["spec"]["selector"].items() <= labels.items() for s in services.values()), name
        for c in spec.get("initContainers", []) + spec["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True, c["name"]
            assert sc["capabilities"]["drop"] == ["ALL"], c["name"]
            assert c["resources"]["requests"] and c["resources"]["limits"], c["name"]
            assert ":" in c["image"] and _pinned(c["image"]), c["image"]
            for source in c.get("envFrom", []):
                if "secretRef" in source:
                    assert source["secretRef"]["name"] == secret["metadata"]["name"]
                else:
                    assert source["configMapRef"]["name"] == config["metadata"]["name"]
            if c["image"].startswith("footfall:") and "command" not in c:
                _footfall_args(c["args"])
        for c in spec["containers"]:
            ports = {p["name"] for p in c["ports"]} | {p["containerPort"] for p in c["ports"]}
            for kind in ("readinessProbe", "livenessProbe"):
                probe = c[kind]
                target = next(iter(v for k, v in probe.items() if k in ("httpGet", "grpc", "tcpSocket")))
                assert target["port"] in ports, f"{name}/{c['name']} {kind} port {target['port']}"
    services_pod = deployments["footfall-services"]["spec"]["template"]["spec"]
    assert [c["args"] for c in services_pod["initContainers"]] == [["migrate"]]  # migrations before serving
    triton = deployments["footfall-triton"]["spec"]["template"]["spec"]["containers"][0]
    assert triton["resources"]["limits"]["nvidia.com/gpu"] == 1
    gateway = deployments["footfall-gateway"]["spec"]["template"]["spec"]["containers"][0]
    target = {e["name"]: e["value"] for e in gateway["env"]}["FOOTFALL_GRPC_TARGET"]
    host, port = target.split(":")
    assert int(port) in {p["port"] for p in services[host]["spec"]["ports"]}
    host, port = config["data"]["FOOTFALL_TRITON_URL"].split(":")
    assert int(port) in {p["port"] for p in services[host]["spec"]["ports"]}
    assert {"FOOTFALL_DATABASE_URL", "FOOTFALL_JWT_SECRET", "FOOTFALL_ADMIN_PASSWORD",
            "FOOTFALL_METRICS_TOKEN"} <= secret["stringData"].keys()
    assert not any(word in key for key in config["data"] for word in SECRET_WORDS + ("DATABASE_URL",))
    for ingress in _of("Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["port"]["name"] in {p["name"] for p in services[backend["name"]]["spec"]["ports"]}


# --- image -------------------------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_non_root_and_checks_health() -> None:
    lines = [ln.strip() for ln in (DEPLOY / "Dockerfile").read_text().splitlines() if ln.strip()]
    froms = [ln for ln in lines if ln.startswith("FROM ")]
    assert len(froms) >= 2, "build and runtime stages"
    assert re.search(r"ARG PYTHON_IMAGE=python:\d+\.\d+\.\d+-slim-\w+", "\n".join(lines))
    final = lines[lines.index(froms[-1]):]
    user = [ln for ln in final if ln.startswith("USER ")]
    assert user and user[-1].split()[1].split(":")[0] not in ("root", "0")
    assert any(ln.startswith("HEALTHCHECK ") for ln in final)
    for ln in lines:
        if ln.startswith("COPY ") and "--from=" not in ln:
            sources = ln.split()[1:-1]
            assert "." not in sources, "copy named folders, never the whole context"
            assert all((ROOT / s).exists() for s in sources), ln
    ignored = set((ROOT / ".dockerignore").read_text().splitlines())
    assert {".git", ".venv", "tests", "node_modules", "**/.env"} <= ignored


# --- Grafana -----------------------------------------------------------------------------------------


def exported_families() -> set[str]:
    """Every metric family a Footfall process declares at /metrics (the gateway's HTTP ones included)."""
    return {m.name for m in GatewayMetrics().collect()} | {m.name for m in REGISTRY.collect()}


def dashboard_series() -> set[str]:
    """Every metric name the dashboard's PromQL expressions use."""
    doc = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]
    assert exprs
    names: set[str] = set()
    for expr in exprs:
        names |= set(re.findall(r"\b((?:footfall|process)_[a-z0-9_]+)\b", expr))
    return names


SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


def declared(series: str, families: set[str]) -> bool:
    return series in families or any(series.endswith(s) and series[: -len(s)] in families for s in SUFFIXES)


def test_dashboard_queries_only_series_the_platform_exports() -> None:
    families = exported_families()
    used = dashboard_series()
    assert [s for s in used if not declared(s, families)] == []
    for needed in ("footfall_occupancy", "footfall_crossings_total", "footfall_stream_fps", "footfall_stream_state",
                   "footfall_detector_latency_seconds_bucket", "footfall_frames_dropped_total", "footfall_consumer_lag",
                   "footfall_webhook_deliveries_total", "footfall_gateway_http_requests_total",
                   "footfall_gateway_http_request_duration_seconds_bucket"):
        assert needed in used, f"the dashboard has no panel on {needed}"
    doc = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in doc["templating"]["list"]}
    for panel in doc["panels"]:
        if panel["type"] != "row":
            assert panel["targets"] and panel["datasource"]["uid"] == "${datasource}"
            for target in panel["targets"]:
                assert set(re.findall(r"\$(\w+)", target["expr"])) - {"__rate_interval"} <= variables
