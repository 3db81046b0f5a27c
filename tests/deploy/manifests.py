"""Render deploy/k8s offline (``kubectl kustomize``) and look things up in the result."""

from __future__ import annotations

import copy
import functools
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.32.0"
MIN_KUSTOMIZE = (5, 0)

Obj = dict[str, Any]


def find_kubectl() -> str | None:
    """kubectl on PATH, or where scripts/install-kubectl.sh puts it for a non-root user."""
    return shutil.which("kubectl") or shutil.which("kubectl", path=str(Path.home() / ".local" / "bin"))


needs_kubectl = pytest.mark.skipif(
    find_kubectl() is None,
    reason="kubectl is not installed (it renders the Kustomize manifests): run scripts/install-kubectl.sh",
)


def kustomize_version(kubectl: str) -> tuple[int, int]:
    out = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"Kustomize Version: v(\d+)\.(\d+)", out)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def render_dir(path: Path) -> list[Obj]:
    kubectl = find_kubectl()
    assert kubectl, "kubectl is not installed"
    done = subprocess.run(
        [kubectl, "kustomize", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KUBECONFIG": os.devnull},
    )
    assert done.returncode == 0, f"kubectl kustomize {path} failed: {done.stderr}"
    return [obj for obj in yaml.safe_load_all(done.stdout) if obj]


@functools.cache
def _render(target: str) -> tuple[Obj, ...]:
    return tuple(render_dir(K8S / target))


def render(target: str) -> list[Obj]:
    """The objects of one kustomization under deploy/k8s (copies: tests may change them)."""
    return copy.deepcopy(list(_render(target)))


def of_kind(objs: list[Obj], kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def one(objs: list[Obj], kind: str, name: str) -> Obj:
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def generated(objs: list[Obj], kind: str, prefix: str) -> Obj:
    """A generated object (ConfigMap with a content hash suffix) by its base name."""
    found = [
        o
        for o in objs
        if o["kind"] == kind and re.fullmatch(rf"{prefix}-[a-z0-9]{{10}}", o["metadata"]["name"])
    ]
    assert len(found) == 1, f"expected one generated {kind} {prefix}-…, found {len(found)}"
    return found[0]


def pod_spec(obj: Obj) -> Obj:
    spec: Obj = obj["spec"]["template"]["spec"]
    return spec


def workloads(objs: list[Obj]) -> Iterator[Obj]:
    yield from (o for o in objs if o["kind"] in ("Deployment", "Job"))


def containers(obj: Obj) -> Iterator[Obj]:
    spec = pod_spec(obj)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def env_value(container: Obj, name: str) -> Obj | None:
    """The explicit ``env`` entry for ``name`` (these win over ``envFrom``)."""
    for entry in container.get("env", []):
        if entry["name"] == name:
            return dict(entry)
    return None


def render_with(overlay: str, component: str, folder: Path) -> list[Obj]:
    """An operator's own overlay: one of ours (``small``/``scaled``) plus one of our components."""
    # Kustomize takes other kustomizations by relative path from anywhere (only plain files must be below).
    base = os.path.relpath(K8S / "overlays" / overlay, folder)
    extra = os.path.relpath(K8S / "components" / component, folder)
    (folder / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"resources:\n  - {base}\ncomponents:\n  - {extra}\n"
    )
    return render_dir(folder)
