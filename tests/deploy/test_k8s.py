"""deploy/k8s: rendered offline with ``kubectl kustomize``, every object validated strictly against the
Kubernetes 1.32 API schemas (kubernetes-validate), and checked for what an operator relies on."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from tests.deploy.manifests import (
    K8S,
    KUBERNETES_VERSION,
    MIN_KUSTOMIZE,
    ROOT,
    Obj,
    containers,
    env_value,
    find_kubectl,
    generated,
    kustomize_version,
    needs_kubectl,
    of_kind,
    one,
    pod_spec,
    render,
    render_dir,
    workloads,
)
from wikibot_embedder.config import EmbedderSettings
from wikibot_mcp.config import McpSettings
from wikibot_otterwiki.config import OtterwikiSettings
from wikibot_platform.config import PlatformSettings
from wikibot_shared.config import CommonSettings, load_settings

pytestmark = needs_kubectl

TARGETS = ["base", "overlays/small", "overlays/scaled"]
SERVICES = {"platform": 8002, "mcp": 8001, "otterwiki": 8000, "embedder": 8003}
SETTINGS = {
    "platform": PlatformSettings,
    "mcp": McpSettings,
    "otterwiki": OtterwikiSettings,
    "embedder": EmbedderSettings,
}
UPSTREAMS = {"PLATFORM_UPSTREAM": "platform", "MCP_UPSTREAM": "mcp", "OTTERWIKI_UPSTREAM": "otterwiki"}
THIRD_PARTY_IMAGES = {"caddy": "caddy:2", "redis": "redis:7"}


def test_kubectl_embeds_a_recent_kustomize() -> None:
    kubectl = find_kubectl()
    assert kubectl
    assert kustomize_version(kubectl) >= MIN_KUSTOMIZE, "kubectl too old: run scripts/install-kubectl.sh"


@pytest.mark.parametrize("target", TARGETS)
def test_every_object_validates_strictly(target: str) -> None:
    objs = render(target)
    assert len(objs) >= 15
    for obj in objs:
        # validate() raises SchemaNotFoundError for an unknown kind: nothing passes unchecked.
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_validator_catches_a_misspelt_field_and_a_wrong_type() -> None:
    deployment = one(render("base"), "Deployment", "mcp")
    pod_spec(deployment)["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError, match="imagePullPolicyy"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    deployment = one(render("base"), "Deployment", "mcp")
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def _port(container: Obj, name: str) -> int:
    return next(int(p["containerPort"]) for p in container["ports"] if p["name"] == name)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(("svc", "port"), SERVICES.items())
def test_app_deployment_probes_gate_image_and_service(target: str, svc: str, port: int) -> None:
    objs = render(target)
    deployment = one(objs, "Deployment", svc)
    spec = pod_spec(deployment)
    (app,) = spec["containers"]
    assert app["image"].startswith(f"wikibot/{svc}:")
    assert _port(app, "http") == port
    assert app["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert app["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert app["startupProbe"]["httpGet"]["path"] == "/healthz"
    (gate,) = spec["initContainers"]
    assert gate["image"] == app["image"], "the gate must know the migrations of the app's own version"
    assert gate["command"] == ["wikibot-migrate-wait", *(["--keys"] if svc == "platform" else [])]
    service = one(objs, "Service", svc)
    assert service["spec"]["ports"] == [{"name": "http", "port": port, "targetPort": "http"}]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize("target", TARGETS)
def test_every_pod_runs_unprivileged_on_a_read_only_root_with_limits(target: str) -> None:
    seen = set()
    for obj in workloads(render(target)):
        name = obj["metadata"]["name"]
        spec = pod_spec(obj)
        uid = 999 if name == "redis" else 1000
        assert spec["securityContext"] == spec["securityContext"] | {
            "runAsNonRoot": True,
            "runAsUser": uid,
            "runAsGroup": uid,
            "fsGroup": uid,
            "seccompProfile": {"type": "RuntimeDefault"},
        }, name
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["enableServiceLinks"] is False, f"{name}: service links would set PLATFORM_PORT=tcp://…"
        empty_dirs = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for c in containers(obj):
            where = f"{name}/{c['name']}"
            assert c["securityContext"] == {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            }, where
            tmp = [m for m in c["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp, f"{where}: no writable /tmp"
            assert tmp[0]["name"] in empty_dirs, where
            for kind in ("requests", "limits"):
                assert set(c["resources"][kind]) == {"cpu", "memory"}, f"{where}: {kind}"
        seen.add(name)
    assert {*SERVICES, "caddy", "migrate"} <= seen


@pytest.mark.parametrize("target", TARGETS)
def test_every_deployment_has_liveness_and_readiness(target: str) -> None:
    deployments = of_kind(render(target), "Deployment")
    assert deployments
    for name, deployment in deployments.items():
        for c in pod_spec(deployment)["containers"]:
            assert "livenessProbe" in c, name
            assert "readinessProbe" in c, name


@pytest.mark.parametrize("target", TARGETS)
def test_images_are_wikibot_images_except_caddy_and_redis(target: str) -> None:
    for obj in workloads(render(target)):
        name = obj["metadata"]["name"]
        for c in containers(obj):
            if name in THIRD_PARTY_IMAGES:
                assert c["image"] == THIRD_PARTY_IMAGES[name]
            else:
                assert c["image"].split(":")[0] in {f"wikibot/{s}" for s in SERVICES}, c["image"]


def _data_claim(obj: Obj) -> str:
    spec = pod_spec(obj)
    volumes = {v["name"]: v for v in spec["volumes"]}
    claims = set()
    for c in containers(obj):
        (mount,) = [m for m in c["volumeMounts"] if m["mountPath"] == "/data"]
        assert not mount.get("readOnly"), "SQLite in WAL mode writes even to read"
        claims.add(volumes[mount["name"]]["persistentVolumeClaim"]["claimName"])
    (claim,) = claims
    return str(claim)


@pytest.mark.parametrize(
    ("target", "mode"),
    [("base", "ReadWriteMany"), ("overlays/scaled", "ReadWriteMany"), ("overlays/small", "ReadWriteOnce")],
)
def test_one_data_volume_shared_by_every_app_pod_and_the_job(target: str, mode: str) -> None:
    objs = render(target)
    pvc = one(objs, "PersistentVolumeClaim", "wikibot-data")
    assert pvc["spec"]["accessModes"] == [mode]
    for name in [*SERVICES, "migrate"]:
        obj = one(objs, "Job" if name == "migrate" else "Deployment", name)
        assert _data_claim(obj) == "wikibot-data", name


@pytest.mark.parametrize("target", TARGETS)
def test_the_migrate_job_runs_once_at_a_time(target: str) -> None:
    job = one(render(target), "Job", "migrate")
    spec = job["spec"]
    assert spec.get("parallelism", 1) == 1
    assert spec.get("completions", 1) == 1
    assert spec["podReplacementPolicy"] == "Failed"
    assert pod_spec(job)["restartPolicy"] == "Never"
    (migrate,) = pod_spec(job)["containers"]
    assert migrate["image"].startswith("wikibot/platform:")
    assert migrate["command"] == ["wikibot-migrate"]


def _config(objs: list[Obj]) -> dict[str, str]:
    return dict(generated(objs, "ConfigMap", "wikibot-config")["data"])


def _known_setting_names() -> set[str]:
    names = set(UPSTREAMS)
    for cls in (CommonSettings, *SETTINGS.values()):
        names |= {cls._env_name(field) for field in cls.model_fields}
    return names


def _service_port(objs: list[Obj], hostport: str) -> None:
    host, port = hostport.rsplit(":", 1)
    ports = [p["port"] for p in one(objs, "Service", host)["spec"]["ports"]]
    assert int(port) in ports, hostport


@pytest.mark.parametrize("target", ["base", "overlays/small"])
def test_the_shared_settings_are_accepted_by_every_service(
    target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    objs = render(target)
    config = _config(objs)
    assert set(config) <= _known_setting_names(), set(config) - _known_setting_names()
    assert config["LOG_FORMAT"] == "json"
    assert config["DATABASE_URL"] == "sqlite:////data/wikibot.db"
    for name, value in config.items():
        monkeypatch.setenv(name, value)
    for svc, cls in SETTINGS.items():
        settings = load_settings(cls)
        assert settings.platform_url == "https://wiki.example.org", svc
        assert settings.wiki_url("notes") == "https://notes.wiki.example.org"
        assert settings.is_sqlite
        assert settings.port == SERVICES[svc]
    for url in (config["PLATFORM_INTERNAL_URL"], config["EMBEDDER_INTERNAL_URL"]):
        _service_port(objs, urlsplit(url).netloc)
    for upstream in UPSTREAMS:
        _service_port(objs, config[upstream])
    if target == "overlays/small":
        _service_port(objs, urlsplit(config["REDIS_URL"]).netloc)


def test_caddy_serves_the_repository_caddyfile_behind_the_ingress() -> None:
    objs = render("overlays/small")
    data = generated(objs, "ConfigMap", "caddy-config")["data"]
    assert data["Caddyfile"] == (ROOT / "Caddyfile").read_text(), (
        "base/caddy/Caddyfile drifted: make k8s-sync"
    )
    for snippet in (ROOT / "deploy" / "caddy" / "tls").glob("*.caddy"):
        assert data[snippet.name] == snippet.read_text(), f"{snippet.name} drifted: make k8s-sync"
    caddy = one(objs, "Deployment", "caddy")
    (container,) = pod_spec(caddy)["containers"]
    env = {e["name"]: e for e in container["env"]}
    config_name = generated(objs, "ConfigMap", "wikibot-config")["metadata"]["name"]
    for name in ("DOMAIN", *UPSTREAMS):
        assert env[name]["valueFrom"]["configMapKeyRef"] == {"name": config_name, "key": name}
    assert env["CADDY_GLOBAL_OPTIONS"]["value"] == f"http_port {_port(container, 'http')}"
    assert env["PUBLIC_SCHEME"]["value"] == "http"
    assert env["WIKIBOT_TLS"]["value"] == "off"
    volume = next(v for v in pod_spec(caddy)["volumes"] if v["name"] == "caddyfile")
    paths = {i["path"] for i in volume["configMap"]["items"]}
    assert paths == {"Caddyfile"} | {f"tls/{p.name}" for p in (ROOT / "deploy/caddy/tls").glob("*.caddy")}
    service = one(objs, "Service", "caddy")
    ingress = one(objs, "Ingress", "wikibot")
    domain = _config(objs)["DOMAIN"]
    assert [r["host"] for r in ingress["spec"]["rules"]] == [domain, f"*.{domain}"]
    assert ingress["spec"]["tls"] == [{"hosts": [domain, f"*.{domain}"], "secretName": "wikibot-tls"}]
    for rule in ingress["spec"]["rules"]:
        (path,) = rule["http"]["paths"]
        assert path["path"] == "/"
        assert path["backend"]["service"] == {"name": "caddy", "port": {"name": "http"}}
    assert service["spec"]["ports"][0]["name"] == "http"


def test_domain_is_set_once_in_an_overlay(tmp_path: Path) -> None:
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    kustomization = copy / "overlays" / "small" / "kustomization.yaml"
    text = kustomization.read_text()
    assert "DOMAIN=wiki.example.org" in text
    kustomization.write_text(text.replace("DOMAIN=wiki.example.org", "DOMAIN=notes.acme.test"))
    objs = render_dir(copy / "overlays" / "small")
    ingress = one(objs, "Ingress", "wikibot")
    assert [r["host"] for r in ingress["spec"]["rules"]] == ["notes.acme.test", "*.notes.acme.test"]
    assert ingress["spec"]["tls"][0]["hosts"] == ["notes.acme.test", "*.notes.acme.test"]
    assert _config(objs)["DOMAIN"] == "notes.acme.test"


def test_small_runs_one_of_each_with_redis_in_the_cluster() -> None:
    objs = render("overlays/small")
    for name, deployment in of_kind(objs, "Deployment").items():
        assert deployment["spec"]["replicas"] == 1, name
    redis = one(objs, "Deployment", "redis")
    assert _config(objs)["REDIS_URL"] == "redis://redis:6379/0"
    assert one(objs, "PersistentVolumeClaim", "redis-data")["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pod_spec(redis)["containers"][0]["volumeMounts"][0] == {"name": "redis-data", "mountPath": "/data"}
    assert not of_kind(objs, "HorizontalPodAutoscaler")
    namespace = one(objs, "Namespace", "wikibot")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {o["metadata"].get("namespace") for o in objs if o["kind"] != "Namespace"} == {"wikibot"}


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expr in selector.get("matchExpressions", []):
        assert expr["operator"] == "In", expr  # the only operator our policies use
        if labels.get(expr["key"]) not in expr["values"]:
            return False
    return True


def test_scaled_autoscales_mcp_otterwiki_and_embedder_with_disruption_budgets() -> None:
    objs = render("overlays/scaled")
    deployments = of_kind(objs, "Deployment")
    hpas = of_kind(objs, "HorizontalPodAutoscaler")
    assert set(hpas) == {"mcp", "otterwiki", "embedder"}
    for name, hpa in hpas.items():
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert hpa["spec"]["minReplicas"] >= 2
        assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
        assert "replicas" not in deployments[name]["spec"], f"{name}: the autoscaler owns the count"
        # CPU utilisation is relative to requests: without them the autoscaler does nothing.
        assert pod_spec(deployments[name])["containers"][0]["resources"]["requests"]["cpu"]
    assert deployments["platform"]["spec"]["replicas"] == 2
    assert deployments["caddy"]["spec"]["replicas"] == 2
    pdbs = of_kind(objs, "PodDisruptionBudget")
    for name in [*SERVICES, "caddy"]:
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        covering = [p for p in pdbs.values() if _selects(p["spec"]["selector"], labels)]
        assert len(covering) == 1, name
        assert covering[0]["spec"]["maxUnavailable"] == 1


def test_scaled_reads_database_and_redis_from_a_secret_only() -> None:
    objs = render("overlays/scaled")
    config = _config(objs)
    assert "DATABASE_URL" not in config
    assert "REDIS_URL" not in config
    assert "redis" not in of_kind(objs, "Deployment")
    assert one(objs, "PersistentVolumeClaim", "wikibot-data")["spec"]["accessModes"] == ["ReadWriteMany"]
    for obj in workloads(objs):
        if obj["metadata"]["name"] == "caddy":
            continue
        for c in containers(obj):
            for name in ("DATABASE_URL", "REDIS_URL"):
                entry = env_value(c, name)
                assert entry, f"{obj['metadata']['name']}/{c['name']}: no {name}"
                ref = entry["valueFrom"]["secretKeyRef"]
                assert ref == {"name": "wikibot-external", "key": name}, "a required key of the Secret"


def test_scaled_settings_load_once_the_secret_provides_the_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _config(render("overlays/scaled")).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://wikibot:pw@db.internal:5432/wikibot")
    monkeypatch.setenv("REDIS_URL", "rediss://cache.internal:6380/0")
    for cls in SETTINGS.values():
        settings = load_settings(cls)
        assert not settings.is_sqlite
        assert settings.environment == "production"


@pytest.mark.parametrize("target", TARGETS)
def test_no_secret_or_key_material_is_shipped(target: str) -> None:
    objs = render(target)
    assert not of_kind(objs, "Secret"), "Secrets are created by the operator, never shipped"
    text = yaml.safe_dump(objs)
    for marker in ("PRIVATE KEY", '"d":', "'d':", "wbp_", "password"):
        assert marker not in text, marker
    for obj in objs:
        if obj["kind"] == "ConfigMap":
            assert not any("KEY" in k or "SECRET" in k for k in obj["data"]), obj["metadata"]["name"]


@pytest.mark.parametrize("target", ["overlays/small", "overlays/scaled"])
def test_network_policies_admit_only_wikibot_callers(target: str) -> None:
    objs = render(target)
    policies = of_kind(objs, "NetworkPolicy")
    pods = {o["metadata"]["name"]: o["spec"]["template"]["metadata"]["labels"] for o in workloads(objs)}
    deny = policies["wikibot-default-deny"]["spec"]
    assert "ingress" not in deny
    assert all(_selects(deny["podSelector"], labels) for labels in pods.values())

    def callers(name: str) -> set[str]:
        (rule,) = policies[name]["spec"]["ingress"]
        (source,) = rule["from"]
        (expr,) = source["podSelector"]["matchExpressions"]
        return set(expr["values"])

    assert callers("embedder") == {"mcp", "platform"}
    assert callers("mcp") == callers("otterwiki") == {"edge"}
    assert callers("platform") == {"edge", "mcp", "otterwiki"}
    if target == "overlays/small":
        assert callers("redis") == set(SERVICES)
    for name, policy in policies.items():
        assert any(_selects(policy["spec"]["podSelector"], labels) for labels in pods.values()), name

    # metrics ports: scraped only from namespaces an operator labels, never the app ports
    (scrape,) = policies["metrics"]["spec"]["ingress"]
    assert scrape["ports"] == [{"port": "metrics"}]
    assert scrape["from"] == [{"namespaceSelector": {"matchLabels": {"wikibot.dev/scrape-metrics": "true"}}}]
    scraped = {
        name for name, labels in pods.items() if _selects(policies["metrics"]["spec"]["podSelector"], labels)
    }
    assert scraped == set(SERVICES)


@pytest.mark.parametrize("target", ["overlays/small", "overlays/scaled"])
def test_every_app_declares_its_metrics_port(target: str) -> None:
    expected = {"otterwiki": 9100, "mcp": 9101, "platform": 9102, "embedder": 9103}
    seen = set()
    for obj in workloads(render(target)):
        name = obj["metadata"]["name"]
        if name in expected:
            seen.add(name)
            (app,) = [c for c in obj["spec"]["template"]["spec"]["containers"] if c["name"] == "app"]
            ports = {p["name"]: p["containerPort"] for p in app["ports"]}
            assert ports["metrics"] == expected[name], name
    assert seen == set(expected)
