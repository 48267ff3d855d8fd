"""Render and validate deploy/: the Kustomize overlays with `kubectl kustomize` (the kubectl wheel
from PyPI) against the Kubernetes schemas that kubernetes-validate bundles, docker-compose.yml
against the compose-spec schema that check-jsonschema bundles, the Dockerfile with hadolint.
No cluster and no Docker engine: the same tools run in CI (`make validate-deploy`)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from tests.support.environment import REPO

DEPLOY = REPO / "deploy"
KUSTOMIZE = DEPLOY / "kustomize"
OVERLAYS = sorted(p.name for p in (KUSTOMIZE / "overlays").iterdir() if (p / "kustomization.yaml").is_file())
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
# The oldest Kubernetes release the manifests are meant for, and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.31.0", kubernetes_validate.latest_version())
# Kinds of operators (KEDA) whose schemas kubernetes-validate does not bundle; the tests check them.
CUSTOM_KINDS = {("keda.sh/v1alpha1", "ScaledObject"), ("keda.sh/v1alpha1", "TriggerAuthentication")}


def tool(name: str) -> str:
    """A tool the test extras install next to this interpreter (kubectl, hadolint)."""
    path = Path(sys.executable).parent / name
    if not path.is_file():
        raise AssertionError(f"{name} not found next to {sys.executable}: run `make install`")
    return str(path)


def render(kustomization: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize` of a directory: the objects it makes, as dicts."""
    done = subprocess.run(
        [tool("kubectl"), "kustomize", str(kustomization)], capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode:
        raise AssertionError(f"kubectl kustomize {kustomization} failed:\n{done.stderr}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def schema_problems(objects: Iterable[dict[str, Any]], version: str) -> list[str]:
    """What the Kubernetes schemas of `version` refuse (strict: no unknown fields)."""
    problems = []
    for obj in objects:
        if (obj.get("apiVersion"), obj.get("kind")) in CUSTOM_KINDS:
            continue
        name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            problems.append(f"{name} ({version}): {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{name} ({version}): no schema: {exc}")
    return problems


def compose_schema() -> dict[str, Any]:
    text = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def compose_problems(path: Path) -> list[str]:
    """What the compose-spec schema refuses in a compose file (as `docker compose config` would)."""
    document = yaml.safe_load(path.read_text())
    validator_class = jsonschema.validators.validator_for(compose_schema())
    validator = validator_class(compose_schema(), format_checker=validator_class.FORMAT_CHECKER)
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]


def hadolint_problems(dockerfile: Path) -> list[str]:
    """hadolint's findings at warning level and above (its own rules and ShellCheck's)."""
    done = subprocess.run(
        [tool("hadolint"), "--no-color", "--failure-threshold", "warning", "--format", "json", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    findings = json.loads(done.stdout or "[]")
    problems = [f"line {f['line']}: {f['code']} {f['message']}" for f in findings if f["level"] in ("error", "warning")]
    if done.returncode and not problems:
        problems.append(f"hadolint exited {done.returncode}: {done.stderr.strip()}")
    return problems


def pod_specs(objects: Iterable[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(kind/name, pod spec) of every Deployment and Job."""
    return [
        (f"{obj['kind']}/{obj['metadata']['name']}", obj["spec"]["template"]["spec"])
        for obj in objects
        if obj["kind"] in ("Deployment", "Job")
    ]


def by_kind(objects: Iterable[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}
